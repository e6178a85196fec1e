#include "model/run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/text.h"

static const char *const status_names[] = {"queued", "starting",  "running", "succeeded",
                                           "failed", "cancelled", "unknown"};

run_t *run_create(const run_params_t *params, const char *job_prefix)
{
    run_t *run = calloc(1, sizeof(*run));
    if (run == NULL)
        abort();
    run_id_generate(run->id);
    run->status = RUN_QUEUED;
    run->started_ms = run->updated_ms = clock_now_ms();
    snprintf(run->job_name, sizeof(run->job_name), "%s-%s", job_prefix, run->id);
    run->batch_count = params->batch_count;
    run->rows_per_batch = params->rows_per_batch;
    run->seed = params->seed;
    run->triggered_by = params->triggered_by ? strdup(params->triggered_by) : NULL;
    for (int t = 0; t < WF_MAX_TASKS; t++) {
        run->outputs[t].size = -1;
        run_cost_init(&run->costs[t]);
    }
    return run;
}

void run_destroy(run_t *run)
{
    if (run == NULL)
        return;
    for (int i = 0; i < run->log_count; i++) {
        run_log_line_t *l = &run->log[(run->log_start + i) % RUN_LOG_TAIL];
        free(l->message);
        free(l->source);
    }
    free(run->message);
    free(run->triggered_by);
    free(run->past);
    free(run);
}

const char *run_status_name(run_status_t status)
{
    return status <= RUN_UNKNOWN ? status_names[status] : "unknown";
}

int run_status_parse(const char *name)
{
    for (int i = 0; i <= RUN_UNKNOWN; i++)
        if (strcmp(name, status_names[i]) == 0)
            return i;
    return -1;
}

int run_status_is_terminal(run_status_t status)
{
    return status >= RUN_SUCCEEDED;
}

void run_set_message(run_t *run, const char *message)
{
    free(run->message);
    run->message = NULL;
    if (message == NULL)
        return;
    /* it goes into JSON everywhere: invalid bytes become U+FFFD (at most 3 bytes for each byte) */
    size_t len = strlen(message);
    run->message = malloc(3 * len + 1);
    if (run->message == NULL)
        abort();
    text_sanitize_utf8(run->message, 3 * len + 1, message, len);
}

void run_log_append(run_t *run, const char *message, const char *source, int is_stderr, int64_t ts_ms)
{
    run_log_line_t *l;
    if (run->log_count == RUN_LOG_TAIL) {
        l = &run->log[run->log_start];
        free(l->message);
        free(l->source);
        run->log_start = (run->log_start + 1) % RUN_LOG_TAIL;
    } else {
        l = &run->log[(run->log_start + run->log_count++) % RUN_LOG_TAIL];
    }
    l->message = strdup(message);
    l->source = strdup(source);
    l->is_stderr = is_stderr;
    l->ts_ms = ts_ms;
}

double run_duration_seconds(const run_t *run, int64_t now_ms)
{
    int64_t end = run->finished_ms ? run->finished_ms : now_ms;
    return end > run->started_ms ? (end - run->started_ms) / 1000.0 : 0.0;
}

void run_progress(const run_t *run, wf_progress_t *out)
{
    wf_progress(run->batch_count, run->tasks, out);
}

json_t *run_time_json(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char buf[CLOCK_RFC3339_LEN + 1];
    clock_format_rfc3339(ms, buf);
    return json_string(buf);
}

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *run_resumed_from_json(const run_t *run)
{
    return run->resumed_from[0] ? json_string(run->resumed_from) : json_null();
}

json_t *run_info_json(const run_t *run)
{
    return json_pack("{s:s,s:s,s:o,s:o,s:s,s:o,s:i,s:o,s:o}", "run_id", run->id, "status",
                     run_status_name(run->status), "started_at", run_time_json(run->started_ms), "finished_at",
                     run_time_json(run->finished_ms), "job_name", run->job_name, "message",
                     string_or_null(run->message), "batch_count", run->batch_count, "triggered_by",
                     string_or_null(run->triggered_by), "resumed_from", run_resumed_from_json(run));
}

