/* Unit tests for src/exec/line_reader.{h,c}: a byte stream cut into bounded lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "exec/line_reader.h"

#define MARK LINE_READER_CUT_MARK
#define MARK_LEN (sizeof(MARK) - 1)

/* Every line handed over, copied. */
typedef struct collected {
    char *lines[64];
    size_t lens[64];
    int count;
} collected_t;

static void collect(void *ctx, const char *line, size_t len)
{
    collected_t *c = ctx;
    assert_true(c->count < 64);
    assert_true(len <= LINE_READER_MAX + MARK_LEN);
    c->lines[c->count] = malloc(len + 1);
    assert_non_null(c->lines[c->count]);
    memcpy(c->lines[c->count], line, len);
    c->lines[c->count][len] = '\0';
    c->lens[c->count] = len;
    c->count++;
}

static void clear(collected_t *c)
{
    for (int i = 0; i < c->count; i++)
        free(c->lines[i]);
    memset(c, 0, sizeof(*c));
}

static line_reader_t *new_reader(void)
{
    line_reader_t *lr = calloc(1, sizeof(*lr)); /* zeroed, as an embedding struct would be */
    assert_non_null(lr);
    return lr;
}

static void feed_str(line_reader_t *lr, const char *s, collected_t *c) { line_reader_feed(lr, s, strlen(s), collect, c); }

static void assert_line(const collected_t *c, int i, const char *expected)
{
    assert_true(i < c->count);
    assert_int_equal(c->lens[i], strlen(expected));
    assert_memory_equal(c->lines[i], expected, strlen(expected));
}

static void test_single_and_multiple(void **state)
{
    (void)state;
    line_reader_t *lr = new_reader();
    collected_t c = {0};
    feed_str(lr, "hello\n", &c);
    assert_int_equal(c.count, 1);
    assert_line(&c, 0, "hello");
    feed_str(lr, "one\ntwo\nthree\n", &c);
    assert_int_equal(c.count, 4);
    assert_line(&c, 1, "one");
    assert_line(&c, 2, "two");
    assert_line(&c, 3, "three");
    line_reader_finish(lr, collect, &c);
    assert_int_equal(c.count, 4); /* nothing pending */
    clear(&c);
    free(lr);
}

static void test_split_across_feeds(void **state)
{
    (void)state;
    line_reader_t *lr = new_reader();
    collected_t c = {0};
    feed_str(lr, "Gener", &c);
    assert_int_equal(c.count, 0);
    feed_str(lr, "ating batch", &c);
    assert_int_equal(c.count, 0);
    feed_str(lr, " 3...\nAnal", &c);
    assert_int_equal(c.count, 1);
    assert_line(&c, 0, "Generating batch 3...");
    feed_str(lr, "yzing\n", &c);
    assert_int_equal(c.count, 2);
    assert_line(&c, 1, "Analyzing");
    clear(&c);

    /* byte by byte */
    const char *text = "alpha\nbeta\n\ngamma\n";
    for (size_t i = 0; i < strlen(text); i++)
        line_reader_feed(lr, text + i, 1, collect, &c);
    assert_int_equal(c.count, 4);
    assert_line(&c, 0, "alpha");
    assert_line(&c, 1, "beta");
    assert_line(&c, 2, "");
    assert_line(&c, 3, "gamma");
    clear(&c);

    /* a feed of zero bytes does nothing */
    line_reader_feed(lr, "x", 0, collect, &c);
    assert_int_equal(c.count, 0);
    line_reader_finish(lr, collect, &c);
    assert_int_equal(c.count, 0);
    free(lr);
}

static void test_empty_lines_and_crlf(void **state)
{
    (void)state;
    line_reader_t *lr = new_reader();
    collected_t c = {0};
    feed_str(lr, "\n\n\n", &c);
    assert_int_equal(c.count, 3);
    for (int i = 0; i < 3; i++)
        assert_line(&c, i, "");
    clear(&c);

    /* the reader does not strip '\r' (the sanitizer does) */
    feed_str(lr, "windows\r\n\r\nmid\rdle\r\n", &c);
    assert_int_equal(c.count, 3);
    assert_line(&c, 0, "windows\r");
    assert_line(&c, 1, "\r");
    assert_line(&c, 2, "mid\rdle\r");
    clear(&c);

    /* NUL bytes are data, not terminators */
    line_reader_feed(lr, "a\0b\n", 4, collect, &c);
    assert_int_equal(c.count, 1);
    assert_int_equal(c.lens[0], 3);
    assert_memory_equal(c.lines[0], "a\0b", 3);
    clear(&c);
    free(lr);
}

static void test_finish_flushes_last_line(void **state)
{
    (void)state;
    line_reader_t *lr = new_reader();
    collected_t c = {0};
    feed_str(lr, "first\nno newline at the end", &c);
    assert_int_equal(c.count, 1);
    line_reader_finish(lr, collect, &c);
    assert_int_equal(c.count, 2);
    assert_line(&c, 1, "no newline at the end");
    /* finish resets: a second finish gives nothing, the reader can be reused */
    line_reader_finish(lr, collect, &c);
    assert_int_equal(c.count, 2);
    feed_str(lr, "again\n", &c);
    assert_int_equal(c.count, 3);
    assert_line(&c, 2, "again");
    clear(&c);
    free(lr);
}

