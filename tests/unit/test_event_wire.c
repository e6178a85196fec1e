/* Unit tests for src/model/event_wire.{h,c} and ws_frame_build (src/http/ws_frame.c): the envelope written straight
 * into the frame is byte for byte what the jansson path gave (pack the envelope, dump it, copy it behind a header),
 * for a corpus of events with every kind of data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "http/ws_frame.h"
#include "model/event_wire.h"
#include "model/events.h"
#include "model/run.h"

/* The reference: the envelope as the service encoded it before event_wire (json_pack, then json_dumps). */
static char *reference_json(const event_t *ev, size_t *len)
{
    json_t *o = json_pack("{s:s,s:O,s:o,s:s,s:I}", "type", event_type_name(ev->type), "data", ev->data, "timestamp",
                          run_time_json(ev->ts_ms), "run_id", ev->run_id, "seq", (json_int_t)ev->seq);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(o);
    if (s)
        *len = strlen(s);
    return s;
}

static int produce(const void *src, ws_frame_sink_fn sink, void *ctx)
{
    return event_wire_write(src, sink, ctx);
}

/* The event through every new path (the string, frames built with several size hints) against the reference. */
static void assert_same(const event_t *ev)
{
    size_t ref_len = 0, len = 0;
    char *ref = reference_json(ev, &ref_len);
    char *s = event_to_json(ev, &len);
    if (ref == NULL) { /* what jansson could not encode is not encoded */
        assert_null(s);
        assert_null(ws_frame_build(WS_OP_TEXT, produce, ev, 0, 1));
        return;
    }
    assert_non_null(s);
    assert_int_equal(len, ref_len);
    assert_string_equal(s, ref);
    ws_frame_t *want = ws_frame_new(WS_OP_TEXT, ref, ref_len, 9);
    const size_t hints[] = {0, 1, ref_len / 2, ref_len, ref_len + 1, ref_len * 3, 100000};
    for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
        ws_frame_t *f = ws_frame_build(WS_OP_TEXT, produce, ev, hints[i], 9);
        assert_non_null(f);
        assert_int_equal(f->len, want->len);
        assert_memory_equal(f->data, want->data, want->len);
        assert_int_equal(f->seq, 9);
        assert_int_equal(f->refs, 1);
        ws_frame_unref(f);
    }
    ws_frame_unref(want);
    free(s);
    free(ref);
}

static void check_data(json_t *data, const char *run_id, int64_t ts_ms, uint64_t seq)
{
    for (int t = 0; t < EVENT_TYPE_COUNT; t++) {
        event_t ev = {.type = (event_type_t)t, .seq = seq, .ts_ms = ts_ms, .local = 1, .data = data};
        snprintf(ev.run_id, sizeof(ev.run_id), "%s", run_id);
        assert_same(&ev);
    }
    json_decref(data);
}

