/*
 * Unit tests for src/core/log_batch.{h,c}: log lines gathered into `log` messages of at most LOG_BATCH_LINES lines
 * on a libuv loop, paced, with a bounded buffer whose overflow is dropped and reported by an "orchestrator" line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log_batch.h"
#include "model/run.h"

#define MAX_MESSAGES 4096

/* What the flush callback received. */
typedef struct sink {
    json_t *messages[MAX_MESSAGES]; /* each an array of line objects (owned) */
    int count;
} sink_t;

typedef struct fixture {
    uv_loop_t loop;
    log_batch_t lb;
    sink_t sink;
    int closed;
} fixture_t;

static void on_flush(void *ctx, json_t *lines)
{
    sink_t *s = ctx;
    assert_true(json_is_array(lines));
    assert_true(json_array_size(lines) > 0);                /* never an empty message */
    assert_true(json_array_size(lines) <= LOG_BATCH_LINES); /* never more than 50 lines */
    assert_true(s->count < MAX_MESSAGES);
    s->messages[s->count++] = lines; /* stolen */
}

static void on_closed(uv_handle_t *h)
{
    fixture_t *f = (fixture_t *)((char *)h - offsetof(fixture_t, lb) - offsetof(log_batch_t, timer));
    f->closed = 1;
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    if (f == NULL || uv_loop_init(&f->loop) != 0)
        return -1;
    log_batch_init(&f->lb, &f->loop, on_flush, &f->sink);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    log_batch_close(&f->lb, on_closed);
    while (!f->closed)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&f->loop);
    for (int i = 0; i < f->sink.count; i++)
        json_decref(f->sink.messages[i]);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* A log line "line <i>", followed by `pad` bytes of padding to make it big. */
static json_t *line_padded(int i, size_t pad)
{
    char *msg = malloc(32 + pad);
    assert_non_null(msg);
    int n = snprintf(msg, 32, "line %d", i);
    if (pad > 0) {
        msg[n] = ' ';
        memset(msg + n + 1, 'p', pad - 1);
        msg[n + pad] = '\0';
    }
    run_log_line_t l = {.message = msg, .source = "GENERATE (1)", .is_stderr = i % 2, .ts_ms = 1795953600123LL + i};
    json_t *o = run_log_line_json(&l);
    free(msg);
    return o;
}

static json_t *line(int i) { return line_padded(i, 0); }

static const char *message_of_line(json_t *l) { return json_string_value(json_object_get(l, "message")); }
static const char *source_of_line(json_t *l) { return json_string_value(json_object_get(l, "source")); }

/* The index of a "line <i>..." message, or -1 for another line. */
static int index_of(json_t *l)
{
    int i;
    const char *m = message_of_line(l);
    if (m == NULL || strcmp(source_of_line(l), "GENERATE (1)") != 0 || sscanf(m, "line %d", &i) != 1)
        return -1;
    return i;
}

/* Checks that the messages [from_msg, to_msg) carry exactly "line first" .. "line first+n-1", in order. */
static void assert_sequence(const sink_t *s, int from_msg, int to_msg, int first, int n)
{
    int k = first;
    for (int m = from_msg; m < to_msg; m++)
        for (size_t i = 0; i < json_array_size(s->messages[m]); i++)
            assert_int_equal(index_of(json_array_get(s->messages[m], i)), k++);
    assert_int_equal(k - first, n);
}

static int lines_delivered(const sink_t *s)
{
    int n = 0;
    for (int m = 0; m < s->count; m++)
        n += (int)json_array_size(s->messages[m]);
    return n;
}

/* ---- batching ------------------------------------------------------------------------------------------------- */

