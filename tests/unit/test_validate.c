/* Unit tests for src/http/validate.{h,c}: the POST /run body and integer query parameters (FastAPI-style details). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "http/validate.h"

static const validate_limits_t limits = {.default_batch_count = 5, .max_batch_count = 12, .default_rows_per_batch = 100};

#define TB_CAP (4 * TRIGGERED_BY_MAX + 1)

typedef struct body_result {
    int rc;
    run_params_t params;
    char tb[TB_CAP];
    json_t *errors;
} body_result_t;

static void run_body_len(body_result_t *r, const char *body, size_t len, const validate_limits_t *lim)
{
    memset(r, 0, sizeof(*r));
    r->params = (run_params_t){.batch_count = -7, .rows_per_batch = -7, .seed = 7, .triggered_by = "sentinel"};
    r->errors = json_array();
    r->rc = validate_run_body(body, len, lim, &r->params, r->tb, sizeof(r->tb), r->errors);
}

static void run_body(body_result_t *r, const char *body) { run_body_len(r, body, strlen(body), &limits); }

static void done(body_result_t *r) { json_decref(r->errors); }

/* Asserts one detail: loc [where] or [where, field], and exactly msg and type (msg NULL: not checked; a msg ending
   in '*' is a prefix). */
static void assert_detail(json_t *d, const char *where, const char *field, const char *msg, const char *type)
{
    assert_true(json_is_object(d));
    assert_int_equal(json_object_size(d), 3);
    json_t *loc = json_object_get(d, "loc");
    assert_true(json_is_array(loc));
    assert_int_equal(json_array_size(loc), field ? 2 : 1);
    assert_string_equal(json_string_value(json_array_get(loc, 0)), where);
    if (field)
        assert_string_equal(json_string_value(json_array_get(loc, 1)), field);
    const char *m = json_string_value(json_object_get(d, "msg"));
    assert_non_null(m);
    if (msg) {
        size_t n = strlen(msg);
        if (n > 0 && msg[n - 1] == '*')
            assert_int_equal(strncmp(m, msg, n - 1), 0);
        else
            assert_string_equal(m, msg);
    }
    assert_string_equal(json_string_value(json_object_get(d, "type")), type);
}

/* The one error a body produced. */
static void assert_single_error(body_result_t *r, const char *field, const char *msg, const char *type)
{
    assert_int_equal(r->rc, -1);
    assert_int_equal(json_array_size(r->errors), 1);
    assert_detail(json_array_get(r->errors, 0), "body", field, msg, type);
    /* nothing filled on failure */
    assert_int_equal(r->params.batch_count, -7);
    assert_int_equal(r->params.rows_per_batch, -7);
}

static void assert_defaults(body_result_t *r)
{
    assert_int_equal(r->rc, 0);
    assert_int_equal(json_array_size(r->errors), 0);
    assert_int_equal(r->params.batch_count, 5);
    assert_int_equal(r->params.rows_per_batch, 100);
    assert_int_equal(r->params.seed, 42);
    assert_null(r->params.triggered_by);
}

#define INT_TYPE_MSG "Input should be a valid integer"
#define GE_MSG(n) "Input should be greater than or equal to " #n
#define LE_MSG(n) "Input should be less than or equal to " #n

/* ---- the body: defaults and valid values --------------------------------------------------------------------- */

static void test_body_empty(void **state)
{
    (void)state;
    body_result_t r;
    run_body(&r, "");
    assert_defaults(&r);
    done(&r);
    run_body(&r, " \t\r\n  ");
    assert_defaults(&r);
    done(&r);
    run_body(&r, "{}");
    assert_defaults(&r);
    done(&r);
    run_body(&r, "  { }\n");
    assert_defaults(&r);
    done(&r);
    run_body_len(&r, NULL, 0, &limits); /* h2o gives no buffer for no body */
    assert_defaults(&r);
    done(&r);
}

