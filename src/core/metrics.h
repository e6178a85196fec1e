/*
 * Counters of what this replica did, for /metrics: requests by route and status with a latency histogram
 * (fed by the HTTP edge), runs by final status and task processes started and failed (fed by the events this
 * replica emits). Gauges (clients, active run, store health) are read from their owners at scrape time.
 */
#ifndef CORE_METRICS_H
#define CORE_METRICS_H

#include <stdint.h>

#include "core/metrics_task.h"
#include "model/events.h"
#include "model/run.h"

#define METRICS_MAX_SERIES 64
#define METRICS_BUCKETS    12

typedef struct metrics_http_series {
    const char *route; /* a route pattern (static string) */
    const char *method;
    int status;
    uint64_t count;
} metrics_http_series_t;

typedef struct metrics_latency {
    const char *route;
    uint64_t buckets[METRICS_BUCKETS]; /* cumulative is computed when printed */
    uint64_t count;
    double sum;
} metrics_latency_t;

typedef struct metrics {
    metrics_http_series_t http[METRICS_MAX_SERIES];
    int nhttp;
    metrics_latency_t latency[METRICS_MAX_SERIES];
    int nlatency;
    uint64_t runs[RUN_UNKNOWN + 1]; /* by final status */
    uint64_t tasks_started, tasks_failed;
    metrics_tasks_t task_costs; /* metrics_task.c */
} metrics_t;

extern const double metrics_bucket_bounds[METRICS_BUCKETS];

void metrics_init(metrics_t *m, events_t *events);
void metrics_dispose(metrics_t *m, events_t *events);
/** One answered request: its route pattern, method, status and how long it took. */
void metrics_http(metrics_t *m, const char *route, const char *method, int status, double seconds);

#endif
