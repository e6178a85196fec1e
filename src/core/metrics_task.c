#include "core/metrics_task.h"

#include <stddef.h>
#include <string.h>

static const double time_bounds[METRICS_TASK_BUCKETS] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800};
static const double rss_bounds[METRICS_TASK_BUCKETS] = {
    1 << 20, 4 << 20, 16 << 20, 32 << 20, 64 << 20, 128 << 20, 256 << 20, 512 << 20, 1024.0 * (1 << 20),
    2048.0 * (1 << 20), 4096.0 * (1 << 20), 16384.0 * (1 << 20)};

static void observe(metrics_histogram_t *h, const double *bounds, double v)
{
    for (int b = 0; b < METRICS_TASK_BUCKETS; b++)
        if (v <= bounds[b]) {
            h->buckets[b]++;
            break;
        }
    h->count++;
    h->sum += v;
}

static int stage_of(const char *name)
{
    for (int s = 0; s < STAGE_COUNT; s++)
        if (name && strcmp(name, wf_stage_name(s)) == 0)
            return s;
    return -1;
}

void metrics_task_observe(metrics_tasks_t *m, const event_t *ev)
{
    json_t *task = json_object_get(ev->data, "task");
    if (ev->type != EVENT_PROGRESS || !json_is_object(task))
        return;
    if (strcmp(m->run_id, ev->run_id) != 0) {
        snprintf(m->run_id, sizeof(m->run_id), "%s", ev->run_id);
        m->seen_times = m->seen_rss = 0;
    }
    const char *state = json_string_value(json_object_get(task, "state"));
    int stage = stage_of(json_string_value(json_object_get(task, "name")));
    json_int_t batch = json_integer_value(json_object_get(task, "batch"));
    if (state == NULL || stage < 0 || batch < 0 || batch > 15)
        return;
    if (strcmp(state, "running") == 0 && json_integer_value(json_object_get(task, "attempt")) > 1)
        m->retries++;
    if (strcmp(state, "succeeded") != 0 && strcmp(state, "failed") != 0 && strcmp(state, "cancelled") != 0)
        return;
    uint64_t bit = 1ULL << (stage * 16 + batch);
    json_t *duration = json_object_get(task, "duration_seconds"), *queued = json_object_get(task, "queued_seconds");
    json_t *rss = json_object_get(task, "peak_rss_bytes");
    if (!(m->seen_times & bit) && json_is_number(duration)) {
        m->seen_times |= bit;
        observe(&m->duration[stage], time_bounds, json_number_value(duration));
        if (json_is_number(queued))
            observe(&m->queued[stage], time_bounds, json_number_value(queued));
    }
    if (!(m->seen_rss & bit) && json_is_number(rss)) { /* a pod's last lines may bring it after the end */
        m->seen_rss |= bit;
        observe(&m->rss[stage], rss_bounds, json_number_value(rss));
    }
}

static void write_histogram(FILE *f, const char *name, const metrics_histogram_t *h, const double *bounds,
                            const char *labels)
{
    uint64_t cumulative = 0;
    for (int b = 0; b < METRICS_TASK_BUCKETS; b++) {
        cumulative += h->buckets[b];
        fprintf(f, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels, bounds[b], (unsigned long long)cumulative);
    }
    fprintf(f, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels, (unsigned long long)h->count);
    fprintf(f, "%s_sum{%s} %.6f\n", name, labels, h->sum);
    fprintf(f, "%s_count{%s} %llu\n", name, labels, (unsigned long long)h->count);
}

void metrics_task_write(FILE *f, const metrics_tasks_t *m, const char *executor)
{
    static const struct {
        const char *name, *help;
        size_t offset;
        int by_executor;
    } families[] = {
        {"pipeline_task_duration_seconds", "How long the tasks this replica ran took, start to end.",
         offsetof(metrics_tasks_t, duration), 1},
        {"pipeline_task_queued_seconds", "How long the tasks waited between their submission and their start.",
         offsetof(metrics_tasks_t, queued), 1},
        {"pipeline_task_peak_rss_bytes", "The peak resident memory of the tasks this replica ran.",
         offsetof(metrics_tasks_t, rss), 0},
    };
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", families[i].name, families[i].help, families[i].name);
        const metrics_histogram_t *hs = (const metrics_histogram_t *)((const char *)m + families[i].offset);
        for (int s = 0; s < STAGE_COUNT; s++) {
            char labels[128];
            if (families[i].by_executor)
                snprintf(labels, sizeof(labels), "stage=\"%s\",executor=\"%s\"", wf_stage_name(s), executor);
            else
                snprintf(labels, sizeof(labels), "stage=\"%s\"", wf_stage_name(s));
            write_histogram(f, families[i].name, &hs[s], families[i].by_executor ? time_bounds : rss_bounds, labels);
        }
    }
    fprintf(f, "# HELP pipeline_task_retries_total Task attempts after the first that this replica started (a task "
               "that ended for a reason outside its code, run again).\n# TYPE pipeline_task_retries_total counter\n");
    fprintf(f, "pipeline_task_retries_total %llu\n", (unsigned long long)m->retries);
}
