/* What the orchestrator answers to reads: status, history, one run, its report — from memory, or from the shared
 * store for runs this replica does not own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs_work.h"
#include "core/orch_internal.h"
#include "core/report.h"
#include "util/clock.h"

#define LOG_PREVIEW_LINES           10
#define STREAM_PATH                 "/api/v1/pipeline/stream"

/* ---- waiters and calls ----------------------------------------------------------------------------------------- */

void orch_waiter_link(orch_waiter_t **list, orch_waiter_t *w)
{
    w->next = *list;
    if (*list)
        (*list)->pprev = &w->next;
    w->pprev = list;
    *list = w;
}

void orch_waiter_forget(orch_waiter_t *w)
{
    if (w->pprev) {
        *w->pprev = w->next;
        if (w->next)
            w->next->pprev = w->pprev;
        w->next = NULL;
        w->pprev = NULL;
    }
    if (w->call) {
        w->call->waiter = NULL;
        w->call = NULL;
    }
}

orch_call_t *orch_call_new(orch_t *orch, orch_waiter_t *w)
{
    orch_call_t *call = calloc(1, sizeof(*call));
    if (call == NULL)
        abort();
    call->orch = orch;
    call->waiter = w;
    w->call = call;
    return call;
}

orch_waiter_t *orch_call_done(orch_call_t *call)
{
    orch_waiter_t *w = call->waiter;
    if (w)
        w->call = NULL;
    free(call);
    return w;
}

static void store_unavailable(orch_waiter_t *w)
{
    json_t *body = json_pack("{s:s}", "detail", "The state store is unavailable; retry shortly");
    if (w->reply)
        w->reply(w, 503, body);
    else {
        json_decref(body);
        w->text(w, 503, NULL, 0);
    }
}

/* ---- JSON ------------------------------------------------------------------------------------------------------ */

json_t *orch_run_answer(const run_t *run, int attached)
{
    json_t *answer = json_pack("{s:s,s:s,s:b,s:s,s:s}", "run_id", run->id, "status", run_status_name(run->status),
                               "attached", attached, "job_name", run->job_name, "websocket_url", STREAM_PATH);
    if (run->resumed_from[0]) /* POST /runs/{id}/resume's answer, and an attach to a resumed run */
        json_object_set_new(answer, "resumed_from", json_string(run->resumed_from));
    return answer;
}