json_t *run_metrics_json(const run_t *run)
{
    if (!run->has_metrics)
        return json_null();
    const run_metrics_t *m = &run->metrics;
    return json_pack("{s:i,s:I,s:I,s:f,s:i,s:f,s:s}", "total_batches", m->total_batches, "total_records",
                     (json_int_t)m->total_records, "total_sum", (json_int_t)m->total_sum, "average_value",
                     m->average_value, "worker_pods_spawned", m->worker_pods_spawned, "execution_time_seconds",
                     m->execution_time_seconds, "report_path", m->report_path);
}

json_t *run_history_json(const run_t *run)
{
    return json_pack("{s:s,s:s,s:o,s:o,s:f,s:o,s:s,s:i,s:o,s:o}", "run_id", run->id, "status",
                     run_status_name(run->status), "started_at", run_time_json(run->started_ms), "finished_at",
                     run_time_json(run->finished_ms), "duration_seconds", run_duration_seconds(run, run->finished_ms),
                     "triggered_by", string_or_null(run->triggered_by), "job_name", run->job_name, "batch_count",
                     run->batch_count, "demo_metrics", run_metrics_json(run), "resumed_from",
                     run_resumed_from_json(run));
}

static double percent_of(const run_t *run)
{
    wf_progress_t p;
    run_progress(run, &p);
    return p.percent;
}

json_t *run_detail_json(const run_t *run, int64_t now_ms)
{
    json_t *o = run_info_json(run);
    json_object_set_new(o, "duration_seconds", json_real(run_duration_seconds(run, now_ms)));
    json_object_set_new(o, "progress_percent", json_real(percent_of(run)));
    json_object_set_new(o, "demo_metrics", run_metrics_json(run));
    json_object_set_new(o, "tasks", run_tasks_json(run));
    return o;
}

json_t *run_progress_json(const run_t *run)
{
    wf_progress_t p;
    run_progress(run, &p);
    json_t *stages = json_array();
    for (int s = 0; s < STAGE_COUNT; s++)
        json_array_append_new(stages, json_pack("{s:s,s:i,s:i,s:i,s:i}", "name", wf_stage_name(s), "completed",
                                                p.stages[s].completed, "running", p.stages[s].running, "failed",
                                                p.stages[s].failed, "total", p.stages[s].total));
    return json_pack("{s:i,s:i,s:f,s:i,s:i,s:o}", "completed", p.completed, "total", p.total, "percent", p.percent,
                     "batches_generated", p.batches_generated, "batches_analyzed", p.batches_analyzed, "stages",
                     stages);
}

json_t *run_log_line_json(const run_log_line_t *line)
{
    return json_pack("{s:s,s:o,s:s,s:s}", "message", line->message, "timestamp", run_time_json(line->ts_ms), "source",
                     line->source, "stream", line->is_stderr ? "stderr" : "stdout");
}

static json_t *task_json(const run_t *run, int t, int known_only)
{
    wf_stage_t stage = wf_task_stage(run->batch_count, t);
    json_t *o = json_pack("{s:s,s:i,s:s}", "name", wf_stage_name(stage), "batch", wf_task_batch(run->batch_count, t),
                          "state", wf_task_state_name(run->tasks[t]));
    run_cost_add_json(o, &run->costs[t], run->attempts[t], known_only);
    return o;
}

json_t *run_task_json(const run_t *run, int t)
{
    return task_json(run, t, 0);
}

json_t *run_task_update_json(const run_t *run, int t)
{
    return task_json(run, t, 1);
}

json_t *run_tasks_json(const run_t *run)
{
    json_t *tasks = json_array();
    for (int t = 0; t < wf_task_count(run->batch_count); t++)
        json_array_append_new(tasks, run_task_json(run, t));
    return tasks;
}

void run_cost_archive(run_t *run, int task, int state)
{
    if (run->past == NULL && (run->past = calloc(RUN_MAX_PAST_ATTEMPTS, sizeof(*run->past))) == NULL)
        abort();
    if (run->past_count < RUN_MAX_PAST_ATTEMPTS)
        run->past[run->past_count++] = (run_attempt_t){.task = task, .state = state, .cost = run->costs[task]};
    run_cost_init(&run->costs[task]);
}
