/* The orchestrator's run life cycle: events, waiters, the executor's reports, the end, cancel, shutdown (a run's
 * request, lock and start: orch_start.c). */
#include "core/orchestrator.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs_work.h"
#include "core/orch_internal.h"
#include "core/report.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/text.h"

/* ---- events ---------------------------------------------------------------------------------------------------- */

void orch_emit(orch_t *orch, const run_t *run, event_type_t type, json_t *data)
{
    ((run_t *)run)->updated_ms = clock_now_ms();
    events_emit(orch->events, type, run->id, data);
}

void orch_set_status(orch_t *orch, run_status_t status)
{
    run_t *run = orch->active;
    log_info("orch", "run %s: %s -> %s", run->id, run_status_name(run->status), run_status_name(status));
    run->status = status;
    json_t *data = json_pack("{s:s,s:s,s:o}", "status", run_status_name(status), "job_name", run->job_name, "run",
                             run_info_json(run));
    if (run->message)
        json_object_set_new(data, "message", json_string(run->message));
    orch_emit(orch, run, EVENT_STATUS, data);
    orch->store->ops->save_active(orch->store, run);
}

static void emit_progress(orch_t *orch, int task, int figures_only)
{
    run_t *run = orch->active;
    json_t *data = run_progress_json(run);
    if (figures_only) /* the task's state did not change: its times and figures did */
        json_object_set_new(data, "figures_only", json_true());
    json_t *t = run_task_update_json(run, task); /* with its times and figures known now */
    json_object_set_new(t, "attempt", json_integer(run->attempts[task] > 0 ? run->attempts[task] : 1));
    json_object_set_new(data, "task", t);
    json_object_set_new(data, "estimated_completion", orch_estimated_completion(orch, run));
    orch_emit(orch, run, EVENT_PROGRESS, data);
    orch->store->ops->save_active(orch->store, run);
}

void orch_emit_progress(orch_t *orch, int task)
{
    emit_progress(orch, task, 0);
}

void orch_emit_figures(orch_t *orch, int task)
{
    emit_progress(orch, task, 1);
}

void orch_emit_error(orch_t *orch, const char *stage, const char *message)
{
    orch->error_sent = 1;
    orch_emit(orch, orch->active, EVENT_ERROR, json_pack("{s:s,s:s}", "stage", stage, "message", message));
}

static void emit_complete(orch_t *orch, const run_t *run)
{
    /* with the final state of every task: those that never ran end cancelled without a progress message */
    orch_emit(orch, run, EVENT_COMPLETE,
              json_pack("{s:s,s:o,s:f,s:o,s:o}", "status", run_status_name(run->status), "run", run_info_json(run),
                        "duration_seconds", run_duration_seconds(run, 0), "demo_metrics", run_metrics_json(run),
                        "tasks", run_tasks_json(run)));
}

static void on_logs_flushed(void *ctx, json_t *lines)
{
    orch_t *orch = ctx;
    if (orch->active)
        orch_emit(orch, orch->active, EVENT_LOG, json_pack("{s:o}", "lines", lines));
    else
        json_decref(lines);
}

/* A log line into the run's tail and the next log message. */
static void add_log_line(orch_t *orch, const char *message, const char *source, int is_stderr, int64_t ts_ms)
{
    run_log_line_t line = {
        .message = (char *)message, .source = (char *)source, .is_stderr = is_stderr, .ts_ms = ts_ms};
    if (log_batch_add(&orch->logs, run_log_line_json(&line)) == 0) {
        run_log_append(orch->active, message, source, is_stderr, ts_ms);
        orch_shared_save_soon(orch);
    }
}

void orch_say(orch_t *orch, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    add_log_line(orch, msg, "orchestrator", 0, clock_now_ms());
}

/* ---- waiters --------------------------------------------------------------------------------------------------- */

