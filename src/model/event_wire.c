#include "model/event_wire.h"

#include <stdio.h>
#include <string.h>

#include "util/clock.h"

#define LIT(s) s, sizeof(s) - 1

/* Bytes that jansson writes as they are inside a string (no escape): printable ASCII but '"' and '\\'. */
static int plain_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f || *s == '"' || *s == '\\')
            return 0;
    return 1;
}

/* A string value as jansson writes it: the common case (a run id, "none") directly, anything else by jansson. */
static int write_string(const char *s, event_wire_sink_fn sink, void *ctx)
{
    if (plain_ascii(s)) {
        size_t n = strlen(s);
        return sink("\"", 1, ctx) || sink(s, n, ctx) || sink("\"", 1, ctx) ? -1 : 0;
    }
    json_t *j = json_string(s); /* NULL when not UTF-8, as json_pack's "s" would fail */
    int rc = j ? json_dump_callback(j, sink, ctx, EVENT_WIRE_JSON_FLAGS | JSON_ENCODE_ANY) : -1;
    json_decref(j);
    return rc;
}

int event_wire_write(const event_t *ev, event_wire_sink_fn sink, void *ctx)
{
    if (ev->data == NULL)
        return -1;
    const char *type = event_type_name(ev->type);
    char tail[CLOCK_RFC3339_LEN + 3];
    if (sink(LIT("{\"type\":\""), ctx) || sink(type, strlen(type), ctx) || sink(LIT("\",\"data\":"), ctx) ||
        json_dump_callback(ev->data, sink, ctx, EVENT_WIRE_JSON_FLAGS | JSON_ENCODE_ANY) ||
        sink(LIT(",\"timestamp\":"), ctx))
        return -1;
    if (ev->ts_ms > 0) {
        tail[0] = '"';
        clock_format_rfc3339(ev->ts_ms, tail + 1);
        tail[CLOCK_RFC3339_LEN + 1] = '"';
        if (sink(tail, CLOCK_RFC3339_LEN + 2, ctx))
            return -1;
    } else if (sink(LIT("null"), ctx)) {
        return -1;
    }
    if (sink(LIT(",\"run_id\":"), ctx) || write_string(ev->run_id, sink, ctx))
        return -1;
    char seq[40];
    int n = snprintf(seq, sizeof(seq), ",\"seq\":%lld}", (long long)(json_int_t)ev->seq);
    return sink(seq, (size_t)n, ctx);
}
