/* Unit tests for src/model/run_cost.c (a task's cost, its JSON and record), its place in the run record
 * (run_codec.c) and src/util/usage_line.c (pipeline-task's usage line). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/run.h"
#include "model/run_codec.h"
#include "model/run_trace.h"
#include "util/usage_line.h"

#define T0 1795953600123LL

static run_t *costed_run(void)
{
    run_params_t p = {.batch_count = 2, .rows_per_batch = 100, .seed = 42};
    run_t *run = run_create(&p, "local-run");
    run->status = RUN_SUCCEEDED;
    run->started_ms = T0;
    run->finished_ms = T0 + 9000;
    for (int t = 0; t < 5; t++) {
        run->tasks[t] = TASK_SUCCEEDED;
        run->attempts[t] = 1;
        run_cost_t *c = &run->costs[t];
        c->attempt = 1;
        c->submitted_ms = T0 + 100 * t;
        c->started_ms = T0 + 100 * t + 250;
        c->finished_ms = T0 + 100 * t + 1250;
        c->cpu_seconds = 0.125 * t;
        c->wall_seconds = 0.99;
        c->peak_rss_bytes = 52428800 + t;
        c->read_bytes = 4096 * t;
        c->written_bytes = 1000 + t;
        c->exit_code = 0;
        c->pid = 4000 + t;
    }
    snprintf(run->costs[4].pod, sizeof(run->costs[4].pod), "pipeline-r0123456789a-report");
    snprintf(run->costs[4].node, sizeof(run->costs[4].node), "node-1");
    /* ANALYZE (1) ran twice: the first attempt was lost */
    run->attempts[2] = 2;
    run_cost_t first = run->costs[2];
    run_cost_archive(run, 2, TASK_FAILED);
    run->past[0].cost = first;
    run->past[0].cost.exit_code = 137;
    run->costs[2] = first;
    run->costs[2].attempt = 2;
    return run;
}

static void test_cost_round_trip(void **state)
{
    (void)state;
    run_t *run = costed_run();
    char *text = run_record_dumps(run, NULL);
    char err[256] = "";
    run_t *back = run_from_record_text(text, strlen(text), err, sizeof(err));
    assert_non_null(back);
    assert_memory_equal(back->costs, run->costs, sizeof(run_cost_t) * 5);
    assert_int_equal(back->past_count, 1);
    assert_int_equal(back->past[0].task, 2);
    assert_int_equal(back->past[0].state, TASK_FAILED);
    assert_memory_equal(&back->past[0].cost, &run->past[0].cost, sizeof(run_cost_t));
    char *again = run_record_dumps(back, NULL);
    assert_string_equal(text, again);
    free(again);
    free(text);
    run_destroy(back);
    run_destroy(run);
}

static void test_task_json_fields(void **state)
{
    (void)state;
    run_t *run = costed_run();
    json_t *tasks = run_tasks_json(run);
    json_t *t1 = json_array_get(tasks, 1), *rep = json_array_get(tasks, 4);
    assert_string_equal(json_string_value(json_object_get(t1, "submitted_at")), "2026-11-29T12:00:00.223Z");
    assert_string_equal(json_string_value(json_object_get(t1, "started_at")), "2026-11-29T12:00:00.473Z");
    assert_true(json_real_value(json_object_get(t1, "duration_seconds")) == 1.0);
    assert_true(json_real_value(json_object_get(t1, "queued_seconds")) == 0.25);
    assert_int_equal(json_integer_value(json_object_get(t1, "peak_rss_bytes")), 52428801);
    assert_int_equal(json_integer_value(json_object_get(t1, "exit_code")), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(t1, "where"), "pid")), 4001);
    assert_string_equal(json_string_value(json_object_get(json_object_get(rep, "where"), "node")), "node-1");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(tasks, 2), "attempt")), 2);
    json_decref(tasks);
    /* nothing known: every field null */
    run_params_t p = {.batch_count = 1, .rows_per_batch = 1, .seed = 1};
    run_t *fresh = run_create(&p, "local-run");
    tasks = run_tasks_json(fresh);
    const char *keys[] = {"attempt",        "submitted_at", "started_at",    "finished_at",
                          "duration_seconds", "queued_seconds", "cpu_seconds", "peak_rss_bytes",
                          "read_bytes",     "written_bytes", "exit_code",    "where"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        assert_true(json_is_null(json_object_get(json_array_get(tasks, 0), keys[i])));
    json_decref(tasks);
    run_destroy(fresh);
    run_destroy(run);
}

