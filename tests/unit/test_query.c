/* Unit tests for src/http/query.{h,c}: finding a parameter in a query string and percent-decoding it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "http/query.h"

/* query_get on a NUL-terminated query; the value lands in `out` (capacity 64). */
static int get(const char *query, const char *name, char out[64])
{
    memset(out, '#', 64);
    return query_get(query, strlen(query), name, out, 64);
}

static void want_value(const char *query, const char *name, const char *expected)
{
    char out[64];
    int rc = get(query, name, out);
    if (rc != 1)
        print_error("query_get(\"%s\", \"%s\") = %d\n", query, name, rc);
    assert_int_equal(rc, 1);
    assert_string_equal(out, expected);
}

static void want_absent(const char *query, const char *name)
{
    char out[64];
    int rc = get(query, name, out);
    if (rc != 0)
        print_error("query_get(\"%s\", \"%s\") = %d\n", query, name, rc);
    assert_int_equal(rc, 0);
}

static void want_malformed(const char *query, const char *name)
{
    char out[64];
    int rc = get(query, name, out);
    if (rc != -1)
        print_error("query_get(\"%s\", \"%s\") = %d\n", query, name, rc);
    assert_int_equal(rc, -1);
}

static void test_find(void **state)
{
    (void)state;
    want_value("limit=5", "limit", "5");
    want_value("a=1&limit=20&b=2", "limit", "20");
    want_value("a=1&b=2", "a", "1");
    want_value("a=1&b=2", "b", "2");
    /* the first match wins */
    want_value("limit=3&limit=4", "limit", "3");
    /* values may contain '=' */
    want_value("token=a=b=c", "token", "a=b=c");
    /* empty pieces are skipped */
    want_value("&&limit=7&", "limit", "7");
}

static void test_absent(void **state)
{
    (void)state;
    want_absent("", "limit");
    want_absent("a=1&b=2", "limit");
    want_absent("limits=1", "limit");
    want_absent("xlimit=1", "limit");
    want_absent("LIMIT=1", "limit");
    want_absent("&", "limit");
    want_absent("=5", "limit");
    char out[8] = "keep";
    assert_int_equal(query_get("limit=1", 0, "limit", out, sizeof(out)), 0); /* an empty query */
}

static void test_prefix_keys(void **state)
{
    (void)state;
    /* a key that is a prefix of another, in both orders */
    want_value("since_seq=9&since=3", "since", "3");
    want_value("since=3&since_seq=9", "since_seq", "9");
    want_value("a=x&ab=y&abc=z", "ab", "y");
    want_value("abc=z&ab=y&a=x", "a", "x");
    want_absent("abc=z&ab=y", "a");
}

static void test_empty_value(void **state)
{
    (void)state;
    want_value("limit=", "limit", "");
    want_value("limit=&b=2", "limit", "");
    want_value("limit", "limit", ""); /* a key without '=' */
    want_value("a=1&limit", "limit", "");
}

static void test_decoding(void **state)
{
    (void)state;
    want_value("q=a%20b", "q", "a b");
    want_value("q=a+b", "q", "a b");
    want_value("q=%2B1", "q", "+1");
    want_value("q=%2b1", "q", "+1"); /* lower-case hex */
    want_value("q=%26%3D", "q", "&=");
    want_value("q=%C3%A9t%C3%A9", "q", "\xc3\xa9t\xc3\xa9");
    want_value("q=100%25", "q", "100%");
    want_value("q=%41%42%43", "q", "ABC");
    /* a key may be encoded too */
    want_value("lim%69t=5", "limit", "5");
    want_value("batch+count=2", "batch count", "2");
}

static void test_bad_escapes(void **state)
{
    (void)state;
    want_malformed("q=%", "q");
    want_malformed("q=%4", "q");
    want_malformed("q=abc%", "q");
    want_malformed("q=%zz", "q");
    want_malformed("q=%g0", "q");
    want_malformed("q=%0g", "q");
    want_malformed("q=% 1", "q");
    want_malformed("q=%00", "q");
    want_malformed("q=a%00b", "q");
    want_malformed("q=%4&r=1", "q"); /* the escape does not run into the next parameter */
    /* another parameter's bad escape does not matter */
    want_value("r=%zz&q=1", "q", "1");
    want_value("q=1&r=%", "q", "1");
}

static void test_length_bounds(void **state)
{
    (void)state;
    char out[8];
    /* the query's length bounds it: bytes past `len` are not read */
    const char *q = "limit=12345&x=1";
    assert_int_equal(query_get(q, 8, "limit", out, sizeof(out)), 1);
    assert_string_equal(out, "12");
    assert_int_equal(query_get(q, 4, "limit", out, sizeof(out)), 0);
    /* a cut escape at the end of `len` is malformed */
    const char *e = "q=%41";
    assert_int_equal(query_get(e, 4, "q", out, sizeof(out)), -1);
    assert_int_equal(query_get(e, 5, "q", out, sizeof(out)), 1);
    assert_string_equal(out, "A");

    /* capacity: 7 characters + NUL fit in 8, 8 do not */
    assert_int_equal(query_get("v=1234567", 9, "v", out, sizeof(out)), 1);
    assert_string_equal(out, "1234567");
    assert_int_equal(query_get("v=12345678", 10, "v", out, sizeof(out)), -1);
    /* the decoded length counts, not the encoded one */
    assert_int_equal(query_get("v=%41%41%41%41%41%41%41", 23, "v", out, sizeof(out)), 1);
    assert_string_equal(out, "AAAAAAA");
    assert_int_equal(query_get("v=%41%41%41%41%41%41%41%41", 26, "v", out, sizeof(out)), -1);

    /* a huge value into a small buffer: -1, no overflow (ASan) */
    size_t n = 100000;
    char *big = malloc(n + 3);
    assert_non_null(big);
    memcpy(big, "v=", 2);
    memset(big + 2, 'z', n);
    big[n + 2] = '\0';
    char small[64];
    assert_int_equal(query_get(big, n + 2, "v", small, sizeof(small)), -1);
    /* a huge key is just another key */
    memcpy(big, "zz", 2);
    big[n + 2 - 5] = '=';
    assert_int_equal(query_get(big, n + 2, "v", small, sizeof(small)), 0);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_absent),
        cmocka_unit_test(test_prefix_keys),
        cmocka_unit_test(test_empty_value),
        cmocka_unit_test(test_decoding),
        cmocka_unit_test(test_bad_escapes),
        cmocka_unit_test(test_length_bounds),
    };
    return cmocka_run_group_tests_name("query", tests, NULL, NULL);
}
