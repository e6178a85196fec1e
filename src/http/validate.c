#include "http/validate.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/text.h"

void validate_add_error(json_t *errors, const char *where, const char *field, const char *msg, const char *type)
{
    json_t *loc = field ? json_pack("[s,s]", where, field) : json_pack("[s]", where);
    /* jansson's parse errors quote the input, which may not be UTF-8 (found by tests/fuzz/fuzz_validate) */
    char clean[512];
    text_sanitize_utf8(clean, sizeof(clean), msg, strlen(msg));
    json_array_append_new(errors, json_pack("{s:o,s:s,s:s}", "loc", loc, "msg", clean, "type", type));
}

static int check_range(long long v, const char *where, const char *field, long long min, long long max, json_t *errors)
{
    char msg[96];
    if (v < min) {
        snprintf(msg, sizeof(msg), "Input should be greater than or equal to %lld", min);
        validate_add_error(errors, where, field, msg, "greater_than_equal");
        return -1;
    }
    if (v > max) {
        snprintf(msg, sizeof(msg), "Input should be less than or equal to %lld", max);
        validate_add_error(errors, where, field, msg, "less_than_equal");
        return -1;
    }
    return 0;
}

/* A JSON integer field (strict: a float, string or bool is an error); absent or null gives `def`. */
static int body_int(json_t *body, const char *field, long long min, long long max, long long def, long long *out,
                    json_t *errors)
{
    json_t *v = json_object_get(body, field);
    if (v == NULL || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v)) {
        validate_add_error(errors, "body", field, "Input should be a valid integer", "int_type");
        return -1;
    }
    *out = json_integer_value(v);
    return check_range(*out, "body", field, min, max, errors);
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

int validate_run_body(const char *body, size_t len, const validate_limits_t *limits, run_params_t *out,
                      char *triggered_by_buf, size_t buf_size, json_t *errors)
{
    size_t start = 0;
    while (start < len && (body[start] == ' ' || body[start] == '\t' || body[start] == '\r' || body[start] == '\n'))
        start++;
    json_t *doc;
    if (start == len) {
        doc = json_object(); /* an empty body: every field takes its default */
    } else {
        json_error_t jerr;
        doc = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
        if (doc == NULL) {
            char msg[256];
            snprintf(msg, sizeof(msg), "JSON decode error: %s", jerr.text);
            validate_add_error(errors, "body", NULL, msg, "json_invalid");
            return -1;
        }
        if (!json_is_object(doc)) {
            json_decref(doc);
            validate_add_error(errors, "body", NULL,
                               "Input should be a valid dictionary or object to extract fields from",
                               "model_attributes_type");
            return -1;
        }
    }

    int rc = 0;
    long long batch_count, rows, seed;
    rc |= body_int(doc, "batch_count", 1, limits->max_batch_count, limits->default_batch_count, &batch_count, errors);
    rc |= body_int(doc, "rows_per_batch", 1, 1000000, limits->default_rows_per_batch, &rows, errors);
    rc |= body_int(doc, "seed", 0, 4294967295LL, 42, &seed, errors);

    const char *triggered_by = NULL;
    json_t *tb = json_object_get(doc, "triggered_by");
    if (tb != NULL && !json_is_null(tb)) {
        if (!json_is_string(tb)) {
            validate_add_error(errors, "body", "triggered_by", "Input should be a valid string", "string_type");
            rc = -1;
        } else if (utf8_chars(json_string_value(tb)) > TRIGGERED_BY_MAX || json_string_length(tb) >= buf_size) {
            validate_add_error(errors, "body", "triggered_by", "String should have at most 128 characters",
                               "string_too_long");
            rc = -1;
        } else if (memchr(json_string_value(tb), '\0', json_string_length(tb)) != NULL) {
            validate_add_error(errors, "body", "triggered_by", "String should not contain NUL characters",
                               "string_pattern_mismatch");
            rc = -1;
        } else {
            memcpy(triggered_by_buf, json_string_value(tb), json_string_length(tb) + 1);
            triggered_by = triggered_by_buf;
        }
    }
    json_decref(doc);
    if (rc != 0)
        return -1;
    out->batch_count = (int)batch_count;
    out->rows_per_batch = (int)rows;
    out->seed = (uint32_t)seed;
    out->triggered_by = triggered_by;
    return 0;
}

int validate_query_int(const char *raw, const char *name, long long min, long long max, long long def, long long *out,
                       json_t *errors)
{
    if (raw == NULL) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long long v = strtoll(raw, &end, 10);
    if (*raw == '\0' || *end != '\0' || errno != 0 || isspace((unsigned char)*raw) || *raw == '+') {
        validate_add_error(errors, "query", name,
                           "Input should be a valid integer, unable to parse string as an integer", "int_parsing");
        return -1;
    }
    if (check_range(v, "query", name, min, max, errors) != 0)
        return -1;
    *out = v;
    return 0;
}
