/* analyze: validates one batch CSV, streaming it line by line, and writes its statistics as JSON. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task/args.h"
#include "task/file.h"
#include "task/task.h"

/* The longest valid line is 9 + 1 + 3 + 1 + 2 = 16 characters; anything longer is rejected unread, so a
 * broken file without newlines cannot make the reader grow. */
#define ANALYZE_LINE_MAX  64
#define ANALYZE_BATCH_MAX 999999999

enum { OPT_IN, OPT_BATCH, OPT_SLEEP, OPT_OUT, OPT_COUNT };

typedef enum { LINE_OK, LINE_EOF, LINE_LONG, LINE_ERROR } analyze_line_t;

/* Reads one line without its '\n' into buf. The last line may lack its '\n'. */
static analyze_line_t analyze_read_line(FILE *fp, char buf[ANALYZE_LINE_MAX], size_t *len)
{
    size_t n = 0;
    int c;
    while ((c = getc_unlocked(fp)) != EOF && c != '\n') {
        if (n + 1 >= ANALYZE_LINE_MAX)
            return LINE_LONG;
        buf[n++] = (char)c;
    }
    if (c == EOF && ferror(fp))
        return LINE_ERROR;
    if (c == EOF && n == 0)
        return LINE_EOF;
    buf[n] = '\0';
    *len = n;
    return LINE_OK;
}

/* Parses exactly "<batch>,<0..999>,<0..99>" (digits only) into col[]; returns NULL, or what is wrong. */
static const char *analyze_parse_row(const char *line, size_t len, int64_t col[3])
{
    static const int64_t max[3] = {ANALYZE_BATCH_MAX, 999, 99};
    static const char *const bad[3] = {"column 1 (batch) must be a non-negative integer",
                                       "column 2 must be an integer 0..999", "column 3 must be an integer 0..99"};
    static const char *const columns = "expected 3 comma-separated columns";
    if (len == 0)
        return "empty line";
    size_t i = 0;
    for (int k = 0; k < 3; k++) {
        size_t start = i;
        int64_t v = 0;
        for (; i < len && line[i] >= '0' && line[i] <= '9'; i++)
            if (v <= max[k]) /* stops growing once out of range: no overflow however many digits */
                v = v * 10 + (line[i] - '0');
        if (i == start || v > max[k])
            return bad[k];
        col[k] = v;
        if (k < 2) {
            if (i == len)
                return columns;
            if (line[i] != ',')
                return bad[k];
            i++;
        }
    }
    if (i == len)
        return NULL;
    return line[i] == ',' ? columns : bad[2];
}

/* A file named "batch_N.csv" names batch N. */
static int analyze_batch_from_name(const char *base, int64_t *batch)
{
    if (strncmp(base, "batch_", 6) != 0)
        return -1;
    const char *p = base + 6;
    int64_t v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (p - base >= 6 + 9)
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (p == base + 6 || strcmp(p, ".csv") != 0)
        return -1;
    *batch = v;
    return 0;
}

int task_analyze_main(int argc, char **argv)
{
    task_opt_t opts[OPT_COUNT] = {
        [OPT_IN] = {"--in", NULL},
        [OPT_BATCH] = {"--batch", NULL},
        [OPT_SLEEP] = {"--sleep", NULL},
        [OPT_OUT] = {"--out", NULL},
    };
    int exit_status = task_args_parse_options(argc, argv, opts, OPT_COUNT, "--in");
    if (exit_status >= 0)
        return exit_status;
    int64_t batch = 0;
    double pause = 0;
    int have_batch = opts[OPT_BATCH].value != NULL;
    if ((have_batch && task_args_int("--batch", opts[OPT_BATCH].value, 1, 12, &batch)) ||
        (opts[OPT_SLEEP].value && task_args_seconds("--sleep", opts[OPT_SLEEP].value, &pause)))
        return TASK_EXIT_USAGE;

    int rc = task_guard_parent(0);
    if (rc != 0)
        return rc;

    const char *in = opts[OPT_IN].value;
    const char *base = task_file_name(in);
    size_t stem = strlen(base);
    if (stem > 4 && strcmp(base + stem - 4, ".csv") == 0)
        stem -= 4;
    const char *out = opts[OPT_OUT].value;
    char *default_out = NULL, line[ANALYZE_LINE_MAX], label[80], why_buf[96];
    const char *why = NULL;
    size_t len = 0;
    int64_t col[3], lines = 0, sum = 0, first_batch = 0;
    json_t *stats = NULL;
    analyze_line_t st = LINE_ERROR;
    rc = TASK_EXIT_FAIL;

    FILE *fp = fopen(in, "r");
    if (!fp) {
        task_error("cannot read %s: %s", in, strerror(errno));
        goto out;
    }
    if (!out) {
        /* Beside the input, like the service's results directory expects. */
        if (asprintf(&default_out, "%.*sstats_%.*s.json", (int)(base - in), in, (int)stem, base) < 0) {
            default_out = NULL;
            task_error("out of memory");
            goto out;
        }
        out = default_out;
    }
    /* The first line is read before the pause: it may have to name the batch in the first log line, and an
     * unreadable input (a directory, say) fails at once. */
    st = analyze_read_line(fp, line, &len);
    if (st == LINE_ERROR) {
        task_error("cannot read %s: %s", in, strerror(errno));
        goto out;
    }
    if (!have_batch && analyze_batch_from_name(base, &batch) == 0)
        have_batch = 1;
    if (!have_batch && st == LINE_OK && analyze_parse_row(line, len, col) == NULL) {
        batch = col[0];
        have_batch = 1;
    }
    if (have_batch)
        snprintf(label, sizeof(label), "batch %" PRId64, batch);
    else
        snprintf(label, sizeof(label), "%.60s", base);
    task_log("Analyzing %s...", label);
    task_pause(pause);

    for (; st == LINE_OK; st = analyze_read_line(fp, line, &len)) {
        lines++;
        why = analyze_parse_row(line, len, col);
        if (!why && lines == 1)
            first_batch = col[0];
        if (!why && col[0] != first_batch) {
            snprintf(why_buf, sizeof(why_buf), "batch column is %" PRId64 " but %" PRId64 " on line 1", col[0],
                     first_batch);
            why = why_buf;
        }
        if (why) {
            task_error("%s: line %" PRId64 ": %s", in, lines, why);
            goto out;
        }
        sum += col[1];
    }
    if (st == LINE_LONG) {
        task_error("%s: line %" PRId64 ": longer than %d characters", in, lines + 1, ANALYZE_LINE_MAX - 1);
        goto out;
    }
    if (st == LINE_ERROR) {
        task_error("cannot read %s: %s", in, strerror(errno));
        goto out;
    }

    double average = task_average2(sum, lines);
    stats = json_pack("{s:s, s:I, s:I, s:f}", "file", base, "lines", (json_int_t)lines, "sum", (json_int_t)sum,
                      "average", average);
    if (!stats) {
        task_error("the file name of %s is not valid UTF-8", in);
        goto out;
    }
    if (task_file_write_json(out, stats, JSON_COMPACT | JSON_REAL_PRECISION(15)) != 0)
        goto out;
    task_log("Analyzed %s: %" PRId64 " lines, sum %" PRId64 ", average %.2f, written to %s", label, lines, sum, average,
             task_file_name(out));
    rc = TASK_EXIT_OK;
out:
    if (fp)
        fclose(fp); /* only read from: nothing to lose */
    free(default_out);
    json_decref(stats);
    return rc;
}
