/*
 * The orchestrator with a shared store: the lease of the run it owns, runs whose replica died (orphans),
 * cancels relayed to the replica that owns the run, and catching up after a store outage. With the memory store
 * none of this runs.
 */
#include <stdio.h>
#include <string.h>

#include "core/orch_internal.h"
#include "util/clock.h"
#include "util/log.h"

#define REMOTE_CANCEL_EXTRA_MS 10000 /* beyond the cancel grace, how long to wait for the owner's answer */

static int shared(const orch_t *orch)
{
    return orch->store->ops->shared;
}
static uint64_t lease_ms(const orch_t *orch)
{
    return (uint64_t)(orch->cfg->lock_lease_seconds * 1000);
}

/* ---- the lease of the run owned here --------------------------------------------------------------------------- */

static void on_renewed(void *data, int still_ours)
{
    orch_t *orch = data;
    run_t *run = orch->active;
    if (run == NULL || still_ours != 0 || orch->lock_lost)
        return; /* fine, or unknown (the store is away: try again at the next tick) */
    log_error("orch", "run %s: the run lock went to another replica; stopping this run here", run->id);
    orch->lock_lost = 1;
    orch->failed = 1;
    run_set_message(run, "lost the run lock: another replica ended or replaced this run");
    if (run->status == RUN_STARTING || run->status == RUN_RUNNING)
        orch->exec->ops->stop(orch->exec);
}

static void renew_now(orch_t *orch)
{
    if (orch->active && orch->active->status != RUN_QUEUED)
        orch->store->ops->renew(orch->store, orch->active, on_renewed, orch);
}

static void on_lease_tick(uv_timer_t *t)
{
    renew_now(t->data);
}

void orch_shared_run_started(orch_t *orch)
{
    if (shared(orch)) {
        uint64_t every = lease_ms(orch) / 3;
        uv_timer_start(&orch->lease_timer, on_lease_tick, every, every);
    }
}

void orch_shared_run_ended(orch_t *orch)
{
    uv_timer_stop(&orch->lease_timer);
    uv_timer_stop(&orch->save_timer);
}

/* ---- the run's record follows its log tail, a little behind --------------------------------------------------- */

static void on_save_timer(uv_timer_t *t)
{
    orch_t *orch = t->data;
    if (orch->active)
        orch->store->ops->save_active(orch->store, orch->active);
}

void orch_shared_save_soon(orch_t *orch)
{
    if (shared(orch) && !uv_is_active((uv_handle_t *)&orch->save_timer))
        uv_timer_start(&orch->save_timer, on_save_timer, ORCH_LOG_SAVE_MS, 0);
}

/* ---- runs whose replica died ----------------------------------------------------------------------------------- */

static void on_orphan(void *data, const char *seen, run_t *claimed)
{
    orch_t *orch = data;
    orch->orphan_candidate[0] = '\0';
    if (claimed) {
        if (orch_adopt_orphan(orch, claimed) != 0)
            orch_end_orphan(orch, claimed, 1);
        return;
    }
    /* claim it at the next look if it is still without a lease then; never our own run (its renewal is late) */
    if (seen && !(orch->active && strcmp(orch->active->id, seen) == 0))
        snprintf(orch->orphan_candidate, sizeof(orch->orphan_candidate), "%s", seen);
}

static void on_orphan_tick(uv_timer_t *t)
{
    orch_t *orch = t->data;
    if (!orch->shutting_down && orch->store->ops->healthy(orch->store)) /* a replica going away takes no run */
        orch->store->ops->find_orphan(orch->store, orch->orphan_candidate[0] ? orch->orphan_candidate : NULL, on_orphan,
                                      orch);
}

/* ---- cancels of runs owned elsewhere --------------------------------------------------------------------------- */

static void on_cancel_timeout(uv_timer_t *t)
{
    orch_t *orch = t->data;
    const run_t *mine = orch_active(orch);
    orch_waiter_t *keep = NULL;
    while (orch->cancel_waiters) {
        orch_waiter_t *w = orch->cancel_waiters;
        orch_waiter_forget(w);
        if (mine && strcmp(mine->id, w->run_id) == 0)
            orch_waiter_link(&keep, w);
        else
            w->reply(
                w, 503,
                json_pack("{s:s}", "detail", "The replica running the run did not confirm the cancel in time; retry"));
    }
    while (keep) {
        orch_waiter_t *w = keep;
        orch_waiter_forget(w);
        orch_waiter_link(&orch->cancel_waiters, w);
    }
}

static void on_cancel_orphan(void *data, const char *seen, run_t *claimed)
{
    (void)seen;
    if (claimed)
        orch_end_orphan(data, claimed, 1); /* its complete message answers the waiting cancels */
}

