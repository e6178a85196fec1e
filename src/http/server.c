#include "http/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/metrics.h"
#include "http/framing.h"
#include "http/h2o_reading.h"
#include "http/reply.h"
#include "http/router.h"
#include "util/log.h"

typedef struct route_handler {
    h2o_handler_t super;
    http_server_t *server;
} route_handler_t;

typedef struct conn {
    uv_tcp_t tcp;
    http_server_t *server;
    http_reading_t reading;     /* h2o's reads and writes without an epoll_ctl per request */
    struct conn *next, **pprev; /* in server->conns */
} conn_t;

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    const char *detail;
    int status = http_framing_check(req, &detail);
    if (status != 0) { /* the rest of the connection's bytes cannot be trusted: answer, then close */
        req->http1_is_persistent = 0;
        http_set_route_label(req, "unmatched");
        reply_detail(req, status, detail);
        return 0;
    }
    router_dispatch(((route_handler_t *)self)->server, req);
    return 0;
}

/* ---- errors h2o answers by itself (413, 400 ...) get the {"detail"} JSON body too ------------------------------- */

typedef struct json_error_ostream {
    h2o_ostream_t super;
    h2o_iovec_t body;
} json_error_ostream_t;

static void json_error_do_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt,
                               h2o_send_state_t state)
{
    (void)bufs, (void)bufcnt;
    json_error_ostream_t *os = (json_error_ostream_t *)self;
    if (h2o_send_state_is_in_progress(state))
        h2o_ostream_send_next(self, req, NULL, 0, state);
    else
        h2o_ostream_send_next(self, req, &os->body, 1, state);
}

static void json_error_setup(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    (void)self;
    if (req->res.status >= 400) {
        const char *detail = req->res.status == 413 ? "Request body is larger than 64 KiB" : req->res.reason;
        json_t *o = json_pack("{s:s}", "detail", detail ? detail : "Error");
        char *text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        json_error_ostream_t *os = (json_error_ostream_t *)h2o_add_ostream(req, sizeof(*os), slot);
        os->super.do_send = json_error_do_send;
        os->body = h2o_strdup(&req->pool, text, strlen(text));
        free(text);
        h2o_set_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE,
                       H2O_STRLIT("application/json; charset=utf-8"), 1);
        req->res.content_length = os->body.len;
        slot = &os->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

/* ---- every response is counted: route, method, status, time since the request was read --------------------- */

typedef struct metrics_filter {
    h2o_filter_t super;
    http_server_t *server;
} metrics_filter_t;

void http_set_route_label(h2o_req_t *req, const char *route)
{
    h2o_iovec_t *slot = h2o_req_getenv(req, H2O_STRLIT("route"), 1);
    *slot = h2o_iovec_init(route, strlen(route));
}

static void count_response(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    http_server_t *srv = ((metrics_filter_t *)self)->server;
    h2o_iovec_t *route = h2o_req_getenv(req, H2O_STRLIT("route"), 0);
    const char *method = "OTHER";
    static const char *const known[] = {"GET", "HEAD", "POST", "DELETE", "OPTIONS", "PUT", "PATCH"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (h2o_memis(req->method.base, req->method.len, known[i], strlen(known[i])))
            method = known[i];
    struct timeval now;
    gettimeofday(&now, NULL);
    double seconds = (now.tv_sec - req->processed_at.at.tv_sec) + (now.tv_usec - req->processed_at.at.tv_usec) / 1e6;
    if (req->processed_at.at.tv_sec == 0 || seconds < 0)
        seconds = 0;
    metrics_http(srv->deps.metrics, route ? route->base : "unmatched", method, req->res.status, seconds);
    h2o_set_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0, H2O_STRLIT("nosniff"),
                          1);
    h2o_setup_next_ostream(req, slot);
}

static void add_metrics_filter(http_server_t *srv, h2o_pathconf_t *path)
{
    metrics_filter_t *f = (metrics_filter_t *)h2o_create_filter(path, sizeof(*f));
    f->super.on_setup_ostream = count_response;
    f->server = srv;
}

/* ---- connections ----------------------------------------------------------------------------------------------- */

static void on_conn_closed(uv_handle_t *h)
{
    conn_t *c = (conn_t *)h;
    http_reading_detach(&c->reading);
    c->server->connections--;
    *c->pprev = c->next;
    if (c->next)
        c->next->pprev = c->pprev;
    free(c);
}

static void on_accept(void *data, int fd)
{
    http_server_t *srv = data;
    conn_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    c->server = srv;
    uv_tcp_init(srv->loop, &c->tcp);
    srv->connections++;
    c->next = srv->conns;
    if (c->next)
        c->next->pprev = &c->next;
    c->pprev = &srv->conns;
    srv->conns = c;
    if (uv_tcp_open(&c->tcp, fd) != 0) {
        close(fd);
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)&c->tcp, on_conn_closed);
    http_reading_attach(&c->reading, sock, (uv_stream_t *)&c->tcp); /* if it cannot, h2o's own functions serve */
    h2o_accept(&srv->accept_ctx, sock);
}