static void test_old_record_without_costs(void **state)
{
    (void)state;
    run_t *run = costed_run();
    json_t *rec = run_to_record(run, NULL);
    assert_int_equal(json_object_del(rec, "costs"), 0);
    char err[256] = "";
    run_t *back = run_from_record(rec, err, sizeof(err));
    assert_non_null(back);
    assert_int_equal(back->past_count, 0);
    assert_int_equal(back->costs[0].started_ms, 0);
    assert_true(back->costs[0].peak_rss_bytes < 0);
    json_decref(rec);
    run_destroy(back);
    run_destroy(run);
}

static void test_rejects_bad_costs(void **state)
{
    (void)state;
    run_t *run = costed_run();
    json_t *good = run_to_record(run, NULL);
    json_t *good_tasks = json_object_get(json_object_get(good, "costs"), "tasks");
    json_t *bad[] = {
        json_pack("{s:[i],s:[]}", "tasks", 1, "past"),
        json_pack("{s:[[i,i,i,i,f,f,i,i,i,i,i,s,s],n,n,n,n],s:[]}", "tasks", 1, 0, 0, 0, 0.1, 0.1, 1, 1, 1, 0, 1,
                  "p", "n", "past"),
        json_pack("{s:O,s:[[i,i,i]]}", "tasks", good_tasks, "past", 9, 0, 0),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *rec = run_to_record(run, NULL);
        json_object_set_new(rec, "costs", bad[i]);
        char err[256] = "";
        run_t *back = run_from_record(rec, err, sizeof(err));
        assert_null(back);
        assert_non_null(strstr(err, "costs"));
        json_decref(rec);
    }
    json_decref(good);
    run_destroy(run);
}

static void test_usage_line(void **state)
{
    (void)state;
    usage_line_t u, back;
    usage_line_init(&u);
    u.wall = 0.3125;
    u.user = 0.25;
    u.sys = 0.0625;
    u.maxrss = 52428800;
    u.rchar = 12;
    u.wchar = 34;
    u.exit_code = 3;
    char line[USAGE_LINE_MAX];
    size_t n = usage_line_format(&u, line);
    assert_true(n > 0 && line[n - 1] == '\n');
    assert_int_equal(usage_line_parse(line, n - 1, &back), 1);
    assert_true(back.wall == 0.3125 && back.user == 0.25 && back.sys == 0.0625);
    assert_true(back.maxrss == 52428800 && back.rchar == 12 && back.wchar == 34 && back.exit_code == 3);
    /* a log line is not one; a malformed figure stays unknown; unknown keys are skipped */
    const char *plain = "2026-11-29T12:00:00.123Z Generating batch 1...";
    assert_int_equal(usage_line_parse(plain, strlen(plain), &back), 0);
    const char *odd = "@@pipeline-task-usage wall=-1 user=1e9 sys=0.5x maxrss=1.5 rchar=7 future=3 exit=999";
    assert_int_equal(usage_line_parse(odd, strlen(odd), &back), 1);
    assert_true(back.wall < 0 && back.user < 0 && back.sys < 0 && back.maxrss < 0 && back.exit_code < 0);
    assert_true(back.rchar == 7 && back.wchar < 0);
}

