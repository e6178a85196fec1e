/*
 * The orchestrator: the only code that decides. It starts a run or attaches to the active one, follows the
 * executor's reports, turns them into progress, log and lifecycle events, ends runs (succeeded, failed,
 * cancelled) and keeps the history. The HTTP edge asks; the executor reports; the events go out.
 */
#ifndef CORE_ORCHESTRATOR_H
#define CORE_ORCHESTRATOR_H

#include <jansson.h>
#include <uv.h>

#include "config.h"
#include "core/events.h"
#include "core/run.h"
#include "exec/executor.h"
#include "store/store.h"

typedef struct orch orch_t;
typedef struct orch_waiter orch_waiter_t;

/** A run request answered: `run` is the run started or attached to (`attached` 1), or NULL with `detail`
 *  saying why none could start (the store failed, the service is shutting down). */
typedef void (*orch_run_cb)(orch_waiter_t *w, const run_t *run, int attached, const char *detail);
/** A cancel answered: `run` NULL when there was no active run; `cancelled` 1 when it ended cancelled. */
typedef void (*orch_cancel_cb)(orch_waiter_t *w, const run_t *run, int cancelled);

/** Embedded by the caller in its request state; linked into the orchestrator while the answer is pending. */
struct orch_waiter {
    orch_waiter_t *next, **pprev;
    orch_run_cb run_cb;
    orch_cancel_cb cancel_cb;
    void *data;
};

orch_t *orch_create(uv_loop_t *loop, const config_t *cfg, events_t *events, store_t *store);
/** The listener an executor reports to, and the executor to use (created by the caller with that listener). */
const exec_listener_t *orch_exec_listener(orch_t *orch);
void orch_set_executor(orch_t *orch, executor_t *executor);

/** Starts a run, or attaches to the active one. `cb` fires exactly once, possibly before this returns. */
void orch_request_run(orch_t *orch, const run_params_t *params, orch_waiter_t *w, orch_run_cb cb);
/** Cancels the active run; `cb` fires once it has ended (possibly before this returns). */
void orch_cancel(orch_t *orch, orch_waiter_t *w, orch_cancel_cb cb);
/** The requester went away: `w` is unlinked and its callback will not fire. Safe on an idle waiter. */
void orch_waiter_forget(orch_waiter_t *w);

/** The active run, or NULL. */
const run_t *orch_active(orch_t *orch);
/** A run by id: the active one or one in the history; NULL when unknown. */
const run_t *orch_find(orch_t *orch, const char *run_id);

/** The status object of API.md; `connected_clients` comes from the WebSocket hub. */
json_t *orch_status_json(orch_t *orch, int connected_clients);
/** The newest `limit` finished runs as API.md's history list. */
json_t *orch_history_json(orch_t *orch, int limit);

/** Refuses new runs and cancels the active one; `cb` fires once nothing runs (possibly before this returns). */
void orch_shutdown(orch_t *orch, void (*cb)(void *data), void *data);
/** Frees everything; the executor must be idle (after orch_shutdown's callback) and is destroyed too. */
void orch_destroy(orch_t *orch);

#endif
