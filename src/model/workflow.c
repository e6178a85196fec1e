#include "model/workflow.h"
#include <math.h>

#include <stdio.h>

static const char *const stage_names[STAGE_COUNT] = {"GENERATE", "ANALYZE", "REPORT"};
static const char *const state_names[] = {"pending", "running", "succeeded", "failed", "cancelled", "starting", "cached"};

wf_stage_t wf_task_stage(int batches, int task)
{
    if (task < batches)
        return STAGE_GENERATE;
    if (task < 2 * batches)
        return STAGE_ANALYZE;
    return STAGE_REPORT;
}

int wf_task_batch(int batches, int task)
{
    if (task < batches)
        return task + 1;
    if (task < 2 * batches)
        return task - batches + 1;
    return 0;
}

int wf_task_index(int batches, wf_stage_t stage, int batch)
{
    if (stage == STAGE_REPORT)
        return 2 * batches;
    if (batch < 1 || batch > batches)
        return -1;
    return stage == STAGE_GENERATE ? batch - 1 : batches + batch - 1;
}

const char *wf_stage_name(wf_stage_t stage)
{
    return stage < STAGE_COUNT ? stage_names[stage] : "UNKNOWN";
}

const char *wf_task_state_name(wf_task_state_t state)
{
    return state <= TASK_STATE_LAST ? state_names[state] : "unknown";
}

void wf_task_label(int batches, int task, char *out, size_t outlen)
{
    wf_stage_t stage = wf_task_stage(batches, task);
    if (stage == STAGE_REPORT)
        snprintf(out, outlen, "%s", stage_names[stage]);
    else
        snprintf(out, outlen, "%s (%d)", stage_names[stage], wf_task_batch(batches, task));
}

void wf_task_output(int batches, int task, char *out, size_t outlen)
{
    switch (wf_task_stage(batches, task)) {
    case STAGE_GENERATE: snprintf(out, outlen, "batch_%d.csv", wf_task_batch(batches, task)); break;
    case STAGE_ANALYZE: snprintf(out, outlen, "stats_batch_%d.json", wf_task_batch(batches, task)); break;
    default: snprintf(out, outlen, "report.json"); break;
    }
}

int wf_task_ready(int batches, const wf_task_state_t *states, int task)
{
    switch (wf_task_stage(batches, task)) {
    case STAGE_GENERATE: return 1;
    case STAGE_ANALYZE: return wf_task_done(states[task - batches]);
    default:
        for (int i = batches; i < 2 * batches; i++)
            if (!wf_task_done(states[i]))
                return 0;
        return 1;
    }
}

int wf_next_ready(int batches, const wf_task_state_t *states)
{
    static const wf_stage_t order[] = {STAGE_ANALYZE, STAGE_GENERATE, STAGE_REPORT};
    for (size_t o = 0; o < 3; o++)
        for (int b = 1; b <= (order[o] == STAGE_REPORT ? 1 : batches); b++) {
            int t = wf_task_index(batches, order[o], b);
            if (states[t] == TASK_PENDING && wf_task_ready(batches, states, t))
                return t;
        }
    return -1;
}

void wf_progress(int batches, const wf_task_state_t *states, wf_progress_t *out)
{
    *out = (wf_progress_t){0};
    out->total = wf_task_count(batches);
    out->stages[STAGE_GENERATE].total = batches;
    out->stages[STAGE_ANALYZE].total = batches;
    out->stages[STAGE_REPORT].total = 1;
    for (int t = 0; t < out->total; t++) {
        wf_stage_counts_t *s = &out->stages[wf_task_stage(batches, t)];
        switch (states[t]) {
        case TASK_SUCCEEDED:
        case TASK_CACHED:
            s->completed++;
            out->completed++;
            break;
        case TASK_RUNNING:
            s->running++;
            out->running++;
            break;
        case TASK_FAILED: s->failed++; break;
        default: break;
        }
    }
    out->batches_generated = out->stages[STAGE_GENERATE].completed;
    out->batches_analyzed = out->stages[STAGE_ANALYZE].completed;
    out->percent = out->total ? 100.0 * out->completed / out->total : 0;
}

static double task_duration(int batches, int task, const wf_durations_t *d)
{
    switch (wf_task_stage(batches, task)) {
    case STAGE_GENERATE: return d->generate + d->overhead;
    case STAGE_ANALYZE: return d->analyze + d->overhead;
    default: return d->report + d->overhead;
    }
}

/* Runs the scheduler on simulated time: `remaining[t]` is the time a running task still needs. */
static double simulate(int batches, wf_task_state_t *states, double *remaining, const wf_durations_t *d)
{
    int n = wf_task_count(batches), slots = d->parallelism > 0 ? d->parallelism : 1;
    double now = 0;
    for (;;) {
        int running = 0;
        for (int t = 0; t < n; t++)
            running += states[t] == TASK_RUNNING;
        int next;
        while (running < slots && (next = wf_next_ready(batches, states)) >= 0) {
            states[next] = TASK_RUNNING;
            remaining[next] = task_duration(batches, next, d);
            running++;
        }
        if (running == 0)
            return now;
        double step = -1;
        for (int t = 0; t < n; t++)
            if (states[t] == TASK_RUNNING && (step < 0 || remaining[t] < step))
                step = remaining[t];
        now += step;
        for (int t = 0; t < n; t++)
            if (states[t] == TASK_RUNNING && (remaining[t] -= step) <= 1e-9)
                states[t] = TASK_SUCCEEDED;
    }
}

