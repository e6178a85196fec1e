/* libFuzzer target: h2o's reading and writing as src/http/h2o_reading.c does them, with input cut into pieces the
 * fuzzer chooses and answers deferred over loop turns, so that bytes keep arriving while h2o holds a request.
 *
 * One real stream socket pair per input (not TCP: a fuzzer's connections would use up the loopback ports), served
 * by h2o on a libuv loop through http_reading_attach() as
 * src/http/server.c does. The handler answers a path starting with "/d<digit>" after that many loop turns, any
 * other at once, and echoes the request's method, path and headers: an answer built from memory the request no
 * longer owns is a use-after-free ASan reports.
 *
 * Input: a sequence of steps. A step's control byte c sends the next ((c & 0x3f) + 1) * (c & 0x40 ? 64 : 1) bytes
 * of the input as one write, after (c & 0x80 ? 1 + next byte % 4 : 0) loop turns. At the end the client closes its
 * side and the loop runs until the server has closed the connection. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <h2o.h>
#include <uv.h>

#include "http/h2o_reading.h"

typedef struct fuzz_conn {
    uv_tcp_t tcp;
    http_reading_t reading;
} fuzz_conn_t;

typedef struct deferred {
    h2o_req_t *req; /* NULL once h2o disposed of the request (the connection closed first) */
    uv_idle_t *idle; /* once a loop turn (a timer re-armed at 0 would fire again in the same turn) */
    int turns;
} deferred_t;

static uv_loop_t *loop;
static h2o_globalconf_t config;
static h2o_context_t ctx;
static h2o_accept_ctx_t accept_ctx;
static int open_conns;

/* Reads every byte of `v` here, in instrumented code: memory the request no longer owns is reported. */
static uint8_t touch(h2o_iovec_t v)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < v.len; i++)
        sum ^= (uint8_t)v.base[i];
    return sum;
}

static void answer(h2o_req_t *req)
{
    uint8_t sum = touch(req->method) ^ touch(req->path) ^ touch(req->authority);
    for (size_t i = 0; i < req->headers.size; i++)
        sum ^= touch(*req->headers.entries[i].name) ^ touch(req->headers.entries[i].value);
    if (req->entity.base != NULL)
        sum ^= touch(req->entity);
    (void)sum;
    h2o_iovec_t body = h2o_concat(&req->pool, req->method, h2o_iovec_init(H2O_STRLIT(" ")), req->path);
    for (size_t i = 0; i < req->headers.size; i++)
        body = h2o_concat(&req->pool, body, h2o_iovec_init(H2O_STRLIT("\n")), *req->headers.entries[i].name,
                          h2o_iovec_init(H2O_STRLIT(": ")), req->headers.entries[i].value);
    if (req->entity.base != NULL)
        body = h2o_concat(&req->pool, body, h2o_iovec_init(H2O_STRLIT("\n\n")), req->entity);
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_send_inline(req, body.base, body.len);
}

static void on_idle_closed(uv_handle_t *h)
{
    free(h);
}

static void on_deferred_turn(uv_idle_t *idle)
{
    deferred_t *d = idle->data;
    if (d == NULL || d->req == NULL || --d->turns > 0)
        return;
    uv_idle_stop(idle);
    answer(d->req);
}

static void on_deferred_dispose(void *p)
{
    deferred_t *d = p;
    d->req = NULL;
    d->idle->data = NULL;
    uv_close((uv_handle_t *)d->idle, on_idle_closed);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    if (req->path.len >= 3 && req->path.base[0] == '/' && req->path.base[1] == 'd' && req->path.base[2] >= '0' &&
        req->path.base[2] <= '9') {
        deferred_t *d = h2o_mem_alloc_shared(&req->pool, sizeof(*d), on_deferred_dispose);
        d->req = req;
        d->turns = 1 + (req->path.base[2] - '0');
        d->idle = malloc(sizeof(*d->idle));
        uv_idle_init(loop, d->idle);
        d->idle->data = d;
        uv_idle_start(d->idle, on_deferred_turn);
        return 0;
    }
    answer(req);
    return 0;
}

static void on_conn_closed(uv_handle_t *h)
{
    fuzz_conn_t *c = (fuzz_conn_t *)h;
    http_reading_detach(&c->reading);
    open_conns--;
    free(c);
}

static void setup(void)
{
    /* h2o keeps freed input buffers of the initial size for reuse, out of ASan's sight: freed for real here */
    h2o_socket_buffer_prototype.allocator.max = 0;
    loop = uv_default_loop();
    h2o_config_init(&config);
    config.max_request_entity_size = 64 * 1024;
    config.http1.upgrade_to_http2 = 0;
    h2o_hostconf_t *host = h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    h2o_handler_t *handler = h2o_create_handler(path, sizeof(*handler));
    handler->on_req = on_req;
    h2o_context_init(&ctx, loop, &config);
    accept_ctx.ctx = &ctx;
    accept_ctx.hosts = config.hosts;
}

static void turns(int n)
{
    while (n-- > 0)
        uv_run(loop, UV_RUN_NOWAIT);
}

/* Reads what the server answered so far (never blocking); -1 once the server has closed. */
static int drain(int fd)
{
    char buf[65536];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0)
            continue;
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ? -1 : 0;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (loop == NULL)
        setup();
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) != 0)
        abort();
    int client = pair[0], fd = pair[1];

    fuzz_conn_t *c = calloc(1, sizeof(*c));
    uv_tcp_init(loop, &c->tcp);
    if (uv_tcp_open(&c->tcp, fd) != 0)
        abort();
    open_conns++;
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)&c->tcp, on_conn_closed);
    if (http_reading_attach(&c->reading, sock, (uv_stream_t *)&c->tcp) != 0)
        abort(); /* the fuzzer is about the attached path */
    h2o_accept(&accept_ctx, sock);

    size_t i = 0;
    int server_closed = 0;
    while (i < size && !server_closed) {
        uint8_t ctl = data[i++];
        if (ctl & 0x80)
            turns(1 + (i < size ? data[i++] % 4 : 0));
        size_t n = ((size_t)(ctl & 0x3f) + 1) * (ctl & 0x40 ? 64 : 1);
        if (n > size - i)
            n = size - i;
        if (n > 0 && send(client, data + i, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EAGAIN)
            server_closed = 1;
        i += n;
        turns(1);
        server_closed |= drain(client) < 0;
    }
    shutdown(client, SHUT_WR);
    for (int t = 0; t < 400 && open_conns > 0; t++) {
        turns(1);
        drain(client);
    }
    close(client);
    for (int t = 0; t < 400 && open_conns > 0; t++)
        turns(1);
    if (open_conns > 0)
        abort(); /* the server never closed a connection whose peer had gone */
    return 0;
}
