/*
 * The orchestrator: the only code that decides. It starts a run or attaches to the active one, follows the
 * executor's reports, turns them into progress, log and lifecycle events, ends runs (succeeded, failed,
 * cancelled), keeps the history, and answers what the edge asks. With a shared store it also keeps the run's
 * lease, ends runs whose replica died, and passes cancels to the replica that owns the run.
 *
 * Every question is answered through a callback with an HTTP status and a JSON body, possibly before the call
 * returns (memory store, or a run owned here) or later (a read from the shared store).
 */
#ifndef CORE_ORCHESTRATOR_H
#define CORE_ORCHESTRATOR_H

#include <jansson.h>
#include <uv.h>

#include "config.h"
#include "model/events.h"
#include "model/run.h"
#include "exec/executor.h"
#include "store/store.h"

typedef struct orch orch_t;
typedef struct orch_waiter orch_waiter_t;
typedef struct orch_call orch_call_t;

/** An answer: an HTTP status and its JSON body (stolen). */
typedef void (*orch_reply_cb)(orch_waiter_t *w, int status, json_t *body);
/** An answer that is a document as stored (report.json): `text` NULL unless status is 200. */
typedef void (*orch_text_cb)(orch_waiter_t *w, int status, const char *text, size_t len);

/** Embedded by the caller in its request state; the orchestrator links it while the answer is pending. */
struct orch_waiter {
    orch_waiter_t *next, **pprev; /* in one of the orchestrator's waiting lists */
    orch_call_t *call;            /* or attached to a store read in flight */
    orch_reply_cb reply;
    orch_text_cb text;
    char run_id[RUN_ID_LEN + 1]; /* the run a cancel waits for */
    int resume;                  /* a resume request: refused (409) where a run request would attach */
    void *data;
};

/** `replica` names this process in the shared store. */
orch_t *orch_create(uv_loop_t *loop, const config_t *cfg, events_t *events, store_t *store, const char *replica);
/** The listener an executor reports to, and the executor to use (created by the caller with that listener). */
const exec_listener_t *orch_exec_listener(orch_t *orch);
void orch_set_executor(orch_t *orch, executor_t *executor);

/** POST /run: starts a run or attaches to the active one. 200 {run_id,status,attached,job_name,websocket_url}. */
void orch_request_run(orch_t *orch, const run_params_t *params, orch_waiter_t *w, orch_reply_cb cb);
/** POST /runs/{id}/resume: a new run with the old run's parameters, reusing its verified outputs. 200 as POST /run
 *  plus resumed_from; 404 unknown, 409 a run is active (named) or the run succeeded, 410 its results are gone. */
void orch_resume(orch_t *orch, const char *run_id, orch_waiter_t *w, orch_reply_cb cb);
/** DELETE /cancel: answers once the run has ended. 200 {run_id,status,cancelled,detail}. */
void orch_cancel(orch_t *orch, orch_waiter_t *w, orch_reply_cb cb);
/** GET /status: the status object; `connected_clients` comes from the stream. */
void orch_status(orch_t *orch, int connected_clients, orch_waiter_t *w, orch_reply_cb cb);
/** GET /history: the newest `limit` finished runs. */
void orch_history(orch_t *orch, int limit, orch_waiter_t *w, orch_reply_cb cb);
/** GET /runs/{id}: 200 or 404. */
void orch_run_detail(orch_t *orch, const char *run_id, orch_waiter_t *w, orch_reply_cb cb);
/** GET /runs/{id}/report: report.json as written, or 404. */
void orch_run_report(orch_t *orch, const char *run_id, orch_waiter_t *w, orch_text_cb cb);
/** GET /runs/{id}/trace: the tasks as a Nextflow trace file (200), 404 unknown, 503 the store is unavailable
 *  (orch_trace.c). */
void orch_run_trace(orch_t *orch, const char *run_id, orch_waiter_t *w, orch_text_cb cb);

/** GET /api/v1/demo/metrics: aggregates over the history (total, succeeded, failed, cancelled, success rate,
 *  execution times, batches and records processed, recent runs). */
void orch_metrics_summary(orch_t *orch, orch_waiter_t *w, orch_reply_cb cb);

/** The requester went away: its callback will not fire. Safe on a waiter that is not waiting. */
void orch_waiter_forget(orch_waiter_t *w);

/** The store changed (the memory fallback moved to Redis): only while no run is active (orch_active() NULL). */
void orch_set_store(orch_t *orch, store_t *store);

/** The active run this replica owns, or NULL. */
const run_t *orch_active(orch_t *orch);

/** Refuses new runs and cancels the active one; `cb` fires once nothing runs (possibly before this returns). */
void orch_shutdown(orch_t *orch, void (*cb)(void *data), void *data);
/** Frees everything; the executor must be idle (after orch_shutdown's callback) and is destroyed too. */
void orch_destroy(orch_t *orch);

#endif
