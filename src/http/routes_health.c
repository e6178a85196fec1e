/* GET /health and /healthz: is the service working as configured. */
#include "http/reply.h"
#include "http/routes.h"

void route_health(http_server_t *srv, h2o_req_t *req, const char *param)
{
    (void)param;
    store_t *store = srv->deps.store;
    int ok = store->ops->healthy(store) != 0;
    /* the names never change: each of the two answers is encoded once */
    if (srv->health_text[ok] == NULL)
        srv->health_text[ok] = reply_encode(json_pack("{s:s,s:s,s:s}", "status", ok ? "ok" : "degraded", "store",
                                                      store->ops->name, "executor", srv->deps.exec->ops->name));
    reply_json_text(req, 200, srv->health_text[ok]);
}