/* JSON text that must parse. */
static json_t *loads(const char *text, size_t flags, json_error_t *unused)
{
    (void)unused;
    json_t *j = json_loads(text, flags, NULL);
    assert_non_null(j);
    return j;
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void test_corpus(void **state)
{
    (void)state;
    const char *ids[] = {"none", "r0123456789a", "", "a\"b\\c", "tab\there", "caf\xc3\xa9", "\x7f/x"};
    const int64_t times[] = {1795953600123LL, 1, 0, -5, 86400000LL * 365 * 9000};
    const uint64_t seqs[] = {0, 1, 123, (uint64_t)INT64_MAX, (uint64_t)INT64_MAX + 2, UINT64_MAX};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        for (size_t t = 0; t < sizeof(times) / sizeof(times[0]); t++)
            for (size_t q = 0; q < sizeof(seqs) / sizeof(seqs[0]); q++)
                check_data(json_pack("{s:s,s:i}", "status", "running", "completed", 2), ids[i], times[t], seqs[q]);

    /* the data of every event kind, as its builders make it, and what other modules may add */
    check_data(json_object(), "none", 1, 1);
    check_data(json_pack("{s:[{s:s,s:n,s:s,s:s}],s:{s:I,s:I,s:I}}", "lines", "message", "Generating batch 3...",
                         "timestamp", "source", "GENERATE (3)", "stream", "stdout", "bench", "i", (json_int_t)7, "n",
                         (json_int_t)1000, "t_us", (json_int_t)1795953600123456LL),
               "r0123456789a", 1795953600123LL, 77);
    check_data(json_pack("{s:i,s:i,s:f,s:[{s:s,s:i,s:i,s:i,s:i}],s:{s:i,s:b,s:n,s:f}}", "completed", 3, "total", 11,
                         "percent", 27.272727272727273, "stages", "name", "GENERATE", "completed", 3, "running", 1,
                         "failed", 0, "total", 5, "task", "attempt", 2, "cached", 1, "resumed_from", "cpu_seconds",
                         0.1 + 0.2),
               "r0123456789a", 1795953600123LL, 78);
    const double reals[] = {0.0, -0.0, 1.0, -1.5, 0.1, 1e300, -1e-300, 123456789012345.678, 2.5e-7, 1.0 / 3.0};
    for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++)
        check_data(json_pack("{s:f}", "x", reals[i]), "none", 1, 2);
    check_data(json_pack("{s:I,s:I,s:I}", "a", (json_int_t)INT64_MIN, "b", (json_int_t)INT64_MAX, "c", (json_int_t)-1),
               "none", 1, 3);
    check_data(json_pack("{s:s}", "m", "quote \" backslash \\ slash / nl \n cr \r tab \t bs \b ff \f \x01\x1f"), "none",
               1, 4);
    check_data(json_pack("{s:s}", "m", "utf-8: \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 \x7f"), "none", 1, 5);
    check_data(json_pack("{s:s#}", "nul", "a\0b", (int)3), "none", 1, 6);
    check_data(loads("{\"deep\":[[],{},[1,[2,[3.25]]],{\"x\":{\"y\":{}}}]}", 0, NULL), "none", 1, 7);
    check_data(loads("{\"k\\\"q\":1,\"\u00e9t\u00e9\":2,\"\":[]}", 0, NULL), "none", 1, 13);
    /* a key holding a NUL (jansson 2.14 parses none, but json_object_setn_nocheck makes one) */
    json_t *nul_key = json_object();
    json_object_setn_new_nocheck(nul_key, "n\0ul", 4, json_integer(3));
    check_data(nul_key, "none", 1, 15);
    /* deeper than the direct writer goes: jansson takes over below */
    json_t *deep = json_object(), *at = deep;
    for (int i = 0; i < 300; i++) {
        json_t *next = i % 2 ? json_object() : json_array();
        if (json_is_object(at))
            json_object_set_new(at, "d", next);
        else
            json_array_append_new(at, next);
        at = next;
    }
    check_data(deep, "none", 1, 14);
    /* data that is not an object: the jansson path accepted any value */
    check_data(json_pack("[i,s,n,b,f]", 1, "two", 1, 4.5), "none", 1, 8);
    check_data(json_string("just a string"), "none", 1, 9);
    check_data(json_null(), "none", 1, 10);
    check_data(json_true(), "none", 1, 11);
    check_data(json_integer(42), "none", 1, 12);
    /* sizes around the frame header's steps (125/126, 65535/65536 bytes of payload) and far beyond */
    const size_t sizes[] = {0, 10, 40, 50, 60, 65400, 65450, 65470, 65500, 70000, 300000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        for (size_t d = 0; d < 4; d++) {
            char *pad = repeat('x', sizes[i] + d);
            check_data(json_pack("{s:s}", "m", pad), "none", 1795953600123LL, 100 + d);
            free(pad);
        }
}

/* Which of the envelope's payloads fall around the header steps: make sure the corpus above reaches them. */
static void test_corpus_reaches_header_steps(void **state)
{
    (void)state;
    int small = 0, medium = 0, large = 0;
    for (size_t n = 0; n < 70000; n += n < 200 ? 1 : 997) {
        char *pad = repeat('y', n);
        json_t *data = json_pack("{s:s}", "m", pad);
        event_t ev = {.type = EVENT_LOG, .seq = 5, .ts_ms = 0, .data = data};
        memcpy(ev.run_id, "none", 5);
        ws_frame_t *f = ws_frame_build(WS_OP_TEXT, produce, &ev, 0, 5);
        assert_non_null(f);
        size_t payload = f->len - (f->data[1] == 126 ? 4 : f->data[1] == 127 ? 10 : 2);
        small += payload < 126;
        medium += payload >= 126 && payload <= 65535;
        large += payload > 65535;
        if (n < 200 || n > 65000)
            assert_same(&ev);
        ws_frame_unref(f);
        json_decref(data);
        free(pad);
    }
    assert_true(small > 0 && medium > 0 && large > 0);
}

/* A byte of every class at every position of strings of 1..24 bytes (the writer looks at 8 bytes at a time). */
static void test_every_byte_position(void **state)
{
    (void)state;
    const unsigned char bytes[] = {'"', '\\', '\n', 0x01, 0x1f, 0x20, 0x21, 0x22, 0x5b, 0x5c, 0x5d,
                                   0x7e, 0x7f, '/', 'x', 0xc3 /* with 0xa9 after it: é */};
    for (size_t len = 1; len <= 24; len++)
        for (size_t pos = 0; pos < len; pos++)
            for (size_t b = 0; b < sizeof(bytes); b++) {
                char text[32];
                memset(text, 'a', len);
                text[len] = '\0';
                text[pos] = (char)bytes[b];
                if (bytes[b] == 0xc3) {
                    if (pos + 1 == len)
                        continue;
                    text[pos + 1] = (char)0xa9;
                }
                json_t *data = json_object();
                json_object_set_new(data, "m", json_string(text));
                json_object_set_new(data, text, json_true()); /* as a key too */
                check_data(data, pos % 2 ? text : "none", 1, len);
            }
}

/* Encoding failures: the jansson path gave nothing, so does this one. */
static void test_failures(void **state)
{
    (void)state;
    event_t ev = {.type = EVENT_LOG, .seq = 1, .ts_ms = 1, .data = NULL};
    memcpy(ev.run_id, "none", 5);
    assert_null(event_to_json(&ev, NULL));
    assert_null(ws_frame_build(WS_OP_TEXT, produce, &ev, 0, 1));
    ev.data = json_object();
    memcpy(ev.run_id, "bad\xff", 5); /* not UTF-8 */
    assert_same(&ev);
    assert_null(event_to_json(&ev, NULL));
    json_decref(ev.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_corpus_reaches_header_steps),
        cmocka_unit_test(test_every_byte_position),
        cmocka_unit_test(test_failures),
    };
    return cmocka_run_group_tests_name("event_wire", tests, NULL, NULL);
}
