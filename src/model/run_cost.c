#include "model/run_cost.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/run.h"

void run_cost_init(run_cost_t *c)
{
    *c = (run_cost_t){.cpu_seconds = -1,
                      .wall_seconds = -1,
                      .peak_rss_bytes = -1,
                      .read_bytes = -1,
                      .written_bytes = -1,
                      .exit_code = -1};
}

#define TAKE(field, known)                                                                                           \
    do {                                                                                                             \
        if ((known) && into->field != from->field) {                                                                 \
            into->field = from->field;                                                                               \
            changed = 1;                                                                                             \
        }                                                                                                            \
    } while (0)

int run_cost_merge(run_cost_t *into, const run_cost_t *from)
{
    int changed = 0;
    TAKE(attempt, from->attempt > 0);
    TAKE(submitted_ms, from->submitted_ms > 0);
    TAKE(started_ms, from->started_ms > 0);
    TAKE(finished_ms, from->finished_ms > 0);
    TAKE(cpu_seconds, from->cpu_seconds >= 0);
    TAKE(wall_seconds, from->wall_seconds >= 0);
    TAKE(peak_rss_bytes, from->peak_rss_bytes >= 0);
    TAKE(read_bytes, from->read_bytes >= 0);
    TAKE(written_bytes, from->written_bytes >= 0);
    TAKE(exit_code, from->exit_code >= 0);
    TAKE(pid, from->pid > 0);
    if (from->pod[0] && strcmp(into->pod, from->pod) != 0) {
        memcpy(into->pod, from->pod, sizeof(into->pod));
        changed = 1;
    }
    if (from->node[0] && strcmp(into->node, from->node) != 0) {
        memcpy(into->node, from->node, sizeof(into->node));
        changed = 1;
    }
    return changed;
}

double run_cost_duration(const run_cost_t *c)
{
    if (c->started_ms > 0 && c->finished_ms >= c->started_ms)
        return (c->finished_ms - c->started_ms) / 1000.0;
    return -1;
}

double run_cost_queued(const run_cost_t *c)
{
    if (c->submitted_ms > 0 && c->started_ms > 0)
        return c->started_ms > c->submitted_ms ? (c->started_ms - c->submitted_ms) / 1000.0 : 0.0;
    return -1;
}

static json_t *real_or_null(double v)
{
    return v >= 0 ? json_real(round(v * 1000.0) / 1000.0) : json_null();
}

static json_t *int_or_null(int64_t v)
{
    return v >= 0 ? json_integer(v) : json_null();
}

static json_t *where_json(const run_cost_t *c)
{
    if (c->pod[0])
        return json_pack("{s:s,s:o}", "pod", c->pod, "node", c->node[0] ? json_string(c->node) : json_null());
    if (c->pid > 0)
        return json_pack("{s:i}", "pid", c->pid);
    return json_null();
}

static void put(json_t *o, const char *key, json_t *v, int known_only)
{
    if (known_only && json_is_null(v))
        return; /* json_null() is a singleton: nothing to free */
    json_object_set_new(o, key, v);
}

void run_cost_add_json(json_t *o, const run_cost_t *c, int attempt, int known_only)
{
    put(o, "attempt", attempt > 0 ? json_integer(attempt) : json_null(), known_only);
    put(o, "submitted_at", run_time_json(c->submitted_ms), known_only);
    put(o, "started_at", run_time_json(c->started_ms), known_only);
    put(o, "finished_at", run_time_json(c->finished_ms), known_only);
    put(o, "duration_seconds", real_or_null(run_cost_duration(c)), known_only);
    put(o, "queued_seconds", real_or_null(run_cost_queued(c)), known_only);
    put(o, "cpu_seconds", real_or_null(c->cpu_seconds), known_only);
    put(o, "peak_rss_bytes", int_or_null(c->peak_rss_bytes), known_only);
    put(o, "read_bytes", int_or_null(c->read_bytes), known_only);
    put(o, "written_bytes", int_or_null(c->written_bytes), known_only);
    put(o, "exit_code", c->exit_code >= 0 ? json_integer(c->exit_code) : json_null(), known_only);
    put(o, "where", where_json(c), known_only);
}

/* [attempt, submitted, start - submitted, finish - start, cpu us, wall us, rss, read, written, exit, pid, pod, node]:
 * times in Unix ms (the two after the first as differences: a 12-batch record stays small), seconds as whole
 * microseconds; -1 for what is not known (0 for the submit time and the pid), "" for strings not known */
static json_int_t delta(int64_t from, int64_t to)
{
    return from > 0 && to > 0 ? (json_int_t)(to - from) : to > 0 ? (json_int_t)to : -1;
}

static int64_t undelta(int64_t from, json_int_t d)
{
    if (d < 0)
        return 0;
    return from > 0 && d < 100000000000LL ? from + d : d; /* an absolute time when there was nothing to add to */
}

static json_int_t micros(double s)
{
    return s >= 0 ? (json_int_t)llround(s * 1e6) : -1;
}

json_t *run_cost_to_record(const run_cost_t *c)
{
    int64_t base_start = c->submitted_ms > 0 ? c->submitted_ms : 0;
    int64_t base_finish = c->started_ms > 0 ? c->started_ms : 0;
    return json_pack("[i,I,I,I,I,I,I,I,I,i,i,s,s]", c->attempt, (json_int_t)c->submitted_ms,
                     delta(base_start, c->started_ms), delta(base_finish, c->finished_ms), micros(c->cpu_seconds),
                     micros(c->wall_seconds), (json_int_t)c->peak_rss_bytes, (json_int_t)c->read_bytes,
                     (json_int_t)c->written_bytes, c->exit_code, c->pid, c->pod, c->node);
}

int run_cost_from_record(const json_t *rec, run_cost_t *c)
{
    int attempt, exit_code, pid;
    json_int_t sub, start, fin, cpu, wall, rss, rd, wr;
    const char *pod, *node;
    if (json_unpack((json_t *)rec, "[i,I,I,I,I,I,I,I,I,i,i,s,s]", &attempt, &sub, &start, &fin, &cpu, &wall, &rss,
                    &rd, &wr, &exit_code, &pid, &pod, &node) != 0 ||
        attempt < 0 || attempt > 1000 || sub < 0 || exit_code < -1 || exit_code > 511 || pid < 0 ||
        strlen(pod) >= sizeof(c->pod) || strlen(node) >= sizeof(c->node))
        return -1;
    run_cost_init(c);
    c->attempt = attempt;
    c->submitted_ms = sub;
    c->started_ms = undelta(sub, start);
    c->finished_ms = undelta(c->started_ms, fin);
    c->cpu_seconds = cpu < 0 ? -1 : cpu / 1e6;
    c->wall_seconds = wall < 0 ? -1 : wall / 1e6;
    c->peak_rss_bytes = rss < 0 ? -1 : rss;
    c->read_bytes = rd < 0 ? -1 : rd;
    c->written_bytes = wr < 0 ? -1 : wr;
    c->exit_code = exit_code;
    c->pid = pid;
    snprintf(c->pod, sizeof(c->pod), "%s", pod);
    snprintf(c->node, sizeof(c->node), "%s", node);
    return 0;
}
