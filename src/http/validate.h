/*
 * Validation of what clients send, with FastAPI-style error details:
 * {"loc":["body"|"query", field], "msg": human text, "type": machine code}.
 * Pure functions: no I/O, nothing kept.
 */
#ifndef HTTP_VALIDATE_H
#define HTTP_VALIDATE_H

#include <jansson.h>
#include <stddef.h>

#include "model/run.h"

#define TRIGGERED_BY_MAX 128 /* characters */

typedef struct validate_limits {
    int default_batch_count, max_batch_count;
    int default_rows_per_batch;
} validate_limits_t;

/**
 * Reads the body of POST /run (empty means all defaults; unknown fields are ignored). On success fills `out`
 * (its triggered_by points into `triggered_by_buf`, capacity at least 4 * TRIGGERED_BY_MAX + 1) and returns 0;
 * otherwise appends error details to `errors` and returns -1.
 */
int validate_run_body(const char *body, size_t len, const validate_limits_t *limits, run_params_t *out,
                      char *triggered_by_buf, size_t buf_size, json_t *errors);

/**
 * Reads an integer query parameter: `raw` is its decoded value or NULL when absent (then `def`). On success
 * stores it in `*out` and returns 0; otherwise appends an error detail and returns -1.
 */
int validate_query_int(const char *raw, const char *name, long long min, long long max, long long def, long long *out,
                       json_t *errors);

/** Appends one error detail to `errors`. `field` NULL gives loc [where] alone. */
void validate_add_error(json_t *errors, const char *where, const char *field, const char *msg, const char *type);

#endif
