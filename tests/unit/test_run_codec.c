/* Unit tests for src/model/run_codec.{h,c}: a run as one JSON record for the shared store, and back. */
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
#include "util/ids.h"

/* 2026-11-29T12:00:00.123Z */
#define T0 1795953600123LL
#define NOW (T0 + 3600000LL)

/* A finished run with every field set: UTF-8, every task state, a log ring that wrapped, metrics. */
static run_t *full_run(void)
{
    run_params_t p = {.batch_count = 3, .rows_per_batch = 250, .seed = 4294967295u,
                      .triggered_by = "Zo\xc3\xab \xe2\x80\x94 \xe6\xb5\x8b\xe8\xaf\x95 \xf0\x9f\x9a\x80"};
    run_t *run = run_create(&p, "local-run");
    assert_non_null(run);
    run->status = RUN_FAILED;
    run->started_ms = T0;
    run->finished_ms = T0 + 12345;
    run->updated_ms = T0 + 12346;
    run_set_message(run, "ANALYZE (2) failed: exit status 3 \xe2\x9c\x97 \"quoted\"\n");
    /* 7 tasks: G1 G2 G3 A1 A2 A3 R */
    const wf_task_state_t states[7] = {TASK_SUCCEEDED, TASK_SUCCEEDED, TASK_FAILED,   TASK_RUNNING,
                                       TASK_CANCELLED, TASK_STARTING,  TASK_PENDING};
    const int64_t started[7] = {T0 + 10, T0 + 11, T0 + 12, T0 + 5000, T0 + 6000, 0, 0};
    for (int t = 0; t < 7; t++) {
        run->tasks[t] = states[t];
        run->task_started_ms[t] = started[t];
    }
    run->tasks_spawned = 5;
    /* resume and retry: attempts, outputs of the tasks that succeeded, the run it resumes, Nextflow's session */
    const int attempts[7] = {1, 2, 1, 3, 1, 1, 0};
    for (int t = 0; t < 7; t++)
        run->attempts[t] = attempts[t];
    run->outputs[0].size = 1234;
    memset(run->outputs[0].sha256, 'a', 64);
    run->outputs[1].size = 0;
    snprintf(run->outputs[1].sha256, sizeof(run->outputs[1].sha256), "%s",
             "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    snprintf(run->resumed_from, sizeof(run->resumed_from), "r0123456789a");
    snprintf(run->nf_session, sizeof(run->nf_session), "4f8d0d3e-3b7a-4f5e-9a55-2a1f0b8e7c11");
    /* more lines than the ring holds: the oldest 7 are dropped and log_start is not 0 */
    for (int i = 0; i < RUN_LOG_TAIL + 7; i++) {
        char msg[64], src[32];
        snprintf(msg, sizeof(msg), "line %d \xc3\xa9", i);
        if (i % 3)
            snprintf(src, sizeof(src), "GENERATE (%d)", i % 3);
        else
            snprintf(src, sizeof(src), "REPORT");
        run_log_append(run, msg, src, i % 2, i % 5 == 0 ? -1 : T0 + i);
    }
    assert_int_equal(run->log_count, RUN_LOG_TAIL);
    assert_int_equal(run->log_start, 7);
    run->has_metrics = 1;
    run->metrics = (run_metrics_t){.total_batches = 3,
                                   .total_records = 750,
                                   .total_sum = 37123456789LL,
                                   .average_value = 49.497333333333337,
                                   .worker_pods_spawned = 7,
                                   .execution_time_seconds = 0.1 + 0.2,
                                   .report_path = "/data/runs/r0123456789ab/report.json"};
    return run;
}

/* A run with no message, no triggered_by and no metrics. */
static run_t *bare_run(void)
{
    run_params_t p = {.batch_count = 1, .rows_per_batch = 1, .seed = 0, .triggered_by = NULL};
    run_t *run = run_create(&p, "local-run");
    assert_non_null(run);
    run->status = RUN_QUEUED;
    run->started_ms = T0;
    run->updated_ms = T0;
    return run;
}

static void assert_json_same(json_t *a, json_t *b)
{
    assert_non_null(a);
    assert_non_null(b);
    if (!json_equal(a, b)) {
        char *sa = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
        char *sb = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
        print_error("JSON differs:\n  %s\n  %s\n", sa, sb);
        free(sa);
        free(sb);
        fail();
    }
}

static void assert_opt_string(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

/* Every field of `b` equals that of `a` (log lines compared in order, wherever the ring starts). */
static void assert_runs_equal(const run_t *a, const run_t *b)
{
    assert_string_equal(a->id, b->id);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->started_ms, b->started_ms);
    assert_int_equal(a->finished_ms, b->finished_ms);
    assert_int_equal(a->updated_ms, b->updated_ms);
    assert_string_equal(a->job_name, b->job_name);
    assert_opt_string(a->message, b->message);
    assert_opt_string(a->triggered_by, b->triggered_by);
    assert_int_equal(a->batch_count, b->batch_count);
    assert_int_equal(a->rows_per_batch, b->rows_per_batch);
    assert_int_equal(a->seed, b->seed);
    for (int t = 0; t < wf_task_count(a->batch_count); t++) {
        assert_int_equal(a->tasks[t], b->tasks[t]);
        assert_int_equal(a->task_started_ms[t], b->task_started_ms[t]);
    }
    assert_int_equal(a->tasks_spawned, b->tasks_spawned);
    for (int t = 0; t < wf_task_count(a->batch_count); t++) {
        assert_int_equal(a->attempts[t], b->attempts[t]);
        assert_int_equal(a->outputs[t].size, b->outputs[t].size);
        if (a->outputs[t].size >= 0)
            assert_string_equal(a->outputs[t].sha256, b->outputs[t].sha256);
    }
    assert_string_equal(a->resumed_from, b->resumed_from);
    assert_string_equal(a->nf_session, b->nf_session);
    assert_int_equal(a->has_metrics, b->has_metrics);
    if (a->has_metrics) {
        assert_int_equal(a->metrics.total_batches, b->metrics.total_batches);
        assert_int_equal(a->metrics.total_records, b->metrics.total_records);
        assert_int_equal(a->metrics.total_sum, b->metrics.total_sum);
        assert_true(a->metrics.average_value == b->metrics.average_value);
        assert_int_equal(a->metrics.worker_pods_spawned, b->metrics.worker_pods_spawned);
        assert_true(a->metrics.execution_time_seconds == b->metrics.execution_time_seconds);
        assert_string_equal(a->metrics.report_path, b->metrics.report_path);
    }
    assert_int_equal(a->log_count, b->log_count);
    for (int i = 0; i < a->log_count; i++) {
        const run_log_line_t *la = &a->log[(a->log_start + i) % RUN_LOG_TAIL];
        const run_log_line_t *lb = &b->log[(b->log_start + i) % RUN_LOG_TAIL];
        assert_string_equal(la->message, lb->message);
        assert_string_equal(la->source, lb->source);
        assert_int_equal(la->is_stderr, lb->is_stderr);
        assert_int_equal(la->ts_ms, lb->ts_ms);
    }

    json_t *x, *y;
    assert_json_same(x = run_info_json(a), y = run_info_json(b));
    json_decref(x);
    json_decref(y);
    assert_json_same(x = run_detail_json(a, NOW), y = run_detail_json(b, NOW));
    json_decref(x);
    json_decref(y);
    assert_json_same(x = run_history_json(a), y = run_history_json(b));
    json_decref(x);
    json_decref(y);
}

/* Both ways back: from the json_t record and from its text. */
static void assert_round_trip(const run_t *run)
{
    char err[256] = "";
    json_t *rec = run_to_record(run, "replica-a");
    assert_non_null(rec);
    run_t *back = run_from_record(rec, err, sizeof(err));
    if (back == NULL) {
        print_error("run_from_record: %s\n", err);
        fail();
    }
    assert_runs_equal(run, back);
    run_destroy(back);
    json_decref(rec);

    char *text = run_record_dumps(run, NULL);
    assert_non_null(text);
    back = run_from_record_text(text, strlen(text), err, sizeof(err));
    if (back == NULL) {
        print_error("run_from_record_text: %s\n", err);
        fail();
    }
    assert_runs_equal(run, back);
    run_destroy(back);
    free(text);
}

static void test_full_round_trip(void **state)
{
    (void)state;
    run_t *run = full_run();
    assert_round_trip(run);
    run_destroy(run);
}

static void test_record_shape(void **state)
{
    (void)state;
    run_t *run = full_run();
    json_t *rec = run_to_record(run, "replica-a");
    assert_int_equal(json_integer_value(json_object_get(rec, "v")), 1);
    assert_string_equal(json_string_value(json_object_get(rec, "id")), run->id);
    assert_string_equal(json_string_value(json_object_get(rec, "status")), "failed");
    assert_string_equal(json_string_value(json_object_get(rec, "owner")), "replica-a");
    assert_int_equal(json_integer_value(json_object_get(rec, "seed")), 4294967295LL);
    assert_int_equal(json_array_size(json_object_get(rec, "tasks")), 7);
    assert_int_equal(json_array_size(json_object_get(rec, "task_started_ms")), 7);
    json_t *log = json_object_get(rec, "log");
    assert_int_equal(json_array_size(log), RUN_LOG_TAIL);
    /* oldest kept first: line 7 (the first 7 were dropped), newest last */
    assert_string_equal(json_string_value(json_array_get(json_array_get(log, 0), 0)), "line 7 \xc3\xa9");
    assert_string_equal(json_string_value(json_array_get(json_array_get(log, RUN_LOG_TAIL - 1), 0)),
                        "line 56 \xc3\xa9");
    assert_true(json_is_object(json_object_get(rec, "metrics")));
    json_decref(rec);

    rec = run_to_record(run, NULL);
    assert_true(json_is_null(json_object_get(rec, "owner")));
    json_decref(rec);
    run_destroy(run);
}

static void test_nulls_round_trip(void **state)
{
    (void)state;
    run_t *run = bare_run();
    json_t *rec = run_to_record(run, NULL);
    assert_true(json_is_null(json_object_get(rec, "message")));
    assert_true(json_is_null(json_object_get(rec, "triggered_by")));
    json_t *m = json_object_get(rec, "metrics");
    assert_true(m == NULL || json_is_null(m));
    assert_int_equal(json_array_size(json_object_get(rec, "log")), 0);
    json_decref(rec);

    assert_round_trip(run);
    char err[256] = "";
    char *text = run_record_dumps(run, NULL);
    run_t *back = run_from_record_text(text, 0, err, sizeof(err)); /* len 0: nothing to read */
    assert_null(back);
    assert_true(err[0] != '\0');
    free(text);
    run_destroy(run);
}

static void test_nulls_decode_as_null(void **state)
{
    (void)state;
    /* the same run, decoded from text, has exactly NULL / 0 where nothing was set */
    run_t *run = bare_run();
    char *text = run_record_dumps(run, "me");
    char err[256] = "";
    run_t *back = run_from_record_text(text, strlen(text), err, sizeof(err));
    assert_non_null(back);
    assert_null(back->message);
    assert_null(back->triggered_by);
    assert_int_equal(back->has_metrics, 0);
    assert_int_equal(back->log_count, 0);
    assert_int_equal(back->finished_ms, 0);
    json_t *h = run_history_json(back);
    assert_true(json_is_null(json_object_get(h, "demo_metrics")));
    assert_true(json_is_null(json_object_get(h, "triggered_by")));
    assert_true(json_is_null(json_object_get(h, "finished_at")));
    json_decref(h);
    run_destroy(back);
    free(text);

    /* "metrics": null reads as no metrics */
    json_t *rec = run_to_record(run, NULL);
    json_object_set_new(rec, "metrics", json_null());
    back = run_from_record(rec, err, sizeof(err));
    assert_non_null(back);
    assert_int_equal(back->has_metrics, 0);
    run_destroy(back);
    json_decref(rec);
    run_destroy(run);
}

static void test_every_status_and_size(void **state)
{
    (void)state;
    for (int s = RUN_QUEUED; s <= RUN_UNKNOWN; s++) {
        run_t *run = full_run();
        run->status = (run_status_t)s;
        assert_round_trip(run);
        run_destroy(run);
    }
    /* the largest run: 12 batches, 25 tasks */
    run_params_t p = {.batch_count = 12, .rows_per_batch = 1000000, .seed = 7};
    run_t *big = run_create(&p, "local-run");
    for (int t = 0; t < wf_task_count(12); t++) {
        big->tasks[t] = (wf_task_state_t)(t % 5);
        big->task_started_ms[t] = T0 + t;
    }
    big->status = RUN_SUCCEEDED;
    big->finished_ms = big->started_ms + 1;
    assert_round_trip(big);
    run_destroy(big);
}

static void test_text_length_respected(void **state)
{
    (void)state;
    run_t *run = full_run();
    char *text = run_record_dumps(run, "r");
    size_t n = strlen(text);
    char *padded = malloc(n + 16);
    memcpy(padded, text, n);
    memcpy(padded + n, "garbage{[\"", 11); /* after len: never read */
    char err[256] = "";
    run_t *back = run_from_record_text(padded, n, err, sizeof(err));
    assert_non_null(back);
    assert_runs_equal(run, back);
    run_destroy(back);
    free(padded);
    free(text);
    run_destroy(run);
}

/* `rec` must be rejected with an error message (ASan checks that nothing leaks). Steals `rec`. */
static void expect_reject(json_t *rec, const char *what)
{
    char err[256];
    memset(err, 0, sizeof(err));
    run_t *back = run_from_record(rec, err, sizeof(err));
    if (back != NULL) {
        print_error("%s: accepted, expected NULL\n", what);
        run_destroy(back);
        json_decref(rec);
        fail();
    }
    if (err[0] == '\0') {
        print_error("%s: rejected without an error message\n", what);
        json_decref(rec);
        fail();
    }
    /* and the same from text */
    char *text = json_dumps(rec, JSON_COMPACT);
    json_decref(rec);
    assert_non_null(text);
    memset(err, 0, sizeof(err));
    back = run_from_record_text(text, strlen(text), err, sizeof(err));
    free(text);
    if (back != NULL) {
        print_error("%s: accepted from text, expected NULL\n", what);
        run_destroy(back);
        fail();
    }
    assert_true(err[0] != '\0');
}

static json_t *full_record(void)
{
    run_t *run = full_run();
    json_t *rec = run_to_record(run, "replica-a");
    run_destroy(run);
    return rec;
}

static json_t *with(const char *key, json_t *value)
{
    json_t *rec = full_record();
    json_object_set_new(rec, key, value);
    return rec;
}

static json_t *without(const char *key)
{
    json_t *rec = full_record();
    assert_int_equal(json_object_del(rec, key), 0);
    return rec;
}

static void test_control_record_accepted(void **state)
{
    (void)state;
    /* the record the reject tests start from is itself valid */
    char err[256] = "";
    json_t *rec = full_record();
    run_t *run = run_from_record(rec, err, sizeof(err));
    assert_non_null(run);
    run_destroy(run);
    json_decref(rec);
}

static void test_rejects_header_fields(void **state)
{
    (void)state;
    expect_reject(with("v", json_integer(2)), "v 2");
    expect_reject(with("v", json_integer(0)), "v 0");
    expect_reject(with("v", json_string("1")), "v \"1\"");
    expect_reject(without("v"), "no v");
    expect_reject(with("id", json_string("bad")), "id bad");
    expect_reject(with("id", json_string("r0123456789A")), "id upper case");
    expect_reject(with("id", json_string("r0123456789ab")), "id too long");
    expect_reject(with("id", json_string("")), "id empty");
    expect_reject(with("id", json_string("r0123456789")), "id too short");
    expect_reject(with("id", json_string("x0123456789a")), "id without r");
    expect_reject(with("id", json_integer(1)), "id number");
    expect_reject(with("status", json_string("paused")), "status paused");
    expect_reject(with("status", json_string("")), "status empty");
    expect_reject(with("status", json_string("FAILED")), "status FAILED");
    expect_reject(with("status", json_null()), "status null");
    expect_reject(with("started_ms", json_string("now")), "started_ms string");
    expect_reject(without("updated_ms"), "no updated_ms");
    expect_reject(with("job_name", json_integer(3)), "job_name number");
    char longname[80];
    memset(longname, 'j', 64);
    longname[64] = '\0';
    expect_reject(with("job_name", json_string(longname)), "job_name 64 bytes");
    expect_reject(without("log"), "no log");
    expect_reject(with("log", json_object()), "log object");
}

static void test_rejects_batches_and_tasks(void **state)
{
    (void)state;
    /* batch_count 0 and 13 (with task arrays of the matching 2N+1 length, so only the count is wrong) */
    json_t *rec = with("batch_count", json_integer(0));
    json_t *one = json_array();
    json_array_append_new(one, json_integer(0));
    json_object_set(rec, "tasks", one);
    json_object_set_new(rec, "task_started_ms", one);
    expect_reject(rec, "batch_count 0");
    rec = with("batch_count", json_integer(13));
    json_t *t27 = json_array();
    for (int i = 0; i < 27; i++)
        json_array_append_new(t27, json_integer(0));
    json_object_set(rec, "tasks", t27);
    json_object_set_new(rec, "task_started_ms", t27);
    expect_reject(rec, "batch_count 13");
    expect_reject(with("batch_count", json_integer(-1)), "batch_count -1");
    expect_reject(with("rows_per_batch", json_integer(0)), "rows_per_batch 0");
    expect_reject(with("seed", json_integer(-1)), "seed -1");
    expect_reject(with("seed", json_integer(4294967296LL)), "seed 2^32");

    /* tasks of the wrong length: 7 expected for 3 batches */
    rec = full_record();
    json_array_remove(json_object_get(rec, "tasks"), 6);
    expect_reject(rec, "6 tasks");
    rec = full_record();
    json_array_append_new(json_object_get(rec, "tasks"), json_integer(0));
    expect_reject(rec, "8 tasks");
    rec = full_record();
    json_array_remove(json_object_get(rec, "task_started_ms"), 0);
    expect_reject(rec, "6 task_started_ms");
    rec = full_record();
    json_array_append_new(json_object_get(rec, "task_started_ms"), json_integer(0));
    expect_reject(rec, "8 task_started_ms");
    expect_reject(with("tasks", json_object()), "tasks object");
    expect_reject(with("tasks", json_array()), "tasks empty");
    expect_reject(without("tasks"), "no tasks");
    /* task states: the numbers of wf_task_state_t, TASK_STARTING the last */
    rec = full_record();
    json_array_set_new(json_object_get(rec, "tasks"), 6, json_integer(TASK_STATE_LAST + 1));
    expect_reject(rec, "a task state past the last");
    rec = full_record();
    json_array_set_new(json_object_get(rec, "tasks"), 6, json_integer(-1));
    expect_reject(rec, "a task state -1");
    rec = full_record();
    json_array_set_new(json_object_get(rec, "tasks"), 6, json_string("pending"));
    expect_reject(rec, "a task state by name");
    expect_reject(with("tasks_spawned", json_string("5")), "tasks_spawned string");
}

static void test_rejects_message_types(void **state)
{
    (void)state;
    expect_reject(with("message", json_integer(42)), "message 42");
    expect_reject(with("message", json_true()), "message true");
    expect_reject(with("message", json_array()), "message []");
    expect_reject(without("message"), "no message");
    expect_reject(with("triggered_by", json_integer(1)), "triggered_by 1");
    expect_reject(with("triggered_by", json_object()), "triggered_by {}");
}

static void test_rejects_metrics(void **state)
{
    (void)state;
    static const char *const fields[] = {"total_batches",       "total_records",          "total_sum",  "average_value",
                                         "worker_pods_spawned", "execution_time_seconds", "report_path"};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        json_t *rec = full_record();
        assert_int_equal(json_object_del(json_object_get(rec, "metrics"), fields[i]), 0);
        expect_reject(rec, fields[i]);
    }
    json_t *rec = full_record();
    json_object_set_new(json_object_get(rec, "metrics"), "extra", json_integer(1));
    expect_reject(rec, "metrics with an extra field");
    rec = full_record();
    json_object_set_new(json_object_get(rec, "metrics"), "total_batches", json_string("3"));
    expect_reject(rec, "metrics.total_batches string");
    rec = full_record();
    json_object_set_new(json_object_get(rec, "metrics"), "report_path", json_null());
    expect_reject(rec, "metrics.report_path null");
    char longpath[80];
    memset(longpath, 'p', 64);
    longpath[64] = '\0';
    rec = full_record();
    json_object_set_new(json_object_get(rec, "metrics"), "report_path", json_string(longpath));
    expect_reject(rec, "metrics.report_path 64 bytes");
    expect_reject(with("metrics", json_string("none")), "metrics string");
    expect_reject(with("metrics", json_array()), "metrics array");
    expect_reject(with("metrics", json_object()), "metrics empty object");
}