static void test_fifty_flush_at_once(void **state)
{
    fixture_t *f = *state;
    for (int i = 0; i < LOG_BATCH_LINES - 1; i++)
        assert_int_equal(log_batch_add(&f->lb, line(i)), 0);
    assert_int_equal(f->sink.count, 0);
    assert_int_equal(log_batch_add(&f->lb, line(LOG_BATCH_LINES - 1)), 0);
    /* the 50th line sends the message right away, without running the loop */
    assert_int_equal(f->sink.count, 1);
    assert_int_equal(json_array_size(f->sink.messages[0]), LOG_BATCH_LINES);
    assert_sequence(&f->sink, 0, 1, 0, LOG_BATCH_LINES);
    /* the line objects are passed through as given */
    json_t *l3 = json_array_get(f->sink.messages[0], 3);
    assert_string_equal(source_of_line(l3), "GENERATE (1)");
    assert_string_equal(json_string_value(json_object_get(l3, "stream")), "stderr");
    assert_string_equal(json_string_value(json_object_get(l3, "timestamp")), "2026-11-29T12:00:00.126Z");
    /* the timer finds nothing more to send */
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(f->sink.count, 1);
}

static void test_ten_lines_after_timer(void **state)
{
    fixture_t *f = *state;
    for (int i = 0; i < 10; i++)
        assert_int_equal(log_batch_add(&f->lb, line(i)), 0);
    assert_int_equal(f->sink.count, 0);
    uv_run(&f->loop, UV_RUN_NOWAIT); /* the interval has not passed yet */
    assert_int_equal(f->sink.count, 0);
    uv_run(&f->loop, UV_RUN_DEFAULT); /* returns once the timer has fired and nothing is left */
    assert_int_equal(f->sink.count, 1);
    assert_int_equal(json_array_size(f->sink.messages[0]), 10);
    assert_sequence(&f->sink, 0, 1, 0, 10);
}

static void test_more_than_fifty(void **state)
{
    fixture_t *f = *state;
    for (int i = 0; i < 120; i++)
        assert_int_equal(log_batch_add(&f->lb, line(i)), 0);
    assert_int_equal(f->sink.count, 2);
    assert_int_equal(json_array_size(f->sink.messages[0]), 50);
    assert_int_equal(json_array_size(f->sink.messages[1]), 50);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(f->sink.count, 3);
    assert_int_equal(json_array_size(f->sink.messages[2]), 20);
    assert_sequence(&f->sink, 0, 3, 0, 120);
}

