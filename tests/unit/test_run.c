/* Unit tests for src/model/run.{h,c}: the run model, its log ring and its JSON shapes (API.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/run.h"
#include "util/clock.h"
#include "util/ids.h"
#include "fixture.h"

/* 2026-11-29T12:00:00.123Z */
#define T0 1795953600123LL

static run_t *new_run(int batches, const char *triggered_by)
{
    run_params_t p = {.batch_count = batches, .rows_per_batch = 100, .seed = 42, .triggered_by = triggered_by};
    run_t *run = run_create(&p, "local-run");
    assert_non_null(run);
    return run;
}

/* Asserts that `o` is an object with exactly the `n` keys of `keys`. */
static void assert_keys_exactly(json_t *o, const char *const *keys, size_t n)
{
    assert_true(json_is_object(o));
    for (size_t i = 0; i < n; i++) {
        if (json_object_get(o, keys[i]) == NULL) {
            print_error("key \"%s\" missing\n", keys[i]);
            fail();
        }
    }
    const char *key;
    json_t *value;
    json_object_foreach(o, key, value)
    {
        (void)value;
        int known = 0;
        for (size_t i = 0; i < n; i++)
            known |= strcmp(key, keys[i]) == 0;
        if (!known) {
            print_error("unexpected key \"%s\"\n", key);
            fail();
        }
    }
    assert_int_equal(json_object_size(o), n);
}

#define KEYS(...) (const char *const[]){__VA_ARGS__}, sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *)

static const char *str_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v)) {
        print_error("\"%s\" is not a string\n", key);
        fail();
    }
    return json_string_value(v);
}

static json_int_t int_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v)) {
        print_error("\"%s\" is not an integer\n", key);
        fail();
    }
    return json_integer_value(v);
}

static double num_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v)) {
        print_error("\"%s\" is not a number\n", key);
        fail();
    }
    return json_number_value(v);
}

/* ---- creation and status -------------------------------------------------------------------------------------- */

static void test_create(void **state)
{
    (void)state;
    char who[] = "visitor";
    int64_t before = clock_now_ms();
    run_params_t p = {.batch_count = 7, .rows_per_batch = 250, .seed = 4294967295u, .triggered_by = who};
    run_t *run = run_create(&p, "local-run");
    int64_t after = clock_now_ms();
    assert_non_null(run);
    assert_true(run_id_valid(run->id, strlen(run->id)));
    assert_int_equal(strlen(run->id), RUN_ID_LEN);
    assert_int_equal(run->status, RUN_QUEUED);
    assert_true(run_is_active(run));
    char expected_job[64];
    snprintf(expected_job, sizeof(expected_job), "local-run-%s", run->id);
    assert_string_equal(run->job_name, expected_job);
    assert_in_range(run->started_ms, before, after);
    assert_int_equal(run->finished_ms, 0);
    assert_int_equal(run->batch_count, 7);
    assert_int_equal(run->rows_per_batch, 250);
    assert_int_equal(run->seed, 4294967295u);
    assert_non_null(run->triggered_by);
    assert_string_equal(run->triggered_by, "visitor");
    assert_ptr_not_equal(run->triggered_by, who); /* a copy */
    who[0] = 'X';
    assert_string_equal(run->triggered_by, "visitor");
    assert_null(run->message);
    assert_int_equal(run->has_metrics, 0);
    assert_int_equal(run->log_count, 0);
    for (int t = 0; t < WF_MAX_TASKS; t++)
        assert_int_equal(run->tasks[t], TASK_PENDING);
    run_destroy(run);

    run = new_run(5, NULL);
    assert_null(run->triggered_by);
    run_t *other = run_create(&(run_params_t){.batch_count = 1}, "nextflow-run");
    assert_string_not_equal(run->id, other->id);
    assert_int_equal(strncmp(other->job_name, "nextflow-run-r", 14), 0);
    assert_string_equal(other->job_name + strlen("nextflow-run-"), other->id);
    run_destroy(run);
    run_destroy(other);
    run_destroy(NULL); /* harmless */
}

