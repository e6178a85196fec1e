/* Unit tests for src/model/events.{h,c}: numbering, delivery in subscription order, publishers, the wire form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "model/events.h"
#include "util/clock.h"

/* 2026-11-29T12:00:00.123Z */
#define T0 1795953600123LL
#define RUN_ID "r0123456789a"

/* Every delivery, to every recorder, in the order they happened. */
typedef struct delivery {
    int who;
    event_type_t type;
    char run_id[16];
    uint64_t seq;
    int64_t ts_ms;
    int local;
    json_t *data; /* a reference taken by the recorder */
} delivery_t;

#define MAX_DELIVERIES 128
static delivery_t deliveries[MAX_DELIVERIES];
static int ndeliveries;

typedef struct recorder {
    int who;
    int count;
} recorder_t;

static void record(void *ctx, const event_t *ev)
{
    recorder_t *r = ctx;
    r->count++;
    assert_true(ndeliveries < MAX_DELIVERIES);
    delivery_t *d = &deliveries[ndeliveries++];
    d->who = r->who;
    d->type = ev->type;
    memcpy(d->run_id, ev->run_id, sizeof(d->run_id));
    d->seq = ev->seq;
    d->ts_ms = ev->ts_ms;
    d->local = ev->local;
    d->data = json_incref(ev->data);
}

/* A second handler function, to tell subscribers apart by function as well as by context. */
static void record_too(void *ctx, const event_t *ev) { record(ctx, ev); }

static int reset_deliveries(void **state)
{
    (void)state;
    for (int i = 0; i < ndeliveries; i++)
        json_decref(deliveries[i].data);
    memset(deliveries, 0, sizeof(deliveries));
    ndeliveries = 0;
    return 0;
}

static void assert_delivery(int i, int who, event_type_t type, const char *run_id, uint64_t seq, int local)
{
    assert_true(i < ndeliveries);
    assert_int_equal(deliveries[i].who, who);
    assert_int_equal(deliveries[i].type, type);
    assert_string_equal(deliveries[i].run_id, run_id);
    assert_int_equal(deliveries[i].seq, seq);
    assert_int_equal(deliveries[i].local, local);
}

static void test_emit_numbers_and_orders(void **state)
{
    (void)state;
    events_t ev;
    events_init(&ev);
    assert_int_equal(ev.seq, 0);
    assert_int_equal(ev.nsubs, 0);
    recorder_t a = {.who = 1}, b = {.who = 2}, c = {.who = 3};
    assert_int_equal(events_subscribe(&ev, record, &a), 0);
    assert_int_equal(events_subscribe(&ev, record, &b), 0);
    assert_int_equal(events_subscribe(&ev, record_too, &c), 0);

    json_t *d1 = json_pack("{s:s}", "status", "running");
    json_t *d2 = json_pack("{s:i}", "completed", 3);
    json_t *d3 = json_pack("{s:s,s:s}", "stage", "GENERATE", "message", "boom");
    int64_t before = clock_now_ms();
    events_emit(&ev, EVENT_STATUS, RUN_ID, json_incref(d1));
    events_emit(&ev, EVENT_PROGRESS, RUN_ID, json_incref(d2));
    events_emit(&ev, EVENT_ERROR, NULL, json_incref(d3));
    int64_t after = clock_now_ms();
    assert_int_equal(ev.seq, 3);

    assert_int_equal(ndeliveries, 9);
    assert_int_equal(a.count, 3);
    assert_int_equal(b.count, 3);
    assert_int_equal(c.count, 3);
    json_t *data[3] = {d1, d2, d3};
    const event_type_t types[3] = {EVENT_STATUS, EVENT_PROGRESS, EVENT_ERROR};
    const char *ids[3] = {RUN_ID, RUN_ID, "none"};
    for (int e = 0; e < 3; e++)
        for (int s = 0; s < 3; s++) {
            int i = e * 3 + s;
            assert_delivery(i, s + 1, types[e], ids[e], (uint64_t)e + 1, 1);
            assert_ptr_equal(deliveries[i].data, data[e]);
            assert_in_range(deliveries[i].ts_ms, before, after);
        }
    /* one time stamp per event, the same for every subscriber */
    for (int e = 0; e < 3; e++) {
        assert_int_equal(deliveries[e * 3].ts_ms, deliveries[e * 3 + 1].ts_ms);
        assert_int_equal(deliveries[e * 3].ts_ms, deliveries[e * 3 + 2].ts_ms);
    }
    assert_int_equal(json_integer_value(json_object_get(deliveries[3].data, "completed")), 3);
    json_decref(d1);
    json_decref(d2);
    json_decref(d3);
}

