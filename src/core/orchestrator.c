#include "core/orchestrator.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/history.h"
#include "core/log_batch.h"
#include "core/report.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/text.h"

#define LOG_PREVIEW_LINES 10
#define LOCAL_TASK_OVERHEAD_SECONDS 0.05

struct orch {
    uv_loop_t *loop;
    const config_t *cfg;
    events_t *events;
    store_t *store;
    executor_t *exec;
    exec_listener_t listener;
    history_t history;
    log_batch_t logs;
    run_t *active;                 /* owned while queued, starting or running; then it moves to history */
    int cancel_requested, failed;  /* of the active run */
    int error_sent;                /* an error message went out for the active run */
    orch_waiter_t *run_waiters;    /* requests waiting for the queued run's lock */
    orch_waiter_t *cancel_waiters; /* cancels waiting for the active run to end */
    char results_dir[1100], work_dir[1100];
    int shutting_down;
    void (*shutdown_cb)(void *);
    void *shutdown_data;
};

/* ---- waiters --------------------------------------------------------------------------------------------------- */

static void waiter_link(orch_waiter_t **list, orch_waiter_t *w)
{
    w->next = *list;
    if (*list)
        (*list)->pprev = &w->next;
    w->pprev = list;
    *list = w;
}

void orch_waiter_forget(orch_waiter_t *w)
{
    if (w->pprev == NULL)
        return;
    *w->pprev = w->next;
    if (w->next)
        w->next->pprev = w->pprev;
    w->next = NULL;
    w->pprev = NULL;
}

static void answer_run_waiters(orch_t *orch, const run_t *run, const char *detail)
{
    while (orch->run_waiters) {
        orch_waiter_t *w = orch->run_waiters;
        orch_waiter_forget(w);
        /* the first request of a run started it; the others attached to it */
        w->run_cb(w, run, orch->run_waiters != NULL, detail);
    }
}

static void answer_cancel_waiters(orch_t *orch, const run_t *run)
{
    while (orch->cancel_waiters) {
        orch_waiter_t *w = orch->cancel_waiters;
        orch_waiter_forget(w);
        w->cancel_cb(w, run, run->status == RUN_CANCELLED);
    }
}

/* ---- events ---------------------------------------------------------------------------------------------------- */

static void emit(orch_t *orch, event_type_t type, json_t *data)
{
    orch->active->updated_ms = clock_now_ms();
    events_emit(orch->events, type, orch->active->id, data);
}

static void set_status(orch_t *orch, run_status_t status)
{
    run_t *run = orch->active;
    log_info("orch", "run %s: %s -> %s", run->id, run_status_name(run->status), run_status_name(status));
    run->status = status;
    json_t *data = json_pack("{s:s,s:s}", "status", run_status_name(status), "job_name", run->job_name);
    if (run->message)
        json_object_set_new(data, "message", json_string(run->message));
    emit(orch, EVENT_STATUS, data);
    orch->store->ops->save_active(orch->store, run);
}

static void emit_progress(orch_t *orch, int task)
{
    run_t *run = orch->active;
    json_t *data = run_progress_json(run);
    json_object_set_new(data, "task",
                        json_pack("{s:s,s:i,s:s}", "name", wf_stage_name(wf_task_stage(run->batch_count, task)),
                                  "batch", wf_task_batch(run->batch_count, task), "state",
                                  wf_task_state_name(run->tasks[task])));
    emit(orch, EVENT_PROGRESS, data);
    orch->store->ops->save_active(orch->store, run);
}

static void emit_error(orch_t *orch, const char *stage, const char *message)
{
    orch->error_sent = 1;
    emit(orch, EVENT_ERROR, json_pack("{s:s,s:s}", "stage", stage, "message", message));
}

static void on_logs_flushed(void *ctx, json_t *lines)
{
    orch_t *orch = ctx;
    if (orch->active)
        emit(orch, EVENT_LOG, json_pack("{s:o}", "lines", lines));
    else
        json_decref(lines);
}