/* Every request waiting for the queued run gets it: the first one in (answered last) started it. */
void orch_answer_run_waiters(orch_t *orch, const run_t *run)
{
    while (orch->run_waiters) {
        orch_waiter_t *w = orch->run_waiters;
        orch_waiter_forget(w);
        w->reply(w, 200, orch_run_answer(run, orch->run_waiters != NULL));
    }
}

void orch_fail_run_waiters(orch_t *orch, int status, const char *detail)
{
    while (orch->run_waiters) {
        orch_waiter_t *w = orch->run_waiters;
        orch_waiter_forget(w);
        w->reply(w, status, json_pack("{s:s}", "detail", detail));
    }
}

static void answer_no_active_run(orch_waiter_t *w)
{
    w->reply(w, 200,
             json_pack("{s:n,s:s,s:b,s:s}", "run_id", "status", "unknown", "cancelled", 0, "detail", "No active run"));
}

/* Answers the cancels waiting for `run_id`: the run ended with `status`, or (NULL) it never started. */
void orch_answer_cancels(orch_t *orch, const char *run_id, const char *status)
{
    orch_waiter_t *keep = NULL;
    while (orch->cancel_waiters) {
        orch_waiter_t *w = orch->cancel_waiters;
        orch_waiter_forget(w);
        if (strcmp(w->run_id, run_id) != 0) {
            orch_waiter_link(&keep, w);
        } else if (status == NULL) {
            answer_no_active_run(w);
        } else {
            int cancelled = strcmp(status, "cancelled") == 0;
            w->reply(w, 200,
                     json_pack("{s:s,s:s,s:b,s:s}", "run_id", run_id, "status", status, "cancelled", cancelled,
                               "detail",
                               cancelled ? "Run cancelled: every task was stopped"
                                         : "The run ended before it could be cancelled"));
        }
    }
    while (keep) {
        orch_waiter_t *w = keep;
        orch_waiter_forget(w);
        orch_waiter_link(&orch->cancel_waiters, w);
    }
}

/* ---- ending a run ---------------------------------------------------------------------------------------------- */

static void mark_unfinished_tasks(run_t *run, run_status_t status)
{
    if (status == RUN_SUCCEEDED)
        return;
    for (int t = 0; t < wf_task_count(run->batch_count); t++)
        if (run->tasks[t] == TASK_PENDING || run->tasks[t] == TASK_STARTING || run->tasks[t] == TASK_RUNNING)
            run->tasks[t] = TASK_CANCELLED;
}

/* A shutdown waits for the active run (or the queued one's lock attempt) to be over. */
void orch_maybe_shutdown_done(orch_t *orch)
{
    if (orch->shutting_down && orch->shutdown_cb && orch->active == NULL) {
        void (*cb)(void *) = orch->shutdown_cb;
        orch->shutdown_cb = NULL;
        cb(orch->shutdown_data);
    }
}

/* `report`: report.json of a succeeded run as read (or NULL), recorded with it in a shared store. */
void orch_end_run(orch_t *orch, run_status_t status, const char *report)
{
    run_t *run = orch->active;
    mark_unfinished_tasks(run, status);
    if (run->finished_ms == 0)
        run->finished_ms = clock_now_ms();
    if (orch->lock_lost) {
        /* another replica ended this run already and told everyone: only our own state changes */
        log_warn("orch", "run %s: %s -> %s locally (its lock went to another replica)", run->id,
                 run_status_name(run->status), run_status_name(status));
        run->status = status;
        log_batch_discard(&orch->logs); /* its lines must not go out later under the next run's id */
    } else {
        if (status == RUN_FAILED && !orch->error_sent)
            orch_emit_error(orch, "orchestrator", run->message ? run->message : "the run failed");
        orch_say(orch, "Run %s %s after %.1f s", run->id, run_status_name(status), run_duration_seconds(run, 0));
        log_batch_flush(&orch->logs);
        orch_set_status(orch, status);
        emit_complete(orch, run);
        orch->store->ops->save_finished(orch->store, run, status == RUN_SUCCEEDED ? report : NULL, 1);
    }
    orch_shared_run_ended(orch);
    orch->active = NULL;
    run_destroy(orch->resume_src); /* ended before its outputs were checked */
    orch->resume_src = NULL;
    history_add(&orch->history, run);
    fs_work_remove_tree(orch->loop, orch->work_dir);
    orch_answer_cancels(orch, run->id, run_status_name(run->status));
    orch_answer_run_waiters(orch, run);
    orch_maybe_shutdown_done(orch);
}