static void on_cancel_status(void *data, int ok, run_t *active, int leased, run_t *last)
{
    orch_call_t *call = data;
    orch_t *orch = call->orch;
    orch_waiter_t *w = orch_call_done(call);
    if (w && !ok) {
        w->reply(w, 503, json_pack("{s:s}", "detail", "The state store is unavailable; retry shortly"));
    } else if (w && active == NULL) {
        w->reply(
            w, 200,
            json_pack("{s:n,s:s,s:b,s:s}", "run_id", "status", "unknown", "cancelled", 0, "detail", "No active run"));
    } else if (w) {
        snprintf(w->run_id, sizeof(w->run_id), "%s", active->id);
        orch_waiter_link(&orch->cancel_waiters, w);
        if (leased)
            orch->store->ops->request_cancel(orch->store, active->id);
        else /* nobody runs it any more: end it now */
            orch->store->ops->find_orphan(orch->store, active->id, on_cancel_orphan, orch);
        if (!uv_is_active((uv_handle_t *)&orch->cancel_timer))
            uv_timer_start(&orch->cancel_timer, on_cancel_timeout,
                           (uint64_t)(orch->cfg->cancel_grace_seconds * 1000) + REMOTE_CANCEL_EXTRA_MS, 0);
    }
    run_destroy(active);
    run_destroy(last);
}

void orch_shared_cancel(orch_t *orch, orch_waiter_t *w)
{
    orch->store->ops->load_status(orch->store, on_cancel_status, orch_call_new(orch, w));
}

/* ---- what the store tells us ----------------------------------------------------------------------------------- */

static void on_store_event(void *data, const event_t *ev)
{
    events_dispatch(((orch_t *)data)->events, ev);
}

static void on_store_cancel(void *data, const char *run_id)
{
    orch_t *orch = data;
    if (orch->active && strcmp(orch->active->id, run_id) == 0) {
        log_info("orch", "run %s: cancel asked for by another replica", run_id);
        orch_cancel_local(orch);
    }
}

/* The runs that ended here go to the store, oldest first, where it has no record of them. */
static void restore_history(orch_t *orch)
{
    history_expire(&orch->history, clock_now_ms());
    for (int i = orch->history.count - 1; i >= 0 && orch->store->ops->restore_finished; i--)
        orch->store->ops->restore_finished(orch->store, orch->history.items[i]);
}

static void on_store_release(void *data, const char *run_id)
{
    orch_handover_claim(data, run_id, on_orphan);
}

static void on_store_reconnect(void *data)
{
    orch_t *orch = data;
    /* take the lock back before anyone mistakes the run for an orphan, then write where it stands */
    renew_now(orch);
    if (orch->active && orch->active->status != RUN_QUEUED)
        orch->store->ops->save_active(orch->store, orch->active);
    restore_history(orch); /* Redis may have come back empty (no persistence) */
}

/* ---- life cycle ------------------------------------------------------------------------------------------------ */

static void listen_to_store(orch_t *orch)
{
    if (!shared(orch))
        return;
    store_listener_t listener = {.data = orch,
                                 .on_event = on_store_event,
                                 .on_cancel = on_store_cancel,
                                 .on_release = on_store_release,
                                 .on_reconnect = on_store_reconnect};
    orch->store->ops->set_listener(orch->store, &listener);
    uint64_t every = lease_ms(orch) / 2;
    uv_timer_start(&orch->orphan_timer, on_orphan_tick, every, every);
}

void orch_shared_init(orch_t *orch)
{
    uv_timer_t *timers[] = {&orch->lease_timer, &orch->orphan_timer, &orch->save_timer, &orch->cancel_timer};
    for (size_t i = 0; i < sizeof(timers) / sizeof(timers[0]); i++) {
        uv_timer_init(orch->loop, timers[i]);
        timers[i]->data = orch;
    }
    listen_to_store(orch);
}

void orch_set_store(orch_t *orch, store_t *store)
{
    orch->store = store;
    listen_to_store(orch);
    restore_history(orch); /* the runs that ended on the private store join the shared history */
}

int orch_shared_handles(orch_t *orch, uv_close_cb cb)
{
    uv_timer_t *timers[] = {&orch->lease_timer, &orch->orphan_timer, &orch->save_timer, &orch->cancel_timer};
    for (size_t i = 0; i < sizeof(timers) / sizeof(timers[0]); i++)
        uv_close((uv_handle_t *)timers[i], cb);
    return (int)(sizeof(timers) / sizeof(timers[0]));
}