static void test_merge(void **state)
{
    (void)state;
    run_cost_t a, b;
    run_cost_init(&a);
    run_cost_init(&b);
    b.pid = 7;
    assert_int_equal(run_cost_merge(&a, &b), 1);
    assert_int_equal(run_cost_merge(&a, &b), 0); /* nothing new */
    run_cost_init(&b);
    b.peak_rss_bytes = 5;
    snprintf(b.node, sizeof(b.node), "n1");
    assert_int_equal(run_cost_merge(&a, &b), 1);
    assert_int_equal(a.pid, 7);
    assert_int_equal(a.peak_rss_bytes, 5);
    assert_string_equal(a.node, "n1");
}

static void test_trace_units(void **state)
{
    (void)state;
    static const struct {
        int64_t ms;
        const char *text;
    } durations[] = {{0, "0ms"},       {310, "310ms"},      {999, "999ms"},      {1000, "1s"},
                     {1234, "1.2s"},   {59949, "59.9s"},    {65000, "1m 5s"},    {3600000, "1h"},
                     {3723000, "1h 2m 3s"}, {90061000, "1d 1h 1m 1s"}, {-1, "-"}};
    char out[64];
    for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
        run_trace_duration(durations[i].ms, out, sizeof(out));
        assert_string_equal(out, durations[i].text);
    }
    static const struct {
        int64_t bytes;
        const char *text;
    } sizes[] = {{0, "0"}, {993, "993 B"}, {1024, "1 KB"}, {6010, "5.9 KB"}, {12897485, "12.3 MB"},
                 {52428800, "50 MB"}, {3221225472LL, "3 GB"}, {-1, "-"}};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        run_trace_size(sizes[i].bytes, out, sizeof(out));
        assert_string_equal(out, sizes[i].text);
    }
}

static void test_trace_lines(void **state)
{
    (void)state;
    run_t *run = costed_run();
    size_t len = 0;
    char *text = run_trace_tsv(run, &len);
    assert_int_equal(strlen(text), len);
    assert_non_null(strstr(text, "task_id\tnative_id\tname\tstatus\texit\tsubmit\tstart\tcomplete\tduration\t"
                                 "realtime\t%cpu\tpeak_rss\trchar\twchar\n"));
    /* 5 tasks and the past attempt of ANALYZE (1), in submit order: its FAILED line first */
    int lines = 0;
    for (const char *p = text; (p = strchr(p, '\n')) != NULL; p++)
        lines++;
    assert_int_equal(lines, 7);
    assert_non_null(strstr(text, "\tANALYZE (1)\tFAILED\t137\t2026-11-29 12:00:00.323\t"));
    assert_non_null(strstr(text, "\tpipeline-r0123456789a-report\tREPORT\tCOMPLETED\t0\t"));
    assert_non_null(strstr(text, "\t1.3s\t1s\t"));
    /* %cpu over the task's own wall time: 0.125 s of CPU in 0.99 s */
    assert_non_null(strstr(text, "\t1s\t12.6%\t"));
    free(text);
    /* a task that ended within the millisecond it started in: %cpu still known, from its own wall time */
    run->costs[0].started_ms = run->costs[0].finished_ms;
    run->costs[0].wall_seconds = 0.0004;
    run->costs[0].cpu_seconds = 0.0003;
    text = run_trace_tsv(run, &len);
    assert_non_null(strstr(text, "\t0ms\t75.0%\t"));
    run->costs[0].wall_seconds = -1; /* not measured, and no realtime: unknown */
    free(text);
    text = run_trace_tsv(run, &len);
    assert_non_null(strstr(text, "\t0ms\t-\t"));
    free(text);
    run_destroy(run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cost_round_trip),     cmocka_unit_test(test_task_json_fields),
        cmocka_unit_test(test_old_record_without_costs), cmocka_unit_test(test_rejects_bad_costs),
        cmocka_unit_test(test_usage_line),          cmocka_unit_test(test_merge),
        cmocka_unit_test(test_trace_units),         cmocka_unit_test(test_trace_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
