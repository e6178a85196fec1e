#include "core/metrics.h"

#include <string.h>

const double metrics_bucket_bounds[METRICS_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                       0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

/* Only what this replica did counts: with a shared store, every replica also sees the others' events. */
static void on_event(void *ctx, const event_t *ev)
{
    metrics_t *m = ctx;
    if (!ev->local)
        return;
    if (ev->type == EVENT_PROGRESS) {
        metrics_task_observe(&m->task_costs, ev);
        if (json_is_true(json_object_get(ev->data, "figures_only")))
            return; /* no state change */
        const char *state = json_string_value(json_object_get(json_object_get(ev->data, "task"), "state"));
        if (state && strcmp(state, "running") == 0)
            m->tasks_started++;
        else if (state && strcmp(state, "failed") == 0)
            m->tasks_failed++;
    } else if (ev->type == EVENT_COMPLETE) {
        int status = run_status_parse(json_string_value(json_object_get(ev->data, "status")) ?: "unknown");
        m->runs[status < 0 ? RUN_UNKNOWN : status]++;
    }
}

void metrics_init(metrics_t *m, events_t *events)
{
    memset(m, 0, sizeof(*m));
    events_subscribe(events, on_event, m);
}

void metrics_dispose(metrics_t *m, events_t *events)
{
    events_unsubscribe(events, on_event, m);
}

void metrics_http(metrics_t *m, const char *route, const char *method, int status, double seconds)
{
    int i;
    for (i = 0; i < m->nhttp; i++)
        if (m->http[i].route == route && m->http[i].status == status && strcmp(m->http[i].method, method) == 0)
            break;
    if (i == m->nhttp && m->nhttp < METRICS_MAX_SERIES)
        m->http[m->nhttp++] = (metrics_http_series_t){route, method, status, 0};
    if (i < m->nhttp)
        m->http[i].count++;

    for (i = 0; i < m->nlatency; i++)
        if (m->latency[i].route == route)
            break;
    if (i == m->nlatency && m->nlatency < METRICS_MAX_SERIES)
        m->latency[m->nlatency++] = (metrics_latency_t){.route = route};
    if (i == m->nlatency)
        return;
    metrics_latency_t *l = &m->latency[i];
    for (int b = 0; b < METRICS_BUCKETS; b++)
        if (seconds <= metrics_bucket_bounds[b]) {
            l->buckets[b]++;
            break;
        }
    l->count++;
    l->sum += seconds;
}
