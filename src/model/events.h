/*
 * Events: every change the outside world may see goes through events_emit() as one struct, handed in order to
 * every subscriber (the WebSocket hub, the store, the metrics). Subscribers know nothing of each other.
 */
#ifndef MODEL_EVENTS_H
#define MODEL_EVENTS_H

#include <jansson.h>
#include <stdint.h>

typedef enum { EVENT_STATUS, EVENT_PROGRESS, EVENT_LOG, EVENT_COMPLETE, EVENT_ERROR, EVENT_TYPE_COUNT } event_type_t;

typedef struct event {
    event_type_t type;
    char run_id[16]; /* a run id, or "none" */
    uint64_t seq;    /* one more than the previous event */
    int64_t ts_ms;
    int local;    /* emitted by this process (with a shared store, others' events arrive too) */
    json_t *data; /* borrowed: a subscriber that keeps it takes a reference */
} event_t;

typedef void (*events_handler_fn)(void *ctx, const event_t *ev);

#define EVENTS_MAX_SUBSCRIBERS 8

/** Hands an event to a shared channel instead (a store): 0 when sent (it comes back through events_dispatch,
 *  numbered), -1 when it could not be (then it is numbered and delivered here). */
typedef int (*events_publish_fn)(void *ctx, const event_t *ev);

typedef struct events {
    struct {
        events_handler_fn fn;
        void *ctx;
    } subs[EVENTS_MAX_SUBSCRIBERS];
    int nsubs;
    uint64_t seq; /* seq of the last event delivered (0 before any) */
    events_publish_fn publish;
    void *publish_ctx;
} events_t;

void events_init(events_t *ev);
/** Returns 0, or -1 when the subscriber table is full. */
int events_subscribe(events_t *ev, events_handler_fn fn, void *ctx);
void events_unsubscribe(events_t *ev, events_handler_fn fn, void *ctx);

/**
 * Stamps the time and hands the event on: to the publisher when there is one (it comes back numbered through
 * events_dispatch), else (or when publishing fails) numbered with the next seq and delivered to every subscriber
 * here. Steals `data`.
 */
void events_emit(events_t *ev, event_type_t type, const char *run_id, json_t *data);

/** Delivers an event numbered elsewhere (a shared channel) to every subscriber; later local numbers follow it. */
void events_dispatch(events_t *ev, const event_t *e);

void events_set_publisher(events_t *ev, events_publish_fn fn, void *ctx);

const char *event_type_name(event_type_t type);

/** The wire form of API.md: {"type","data","timestamp","run_id","seq"} as compact JSON; free() the result. */
char *event_to_json(const event_t *ev, size_t *len);

#endif
