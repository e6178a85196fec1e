/* Unit tests for the log-line timestamps of src/kube/kube_logs.c (kube_log_split). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "kube/kube.h"

static int split(const char *line, char *ts, char *text)
{
    const char *t, *x;
    size_t tl, xl;
    if (kube_log_split(line, strlen(line), &t, &tl, &x, &xl) != 0)
        return -1;
    memcpy(ts, t, tl);
    ts[tl] = '\0';
    memcpy(text, x, xl);
    text[xl] = '\0';
    return 0;
}

static void test_kubelet_timestamps_are_split_off(void **state)
{
    (void)state;
    char ts[64], text[256];
    assert_int_equal(split("2024-05-01T10:00:00.123456789Z [ab/123456] Submitted process > GENERATE (1)", ts, text), 0);
    assert_string_equal(ts, "2024-05-01T10:00:00.123456789Z");
    assert_string_equal(text, "[ab/123456] Submitted process > GENERATE (1)");
    assert_int_equal(split("2024-05-01T10:00:00Z whole seconds", ts, text), 0);
    assert_string_equal(ts, "2024-05-01T10:00:00Z");
    assert_int_equal(split("2024-05-01T10:00:00.5Z  two spaces", ts, text), 0);
    assert_string_equal(text, " two spaces");
    assert_int_equal(split("2024-05-01T10:00:00.000000000Z ", ts, text), 0);
    assert_string_equal(text, ""); /* an empty line keeps its timestamp */
}

static void test_lines_without_a_timestamp_are_refused(void **state)
{
    (void)state;
    char ts[64], text[256];
    const char *bad[] = {"hello world",
                         "2024-05-01T10:00:00.123456789Z",           /* no space, no text */
                         "2024-05-01 10:00:00.123456789Z text",      /* a space instead of T */
                         "2024-05-01T10:00:00.123456789+02:00 text", /* the kubelet writes UTC */
                         "2024-05-01T10:00:00.1234567890Z text",     /* 10 fractional digits */
                         "2024-05-01T10:00:00.Z text",
                         "2024-5-01T10:00:00Z text",
                         "",
                         "2024-05-01T10:0a:00Z text"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(split(bad[i], ts, text), -1);
}

static void test_bytes_after_the_length_are_not_read(void **state)
{
    (void)state;
    const char *line = "2024-05-01T10:00:00Z abc";
    const char *t, *x;
    size_t tl, xl;
    assert_int_equal(kube_log_split(line, 20, &t, &tl, &x, &xl), -1); /* the space is past the length */
    assert_int_equal(kube_log_split(line, 22, &t, &tl, &x, &xl), 0);
    assert_int_equal(xl, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kubelet_timestamps_are_split_off),
        cmocka_unit_test(test_lines_without_a_timestamp_are_refused),
        cmocka_unit_test(test_bytes_after_the_length_are_not_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
