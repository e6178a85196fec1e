/* What the orchestrator's files share (orchestrator.c, orch_sched.c, orch_shared.c, orch_read.c); not for other
 * modules. */
#ifndef CORE_ORCH_INTERNAL_H
#define CORE_ORCH_INTERNAL_H

#include "core/history.h"
#include "core/log_batch.h"
#include "core/orchestrator.h"

#include <sys/types.h>
#include <time.h>

#define ORCH_LOG_SAVE_MS 250 /* the shared record follows the log tail at most this often */

/* What identifies a task's output file when the task ended: whether it is still that file, unchanged. */
typedef struct orch_output_note {
    int noted;
    dev_t dev;
    ino_t ino;
    int64_t size;
    struct timespec mtime, ctime;
} orch_output_note_t;

struct orch {
    uv_loop_t *loop;
    const config_t *cfg;
    events_t *events;
    store_t *store;
    executor_t *exec;
    exec_listener_t listener;
    char replica[64];
    history_t history; /* runs finished here (memory store: the history) */
    log_batch_t logs;
    run_t *active;                    /* owned while queued, starting or running; then it moves to history */
    int cancel_requested, failed;     /* of the active run */
    int error_sent;                   /* an error message went out for the active run */
    int lock_lost;                    /* the shared lock went to someone else: end quietly */
    int completing;                   /* every task succeeded: the task runner was told to complete the run */
    int releasing;                    /* handing the run over (shutdown): the executor's reports are ignored */
    char handed_over[RUN_ID_LEN + 1]; /* the run whose owner last handed it over (the take-over says so) */
    orch_waiter_t *run_waiters;       /* requests waiting for the queued run's lock */
    orch_waiter_t *cancel_waiters;    /* cancels waiting for a run to end (here or on its owner) */
    char results_dir[1100], work_dir[1100];
    uv_timer_t lease_timer;  /* shared store: renews the lease of the active run */
    uv_timer_t orphan_timer; /* shared store: looks for runs whose replica died */
    uv_timer_t save_timer;   /* shared store: writes the log tail a little later */
    uv_timer_t cancel_timer; /* gives up waiting for a remote cancel */
    uv_timer_t sched_timer;  /* a round of the task scheduler */
    char orphan_candidate[RUN_ID_LEN + 1];
    run_t *resume_src;         /* the run the queued or starting run resumes, until its outputs are checked */
    orch_output_note_t notes[WF_MAX_TASKS]; /* what each succeeded task of run `notes_run` wrote (orch_outputs.c) */
    char notes_run[RUN_ID_LEN + 1];
    int digests_pending;        /* a run that did not succeed: its outputs are being read; its end waits */
    int done_deferred, done_ok; /* the executor's done() came while digests were pending */
    char done_detail[600];
    int shutting_down;
    void (*shutdown_cb)(void *);
    void *shutdown_data;
    int open_handles;
};

/* A store read in flight on behalf of a waiter (which may go away first). */
/* A run found by orch_find_run: status 200 (run), 404 or 503 (the shared store did not answer; run NULL). */
typedef void (*orch_found_cb)(orch_waiter_t *w, int status, const run_t *run);

struct orch_call {
    orch_t *orch;
    orch_waiter_t *waiter; /* NULL once forgotten */
    orch_found_cb found;   /* orch_find_run's */
    int connected_clients;
    int limit;
    char run_id[RUN_ID_LEN + 1];
};

/* orch_read.c */
orch_call_t *orch_call_new(orch_t *orch, orch_waiter_t *w);
/** The waiter of a finished call, or NULL if it went away; frees the call. */
orch_waiter_t *orch_call_done(orch_call_t *call);
void orch_waiter_link(orch_waiter_t **list, orch_waiter_t *w);
/** A run by id wherever this service sees it: the active run, the shared store, or the history; `found` gets it
 *  (borrowed for the call) or a 404 / 503, at once or later. */
void orch_find_run(orch_t *orch, const char *run_id, orch_waiter_t *w, orch_found_cb found);
json_t *orch_status_json(orch_t *orch, const run_t *run, int connected_clients);
json_t *orch_run_answer(const run_t *run, int attached);
/** The folder where a run's results are seen by this service: the executor's results root, else DATA_DIR/results. */
void orch_results_dir(const orch_t *orch, const char *run_id, char *out, size_t cap);
/** When the run should end, from the configured task durations and how long its running tasks have run. */
json_t *orch_estimated_completion(orch_t *orch, const run_t *run);

/* orchestrator.c */
void orch_emit(orch_t *orch, const run_t *run, event_type_t type, json_t *data);
void orch_end_orphan(orch_t *orch, run_t *orphan, int ours);
/** Takes over a claimed orphan whose work outlives its replica (the executor can reattach): 0, and the run is
 *  ours and active; -1 (the run untouched) when it cannot be. */