static void test_body_full(void **state)
{
    (void)state;
    body_result_t r;
    run_body(&r, "{\"batch_count\":12,\"triggered_by\":\"visitor\",\"rows_per_batch\":1000000,\"seed\":4294967295}");
    assert_int_equal(r.rc, 0);
    assert_int_equal(json_array_size(r.errors), 0);
    assert_int_equal(r.params.batch_count, 12);
    assert_int_equal(r.params.rows_per_batch, 1000000);
    assert_int_equal(r.params.seed, 4294967295u);
    assert_non_null(r.params.triggered_by);
    assert_string_equal(r.params.triggered_by, "visitor");
    assert_ptr_equal(r.params.triggered_by, r.tb); /* points into the caller's buffer */
    done(&r);

    run_body(&r, "{\"batch_count\":1,\"rows_per_batch\":1,\"seed\":0,\"triggered_by\":\"\"}");
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.params.batch_count, 1);
    assert_int_equal(r.params.rows_per_batch, 1);
    assert_int_equal(r.params.seed, 0);
    assert_string_equal(r.params.triggered_by, "");
    done(&r);

    /* some fields only: the others take their defaults */
    run_body(&r, "{\"batch_count\":3}");
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.params.batch_count, 3);
    assert_int_equal(r.params.rows_per_batch, 100);
    assert_int_equal(r.params.seed, 42);
    assert_null(r.params.triggered_by);
    done(&r);
}

static void test_body_unknown_fields_ignored(void **state)
{
    (void)state;
    body_result_t r;
    run_body(&r, "{\"batch_count\":2,\"color\":\"blue\",\"nested\":{\"a\":[1,2,{\"b\":null}]},\"BATCH_COUNT\":99}");
    assert_int_equal(r.rc, 0);
    assert_int_equal(json_array_size(r.errors), 0);
    assert_int_equal(r.params.batch_count, 2);
    done(&r);
}

static void test_body_configured_limits(void **state)
{
    (void)state;
    validate_limits_t small = {.default_batch_count = 2, .max_batch_count = 8, .default_rows_per_batch = 10};
    body_result_t r;
    run_body_len(&r, "", 0, &small);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.params.batch_count, 2);
    assert_int_equal(r.params.rows_per_batch, 10);
    done(&r);
    const char *b = "{\"batch_count\":9}";
    run_body_len(&r, b, strlen(b), &small);
    assert_single_error(&r, "batch_count", LE_MSG(8), "less_than_equal");
    done(&r);
    b = "{\"batch_count\":8}";
    run_body_len(&r, b, strlen(b), &small);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.params.batch_count, 8);
    done(&r);
}

/* ---- the body: bad values ------------------------------------------------------------------------------------ */

static void test_body_batch_count(void **state)
{
    (void)state;
    body_result_t r;
    run_body(&r, "{\"batch_count\":0}");
    assert_single_error(&r, "batch_count", GE_MSG(1), "greater_than_equal");
    done(&r);
    run_body(&r, "{\"batch_count\":-3}");
    assert_single_error(&r, "batch_count", GE_MSG(1), "greater_than_equal");
    done(&r);
    run_body(&r, "{\"batch_count\":13}");
    assert_single_error(&r, "batch_count", LE_MSG(12), "less_than_equal");
    done(&r);
    run_body(&r, "{\"batch_count\":\"5\"}");
    assert_single_error(&r, "batch_count", INT_TYPE_MSG, "int_type");
    done(&r);
    run_body(&r, "{\"batch_count\":5.0}");
    assert_single_error(&r, "batch_count", INT_TYPE_MSG, "int_type");
    done(&r);
    run_body(&r, "{\"batch_count\":5.5}");
    assert_single_error(&r, "batch_count", INT_TYPE_MSG, "int_type");
    done(&r);
    run_body(&r, "{\"batch_count\":true}");
    assert_single_error(&r, "batch_count", INT_TYPE_MSG, "int_type");
    done(&r);
    run_body(&r, "{\"batch_count\":false}");
    assert_single_error(&r, "batch_count", INT_TYPE_MSG, "int_type");
    done(&r);
    run_body(&r, "{\"batch_count\":[5]}");
    assert_single_error(&r, "batch_count", INT_TYPE_MSG, "int_type");
    done(&r);
    run_body(&r, "{\"batch_count\":{}}");
    assert_single_error(&r, "batch_count", INT_TYPE_MSG, "int_type");
    done(&r);
    /* a huge integer does not wrap around into range */
    run_body(&r, "{\"batch_count\":4294967301}");
    assert_single_error(&r, "batch_count", LE_MSG(12), "less_than_equal");
    done(&r);
    /* null is the default */
    run_body(&r, "{\"batch_count\":null}");
    assert_defaults(&r);
    done(&r);
}

