/* Route handlers. Each answers its request, now or later; `param` is the {run_id} path segment or NULL. */
#ifndef HTTP_ROUTES_H
#define HTTP_ROUTES_H

#include "http/server.h"

typedef void (*route_fn)(http_server_t *srv, h2o_req_t *req, const char *param);

/* routes_demo.c */
void route_run(http_server_t *srv, h2o_req_t *req, const char *param);
void route_preview(http_server_t *srv, h2o_req_t *req, const char *param);
void route_status(http_server_t *srv, h2o_req_t *req, const char *param);
void route_cancel(http_server_t *srv, h2o_req_t *req, const char *param);
void route_history(http_server_t *srv, h2o_req_t *req, const char *param);
void route_run_detail(http_server_t *srv, h2o_req_t *req, const char *param);
void route_run_report(http_server_t *srv, h2o_req_t *req, const char *param);
void route_run_trace(http_server_t *srv, h2o_req_t *req, const char *param);
void route_run_resume(http_server_t *srv, h2o_req_t *req, const char *param);

/* routes_stream.c */
void route_stream(http_server_t *srv, h2o_req_t *req, const char *param);

/* routes_metrics.c */
void route_prometheus(http_server_t *srv, h2o_req_t *req, const char *param);
void route_metrics_summary(http_server_t *srv, h2o_req_t *req, const char *param);

/* routes_bench.c */
void route_bench_burst(http_server_t *srv, h2o_req_t *req, const char *param);

/* routes_health.c */
void route_health(http_server_t *srv, h2o_req_t *req, const char *param);

/* routes_static.c */
struct web_asset;
/** The embedded file served at `path` ("/" is the dashboard, "/docs" the API page), or NULL. */
const struct web_asset *route_static_find(h2o_iovec_t path);
void route_static(http_server_t *srv, h2o_req_t *req, const struct web_asset *asset);

/** The query string of a request (without '?'), possibly empty. */
h2o_iovec_t route_query(h2o_req_t *req);

#endif
