/*
 * The events channel's message format, as the publish script writes it:
 * "<seq> <ts_ms> <type> <run id|none> <replica> <data JSON>". Messages come from outside the process (any client
 * of the Redis server may publish), so reading one checks every field.
 */
#ifndef STORE_REDIS_EVENT_H
#define STORE_REDIS_EVENT_H

#include <stddef.h>

#include "model/events.h"

#define REDIS_EVENT_ORIGIN_MAX 64

/**
 * Parses a message. Returns 0 with `ev` filled (ev->data a new reference: json_decref it; ev->local 0) and
 * `origin` the publishing replica; else -1 with `why` saying what is wrong.
 */
int redis_event_parse(const char *text, size_t len, event_t *ev, char origin[REDIS_EVENT_ORIGIN_MAX], char *why,
                      size_t whylen);

#endif
