/* Unit tests for src/exec/log_tail.{h,c}: the last lines of a task's output for its failure message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "exec/log_tail.h"

static void add(log_tail_t *t, const char *line)
{
    log_tail_add(t, line, strlen(line));
}

static void test_keeps_the_last_lines_oldest_first(void **state)
{
    (void)state;
    log_tail_t t = {0};
    char out[256];
    assert_int_equal(log_tail_join(&t, out, sizeof(out), ": "), 0);
    assert_string_equal(out, "");
    add(&t, "one");
    add(&t, "");
    add(&t, "two");
    assert_int_equal(log_tail_join(&t, out, sizeof(out), " | "), strlen("one | two"));
    assert_string_equal(out, "one | two");
    add(&t, "three");
    add(&t, "four");
    log_tail_join(&t, out, sizeof(out), ": ");
    assert_string_equal(out, "two: three: four");
    log_tail_clear(&t);
    log_tail_join(&t, out, sizeof(out), ": ");
    assert_string_equal(out, "");
}

static void test_lines_are_valid_utf8_and_bounded(void **state)
{
    (void)state;
    log_tail_t t = {0};
    char big[10000], out[1000];
    memset(big, 'x', sizeof(big));
    log_tail_add(&t, big, sizeof(big));
    assert_int_equal(strlen(t.lines[0]), LOG_TAIL_LINE_MAX - 1);
    log_tail_add(&t, "\xff\xfe ok", 5); /* invalid bytes become U+FFFD */
    assert_string_equal(t.lines[1], "\xef\xbf\xbd\xef\xbf\xbd ok");
    /* "é" is 2 bytes: a line of them cut by the line bound ends between characters */
    char accents[600];
    for (size_t i = 0; i + 1 < sizeof(accents); i += 2)
        memcpy(accents + i, "\xc3\xa9", 2);
    log_tail_add(&t, accents, sizeof(accents) - 1);
    assert_int_equal(strlen(t.lines[2]) % 2, 0);
    /* the join, cut by its buffer inside a character, ends between characters too */
    log_tail_clear(&t);
    log_tail_add(&t, accents, 11);
    char small[6];
    assert_int_equal(log_tail_join(&t, small, sizeof(small), ": "), 4);
    assert_string_equal(small, "\xc3\xa9\xc3\xa9");
    assert_int_equal(log_tail_join(&t, out, 0, ": "), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keeps_the_last_lines_oldest_first),
        cmocka_unit_test(test_lines_are_valid_utf8_and_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