/* A log line into the run's tail and the next log message. */
static void add_log_line(orch_t *orch, const char *message, const char *source, int is_stderr, int64_t ts_ms)
{
    run_log_line_t line = {.message = (char *)message, .source = (char *)source, .is_stderr = is_stderr,
                           .ts_ms = ts_ms};
    if (log_batch_add(&orch->logs, run_log_line_json(&line)) == 0)
        run_log_append(orch->active, message, source, is_stderr, ts_ms);
}

static void say(orch_t *orch, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(orch_t *orch, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    add_log_line(orch, msg, "orchestrator", 0, clock_now_ms());
}

/* ---- ending a run ---------------------------------------------------------------------------------------------- */

static void end_run(orch_t *orch, run_status_t status)
{
    run_t *run = orch->active;
    int n = wf_task_count(run->batch_count);
    for (int t = 0; t < n; t++)
        if (run->tasks[t] == TASK_PENDING || run->tasks[t] == TASK_RUNNING)
            run->tasks[t] = status == RUN_SUCCEEDED ? run->tasks[t] : TASK_CANCELLED;
    run->finished_ms = clock_now_ms();
    if (status == RUN_FAILED && !orch->error_sent)
        emit_error(orch, "orchestrator", run->message ? run->message : "the run failed");
    say(orch, "Run %s %s after %.1f s", run->id, run_status_name(status), run_duration_seconds(run, 0));
    log_batch_flush(&orch->logs);
    set_status(orch, status);
    emit(orch, EVENT_COMPLETE,
         json_pack("{s:s,s:o,s:f,s:o}", "status", run_status_name(status), "run", run_info_json(run),
                   "duration_seconds", run_duration_seconds(run, 0), "demo_metrics", run_metrics_json(run)));
    orch->store->ops->save_finished(orch->store, run);
    orch->store->ops->release(orch->store, run->id);
    orch->active = NULL;
    history_add(&orch->history, run);
    fs_remove_tree(orch->work_dir);
    answer_cancel_waiters(orch, run);
    answer_run_waiters(orch, run, NULL);
    if (orch->shutting_down && orch->shutdown_cb) {
        void (*cb)(void *) = orch->shutdown_cb;
        orch->shutdown_cb = NULL;
        cb(orch->shutdown_data);
    }
}

static int read_metrics(orch_t *orch, run_t *run)
{
    char path[1200], err[512];
    snprintf(path, sizeof(path), "%s/report.json", orch->results_dir);
    if (report_read_metrics(path, &run->metrics, err, sizeof(err)) != 0) {
        run_set_message(run, err);
        return -1;
    }
    run->metrics.worker_pods_spawned = run->tasks_spawned;
    run->metrics.execution_time_seconds = run_duration_seconds(run, clock_now_ms());
    snprintf(run->metrics.report_path, sizeof(run->metrics.report_path), "results/%s/report.json", run->id);
    run->has_metrics = 1;
    return 0;
}

/* ---- executor reports ------------------------------------------------------------------------------------------ */

static void on_task_started(void *data, int task)
{
    orch_t *orch = data;
    run_t *run = orch->active;
    run->tasks[task] = TASK_RUNNING;
    run->task_started_ms[task] = clock_now_ms();
    run->tasks_spawned++;
    emit_progress(orch, task);
}

static void on_task_finished(void *data, int task, wf_task_state_t state, const char *detail)
{
    orch_t *orch = data;
    run_t *run = orch->active;
    char label[32];
    wf_task_label(run->batch_count, task, label, sizeof(label));
    run->tasks[task] = state;
    if (state == TASK_FAILED && !orch->failed && !orch->cancel_requested) {
        char msg[1200];
        snprintf(msg, sizeof(msg), "%s failed: %s", label, detail ? detail : "unknown error");
        log_warn("orch", "run %s: %s", run->id, msg);
        orch->failed = 1;
        run_set_message(run, msg);
        emit_error(orch, label, msg);
        orch->exec->ops->stop(orch->exec);
    }
    emit_progress(orch, task);
}

static void on_task_log(void *data, int task, int is_stderr, const char *line, size_t len)
{
    orch_t *orch = data;
    char text[4200], label[32];
    size_t n = text_sanitize_utf8(text, sizeof(text), line, len);
    int64_t ts = -1;
    size_t used = 0;
    const char *msg = text;
    if (clock_parse_iso8601_prefix(text, n, &ts, &used) == 0) {
        msg = text + used;
        while (*msg == ' ' || *msg == '\t' || *msg == '-' || *msg == ']' || *msg == '|')
            msg++;
    } else {
        ts = -1;
    }
    wf_task_label(orch->active->batch_count, task, label, sizeof(label));
    add_log_line(orch, msg, label, is_stderr, ts);
}

static void on_exec_done(void *data, int ok, const char *detail)
{
    orch_t *orch = data;
    run_t *run = orch->active;
    run_status_t status;
    if (orch->cancel_requested) {
        status = RUN_CANCELLED;
    } else if (orch->failed) {
        status = RUN_FAILED;
    } else if (!ok) {
        char msg[600];
        snprintf(msg, sizeof(msg), "executor failed: %s", detail ? detail : "unknown error");
        run_set_message(run, msg);
        emit_error(orch, "executor", msg);
        status = RUN_FAILED;
    } else {
        status = read_metrics(orch, run) == 0 ? RUN_SUCCEEDED : RUN_FAILED;
    }
    end_run(orch, status);
}

/* ---- starting a run -------------------------------------------------------------------------------------------- */

static void begin_run(orch_t *orch)
{
    run_t *run = orch->active;
    snprintf(orch->results_dir, sizeof(orch->results_dir), "%s/results/%s", orch->cfg->data_dir, run->id);
    snprintf(orch->work_dir, sizeof(orch->work_dir), "%s/work/%s", orch->cfg->data_dir, run->id);
    set_status(orch, RUN_STARTING);
    say(orch, "Run %s: %d batches of %d rows, seed %u, on the %s executor", run->id, run->batch_count,
        run->rows_per_batch, run->seed, orch->exec->ops->name);

    int rc = fs_mkdir_p(orch->results_dir);
    if (rc == 0)
        rc = fs_mkdir_p(orch->work_dir);
    const char *what = "cannot create the run's folders";
    if (rc == 0) {
        exec_spec_t spec = {
            .run_id = run->id,
            .batches = run->batch_count,
            .rows_per_batch = run->rows_per_batch,
            .seed = run->seed,
            .generate_seconds = orch->cfg->generate_seconds,
            .analyze_seconds = orch->cfg->analyze_seconds,
            .work_dir = orch->work_dir,
            .results_dir = orch->results_dir,
        };
        rc = orch->exec->ops->start(orch->exec, &spec);
        what = "the executor could not start";
    }
    if (rc != 0) {
        char msg[300];
        snprintf(msg, sizeof(msg), "%s: %s", what, uv_strerror(rc));
        log_error("orch", "run %s: %s", run->id, msg);
        run_set_message(run, msg);
        emit_error(orch, "executor", msg);
        end_run(orch, RUN_FAILED);
        return;
    }
    set_status(orch, RUN_RUNNING);
    answer_run_waiters(orch, run, NULL);
}

static void on_lock(void *data, store_acquire_result_t result, const char *holder)
{
    orch_t *orch = data;
    run_t *run = orch->active;
    if (result == STORE_ACQUIRED) {
        if (orch->cancel_requested) {
            set_status(orch, RUN_STARTING);
            end_run(orch, RUN_CANCELLED);
        } else {
            begin_run(orch);
        }
        return;
    }
    const char *detail = result == STORE_HELD ? "Another run is active on another replica; retry shortly"
                                              : "The state store is unavailable; retry shortly";
    log_warn("orch", "run %s not started: %s (holder %s)", run->id, detail, holder ? holder : "-");
    orch->active = NULL;
    answer_run_waiters(orch, NULL, detail);
    while (orch->cancel_waiters) {
        orch_waiter_t *w = orch->cancel_waiters;
        orch_waiter_forget(w);
        w->cancel_cb(w, NULL, 0);
    }
    run_destroy(run);
}

void orch_request_run(orch_t *orch, const run_params_t *params, orch_waiter_t *w, orch_run_cb cb)
{
    w->run_cb = cb;
    if (orch->shutting_down) {
        cb(w, NULL, 0, "The service is shutting down");
        return;
    }
    if (orch->active && orch->active->status != RUN_QUEUED) {
        cb(w, orch->active, 1, NULL);
        return;
    }
    /* waiters are answered newest first; the first one in (the last answered) started the run */
    waiter_link(&orch->run_waiters, w);
    if (orch->active)
        return; /* the lock is being taken for a queued run: answer together */
    orch->active = run_create(params, orch->cfg->executor == EXECUTOR_KUBERNETES ? "nextflow-run" : "local-run");
    orch->cancel_requested = orch->failed = orch->error_sent = 0;
    orch->store->ops->acquire(orch->store, orch->active->id, on_lock, orch);
}

void orch_cancel(orch_t *orch, orch_waiter_t *w, orch_cancel_cb cb)
{
    w->cancel_cb = cb;
    run_t *run = orch->active;
    if (run == NULL) {
        cb(w, NULL, 0);
        return;
    }
    waiter_link(&orch->cancel_waiters, w);
    if (orch->cancel_requested)
        return;
    orch->cancel_requested = 1;
    run_set_message(run, orch->shutting_down ? "Cancelled: the service is shutting down" : "Cancelled on request");
    log_info("orch", "run %s: cancel requested", run->id);
    if (run->status == RUN_STARTING || run->status == RUN_RUNNING) {
        say(orch, "Cancel requested: stopping every task");
        orch->exec->ops->stop(orch->exec);
    }
}

/* ---- reading ---------------------------------------------------------------------------------------------------- */

const run_t *orch_active(orch_t *orch) { return orch->active; }

const run_t *orch_find(orch_t *orch, const char *run_id)
{
    if (orch->active && strcmp(orch->active->id, run_id) == 0)
        return orch->active;
    history_expire(&orch->history, clock_now_ms());
    return history_find(&orch->history, run_id);
}

static json_t *estimated_completion(orch_t *orch, const run_t *run, int64_t now)
{
    if (!run_is_active(run))
        return json_null();
    double elapsed[WF_MAX_TASKS];
    for (int t = 0; t < wf_task_count(run->batch_count); t++)
        elapsed[t] = (now - run->task_started_ms[t]) / 1000.0;
    wf_durations_t d = {
        .generate = orch->cfg->generate_seconds,
        .analyze = orch->cfg->analyze_seconds,
        .overhead = LOCAL_TASK_OVERHEAD_SECONDS,
        .parallelism = orch->cfg->local_parallelism,
    };
    double left = wf_estimate_remaining(run->batch_count, run->tasks, elapsed, &d);
    return run_time_json(now + (int64_t)(left * 1000));
}

static json_t *log_preview(const run_t *run)
{
    json_t *lines = json_array();
    int first = run->log_count > LOG_PREVIEW_LINES ? run->log_count - LOG_PREVIEW_LINES : 0;
    for (int i = first; i < run->log_count; i++) {
        const run_log_line_t *l = &run->log[(run->log_start + i) % RUN_LOG_TAIL];
        json_array_append_new(lines, json_sprintf("[%s] %s", l->source, l->message));
    }
    return lines;
}

json_t *orch_status_json(orch_t *orch, int connected_clients)
{
    int64_t now = clock_now_ms();
    history_expire(&orch->history, now);
    const run_t *run = orch->active ? orch->active : history_newest(&orch->history);
    json_t *o = json_pack("{s:b,s:s,s:i}", "active", run_is_active(run), "websocket_url", "/api/v1/pipeline/stream",
                          "connected_clients", connected_clients);
    if (run == NULL) {
        json_object_set_new(o, "run", json_null());
        json_object_set_new(o, "progress_percent", json_null());
        json_object_set_new(o, "log_preview", json_array());
        json_object_set_new(o, "last_update", json_null());
        json_object_set_new(o, "batches_generated", json_integer(0));
        json_object_set_new(o, "batches_analyzed", json_integer(0));
        json_object_set_new(o, "estimated_completion", json_null());
        json_object_set_new(o, "parallel_workers_active", json_integer(0));
        json_object_set_new(o, "demo_metrics", json_null());
        return o;
    }
    wf_progress_t p;
    run_progress(run, &p);
    json_object_set_new(o, "run", run_info_json(run));
    json_object_set_new(o, "progress_percent", json_real(p.percent));
    json_object_set_new(o, "log_preview", log_preview(run));
    json_object_set_new(o, "last_update", run_time_json(run->updated_ms));
    json_object_set_new(o, "batches_generated", json_integer(p.batches_generated));
    json_object_set_new(o, "batches_analyzed", json_integer(p.batches_analyzed));
    json_object_set_new(o, "estimated_completion", estimated_completion(orch, run, now));
    json_object_set_new(o, "parallel_workers_active", json_integer(p.running));
    json_object_set_new(o, "demo_metrics", run_metrics_json(run));
    json_object_set_new(o, "progress", run_progress_json(run));
    json_object_set_new(o, "tasks", run_tasks_json(run));
    return o;
}

json_t *orch_history_json(orch_t *orch, int limit)
{
    history_expire(&orch->history, clock_now_ms());
    json_t *list = json_array();
    for (int i = 0; i < orch->history.count && i < limit; i++)
        json_array_append_new(list, run_history_json(orch->history.items[i]));
    return list;
}

/* ---- life cycle ------------------------------------------------------------------------------------------------- */

orch_t *orch_create(uv_loop_t *loop, const config_t *cfg, events_t *events, store_t *store)
{
    orch_t *orch = calloc(1, sizeof(*orch));
    if (orch == NULL)
        abort();
    orch->loop = loop;
    orch->cfg = cfg;
    orch->events = events;
    orch->store = store;
    history_init(&orch->history, cfg->run_history_limit, cfg->run_ttl_minutes);
    log_batch_init(&orch->logs, loop, on_logs_flushed, orch);
    orch->listener = (exec_listener_t){
        .data = orch,
        .task_started = on_task_started,
        .task_finished = on_task_finished,
        .task_log = on_task_log,
        .done = on_exec_done,
    };
    return orch;
}

const exec_listener_t *orch_exec_listener(orch_t *orch) { return &orch->listener; }

void orch_set_executor(orch_t *orch, executor_t *executor) { orch->exec = executor; }

static void on_shutdown_cancelled(orch_waiter_t *w, const run_t *run, int cancelled)
{
    (void)w, (void)run, (void)cancelled; /* the shutdown callback fires from end_run */
}

void orch_shutdown(orch_t *orch, void (*cb)(void *data), void *data)
{
    static orch_waiter_t shutdown_waiter;
    orch->shutting_down = 1;
    answer_run_waiters(orch, NULL, "The service is shutting down");
    if (orch->active == NULL) {
        cb(data);
        return;
    }
    orch->shutdown_cb = cb;
    orch->shutdown_data = data;
    orch_cancel(orch, &shutdown_waiter, on_shutdown_cancelled);
}

static void on_logs_closed(uv_handle_t *h)
{
    orch_t *orch = h->data;
    free(orch);
}

void orch_destroy(orch_t *orch)
{
    if (orch->exec)
        orch->exec->ops->destroy(orch->exec);
    run_destroy(orch->active);
    history_dispose(&orch->history);
    orch->logs.timer.data = orch;
    log_batch_close(&orch->logs, on_logs_closed);
}
