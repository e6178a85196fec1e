/*
 * What the unit tests share: assert_near, a fake environment for config_parse, a JSON path reader and a sample
 * run for the executors. Each unit test program is one .c file (Makefile rule $(BUILD)/tests/%), so the helpers
 * are static inline. Include it after <cmocka.h>.
 */
#ifndef TESTS_UNIT_FIXTURE_H
#define TESTS_UNIT_FIXTURE_H

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define assert_near(actual, expected, eps)                                                                             \
    do {                                                                                                               \
        double a_ = (actual), e_ = (expected);                                                                         \
        if (!(fabs(a_ - e_) <= (eps))) {                                                                               \
            print_error("%s = %.17g, expected %.17g\n", #actual, a_, e_);                                              \
            fail();                                                                                                    \
        }                                                                                                              \
    } while (0)

/* ---- a fake environment ---------------------------------------------------------------------------------- */

typedef struct kv {
    const char *name, *value;
} kv_t;

/* A config_parse lookup. ctx: an array of kv_t ended by {NULL, NULL}. */
static inline const char *kv_lookup(void *ctx, const char *name)
{
    for (const kv_t *kv = ctx; kv->name != NULL; kv++)
        if (strcmp(kv->name, name) == 0)
            return kv->value;
    return NULL;
}

/* config_parse of `env` (ended by {NULL, NULL}), the binary in `exe_dir`; 0, or -1 with the error printed. */
static inline int kv_config(config_t *cfg, kv_t *env, const char *exe_dir)
{
    char err[256];
    int rc = config_parse(cfg, kv_lookup, env, exe_dir, err, sizeof(err));
    if (rc != 0)
        print_error("config_parse: %s\n", err);
    return rc;
}

/* ---- JSON ------------------------------------------------------------------------------------------------ */

/* The string at `path` below `root`, or NULL: object keys and array indexes split by '|' (label keys hold '.'
 * and '/'), e.g. "spec|containers|0|image". */
static inline const char *str_at(json_t *root, const char *path)
{
    json_t *v = root;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *save = NULL, *k = strtok_r(buf, "|", &save); k && v; k = strtok_r(NULL, "|", &save))
        v = json_is_array(v) ? json_array_get(v, (size_t)atoi(k)) : json_object_get(v, k);
    return json_string_value(v);
}

/* ---- a run as the executors are given it ------------------------------------------------------------------ */

/* static const exec_spec_t spec = SAMPLE_EXEC_SPEC; (exec/executor.h) */
#define SAMPLE_EXEC_SPEC                                                                                               \
    {                                                                                                                  \
        .run_id = "r0123456789a", .batches = 3, .rows_per_batch = 100, .seed = 7, .generate_seconds = 0.5,             \
        .analyze_seconds = 2                                                                                           \
    }

#endif