void orch_end_orphan(orch_t *orch, run_t *orphan, int ours)
{
    if (!run_status_is_terminal(orphan->status)) {
        log_warn("orch", "run %s: its replica stopped renewing the lease; ending it as failed", orphan->id);
        static const char msg[] = "orchestrator lost: the replica running it stopped renewing its lease";
        orphan->status = RUN_FAILED;
        orphan->finished_ms = clock_now_ms();
        mark_unfinished_tasks(orphan, RUN_FAILED);
        run_set_message(orphan, msg);
        orch_emit(orch, orphan, EVENT_ERROR, json_pack("{s:s,s:s}", "stage", "orchestrator", "message", msg));
        orch_emit(orch, orphan, EVENT_STATUS,
                  json_pack("{s:s,s:s,s:o,s:s}", "status", "failed", "job_name", orphan->job_name, "run",
                            run_info_json(orphan), "message", msg));
        emit_complete(orch, orphan);
        if (orch->exec->ops->abandon) /* its work may outlive its replica (a Job in the cluster) */
            orch->exec->ops->abandon(orch->exec, orphan->id);
    }
    orch->store->ops->save_finished(orch->store, orphan, NULL, ours);
    run_destroy(orphan);
}

/* The report of a run whose tasks all succeeded, read in the thread pool: its totals make the run's metrics. */
static void on_report_read(void *data, int err, char *text, size_t len)
{
    orch_t *orch = data;
    run_t *run = orch->active;
    char msg[512];
    if (err != 0) {
        snprintf(msg, sizeof(msg), "report.json unreadable: %s", uv_strerror(err));
    } else if (report_parse_metrics(text, len, &run->metrics, msg, sizeof(msg)) == 0) {
        run->metrics.worker_pods_spawned = run->tasks_spawned;
        run->metrics.execution_time_seconds = run_duration_seconds(run, 0);
        snprintf(run->metrics.report_path, sizeof(run->metrics.report_path), "results/%s/report.json", run->id);
        run->has_metrics = 1;
        orch_end_run(orch, RUN_SUCCEEDED, text);
        free(text);
        return;
    }
    free(text);
    run_set_message(run, msg);
    orch_end_run(orch, RUN_FAILED, NULL);
}

/* ---- executor reports ------------------------------------------------------------------------------------------ */

/* Paths under DATA_DIR are shown relative to it ("results/r…/batch_1.csv"): anonymous readers see messages and
 * logs, and the server's folders are none of their business. */
static size_t hide_data_dir(orch_t *orch, char *text)
{
    char prefix[sizeof(orch->cfg->data_dir) + 1];
    snprintf(prefix, sizeof(prefix), "%s/", orch->cfg->data_dir);
    return text_remove_all(text, prefix);
}

static void on_task_started(void *data, int task)
{
    orch_t *orch = data;
    run_t *run = orch->active;
    if (orch->releasing)
        return; /* handed over: what the executor says now is not the run's news */
    run->tasks[task] = TASK_RUNNING;
    run->task_started_ms[task] = clock_now_ms();
    run->tasks_spawned++;
    orch_cost_started(orch, task);
    orch_emit_progress(orch, task);
}