/* A record written before resume and retry (no attempts, outputs, resumed_from, nf_session) still decodes: no
 * attempts, nothing recorded, resumed from nothing. */
static void test_old_record_without_resume_fields(void **state)
{
    (void)state;
    json_t *rec = full_record();
    const char *keys[] = {"attempts", "outputs", "resumed_from", "nf_session"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(json_object_del(rec, keys[i]), 0);
    char err[256] = "";
    run_t *run = run_from_record(rec, err, sizeof(err));
    assert_non_null(run);
    for (int t = 0; t < 7; t++) {
        assert_int_equal(run->attempts[t], 0);
        assert_int_equal(run->outputs[t].size, -1);
    }
    assert_string_equal(run->resumed_from, "");
    assert_string_equal(run->nf_session, "");
    json_t *info = run_info_json(run);
    assert_true(json_is_null(json_object_get(info, "resumed_from")));
    json_decref(info);
    run_destroy(run);
    json_decref(rec);
}

static void test_resume_fields_shown(void **state)
{
    (void)state;
    run_t *run = full_run();
    json_t *info = run_info_json(run), *hist = run_history_json(run), *tasks = run_tasks_json(run);
    assert_string_equal(json_string_value(json_object_get(info, "resumed_from")), "r0123456789a");
    assert_string_equal(json_string_value(json_object_get(hist, "resumed_from")), "r0123456789a");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(tasks, 3), "attempt")), 3);
    assert_true(json_is_null(json_object_get(json_array_get(tasks, 6), "attempt"))); /* never started */
    json_decref(info);
    json_decref(hist);
    json_decref(tasks);
    run_destroy(run);
}

