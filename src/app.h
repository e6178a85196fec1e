/* The application: every module wired together on one loop, with start-up and graceful shutdown. */
#ifndef APP_H
#define APP_H

#include <uv.h>

#include "app_store.h"
#include "config.h"
#include "core/bench_source.h"
#include "model/events.h"
#include "core/metrics.h"
#include "core/orchestrator.h"
#include "core/results_gc.h"
#include "exec/executor.h"
#include "http/server.h"
#include "http/ws_hub.h"
#include "store/store.h"

#define APP_SHUTDOWN_DEADLINE_MS 9000 /* SIGTERM to exit, whatever happens */
#define APP_DRAIN_MS             1500 /* how long open connections get to finish after the run has ended */
#define APP_REDIS_PROBE_MS       2000 /* Redis must answer this fast at start-up (else app_store.h) */
#define APP_START_UNUSABLE       (-2) /* app_start: the settings cannot work (no such executor, no cluster access) */

typedef struct app {
    uv_loop_t *loop;
    const config_t *cfg;
    events_t events;
    app_store_t stores; /* which store, and the memory fallback's move to Redis */
    store_t *store;     /* the one in use */
    executor_t *exec;
    struct kube_client *kube; /* EXECUTOR=nextflow: the Kubernetes API client */
    orch_t *orch;
    http_server_t *http;
    ws_hub_t *hub;
    bench_source_t bench;
    metrics_t metrics;
    results_gc_t results_gc;
    uv_signal_t sigterm, sigint;
    uv_timer_t deadline, drain;
    int64_t drain_until;
    int shutting_down;
    char replica[64]; /* this process's name in the shared store: host-pid-random */
} app_t;

/** Builds every module and starts serving. Returns 0, or -1 (or APP_START_UNUSABLE: exit code 2) with `err`
 *  filled (nothing is left running). */
int app_start(app_t *app, uv_loop_t *loop, const config_t *cfg, char *err, size_t errlen);
/** Frees what app_start built, after the loop has returned. */
void app_dispose(app_t *app);

#endif
