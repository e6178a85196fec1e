/* GET /health and /healthz: is the service working as configured. */
#include "http/reply.h"
#include "http/routes.h"

void route_health(http_server_t *srv, h2o_req_t *req, const char *param)
{
    (void)param;
    store_t *store = srv->deps.store;
    int ok = store->ops->healthy(store);
    reply_json(req, 200,
               json_pack("{s:s,s:s,s:s}", "status", ok ? "ok" : "degraded", "store", store->ops->name, "executor",
                         srv->deps.exec->ops->name));
}
