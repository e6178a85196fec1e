/* Sending responses: JSON bodies, the {"detail": ...} error shape, and 422 validation details. */
#ifndef HTTP_REPLY_H
#define HTTP_REPLY_H

#include <h2o.h>
#include <jansson.h>

/** Sends `body` (any bytes) with a status and a content type; HEAD gets the headers only. */
void reply_send(h2o_req_t *req, int status, const char *content_type, const char *body, size_t len);
/** Sends `body` as JSON (steals the reference). */
void reply_json(h2o_req_t *req, int status, json_t *body);
/** Encodes `body` as reply_json does (steals the reference), for a reply sent again and again; NULL if it
 * cannot be encoded. free() it. */
char *reply_encode(json_t *body);
/** Sends JSON text made by reply_encode. */
void reply_json_text(h2o_req_t *req, int status, const char *text);
/** Sends {"detail": detail}. */
void reply_detail(h2o_req_t *req, int status, const char *detail);
/** Sends 422 {"detail": errors} (steals `errors`). */
void reply_validation(h2o_req_t *req, json_t *errors);
/** Adds a response header by name (copied into the request's pool). */
void reply_header(h2o_req_t *req, const char *name, const char *value);

/** The reason phrase of a status code. */
const char *reply_reason(int status);

#endif
