/*
 * Bounded disk: DATA_DIR/results/<run_id>/ folders are removed once their run leaves the history. The newest
 * RUN_HISTORY_LIMIT folders younger than RUN_TTL_MINUTES stay (with RESULTS_KEEP=N: the newest N, whatever their
 * age); the folder of a run that ended empty (a run cancelled before it wrote anything) goes at once; the active
 * run's folder is never touched. At start-up, files a killed task left half-written (*.tmp.*) go too.
 * It follows the runs through the events (status and complete) and sweeps after every run, at start-up and once
 * a minute; the file work runs on libuv's thread pool, never on the loop, one sweep at a time. It works from a
 * descriptor of DATA_DIR/results by names of one component (openat/fstatat/unlinkat, O_NOFOLLOW): a symlink a
 * task plants in its folder, or swaps for a sub-folder during a sweep, is removed itself, never followed.
 */
#ifndef CORE_RESULTS_GC_H
#define CORE_RESULTS_GC_H

#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "model/events.h"
#include "util/ids.h"

#define RESULTS_GC_INTERVAL_MS 60000
#define RESULTS_GC_ENDED_MAX   32

typedef struct results_gc {
    uv_loop_t *loop;
    const config_t *cfg;
    events_t *events;
    uv_timer_t timer;
    char active[RUN_ID_LEN + 1];                      /* the run in progress as the events tell it ("" when none) */
    char ended[RESULTS_GC_ENDED_MAX][RUN_ID_LEN + 1]; /* runs that ended since the last sweep started */
    int nended;
    int running, again; /* a sweep is on the thread pool; another is wanted after it */
    int startup;        /* the next sweep is the start-up one */
    int closing;
    uint64_t removed; /* folders removed so far */
} results_gc_t;

/** Subscribes to `events` and starts the start-up sweep. */
void results_gc_init(results_gc_t *gc, uv_loop_t *loop, const config_t *cfg, events_t *events);
/** Unsubscribes and closes the timer (a sweep in flight finishes on its own). */
void results_gc_dispose(results_gc_t *gc);

#endif
