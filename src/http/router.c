#include "http/router.h"

#include <stdio.h>
#include <string.h>

#include "http/client_addr.h"
#include "http/reply.h"
#include "http/routes.h"

enum {
    ROUTE_AUTH = 1, /* needs the bearer token when API_TOKEN is set */
};

typedef struct route {
    const char *method;
    const char *pattern; /* '*' matches one path segment, handed to the handler */
    route_fn fn;
    unsigned flags;
} route_t;

static const route_t routes[] = {
    {"POST", "/api/v1/demo/run", route_run, ROUTE_AUTH},
    {"GET", "/api/v1/demo/preview", route_preview, 0},
    {"GET", "/api/v1/demo/status", route_status, 0},
    {"GET", "/api/v1/demo/active", route_status, 0},
    {"DELETE", "/api/v1/demo/cancel", route_cancel, ROUTE_AUTH},
    {"GET", "/api/v1/demo/history", route_history, 0},
    {"GET", "/api/v1/demo/runs/*", route_run_detail, 0},
    {"GET", "/api/v1/demo/runs/*/report", route_run_report, 0},
    {"GET", "/api/v1/demo/runs/*/trace", route_run_trace, 0},
    {"POST", "/api/v1/demo/runs/*/resume", route_run_resume, ROUTE_AUTH},
    {"GET", "/api/v1/pipeline/stream", route_stream, 0},
    {"GET", "/api/v1/demo/metrics", route_metrics_summary, 0},
    {"GET", "/metrics", route_prometheus, 0},
    {"POST", "/bench/burst", route_bench_burst, 0},
    {"GET", "/health", route_health, 0},
    {"GET", "/healthz", route_health, 0},
};
#define ROUTE_COUNT (sizeof(routes) / sizeof(routes[0]))

h2o_iovec_t route_query(h2o_req_t *req)
{
    if (req->query_at == SIZE_MAX)
        return h2o_iovec_init("", 0);
    return h2o_iovec_init(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1);
}

/* Matches `path` against `pattern`; on a match stores the '*' segment (if any) in `seg`. */
static int match(const char *pattern, h2o_iovec_t path, h2o_iovec_t *seg)
{
    size_t i = 0;
    for (const char *p = pattern; *p; p++) {
        if (*p == '*') {
            size_t start = i;
            while (i < path.len && path.base[i] != '/')
                i++;
            if (i == start)
                return 0;
            *seg = h2o_iovec_init(path.base + start, i - start);
        } else if (i >= path.len || path.base[i++] != *p) {
            return 0;
        }
    }
    return i == path.len;
}

static int method_is(h2o_req_t *req, const char *m)
{
    return h2o_memis(req->method.base, req->method.len, m, strlen(m));
}

static const char *header_value(h2o_req_t *req, const char *name, size_t *len)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
    if (i < 0)
        return NULL;
    *len = req->headers.entries[i].value.len;
    return req->headers.entries[i].value.base;
}

/* The Origin of a cross-origin request if ALLOWED_ORIGINS admits it, as the value to echo; else NULL. */
static const char *allowed_origin(http_server_t *srv, h2o_req_t *req)
{
    size_t len;
    const char *origin = header_value(req, "origin", &len);
    if (origin == NULL)
        return NULL;
    const char *list = srv->deps.cfg->allowed_origins;
    if (strcmp(list, "*") == 0)
        return "*";
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *trim = end;
        while (trim > p && trim[-1] == ' ')
            trim--;
        if ((size_t)(trim - p) == len && memcmp(p, origin, len) == 0)
            return h2o_strdup(&req->pool, origin, len).base;
        p = end;
    }
    return NULL;
}

int router_origin_allowed(http_server_t *srv, h2o_req_t *req)
{
    size_t len;
    return header_value(req, "origin", &len) == NULL || allowed_origin(srv, req) != NULL;
}

static void add_cors_headers(http_server_t *srv, h2o_req_t *req)
{
    const char *origin = allowed_origin(srv, req);
    if (origin == NULL)
        return;
    reply_header(req, "access-control-allow-origin", origin);
    reply_header(req, "access-control-expose-headers", "Retry-After");
    if (strcmp(origin, "*") != 0)
        reply_header(req, "vary", "Origin");
}