json_t *orch_estimated_completion(orch_t *orch, const run_t *run)
{
    int64_t now = clock_now_ms();
    if (!run_is_active(run))
        return json_null();
    double elapsed[WF_MAX_TASKS];
    for (int t = 0; t < wf_task_count(run->batch_count); t++)
        elapsed[t] = (now - run->task_started_ms[t]) / 1000.0;
    wf_durations_t d;
    wf_durations_of(orch->cfg, run->batch_count, &d);
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

json_t *orch_status_json(orch_t *orch, const run_t *run, int connected_clients)
{
    /* seq: the last broadcast this replica has seen, so a client can order this answer against the stream */
    json_t *o = json_pack("{s:b,s:s,s:i,s:I}", "active", run_is_active(run), "websocket_url", STREAM_PATH,
                          "connected_clients", connected_clients, "seq", (json_int_t)orch->events->seq);
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
    json_object_set_new(o, "estimated_completion", orch_estimated_completion(orch, run));
    json_object_set_new(o, "parallel_workers_active", json_integer(p.running));
    json_object_set_new(o, "demo_metrics", run_metrics_json(run));
    json_object_set_new(o, "progress", run_progress_json(run));
    json_object_set_new(o, "tasks", run_tasks_json(run));
    return o;
}

/* The run this replica answers for by itself: its active run, or (memory store) the newest finished one. */
static const run_t *local_current(orch_t *orch, int *decided)
{
    const run_t *active = orch_active(orch);
    *decided = active != NULL || !orch->store->ops->shared;
    if (active)
        return active;
    history_expire(&orch->history, clock_now_ms());
    return history_newest(&orch->history);
}

/* ---- GET /status ----------------------------------------------------------------------------------------------- */

static void on_status_loaded(void *data, int ok, run_t *active, int leased, run_t *last)
{
    (void)leased;
    orch_call_t *call = data;
    orch_t *orch = call->orch;
    int clients = call->connected_clients;
    orch_waiter_t *w = orch_call_done(call);
    if (w && !ok)
        store_unavailable(w);
    else if (w)
        w->reply(w, 200, orch_status_json(orch, active ? active : last, clients));
    run_destroy(active);
    run_destroy(last);
}

void orch_status(orch_t *orch, int connected_clients, orch_waiter_t *w, orch_reply_cb cb)
{
    w->reply = cb;
    int decided;
    const run_t *run = local_current(orch, &decided);
    if (decided) {
        cb(w, 200, orch_status_json(orch, run, connected_clients));
        return;
    }
    orch_call_t *call = orch_call_new(orch, w);
    call->connected_clients = connected_clients;
    orch->store->ops->load_status(orch->store, on_status_loaded, call);
}

/* ---- GET /api/v1/demo/metrics ------------------------------------------------------------------------------- */

#define SUMMARY_RECENT 5

static json_t *summary_json(const run_t *const *runs, int count)
{
    int succeeded = 0, failed = 0, cancelled = 0, timed = 0;
    long long batches = 0, records = 0;
    double total_time = 0, min_time = 0, max_time = 0;
    json_t *recent = json_array();
    for (int i = 0; i < count; i++) {
        const run_t *run = runs[i];
        succeeded += run->status == RUN_SUCCEEDED;
        failed += run->status == RUN_FAILED;
        cancelled += run->status == RUN_CANCELLED;
        if (run->has_metrics) {
            double t = run->metrics.execution_time_seconds;
            min_time = timed == 0 || t < min_time ? t : min_time;
            max_time = timed == 0 || t > max_time ? t : max_time;
            total_time += t;
            timed++;
            batches += run->metrics.total_batches;
            records += run->metrics.total_records;
        }
        if (i < SUMMARY_RECENT)
            json_array_append_new(recent, run_history_json(run));
    }
    json_t *avg = timed ? json_real(total_time / timed) : json_null();
    json_t *min = timed ? json_real(min_time) : json_null();
    json_t *max = timed ? json_real(max_time) : json_null();
    return json_pack("{s:i,s:i,s:i,s:i,s:f,s:o,s:o,s:o,s:I,s:I,s:o}", "total_runs", count, "successful_runs", succeeded,
                     "failed_runs", failed, "cancelled_runs", cancelled, "success_rate",
                     count ? (double)(long)(succeeded * 10000.0 / count + 0.5) / 100.0 : 0.0,
                     "average_execution_time_seconds", avg, "min_execution_time_seconds", min,
                     "max_execution_time_seconds", max, "total_batches_processed", (json_int_t)batches,
                     "total_records_processed", (json_int_t)records, "recent_runs", recent);
}

static void on_summary_loaded(void *data, int ok, run_t **runs, int count)
{
    orch_waiter_t *w = orch_call_done(data);
    if (w && !ok)
        store_unavailable(w);
    else if (w)
        w->reply(w, 200, summary_json((const run_t *const *)runs, count));
    for (int i = 0; i < count; i++)
        run_destroy(runs[i]);
}

void orch_metrics_summary(orch_t *orch, orch_waiter_t *w, orch_reply_cb cb)
{
    w->reply = cb;
    if (orch->store->ops->shared) {
        orch->store->ops->load_history(orch->store, HISTORY_MAX, on_summary_loaded, orch_call_new(orch, w));
        return;
    }
    history_expire(&orch->history, clock_now_ms());
    cb(w, 200, summary_json((const run_t *const *)orch->history.items, orch->history.count));
}

/* ---- GET /history ---------------------------------------------------------------------------------------------- */

static void on_history_loaded(void *data, int ok, run_t **runs, int count)
{
    orch_call_t *call = data;
    int limit = call->limit;
    orch_waiter_t *w = orch_call_done(call);
    if (w && !ok) {
        store_unavailable(w);
    } else if (w) {
        json_t *list = json_array();
        for (int i = 0; i < count && i < limit; i++)
            json_array_append_new(list, run_history_json(runs[i]));
        w->reply(w, 200, list);
    }
    for (int i = 0; i < count; i++)
        run_destroy(runs[i]);
}

void orch_history(orch_t *orch, int limit, orch_waiter_t *w, orch_reply_cb cb)
{
    w->reply = cb;
    if (orch->store->ops->shared) {
        orch_call_t *call = orch_call_new(orch, w);
        call->limit = limit;
        orch->store->ops->load_history(orch->store, limit, on_history_loaded, call);
        return;
    }
    history_expire(&orch->history, clock_now_ms());
    json_t *list = json_array();
    for (int i = 0; i < orch->history.count && i < limit; i++)
        json_array_append_new(list, run_history_json(orch->history.items[i]));
    cb(w, 200, list);
}

/* ---- GET /runs/{id} -------------------------------------------------------------------------------------------- */

static void not_found(orch_waiter_t *w)
{
    w->reply(w, 404, json_pack("{s:s}", "detail", "Run not found"));
}

/* RunDetail, with the run's Nextflow session (kept for `-resume`; null when not known or not a nextflow run). */
static json_t *detail_json(const run_t *run)
{
    json_t *detail = run_detail_json(run, clock_now_ms());
    json_object_set_new(detail, "nf_session", run->nf_session[0] ? json_string(run->nf_session) : json_null());
    return detail;
}

static void on_found_loaded(void *data, int ok, run_t **runs, int count)
{
    orch_call_t *call = data;
    orch_found_cb found = call->found;
    orch_waiter_t *w = orch_call_done(call);
    if (w)
        found(w, !ok ? 503 : count == 0 ? 404 : 200, count > 0 ? runs[0] : NULL);
    for (int i = 0; i < count; i++)
        run_destroy(runs[i]);
}

void orch_find_run(orch_t *orch, const char *run_id, orch_waiter_t *w, orch_found_cb found)
{
    const run_t *active = orch_active(orch);
    if (active && strcmp(active->id, run_id) == 0) {
        found(w, 200, active);
        return;
    }
    if (orch->store->ops->shared) {
        orch_call_t *call = orch_call_new(orch, w);
        call->found = found;
        orch->store->ops->load_run(orch->store, run_id, on_found_loaded, call);
        return;
    }
    history_expire(&orch->history, clock_now_ms());
    const run_t *run = history_find(&orch->history, run_id);
    found(w, run ? 200 : 404, run);
}

static void detail_found(orch_waiter_t *w, int status, const run_t *run)
{
    if (status == 200)
        w->reply(w, 200, detail_json(run));
    else if (status == 404)
        not_found(w);
    else
        store_unavailable(w);
}

void orch_run_detail(orch_t *orch, const char *run_id, orch_waiter_t *w, orch_reply_cb cb)
{
    w->reply = cb;
    orch_find_run(orch, run_id, w, detail_found);
}

/* ---- GET /runs/{id}/report ------------------------------------------------------------------------------------- */

static void on_report_loaded(void *data, int ok, const char *text, size_t len)
{
    orch_waiter_t *w = orch_call_done(data);
    if (w == NULL)
        return;
    if (!ok)
        store_unavailable(w);
    else
        w->text(w, text ? 200 : 404, text, len);
}

void orch_results_dir(const orch_t *orch, const char *run_id, char *out, size_t cap)
{
    if (orch->exec && orch->exec->results_root)
        snprintf(out, cap, "%s/%s", orch->exec->results_root, run_id);
    else
        snprintf(out, cap, "%s/results/%s", orch->cfg->data_dir, run_id);
}

/* The report as written on disk (in the thread pool), else the copy in the shared store. */
static void on_report_file(void *data, int err, char *text, size_t len)
{
    orch_call_t *call = data;
    orch_t *orch = call->orch;
    if (text && call->waiter) {
        orch_waiter_t *w = orch_call_done(call);
        w->text(w, 200, text, len);
    } else if (err != 0 && call->waiter && orch->store->ops->shared) {
        orch->store->ops->load_report(orch->store, call->run_id, on_report_loaded, call);
    } else {
        orch_waiter_t *w = orch_call_done(call);
        if (w)
            w->text(w, 404, NULL, 0);
    }
    free(text);
}

void orch_run_report(orch_t *orch, const char *run_id, orch_waiter_t *w, orch_text_cb cb)
{
    w->reply = NULL;
    w->text = cb;
    char dir[1100], path[1200];
    orch_results_dir(orch, run_id, dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/report.json", dir);
    orch_call_t *call = orch_call_new(orch, w);
    snprintf(call->run_id, sizeof(call->run_id), "%s", run_id);
    /* results out of this service's reach: only the shared store may have the report */
    int rc =
        orch->exec->results_unseen ? UV_ENOENT : fs_work_read(orch->loop, path, REPORT_MAX_BYTES, on_report_file, call);
    if (rc != 0)
        on_report_file(call, rc, NULL, 0);
}
