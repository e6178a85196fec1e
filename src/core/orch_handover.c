/*
 * A handover at shutdown (an upgrade rolls the pods): with a shared store and an executor whose work outlives this
 * process (EXECUTOR=kubernetes: the run's pods; nextflow: its Job), SIGTERM does not cancel the active run. The
 * executor stops following it, the store writes its record and frees its lock in one step and tells every replica,
 * and a live replica claims it at once and takes it over as it would after a crash (orch_adopt_orphan), without
 * waiting for the lease to run out. With the local executor the tasks die with the process: cancel as before.
 */
#include <stdio.h>
#include <string.h>

#include "core/orch_internal.h"
#include "util/log.h"

int orch_handover(orch_t *orch)
{
    run_t *run = orch->active;
    store_t *store = orch->store;
    if (!store->ops->shared || store->ops->release == NULL || orch->exec->ops->release == NULL || run == NULL ||
        run->status != RUN_RUNNING || orch->cancel_requested || orch->failed || orch->completing || orch->lock_lost ||
        !store->ops->healthy(store))
        return -1;
    orch->releasing = 1; /* first: the executor reports its tasks cancelled as it lets go, and that is not news */
    if (orch->exec->ops->release(orch->exec) != 0) {
        orch->releasing = 0;
        return -1; /* being created or stopped: nothing another replica could follow yet */
    }
    log_info("orch", "run %s: shutting down; handing it over to another replica (%s goes on)", run->id, run->job_name);
    orch_say(orch, "Run %s: replica %s is shutting down; another replica takes the run over (%s goes on)", run->id,
             orch->replica, run->job_name);
    return 0;
}

static void answer_cancels(orch_t *orch, const char *run_id)
{
    orch_waiter_t *keep = NULL;
    while (orch->cancel_waiters) {
        orch_waiter_t *w = orch->cancel_waiters;
        orch_waiter_forget(w);
        if (strcmp(w->run_id, run_id) == 0)
            w->reply(w, 503,
                     json_pack("{s:s}", "detail", "This replica is shutting down and handed the run over; retry"));
        else
            orch_waiter_link(&keep, w);
    }
    while (keep) {
        orch_waiter_t *w = keep;
        orch_waiter_forget(w);
        orch_waiter_link(&orch->cancel_waiters, w);
    }
}

static void on_released(void *data, int ok)
{
    orch_t *orch = data;
    run_t *run = orch->active;
    if (ok)
        log_info("orch", "run %s: handed over (its lock is free: a live replica takes it over now)", run->id);
    else
        log_warn("orch",
                 "run %s: the store did not take the handover; a replica takes the run over once its lease runs out",
                 run->id);
    orch->active = NULL;
    orch->releasing = 0;
    answer_cancels(orch, run->id);
    run_destroy(run);
    orch_maybe_shutdown_done(orch);
}

void orch_handover_released(orch_t *orch)
{
    /* nothing of this run is written after the handover: its last lines go out, then its record with the lock */
    log_batch_flush(&orch->logs);
    orch_shared_run_ended(orch);
    orch->store->ops->release(orch->store, orch->active, on_released, orch);
}

void orch_handover_claim(orch_t *orch, const char *run_id, void (*on_orphan)(void *, const char *, run_t *))
{
    if (orch->shutting_down || orch->active)
        return; /* a replica going away does not take runs (the next live one does) */
    log_info("orch", "run %s: its replica handed it over; claiming it", run_id);
    snprintf(orch->handed_over, sizeof(orch->handed_over), "%s", run_id);
    orch->store->ops->find_orphan(orch->store, run_id, on_orphan, orch);
}