static void test_emit_without_subscribers(void **state)
{
    (void)state;
    events_t ev;
    events_init(&ev);
    json_t *d = json_object();
    json_incref(d);
    events_emit(&ev, EVENT_LOG, RUN_ID, d);
    events_emit(&ev, EVENT_LOG, RUN_ID, json_object()); /* stolen and freed (ASan) */
    assert_int_equal(ev.seq, 2);
    assert_int_equal(d->refcount, 1);
    json_decref(d);
    assert_int_equal(ndeliveries, 0);
}

static void test_unsubscribe(void **state)
{
    (void)state;
    events_t ev;
    events_init(&ev);
    recorder_t a = {.who = 1}, b = {.who = 2}, c = {.who = 3}, d = {.who = 4};
    events_subscribe(&ev, record, &a);
    events_subscribe(&ev, record, &b);
    events_subscribe(&ev, record, &c);
    events_subscribe(&ev, record, &d);

    /* the middle one goes; the others keep their order */
    events_unsubscribe(&ev, record, &b);
    assert_int_equal(ev.nsubs, 3);
    events_emit(&ev, EVENT_STATUS, RUN_ID, json_object());
    assert_int_equal(ndeliveries, 3);
    assert_delivery(0, 1, EVENT_STATUS, RUN_ID, 1, 1);
    assert_delivery(1, 3, EVENT_STATUS, RUN_ID, 1, 1);
    assert_delivery(2, 4, EVENT_STATUS, RUN_ID, 1, 1);

    /* a pair that is not subscribed: the same function with another context, another function: nothing changes */
    events_unsubscribe(&ev, record, &b);
    events_unsubscribe(&ev, record_too, &a);
    recorder_t x = {.who = 9};
    events_unsubscribe(&ev, record, &x);
    assert_int_equal(ev.nsubs, 3);

    /* the last one and the first one */
    events_unsubscribe(&ev, record, &d);
    events_unsubscribe(&ev, record, &a);
    assert_int_equal(ev.nsubs, 1);
    events_emit(&ev, EVENT_LOG, RUN_ID, json_object());
    assert_int_equal(ndeliveries, 4);
    assert_delivery(3, 3, EVENT_LOG, RUN_ID, 2, 1);
    events_unsubscribe(&ev, record, &c);
    assert_int_equal(ev.nsubs, 0);
    events_emit(&ev, EVENT_LOG, RUN_ID, json_object());
    assert_int_equal(ndeliveries, 4);
    assert_int_equal(ev.seq, 3);
    assert_int_equal(a.count, 1);
    assert_int_equal(b.count, 0);
    assert_int_equal(c.count, 2);
    assert_int_equal(d.count, 1);

    /* one context under two functions: only the named pair goes */
    recorder_t e = {.who = 5};
    events_subscribe(&ev, record, &e);
    events_subscribe(&ev, record_too, &e);
    events_unsubscribe(&ev, record, &e);
    assert_int_equal(ev.nsubs, 1);
    assert_ptr_equal(ev.subs[0].fn, record_too);
    events_unsubscribe(&ev, record_too, &e);
    assert_int_equal(ev.nsubs, 0);
}