static void on_task_finished(void *data, int task, wf_task_state_t state, const char *detail)
{
    orch_t *orch = data;
    run_t *run = orch->active;
    if (orch->releasing)
        return;
    char label[32];
    wf_task_label(run->batch_count, task, label, sizeof(label));
    run->tasks[task] = state;
    orch_cost_finished(orch, task);
    if (state == TASK_SUCCEEDED)
        orch_outputs_record(orch, task);
    if (state == TASK_FAILED && !orch->failed && !orch->cancel_requested) {
        char msg[1200];
        snprintf(msg, sizeof(msg), "%s failed: %s", label, detail ? detail : "unknown error");
        text_trim_partial_utf8(msg);
        hide_data_dir(orch, msg);
        log_warn("orch", "run %s: %s", run->id, msg);
        orch->failed = 1;
        run_set_message(run, msg);
        orch_emit_error(orch, label, run->message); /* repaired to UTF-8 */
        orch->exec->ops->stop(orch->exec);
    }
    orch_emit_progress(orch, task);
    orch_sched_soon(orch);
}

/* A workflow engine named the run's session (Nextflow's): kept in the run's record, for a resume of it. */
static void on_session(void *data, const char *id)
{
    orch_t *orch = data;
    run_t *run = orch->active;
    if (orch->releasing || run == NULL || strcmp(run->nf_session, id) == 0 || strlen(id) >= sizeof(run->nf_session))
        return;
    snprintf(run->nf_session, sizeof(run->nf_session), "%s", id);
    orch->store->ops->save_active(orch->store, run);
}

static void on_task_requeued(void *data, int task)
{
    if (!((orch_t *)data)->releasing)
        orch_sched_requeue(data, task);
}

static void on_room(void *data)
{
    if (!((orch_t *)data)->releasing)
        orch_sched_soon(data);
}

static void on_task_log(void *data, int task, int is_stderr, const char *line, size_t len)
{
    orch_t *orch = data;
    if (orch->releasing)
        return;
    char text[4200], label[32];
    size_t n = text_sanitize_utf8(text, sizeof(text), line, len);
    n = hide_data_dir(orch, text);
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
    if (task == EXEC_TASK_CONTROLLER) {
        snprintf(label, sizeof(label), "nextflow");
    } else {
        wf_task_label(orch->active->batch_count, task, label, sizeof(label));
        if (orch->active->attempts[task] > 1) { /* a retry's lines say which attempt they come from */
            char tagged[sizeof(text) + 32];
            snprintf(tagged, sizeof(tagged), "[attempt %d] %s", orch->active->attempts[task], msg);
            add_log_line(orch, tagged, label, is_stderr, ts);
            return;
        }
    }
    add_log_line(orch, msg, label, is_stderr, ts);
}

static void on_exec_done(void *data, int ok, const char *detail)
{
    orch_t *orch = data;
    run_t *run = orch->active;
    if (orch->releasing) {
        orch_handover_released(orch); /* the executor let go of the run: the store hands it over */
        return;
    }
    if (orch_outputs_wait(orch, ok, detail))
        return; /* once every output is recorded */
    run->finished_ms = clock_now_ms(); /* the same end for duration_seconds and execution_time_seconds */
    run_status_t status;
    if (orch->cancel_requested) {
        status = RUN_CANCELLED;
    } else if (orch->failed) {
        status = RUN_FAILED;
    } else if (!ok) {
        char msg[600];
        snprintf(msg, sizeof(msg), "executor failed: %s", detail ? detail : "unknown error");
        run_set_message(run, msg);
        orch_emit_error(orch, "executor", run->message);
        status = RUN_FAILED;
    } else if (orch->exec->results_unseen) {
        status = RUN_SUCCEEDED; /* the results are on a volume this service does not mount: no demo_metrics */
    } else {
        char path[1200];
        snprintf(path, sizeof(path), "%s/report.json", orch->results_dir);
        int rc = fs_work_read(orch->loop, path, REPORT_MAX_BYTES, on_report_read, orch);
        if (rc == 0)
            return; /* the run ends once its report is read */
        on_report_read(orch, rc, NULL, 0);
        return;
    }
    orch_end_run(orch, status, NULL);
}

/* ---- cancel ---------------------------------------------------------------------------------------------------- */

