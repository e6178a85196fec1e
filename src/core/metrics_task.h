/*
 * What the tasks this replica ran cost, for /metrics: histograms of their duration and queueing time (by stage and
 * executor) and of their peak resident memory (by stage), and the retries started. Fed by the progress messages
 * this replica emits (each carries its task's figures); each task is observed once per run, when it has ended.
 */
#ifndef CORE_METRICS_TASK_H
#define CORE_METRICS_TASK_H

#include <stdint.h>
#include <stdio.h>

#include "model/events.h"
#include "model/workflow.h"

#define METRICS_TASK_BUCKETS 12

typedef struct metrics_histogram {
    uint64_t buckets[METRICS_TASK_BUCKETS]; /* not cumulative; cumulated when printed */
    uint64_t count;
    double sum;
} metrics_histogram_t;

typedef struct metrics_tasks {
    metrics_histogram_t duration[STAGE_COUNT], queued[STAGE_COUNT], rss[STAGE_COUNT];
    uint64_t retries;
    char run_id[16];                /* the run whose tasks the masks below follow */
    uint64_t seen_times, seen_rss; /* its tasks observed (bit stage * 16 + batch) */
} metrics_tasks_t;

/** One event this replica emitted. */
void metrics_task_observe(metrics_tasks_t *m, const event_t *ev);
/** The four families in Prometheus' text format; `executor` labels the time histograms. */
void metrics_task_write(FILE *f, const metrics_tasks_t *m, const char *executor);

#endif
