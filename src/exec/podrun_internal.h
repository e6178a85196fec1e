/*
 * What the pod runner's files share: executor_kubernetes.c (start, stop, end, take-over), podrun_follow.c (the pod
 * watch, the logs, a task's end) and podrun_start.c (room in the quota, starting the tasks it is given).
 */
#ifndef EXEC_PODRUN_INTERNAL_H
#define EXEC_PODRUN_INTERNAL_H

#include <stdint.h>

#include "exec/executor.h"
#include "exec/log_tail.h"
#include "exec/nextflow_job.h"
#include "kube/kube.h"

#define PODRUN_STOP_BOUND_MS  45000 /* a stop answers by then even if pods are still there */
#define PODRUN_DRAIN_BOUND_MS 5000  /* an ended pod, then this long for the rest of its log */
#define PODRUN_TICK_MS        1000  /* pending checks, quota retries, log bounds */

typedef struct kube_exec kube_exec_t;

typedef struct pod_slot {
    kube_exec_t *owner;
    int task;
    char name[96];
    kube_request_t *create; /* in flight */
    int exists;             /* created (or seen) and not seen deleted */
    int given;              /* the scheduler gave it (or a dead replica had): its pod is this slot's */
    int delete_sent, started, concluded;
    nextflow_pod_phase_t phase;
    int exit_code;
    char reason[512];
    char pull_error[384]; /* the last ErrImagePull it showed (pod_status_keep_pull_error) */
    int64_t pending_since, ended_at; /* monotonic ms, 0: not so */
    kube_logs_t *logs;
    int64_t since_ms;     /* taken over: its output up to this time was sent (0: none) */
    unsigned since_count; /* ... and this many lines in that millisecond (0: all) */
    int seen;             /* the watch has reported it */
    int logs_ended;
    log_tail_t tail; /* its last output lines, for its failure message */
    int tries;       /* pods created for the task in this run (kept by podrun_reset_slot): a retry's pod is
                        named "<name>-a<tries>" */
} pod_slot_t;

/* A pod DELETE sent while stopping: its answer belongs to the run that sent it (`gen`), and is ignored once that run
 * has ended (a late 404 must not mark the next run's pod of the same task as gone). Freed with its answer. */
typedef struct podrun_delete {
    kube_exec_t *ex;
    unsigned gen;
    int task;
    kube_request_t *req;
    struct podrun_delete *prev, *next;
} podrun_delete_t;

struct kube_exec {
    executor_t super;
    uv_loop_t *loop;
    const config_t *cfg;
    kube_client_t *kube;
    char ns[64];
    char results_root[1100];
    /* the current run */
    unsigned gen;             /* counts the runs: what a request belongs to */
    podrun_delete_t *deletes; /* pod DELETEs not answered yet, of this run or earlier ones */
    int active, stopping, completing, ending;
    exec_spec_t spec;
    char run_id[32], owner_name[96], owner_uid[128];
    int owner_state; /* 0 none, 1 creating, 2 created, 3 delete sent, 4 deleted */
    kube_request_t *owner_req, *quota_req;
    kube_watch_t *watch;
    pod_slot_t slots[WF_MAX_TASKS];
    int creating, waiting_quota; /* creates in flight; a start waits for room */
    int room;                    /* pods the last quota answer has room for, not given out yet */
    int again;                   /* room was asked during a quota request or creates: ask again after them */
    int tell_room;               /* the kick tells the scheduler to ask for room */
    int refused;                 /* a create met "exceeded quota": no room until a task ends (or nothing runs) */
    char no_room[480];           /* set: no task will ever fit; the next room() says why */
    int adopting;                /* taken over from a dead replica: the run's pods are adopted by name */
    int recreate_owner;          /* taken over, its owner ConfigMap gone: the kick creates a new one */
    int64_t quota_since;         /* monotonic ms since nothing of the run runs and nothing fits */
    char quota_detail[400];
    char quota_warned[300]; /* the unreadable quota figure last warned about */
    uv_timer_t kick_timer, tick_timer, stop_timer, done_timer;
    int done_ok;
    char done_detail[1200];
    int closing_handles;
};
/* executor_kubernetes.c */
/** The next step (schedule, stop, end) runs from the loop: requests never start inside a watch, log or request
 *  callback. */
void podrun_kick(kube_exec_t *ex);
/** The scheduler should ask for room again (from the kick). */
void podrun_tell_room(kube_exec_t *ex);
void podrun_forget_logs(pod_slot_t *s);

/* podrun_follow.c */
/** The task is over: its state to the listener, once. */
void podrun_conclude(kube_exec_t *ex, pod_slot_t *s, wf_task_state_t state, const char *detail);
/** The task's pod has ended: succeeded, or failed with its exit code, reason and last lines. */
void podrun_conclude_pod(kube_exec_t *ex, pod_slot_t *s);
/** The task's pod ended for a reason outside the task's code (evicted, deleted, node lost, SIGKILL, a retryable
 *  create failure): the scheduler may start it again (a new pod, named with its attempt). */
void podrun_conclude_lost(kube_exec_t *ex, pod_slot_t *s, const char *detail);
void podrun_on_pod_event(void *data, kube_event_t type, json_t *obj);
void podrun_on_watch_error(void *data, const kube_response_t *res);

/* podrun_start.c */
/** executor_ops room(): what the last quota answer left, else asks the quota (the room callback follows). */
int podrun_room(executor_t *super, char *why, size_t cap);
/** executor_ops run_task(): creates the task's pod. */
int podrun_run_task(executor_t *super, int task, char *why, size_t cap);
void podrun_fail_task(kube_exec_t *ex, int task, const char *detail);
/** Tasks given and not over (their pods count against the configured quota). */
int podrun_busy_count(const kube_exec_t *ex);
/** A slot as before its task was given (keeps where a take-over's log resumes). */
void podrun_reset_slot(pod_slot_t *s);

#endif
