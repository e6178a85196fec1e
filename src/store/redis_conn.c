#include "store/redis_conn.h"

#include <fcntl.h>
#include <hiredis/adapters/libuv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

struct redis_conn {
    uv_loop_t *loop;
    redis_url_t url;
    char name[16];
    redis_conn_callbacks_t cbs;
    redisAsyncContext *ac;
    int ready;      /* connected, AUTH and SELECT done */
    int subscribed; /* in pub/sub mode: a PING's answer comes back as a message, so none is sent */
    int closing;
    uint64_t backoff_ms;
    uint64_t pending;    /* commands sent and not yet answered */
    uint64_t oldest_ms;  /* when the oldest unanswered command was sent (0: none) */
    uv_timer_t retry;    /* reconnect */
    uv_timer_t watchdog; /* connect timeout, PING, overdue replies */
    uv_getaddrinfo_t resolver; /* the host name, resolved off the loop before each connect */
    int resolving;
    int open_handles; /* timers, and the resolver while it runs */
    int logged_down;
};

typedef struct pending_cmd {
    redis_conn_t *conn;
    redis_reply_fn fn;
    void *privdata;
    int persistent; /* SUBSCRIBE: fires for every message */
} pending_cmd_t;

static void start_connect(redis_conn_t *c);

static void on_retry(uv_timer_t *t)
{
    start_connect(t->data);
}

static void schedule_reconnect(redis_conn_t *c)
{
    if (c->closing)
        return;
    uv_timer_start(&c->retry, on_retry, c->backoff_ms, 0);
    c->backoff_ms = c->backoff_ms * 2 > REDIS_BACKOFF_MAX_MS ? REDIS_BACKOFF_MAX_MS : c->backoff_ms * 2;
}

static void became_unusable(redis_conn_t *c)
{
    int was_ready = c->ready;
    c->ready = 0;
    c->subscribed = 0;
    c->ac = NULL;
    c->pending = 0;
    c->oldest_ms = 0;
    if (was_ready && c->cbs.on_lost)
        c->cbs.on_lost(c->cbs.data, c);
    schedule_reconnect(c);
}

/* Gives up the current context (a timeout, a refused handshake): reconnects later. Safe inside hiredis callbacks:
 * hiredis defers the free until its callback returns. */
static void drop_context(redis_conn_t *c, const char *why)
{
    redisAsyncContext *ac = c->ac;
    if (ac == NULL)
        return;
    if (!c->logged_down)
        log_warn("redis", "%s connection to %s:%d dropped: %s", c->name, c->url.host, c->url.port, why);
    c->logged_down = 1;
    ac->data = NULL; /* our disconnect callback ignores it from now on */
    became_unusable(c);
    redisAsyncFree(ac); /* pending callbacks fire with NULL */
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    redis_conn_t *c = ac->data;
    if (c == NULL || c->ac != ac)
        return;
    if (status != 0 && !c->logged_down) {
        log_warn("redis", "%s connection to %s:%d lost: %s", c->name, c->url.host, c->url.port,
                 ac->errstr[0] ? ac->errstr : "disconnected");
        c->logged_down = 1;
    }
    became_unusable(c);
}

static void on_command_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    pending_cmd_t *p = privdata;
    redis_conn_t *c = p->conn;
    if (!p->persistent && c->ac == ac) {
        if (c->pending > 0)
            c->pending--;
        c->oldest_ms = c->pending ? uv_now(c->loop) : 0;
    }
    if (p->fn)
        p->fn(c, r, p->privdata);
    /* a persistent callback lives until the connection ends (a NULL reply) */
    if (!p->persistent || r == NULL)
        free(p);
}

static int send_argv(redis_conn_t *c, redis_reply_fn fn, void *privdata, int persistent, int argc, const char **argv,
                     const size_t *lens)
{
    if (c->ac == NULL)
        return -1;
    pending_cmd_t *p = malloc(sizeof(*p));
    if (p == NULL)
        abort();
    *p = (pending_cmd_t){c, fn, privdata, persistent};
    if (redisAsyncCommandArgv(c->ac, on_command_reply, p, argc, argv, lens) != REDIS_OK) {
        free(p);
        return -1;
    }
    if (!persistent) {
        if (c->pending++ == 0)
            c->oldest_ms = uv_now(c->loop);
    }
    return 0;
}

static void on_handshake_reply(redis_conn_t *c, redisReply *r, void *privdata)
{
    int last = privdata != NULL;
    if (r == NULL)
        return;
    if (r->type == REDIS_REPLY_ERROR) {
        log_error("redis", "%s connection: %s refused: %s", c->name, last ? "SELECT" : "AUTH", r->str);
        drop_context(c, "handshake refused");
        return;
    }
    if (!last)
        return;
    c->ready = 1;
    c->backoff_ms = REDIS_BACKOFF_MIN_MS;
    if (c->logged_down)
        log_info("redis", "%s connection to %s:%d is back", c->name, c->url.host, c->url.port);
    c->logged_down = 0;
    if (c->cbs.on_ready)
        c->cbs.on_ready(c->cbs.data, c);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    redis_conn_t *c = ac->data;
    if (c == NULL || c->ac != ac)
        return;
    if (status != 0) {
        if (!c->logged_down)
            log_warn("redis", "%s connection to %s:%d failed: %s", c->name, c->url.host, c->url.port, ac->errstr);
        c->logged_down = 1;
        became_unusable(c); /* hiredis frees the context after this callback */
        return;
    }
    /* AUTH (when configured) then SELECT; the SELECT reply (privdata != NULL) makes the connection ready */
    char db[16];
    snprintf(db, sizeof(db), "%d", c->url.db);
    if (c->url.password[0]) {
        const char *argv[3] = {"AUTH", c->url.user[0] ? c->url.user : c->url.password, c->url.password};
        send_argv(c, on_handshake_reply, NULL, 0, c->url.user[0] ? 3 : 2, argv, NULL);
    }
    const char *argv[2] = {"SELECT", db};
    send_argv(c, on_handshake_reply, c, 0, 2, argv, NULL);
}

