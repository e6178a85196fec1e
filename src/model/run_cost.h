/*
 * What one attempt of a task cost: when it was submitted, started and finished, the CPU, memory and I/O it used,
 * how it exited and where it ran. Executors report parts of it as they learn them (run_cost_merge); the run keeps
 * one per task (its latest attempt) and the attempts that were retried.
 */
#ifndef MODEL_RUN_COST_H
#define MODEL_RUN_COST_H

#include <jansson.h>
#include <stdint.h>

typedef struct run_cost {
    int attempt;                                   /* 0: not known */
    int64_t submitted_ms, started_ms, finished_ms; /* Unix ms; 0: not known */
    double cpu_seconds;                            /* user + system; < 0: not known */
    double wall_seconds;                           /* as the task measured itself; < 0: not known */
    int64_t peak_rss_bytes, read_bytes, written_bytes; /* < 0: not known */
    int exit_code;                                 /* < 0: not known (a signal N is 128 + N) */
    int pid;                                       /* 0: not a local process */
    char pod[64], node[64];                        /* "": not a pod / node not known */
} run_cost_t;

/** A past attempt of a task, kept for the trace: it ended (`state`) and the task ran again. */
typedef struct run_attempt {
    int task;
    int state; /* wf_task_state_t */
    run_cost_t cost;
} run_attempt_t;

#define RUN_MAX_PAST_ATTEMPTS 64

/** Every figure unknown. */
void run_cost_init(run_cost_t *c);
/** Takes every figure `from` knows into `into`; returns 1 when something changed. */
int run_cost_merge(run_cost_t *into, const run_cost_t *from);

/** duration_seconds (start to end) and queued_seconds (submitted to start); < 0: not known. */
double run_cost_duration(const run_cost_t *c);
double run_cost_queued(const run_cost_t *c);

/** Adds the API's fields of `c` (attempt ... where) to the task object `o`; `attempt` is the task's attempt.
 *  `known_only`: leaves out those not known yet (a stream update), else they are null. */
void run_cost_add_json(json_t *o, const run_cost_t *c, int attempt, int known_only);

/** The record's compact form (an array) and back; NULL/-1 on a malformed one. */
json_t *run_cost_to_record(const run_cost_t *c);
int run_cost_from_record(const json_t *rec, run_cost_t *c);

#endif
