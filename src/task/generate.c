/* generate: writes one batch of seeded pseudo-random rows "N,<0..999>,<0..99>". */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "task/args.h"
#include "task/file.h"
#include "task/prng.h"
#include "task/task.h"

/* Progress lines are worth it only when a batch takes noticeable time. */
#define GENERATE_PROGRESS_MIN_ROWS 100000

enum { OPT_BATCH, OPT_ROWS, OPT_SEED, OPT_SLEEP, OPT_OUT, OPT_COUNT };

/* Streams the rows through stdio's buffer: constant memory whatever the row count. */
static int generate_rows(task_file_t *f, int64_t batch, int64_t rows, uint64_t seed)
{
    task_prng_t rng;
    /* Seeds are below 2^32 and batches small, so (seed, batch) maps to distinct keys: each batch of a run gets
     * its own stream, and the same seed and batch always give the same bytes. */
    task_prng_seed(&rng, (seed << 32) | (uint64_t)batch);
    int tenth = 1;
    for (int64_t i = 1; i <= rows; i++) {
        uint32_t v = task_prng_below(&rng, 1000);
        uint32_t w = task_prng_below(&rng, 100);
        if (fprintf(f->fp, "%" PRId64 ",%" PRIu32 ",%" PRIu32 "\n", batch, v, w) < 0) {
            task_error("cannot write %s: %s", f->path, strerror(errno));
            return -1;
        }
        if (rows >= GENERATE_PROGRESS_MIN_ROWS && tenth < 10 && i == rows * tenth / 10) {
            task_log("batch %" PRId64 ": %" PRId64 "/%" PRId64 " rows", batch, i, rows);
            tenth++;
        }
    }
    return 0;
}

int task_generate_main(int argc, char **argv)
{
    task_opt_t opts[OPT_COUNT] = {
        [OPT_BATCH] = {"--batch", NULL}, [OPT_ROWS] = {"--rows", NULL}, [OPT_SEED] = {"--seed", NULL},
        [OPT_SLEEP] = {"--sleep", NULL}, [OPT_OUT] = {"--out", NULL},
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
    if (task_file_open(&f, out) != 0)
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
