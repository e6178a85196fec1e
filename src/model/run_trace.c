#include "model/run_trace.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NA "-"

static const char HEADER[] = "task_id\tnative_id\tname\tstatus\texit\tsubmit\tstart\tcomplete\tduration\trealtime\t"
                             "%cpu\tpeak_rss\trchar\twchar\n";

/* One decimal, a trailing ".0" left out: 1.2, 5 */
static void one_decimal(double v, char *out, size_t cap)
{
    snprintf(out, cap, "%.1f", v);
    size_t n = strlen(out);
    if (n > 2 && strcmp(out + n - 2, ".0") == 0)
        out[n - 2] = '\0';
}

void run_trace_duration(int64_t ms, char *out, size_t cap)
{
    if (ms < 0) {
        snprintf(out, cap, NA);
        return;
    }
    if (ms < 1000) {
        snprintf(out, cap, "%" PRId64 "ms", ms);
        return;
    }
    if (ms < 60000) { /* tenths of a second */
        char num[32];
        one_decimal(round(ms / 100.0) / 10.0, num, sizeof(num));
        snprintf(out, cap, "%ss", num);
        return;
    }
    int64_t secs = (int64_t)llround(ms / 1000.0);
    int64_t parts[4] = {secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60};
    static const char units[4] = {'d', 'h', 'm', 's'};
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < 4; i++)
        if (parts[i] && n < cap)
            n += (size_t)snprintf(out + n, cap - n, "%s%" PRId64 "%c", n ? " " : "", parts[i], units[i]);
}

void run_trace_size(int64_t bytes, char *out, size_t cap)
{
    static const char *const units[] = {"B", "KB", "MB", "GB", "TB", "PB", "EB"};
    if (bytes < 0) {
        snprintf(out, cap, NA);
        return;
    }
    if (bytes == 0) {
        snprintf(out, cap, "0");
        return;
    }
    int group = 0;
    double v = (double)bytes;
    while (v >= 1024.0 && group < 6) {
        v /= 1024.0;
        group++;
    }
    char num[32];
    one_decimal(v, num, sizeof(num));
    snprintf(out, cap, "%s %s", num, units[group]);
}

static void trace_date(int64_t ms, char *out, size_t cap)
{
    if (ms <= 0) {
        snprintf(out, cap, NA);
        return;
    }
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(out + n, cap - n, ".%03d", (int)(ms % 1000));
}

typedef struct trace_entry {
    int task, state;
    const run_cost_t *cost;
} trace_entry_t;

static int by_submit(const void *a, const void *b)
{
    const trace_entry_t *x = a, *y = b;
    int64_t sx = x->cost->submitted_ms ? x->cost->submitted_ms : x->cost->started_ms;
    int64_t sy = y->cost->submitted_ms ? y->cost->submitted_ms : y->cost->started_ms;
    if (sx != sy)
        return sx < sy ? -1 : 1;
    if (x->task != y->task)
        return x->task - y->task;
    return x->cost->attempt - y->cost->attempt;
}

static const char *status_of(int state)
{
    switch (state) {
    case TASK_SUCCEEDED: return "COMPLETED";
    case TASK_FAILED: return "FAILED";
    case TASK_CANCELLED: return "ABORTED";
    case TASK_CACHED: return "CACHED";
    default: return NULL;
    }
}

static void append_line(FILE *f, const run_t *run, int task_id, const trace_entry_t *e)
{
    const run_cost_t *c = e->cost;
    char label[32], native[80], exit_code[16], submit[40], start[40], complete[40], duration[48], realtime[48],
        cpu[32], rss[32], rchar[32], wchar[32];
    wf_task_label(run->batch_count, e->task, label, sizeof(label));
    if (c->pod[0])
        snprintf(native, sizeof(native), "%s", c->pod);
    else if (c->pid > 0)
        snprintf(native, sizeof(native), "%d", c->pid);
    else
        snprintf(native, sizeof(native), NA);
    if (c->exit_code >= 0)
        snprintf(exit_code, sizeof(exit_code), "%d", c->exit_code);
    else
        snprintf(exit_code, sizeof(exit_code), NA);
    trace_date(c->submitted_ms, submit, sizeof(submit));
    trace_date(c->started_ms, start, sizeof(start));
    trace_date(c->finished_ms, complete, sizeof(complete));
    int64_t from = c->submitted_ms ? c->submitted_ms : c->started_ms;
    run_trace_duration(from && c->finished_ms >= from ? c->finished_ms - from : -1, duration, sizeof(duration));
    int64_t real = c->started_ms && c->finished_ms >= c->started_ms ? c->finished_ms - c->started_ms : -1;
    run_trace_duration(real, realtime, sizeof(realtime));
    /* over the task's own wall time when it measured one (microseconds: a task may end within the millisecond it
     * started in), else over realtime */
    double wall = c->wall_seconds > 0 ? c->wall_seconds : real > 0 ? real / 1000.0 : -1;
    if (c->cpu_seconds >= 0 && wall > 0)
        snprintf(cpu, sizeof(cpu), "%.1f%%", c->cpu_seconds * 100.0 / wall);
    else
        snprintf(cpu, sizeof(cpu), NA);
    run_trace_size(c->peak_rss_bytes, rss, sizeof(rss));
    run_trace_size(c->read_bytes, rchar, sizeof(rchar));
    run_trace_size(c->written_bytes, wchar, sizeof(wchar));
    fprintf(f, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", task_id, native, label, status_of(e->state),
            exit_code, submit, start, complete, duration, realtime, cpu, rss, rchar, wchar);
}

char *run_trace_tsv(const run_t *run, size_t *len)
{
    trace_entry_t entries[WF_MAX_TASKS + RUN_MAX_PAST_ATTEMPTS];
    int n = 0;
    for (int i = 0; i < run->past_count; i++)
        entries[n++] = (trace_entry_t){run->past[i].task, run->past[i].state, &run->past[i].cost};
    for (int t = 0; t < wf_task_count(run->batch_count); t++) {
        int st = run->tasks[t];
        /* what ended (a cancelled task only when it had started), and what was reused */
        if (status_of(st) && (st != TASK_CANCELLED || run->costs[t].started_ms > 0))
            entries[n++] = (trace_entry_t){t, st, &run->costs[t]};
    }
    qsort(entries, (size_t)n, sizeof(entries[0]), by_submit);
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (f == NULL)
        abort();
    fputs(HEADER, f);
    for (int i = 0; i < n; i++)
        append_line(f, run, i + 1, &entries[i]);
    fclose(f);
    return text;
}
