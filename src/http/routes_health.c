/* GET /health and /healthz: is the service working as configured. */
#include "http/reply.h"
#include "http/routes.h"

void route_health(http_server_t *srv, h2o_req_t *req, const char *param)
{
    (void)param;
    store_t *store = srv->deps.store;
    const char *reason = NULL;
    int state = srv->deps.store_state ? srv->deps.store_state(srv->deps.store_ctx, &reason)
                                      : (store->ops->healthy(store) ? 0 : 1);
    if (reason) { /* the store is not what was configured: say why; 503 when this replica must not serve */
        reply_json(req, state == 2 ? 503 : 200,
                   json_pack("{s:s,s:s,s:s,s:s}", "status", "degraded", "store", store->ops->name, "executor",
                             srv->deps.exec->ops->name, "detail", reason));
        return;
    }
    int ok = state == 0;
    /* the names never change while the store does not: each of the two answers is encoded once */
    if (srv->health_text[ok] == NULL)
        srv->health_text[ok] = reply_encode(json_pack("{s:s,s:s,s:s}", "status", ok ? "ok" : "degraded", "store",
                                                      store->ops->name, "executor", srv->deps.exec->ops->name));
    reply_json_text(req, 200, srv->health_text[ok]);
}