void orch_cancel_local(orch_t *orch)
{
    run_t *run = orch->active;
    if (run == NULL || orch->cancel_requested)
        return;
    orch->cancel_requested = 1;
    run_set_message(run, orch->shutting_down ? "Cancelled: the service is shutting down" : "Cancelled on request");
    log_info("orch", "run %s: cancel requested", run->id);
    if (run->status == RUN_STARTING || run->status == RUN_RUNNING) {
        orch_say(orch, "Cancel requested: stopping every task");
        orch->exec->ops->stop(orch->exec);
    }
}

void orch_cancel(orch_t *orch, orch_waiter_t *w, orch_reply_cb cb)
{
    w->reply = cb;
    if (orch->active) {
        snprintf(w->run_id, sizeof(w->run_id), "%s", orch->active->id);
        orch_waiter_link(&orch->cancel_waiters, w);
        orch_cancel_local(orch);
    } else if (orch->store->ops->shared) {
        orch_shared_cancel(orch, w);
    } else {
        answer_no_active_run(w);
    }
}

/* ---- life cycle ------------------------------------------------------------------------------------------------ */

static void on_event(void *ctx, const event_t *ev)
{
    /* a run owned elsewhere ended: answer the cancels relayed to its owner */
    if (ev->type == EVENT_COMPLETE) {
        const char *status = json_string_value(json_object_get(ev->data, "status"));
        orch_answer_cancels(ctx, ev->run_id, status ? status : "unknown");
    }
}

orch_t *orch_create(uv_loop_t *loop, const config_t *cfg, events_t *events, store_t *store, const char *replica)
{
    orch_t *orch = calloc(1, sizeof(*orch));
    if (orch == NULL)
        abort();
    orch->loop = loop;
    orch->cfg = cfg;
    orch->events = events;
    orch->store = store;
    snprintf(orch->replica, sizeof(orch->replica), "%s", replica);
    history_init(&orch->history, cfg->run_history_limit, cfg->run_ttl_minutes);
    log_batch_init(&orch->logs, loop, on_logs_flushed, orch);
    orch->listener = (exec_listener_t){
        .data = orch,
        .task_started = on_task_started,
        .task_finished = on_task_finished,
        .task_log = on_task_log,
        .done = on_exec_done,
        .task_requeued = on_task_requeued,
        .task_lost = orch_sched_on_task_lost,
        .task_cost = orch_cost_on_report,
        .room = on_room,
        .session = on_session,
    };
    events_subscribe(events, on_event, orch);
    orch_shared_init(orch);
    orch_sched_init(orch);
    return orch;
}

const exec_listener_t *orch_exec_listener(orch_t *orch)
{
    return &orch->listener;
}

void orch_set_executor(orch_t *orch, executor_t *executor)
{
    orch->exec = executor;
}

const run_t *orch_active(orch_t *orch)
{
    return orch->active && orch->active->status != RUN_QUEUED ? orch->active : NULL;
}

void orch_shutdown(orch_t *orch, void (*cb)(void *data), void *data)
{
    orch->shutting_down = 1;
    orch_fail_run_waiters(orch, 503, "The service is shutting down");
    if (orch->active == NULL) {
        cb(data);
        return;
    }
    orch->shutdown_cb = cb;
    orch->shutdown_data = data;
    if (orch_handover(orch) != 0) /* its pods or Job go on: another replica takes the run over */
        orch_cancel_local(orch);
}

static void on_handle_closed(uv_handle_t *h)
{
    orch_t *orch = h->data;
    if (--orch->open_handles == 0)
        free(orch);
}

void orch_destroy(orch_t *orch)
{
    events_unsubscribe(orch->events, on_event, orch);
    if (orch->exec)
        orch->exec->ops->destroy(orch->exec);
    run_destroy(orch->active);
    history_dispose(&orch->history);
    orch->logs.timer.data = orch;
    orch->open_handles = 2 + orch_shared_handles(orch, on_handle_closed);
    uv_close((uv_handle_t *)&orch->sched_timer, on_handle_closed);
    log_batch_close(&orch->logs, on_handle_closed);
}