static void test_status_names(void **state)
{
    (void)state;
    static const char *const names[] = {"queued", "starting", "running", "succeeded", "failed", "cancelled", "unknown"};
    for (int s = RUN_QUEUED; s <= RUN_UNKNOWN; s++) {
        assert_string_equal(run_status_name((run_status_t)s), names[s]);
        assert_int_equal(run_status_parse(names[s]), s);
        assert_int_equal(run_status_parse(run_status_name((run_status_t)s)), s);
    }
    assert_int_equal(run_status_parse("RUNNING"), -1);
    assert_int_equal(run_status_parse("run"), -1);
    assert_int_equal(run_status_parse("runningx"), -1);
    assert_int_equal(run_status_parse(""), -1);
    assert_string_equal(run_status_name((run_status_t)99), "unknown");
}

static void test_terminal(void **state)
{
    (void)state;
    assert_false(run_status_is_terminal(RUN_QUEUED));
    assert_false(run_status_is_terminal(RUN_STARTING));
    assert_false(run_status_is_terminal(RUN_RUNNING));
    assert_true(run_status_is_terminal(RUN_SUCCEEDED));
    assert_true(run_status_is_terminal(RUN_FAILED));
    assert_true(run_status_is_terminal(RUN_CANCELLED));
    assert_true(run_status_is_terminal(RUN_UNKNOWN));
    assert_false(run_is_active(NULL));
    run_t *run = new_run(1, NULL);
    run->status = RUN_RUNNING;
    assert_true(run_is_active(run));
    run->status = RUN_CANCELLED;
    assert_false(run_is_active(run));
    run_destroy(run);
}

static void test_message(void **state)
{
    (void)state;
    run_t *run = new_run(1, NULL);
    char msg[] = "task failed";
    run_set_message(run, msg);
    assert_string_equal(run->message, "task failed");
    msg[0] = 'X';
    assert_string_equal(run->message, "task failed");
    run_set_message(run, "cancelled by request");
    assert_string_equal(run->message, "cancelled by request");
    run_set_message(run, NULL);
    assert_null(run->message);
    run_set_message(run, "again");
    run_destroy(run); /* frees the message (ASan) */
}

/* ---- the log ring --------------------------------------------------------------------------------------------- */

static const run_log_line_t *log_at(const run_t *run, int i)
{
    return &run->log[(run->log_start + i) % RUN_LOG_TAIL];
}

static void test_log_ring_partial(void **state)
{
    (void)state;
    run_t *run = new_run(3, NULL);
    char buf[32];
    for (int i = 0; i < 10; i++) {
        snprintf(buf, sizeof(buf), "line %d", i);
        run_log_append(run, buf, i % 2 ? "ANALYZE (1)" : "GENERATE (1)", i % 3 == 0, 1000 + i);
    }
    assert_int_equal(run->log_count, 10);
    for (int i = 0; i < 10; i++) {
        snprintf(buf, sizeof(buf), "line %d", i);
        assert_string_equal(log_at(run, i)->message, buf);
        assert_string_equal(log_at(run, i)->source, i % 2 ? "ANALYZE (1)" : "GENERATE (1)");
        assert_int_equal(log_at(run, i)->is_stderr, i % 3 == 0);
        assert_int_equal(log_at(run, i)->ts_ms, 1000 + i);
    }
    run_destroy(run);
}

static void test_log_ring_keeps_newest(void **state)
{
    (void)state;
    run_t *run = new_run(3, NULL);
    char buf[32];
    const int total = 3 * RUN_LOG_TAIL + 17;
    for (int i = 0; i < total; i++) {
        snprintf(buf, sizeof(buf), "line %d", i);
        run_log_append(run, buf, "REPORT", 0, -1);
        assert_int_equal(run->log_count, i + 1 < RUN_LOG_TAIL ? i + 1 : RUN_LOG_TAIL);
    }
    assert_int_equal(run->log_count, RUN_LOG_TAIL);
    for (int i = 0; i < RUN_LOG_TAIL; i++) {
        snprintf(buf, sizeof(buf), "line %d", total - RUN_LOG_TAIL + i);
        assert_string_equal(log_at(run, i)->message, buf);
        assert_int_equal(log_at(run, i)->ts_ms, -1);
    }
    run_destroy(run); /* every kept line freed, every dropped one already freed (ASan) */

    /* exactly RUN_LOG_TAIL lines: nothing dropped */
    run = new_run(3, NULL);
    for (int i = 0; i < RUN_LOG_TAIL; i++) {
        snprintf(buf, sizeof(buf), "l%d", i);
        run_log_append(run, buf, "s", 0, 0);
    }
    assert_string_equal(log_at(run, 0)->message, "l0");
    assert_string_equal(log_at(run, RUN_LOG_TAIL - 1)->message, "l49");
    run_log_append(run, "l50", "s", 0, 0);
    assert_string_equal(log_at(run, 0)->message, "l1");
    assert_string_equal(log_at(run, RUN_LOG_TAIL - 1)->message, "l50");
    run_destroy(run);
}

