/* report: combines the stats files of a run into report.json. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "task/args.h"
#include "task/file.h"
#include "task/task.h"
#include "util/clock.h"

/* A stats file is about 100 bytes; the bound keeps a wrong argument (a CSV, a log) from being parsed whole. */
#define REPORT_STATS_MAX (1024 * 1024)

enum { OPT_SLEEP, OPT_OUT, OPT_MKDIR, OPT_COUNT };

typedef struct {
    FILE *fp;
    size_t total;
    int too_big;
} report_reader_t;

/* jansson's read callback: returning (size_t)-1 makes the parse fail. */
static size_t report_read(void *buf, size_t buflen, void *data)
{
    report_reader_t *r = data;
    size_t n = fread(buf, 1, buflen, r->fp);
    r->total += n;
    if (r->total > REPORT_STATS_MAX) {
        r->too_big = 1;
        return (size_t)-1;
    }
    if (n == 0 && ferror(r->fp))
        return (size_t)-1;
    return n;
}

/* What is wrong with a parsed stats object, or NULL. Extra members are allowed and kept. */
static const char *report_check(const json_t *stats)
{
    if (!json_is_object(stats))
        return "not a JSON object";
    if (!json_is_string(json_object_get(stats, "file")))
        return "\"file\" must be a string";
    const json_t *lines = json_object_get(stats, "lines"), *sum = json_object_get(stats, "sum");
    if (!json_is_integer(lines) || json_integer_value(lines) < 0)
        return "\"lines\" must be a non-negative integer";
    if (!json_is_integer(sum) || json_integer_value(sum) < 0)
        return "\"sum\" must be a non-negative integer";
    if (!json_is_number(json_object_get(stats, "average")))
        return "\"average\" must be a number";
    return NULL;
}

/* Loads and checks one stats file; returns a new reference, or NULL after reporting why. */
static json_t *report_load(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        task_error("cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    report_reader_t r = {fp, 0, 0};
    json_error_t jerr;
    json_t *stats = json_load_callback(report_read, &r, JSON_REJECT_DUPLICATES, &jerr);
    int read_errno = ferror(fp) ? errno : 0;
    fclose(fp); /* only read from */
    if (!stats) {
        if (r.too_big)
            task_error("%s: larger than %d bytes, not a stats file", path, REPORT_STATS_MAX);
        else if (read_errno)
            task_error("cannot read %s: %s", path, strerror(read_errno));
        else
            task_error("%s: not valid JSON: %s (line %d, column %d)", path, jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    const char *why = report_check(stats);
    if (why) {
        task_error("%s: not a stats file: %s", path, why);
        json_decref(stats);
        return NULL;
    }
    return stats;
}

int task_report_main(int argc, char **argv)
{
    task_opt_t opts[OPT_COUNT] = {
        [OPT_SLEEP] = {.name = "--sleep"}, [OPT_OUT] = {.name = "--out"}, [OPT_MKDIR] = {.name = "--mkdir", .flag = 1}};
    int npos;
    task_args_result_t r = task_args_parse(argc, argv, opts, OPT_COUNT, &npos);
    if (r != TASK_ARGS_OK)
        return task_args_exit(r);
    if (npos == 0)
        return task_usage_error("missing STATS_FILE (at least one)");
    double pause = 0;
    if (opts[OPT_SLEEP].value && task_args_seconds("--sleep", opts[OPT_SLEEP].value, &pause))
        return TASK_EXIT_USAGE;
    const char *out = opts[OPT_OUT].value ? opts[OPT_OUT].value : "report.json";

    int rc = task_guard_parent(0);
    if (rc != 0)
        return rc;

    rc = TASK_EXIT_FAIL;
    int64_t total_records = 0, total_sum = 0;
    json_t *report = NULL, *batches = json_array();
    if (!batches) {
        task_error("out of memory");
        goto out;
    }
    /* The inputs are small and read before the pause, so a bad one fails the task at once. */
    for (int i = 1; i <= npos; i++) {
        json_t *stats = report_load(argv[i]);
        if (!stats)
            goto out;
        int overflow = __builtin_add_overflow(total_records, json_integer_value(json_object_get(stats, "lines")),
                                              &total_records) ||
                       __builtin_add_overflow(total_sum, json_integer_value(json_object_get(stats, "sum")), &total_sum);
        if (json_array_append_new(batches, stats) != 0 || overflow) {
            task_error(overflow ? "%s: totals too large" : "%s: out of memory", argv[i]);
            goto out;
        }
    }

    task_log("Generating report for %d batches...", npos);
    task_pause(pause);

    char ts[CLOCK_RFC3339_LEN + 1];
    clock_format_rfc3339(clock_now_ms(), ts);
    double average = task_average2(total_sum, total_records);
    report = json_pack("{s:O, s:s, s:i, s:I, s:I, s:f}", "batches", batches, "timestamp", ts, "total_batches", npos,
                       "total_records", (json_int_t)total_records, "total_sum", (json_int_t)total_sum, "average_value",
                       average);
    if (!report) {
        task_error("out of memory");
        goto out;
    }
    if ((opts[OPT_MKDIR].value && task_file_mkdirs(out) != 0) ||
        task_file_write_json(out, report, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) != 0)
        goto out;
    task_log("Report: %d batches, %" PRId64 " records, total sum %" PRId64 ", average %.2f, written to %s", npos,
             total_records, total_sum, average, task_file_name(out));
    rc = TASK_EXIT_OK;
out:
    json_decref(batches);
    json_decref(report);
    return rc;
}
