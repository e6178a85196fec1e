/* generate: writes one batch of seeded pseudo-random rows "N,<0..999>,<0..99>". */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task/args.h"
#include "task/file.h"
#include "task/prng.h"
#include "task/task.h"

/* Progress lines are worth it only when a batch takes noticeable time. */
#define GENERATE_PROGRESS_MIN_ROWS 100000

enum { OPT_BATCH, OPT_ROWS, OPT_SEED, OPT_SLEEP, OPT_OUT, OPT_MKDIR, OPT_COUNT };

/* Rows are formatted by hand into this buffer and written in few large calls: printf's parsing would cost more
 * than drawing the numbers. */
#define GENERATE_BUF_SIZE (1 << 20)
#define GENERATE_ROW_MAX  16 /* "12,999,99\n" is 10; batch is at most 2 digits */

/* The decimal digits of v (v <= 999) at p; returns the end. */
static char *generate_put_small(char *p, uint32_t v)
{
    if (v >= 100) {
        uint32_t h = v / 100;
        *p++ = (char)('0' + h);
        v -= h * 100;
        *p++ = (char)('0' + v / 10);
    } else if (v >= 10) {
        *p++ = (char)('0' + v / 10);
    }
    *p++ = (char)('0' + v % 10);
    return p;
}

static int generate_flush(task_file_t *f, const char *buf, size_t len)
{
    if (fwrite(buf, 1, len, f->fp) != len) {
        task_error("cannot write %s: %s", f->path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Constant memory whatever the row count: one buffer, written out whenever it is nearly full. */
static int generate_rows(task_file_t *f, int64_t batch, int64_t rows, uint64_t seed)
{
    task_prng_t rng;
    /* Seeds are below 2^32 and batches small, so (seed, batch) maps to distinct keys: each batch of a run gets
     * its own stream, and the same seed and batch always give the same bytes. */
    task_prng_seed(&rng, (seed << 32) | (uint64_t)batch);
    char prefix[GENERATE_ROW_MAX];
    size_t prefix_len = (size_t)snprintf(prefix, sizeof(prefix), "%" PRId64 ",", batch);
    char *buf = malloc(GENERATE_BUF_SIZE);
    if (!buf) {
        task_error("out of memory");
        return -1;
    }
    char *p = buf, *end = buf + GENERATE_BUF_SIZE - GENERATE_ROW_MAX;
    int tenth = 1, rc = 0;
    int64_t next_progress = rows >= GENERATE_PROGRESS_MIN_ROWS ? rows / 10 : INT64_MAX;
    for (int64_t i = 1; i <= rows; i++) {
        uint32_t v = task_prng_below(&rng, 1000);
        uint32_t w = task_prng_below(&rng, 100);
        memcpy(p, prefix, GENERATE_ROW_MAX / 4); /* the prefix is at most 3 bytes; a fixed size copies faster */
        p += prefix_len;
        p = generate_put_small(p, v);
        *p++ = ',';
        p = generate_put_small(p, w);
        *p++ = '\n';
        if (p >= end || i == rows) {
            if (generate_flush(f, buf, (size_t)(p - buf)) != 0) {
                rc = -1;
                break;
            }
            p = buf;
        }
        if (i == next_progress) {
            task_log("batch %" PRId64 ": %" PRId64 "/%" PRId64 " rows", batch, i, rows);
            next_progress = ++tenth < 10 ? rows * tenth / 10 : INT64_MAX;
        }
    }
    free(buf);
    return rc;
}

int task_generate_main(int argc, char **argv)
{
    task_opt_t opts[OPT_COUNT] = {
        [OPT_BATCH] = {.name = "--batch"}, [OPT_ROWS] = {.name = "--rows"},
        [OPT_SEED] = {.name = "--seed"},   [OPT_SLEEP] = {.name = "--sleep"},
        [OPT_OUT] = {.name = "--out"},     [OPT_MKDIR] = {.name = "--mkdir", .flag = 1},
    };
    int exit_status = task_args_parse_options(argc, argv, opts, OPT_COUNT, "--batch");
    if (exit_status >= 0)
        return exit_status;

    int64_t batch, rows = 100, seed = 42;
    double pause = 0;
    if (task_args_int("--batch", opts[OPT_BATCH].value, 1, 12, &batch) ||
        (opts[OPT_ROWS].value && task_args_int("--rows", opts[OPT_ROWS].value, 1, 1000000, &rows)) ||
        (opts[OPT_SEED].value && task_args_int("--seed", opts[OPT_SEED].value, 0, UINT32_MAX, &seed)) ||
        (opts[OPT_SLEEP].value && task_args_seconds("--sleep", opts[OPT_SLEEP].value, &pause)))
        return TASK_EXIT_USAGE;
    char default_out[32];
    snprintf(default_out, sizeof(default_out), "batch_%" PRId64 ".csv", batch);
    const char *out = opts[OPT_OUT].value ? opts[OPT_OUT].value : default_out;

    int rc = task_guard_parent(0);
    if (rc != 0)
        return rc;
    task_log("Generating batch %" PRId64 "...", batch);
    task_pause(pause);

    task_file_t f;
    if ((opts[OPT_MKDIR].value && task_file_mkdirs(out) != 0) || task_file_open(&f, out) != 0)
        return TASK_EXIT_FAIL;
    if (generate_rows(&f, batch, rows, (uint64_t)seed) != 0) {
        task_file_abort(&f);
        return TASK_EXIT_FAIL;
    }
    if (task_file_commit(&f) != 0)
        return TASK_EXIT_FAIL;
    task_log("Batch %" PRId64 ": %" PRId64 " rows written to %s", batch, rows, task_file_name(out));
    return TASK_EXIT_OK;
}
