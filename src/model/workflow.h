/*
 * The demo workflow as a DAG: GENERATE x N -> ANALYZE x N -> REPORT.
 *
 * Tasks are numbered 0 .. 2N: GENERATE of batch b is b-1, ANALYZE of batch b is N+b-1, REPORT is 2N.
 * Everything here is pure: no I/O, no clock, no allocation.
 */
#ifndef MODEL_WORKFLOW_H
#define MODEL_WORKFLOW_H

#include "config.h"

#define WF_MAX_TASKS (2 * CONFIG_MAX_BATCH_COUNT + 1)

typedef enum { STAGE_GENERATE, STAGE_ANALYZE, STAGE_REPORT, STAGE_COUNT } wf_stage_t;

typedef enum {
    TASK_PENDING,   /* waiting for its inputs or for a free slot */
    TASK_RUNNING,   /* its process (or pod) has started */
    TASK_SUCCEEDED, /* exited 0 */
    TASK_FAILED,    /* exited non-zero, was killed, or could not start */
    TASK_CANCELLED, /* stopped before it finished because the run ended */
    TASK_STARTING,  /* given to its runner, whose process or pod is not running yet (records keep numbers: append) */
    TASK_CACHED,    /* a resumed run reuses its verified outputs from the run it resumes: never started */
} wf_task_state_t;

#define TASK_STATE_LAST TASK_CACHED

/** 1 when the task's outputs exist for what depends on it: it succeeded, or was reused (cached). */
static inline int wf_task_done(wf_task_state_t state)
{
    return state == TASK_SUCCEEDED || state == TASK_CACHED;
}

typedef struct wf_stage_counts {
    int completed, running, failed, total;
} wf_stage_counts_t;

typedef struct wf_progress {
    int completed, total;
    double percent;
    int batches_generated, batches_analyzed, running;
    wf_stage_counts_t stages[STAGE_COUNT];
} wf_progress_t;

/** Number of tasks of a run with `batches` batches: 2N + 1. */
static inline int wf_task_count(int batches)
{
    return 2 * batches + 1;
}

wf_stage_t wf_task_stage(int batches, int task);
/** The batch (1..N) a task works on, or 0 for REPORT. */
int wf_task_batch(int batches, int task);
/** The task index of a stage and batch (batch ignored for REPORT), or -1 when out of range. */
int wf_task_index(int batches, wf_stage_t stage, int batch);
const char *wf_stage_name(wf_stage_t stage);
const char *wf_task_state_name(wf_task_state_t state);
/** "GENERATE (3)" or "REPORT", as log sources name tasks. */
void wf_task_label(int batches, int task, char *out, size_t outlen);

/** The file a task writes in the run's results folder: "batch_3.csv", "stats_batch_3.json", "report.json". */
void wf_task_output(int batches, int task, char *out, size_t outlen);

/** 1 when every input of `task` is done (succeeded or cached). */
int wf_task_ready(int batches, const wf_task_state_t *states, int task);

/**
 * The next task to start, or -1. Among ready pending tasks, ANALYZE goes before GENERATE (a batch finishes
 * sooner than a new one begins), REPORT last; within a stage, the lowest batch first.
 */
int wf_next_ready(int batches, const wf_task_state_t *states);

void wf_progress(int batches, const wf_task_state_t *states, wf_progress_t *out);

typedef struct wf_durations {
    double generate, analyze, report; /* the demo pauses and the work, in seconds */
    double overhead;                  /* per task: process or pod start-up */
    int parallelism;                  /* tasks at once; at most one per batch runs at a time anyway */
} wf_durations_t;

#define WF_LOCAL_TASK_OVERHEAD 0.05 /* seconds to start a task process */
#define WF_POD_TASK_OVERHEAD   8.0  /* seconds to schedule and start a worker pod */

typedef struct wf_resources wf_resources_t;
/** The resource model of the configuration (workers, controller, the configured quota). */
void wf_resources_of(const config_t *cfg, wf_resources_t *out);
/** The task durations of the configuration and executor, for a run of `batches`: the demo pauses, the start-up of
 *  a process or a pod, and what runs at once (LOCAL_PARALLELISM; the workers that fit the quota; every batch). */
void wf_durations_of(const config_t *cfg, int batches, wf_durations_t *out);

/** Estimated seconds from start to finish, by simulating the scheduler above with these durations. */
double wf_estimate_seconds(int batches, const wf_durations_t *d);

/**
 * Estimated seconds still to go, given the task states and how long the running tasks have been running
 * (`elapsed[task]` seconds, read only for running tasks).
 */
double wf_estimate_remaining(int batches, const wf_task_state_t *states, const double *elapsed,
                             const wf_durations_t *d);

struct wf_resources {
    double worker_cpu, worker_memory_gi, controller_cpu, controller_memory_gi, quota_cpu, quota_memory_gi;
};

typedef struct wf_preview {
    int expected_pods, total_workers;
    double peak_cpu, peak_memory_gi;
    int fits_quota;
    const char *limiting_resource;   /* NULL, "cpu" or "memory" */
    int max_parallel_workers, waves; /* wf_preview_pods() only: what runs at once, and how many times over */
} wf_preview_t;

/** Resource preview: the controller plus one worker per batch at the peak. */
void wf_preview(int batches, const wf_resources_t *r, wf_preview_t *out);
/** Resource preview of the pod runner (no controller; it starts only what fits the quota): the peak is what runs
 *  at once, at most one worker per batch; it fits whenever one worker does; the batches go in `waves`. */
void wf_preview_pods(int batches, const wf_resources_t *r, wf_preview_t *out);

#endif