/* ---- durations ------------------------------------------------------------------------------------------------ */

static void test_duration(void **state)
{
    (void)state;
    run_t *run = new_run(1, NULL);
    run->started_ms = T0;
    run->finished_ms = 0;
    assert_near(run_duration_seconds(run, T0 + 2500), 2.5, 1e-9);
    assert_near(run_duration_seconds(run, T0 - 5000), 0.0, 0); /* a clock behind the start: never negative */
    run->finished_ms = T0 + 12400;
    assert_near(run_duration_seconds(run, T0 + 999999), 12.4, 1e-9);
    run_destroy(run);
}

/* ---- JSON ----------------------------------------------------------------------------------------------------- */

static void test_time_json(void **state)
{
    (void)state;
    json_t *v = run_time_json(0);
    assert_true(json_is_null(v));
    json_decref(v);
    v = run_time_json(-1);
    assert_true(json_is_null(v));
    json_decref(v);
    v = run_time_json(T0);
    assert_true(json_is_string(v));
    assert_string_equal(json_string_value(v), "2026-11-29T12:00:00.123Z");
    json_decref(v);
}

static void test_info_json_queued(void **state)
{
    (void)state;
    run_t *run = new_run(5, NULL);
    run->started_ms = T0;
    json_t *o = run_info_json(run);
    assert_keys_exactly(o, KEYS("run_id", "status", "started_at", "finished_at", "job_name", "message", "batch_count",
                                "triggered_by", "resumed_from"));
    assert_true(json_is_null(json_object_get(o, "resumed_from"))); /* a run that resumes nothing */
    assert_string_equal(str_of(o, "run_id"), run->id);
    assert_string_equal(str_of(o, "status"), "queued");
    assert_string_equal(str_of(o, "started_at"), "2026-11-29T12:00:00.123Z");
    assert_true(json_is_null(json_object_get(o, "finished_at")));
    assert_string_equal(str_of(o, "job_name"), run->job_name);
    assert_true(json_is_null(json_object_get(o, "message")));
    assert_int_equal(int_of(o, "batch_count"), 5);
    assert_true(json_is_null(json_object_get(o, "triggered_by")));
    json_decref(o);
    run_destroy(run);
}

static void test_info_json_finished(void **state)
{
    (void)state;
    run_t *run = new_run(12, "ci \"bot\" \xc3\xa9");
    run->started_ms = T0;
    run->finished_ms = T0 + 61877; /* 12:01:02.000 */
    run->status = RUN_FAILED;
    run_set_message(run, "GENERATE (3) exited with status 2");
    json_t *o = run_info_json(run);
    assert_int_equal(json_object_size(o), 9);
    assert_string_equal(str_of(o, "status"), "failed");
    assert_string_equal(str_of(o, "finished_at"), "2026-11-29T12:01:02.000Z");
    assert_string_equal(str_of(o, "message"), "GENERATE (3) exited with status 2");
    assert_string_equal(str_of(o, "triggered_by"), "ci \"bot\" \xc3\xa9");
    assert_int_equal(int_of(o, "batch_count"), 12);
    json_decref(o);
    run_destroy(run);
}

