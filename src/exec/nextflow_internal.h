/*
 * What executor_nextflow.c (start, stop, end) shares with nextflow_follow.c (the watches and the log streams).
 */
#ifndef EXEC_NEXTFLOW_INTERNAL_H
#define EXEC_NEXTFLOW_INTERNAL_H

#include <stdint.h>

#include "exec/executor.h"
#include "exec/log_tail.h"
#include "exec/nextflow_job.h"
#include "exec/nextflow_log.h"
#include "kube/kube.h"

#define NEXTFLOW_STOP_BOUND_MS    45000 /* cancel answers by then even if pods are still going */
#define NEXTFLOW_VERDICT_BOUND_MS 10000 /* a failed worker pod, then this long for Nextflow's own report */
#define NEXTFLOW_DRAIN_BOUND_MS   3000  /* a finished Job, then this long for the rest of the controller's log */

typedef struct nextflow_exec nextflow_exec_t;

/* A pod the run follows: the controller, or the worker of one task (the newest one if Nextflow retried it). */
typedef struct nextflow_slot {
    nextflow_exec_t *owner;
    int task; /* EXEC_TASK_CONTROLLER or a task index */
    char name[128];
    nextflow_pod_phase_t phase;
    int live;              /* seen and not yet deleted */
    int64_t pending_since; /* monotonic ms of the first Pending look, 0 when not Pending */
    int exit_code;
    char reason[512];
    kube_logs_t *logs;    /* the followed log, once the container has started */
    int64_t since_ms;     /* taken over: lines up to this time were sent already (0: none) */
    unsigned since_count; /* ... and this many lines in that millisecond (0: all) */
    int no_logs;          /* taken over: its log was sent in full */
    int logs_ended;
    log_tail_t tail; /* its last output lines, for its failure message */
} nextflow_slot_t;

struct nextflow_exec {
    executor_t super;
    uv_loop_t *loop;
    const config_t *cfg;
    kube_client_t *kube;
    char ns[64];
    char results_root[1100];
    /* the current run */
    int active, stopping, ending, job_ended;
    int job_seen; /* the Job's watch has reported it at least once */
    exec_spec_t spec;
    char run_id[32], job_name[96], cm_name[96], job_uid[128];
    char resume_session[NEXTFLOW_SESSION_LEN + 1]; /* `-resume` of this run, "" for a fresh session */
    int session_reported;                          /* the listener has the run's session id */
    int cm_created, job_created, cm_deleted, job_deleted; /* what exists, what has been deleted */
    kube_request_t *req;                                  /* create, then delete: one at a time */
    kube_request_t *patch_req;                            /* the ConfigMap's owner */
    kube_request_t *events_req;                           /* the Job's events, when it has had no pod too long */
    int64_t job_since_ms;                                 /* monotonic ms the Job was created (or found again) */
    kube_watch_t *job_watch, *pod_watch, *controller_watch;
    wf_task_state_t states[WF_MAX_TASKS]; /* as reported to the listener */
    int started[WF_MAX_TASKS];            /* task_started reported */
    nextflow_slot_t workers[WF_MAX_TASKS];
    nextflow_slot_t controller;
    nextflow_log_t nflog;
    int job_result;       /* 1 Complete, -1 Failed, 0 not finished */
    char job_detail[512]; /* the Failed condition's reason and message */
    char fail_detail[1024];
    uv_timer_t kick_timer, done_timer, stop_timer, verdict_timer, drain_timer, pending_timer;
    int done_ok;
    char done_detail[1200];
    int closing_handles;
};

/* nextflow_follow.c */
void nextflow_follow_start(nextflow_exec_t *ex);
void nextflow_follow_stop(nextflow_exec_t *ex);
/** 1 when no pod of the run is running any more (deleted, or its containers have ended). */
int nextflow_follow_quiet(const nextflow_exec_t *ex);
/** 1 when the controller's log has been read to its end, and every worker's log stream started has ended. */
int nextflow_follow_logs_ended(const nextflow_exec_t *ex);
/** Fails the run when a pod has been Pending longer than POD_START_TIMEOUT_SECONDS, or when the Job has had no pod
 *  for that long (with the reason its events give: FailedCreate, the pod refused by quota or admission). */
void nextflow_follow_check_pending(nextflow_exec_t *ex);

/* executor_nextflow.c */
void nextflow_report_started(nextflow_exec_t *ex, int task);
void nextflow_report_finished(nextflow_exec_t *ex, int task, wf_task_state_t state, const char *detail);
/** Nextflow's cache reused the task (`Cached process > TASK`): it ends cached, without a start or a pod. */
void nextflow_report_cached(nextflow_exec_t *ex, int task);
/** The run's Nextflow session id (from a worker pod's label), reported once. */
void nextflow_report_session(nextflow_exec_t *ex, const char *id);
/** A worker pod failed: Nextflow's verdict (its error report, the Job's Failed condition) is awaited, bounded. */
void nextflow_worker_failed(nextflow_exec_t *ex, int task);
/** The Job finished (1 Complete, -1 Failed with `detail`), or went away (0). */
void nextflow_job_ended(nextflow_exec_t *ex, int result, const char *detail);
/** A log stream ended or a task's pod succeeded: a finished Job may be concluded now. */
void nextflow_something_ended(nextflow_exec_t *ex);
/** Ends the run failed with `detail` (deleting what it created first). */
void nextflow_fail(nextflow_exec_t *ex, const char *detail);
/** Something the stop waits for happened: a pod went away, a delete answered, the controller's log ended. */
void nextflow_progressed(nextflow_exec_t *ex);

#endif
