/*
 * The stream envelope of API.md written piece by piece to a sink, with no intermediate JSON tree or string:
 * {"type":…,"data":…,"timestamp":…,"run_id":…,"seq":…}. The bytes are exactly those jansson writes for the same
 * envelope packed as an object and dumped with JSON_COMPACT | JSON_REAL_PRECISION(15) (event_to_json's form), for
 * any `data`, so fields other modules add to an event's data go through unchanged.
 */
#ifndef MODEL_EVENT_WIRE_H
#define MODEL_EVENT_WIRE_H

#include <stddef.h>

#include "model/events.h"

/** The dump flags of the wire form (also those of the events channel between replicas). */
#define EVENT_WIRE_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

/** Receives the next `len` bytes; returns 0, or -1 to stop. (The signature of jansson's json_dump_callback_t.) */
typedef int (*event_wire_sink_fn)(const char *bytes, size_t len, void *ctx);

/** Writes `ev` to `sink`. Returns 0, or -1 when the sink stopped or the event cannot be encoded (no data, a
 *  run id or a string in data that is not UTF-8): the cases where the jansson path gave no text either. */
int event_wire_write(const event_t *ev, event_wire_sink_fn sink, void *ctx);

#endif
