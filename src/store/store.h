/*
 * The state store: the single-active-run lock, the durable copy of runs and history, and (when shared) the
 * channel that carries events and cancel requests between replicas.
 *
 * One file per implementation, each exporting a constructor: store_memory.c (one process: the orchestrator's
 * own state is the state), store_redis.c (replicas share one Redis). Callbacks hand their runs over: the callee
 * owns and frees every run_t it receives. A callback fires exactly once, possibly before the call returns.
 */
#ifndef STORE_STORE_H
#define STORE_STORE_H

#include <jansson.h>
#include <stddef.h>

#include "model/events.h"
#include "model/run.h"

typedef struct store store_t;

typedef enum {
    STORE_ACQUIRED, /* the lock is ours for this run */
    STORE_HELD,     /* another run holds it */
    STORE_ERROR,    /* the store could not answer */
} store_acquire_result_t;

/** `holder`: with STORE_HELD, the run holding the lock (may be NULL if unreadable). `orphan`: with
 *  STORE_ACQUIRED, an active run whose owner's lease had run out: ours now to end as failed. */
typedef void (*store_acquire_cb)(void *data, store_acquire_result_t result, run_t *holder, run_t *orphan);
/** `ok` 0 when the store could not answer. */
/** `leased`: whether the active run's owner still holds the lock. */
typedef void (*store_status_cb)(void *data, int ok, run_t *active, int leased, run_t *last);
typedef void (*store_runs_cb)(void *data, int ok, run_t **runs, int count);
typedef void (*store_text_cb)(void *data, int ok, const char *text, size_t len); /* text NULL: none */
typedef void (*store_renew_cb)(void *data, int still_ours);
/** `seen`: the id of an active run without a lease (or NULL); `claimed`: that run, now ours to end, when it was
 *  the candidate asked about. */
typedef void (*store_orphan_cb)(void *data, const char *seen, run_t *claimed);

/** What a shared store tells the orchestrator. */
typedef struct store_listener {
    void *data;
    /** An event from the shared channel (every replica's, this one's too), numbered by the store, in order. */
    void (*on_event)(void *data, const event_t *ev);
    /** A replica asks the owner of `run_id` to cancel it. */
    void (*on_cancel)(void *data, const char *run_id);
    /** The owner of `run_id` released it (a handover at shutdown): a live replica may claim it now. */
    void (*on_release)(void *data, const char *run_id);
    /** The store is reachable again after an outage. */
    void (*on_reconnect)(void *data);
} store_listener_t;

typedef struct store_ops {
    const char *name; /* "memory" or "redis", as health reports it */
    int shared;       /* 1: other replicas share this state; reads of runs not owned here go to the store */
    void (*set_listener)(store_t *store, const store_listener_t *listener);
    /** Takes the lock for a new run and records it as the active run, atomically. */
    void (*acquire)(store_t *store, const run_t *run, store_acquire_cb cb, void *data);
    /** Extends the lease of the owner's run (and takes the lock back after an outage if nobody else has). */
    void (*renew)(store_t *store, const run_t *run, store_renew_cb cb, void *data);
    /** The active run changed. Written later if the store is down. */
    void (*save_active)(store_t *store, const run_t *run);
    /** A run ended: into history (with its report), no longer active, the lock freed if `ours`. Written later if
     *  the store is down. */
    void (*save_finished)(store_t *store, const run_t *run, const char *report_json, int ours);
    /** Records a run this replica finished earlier again if the store has no record of it (it lost its data, e.g.
     *  a restart without persistence). NULL for a store that cannot lose what it was told. */
    void (*restore_finished)(store_t *store, const run_t *run);
    /** Sends an event to every replica. 0: sent (it comes back through on_event); -1: not (deliver locally). */
    int (*publish)(store_t *store, const event_t *ev);
    /** Asks whichever replica owns `run_id` to cancel it. */
    void (*request_cancel)(store_t *store, const char *run_id);
    void (*load_status)(store_t *store, store_status_cb cb, void *data);
    void (*load_history)(store_t *store, int limit, store_runs_cb cb, void *data);
    void (*load_run)(store_t *store, const char *run_id, store_runs_cb cb, void *data);
    void (*load_report)(store_t *store, const char *run_id, store_text_cb cb, void *data);
    /** A handover: writes the run's record and gives up its lock while the run stays active, so that another
     *  replica claims it at once (find_orphan), and tells every replica (on_release). `ok` 1 when done; 0 when the
     *  lock was not ours or the store could not answer. NULL: not a shared store. */
    void (*release)(store_t *store, const run_t *run, void (*cb)(void *data, int ok), void *data);
    /** Looks for an active run whose owner's lease has run out; claims it (takes its lock) if it is
     *  `candidate` (NULL: only look). */
    void (*find_orphan)(store_t *store, const char *candidate, store_orphan_cb cb, void *data);
    /** 1 while the store works as configured, 0 when degraded. */
    int (*healthy)(const store_t *store);
    /** 1 while writes are on their way (a shutdown waits for them, within its deadline). */
    int (*busy)(const store_t *store);
    /** Commands that failed or got no answer, since start. */
    uint64_t (*error_count)(const store_t *store);
    /** The last event seq the store has handed out (to continue numbering locally during an outage). */
    uint64_t (*last_seq)(const store_t *store);
    void (*destroy)(store_t *store);
} store_ops_t;

struct store {
    const store_ops_t *ops;
};

store_t *store_memory_create(void);

#endif
