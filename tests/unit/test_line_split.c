/* Unit tests for src/util/line_split.{h,c}: bounded lines of a stream (Kubernetes watch events, pod logs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/line_split.h"

typedef struct got {
    char lines[16][64];
    int cut[16];
    int count;
    int stop_after; /* 0: never */
} got_t;

static int collect(void *ctx, const char *line, size_t len, int cut)
{
    got_t *g = ctx;
    assert_true(g->count < 16);
    assert_true(len < 64);
    memcpy(g->lines[g->count], line, len);
    g->lines[g->count][len] = '\0';
    g->cut[g->count] = cut;
    g->count++;
    return g->stop_after && g->count >= g->stop_after ? -1 : 0;
}

static void feed(line_split_t *ls, const char *s, got_t *g)
{
    assert_int_equal(line_split_feed(ls, s, strlen(s), collect, g), 0);
}

static void test_lines_across_chunks(void **state)
{
    (void)state;
    line_split_t ls;
    got_t g = {0};
    line_split_init(&ls, 32);
    feed(&ls, "{\"type\":\"ADD", &g);
    assert_int_equal(g.count, 0);
    feed(&ls, "ED\"}\n{\"b\":1}\r\n\n{\"c\"", &g);
    assert_int_equal(g.count, 3);
    assert_string_equal(g.lines[0], "{\"type\":\"ADDED\"}");
    assert_string_equal(g.lines[1], "{\"b\":1}"); /* a CR before the LF is dropped */
    assert_string_equal(g.lines[2], "");
    assert_int_equal(line_split_finish(&ls, collect, &g), 0);
    assert_int_equal(g.count, 4);
    assert_string_equal(g.lines[3], "{\"c\"");
    line_split_dispose(&ls);
}

static void test_a_line_over_the_bound_is_cut_once_and_the_rest_dropped(void **state)
{
    (void)state;
    line_split_t ls;
    got_t g = {0};
    line_split_init(&ls, 8);
    feed(&ls, "12345678", &g); /* exactly the bound: not cut yet */
    assert_int_equal(g.count, 0);
    feed(&ls, "9abc", &g);
    assert_int_equal(g.count, 1);
    assert_string_equal(g.lines[0], "12345678");
    assert_int_equal(g.cut[0], 1);
    feed(&ls, "defghijklmnop", &g); /* still the same over-long line: dropped */
    assert_int_equal(g.count, 1);
    feed(&ls, "qrs\nok\n", &g);
    assert_int_equal(g.count, 2);
    assert_string_equal(g.lines[1], "ok");
    assert_int_equal(g.cut[1], 0);
    feed(&ls, "12345678\n", &g); /* exactly the bound, then its end: whole */
    assert_string_equal(g.lines[2], "12345678");
    assert_int_equal(g.cut[2], 0);
    assert_true(ls.cap <= 8); /* the buffer never grows past the bound */
    line_split_dispose(&ls);
}

static void test_the_callback_can_stop_the_feed(void **state)
{
    (void)state;
    line_split_t ls;
    got_t g = {.stop_after = 1};
    line_split_init(&ls, 64);
    assert_int_equal(line_split_feed(&ls, "a\nb\nc\n", 6, collect, &g), -1);
    assert_int_equal(g.count, 1);
    line_split_reset(&ls);
    g.stop_after = 0;
    feed(&ls, "x\n", &g);
    assert_string_equal(g.lines[1], "x");
    line_split_dispose(&ls);
}

static void test_reset_forgets_a_partial_line(void **state)
{
    (void)state;
    line_split_t ls;
    got_t g = {0};
    line_split_init(&ls, 64);
    feed(&ls, "half a li", &g);
    line_split_reset(&ls);
    feed(&ls, "whole\n", &g);
    assert_int_equal(g.count, 1);
    assert_string_equal(g.lines[0], "whole");
    assert_int_equal(line_split_finish(&ls, collect, &g), 0);
    assert_int_equal(g.count, 1);
    line_split_dispose(&ls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_across_chunks),
        cmocka_unit_test(test_a_line_over_the_bound_is_cut_once_and_the_rest_dropped),
        cmocka_unit_test(test_the_callback_can_stop_the_feed),
        cmocka_unit_test(test_reset_forgets_a_partial_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