static void test_subscriber_limit(void **state)
{
    (void)state;
    events_t ev;
    events_init(&ev);
    recorder_t r[EVENTS_MAX_SUBSCRIBERS + 2];
    for (int i = 0; i < EVENTS_MAX_SUBSCRIBERS + 2; i++)
        r[i] = (recorder_t){.who = i + 1};
    for (int i = 0; i < EVENTS_MAX_SUBSCRIBERS; i++)
        assert_int_equal(events_subscribe(&ev, record, &r[i]), 0);
    assert_int_equal(events_subscribe(&ev, record, &r[EVENTS_MAX_SUBSCRIBERS]), -1);
    assert_int_equal(events_subscribe(&ev, record, &r[EVENTS_MAX_SUBSCRIBERS + 1]), -1);
    assert_int_equal(ev.nsubs, EVENTS_MAX_SUBSCRIBERS);

    events_emit(&ev, EVENT_STATUS, RUN_ID, json_object());
    assert_int_equal(ndeliveries, EVENTS_MAX_SUBSCRIBERS);
    for (int i = 0; i < EVENTS_MAX_SUBSCRIBERS; i++)
        assert_delivery(i, i + 1, EVENT_STATUS, RUN_ID, 1, 1);
    assert_int_equal(r[EVENTS_MAX_SUBSCRIBERS].count, 0);

    /* a freed slot can be taken again, and the newcomer is last */
    events_unsubscribe(&ev, record, &r[0]);
    assert_int_equal(events_subscribe(&ev, record, &r[EVENTS_MAX_SUBSCRIBERS]), 0);
    assert_int_equal(events_subscribe(&ev, record, &r[EVENTS_MAX_SUBSCRIBERS + 1]), -1);
    events_emit(&ev, EVENT_STATUS, RUN_ID, json_object());
    assert_int_equal(ndeliveries, 2 * EVENTS_MAX_SUBSCRIBERS);
    assert_delivery(EVENTS_MAX_SUBSCRIBERS, 2, EVENT_STATUS, RUN_ID, 2, 1);
    assert_delivery(2 * EVENTS_MAX_SUBSCRIBERS - 1, EVENTS_MAX_SUBSCRIBERS + 1, EVENT_STATUS, RUN_ID, 2, 1);
    assert_int_equal(r[0].count, 1);
}

/* A publisher that records what it was given and answers `rc`. */
typedef struct publisher {
    int rc;
    int calls;
    event_t last;
    json_t *data; /* a reference to the last event's data */
} publisher_t;

static int publish(void *ctx, const event_t *ev)
{
    publisher_t *p = ctx;
    p->calls++;
    p->last = *ev;
    json_decref(p->data);
    p->data = json_incref(ev->data);
    return p->rc;
}

static void test_publisher_sends(void **state)
{
    (void)state;
    events_t ev;
    events_init(&ev);
    recorder_t a = {.who = 1}, b = {.who = 2};
    events_subscribe(&ev, record, &a);
    events_subscribe(&ev, record, &b);
    publisher_t pub = {.rc = 0};
    events_set_publisher(&ev, publish, &pub);

    json_t *data = json_pack("{s:s}", "status", "running");
    int64_t before = clock_now_ms();
    events_emit(&ev, EVENT_STATUS, RUN_ID, json_incref(data));
    int64_t after = clock_now_ms();
    /* sent: nothing here, the counter does not move */
    assert_int_equal(pub.calls, 1);
    assert_int_equal(ndeliveries, 0);
    assert_int_equal(ev.seq, 0);
    assert_int_equal(pub.last.type, EVENT_STATUS);
    assert_string_equal(pub.last.run_id, RUN_ID);
    assert_int_equal(pub.last.local, 1);
    assert_in_range(pub.last.ts_ms, before, after);
    assert_ptr_equal(pub.data, data);
    /* the publisher kept its own reference; the emitter's went */
    assert_int_equal(data->refcount, 2);

    events_emit(&ev, EVENT_ERROR, NULL, json_object());
    assert_int_equal(pub.calls, 2);
    assert_string_equal(pub.last.run_id, "none");
    assert_int_equal(ndeliveries, 0);
    assert_int_equal(ev.seq, 0);

    /* the event comes back numbered through the channel */
    event_t back = {.type = EVENT_STATUS, .seq = 1, .ts_ms = T0, .local = 1, .data = data};
    memcpy(back.run_id, RUN_ID, sizeof(RUN_ID));
    events_dispatch(&ev, &back);
    assert_int_equal(ndeliveries, 2);
    assert_delivery(0, 1, EVENT_STATUS, RUN_ID, 1, 1);
    assert_delivery(1, 2, EVENT_STATUS, RUN_ID, 1, 1);
    assert_int_equal(deliveries[0].ts_ms, T0);
    assert_ptr_equal(deliveries[1].data, data);
    assert_int_equal(ev.seq, 1);
    assert_int_equal(pub.calls, 2); /* dispatch does not publish again */

    json_decref(pub.data);
    json_decref(data);
}