/* "GET, HEAD, OPTIONS" style list of the methods the matching routes accept. */
static void allowed_methods(const char *methods[], int n, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        used += (size_t)snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", methods[i]);
        if (strcmp(methods[i], "GET") == 0)
            used += (size_t)snprintf(out + used, outlen - used, ", HEAD");
    }
    snprintf(out + used, outlen - used, "%sOPTIONS", used ? ", " : "");
}

static int token_ok(http_server_t *srv, h2o_req_t *req)
{
    const char *token = srv->deps.cfg->api_token;
    if (token[0] == '\0')
        return 1;
    size_t len, tlen = strlen(token);
    const char *auth = header_value(req, "authorization", &len);
    if (auth == NULL || len != 7 + tlen || strncasecmp(auth, "Bearer ", 7) != 0)
        return 0;
    unsigned char diff = 0; /* constant time in the token's length */
    for (size_t i = 0; i < tlen; i++)
        diff |= (unsigned char)(auth[7 + i] ^ token[i]);
    return diff == 0;
}

static int rate_limited(http_server_t *srv, h2o_req_t *req)
{
    struct sockaddr_storage peer;
    client_addr_of(req, &srv->deps.cfg->trusted_proxies, &peer);
    int retry_after;
    if (ratelimit_take(&srv->ratelimit, (struct sockaddr *)&peer, uv_now(srv->loop), &retry_after) == 0)
        return 0;
    char value[16];
    snprintf(value, sizeof(value), "%d", retry_after);
    reply_header(req, "retry-after", value);
    reply_detail(req, 429, "Rate limit exceeded: too many requests from this address; retry later");
    return 1;
}

void router_dispatch(http_server_t *srv, h2o_req_t *req)
{
    h2o_iovec_t path = req->path_normalized, seg = {NULL, 0};
    const char *methods[ROUTE_COUNT + 1];
    int nmethods = 0;
    const route_t *found = NULL;
    const char *label = "unmatched";
    int is_options = method_is(req, "OPTIONS"), is_head = method_is(req, "HEAD");
    int is_api = path.len >= 5 && memcmp(path.base, "/api/", 5) == 0;
    /* the stream's handshake is not limited (a browser could not read a 429 there; MAX_WEBSOCKET_CONNECTIONS
     * caps connections) */
    int limited = is_api && !is_options && !h2o_memis(path.base, path.len, H2O_STRLIT("/api/v1/pipeline/stream"));

    for (size_t i = 0; i < ROUTE_COUNT; i++) {
        h2o_iovec_t s = {NULL, 0};
        if (!match(routes[i].pattern, path, &s))
            continue;
        methods[nmethods++] = routes[i].method;
        label = routes[i].pattern;
        if (method_is(req, routes[i].method) || (is_head && strcmp(routes[i].method, "GET") == 0)) {
            found = &routes[i];
            seg = s;
        }
    }
    const struct web_asset *asset = nmethods == 0 && !is_api ? route_static_find(path) : NULL;
    if (asset) {
        methods[nmethods++] = "GET"; /* a file: GET, HEAD and OPTIONS only */
        label = "static";
    }
    http_set_route_label(req, label);
    add_cors_headers(srv, req);
    if (limited && rate_limited(srv, req))
        return;
    if (nmethods == 0) {
        reply_detail(req, 404, "Not Found");
        return;
    }
    char allow[128]; /* made only for the answers that name it */
    if (is_options) {
        allowed_methods(methods, nmethods, allow, sizeof(allow));
        reply_header(req, "allow", allow);
        if (allowed_origin(srv, req)) {
            reply_header(req, "access-control-allow-methods", allow);
            reply_header(req, "access-control-allow-headers", "Authorization, Content-Type");
            reply_header(req, "access-control-max-age", "600");
        }
        reply_send(req, 204, NULL, NULL, 0);
        return;
    }
    if (asset && (method_is(req, "GET") || is_head)) {
        route_static(srv, req, asset);
        return;
    }
    if (found == NULL) {
        allowed_methods(methods, nmethods, allow, sizeof(allow));
        reply_header(req, "allow", allow);
        reply_detail(req, 405, "Method Not Allowed");
        return;
    }
    if ((found->flags & ROUTE_AUTH) && !token_ok(srv, req)) {
        reply_header(req, "www-authenticate", "Bearer");
        reply_detail(req, 401, "Missing or invalid bearer token");
        return;
    }
    found->fn(srv, req, seg.base ? h2o_strdup(&req->pool, seg.base, seg.len).base : NULL);
}
