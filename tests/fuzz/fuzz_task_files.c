/* libFuzzer target: pipeline-task's inputs (src/task/analyze.c reads a batch CSV, src/task/report.c reads stats
 * JSON). The input is written to a file in a private folder and the subcommand runs on it as the service would
 * run it; the first byte picks which one. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "task/task.h"

static char dir[64];

/* task_help lives in src/task/main.c beside main(); this harness never passes --help */
int task_help(void)
{
    abort();
}

static void remove_dir(void)
{
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    snprintf(dir, sizeof(dir), "/tmp/fuzz_task_files.XXXXXX");
    if (mkdtemp(dir) == NULL)
        abort();
    atexit(remove_dir);
    return 0;
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char in[128], out[128];
    int rc;
    if (data[0] & 1) {
        snprintf(in, sizeof(in), "%s/batch_3.csv", dir);
        snprintf(out, sizeof(out), "%s/stats_batch_3.json", dir);
        write_file(in, data + 1, size - 1);
        char *argv[] = {"analyze", "--in", in, "--out", out, NULL};
        rc = task_analyze_main(5, argv);
    } else {
        snprintf(in, sizeof(in), "%s/stats_batch_1.json", dir);
        snprintf(out, sizeof(out), "%s/report.json", dir);
        write_file(in, data + 1, size - 1);
        char *argv[] = {"report", "--out", out, in, in, NULL};
        rc = task_report_main(5, argv);
    }
    if (rc != TASK_EXIT_OK && rc != TASK_EXIT_FAIL)
        abort();
    if (rc == TASK_EXIT_OK && access(out, R_OK) != 0)
        abort();
    unlink(in);
    unlink(out);
    return 0;
}