static void test_publisher_fails(void **state)
{
    (void)state;
    events_t ev;
    events_init(&ev);
    recorder_t a = {.who = 1}, b = {.who = 2};
    events_subscribe(&ev, record, &a);
    events_subscribe(&ev, record, &b);
    publisher_t pub = {.rc = -1};
    events_set_publisher(&ev, publish, &pub);

    json_t *data = json_object();
    events_emit(&ev, EVENT_LOG, RUN_ID, json_incref(data));
    assert_int_equal(pub.calls, 1);
    assert_int_equal(ev.seq, 1);
    assert_int_equal(ndeliveries, 2);
    assert_delivery(0, 1, EVENT_LOG, RUN_ID, 1, 1);
    assert_delivery(1, 2, EVENT_LOG, RUN_ID, 1, 1);
    assert_ptr_equal(deliveries[0].data, data);
    events_emit(&ev, EVENT_LOG, RUN_ID, json_object());
    assert_int_equal(pub.calls, 2);
    assert_int_equal(ev.seq, 2);
    assert_delivery(2, 1, EVENT_LOG, RUN_ID, 2, 1);

    /* and once the channel works again, events go to it and the counter stays */
    pub.rc = 0;
    events_emit(&ev, EVENT_LOG, RUN_ID, json_object());
    assert_int_equal(pub.calls, 3);
    assert_int_equal(ev.seq, 2);
    assert_int_equal(ndeliveries, 4);

    /* no publisher: local again */
    events_set_publisher(&ev, NULL, NULL);
    events_emit(&ev, EVENT_LOG, RUN_ID, json_object());
    assert_int_equal(pub.calls, 3);
    assert_int_equal(ev.seq, 3);
    assert_int_equal(ndeliveries, 6);
    assert_delivery(5, 2, EVENT_LOG, RUN_ID, 3, 1);

    /* the emitter's reference is released in every case */
    assert_int_equal(data->refcount, 1 + 2 /* recorders */ + 0);
    json_decref(pub.data);
    json_decref(data);
}

static void test_dispatch_moves_counter(void **state)
{
    (void)state;
    events_t ev;
    events_init(&ev);
    recorder_t a = {.who = 1};
    events_subscribe(&ev, record, &a);

    json_t *data = json_object();
    event_t remote = {.type = EVENT_PROGRESS, .seq = 10, .ts_ms = T0, .local = 0, .data = data};
    memcpy(remote.run_id, RUN_ID, sizeof(RUN_ID));
    events_dispatch(&ev, &remote);
    assert_int_equal(ev.seq, 10);
    assert_int_equal(ndeliveries, 1);
    assert_delivery(0, 1, EVENT_PROGRESS, RUN_ID, 10, 0);
    assert_int_equal(deliveries[0].ts_ms, T0);
    assert_int_equal(data->refcount, 2); /* dispatch borrows: only the recorder's reference was added */

    events_emit(&ev, EVENT_STATUS, RUN_ID, json_object());
    assert_int_equal(ev.seq, 11);
    assert_delivery(1, 1, EVENT_STATUS, RUN_ID, 11, 1);

    /* an older event is still delivered, the counter does not go back */
    remote.seq = 5;
    events_dispatch(&ev, &remote);
    assert_int_equal(ndeliveries, 3);
    assert_delivery(2, 1, EVENT_PROGRESS, RUN_ID, 5, 0);
    assert_int_equal(ev.seq, 11);
    /* nor for the same seq */
    remote.seq = 11;
    events_dispatch(&ev, &remote);
    assert_int_equal(ev.seq, 11);
    events_emit(&ev, EVENT_STATUS, RUN_ID, json_object());
    assert_delivery(4, 1, EVENT_STATUS, RUN_ID, 12, 1);

    /* a jump ahead */
    remote.seq = 1000000000000ULL;
    events_dispatch(&ev, &remote);
    events_emit(&ev, EVENT_STATUS, NULL, json_object());
    assert_delivery(6, 1, EVENT_STATUS, "none", 1000000000001ULL, 1);
    json_decref(data);
}

