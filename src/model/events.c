#include "model/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/event_wire.h"
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

/* A growing string for event_to_json. */
typedef struct text_buf {
    char *p;
    size_t len, cap;
} text_buf_t;

static int text_append(const char *bytes, size_t n, void *ctx)
{
    text_buf_t *t = ctx;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *p = realloc(t->p, cap);
        if (p == NULL)
            return -1;
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, bytes, n);
    t->len += n;
    return 0;
}

char *event_to_json(const event_t *ev, size_t *len)
{
    text_buf_t t = {0};
    if (event_wire_write(ev, text_append, &t) != 0 || text_append("", 0, &t) != 0) {
        free(t.p);
        return NULL;
    }
    t.p[t.len] = '\0';
    if (len)
        *len = t.len;
    return t.p;
}
