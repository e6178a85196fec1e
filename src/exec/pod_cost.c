#include "exec/pod_cost.h"

#include <stdio.h>
#include <string.h>

#include "util/clock.h"
#include "util/usage_line.h"

static int64_t time_of(json_t *v)
{
    const char *s = json_string_value(v);
    int64_t ms;
    size_t used;
    if (s == NULL || clock_parse_iso8601_prefix(s, strlen(s), &ms, &used) != 0 || ms <= 0)
        return 0;
    return ms;
}

void pod_cost_read(json_t *pod, int created, run_cost_t *c)
{
    json_t *meta = json_object_get(pod, "metadata"), *spec = json_object_get(pod, "spec");
    json_t *status = json_object_get(pod, "status");
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *node = json_string_value(json_object_get(spec, "nodeName"));
    if (name)
        snprintf(c->pod, sizeof(c->pod), "%s", name);
    if (node)
        snprintf(c->node, sizeof(c->node), "%s", node);
    if (created)
        c->submitted_ms = time_of(json_object_get(meta, "creationTimestamp"));
    json_t *state = json_object_get(json_array_get(json_object_get(status, "containerStatuses"), 0), "state");
    json_t *running = json_object_get(state, "running"), *ended = json_object_get(state, "terminated");
    if (running)
        c->started_ms = time_of(json_object_get(running, "startedAt"));
    if (ended) {
        c->started_ms = time_of(json_object_get(ended, "startedAt"));
        c->finished_ms = time_of(json_object_get(ended, "finishedAt"));
        json_t *code = json_object_get(ended, "exitCode");
        if (json_is_integer(code) && json_integer_value(code) >= 0 && json_integer_value(code) <= 511)
            c->exit_code = (int)json_integer_value(code);
    }
}

int pod_cost_take_usage_line(const exec_listener_t *l, int task, const char *line, size_t len)
{
    usage_line_t u;
    if (!usage_line_parse(line, len, &u))
        return 0;
    run_cost_t c;
    run_cost_init(&c);
    if (u.user >= 0 && u.sys >= 0)
        c.cpu_seconds = u.user + u.sys;
    c.wall_seconds = u.wall;
    c.peak_rss_bytes = u.maxrss;
    c.read_bytes = u.rchar;
    c.written_bytes = u.wchar;
    c.exit_code = u.exit_code;
    if (l->task_cost)
        l->task_cost(l->data, task, &c);
    return 1;
}