static void maybe_free(redis_conn_t *c)
{
    if (--c->open_handles == 0)
        free(c);
}

static void connect_to(redis_conn_t *c, const char *ip);

/* hiredis resolves with a blocking getaddrinfo: it gets the address, and the name is looked up in libuv's pool */
static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    redis_conn_t *c = req->data;
    c->resolving = 0;
    char ip[64] = "";
    if (status == 0 && res)
        uv_ip_name(res->ai_addr, ip, sizeof(ip));
    uv_freeaddrinfo(res);
    if (!c->closing) {
        if (ip[0]) {
            connect_to(c, ip);
        } else {
            if (!c->logged_down)
                log_warn("redis", "%s connection: cannot resolve %s: %s", c->name, c->url.host,
                         status ? uv_strerror(status) : "no address");
            c->logged_down = 1;
            schedule_reconnect(c);
        }
    }
    maybe_free(c);
}

static void start_connect(redis_conn_t *c)
{
    if (c->closing || c->ac != NULL || c->resolving)
        return;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    c->resolver.data = c;
    int rc = uv_getaddrinfo(c->loop, &c->resolver, on_resolved, c->url.host, NULL, &hints);
    if (rc != 0) {
        log_warn("redis", "%s connection: cannot resolve %s: %s", c->name, c->url.host, uv_strerror(rc));
        schedule_reconnect(c);
        return;
    }
    c->resolving = 1;
    c->open_handles++;
}

static void connect_to(redis_conn_t *c, const char *ip)
{
    redisAsyncContext *ac = redisAsyncConnect(ip, c->url.port);
    if (ac == NULL || ac->err) {
        if (!c->logged_down)
            log_warn("redis", "%s connection to %s:%d: %s", c->name, c->url.host, c->url.port,
                     ac ? ac->errstr : "out of memory");
        c->logged_down = 1;
        if (ac)
            redisAsyncFree(ac);
        schedule_reconnect(c);
        return;
    }
    fcntl(ac->c.fd, F_SETFD, FD_CLOEXEC); /* task processes must not hold the connection */
    ac->data = c;
    c->ac = ac;
    c->oldest_ms = uv_now(c->loop); /* the connect itself is watched like a command */
    c->pending = 0;
    redisLibuvAttach(ac, c->loop);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
}

static void on_pong(redis_conn_t *c, redisReply *r, void *privdata)
{
    (void)c, (void)r, (void)privdata;
}

static void on_watchdog(uv_timer_t *t)
{
    redis_conn_t *c = t->data;
    if (c->ac == NULL)
        return;
    uint64_t now = uv_now(c->loop);
    uint64_t limit = c->ready ? REDIS_REPLY_TIMEOUT_MS : REDIS_CONNECT_TIMEOUT_MS;
    if (c->oldest_ms && now - c->oldest_ms > limit) {
        drop_context(c, c->ready ? "a reply is overdue" : "connect timed out");
        return;
    }
    if (c->ready && !c->subscribed) {
        const char *argv[1] = {"PING"};
        send_argv(c, on_pong, NULL, 0, 1, argv, NULL);
    }
}

redis_conn_t *redis_conn_create(uv_loop_t *loop, const redis_url_t *url, const char *name,
                                const redis_conn_callbacks_t *cbs)
{
    redis_conn_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    c->loop = loop;
    c->url = *url;
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->cbs = *cbs;
    c->backoff_ms = REDIS_BACKOFF_MIN_MS;
    uv_timer_init(loop, &c->retry);
    uv_timer_init(loop, &c->watchdog);
    c->retry.data = c->watchdog.data = c;
    c->open_handles = 2;
    uv_timer_start(&c->watchdog, on_watchdog, 1000, 1000);
    start_connect(c);
    return c;
}

int redis_conn_is_ready(const redis_conn_t *c)
{
    return c->ready;
}

int redis_conn_pending(const redis_conn_t *c)
{
    return (int)c->pending;
}

int redis_conn_command(redis_conn_t *c, redis_reply_fn fn, void *privdata, int argc, const char **argv,
                       const size_t *argvlen)
{
    if (!c->ready)
        return -1;
    return send_argv(c, fn, privdata, 0, argc, argv, argvlen);
}

int redis_conn_subscribe(redis_conn_t *c, redis_reply_fn fn, void *privdata, const char *channel)
{
    if (!c->ready)
        return -1;
    const char *argv[2] = {"SUBSCRIBE", channel};
    int rc = send_argv(c, fn, privdata, 1, 2, argv, NULL);
    if (rc == 0) {
        c->subscribed = 1;
        c->pending = 0; /* a PING sent before the SUBSCRIBE is answered in pub/sub form: not waited for */
        c->oldest_ms = 0;
    }
    return rc;
}

static void on_closed(uv_handle_t *h)
{
    maybe_free(h->data);
}

void redis_conn_close(redis_conn_t *c)
{
    c->closing = 1;
    c->ready = 0;
    if (c->ac) {
        redisAsyncContext *ac = c->ac;
        c->ac = NULL;
        ac->data = NULL;
        redisAsyncFree(ac); /* pending callbacks fire with NULL */
    }
    if (c->resolving)
        uv_cancel((uv_req_t *)&c->resolver); /* its callback still fires, and frees what is left */
    uv_close((uv_handle_t *)&c->retry, on_closed);
    uv_close((uv_handle_t *)&c->watchdog, on_closed);
}