static void test_rejects_resume_fields(void **state)
{
    (void)state;
    expect_reject(with("attempts", json_pack("[i,i]", 1, 2)), "attempts of the wrong length");
    expect_reject(with("attempts", json_pack("[i,i,i,i,i,i,i]", 1, 1, 1, -1, 1, 1, 1)), "a negative attempt");
    expect_reject(with("outputs", json_pack("[n,n,n,n,n,n,[i,s]]", 5, "abc")), "a short SHA-256");
    expect_reject(with("outputs", json_pack("[n,n,n,n,n,n,[i,s]]", -1,
                                            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")),
                  "a negative size");
    expect_reject(with("outputs", json_pack("[n,n,n,n,n,n,[i,s]]", 1,
                                            "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")),
                  "an upper-case digest");
    expect_reject(with("resumed_from", json_string("not-a-run")), "a malformed resumed_from");
    expect_reject(with("resumed_from", json_integer(3)), "a resumed_from that is no string");
    expect_reject(with("nf_session", json_string("0123456789012345678901234567890123456789x")), "a long session");
}

static void test_rejects_malformed_text(void **state)
{
    (void)state;
    static const char *const texts[] = {"", "{", "not json", "[]", "null", "42", "{\"v\":1}", "{\"v\":1,}"};
    char err[256];
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        memset(err, 0, sizeof(err));
        run_t *run = run_from_record_text(texts[i], strlen(texts[i]), err, sizeof(err));
        if (run != NULL) {
            print_error("\"%s\" accepted\n", texts[i]);
            run_destroy(run);
            fail();
        }
        assert_true(err[0] != '\0');
    }
    /* a valid record cut short anywhere is malformed */
    run_t *full = full_run();
    char *text = run_record_dumps(full, "x");
    size_t n = strlen(text);
    for (size_t cut = 0; cut < n; cut += 97) {
        memset(err, 0, sizeof(err));
        run_t *run = run_from_record_text(text, cut, err, sizeof(err));
        assert_null(run);
        assert_true(err[0] != '\0');
    }
    memset(err, 0, sizeof(err));
    assert_null(run_from_record_text(text, n - 1, err, sizeof(err)));
    assert_true(err[0] != '\0');
    /* invalid UTF-8 inside a string */
    static const char bad_utf8[] = "{\"v\":1,\"id\":\"r0123456789a\",\"message\":\"\xff\"}";
    assert_null(run_from_record_text(bad_utf8, strlen(bad_utf8), err, sizeof(err)));
    free(text);
    run_destroy(full);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_round_trip),
        cmocka_unit_test(test_record_shape),
        cmocka_unit_test(test_nulls_round_trip),
        cmocka_unit_test(test_nulls_decode_as_null),
        cmocka_unit_test(test_every_status_and_size),
        cmocka_unit_test(test_text_length_respected),
        cmocka_unit_test(test_control_record_accepted),
        cmocka_unit_test(test_rejects_header_fields),
        cmocka_unit_test(test_rejects_batches_and_tasks),
        cmocka_unit_test(test_rejects_message_types),
        cmocka_unit_test(test_rejects_metrics),
        cmocka_unit_test(test_rejects_malformed_text),
        cmocka_unit_test(test_old_record_without_resume_fields),
        cmocka_unit_test(test_resume_fields_shown),
        cmocka_unit_test(test_rejects_resume_fields),
    };
    return cmocka_run_group_tests_name("run_codec", tests, NULL, NULL);
}