double wf_estimate_seconds(int batches, const wf_durations_t *d)
{
    wf_task_state_t states[WF_MAX_TASKS] = {0};
    double remaining[WF_MAX_TASKS] = {0};
    return simulate(batches, states, remaining, d);
}

double wf_estimate_remaining(int batches, const wf_task_state_t *states, const double *elapsed, const wf_durations_t *d)
{
    wf_task_state_t sim[WF_MAX_TASKS];
    double remaining[WF_MAX_TASKS] = {0};
    int n = wf_task_count(batches);
    for (int t = 0; t < n; t++) {
        sim[t] = states[t];
        if (sim[t] == TASK_STARTING) {
            sim[t] = TASK_PENDING; /* its start-up is in its duration */
        } else if (sim[t] == TASK_RUNNING) {
            remaining[t] = task_duration(batches, t, d) - elapsed[t];
            if (remaining[t] < 0)
                remaining[t] = 0; /* overdue: assume it is about to finish */
        } else if (!wf_task_done(sim[t]) && sim[t] != TASK_PENDING) { /* cached: done, nothing to run */
            return 0; /* a failed or cancelled task: the run is ending */
        }
    }
    return simulate(batches, sim, remaining, d);
}

void wf_preview(int batches, const wf_resources_t *r, wf_preview_t *out)
{
    out->expected_pods = wf_task_count(batches);
    out->total_workers = wf_task_count(batches);
    out->peak_cpu = r->controller_cpu + batches * r->worker_cpu;
    out->peak_memory_gi = r->controller_memory_gi + batches * r->worker_memory_gi;
    double cpu_ratio = out->peak_cpu / r->quota_cpu, mem_ratio = out->peak_memory_gi / r->quota_memory_gi;
    /* a tiny tolerance: 14.000000000001 cores from floating point still fits a quota of 14 */
    int cpu_over = cpu_ratio > 1 + 1e-9, mem_over = mem_ratio > 1 + 1e-9;
    out->fits_quota = !cpu_over && !mem_over;
    if (cpu_over && mem_over)
        out->limiting_resource = mem_ratio > cpu_ratio ? "memory" : "cpu";
    else if (cpu_over)
        out->limiting_resource = "cpu";
    else if (mem_over)
        out->limiting_resource = "memory";
    else
        out->limiting_resource = NULL;
}

void wf_preview_pods(int batches, const wf_resources_t *r, wf_preview_t *out)
{
    out->expected_pods = wf_task_count(batches);
    out->total_workers = wf_task_count(batches);
    double by_cpu = r->worker_cpu > 0 ? floor(r->quota_cpu / r->worker_cpu + 1e-9) : batches;
    double by_mem = r->worker_memory_gi > 0 ? floor(r->quota_memory_gi / r->worker_memory_gi + 1e-9) : batches;
    double fit = by_cpu < by_mem ? by_cpu : by_mem;
    out->max_parallel_workers = fit < batches ? (int)fit : batches;
    out->fits_quota = out->max_parallel_workers >= 1;
    out->waves = out->fits_quota ? (batches + out->max_parallel_workers - 1) / out->max_parallel_workers : 0;
    out->peak_cpu = out->max_parallel_workers * r->worker_cpu;
    out->peak_memory_gi = out->max_parallel_workers * r->worker_memory_gi;
    out->limiting_resource = NULL;
    if (!out->fits_quota)
        out->limiting_resource =
            r->worker_memory_gi / r->quota_memory_gi > r->worker_cpu / r->quota_cpu ? "memory" : "cpu";
}

void wf_resources_of(const config_t *cfg, wf_resources_t *out)
{
    *out = (wf_resources_t){cfg->worker_cpu,          cfg->worker_memory_gi, cfg->controller_cpu,
                            cfg->controller_memory_gi, cfg->quota_cpu,        cfg->quota_memory_gi};
}

void wf_durations_of(const config_t *cfg, int batches, wf_durations_t *out)
{
    *out = (wf_durations_t){.generate = cfg->generate_seconds,
                            .analyze = cfg->analyze_seconds,
                            .overhead = cfg->executor == EXECUTOR_LOCAL ? WF_LOCAL_TASK_OVERHEAD : WF_POD_TASK_OVERHEAD,
                            .parallelism = batches};
    if (cfg->executor == EXECUTOR_LOCAL) {
        out->parallelism = cfg->local_parallelism;
    } else if (cfg->executor == EXECUTOR_KUBERNETES) {
        wf_resources_t r;
        wf_preview_t p;
        wf_resources_of(cfg, &r);
        wf_preview_pods(batches, &r, &p);
        out->parallelism = p.max_parallel_workers > 0 ? p.max_parallel_workers : 1;
    }
}