static void test_to_json(void **state)
{
    (void)state;
    json_t *data = json_pack("{s:s,s:i}", "status", "running", "completed", 2);
    event_t e = {.type = EVENT_PROGRESS, .seq = 123, .ts_ms = T0, .local = 1, .data = data};
    memcpy(e.run_id, RUN_ID, sizeof(RUN_ID));
    size_t len = 0;
    char *s = event_to_json(&e, &len);
    assert_non_null(s);
    assert_string_equal(s, "{\"type\":\"progress\",\"data\":{\"status\":\"running\",\"completed\":2},"
                           "\"timestamp\":\"2026-11-29T12:00:00.123Z\",\"run_id\":\"" RUN_ID "\",\"seq\":123}");
    assert_int_equal(len, strlen(s));
    /* the same, read back: exactly five keys */
    json_error_t jerr;
    json_t *o = json_loads(s, 0, &jerr);
    assert_non_null(o);
    assert_int_equal(json_object_size(o), 5);
    assert_string_equal(json_string_value(json_object_get(o, "type")), "progress");
    assert_true(json_equal(json_object_get(o, "data"), data));
    assert_string_equal(json_string_value(json_object_get(o, "timestamp")), "2026-11-29T12:00:00.123Z");
    assert_string_equal(json_string_value(json_object_get(o, "run_id")), RUN_ID);
    assert_int_equal(json_integer_value(json_object_get(o, "seq")), 123);
    json_decref(o);
    free(s);
    /* the event's data is borrowed, not consumed */
    assert_int_equal(data->refcount, 1);

    /* every type name, "none", len may be NULL */
    static const char *const names[EVENT_TYPE_COUNT] = {"status", "progress", "log", "complete", "error"};
    memcpy(e.run_id, "none", 5);
    e.seq = 0;
    e.ts_ms = 86400000LL + 1; /* 1970-01-02T00:00:00.001Z */
    for (int t = 0; t < EVENT_TYPE_COUNT; t++) {
        e.type = (event_type_t)t;
        assert_string_equal(event_type_name(e.type), names[t]);
        s = event_to_json(&e, NULL);
        o = json_loads(s, 0, &jerr);
        assert_non_null(o);
        assert_string_equal(json_string_value(json_object_get(o, "type")), names[t]);
        assert_string_equal(json_string_value(json_object_get(o, "run_id")), "none");
        assert_string_equal(json_string_value(json_object_get(o, "timestamp")), "1970-01-02T00:00:00.001Z");
        assert_int_equal(json_integer_value(json_object_get(o, "seq")), 0);
        json_decref(o);
        free(s);
    }
    assert_string_equal(event_type_name(EVENT_TYPE_COUNT), "unknown");
    assert_int_equal(data->refcount, 1);
    json_decref(data);
}

static void test_data_refcount(void **state)
{
    (void)state;
    events_t ev;
    events_init(&ev);
    recorder_t a = {.who = 1}, b = {.who = 2};
    events_subscribe(&ev, record, &a);

    /* the test's own reference plus the one handed to emit */
    json_t *data = json_object();
    json_incref(data);
    assert_int_equal(data->refcount, 2);
    events_emit(&ev, EVENT_STATUS, RUN_ID, data);
    /* emit released its reference; the recorder took one */
    assert_int_equal(data->refcount, 2);
    reset_deliveries(NULL);
    assert_int_equal(data->refcount, 1);

    /* no subscriber keeps it: only the test's reference is left */
    events_unsubscribe(&ev, record, &a);
    json_incref(data);
    events_emit(&ev, EVENT_STATUS, RUN_ID, data);
    assert_int_equal(data->refcount, 1);

    /* two keepers */
    events_subscribe(&ev, record, &a);
    events_subscribe(&ev, record, &b);
    json_incref(data);
    events_emit(&ev, EVENT_STATUS, RUN_ID, data);
    assert_int_equal(data->refcount, 3);
    json_decref(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_emit_numbers_and_orders, reset_deliveries),
        cmocka_unit_test_teardown(test_emit_without_subscribers, reset_deliveries),
        cmocka_unit_test_teardown(test_unsubscribe, reset_deliveries),
        cmocka_unit_test_teardown(test_subscriber_limit, reset_deliveries),
        cmocka_unit_test_teardown(test_publisher_sends, reset_deliveries),
        cmocka_unit_test_teardown(test_publisher_fails, reset_deliveries),
        cmocka_unit_test_teardown(test_dispatch_moves_counter, reset_deliveries),
        cmocka_unit_test_teardown(test_to_json, reset_deliveries),
        cmocka_unit_test_teardown(test_data_refcount, reset_deliveries),
    };
    return cmocka_run_group_tests_name("events", tests, NULL, NULL);
}