static void test_body_rows_and_seed(void **state)
{
    (void)state;
    body_result_t r;
    run_body(&r, "{\"rows_per_batch\":0}");
    assert_single_error(&r, "rows_per_batch", GE_MSG(1), "greater_than_equal");
    done(&r);
    run_body(&r, "{\"rows_per_batch\":1000001}");
    assert_single_error(&r, "rows_per_batch", LE_MSG(1000000), "less_than_equal");
    done(&r);
    run_body(&r, "{\"rows_per_batch\":\"100\"}");
    assert_single_error(&r, "rows_per_batch", INT_TYPE_MSG, "int_type");
    done(&r);
    run_body(&r, "{\"seed\":-1}");
    assert_single_error(&r, "seed", GE_MSG(0), "greater_than_equal");
    done(&r);
    run_body(&r, "{\"seed\":4294967296}");
    assert_single_error(&r, "seed", LE_MSG(4294967295), "less_than_equal");
    done(&r);
    run_body(&r, "{\"seed\":1.5}");
    assert_single_error(&r, "seed", INT_TYPE_MSG, "int_type");
    done(&r);
    run_body(&r, "{\"seed\":4294967295}");
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.params.seed, 4294967295u);
    done(&r);
    run_body(&r, "{\"seed\":null,\"rows_per_batch\":null}");
    assert_defaults(&r);
    done(&r);
}

static char *repeat(const char *piece, int times)
{
    size_t n = strlen(piece);
    char *s = malloc(n * (size_t)times + 1);
    assert_non_null(s);
    for (int i = 0; i < times; i++)
        memcpy(s + n * (size_t)i, piece, n);
    s[n * (size_t)times] = '\0';
    return s;
}

/* {"triggered_by":"<value>"} */
static char *tb_body(const char *value)
{
    size_t n = strlen(value) + 32;
    char *b = malloc(n);
    assert_non_null(b);
    snprintf(b, n, "{\"triggered_by\":\"%s\"}", value);
    return b;
}

static void check_tb_ok(const char *value, const char *expected)
{
    char *b = tb_body(value);
    body_result_t r;
    run_body(&r, b);
    if (r.rc != 0) {
        char *dump = json_dumps(r.errors, 0);
        print_error("%s\n", dump);
        free(dump);
    }
    assert_int_equal(r.rc, 0);
    assert_non_null(r.params.triggered_by);
    assert_string_equal(r.params.triggered_by, expected);
    done(&r);
    free(b);
}

static void check_tb_too_long(const char *value)
{
    char *b = tb_body(value);
    body_result_t r;
    run_body(&r, b);
    assert_single_error(&r, "triggered_by", "String should have at most 128 characters", "string_too_long");
    done(&r);
    free(b);
}

