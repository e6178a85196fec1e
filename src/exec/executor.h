/*
 * An executor runs the tasks of one run and says what happened; it never touches the store or the sockets.
 * One file per implementation: executor_local.c (child processes), executor_nextflow.c (a Kubernetes Job running
 * Nextflow), executor_kubernetes.c (one pod per task).
 *
 * Two kinds. A task runner (local, kubernetes) runs the tasks it is given: the orchestrator's scheduler
 * (core/orch_sched.c) picks them from the run's task list, the one place a task's state lives, and asks the runner
 * how many more may start (process slots, the namespace's quota). A workflow engine (nextflow) schedules on its own
 * and reports what it does. Both report through the same listener.
 *
 * Callbacks never fire from inside start() or stop(): always from the loop afterwards. run_task() may report its
 * task started before it returns (a process exists at once).
 */
#ifndef EXEC_EXECUTOR_H
#define EXEC_EXECUTOR_H

#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "model/run_cost.h"
#include "model/workflow.h"

typedef struct exec_spec {
    const char *run_id;
    int batches;
    int rows_per_batch;
    uint32_t seed;
    double generate_seconds, analyze_seconds;
    const char *work_dir;    /* scratch folder of the run (the tasks' working directory) */
    const char *results_dir; /* where the CSVs, stats and report.json land */
    /* a workflow engine's session to resume (Nextflow: `-resume <uuid>`, its own cache decides what reruns);
     * NULL or "": a fresh session */
    const char *resume_session;
} exec_spec_t;

/** What was already reported of a run another replica started (a takeover): the executor reports only what
 *  happens from here on. Times are Unix ms; 0: none known. */
typedef struct exec_resume {
    wf_task_state_t states[WF_MAX_TASKS];
    int64_t log_since_ms[WF_MAX_TASKS];     /* each task's output up to this time was sent */
    unsigned log_since_count[WF_MAX_TASKS]; /* ... and this many of its lines in that millisecond (0: all) */
    int64_t controller_log_since_ms;        /* the same for EXEC_TASK_CONTROLLER */
    unsigned controller_log_since_count;
} exec_resume_t;

typedef struct exec_listener {
    void *data;
    /** A task's process (or pod) started. */
    void (*task_started)(void *data, int task);
    /** A task ended: TASK_SUCCEEDED, TASK_FAILED (with `detail`: exit status and the tail of stderr) or
     *  TASK_CANCELLED (stopped by stop()); a workflow engine also TASK_CACHED (its own cache reused the task's
     *  earlier result: it never started). */
    void (*task_finished)(void *data, int task, wf_task_state_t state, const char *detail);
    /** One line of a task's output, without its newline (not NUL-terminated, untrusted bytes). A line that starts
     *  with an ISO 8601 time (a kubelet timestamp) has it as its time. `task` EXEC_TASK_CONTROLLER: a line of the
     *  workflow engine itself (Nextflow's console), not of one task. */
    void (*task_log)(void *data, int task, int is_stderr, const char *line, size_t len);
    /** Nothing of the run runs any more: all tasks succeeded (ok=1), or a task failed, stop() was called, or the
     *  executor itself failed (ok=0, `detail` says why). Fires exactly once per successful start(). */
    void (*done)(void *data, int ok, const char *detail);
    /** Task runners: a task ended for a reason outside its own code (killed by SIGKILL from outside, the OOM
     *  killer, its pod evicted, deleted by someone else or on a lost node, a create refused for a retryable
     *  reason). The scheduler starts it again (TASK_RETRIES) or fails it with `detail`. NULL-safe: a runner that
     *  never calls it reports TASK_FAILED instead. */
    void (*task_lost)(void *data, int task, const char *detail);
    /** What the current attempt of a task cost, as far as the executor knows it now (times, resources, where): the
     *  known figures are taken, the unknown ones (run_cost_init) left as they are. Any time, also after the task
     *  ended (a pod's last log lines may come later). NULL-safe: callers check it. */
    void (*task_cost)(void *data, int task, const run_cost_t *cost);
    /** Task runners: a task given to run_task() did not start after all (the quota refused its pod) or must start
     *  again (a task a dead replica ran has no pod left): it is pending again. */
    void (*task_requeued)(void *data, int task);
    /** Task runners: room() is worth asking again (the quota answered, a wait is over). */
    void (*room)(void *data);
    /** A workflow engine: the run's session id, once known (Nextflow's UUID, which `-resume` takes). NULL-safe. */
    void (*session)(void *data, const char *id);
} exec_listener_t;

