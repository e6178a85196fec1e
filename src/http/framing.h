/*
 * Request framing checks that h2o 2.2.5 does not make (RFC 9112 §6.3). Its parser takes the first of two
 * Content-Length headers, prefers Transfer-Encoding over Content-Length, and keeps both out of req->headers, so
 * the check reads the request head again from the connection's input buffer (where h2o leaves it until the
 * response is sent) with the same parser h2o uses (picohttpparser, built into libh2o).
 */
#ifndef HTTP_FRAMING_H
#define HTTP_FRAMING_H

#include <h2o.h>
#include <stddef.h>

#define HTTP_MAX_HEAD (32 * 1024) /* request line and headers; more is 431 (h2o itself stops at 400 KiB: 400) */

/**
 * Checks a raw request head (`buf` starts with the request line; bytes after the head are ignored). Returns 0
 * when its framing is sound; else the status to answer (400 or 431) with `*detail` set to a static message.
 */
int http_framing_check_head(const char *buf, size_t len, const char **detail);

/** The same check on the head of `req` as it arrived on its HTTP/1 connection (0 when there is none to read). */
int http_framing_check(h2o_req_t *req, const char **detail);

#endif