static void test_body_triggered_by_length(void **state)
{
    (void)state;
    char *s = repeat("a", 128);
    check_tb_ok(s, s);
    free(s);
    s = repeat("a", 129);
    check_tb_too_long(s);
    free(s);
    s = repeat("a", 10000);
    check_tb_too_long(s);
    free(s);

    /* characters, not bytes: 128 two-byte, 128 three-byte, 128 four-byte characters fit */
    s = repeat("\xc3\xa9", 128);
    check_tb_ok(s, s);
    free(s);
    s = repeat("\xe2\x82\xac", 128);
    check_tb_ok(s, s);
    free(s);
    s = repeat("\xf0\x9f\x98\x80", 128);
    check_tb_ok(s, s);
    free(s);
    s = repeat("\xc3\xa9", 129);
    check_tb_too_long(s);
    free(s);
    s = repeat("\xf0\x9f\x98\x80", 129);
    check_tb_too_long(s);
    free(s);

    /* JSON escapes count as the character they stand for: 128 x "\u00e9" is 128 characters */
    s = repeat("\\u00e9", 128);
    char *expected = repeat("\xc3\xa9", 128);
    check_tb_ok(s, expected);
    free(s);
    free(expected);
    /* a surrogate pair is one character */
    s = repeat("\\ud83d\\ude00", 128);
    expected = repeat("\xf0\x9f\x98\x80", 128);
    check_tb_ok(s, expected);
    free(s);
    free(expected);
}

static void test_body_triggered_by_type(void **state)
{
    (void)state;
    static const char *const bodies[] = {"{\"triggered_by\":5}", "{\"triggered_by\":true}", "{\"triggered_by\":[]}",
                                         "{\"triggered_by\":{}}", "{\"triggered_by\":1.5}"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        body_result_t r;
        run_body(&r, bodies[i]);
        assert_single_error(&r, "triggered_by", "Input should be a valid string", "string_type");
        done(&r);
    }
    body_result_t r;
    run_body(&r, "{\"triggered_by\":null}");
    assert_defaults(&r);
    done(&r);
    run_body(&r, "{\"triggered_by\":\"line\\nbreak \\\"quoted\\\"\"}");
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.params.triggered_by, "line\nbreak \"quoted\"");
    done(&r);
}

/* ---- the body: not an object ---------------------------------------------------------------------------------- */

static void test_body_malformed(void **state)
{
    (void)state;
    static const char *const bodies[] = {"{",          "}",     "{\"batch_count\":}", "nope", "{\"a\":1}garbage",
                                         "{'a': 1}",   "{a:1}", "{\"batch_count\":5,}", "\"unterminated",
                                         "[1,2",       "\xff\xfe{}"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        body_result_t r;
        run_body(&r, bodies[i]);
        assert_single_error(&r, NULL, "JSON decode error: *", "json_invalid");
        done(&r);
    }
    /* a NUL byte inside the body */
    body_result_t r;
    run_body_len(&r, "{\"a\":1}\0{}", 10, &limits);
    assert_int_equal(r.rc, -1);
    assert_int_equal(json_array_size(r.errors), 1);
    assert_detail(json_array_get(r.errors, 0), "body", NULL, NULL, "json_invalid");
    done(&r);
    /* `len` bounds the body: the bytes after it are not read */
    run_body_len(&r, "{\"batch_count\":3}XYZ", 17, &limits);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.params.batch_count, 3);
    done(&r);
    run_body_len(&r, "{\"batch_count\":3}", 10, &limits);
    assert_single_error(&r, NULL, "JSON decode error: *", "json_invalid");
    done(&r);
}

static void test_body_not_an_object(void **state)
{
    (void)state;
    static const char *const bodies[] = {"[]", "[1,2]", "[{\"batch_count\":3}]", "5", "\"text\"", "true"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        body_result_t r;
        run_body(&r, bodies[i]);
        assert_single_error(&r, NULL, "Input should be a valid dictionary or object to extract fields from",
                            "model_attributes_type");
        done(&r);
    }
}