typedef struct executor executor_t;

#define EXEC_TASK_CONTROLLER (-1)

typedef struct executor_ops {
    const char *name; /* "local", "nextflow" or "kubernetes", as health reports it */
    /** Starts a run. Returns 0, or a negative errno (then no callback fires). One run at a time. */
    int (*start)(executor_t *ex, const exec_spec_t *spec);
    /** Stops every task of the current run: SIGTERM (or delete), then SIGKILL after the grace period. */
    void (*stop)(executor_t *ex);
    /** Frees the executor; only when no run is going (after done()). */
    void (*destroy)(executor_t *ex);
    /** Takes over a run whose replica died (shared store), when what runs it outlives a replica (a Job in the
     *  cluster); like start() otherwise. NULL: not possible (local tasks die with their replica). */
    int (*reattach)(executor_t *ex, const exec_spec_t *spec, const exec_resume_t *resume);
    /** Best effort, no callback: stops what still runs for a run that was ended without this executor (an
     *  orphan ended as failed), e.g. deletes its Job. NULL: nothing outlives a replica. */
    void (*abandon)(executor_t *ex, const char *run_id);
    /** Stops following the current run without stopping it: its pods (or Job) go on, for another replica to take
     *  over (a handover at shutdown). 0: done() fires from the loop as after stop(); what the executor reports in
     *  between is not the run's news. -1: the run cannot be left now (being created, stopped or completed).
     *  NULL: not possible (local tasks die with their replica). */
    int (*release)(executor_t *ex);

    /* Task runners only (NULL for a workflow engine). */
    /** How many more tasks of the current run may start now: n >= 0 (0: the room callback says when to ask again),
     *  or -1 with `why` when none ever will (the next ready task fails with it). */
    int (*room)(executor_t *ex, char *why, size_t cap);
    /** Starts one task: 0 (its start, output and end come through the listener), or -1 with `why` (it failed to
     *  start; no callback). */
    int (*run_task)(executor_t *ex, int task, char *why, size_t cap);
    /** Every task succeeded: releases what the run holds, then done(ok=1). */
    void (*complete)(executor_t *ex);
} executor_ops_t;

struct executor {
    const executor_ops_t *ops;
    exec_listener_t listener;
    /* Where this service sees a run's results, as "<results_root>/<run_id>/": NULL means DATA_DIR/results (the
     * local executor writes there). `results_unseen` 1: they are out of this service's reach (a cluster volume
     * it does not mount), so a run ends without demo_metrics and its report answers 404. */
    const char *results_root;
    int results_unseen;
};

struct kube_client;

/** executor.c: the results of a cluster executor are on the work volume: under WORK_MOUNT/results when this
 *  service mounts it (`root` holds the path), else out of its reach (results_unseen). */
void executor_results_on_volume(executor_t *ex, const config_t *cfg, char *root, size_t cap);

executor_t *executor_local_create(uv_loop_t *loop, const config_t *cfg, const exec_listener_t *listener);
/** A Job per run whose controller runs Nextflow (executor_nextflow.c); `kube` outlives the executor. */
executor_t *executor_nextflow_create(uv_loop_t *loop, const config_t *cfg, struct kube_client *kube,
                                     const exec_listener_t *listener);

/** One pod per task, scheduled by the service within the namespace's quota (executor_kubernetes.c); `kube`
 *  outlives the executor. */
executor_t *executor_kubernetes_create(uv_loop_t *loop, const config_t *cfg, struct kube_client *kube,
                                       const exec_listener_t *listener);

#endif
