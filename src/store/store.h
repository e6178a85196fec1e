/*
 * The state store: the single-active-run lock and the durable copy of runs. The orchestrator keeps the live
 * state in memory and writes through to the store; with more than one replica the store is what they share.
 *
 * One file per implementation, each exporting a constructor: store_memory.c (one process), store_redis.c.
 */
#ifndef STORE_STORE_H
#define STORE_STORE_H

#include "core/run.h"

typedef enum {
    STORE_ACQUIRED, /* the lock is ours for this run id */
    STORE_HELD,     /* another run holds it (its id is given) */
    STORE_ERROR,    /* the store could not answer */
} store_acquire_result_t;

typedef void (*store_acquire_cb)(void *data, store_acquire_result_t result, const char *holder_run_id);

typedef struct store store_t;

typedef struct store_ops {
    const char *name; /* "memory" or "redis", as health reports it */
    /** Tries to take the lock for `run_id`. `cb` fires exactly once, possibly before this returns. */
    void (*acquire)(store_t *store, const char *run_id, store_acquire_cb cb, void *data);
    /** Frees the lock if `run_id` still holds it. */
    void (*release)(store_t *store, const char *run_id);
    /** The active run changed (status, task states, log tail). */
    void (*save_active)(store_t *store, const run_t *run);
    /** A run ended: it goes into the stored history and is no longer active. */
    void (*save_finished)(store_t *store, const run_t *run);
    /** 1 while the store works as configured, 0 when degraded. */
    int (*healthy)(const store_t *store);
    void (*destroy)(store_t *store);
} store_ops_t;

struct store {
    const store_ops_t *ops;
};

store_t *store_memory_create(void);

#endif
