/* A request waiting for the orchestrator: its waiter lives in the request's pool and is forgotten if the client
 * goes away first, so a late answer never touches a freed request. */
#ifndef HTTP_PENDING_H
#define HTTP_PENDING_H

#include <h2o.h>
#include <jansson.h>

#include "core/orchestrator.h"

/** A waiter bound to `req`. */
orch_waiter_t *http_waiter(h2o_req_t *req);
/** The request of a waiter made by http_waiter. */
h2o_req_t *http_waiter_req(orch_waiter_t *w);
/** Sends an orchestrator answer as JSON (503 with Retry-After). Fits orch_reply_cb. */
void http_answer(orch_waiter_t *w, int status, json_t *body);

#endif