static void test_body_several_errors(void **state)
{
    (void)state;
    body_result_t r;
    run_body(&r, "{\"batch_count\":0,\"rows_per_batch\":\"x\",\"seed\":-1,\"triggered_by\":7}");
    assert_int_equal(r.rc, -1);
    assert_int_equal(json_array_size(r.errors), 4);
    int seen = 0;
    for (size_t i = 0; i < 4; i++) {
        json_t *d = json_array_get(r.errors, i);
        const char *field = json_string_value(json_array_get(json_object_get(d, "loc"), 1));
        assert_non_null(field);
        if (strcmp(field, "batch_count") == 0) {
            assert_detail(d, "body", field, GE_MSG(1), "greater_than_equal");
            seen |= 1;
        } else if (strcmp(field, "rows_per_batch") == 0) {
            assert_detail(d, "body", field, INT_TYPE_MSG, "int_type");
            seen |= 2;
        } else if (strcmp(field, "seed") == 0) {
            assert_detail(d, "body", field, GE_MSG(0), "greater_than_equal");
            seen |= 4;
        } else if (strcmp(field, "triggered_by") == 0) {
            assert_detail(d, "body", field, "Input should be a valid string", "string_type");
            seen |= 8;
        }
    }
    assert_int_equal(seen, 15);
    done(&r);

    /* errors are appended after what the caller already had */
    json_t *errors = json_array();
    validate_add_error(errors, "query", "limit", "earlier", "int_parsing");
    run_params_t p;
    char tb[TB_CAP];
    const char *b = "{\"batch_count\":99,\"seed\":\"s\"}";
    assert_int_equal(validate_run_body(b, strlen(b), &limits, &p, tb, sizeof(tb), errors), -1);
    assert_int_equal(json_array_size(errors), 3);
    assert_detail(json_array_get(errors, 0), "query", "limit", "earlier", "int_parsing");
    json_decref(errors);
}

static void test_body_deep_nesting(void **state)
{
    (void)state;
    enum { DEPTH = 10000 };
    /* unclosed */
    char *b = repeat("[", DEPTH);
    body_result_t r;
    run_body(&r, b);
    assert_int_equal(r.rc, -1);
    assert_int_equal(json_array_size(r.errors), 1);
    free(b);
    done(&r);

    /* closed: an array (or a depth error), either way a 422 detail, no crash */
    char *open = repeat("[", DEPTH), *close = repeat("]", DEPTH);
    size_t n = 2 * DEPTH + 1;
    b = malloc(n);
    assert_non_null(b);
    snprintf(b, n, "%s%s", open, close);
    run_body(&r, b);
    assert_int_equal(r.rc, -1);
    assert_int_equal(json_array_size(r.errors), 1);
    const char *type = json_string_value(json_object_get(json_array_get(r.errors, 0), "type"));
    assert_non_null(type);
    assert_true(strcmp(type, "json_invalid") == 0 || strcmp(type, "model_attributes_type") == 0);
    done(&r);
    free(b);

    /* nested inside an unknown field */
    n = 2 * DEPTH + 64;
    b = malloc(n);
    assert_non_null(b);
    snprintf(b, n, "{\"batch_count\":2,\"x\":%s%s}", open, close);
    run_body(&r, b);
    assert_true(r.rc == 0 || r.rc == -1);
    if (r.rc == -1)
        assert_int_equal(json_array_size(r.errors), 1);
    done(&r);
    free(b);
    free(open);
    free(close);
}

/* ---- query integers ------------------------------------------------------------------------------------------- */

#define INT_PARSING_MSG "Input should be a valid integer, unable to parse string as an integer"

static void check_query_ok(const char *raw, long long expected)
{
    json_t *errors = json_array();
    long long v = -999;
    int rc = validate_query_int(raw, "limit", 1, 100, 10, &v, errors);
    if (rc != 0)
        print_error("\"%s\" rejected\n", raw ? raw : "(null)");
    assert_int_equal(rc, 0);
    assert_int_equal(v, expected);
    assert_int_equal(json_array_size(errors), 0);
    json_decref(errors);
}

static void check_query_bad(const char *raw, const char *msg, const char *type)
{
    json_t *errors = json_array();
    long long v = -999;
    int rc = validate_query_int(raw, "limit", 1, 100, 10, &v, errors);
    size_t count = json_array_size(errors);
    if (rc != -1) {
        print_error("\"%s\" accepted as %lld\n", raw, v);
        json_decref(errors); /* no leak report on top of the failure */
        fail();
    }
    assert_int_equal(count, 1);
    assert_detail(json_array_get(errors, 0), "query", "limit", msg, type);
    json_decref(errors);
}

