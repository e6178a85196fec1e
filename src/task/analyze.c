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

enum { OPT_IN, OPT_BATCH, OPT_SLEEP, OPT_OUT, OPT_MKDIR, OPT_COUNT };

typedef enum { LINE_OK, LINE_EOF, LINE_LONG, LINE_ERROR } analyze_line_t;

/* Lines come out of a large buffer filled by few reads: a call per character would cost more than the check. */
#define ANALYZE_BUF_SIZE (1 << 20)

typedef struct {
    FILE *fp;
    char *buf;
    size_t pos, len; /* the unread bytes are buf[pos..len) */
    int eof;
} analyze_reader_t;

/* Keeps the unread tail and reads more behind it. Returns 0, or -1 on a read error (errno set). */
static int analyze_fill(analyze_reader_t *r)
{
    memmove(r->buf, r->buf + r->pos, r->len - r->pos);
    r->len -= r->pos;
    r->pos = 0;
    size_t n = fread(r->buf + r->len, 1, ANALYZE_BUF_SIZE - r->len, r->fp);
    r->len += n;
    if (n == 0) {
        if (ferror(r->fp))
            return -1;
        r->eof = 1;
    }
    return 0;
}

/* The next line without its '\n' (not NUL-terminated; valid until the next call). The last line may lack its
 * '\n'. */
static analyze_line_t analyze_read_line(analyze_reader_t *r, const char **line, size_t *len)
{
    for (;;) {
        const char *start = r->buf + r->pos;
        size_t avail = r->len - r->pos;
        const char *nl = memchr(start, '\n', avail < ANALYZE_LINE_MAX ? avail : ANALYZE_LINE_MAX);
        if (nl) {
            *line = start;
            *len = (size_t)(nl - start);
            r->pos += *len + 1;
            return LINE_OK;
        }
        if (avail >= ANALYZE_LINE_MAX)
            return LINE_LONG; /* 64 characters and still no '\n' */
        if (r->eof) {
            if (avail == 0)
                return LINE_EOF;
            *line = start;
            *len = avail;
            r->pos = r->len;
            return LINE_OK;
        }
        if (analyze_fill(r) != 0)
            return LINE_ERROR;
    }
}

/* The usual line, "<batch>,<1-3 digits>,<1-2 digits>\n" with the batch of line 1, taken in one pass: adds
 * column 2 to *sum and returns 1. Anything else (and the end of the buffer) returns 0, and the line goes
 * through analyze_read_line and analyze_parse_row, which accept exactly the same lines and name what is wrong. */
static int analyze_fast_row(analyze_reader_t *r, const char *batch, size_t batch_len, int64_t *sum)
{
    const char *p = r->buf + r->pos;
    if (r->len - r->pos < ANALYZE_LINE_MAX || memcmp(p, batch, batch_len) != 0)
        return 0;
    p += batch_len;
    if (*p++ != ',' || (unsigned)(*p - '0') > 9)
        return 0;
    int64_t v = *p++ - '0';
    for (int k = 0; k < 2 && (unsigned)(*p - '0') <= 9; k++)
        v = v * 10 + (*p++ - '0');
    if (*p++ != ',' || (unsigned)(*p - '0') > 9)
        return 0;
    p++;
    if ((unsigned)(*p - '0') <= 9)
        p++;
    if (*p++ != '\n')
        return 0;
    *sum += v;
    r->pos = (size_t)(p - r->buf);
    return 1;
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
        [OPT_IN] = {.name = "--in"},
        [OPT_BATCH] = {.name = "--batch"},
        [OPT_SLEEP] = {.name = "--sleep"},
        [OPT_OUT] = {.name = "--out"},
        [OPT_MKDIR] = {.name = "--mkdir", .flag = 1},
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
    char *default_out = NULL, label[80], why_buf[96], batch_text[24];
    const char *why = NULL, *line = NULL;
    size_t batch_text_len = 0;
    size_t len = 0;
    int64_t col[3], lines = 0, sum = 0, first_batch = 0;
    json_t *stats = NULL;
    analyze_line_t st = LINE_ERROR;
    rc = TASK_EXIT_FAIL;

    analyze_reader_t reader = {.fp = fopen(in, "r"), .buf = malloc(ANALYZE_BUF_SIZE)};
    if (!reader.buf) {
        task_error("out of memory");
        goto out;
    }
    if (!reader.fp) {
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
    st = analyze_read_line(&reader, &line, &len);
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

    for (; st == LINE_OK; st = analyze_read_line(&reader, &line, &len)) {
        lines++;
        why = analyze_parse_row(line, len, col);
        if (!why && lines == 1) {
            first_batch = col[0];
            batch_text_len = (size_t)snprintf(batch_text, sizeof(batch_text), "%" PRId64, first_batch);
        }
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
        while (analyze_fast_row(&reader, batch_text, batch_text_len, &sum))
            lines++;
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
    if ((opts[OPT_MKDIR].value && task_file_mkdirs(out) != 0) ||
        task_file_write_json(out, stats, JSON_COMPACT | JSON_REAL_PRECISION(15)) != 0)
        goto out;
    task_log("Analyzed %s: %" PRId64 " lines, sum %" PRId64 ", average %.2f, written to %s", label, lines, sum, average,
             task_file_name(out));
    rc = TASK_EXIT_OK;
out:
    if (reader.fp)
        fclose(reader.fp); /* only read from: nothing to lose */
    free(reader.buf);
    free(default_out);
    json_decref(stats);
    return rc;
}
