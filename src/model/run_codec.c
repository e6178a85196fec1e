#include "model/run_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORD_VERSION 1

static json_t *optional_string(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Each task's cost, and the past attempts as [task, state, cost]. */
static json_t *costs_to_record(const run_t *run, int n)
{
    json_t *costs = json_array(), *past = json_array();
    for (int t = 0; t < n; t++)
        json_array_append_new(costs, run_cost_to_record(&run->costs[t]));
    for (int i = 0; i < run->past_count; i++)
        json_array_append_new(past, json_pack("[i,i,o]", run->past[i].task, run->past[i].state,
                                              run_cost_to_record(&run->past[i].cost)));
    return json_pack("{s:o,s:o}", "tasks", costs, "past", past);
}

/* The costs added for issue 19; a record written before them has none (optional). */
static int read_costs(run_t *run, const json_t *rec, int n, char *err, size_t errlen)
{
    json_t *costs = json_object_get(rec, "costs");
    if (costs == NULL || json_is_null(costs))
        return 0;
    json_t *tasks = json_object_get(costs, "tasks"), *past = json_object_get(costs, "past");
    if (!json_is_array(tasks) || json_array_size(tasks) != (size_t)n || (past && !json_is_array(past)) ||
        json_array_size(past) > RUN_MAX_PAST_ATTEMPTS)
        goto bad;
    for (size_t i = 0; i < json_array_size(past); i++) {
        int task, state;
        json_t *cost;
        run_attempt_t a;
        if (json_unpack(json_array_get(past, i), "[i,i,o]", &task, &state, &cost) != 0 || task < 0 || task >= n ||
            state < TASK_PENDING || state > TASK_STATE_LAST || run_cost_from_record(cost, &a.cost) != 0)
            goto bad;
        a.task = task;
        a.state = state;
        run_cost_archive(run, task, state); /* makes room (the tasks' own costs are read after) */
        run->past[run->past_count - 1] = a;
    }
    for (int t = 0; t < n; t++)
        if (run_cost_from_record(json_array_get(tasks, (size_t)t), &run->costs[t]) != 0)
            goto bad;
    return 0;
bad:
    snprintf(err, errlen, "bad run record: costs out of range");
    return -1;
}

json_t *run_to_record(const run_t *run, const char *owner)
{
    int n = wf_task_count(run->batch_count);
    json_t *tasks = json_array(), *started = json_array(), *log = json_array();
    for (int t = 0; t < n; t++) {
        json_array_append_new(tasks, json_integer(run->tasks[t]));
        json_array_append_new(started, json_integer(run->task_started_ms[t]));
    }
    for (int i = 0; i < run->log_count; i++) {
        const run_log_line_t *l = &run->log[(run->log_start + i) % RUN_LOG_TAIL];
        json_array_append_new(log, json_pack("[s,s,b,I]", l->message, l->source, l->is_stderr, (json_int_t)l->ts_ms));
    }
    json_t *rec = json_pack(
        "{s:i,s:s,s:s,s:I,s:I,s:I,s:s,s:o,s:o,s:i,s:i,s:I,s:o,s:o,s:i,s:o,s:o}", "v", RECORD_VERSION, "id", run->id,
        "status", run_status_name(run->status), "started_ms", (json_int_t)run->started_ms, "finished_ms",
        (json_int_t)run->finished_ms, "updated_ms", (json_int_t)run->updated_ms, "job_name", run->job_name, "message",
        optional_string(run->message), "triggered_by", optional_string(run->triggered_by), "batch_count",
        run->batch_count, "rows_per_batch", run->rows_per_batch, "seed", (json_int_t)run->seed, "tasks", tasks,
        "task_started_ms", started, "tasks_spawned", run->tasks_spawned, "log", log, "owner", optional_string(owner));
    json_t *attempts = json_array(), *outputs = json_array();
    for (int t = 0; t < n; t++) {
        json_array_append_new(attempts, json_integer(run->attempts[t]));
        json_array_append_new(outputs, run->outputs[t].size < 0 ? json_null()
                                                                : json_pack("[I,s]", (json_int_t)run->outputs[t].size,
                                                                            run->outputs[t].sha256));
    }
    json_object_set_new(rec, "attempts", attempts);
    json_object_set_new(rec, "costs", costs_to_record(run, n));
    json_object_set_new(rec, "outputs", outputs);
    json_object_set_new(rec, "resumed_from", run_resumed_from_json(run));
    json_object_set_new(rec, "nf_session", optional_string(run->nf_session[0] ? run->nf_session : NULL));
    if (run->has_metrics) {
        const run_metrics_t *m = &run->metrics;
        json_object_set_new(rec, "metrics",
                            json_pack("{s:i,s:I,s:I,s:f,s:i,s:f,s:s}", "total_batches", m->total_batches,
                                      "total_records", (json_int_t)m->total_records, "total_sum",
                                      (json_int_t)m->total_sum, "average_value", m->average_value,
                                      "worker_pods_spawned", m->worker_pods_spawned, "execution_time_seconds",
                                      m->execution_time_seconds, "report_path", m->report_path));
    }
    return rec;
}

char *run_record_dumps(const run_t *run, const char *owner)
{
    json_t *rec = run_to_record(run, owner);
    char *text = json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(rec);
    return text;
}

static int read_metrics(run_t *run, json_t *m, char *err, size_t errlen)
{
    json_int_t batches, records, sum, pods;
    double average, seconds;
    const char *path;
    json_error_t jerr;
    if (json_unpack_ex(m, &jerr, JSON_STRICT, "{s:I,s:I,s:I,s:F,s:I,s:F,s:s}", "total_batches", &batches,
                       "total_records", &records, "total_sum", &sum, "average_value", &average, "worker_pods_spawned",
                       &pods, "execution_time_seconds", &seconds, "report_path", &path) != 0 ||
        strlen(path) >= sizeof(run->metrics.report_path)) {
        snprintf(err, errlen, "bad metrics: %s", jerr.text[0] ? jerr.text : "report_path is too long");
        return -1;
    }
    run->metrics = (run_metrics_t){.total_batches = (int)batches,
                                   .total_records = records,
                                   .total_sum = sum,
                                   .average_value = average,
                                   .worker_pods_spawned = (int)pods,
                                   .execution_time_seconds = seconds};
    snprintf(run->metrics.report_path, sizeof(run->metrics.report_path), "%s", path);
    run->has_metrics = 1;
    return 0;
}

static int is_hex(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[len] == '\0';
}

/* The fields added for resume and retry; a record written before them has none (every one optional). */
static int read_resume_fields(run_t *run, const json_t *rec, int n, char *err, size_t errlen)
{
    json_t *attempts = json_object_get(rec, "attempts"), *outputs = json_object_get(rec, "outputs");
    json_t *from = json_object_get(rec, "resumed_from"), *session = json_object_get(rec, "nf_session");
    if ((attempts && (!json_is_array(attempts) || json_array_size(attempts) != (size_t)n)) ||
        (outputs && (!json_is_array(outputs) || json_array_size(outputs) != (size_t)n)))
        goto bad;
    for (int t = 0; attempts && t < n; t++) {
        json_t *a = json_array_get(attempts, (size_t)t);
        if (!json_is_integer(a) || json_integer_value(a) < 0 || json_integer_value(a) > 1000)
            goto bad;
        run->attempts[t] = (int)json_integer_value(a);
    }
    for (int t = 0; outputs && t < n; t++) {
        json_t *o = json_array_get(outputs, (size_t)t);
        json_int_t size;
        const char *sha;
        if (json_is_null(o))
            continue;
        if (json_unpack(o, "[I,s]", &size, &sha) != 0 || size < 0 || strlen(sha) != 64 || !is_hex(sha, 64))
            goto bad;
        run->outputs[t].size = size;
        memcpy(run->outputs[t].sha256, sha, 65);
    }
    if (from && !json_is_null(from)) {
        const char *id = json_string_value(from);
        if (id == NULL || !run_id_valid(id, strlen(id)))
            goto bad;
        memcpy(run->resumed_from, id, RUN_ID_LEN + 1);
    }
    if (session && !json_is_null(session)) {
        const char *sid = json_string_value(session);
        if (sid == NULL || strlen(sid) >= sizeof(run->nf_session))
            goto bad;
        snprintf(run->nf_session, sizeof(run->nf_session), "%s", sid);
    }
    return 0;
bad:
    snprintf(err, errlen, "bad run record: attempts, outputs, resumed_from or nf_session out of range");
    return -1;
}

run_t *run_from_record(const json_t *rec, char *err, size_t errlen)
{
    const char *id, *status, *job, *message = NULL, *triggered = NULL;
    json_int_t started, finished, updated, batches, rows, seed, spawned;
    json_t *tasks, *task_started, *log, *metrics = NULL, *owner = NULL, *msg_j, *trig_j;
    int version;
    json_error_t jerr;
    if (json_unpack_ex((json_t *)rec, &jerr, 0,
                       "{s:i,s:s,s:s,s:I,s:I,s:I,s:s,s:o,s:o,s:I,s:I,s:I,s:o,s:o,s:I,s:o,s?o,s?o}", "v", &version, "id",
                       &id, "status", &status, "started_ms", &started, "finished_ms", &finished, "updated_ms", &updated,
                       "job_name", &job, "message", &msg_j, "triggered_by", &trig_j, "batch_count", &batches,
                       "rows_per_batch", &rows, "seed", &seed, "tasks", &tasks, "task_started_ms", &task_started,
                       "tasks_spawned", &spawned, "log", &log, "metrics", &metrics, "owner", &owner) != 0) {
        snprintf(err, errlen, "bad run record: %s", jerr.text);
        return NULL;
    }
    int st = run_status_parse(status);
    message = json_string_value(msg_j);
    triggered = json_string_value(trig_j);
    if (version != RECORD_VERSION || !run_id_valid(id, strlen(id)) || st < 0 || batches < 1 ||
        batches > CONFIG_MAX_BATCH_COUNT || rows < 1 || rows > 1000000 || seed < 0 || seed > 4294967295LL ||
        !json_is_array(tasks) || json_array_size(tasks) != (size_t)wf_task_count((int)batches) ||
        !json_is_array(task_started) || json_array_size(task_started) != json_array_size(tasks) ||
        !json_is_array(log) || strlen(job) >= sizeof(((run_t *)0)->job_name) || (!json_is_null(msg_j) && !message) ||
        (!json_is_null(trig_j) && !triggered) || spawned < 0 || spawned > WF_MAX_TASKS) {
        snprintf(err, errlen, "bad run record: a field is out of range");
        return NULL;
    }
    for (size_t t = 0; t < json_array_size(tasks); t++) {
        json_t *state = json_array_get(tasks, t), *at = json_array_get(task_started, t);
        if (!json_is_integer(state) || json_integer_value(state) < TASK_PENDING ||
            json_integer_value(state) > TASK_STATE_LAST || !json_is_integer(at)) {
            snprintf(err, errlen, "bad run record: task %zu has no valid state", t);
            return NULL;
        }
    }
    for (size_t i = 0; i < json_array_size(log); i++) {
        const char *line_msg, *line_src;
        int line_stderr;
        json_int_t line_ts;
        if (json_unpack(json_array_get(log, i), "[s,s,b,I]", &line_msg, &line_src, &line_stderr, &line_ts) != 0) {
            snprintf(err, errlen, "bad run record: log line %zu is malformed", i);
            return NULL;
        }
    }
    run_params_t params = {
        .batch_count = (int)batches, .rows_per_batch = (int)rows, .seed = (uint32_t)seed, .triggered_by = triggered};
    run_t *run = run_create(&params, "x");
    memcpy(run->id, id, RUN_ID_LEN + 1);
    snprintf(run->job_name, sizeof(run->job_name), "%s", job);
    run->status = (run_status_t)st;
    run->started_ms = started;
    run->finished_ms = finished;
    run->updated_ms = updated;
    run->tasks_spawned = (int)spawned;
    run_set_message(run, message);
    for (size_t t = 0; t < json_array_size(tasks); t++) {
        run->tasks[t] = (wf_task_state_t)json_integer_value(json_array_get(tasks, t));
        run->task_started_ms[t] = json_integer_value(json_array_get(task_started, t));
    }
    for (size_t i = 0; i < json_array_size(log); i++) {
        const char *msg, *src;
        int is_stderr;
        json_int_t ts;
        if (json_unpack(json_array_get(log, i), "[s,s,b,I]", &msg, &src, &is_stderr, &ts) == 0)
            run_log_append(run, msg, src, is_stderr, ts);
    }
    if (read_resume_fields(run, rec, wf_task_count(run->batch_count), err, errlen) != 0 ||
        read_costs(run, rec, wf_task_count(run->batch_count), err, errlen) != 0 ||
        (metrics && !json_is_null(metrics) && read_metrics(run, metrics, err, errlen) != 0)) {
        run_destroy(run);
        return NULL;
    }
    return run;
}

run_t *run_from_record_text(const char *text, size_t len, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *rec = json_loadb(text, len, 0, &jerr);
    if (rec == NULL) {
        snprintf(err, errlen, "bad run record: %s", jerr.text);
        return NULL;
    }
    run_t *run = run_from_record(rec, err, errlen);
    json_decref(rec);
    return run;
}