void http_peer_addr(h2o_req_t *req, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)out);
}

static int bind_listener(http_server_t *srv, char *err, size_t errlen)
{
    const config_t *cfg = srv->deps.cfg;
    struct sockaddr_storage addr;
    if (uv_ip4_addr(cfg->host, cfg->port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(cfg->host, cfg->port, (struct sockaddr_in6 *)&addr) != 0) {
        snprintf(err, errlen, "HOST=\"%s\" is invalid: expected an IPv4 or IPv6 address", cfg->host);
        return -1;
    }
    int rc = listener_start(&srv->listener, srv->loop, (struct sockaddr *)&addr, &srv->fd_limit, on_accept, srv);
    if (rc != 0) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", cfg->host, cfg->port, uv_strerror(rc));
        return -1;
    }
    srv->listening = 1;
    return 0;
}

http_server_t *http_server_start(uv_loop_t *loop, const http_deps_t *deps, char *err, size_t errlen)
{
    http_server_t *srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        abort();
    srv->loop = loop;
    srv->deps = *deps;
    ratelimit_init(&srv->ratelimit, deps->cfg->rate_limit_per_minute);

    h2o_config_init(&srv->h2o_config);
    srv->h2o_config.max_request_entity_size = HTTP_MAX_BODY;
    srv->h2o_config.http1.upgrade_to_http2 = 0;
    srv->h2o_config.server_name = h2o_iovec_init(H2O_STRLIT("pipeline-orchestrator"));
    h2o_hostconf_t *host = h2o_config_register_host(&srv->h2o_config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    route_handler_t *handler = (route_handler_t *)h2o_create_handler(path, sizeof(*handler));
    handler->super.on_req = on_req;
    handler->server = srv;
    add_metrics_filter(srv, path);
    add_metrics_filter(srv, &host->fallback_path);
    h2o_filter_t *filter = h2o_create_filter(&host->fallback_path, sizeof(*filter));
    filter->on_setup_ostream = json_error_setup;

    h2o_context_init(&srv->h2o_ctx, loop, &srv->h2o_config);
    srv->accept_ctx.ctx = &srv->h2o_ctx;
    srv->accept_ctx.hosts = srv->h2o_config.hosts;

    if (bind_listener(srv, err, errlen) != 0) {
        http_server_destroy(srv);
        return NULL;
    }
    return srv;
}

void http_server_stop_listening(http_server_t *srv)
{
    if (!srv->listening)
        return;
    srv->listening = 0;
    listener_close(&srv->listener);
}

void http_server_close_idle(http_server_t *srv)
{
    /* h2o sees the end of the stream and closes the connection itself, as if the client had left */
    for (conn_t *c = srv->conns; c; c = c->next) {
        uv_os_fd_t fd;
        if (!uv_is_closing((uv_handle_t *)&c->tcp) && uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
            shutdown(fd, SHUT_RD);
    }
}

void http_server_set_store(http_server_t *srv, store_t *store)
{
    srv->deps.store = store;
    for (int i = 0; i < 2; i++) { /* they name the store */
        free(srv->health_text[i]);
        srv->health_text[i] = NULL;
    }
}

void http_server_destroy(http_server_t *srv)
{
    free(srv->health_text[0]);
    free(srv->health_text[1]);
    for (size_t i = 0; i <= HTTP_PREVIEW_CACHED; i++)
        free(srv->preview_text[i]);
    if (srv->connections > 0) {
        /* the shutdown deadline passed with requests open: h2o cannot dispose of a context in use (it asserts);
         * the process is exiting, so leave it to the kernel */
        log_warn("http", "exiting with %d connection(s) open", srv->connections);
        return;
    }
    http_reading_dispose();
    h2o_context_dispose(&srv->h2o_ctx);
    h2o_config_dispose(&srv->h2o_config);
    free(srv);
}