static void test_query_int_ok(void **state)
{
    (void)state;
    check_query_ok(NULL, 10); /* absent: the default */
    check_query_ok("1", 1);
    check_query_ok("100", 100);
    check_query_ok("42", 42);
    check_query_ok("007", 7);
}

static void test_query_int_parsing(void **state)
{
    (void)state;
    static const char *const bad[] = {"abc", "", "1.5", "+3", " 3", "3 ", "3abc", "0x10", "1e2", "--1", "- 1",
                                      "99999999999999999999999", "-99999999999999999999999", "٣"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check_query_bad(bad[i], INT_PARSING_MSG, "int_parsing");
}

static void test_query_int_leading_whitespace(void **state)
{
    (void)state;
    /* " 3" is refused; other leading whitespace must be too (strtoll would skip it) */
    check_query_bad("\t3", INT_PARSING_MSG, "int_parsing");
    check_query_bad("\n3", INT_PARSING_MSG, "int_parsing");
    check_query_bad("\v3", INT_PARSING_MSG, "int_parsing");
}

static void test_query_int_range(void **state)
{
    (void)state;
    check_query_bad("0", GE_MSG(1), "greater_than_equal");
    check_query_bad("-5", GE_MSG(1), "greater_than_equal");
    check_query_bad("101", LE_MSG(100), "less_than_equal");
    check_query_bad("9223372036854775807", LE_MSG(100), "less_than_equal");

    /* other bounds: batch_count 1..12 */
    json_t *errors = json_array();
    long long v = 0;
    assert_int_equal(validate_query_int("13", "batch_count", 1, 12, 5, &v, errors), -1);
    assert_detail(json_array_get(errors, 0), "query", "batch_count", LE_MSG(12), "less_than_equal");
    assert_int_equal(validate_query_int(NULL, "batch_count", 1, 12, 5, &v, errors), 0);
    assert_int_equal(v, 5);
    assert_int_equal(validate_query_int("-0", "n", -3, 3, 1, &v, errors), 0);
    assert_int_equal(v, 0);
    assert_int_equal(validate_query_int("-3", "n", -3, 3, 1, &v, errors), 0);
    assert_int_equal(v, -3);
    assert_int_equal(json_array_size(errors), 1);
    json_decref(errors);
}

static void test_add_error(void **state)
{
    (void)state;
    json_t *errors = json_array();
    validate_add_error(errors, "body", NULL, "Malformed", "json_invalid");
    validate_add_error(errors, "query", "limit", "Bad limit", "int_parsing");
    assert_int_equal(json_array_size(errors), 2);
    assert_detail(json_array_get(errors, 0), "body", NULL, "Malformed", "json_invalid");
    assert_detail(json_array_get(errors, 1), "query", "limit", "Bad limit", "int_parsing");
    json_decref(errors);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_empty),
        cmocka_unit_test(test_body_full),
        cmocka_unit_test(test_body_unknown_fields_ignored),
        cmocka_unit_test(test_body_configured_limits),
        cmocka_unit_test(test_body_batch_count),
        cmocka_unit_test(test_body_rows_and_seed),
        cmocka_unit_test(test_body_triggered_by_length),
        cmocka_unit_test(test_body_triggered_by_type),
        cmocka_unit_test(test_body_malformed),
        cmocka_unit_test(test_body_not_an_object),
        cmocka_unit_test(test_body_several_errors),
        cmocka_unit_test(test_body_deep_nesting),
        cmocka_unit_test(test_query_int_ok),
        cmocka_unit_test(test_query_int_parsing),
        cmocka_unit_test(test_query_int_leading_whitespace),
        cmocka_unit_test(test_query_int_range),
        cmocka_unit_test(test_add_error),
    };
    return cmocka_run_group_tests_name("validate", tests, NULL, NULL);
}