static void test_metrics_json(void **state)
{
    (void)state;
    run_t *run = new_run(5, NULL);
    json_t *m = run_metrics_json(run);
    assert_true(json_is_null(m));
    json_decref(m);

    run->metrics = (run_metrics_t){.total_batches = 5,
                                   .total_records = 500,
                                   .total_sum = 249512,
                                   .average_value = 499.024,
                                   .worker_pods_spawned = 11,
                                   .execution_time_seconds = 12.4};
    snprintf(run->metrics.report_path, sizeof(run->metrics.report_path), "results/%s/report.json", run->id);
    m = run_metrics_json(run);
    assert_true(json_is_null(m)); /* still null: has_metrics is 0 */
    json_decref(m);

    run->has_metrics = 1;
    m = run_metrics_json(run);
    assert_keys_exactly(m, KEYS("total_batches", "total_records", "total_sum", "average_value", "worker_pods_spawned",
                                "execution_time_seconds", "report_path"));
    assert_int_equal(int_of(m, "total_batches"), 5);
    assert_int_equal(int_of(m, "total_records"), 500);
    assert_int_equal(int_of(m, "total_sum"), 249512);
    assert_near(num_of(m, "average_value"), 499.024, 1e-9);
    assert_int_equal(int_of(m, "worker_pods_spawned"), 11);
    assert_near(num_of(m, "execution_time_seconds"), 12.4, 1e-9);
    char expected[64];
    snprintf(expected, sizeof(expected), "results/%s/report.json", run->id);
    assert_string_equal(str_of(m, "report_path"), expected);
    json_decref(m);

    /* big totals do not wrap */
    run->metrics.total_sum = 5000000000000LL;
    m = run_metrics_json(run);
    assert_int_equal(int_of(m, "total_sum"), 5000000000000LL);
    json_decref(m);
    run_destroy(run);
}

static void test_history_json(void **state)
{
    (void)state;
    run_t *run = new_run(3, "visitor");
    run->started_ms = T0;
    run->finished_ms = T0 + 12500;
    run->status = RUN_SUCCEEDED;
    json_t *h = run_history_json(run);
    assert_keys_exactly(h, KEYS("run_id", "status", "started_at", "finished_at", "duration_seconds", "triggered_by",
                                "job_name", "batch_count", "demo_metrics", "resumed_from"));
    assert_string_equal(str_of(h, "run_id"), run->id);
    assert_string_equal(str_of(h, "status"), "succeeded");
    assert_string_equal(str_of(h, "started_at"), "2026-11-29T12:00:00.123Z");
    assert_string_equal(str_of(h, "finished_at"), "2026-11-29T12:00:12.623Z");
    assert_near(num_of(h, "duration_seconds"), 12.5, 1e-9);
    assert_string_equal(str_of(h, "triggered_by"), "visitor");
    assert_string_equal(str_of(h, "job_name"), run->job_name);
    assert_int_equal(int_of(h, "batch_count"), 3);
    assert_true(json_is_null(json_object_get(h, "demo_metrics")));
    json_decref(h);

    run->has_metrics = 1;
    run->metrics.total_batches = 3;
    h = run_history_json(run);
    json_t *m = json_object_get(h, "demo_metrics");
    assert_true(json_is_object(m));
    assert_int_equal(int_of(m, "total_batches"), 3);
    json_decref(h);
    run_destroy(run);
}

static void test_progress_json(void **state)
{
    (void)state;
    run_t *run = new_run(3, NULL);
    /* G1 G2 G3 A1 A2 A3 R */
    run->tasks[0] = run->tasks[1] = TASK_SUCCEEDED;
    run->tasks[2] = TASK_RUNNING;
    run->tasks[3] = TASK_SUCCEEDED;
    run->tasks[4] = TASK_FAILED;
    json_t *p = run_progress_json(run);
    assert_keys_exactly(p, KEYS("completed", "total", "percent", "batches_generated", "batches_analyzed", "stages"));
    assert_int_equal(int_of(p, "completed"), 3);
    assert_int_equal(int_of(p, "total"), 7);
    assert_near(num_of(p, "percent"), 300.0 / 7.0, 1e-9);
    assert_int_equal(int_of(p, "batches_generated"), 2);
    assert_int_equal(int_of(p, "batches_analyzed"), 1);
    json_t *stages = json_object_get(p, "stages");
    assert_true(json_is_array(stages));
    assert_int_equal(json_array_size(stages), 3);
    static const char *const names[] = {"GENERATE", "ANALYZE", "REPORT"};
    static const int expect[3][4] = {{2, 1, 0, 3}, {1, 0, 1, 3}, {0, 0, 0, 1}}; /* completed running failed total */
    for (size_t i = 0; i < 3; i++) {
        json_t *s = json_array_get(stages, i);
        assert_keys_exactly(s, KEYS("name", "completed", "running", "failed", "total"));
        assert_string_equal(str_of(s, "name"), names[i]);
        assert_int_equal(int_of(s, "completed"), expect[i][0]);
        assert_int_equal(int_of(s, "running"), expect[i][1]);
        assert_int_equal(int_of(s, "failed"), expect[i][2]);
        assert_int_equal(int_of(s, "total"), expect[i][3]);
    }
    json_decref(p);
    run_destroy(run);
}

