#include "model/event_wire.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/clock.h"

#define LIT(s) s, sizeof(s) - 1

/* Deeper than this, a value goes to jansson whole (which also refuses a tree that contains itself). */
#define WIRE_MAX_DEPTH 64

static int write_value(const json_t *v, event_wire_sink_fn sink, void *ctx, int depth);

/* The value as jansson writes it, by jansson: what the fast path below leaves to it. */
static int write_by_jansson(const json_t *v, event_wire_sink_fn sink, void *ctx)
{
    return json_dump_callback(v, sink, ctx, EVENT_WIRE_JSON_FLAGS | JSON_ENCODE_ANY);
}

/* Whether any of 8 bytes is one jansson would not write as it is: below 0x20, 0x80 and up (UTF-8, which jansson
 * checks), '"' or '\\'. Exact for "any" (the usual bit tricks; only which byte would be uncertain). */
static inline int word_needs_care(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t quote = x ^ (ones * '"'), backslash = x ^ (ones * '\\');
    uint64_t control = (x - ones * 0x20) & ~x;
    uint64_t zero_q = (quote - ones) & ~quote, zero_b = (backslash - ones) & ~backslash;
    return ((x | control | zero_q | zero_b) & highs) != 0;
}

static inline int byte_needs_care(unsigned char c)
{
    return c < 0x20 || c >= 0x80 || c == '"' || c == '\\';
}

/* A string of `n` bytes: when every byte is one jansson writes as it is, the quotes and the bytes; else -2 (the
 * caller hands the string to jansson: escapes, UTF-8). */
static int write_plain_string(const char *s, size_t n, event_wire_sink_fn sink, void *ctx)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        if (word_needs_care(x))
            return -2;
    }
    for (; i < n; i++)
        if (byte_needs_care((unsigned char)s[i]))
            return -2;
    return sink("\"", 1, ctx) || sink(s, n, ctx) || sink("\"", 1, ctx) ? -1 : 0;
}

/* A NUL-terminated string value (the run id): "none" or a run id directly, anything else by jansson. */
static int write_string(const char *s, event_wire_sink_fn sink, void *ctx)
{
    int rc = write_plain_string(s, strlen(s), sink, ctx);
    if (rc != -2)
        return rc;
    json_t *j = json_string(s); /* NULL when not UTF-8, as json_pack's "s" would fail */
    rc = j ? write_by_jansson(j, sink, ctx) : -1;
    json_decref(j);
    return rc;
}

static int write_integer(json_int_t v, event_wire_sink_fn sink, void *ctx)
{
    char buf[24], *end = buf + sizeof(buf), *p = end;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return sink(p, (size_t)(end - p), ctx);
}

static int write_object(const json_t *o, event_wire_sink_fn sink, void *ctx, int depth)
{
    if (sink("{", 1, ctx))
        return -1;
    int first = 1;
    /* insertion order, as jansson 2.14 dumps without JSON_SORT_KEYS */
    for (void *it = json_object_iter((json_t *)o); it; it = json_object_iter_next((json_t *)o, it), first = 0) {
        const char *key = json_object_iter_key(it);
        size_t klen = json_object_iter_key_len(it);
        if (!first && sink(",", 1, ctx))
            return -1;
        int rc = write_plain_string(key, klen, sink, ctx);
        if (rc == -2) {
            json_t *k = json_stringn(key, klen);
            rc = k ? write_by_jansson(k, sink, ctx) : -1;
            json_decref(k);
        }
        if (rc || sink(":", 1, ctx) || write_value(json_object_iter_value(it), sink, ctx, depth + 1))
            return -1;
    }
    return sink("}", 1, ctx);
}

static int write_array(const json_t *a, event_wire_sink_fn sink, void *ctx, int depth)
{
    if (sink("[", 1, ctx))
        return -1;
    for (size_t i = 0, n = json_array_size(a); i < n; i++)
        if ((i > 0 && sink(",", 1, ctx)) || write_value(json_array_get(a, i), sink, ctx, depth + 1))
            return -1;
    return sink("]", 1, ctx);
}

/* A JSON value as jansson writes it: the kinds events are made of directly, the rest (reals, strings that need
 * escapes or hold UTF-8, very deep trees) by jansson itself. */
static int write_value(const json_t *v, event_wire_sink_fn sink, void *ctx, int depth)
{
    if (v == NULL || depth > WIRE_MAX_DEPTH)
        return v ? write_by_jansson(v, sink, ctx) : -1;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return write_object(v, sink, ctx, depth);
    case JSON_ARRAY:
        return write_array(v, sink, ctx, depth);
    case JSON_STRING: {
        int rc = write_plain_string(json_string_value(v), json_string_length(v), sink, ctx);
        return rc == -2 ? write_by_jansson(v, sink, ctx) : rc;
    }
    case JSON_INTEGER:
        return write_integer(json_integer_value(v), sink, ctx);
    case JSON_TRUE:
        return sink(LIT("true"), ctx);
    case JSON_FALSE:
        return sink(LIT("false"), ctx);
    case JSON_NULL:
        return sink(LIT("null"), ctx);
    default: /* JSON_REAL: jansson's own formatting */
        return write_by_jansson(v, sink, ctx);
    }
}

int event_wire_write(const event_t *ev, event_wire_sink_fn sink, void *ctx)
{
    if (ev->data == NULL)
        return -1;
    const char *type = event_type_name(ev->type);
    char tail[CLOCK_RFC3339_LEN + 3];
    if (sink(LIT("{\"type\":\""), ctx) || sink(type, strlen(type), ctx) || sink(LIT("\",\"data\":"), ctx) ||
        write_value(ev->data, sink, ctx, 0) ||
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
    return sink(LIT(",\"seq\":"), ctx) || write_integer((json_int_t)ev->seq, sink, ctx) || sink("}", 1, ctx) ? -1 : 0;
}
