/*
 * Routing: the table of API.md's endpoints, and what every request goes through before its handler:
 * 404 / 405 with Allow, CORS (with preflight), the per-IP rate limit on /api/, and the optional bearer token.
 */
#ifndef HTTP_ROUTER_H
#define HTTP_ROUTER_H

#include "http/server.h"

/** Answers `req` (always: directly, or later for asynchronous handlers). */
void router_dispatch(http_server_t *srv, h2o_req_t *req);

/** 1 when `req` has no Origin header (not a browser) or one that ALLOWED_ORIGINS admits. */
int router_origin_allowed(http_server_t *srv, h2o_req_t *req);

#endif
