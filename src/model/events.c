#include "model/events.h"

#include <stdio.h>
#include <string.h>

#include "model/run.h"
#include "util/clock.h"
#include "util/log.h"

static const char *const type_names[EVENT_TYPE_COUNT] = {"status", "progress", "log", "complete", "error"};

void events_init(events_t *ev)
{
    memset(ev, 0, sizeof(*ev));
}

int events_subscribe(events_t *ev, events_handler_fn fn, void *ctx)
{
    if (ev->nsubs == EVENTS_MAX_SUBSCRIBERS)
        return -1;
    ev->subs[ev->nsubs].fn = fn;
    ev->subs[ev->nsubs].ctx = ctx;
    ev->nsubs++;
    return 0;
}

void events_unsubscribe(events_t *ev, events_handler_fn fn, void *ctx)
{
    for (int i = 0; i < ev->nsubs; i++)
        if (ev->subs[i].fn == fn && ev->subs[i].ctx == ctx) {
            memmove(&ev->subs[i], &ev->subs[i + 1], (size_t)(ev->nsubs - i - 1) * sizeof(ev->subs[0]));
            ev->nsubs--;
            return;
        }
}

static void deliver(events_t *ev, const event_t *e)
{
    for (int i = 0; i < ev->nsubs; i++)
        ev->subs[i].fn(ev->subs[i].ctx, e);
}

void events_emit(events_t *ev, event_type_t type, const char *run_id, json_t *data)
{
    if (data == NULL) { /* a json_pack that failed (a bug: every text is repaired to UTF-8 before it gets here) */
        log_error("events", "a %s event of run %s could not be built; it is not sent", event_type_name(type),
                  run_id ? run_id : "none");
        return;
    }
    event_t e = {.type = type, .ts_ms = clock_now_ms(), .local = 1, .data = data};
    snprintf(e.run_id, sizeof(e.run_id), "%s", run_id ? run_id : "none");
    if (ev->publish == NULL || ev->publish(ev->publish_ctx, &e) != 0) {
        e.seq = ++ev->seq;
        deliver(ev, &e);
    }
    json_decref(data);
}

void events_dispatch(events_t *ev, const event_t *e)
{
    if (e->seq > ev->seq)
        ev->seq = e->seq;
    deliver(ev, e);
}

void events_set_publisher(events_t *ev, events_publish_fn fn, void *ctx)
{
    ev->publish = fn;
    ev->publish_ctx = ctx;
}

const char *event_type_name(event_type_t type)
{
    return type < EVENT_TYPE_COUNT ? type_names[type] : "unknown";
}

char *event_to_json(const event_t *ev, size_t *len)
{
    json_t *o = json_pack("{s:s,s:O,s:o,s:s,s:I}", "type", event_type_name(ev->type), "data", ev->data, "timestamp",
                          run_time_json(ev->ts_ms), "run_id", ev->run_id, "seq", (json_int_t)ev->seq);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(o);
    if (s && len)
        *len = strlen(s);
    return s;
}