/* Checks a cut line: the first LINE_READER_MAX original bytes, then the mark. */
static void assert_cut(const collected_t *c, int i, char fill)
{
    size_t len = c->lens[i];
    assert_int_equal(len, LINE_READER_MAX + MARK_LEN); /* the first LINE_READER_MAX bytes, then the mark */
    assert_memory_equal(c->lines[i] + len - MARK_LEN, MARK, MARK_LEN);
    for (size_t k = 0; k < len - MARK_LEN; k++)
        if (c->lines[i][k] != fill) {
            print_error("byte %zu is 0x%02x, expected '%c'\n", k, (unsigned char)c->lines[i][k], fill);
            fail();
        }
}

static void test_long_line_cut_in_one_feed(void **state)
{
    (void)state;
    line_reader_t *lr = new_reader();
    collected_t c = {0};
    size_t n = 3 * LINE_READER_MAX;
    char *data = malloc(n + 32);
    assert_non_null(data);
    memset(data, 'x', n);
    memcpy(data + n, "\nnext line\n", 12);
    line_reader_feed(lr, data, n + 11, collect, &c);
    assert_int_equal(c.count, 2);
    assert_cut(&c, 0, 'x');
    assert_line(&c, 1, "next line");
    clear(&c);
    free(data);
    free(lr);
}

static void test_long_line_cut_across_feeds(void **state)
{
    (void)state;
    line_reader_t *lr = new_reader();
    collected_t c = {0};
    char chunk[1000];
    memset(chunk, 'y', sizeof(chunk));
    /* 20 KB of one line in 1000-byte feeds: cut once, the rest dropped */
    for (int i = 0; i < 20; i++)
        line_reader_feed(lr, chunk, sizeof(chunk), collect, &c);
    assert_int_equal(c.count, 1);
    assert_cut(&c, 0, 'y');
    /* the end of the long line and the next line in one feed */
    feed_str(lr, "yyyy tail of the long line\nintact\n", &c);
    assert_int_equal(c.count, 2);
    assert_line(&c, 1, "intact");
    /* a long line without '\n' at the end of the stream: nothing more after the cut */
    for (int i = 0; i < 10; i++)
        line_reader_feed(lr, chunk, sizeof(chunk), collect, &c);
    assert_int_equal(c.count, 3);
    assert_cut(&c, 2, 'y');
    line_reader_finish(lr, collect, &c);
    assert_int_equal(c.count, 3);
    /* and the reader is clean afterwards */
    feed_str(lr, "fresh\n", &c);
    assert_int_equal(c.count, 4);
    assert_line(&c, 3, "fresh");
    clear(&c);
    free(lr);
}

static void test_line_of_exactly_max(void **state)
{
    (void)state;
    /* "longer lines are cut": a line of exactly LINE_READER_MAX bytes is not longer, it arrives whole */
    line_reader_t *lr = new_reader();
    collected_t c = {0};
    char *data = malloc(LINE_READER_MAX + 1);
    assert_non_null(data);
    memset(data, 'z', LINE_READER_MAX);
    data[LINE_READER_MAX] = '\n';
    line_reader_feed(lr, data, LINE_READER_MAX + 1, collect, &c);
    int count = c.count;
    size_t len = count > 0 ? c.lens[0] : 0;
    int same = count > 0 && len == LINE_READER_MAX && memcmp(c.lines[0], data, LINE_READER_MAX) == 0;
    clear(&c); /* freed before asserting: a failure reports no leak */
    free(data);
    free(lr);
    assert_int_equal(count, 1);
    assert_int_equal(len, LINE_READER_MAX);
    assert_true(same);
}

static void test_line_just_under_max(void **state)
{
    (void)state;
    /* a line well within the bound, fed in two parts, arrives whole */
    line_reader_t *lr = new_reader();
    collected_t c = {0};
    size_t n = LINE_READER_MAX - 100;
    char *data = malloc(n + 1);
    assert_non_null(data);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)('a' + i % 26);
    data[n] = '\n';
    line_reader_feed(lr, data, n / 2, collect, &c);
    line_reader_feed(lr, data + n / 2, n + 1 - n / 2, collect, &c);
    assert_int_equal(c.count, 1);
    assert_int_equal(c.lens[0], n);
    assert_memory_equal(c.lines[0], data, n);
    clear(&c);
    free(data);
    free(lr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_and_multiple),
        cmocka_unit_test(test_split_across_feeds),
        cmocka_unit_test(test_empty_lines_and_crlf),
        cmocka_unit_test(test_finish_flushes_last_line),
        cmocka_unit_test(test_long_line_cut_in_one_feed),
        cmocka_unit_test(test_long_line_cut_across_feeds),
        cmocka_unit_test(test_line_of_exactly_max),
        cmocka_unit_test(test_line_just_under_max),
    };
    return cmocka_run_group_tests_name("line_reader", tests, NULL, NULL);
}