int orch_adopt_orphan(orch_t *orch, run_t *run);
void orch_cancel_local(orch_t *orch);
/** Answers the cancels that wait for `run_id`: it ended with `status` (here, or on its owner: its complete
 *  message), or (NULL) it never started. */
void orch_answer_cancels(orch_t *orch, const char *run_id, const char *status);

/** The run's status changes: a status message, and the run saved. */
void orch_set_status(orch_t *orch, run_status_t status);
/** The active run ends with `status` (`report`: its report's text, for a run that succeeded). */
void orch_end_run(orch_t *orch, run_status_t status, const char *report);
/** An error message on the stream (stage: where). */
void orch_emit_error(orch_t *orch, const char *stage, const char *message);
/** The requests waiting for the queued run get the answer that it runs, or an error. */
void orch_answer_run_waiters(orch_t *orch, const run_t *run);
void orch_fail_run_waiters(orch_t *orch, int status, const char *detail);
/** A line of the orchestrator's own in the run's log. */
void orch_say(orch_t *orch, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Calls the shutdown's callback once no run is active. */
void orch_maybe_shutdown_done(orch_t *orch);

/* orch_handover.c */
/** At shutdown, with a shared store and an executor whose work outlives this process: lets the run go to another
 *  replica. 0: under way (the run ends here without a status change); -1: not possible (cancel it instead). */
int orch_handover(orch_t *orch);
/** The executor let go of the run: its record and lock are handed over in the store, then it is forgotten here. */
void orch_handover_released(orch_t *orch);
/** A replica handed `run_id` over: claims it now, unless this one is going away too. */
void orch_handover_claim(orch_t *orch, const char *run_id, void (*on_orphan)(void *, const char *, run_t *));
/** A progress message for the active run (naming `task`), saved with the run. */
void orch_emit_progress(orch_t *orch, int task);
/** The same, when only the task's times and figures changed (marked "figures_only": not a state change). */
void orch_emit_figures(orch_t *orch, int task);

/* orch_cost.c: each task's times and figures (run->costs) */
void orch_cost_submitted(orch_t *orch, int task); /* given to the runner (a new attempt) */
void orch_cost_started(orch_t *orch, int task);
void orch_cost_finished(orch_t *orch, int task);
void orch_cost_on_report(void *data, int task, const run_cost_t *cost); /* the listener's task_cost */

/* orch_sched.c */
void orch_sched_init(orch_t *orch);
/** A round of the scheduler from the loop soon (a task ended, the runner has room): task runners only. */
void orch_sched_soon(orch_t *orch);
/** The runner gave a task back: it is pending again, and a round follows. */
void orch_sched_requeue(orch_t *orch, int task);
/** A task ended for a reason outside its own code: 1 when it runs again (pending, a round follows), 0 when it
 *  fails (retries used up, or the run is ending). `say` gets the line for the run's log ("" : none). */
int orch_sched_lost(orch_t *orch, int task, const char *detail, char *say, size_t cap);
/** The listener's task_lost: a retry, or the task fails with `detail`. */
void orch_sched_on_task_lost(void *data, int task, const char *detail);

/* orch_start.c */
/** What the executor is given to run (or follow) `run`, with the folders of orch->work_dir and results_dir. */
exec_spec_t orch_exec_spec(const orch_t *orch, const run_t *run);
/** Queues a resume of `old` (owned from here) for `w`: refused with 409 while a run is active. */
void orch_resume_start(orch_t *orch, run_t *old, orch_waiter_t *w);
/** A 409 naming the active run `run_id`. */
json_t *orch_active_conflict(const char *run_id);

/* orch_resume.c */
/** A resumed run on a workflow engine (Nextflow), whose own cache decides what reruns: the run takes the session
 *  of the run it resumes (the executor starts it with `-resume <session>`); resume_src goes. */
void orch_resume_engine(orch_t *orch);

/* orch_outputs.c */
/** Notes what identifies the file `task` wrote (a stat): read only if the run ends without success. */
void orch_outputs_record(orch_t *orch, int task);
/** The executor is done: for a run that did not succeed, the noted outputs are digested in the thread pool and 1 is
 *  returned (done() is called again once they are); else 0. */
int orch_outputs_wait(orch_t *orch, int ok, const char *detail);
/** A resumed run's start: checks resume_src's outputs, links the verified ones into the run's results folder and
 *  marks those tasks cached, then `cb`. 0, or a negative errno (then `cb` never fires). */
int orch_outputs_prepare(orch_t *orch, void (*cb)(orch_t *orch));

/* orch_shared.c */
void orch_shared_init(orch_t *orch);
void orch_shared_run_started(orch_t *orch);
void orch_shared_run_ended(orch_t *orch);
void orch_shared_save_soon(orch_t *orch);
void orch_shared_cancel(orch_t *orch, orch_waiter_t *w);
int orch_shared_handles(orch_t *orch, uv_close_cb cb);

#endif
