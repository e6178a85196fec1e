/* GET /api/v1/pipeline/stream: the WebSocket handshake, handed to the hub. */
#include <h2o/websocket.h>
#include <stdlib.h>

#include "http/query.h"
#include "http/reply.h"
#include "http/router.h"
#include "http/routes.h"
#include "http/validate.h"
#include "http/ws_hub.h"

void route_stream(http_server_t *srv, h2o_req_t *req, const char *param)
{
    (void)param;
    const char *key = NULL;
    if (h2o_is_websocket_handshake(req, &key) != 0) {
        reply_detail(req, 400, "Invalid WebSocket handshake: Sec-WebSocket-Key must be 24 characters");
        return;
    }
    if (key == NULL) {
        reply_header(req, "upgrade", "websocket");
        reply_detail(req, 426, "This is a WebSocket endpoint: connect with a WebSocket client");
        return;
    }
    if (!router_origin_allowed(srv, req)) {
        /* a page of another site must not read the stream with its visitor's browser (cross-site hijacking) */
        reply_detail(req, 403, "Origin not allowed to open the stream");
        return;
    }
    char raw[32];
    h2o_iovec_t q = route_query(req);
    int found = query_get(q.base, q.len, "since", raw, sizeof(raw));
    long long since = -1;
    json_t *errors = json_array();
    if (found < 0 || (found > 0 && validate_query_int(raw, "since", 0, INT64_MAX, 0, &since, errors) != 0)) {
        if (json_array_size(errors) == 0)
            validate_add_error(errors, "query", "since", "Input should be a valid integer", "int_parsing");
        reply_validation(req, errors);
        return;
    }
    json_decref(errors);
    ws_hub_accept(srv->deps.hub, req, key, since);
}
