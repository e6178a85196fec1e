/*
 * A run of the demo workflow: what was asked, where it stands, how it ended. The JSON shapes of API.md
 * (RunInfo, DemoResultMetrics, a history entry) are produced here and nowhere else.
 */
#ifndef MODEL_RUN_H
#define MODEL_RUN_H

#include <jansson.h>
#include <stdint.h>

#include "model/run_cost.h"
#include "model/workflow.h"
#include "util/ids.h"

typedef enum {
    RUN_QUEUED,    /* accepted, not yet holding the lock */
    RUN_STARTING,  /* holds the lock; the executor is being started */
    RUN_RUNNING,   /* the executor runs its tasks */
    RUN_SUCCEEDED, /* every task exited 0 and report.json was read */
    RUN_FAILED,    /* a task failed, the executor failed, or the orchestrator was lost */
    RUN_CANCELLED, /* stopped on request (cancel, or service shutdown) */
    RUN_UNKNOWN,   /* its outcome could not be learned */
} run_status_t;

#define RUN_LOG_TAIL 50 /* log lines kept per run (status shows the last 10) */

typedef struct run_metrics {
    int total_batches;
    long long total_records, total_sum;
    double average_value;
    int worker_pods_spawned;
    double execution_time_seconds;
    char report_path[64];
} run_metrics_t;

typedef struct run_log_line {
    char *message;
    char *source;
    int is_stderr;
    int64_t ts_ms; /* -1: the line carried no time */
} run_log_line_t;

/** What a task that succeeded wrote (its one output file, wf_task_output()), recorded when it ended: a resumed run
 *  reuses the task only while the file still has this size and SHA-256. */
typedef struct run_output {
    int64_t size; /* -1: nothing recorded */
    char sha256[65];
} run_output_t;

typedef struct run_params {
    int batch_count;
    int rows_per_batch;
    uint32_t seed;
    const char *triggered_by; /* NULL: not given */
} run_params_t;

typedef struct run {
    char id[RUN_ID_LEN + 1];
    run_status_t status;
    int64_t started_ms, finished_ms; /* finished_ms 0 while not finished */
    int64_t updated_ms;              /* last change of anything shown in status */
    char job_name[64];
    char *message;      /* NULL or why it ended as it did */
    char *triggered_by; /* NULL: not given */
    int batch_count, rows_per_batch;
    uint32_t seed;
    wf_task_state_t tasks[WF_MAX_TASKS];
    int64_t task_started_ms[WF_MAX_TASKS];
    int attempts[WF_MAX_TASKS];          /* times each task was given to its runner (0: never) */
    run_output_t outputs[WF_MAX_TASKS];  /* what each succeeded task wrote */
    char resumed_from[RUN_ID_LEN + 1];   /* the run this one resumes ("" : none) */
    char nf_session[40];
    run_cost_t costs[WF_MAX_TASKS]; /* each task's latest attempt: times, resources, where */
    run_attempt_t *past;            /* attempts that ended and ran again (at most RUN_MAX_PAST_ATTEMPTS) */
    int past_count;                 /* EXECUTOR=nextflow: Nextflow's session id ("" : not known) */
    int tasks_spawned; /* task processes (or pods) started */
    int has_metrics;
    run_metrics_t metrics;
    run_log_line_t log[RUN_LOG_TAIL]; /* a ring: the oldest at log_start */
    int log_start, log_count;
} run_t;

/** A new run in status queued with a fresh id, started now. `job_prefix` names the job ("local-run"). */
run_t *run_create(const run_params_t *params, const char *job_prefix);
void run_destroy(run_t *run);

const char *run_status_name(run_status_t status);
/** The status named `name`, or -1. */
int run_status_parse(const char *name);
int run_status_is_terminal(run_status_t status);
static inline int run_is_active(const run_t *run)
{
    return run != NULL && !run_status_is_terminal(run->status);
}

/** Replaces the message (NULL clears it). */
void run_set_message(run_t *run, const char *message);
/** Adds a log line to the tail (copies it), dropping the oldest when full. */
void run_log_append(run_t *run, const char *message, const char *source, int is_stderr, int64_t ts_ms);

/** Seconds from start to finish, or to `now_ms` while the run is not finished. */
double run_duration_seconds(const run_t *run, int64_t now_ms);
void run_progress(const run_t *run, wf_progress_t *out);

/* JSON shapes of API.md; each returns a new reference. */
json_t *run_info_json(const run_t *run);
json_t *run_metrics_json(const run_t *run);                /* json null unless has_metrics */
json_t *run_history_json(const run_t *run);                /* a history entry */
json_t *run_detail_json(const run_t *run, int64_t now_ms); /* GET /runs/{id}: RunInfo + duration, progress, metrics */
json_t *run_progress_json(const run_t *run);               /* the data of a progress message */
json_t *run_log_line_json(const run_log_line_t *line);
json_t *run_tasks_json(const run_t *run); /* [{"name","batch","state","attempt", the cost fields}...] */
json_t *run_task_json(const run_t *run, int task); /* one of them */
json_t *run_task_update_json(const run_t *run, int task); /* the same without what is not known yet (the stream) */
/** Keeps the task's current cost as a past attempt that ended in `state`, and starts a fresh one. */
void run_cost_archive(run_t *run, int task, int state);
json_t *run_resumed_from_json(const run_t *run); /* the id, or json null */

/** A timestamp as RFC 3339, or json null for 0 (or -1). */
json_t *run_time_json(int64_t ms);

#endif