static void test_flush_now(void **state)
{
    fixture_t *f = *state;
    /* nothing pending: nothing sent */
    log_batch_flush(&f->lb);
    assert_int_equal(f->sink.count, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(log_batch_add(&f->lb, line(i)), 0);
    log_batch_flush(&f->lb);
    assert_int_equal(f->sink.count, 1);
    assert_int_equal(json_array_size(f->sink.messages[0]), 3);
    assert_sequence(&f->sink, 0, 1, 0, 3);
    /* the timer was stopped: the loop has nothing left to do and sends nothing more */
    assert_false(uv_is_active((uv_handle_t *)&f->lb.timer));
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(f->sink.count, 1);
    log_batch_flush(&f->lb);
    assert_int_equal(f->sink.count, 1);
}

static void test_close_with_pending(void **state)
{
    fixture_t *f = *state;
    for (int i = 0; i < 7; i++)
        assert_int_equal(log_batch_add(&f->lb, line(i)), 0);
    /* teardown closes with 7 lines pending: they are dropped (no callback, no leak under ASan) */
    assert_int_equal(f->sink.count, 0);
}

/* ---- volume: a bounded buffer, drops reported ------------------------------------------------------------------ */

enum { FLOOD_LINES = 3000, FLOOD_PAD = 4000 }; /* 12 MB of lines at once: far more than any buffer */

/* Adds the flood; returns how many lines were refused. */
static int flood(fixture_t *f)
{
    int dropped = 0;
    for (int i = 0; i < FLOOD_LINES; i++) {
        int rc = log_batch_add(&f->lb, line_padded(i, FLOOD_PAD));
        assert_true(rc == 0 || rc == -1);
        dropped += rc == -1;
    }
    return dropped;
}

/* Every line of the flood was either delivered (in order, once) or counted as dropped; exactly one note says how
   many were dropped, after every delivered line. */
static void assert_flood_accounted(const sink_t *s, int dropped)
{
    int delivered = 0, last = -1, notes = 0, note_after_all = 1;
    for (int m = 0; m < s->count; m++)
        for (size_t i = 0; i < json_array_size(s->messages[m]); i++) {
            json_t *l = json_array_get(s->messages[m], i);
            int idx = index_of(l);
            if (idx >= 0) {
                assert_true(idx > last); /* in order, no duplicate */
                last = idx;
                delivered++;
                if (notes > 0)
                    note_after_all = 0;
                continue;
            }
            assert_string_equal(source_of_line(l), "orchestrator");
            const char *text = message_of_line(l);
            assert_non_null(text);
            char count[32];
            snprintf(count, sizeof(count), "%d ", dropped);
            if (strncmp(text, count, strlen(count)) != 0 && strstr(text, count) == NULL) {
                print_error("note \"%s\" does not say %d lines were dropped\n", text, dropped);
                fail();
            }
            assert_non_null(strstr(text, "dropped"));
            assert_true(json_is_string(json_object_get(l, "timestamp")));
            notes++;
        }
    assert_int_equal(delivered + dropped, FLOOD_LINES);
    assert_int_equal(notes, 1);
    assert_true(note_after_all);
}

static void test_flood_drops_and_reports(void **state)
{
    fixture_t *f = *state;
    int dropped = flood(f);
    /* the buffer is bounded: most of 12 MB cannot be kept */
    assert_true(dropped > 0);
    assert_true(dropped < FLOOD_LINES);
    int before = lines_delivered(&f->sink);
    assert_true(before < FLOOD_LINES - dropped); /* paced: not everything went out at once */

    /* one interval later some more goes out, but (paced) not all of a full buffer */
    uv_run(&f->loop, UV_RUN_ONCE);
    int after_one_tick = lines_delivered(&f->sink);
    assert_true(after_one_tick > before);
    assert_true(after_one_tick < FLOOD_LINES - dropped); /* a full buffer is two intervals' worth */

    /* in the end everything kept is delivered, and the drop is reported once */
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_flood_accounted(&f->sink, dropped);

    /* afterwards lines flow normally again */
    int count = f->sink.count;
    assert_int_equal(log_batch_add(&f->lb, line(FLOOD_LINES + 1)), 0);
    log_batch_flush(&f->lb);
    assert_int_equal(f->sink.count, count + 1);
    assert_int_equal(json_array_size(f->sink.messages[count]), 1);
    assert_int_equal(index_of(json_array_get(f->sink.messages[count], 0)), FLOOD_LINES + 1);
}

static void test_flood_then_flush(void **state)
{
    fixture_t *f = *state;
    int dropped = flood(f);
    assert_true(dropped > 0);
    /* the end of a run: everything pending goes now, whatever the pace, with the note */
    log_batch_flush(&f->lb);
    assert_flood_accounted(&f->sink, dropped);
    int count = f->sink.count;
    assert_false(uv_is_active((uv_handle_t *)&f->lb.timer));
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(f->sink.count, count);
    /* reported once only */
    log_batch_flush(&f->lb);
    assert_int_equal(f->sink.count, count);
}

/* The lines of a run that ended elsewhere are dropped, never sent later (under the next run's id). */
static void test_discard(void **state)
{
    fixture_t *f = *state;
    for (int i = 0; i < 10; i++)
        assert_int_equal(log_batch_add(&f->lb, line(i)), 0);
    log_batch_discard(&f->lb);
    uv_run(&f->loop, UV_RUN_DEFAULT); /* the timer was stopped: returns at once */
    assert_int_equal(f->sink.count, 0);
    assert_int_equal(log_batch_add(&f->lb, line(100)), 0); /* and it goes on for the next run */
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(f->sink.count, 1);
    assert_sequence(&f->sink, 0, 1, 100, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fifty_flush_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ten_lines_after_timer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_more_than_fifty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_now, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_with_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flood_drops_and_reports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flood_then_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discard, setup, teardown),
    };
    return cmocka_run_group_tests_name("log_batch", tests, NULL, NULL);
}