static void test_detail_json(void **state)
{
    (void)state;
    run_t *run = new_run(1, NULL);
    run->started_ms = T0;
    run->status = RUN_RUNNING;
    run->tasks[0] = TASK_SUCCEEDED;
    json_t *d = run_detail_json(run, T0 + 4000);
    static const char *const info_keys[] = {"run_id", "status", "started_at", "finished_at", "job_name",
                                            "message", "batch_count", "triggered_by", "duration_seconds",
                                            "progress_percent", "demo_metrics"};
    for (size_t i = 0; i < sizeof(info_keys) / sizeof(info_keys[0]); i++)
        assert_non_null(json_object_get(d, info_keys[i]));
    assert_string_equal(str_of(d, "status"), "running");
    assert_near(num_of(d, "duration_seconds"), 4.0, 1e-9);
    assert_near(num_of(d, "progress_percent"), 100.0 / 3.0, 1e-9);
    assert_true(json_is_null(json_object_get(d, "demo_metrics")));
    json_decref(d);
    run_destroy(run);
}

static void test_log_line_json(void **state)
{
    (void)state;
    run_log_line_t l = {.message = "Generating batch 3...", .source = "GENERATE (3)", .is_stderr = 0, .ts_ms = T0};
    json_t *o = run_log_line_json(&l);
    assert_keys_exactly(o, KEYS("message", "timestamp", "source", "stream"));
    assert_string_equal(str_of(o, "message"), "Generating batch 3...");
    assert_string_equal(str_of(o, "timestamp"), "2026-11-29T12:00:00.123Z");
    assert_string_equal(str_of(o, "source"), "GENERATE (3)");
    assert_string_equal(str_of(o, "stream"), "stdout");
    json_decref(o);
    l.is_stderr = 1;
    l.ts_ms = -1;
    o = run_log_line_json(&l);
    assert_true(json_is_null(json_object_get(o, "timestamp")));
    assert_string_equal(str_of(o, "stream"), "stderr");
    json_decref(o);
}

static void test_tasks_json(void **state)
{
    (void)state;
    run_t *run = new_run(2, NULL);
    run->tasks[1] = TASK_RUNNING;
    run->tasks[2] = TASK_FAILED;
    run->tasks[4] = TASK_CANCELLED;
    json_t *a = run_tasks_json(run);
    assert_true(json_is_array(a));
    assert_int_equal(json_array_size(a), 5);
    static const char *const names[] = {"GENERATE", "GENERATE", "ANALYZE", "ANALYZE", "REPORT"};
    static const int batches[] = {1, 2, 1, 2, 0};
    static const char *const states[] = {"pending", "running", "failed", "pending", "cancelled"};
    for (size_t i = 0; i < 5; i++) {
        json_t *t = json_array_get(a, i);
        assert_string_equal(str_of(t, "name"), names[i]);
        assert_int_equal(int_of(t, "batch"), batches[i]);
        assert_string_equal(str_of(t, "state"), states[i]);
    }
    json_decref(a);
    run_destroy(run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_terminal),
        cmocka_unit_test(test_message),
        cmocka_unit_test(test_log_ring_partial),
        cmocka_unit_test(test_log_ring_keeps_newest),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_time_json),
        cmocka_unit_test(test_info_json_queued),
        cmocka_unit_test(test_info_json_finished),
        cmocka_unit_test(test_metrics_json),
        cmocka_unit_test(test_history_json),
        cmocka_unit_test(test_progress_json),
        cmocka_unit_test(test_detail_json),
        cmocka_unit_test(test_log_line_json),
        cmocka_unit_test(test_tasks_json),
    };
    return cmocka_run_group_tests_name("run", tests, NULL, NULL);
}
