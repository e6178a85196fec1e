/*
 * The HTTP server: h2o on the service's libuv loop. It owns the listener, the h2o context, the rate limiter,
 * and hands every request to the router.
 */
#ifndef HTTP_SERVER_H
#define HTTP_SERVER_H

#include <h2o.h>
#include <uv.h>

#include "config.h"
#include "core/orchestrator.h"
#include "exec/executor.h"
#include "http/fd_limit.h"
#include "http/listener.h"
#include "http/ratelimit.h"
#include "store/store.h"

#define HTTP_MAX_BODY (64 * 1024)
/* GET /preview bodies are kept for batch_count up to this */
#define HTTP_PREVIEW_CACHED 64

typedef struct ws_hub ws_hub_t;

/** What the routes read and call; owned by the caller. */
typedef struct http_deps {
    const config_t *cfg;
    orch_t *orch;
    store_t *store;
    executor_t *exec;
    ws_hub_t *hub;
    struct bench_source *bench; /* NULL unless BENCH_EVENTS=1 */
    struct metrics *metrics;
    /** The store's state beyond its own health (app_store.c): 0 ok, 1 degraded, 2 unavailable (health 503), with
     *  `reason` (or NULL). NULL: the store's own health alone. */
    int (*store_state)(void *ctx, const char **reason);
    void *store_ctx;
} http_deps_t;

typedef struct http_server {
    uv_loop_t *loop;
    http_deps_t deps;
    h2o_globalconf_t h2o_config;
    h2o_context_t h2o_ctx;
    h2o_accept_ctx_t accept_ctx;
    listener_t listener;
    int listening;
    int connections; /* open TCP connections (HTTP and upgraded) */
    struct conn *conns;
    ratelimit_t ratelimit;
    fd_limit_t fd_limit;
    /* Bodies that are a function of the configuration, encoded once: GET /health (degraded, ok) and
     * GET /api/v1/demo/preview by batch_count. */
    char *health_text[2];
    char *preview_text[HTTP_PREVIEW_CACHED + 1];
} http_server_t;

/** Binds HOST:PORT and starts serving. Returns the server, or NULL with `err` filled. */
http_server_t *http_server_start(uv_loop_t *loop, const http_deps_t *deps, char *err, size_t errlen);
/** Stops accepting and asks open connections to close after their current request. */
void http_server_stop_listening(http_server_t *srv);
/** Makes h2o close its connections (idle keep-alive ones at once), after the last requests were answered. */
void http_server_close_idle(http_server_t *srv);
/** The store changed (the memory fallback moved to Redis): the routes use `store` from now on. */
void http_server_set_store(http_server_t *srv, store_t *store);
/** Frees the server; call once the loop has closed its connections (or is about to be discarded). */
void http_server_destroy(http_server_t *srv);

/** Names the route that answers `req` (a static string: its pattern), for the request metrics. */
void http_set_route_label(h2o_req_t *req, const char *route);

/** The peer address of a request's connection. */
void http_peer_addr(h2o_req_t *req, struct sockaddr_storage *out);

#endif
