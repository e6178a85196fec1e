/* Unit tests for src/core/metrics.{h,c}: counters fed by this replica's events and by the HTTP edge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "model/events.h"
#include "core/metrics.h"

#define RUN_ID "r0123456789a"

/* Route patterns are static strings, compared by address. */
static const char ROUTE_RUNS[] = "/api/v1/runs";
static const char ROUTE_STATUS[] = "/api/v1/pipeline/status";
static const char ROUTE_TRIGGER[] = "/api/v1/pipeline/trigger";

static json_t *progress_data(const char *state)
{
    json_t *d = json_pack("{s:i,s:i}", "completed", 1, "total", 7);
    json_object_set_new(d, "task", json_pack("{s:s,s:i,s:s}", "name", "GENERATE", "batch", 1, "state", state));
    return d;
}

static json_t *complete_data(const char *status)
{
    return json_pack("{s:s,s:n,s:f,s:n}", "status", status, "run", "duration_seconds", 1.5, "demo_metrics");
}

static void assert_runs(const metrics_t *m, uint64_t queued, uint64_t starting, uint64_t running, uint64_t succeeded,
                        uint64_t failed, uint64_t cancelled, uint64_t unknown)
{
    const uint64_t expected[RUN_UNKNOWN + 1] = {queued, starting, running, succeeded, failed, cancelled, unknown};
    for (int s = 0; s <= RUN_UNKNOWN; s++) {
        if (m->runs[s] != expected[s]) {
            print_error("runs[%s] = %llu, expected %llu\n", run_status_name((run_status_t)s),
                        (unsigned long long)m->runs[s], (unsigned long long)expected[s]);
            fail();
        }
    }
}

/* An event from another replica (or any event numbered elsewhere), delivered with events_dispatch. */
static void dispatch(events_t *ev, event_type_t type, json_t *data, int local, uint64_t seq)
{
    event_t e = {.type = type, .seq = seq, .ts_ms = 1, .local = local, .data = data};
    memcpy(e.run_id, RUN_ID, sizeof(RUN_ID));
    events_dispatch(ev, &e);
    json_decref(data);
}

static void test_init(void **state)
{
    (void)state;
    events_t ev;
    events_init(&ev);
    metrics_t m;
    memset(&m, 0x5a, sizeof(m));
    metrics_init(&m, &ev);
    assert_int_equal(m.nhttp, 0);
    assert_int_equal(m.nlatency, 0);
    assert_int_equal(m.tasks_started, 0);
    assert_int_equal(m.tasks_failed, 0);
    assert_runs(&m, 0, 0, 0, 0, 0, 0, 0);
    assert_int_equal(ev.nsubs, 1);
    assert_ptr_equal(ev.subs[0].ctx, &m);
    metrics_dispose(&m, &ev);
    assert_int_equal(ev.nsubs, 0);

    /* the bounds increase strictly */
    for (int b = 1; b < METRICS_BUCKETS; b++)
        assert_true(metrics_bucket_bounds[b] > metrics_bucket_bounds[b - 1]);
}

static void test_task_counters(void **state)
{
    (void)state;
    events_t ev;
    events_init(&ev);
    metrics_t m;
    metrics_init(&m, &ev);

    events_emit(&ev, EVENT_PROGRESS, RUN_ID, progress_data("running"));
    assert_int_equal(m.tasks_started, 1);
    assert_int_equal(m.tasks_failed, 0);
    events_emit(&ev, EVENT_PROGRESS, RUN_ID, progress_data("running"));
    events_emit(&ev, EVENT_PROGRESS, RUN_ID, progress_data("failed"));
    assert_int_equal(m.tasks_started, 2);
    assert_int_equal(m.tasks_failed, 1);

    /* other states, other shapes: nothing */
    events_emit(&ev, EVENT_PROGRESS, RUN_ID, progress_data("succeeded"));
    events_emit(&ev, EVENT_PROGRESS, RUN_ID, progress_data("pending"));
    events_emit(&ev, EVENT_PROGRESS, RUN_ID, progress_data("cancelled"));
    events_emit(&ev, EVENT_PROGRESS, RUN_ID, progress_data("RUNNING"));
    events_emit(&ev, EVENT_PROGRESS, RUN_ID, progress_data("runningx"));
    events_emit(&ev, EVENT_PROGRESS, RUN_ID, json_pack("{s:i}", "completed", 1)); /* no task */
    events_emit(&ev, EVENT_PROGRESS, RUN_ID, json_pack("{s:s}", "state", "running")); /* not under task */
    events_emit(&ev, EVENT_PROGRESS, RUN_ID, json_pack("{s:{s:i}}", "task", "state", 1));
    events_emit(&ev, EVENT_PROGRESS, RUN_ID, json_pack("{s:s}", "task", "running"));
    events_emit(&ev, EVENT_PROGRESS, RUN_ID, json_null());
    events_emit(&ev, EVENT_PROGRESS, RUN_ID, NULL);
    assert_int_equal(m.tasks_started, 2);
    assert_int_equal(m.tasks_failed, 1);

    /* the same data in other event types: nothing */
    events_emit(&ev, EVENT_STATUS, RUN_ID, progress_data("running"));
    events_emit(&ev, EVENT_LOG, RUN_ID, progress_data("running"));
    events_emit(&ev, EVENT_ERROR, RUN_ID, progress_data("failed"));
    events_emit(&ev, EVENT_COMPLETE, RUN_ID, progress_data("failed"));
    assert_int_equal(m.tasks_started, 2);
    assert_int_equal(m.tasks_failed, 1);
    assert_runs(&m, 0, 0, 0, 0, 0, 0, 1); /* that complete had no status: counted as unknown */
    metrics_dispose(&m, &ev);
}

static void test_run_counters(void **state)
{
    (void)state;
    events_t ev;
    events_init(&ev);
    metrics_t m;
    metrics_init(&m, &ev);

    events_emit(&ev, EVENT_COMPLETE, RUN_ID, complete_data("succeeded"));
    assert_runs(&m, 0, 0, 0, 1, 0, 0, 0);
    events_emit(&ev, EVENT_COMPLETE, RUN_ID, complete_data("succeeded"));
    events_emit(&ev, EVENT_COMPLETE, RUN_ID, complete_data("failed"));
    events_emit(&ev, EVENT_COMPLETE, RUN_ID, complete_data("cancelled"));
    events_emit(&ev, EVENT_COMPLETE, RUN_ID, complete_data("cancelled"));
    events_emit(&ev, EVENT_COMPLETE, RUN_ID, complete_data("cancelled"));
    assert_runs(&m, 0, 0, 0, 2, 1, 3, 0);
    /* unknown status strings, and none at all, count as unknown */
    events_emit(&ev, EVENT_COMPLETE, RUN_ID, complete_data("unknown"));
    events_emit(&ev, EVENT_COMPLETE, RUN_ID, complete_data("exploded"));
    events_emit(&ev, EVENT_COMPLETE, RUN_ID, complete_data(""));
    events_emit(&ev, EVENT_COMPLETE, RUN_ID, complete_data("Succeeded"));
    events_emit(&ev, EVENT_COMPLETE, RUN_ID, json_pack("{s:i}", "status", 3));
    events_emit(&ev, EVENT_COMPLETE, RUN_ID, json_object());
    assert_runs(&m, 0, 0, 0, 2, 1, 3, 6);
    events_emit(&ev, EVENT_COMPLETE, RUN_ID, NULL); /* a json_pack that failed: logged, never sent */
    assert_runs(&m, 0, 0, 0, 2, 1, 3, 6);
    /* a status event is not a completion */
    events_emit(&ev, EVENT_STATUS, RUN_ID, complete_data("succeeded"));
    assert_runs(&m, 0, 0, 0, 2, 1, 3, 6);
    assert_int_equal(m.tasks_started, 0);
    assert_int_equal(m.tasks_failed, 0);
    metrics_dispose(&m, &ev);
}

static void test_remote_events_not_counted(void **state)
{
    (void)state;
    events_t ev;
    events_init(&ev);
    metrics_t m;
    metrics_init(&m, &ev);

    dispatch(&ev, EVENT_PROGRESS, progress_data("running"), 0, 1);
    dispatch(&ev, EVENT_PROGRESS, progress_data("failed"), 0, 2);
    dispatch(&ev, EVENT_COMPLETE, complete_data("succeeded"), 0, 3);
    dispatch(&ev, EVENT_COMPLETE, complete_data("bogus"), 0, 4);
    assert_int_equal(m.tasks_started, 0);
    assert_int_equal(m.tasks_failed, 0);
    assert_runs(&m, 0, 0, 0, 0, 0, 0, 0);

    /* this replica's own events, back through the shared channel (local=1): counted once */
    dispatch(&ev, EVENT_PROGRESS, progress_data("running"), 1, 5);
    dispatch(&ev, EVENT_COMPLETE, complete_data("failed"), 1, 6);
    assert_int_equal(m.tasks_started, 1);
    assert_runs(&m, 0, 0, 0, 0, 1, 0, 0);
    metrics_dispose(&m, &ev);
}

static int publish_ok(void *ctx, const event_t *e)
{
    (void)e;
    (*(int *)ctx)++;
    return 0;
}

static void test_published_events_counted_on_return(void **state)
{
    (void)state;
    events_t ev;
    events_init(&ev);
    metrics_t m;
    metrics_init(&m, &ev);
    int sent = 0;
    events_set_publisher(&ev, publish_ok, &sent);
    /* sent to the channel: not counted yet */
    events_emit(&ev, EVENT_PROGRESS, RUN_ID, progress_data("running"));
    events_emit(&ev, EVENT_COMPLETE, RUN_ID, complete_data("succeeded"));
    assert_int_equal(sent, 2);
    assert_int_equal(m.tasks_started, 0);
    assert_runs(&m, 0, 0, 0, 0, 0, 0, 0);
    /* back, numbered */
    dispatch(&ev, EVENT_PROGRESS, progress_data("running"), 1, 1);
    dispatch(&ev, EVENT_COMPLETE, complete_data("succeeded"), 1, 2);
    assert_int_equal(m.tasks_started, 1);
    assert_runs(&m, 0, 0, 0, 1, 0, 0, 0);
    metrics_dispose(&m, &ev);
}

static void test_http_series(void **state)
{
    (void)state;
    events_t ev;
    events_init(&ev);
    metrics_t m;
    metrics_init(&m, &ev);

    metrics_http(&m, ROUTE_RUNS, "GET", 200, 0.001);
    assert_int_equal(m.nhttp, 1);
    assert_ptr_equal(m.http[0].route, ROUTE_RUNS);
    assert_string_equal(m.http[0].method, "GET");
    assert_int_equal(m.http[0].status, 200);
    assert_int_equal(m.http[0].count, 1);
    metrics_http(&m, ROUTE_RUNS, "GET", 200, 0.001);
    metrics_http(&m, ROUTE_RUNS, "GET", 200, 0.001);
    assert_int_equal(m.nhttp, 1);
    assert_int_equal(m.http[0].count, 3);

    /* another status, another method, another route: new series, in order of first sight */
    metrics_http(&m, ROUTE_RUNS, "GET", 404, 0.001);
    metrics_http(&m, ROUTE_RUNS, "POST", 200, 0.001);
    metrics_http(&m, ROUTE_TRIGGER, "POST", 200, 0.001);
    metrics_http(&m, ROUTE_TRIGGER, "POST", 409, 0.001);
    metrics_http(&m, ROUTE_TRIGGER, "POST", 409, 0.001);
    /* the method is compared by content */
    char method[8];
    snprintf(method, sizeof(method), "%s", "GET");
    metrics_http(&m, ROUTE_RUNS, method, 404, 0.001);
    assert_int_equal(m.nhttp, 5);
    const struct {
        const char *route, *method;
        int status;
        uint64_t count;
    } want[5] = {{ROUTE_RUNS, "GET", 200, 3},
                 {ROUTE_RUNS, "GET", 404, 2},
                 {ROUTE_RUNS, "POST", 200, 1},
                 {ROUTE_TRIGGER, "POST", 200, 1},
                 {ROUTE_TRIGGER, "POST", 409, 2}};
    for (int i = 0; i < 5; i++) {
        assert_ptr_equal(m.http[i].route, want[i].route);
        assert_string_equal(m.http[i].method, want[i].method);
        assert_int_equal(m.http[i].status, want[i].status);
        assert_int_equal(m.http[i].count, want[i].count);
    }
    /* latency is per route */
    assert_int_equal(m.nlatency, 2);
    assert_ptr_equal(m.latency[0].route, ROUTE_RUNS);
    assert_int_equal(m.latency[0].count, 6);
    assert_ptr_equal(m.latency[1].route, ROUTE_TRIGGER);
    assert_int_equal(m.latency[1].count, 3);
    metrics_dispose(&m, &ev);
}

static uint64_t bucket_total(const metrics_latency_t *l)
{
    uint64_t n = 0;
    for (int b = 0; b < METRICS_BUCKETS; b++)
        n += l->buckets[b];
    return n;
}

static void test_latency_buckets(void **state)
{
    (void)state;
    events_t ev;
    events_init(&ev);
    metrics_t m;
    metrics_init(&m, &ev);

    /* exactly on each bound: that bucket */
    double sum = 0;
    for (int b = 0; b < METRICS_BUCKETS; b++) {
        metrics_http(&m, ROUTE_STATUS, "GET", 200, metrics_bucket_bounds[b]);
        sum += metrics_bucket_bounds[b];
    }
    metrics_latency_t *l = &m.latency[0];
    assert_int_equal(m.nlatency, 1);
    for (int b = 0; b < METRICS_BUCKETS; b++)
        assert_int_equal(l->buckets[b], 1);
    assert_int_equal(l->count, METRICS_BUCKETS);
    assert_true(l->sum == sum);

    /* the bounds as the header lists them: 0.0005 .. 2.5 */
    assert_true(metrics_bucket_bounds[0] == 0.0005);
    assert_true(metrics_bucket_bounds[METRICS_BUCKETS - 1] == 2.5);

    /* on another route (its own latency series): just above a bound, the next bucket; zero, the first */
    metrics_http(&m, ROUTE_RUNS, "GET", 200, 0.0);
    metrics_http(&m, ROUTE_RUNS, "GET", 200, 0.00051);
    metrics_http(&m, ROUTE_RUNS, "GET", 200, 0.0011);
    metrics_http(&m, ROUTE_RUNS, "GET", 200, 0.1);
    metrics_http(&m, ROUTE_RUNS, "GET", 200, 0.10001);
    metrics_http(&m, ROUTE_RUNS, "GET", 200, 2.4999);
    uint64_t want[METRICS_BUCKETS] = {0};
    l = &m.latency[1];
    want[0] = 1;  /* 0 */
    want[1] = 1;  /* 0.00051 <= 0.001 */
    want[2] = 1;  /* 0.0011 <= 0.0025 */
    want[7] = 1;  /* 0.1 */
    want[8] = 1;  /* 0.10001 <= 0.25 */
    want[11] = 1; /* 2.4999 <= 2.5 */
    for (int b = 0; b < METRICS_BUCKETS; b++) {
        if (l->buckets[b] != want[b]) {
            print_error("bucket %d (le %g) = %llu, expected %llu\n", b, metrics_bucket_bounds[b],
                        (unsigned long long)l->buckets[b], (unsigned long long)want[b]);
            fail();
        }
    }
    assert_int_equal(m.nlatency, 2);
    l = &m.latency[1];
    assert_ptr_equal(l->route, ROUTE_RUNS);
    assert_int_equal(l->count, 6);

    /* above the last bound: only +Inf, i.e. only count and sum */
    double before_sum = l->sum;
    metrics_http(&m, ROUTE_RUNS, "GET", 200, 2.5000001);
    metrics_http(&m, ROUTE_RUNS, "GET", 200, 30.0);
    for (int b = 0; b < METRICS_BUCKETS; b++)
        assert_int_equal(l->buckets[b], want[b]);
    assert_int_equal(bucket_total(l), 6);
    assert_int_equal(l->count, 8);
    assert_true(l->sum == before_sum + 2.5000001 + 30.0);
    assert_int_equal(m.http[1].count, 8);
    /* the first route is untouched */
    assert_int_equal(m.latency[0].count, METRICS_BUCKETS);
    assert_int_equal(m.http[0].count, METRICS_BUCKETS);
    metrics_dispose(&m, &ev);
}

static void test_series_limit(void **state)
{
    (void)state;
    events_t ev;
    events_init(&ev);
    metrics_t m;
    metrics_init(&m, &ev);

    /* one route, many statuses: the request series stop at the maximum, the route's latency goes on */
    for (int s = 0; s < METRICS_MAX_SERIES + 10; s++)
        metrics_http(&m, ROUTE_RUNS, "GET", 100 + s, 0.01);
    assert_int_equal(m.nhttp, METRICS_MAX_SERIES);
    for (int i = 0; i < METRICS_MAX_SERIES; i++) {
        assert_int_equal(m.http[i].status, 100 + i);
        assert_int_equal(m.http[i].count, 1);
    }
    assert_int_equal(m.nlatency, 1);
    assert_int_equal(m.latency[0].count, METRICS_MAX_SERIES + 10);
    assert_int_equal(m.latency[0].buckets[4], METRICS_MAX_SERIES + 10);
    /* an existing series still counts once full */
    metrics_http(&m, ROUTE_RUNS, "GET", 100, 0.01);
    assert_int_equal(m.http[0].count, 2);
    assert_int_equal(m.nhttp, METRICS_MAX_SERIES);
    metrics_dispose(&m, &ev);

    /* many routes: the latency table stops too */
    static char routes[METRICS_MAX_SERIES + 10][16];
    metrics_init(&m, &ev);
    for (int r = 0; r < METRICS_MAX_SERIES + 10; r++) {
        snprintf(routes[r], sizeof(routes[r]), "/r/%d", r);
        metrics_http(&m, routes[r], "GET", 200, 3.0);
    }
    assert_int_equal(m.nhttp, METRICS_MAX_SERIES);
    assert_int_equal(m.nlatency, METRICS_MAX_SERIES);
    for (int r = 0; r < METRICS_MAX_SERIES; r++) {
        assert_ptr_equal(m.http[r].route, routes[r]);
        assert_ptr_equal(m.latency[r].route, routes[r]);
        assert_int_equal(m.latency[r].count, 1);
        assert_true(m.latency[r].sum == 3.0);
        assert_int_equal(bucket_total(&m.latency[r]), 0);
    }
    /* a known route still counts */
    metrics_http(&m, routes[METRICS_MAX_SERIES - 1], "GET", 200, 0.0001);
    assert_int_equal(m.http[METRICS_MAX_SERIES - 1].count, 2);
    assert_int_equal(m.latency[METRICS_MAX_SERIES - 1].count, 2);
    assert_int_equal(m.latency[METRICS_MAX_SERIES - 1].buckets[0], 1);
    metrics_dispose(&m, &ev);
}

static int seen;
static void count_events(void *ctx, const event_t *e)
{
    (void)ctx;
    (void)e;
    seen++;
}

static void test_dispose_unsubscribes(void **state)
{
    (void)state;
    events_t ev;
    events_init(&ev);
    seen = 0;
    events_subscribe(&ev, count_events, NULL);
    metrics_t m1, m2;
    metrics_init(&m1, &ev);
    metrics_init(&m2, &ev);
    events_subscribe(&ev, count_events, &seen);
    assert_int_equal(ev.nsubs, 4);

    events_emit(&ev, EVENT_PROGRESS, RUN_ID, progress_data("running"));
    assert_int_equal(m1.tasks_started, 1);
    assert_int_equal(m2.tasks_started, 1);
    assert_int_equal(seen, 2);

    metrics_dispose(&m1, &ev);
    assert_int_equal(ev.nsubs, 3);
    events_emit(&ev, EVENT_PROGRESS, RUN_ID, progress_data("running"));
    events_emit(&ev, EVENT_COMPLETE, RUN_ID, complete_data("failed"));
    assert_int_equal(m1.tasks_started, 1);
    assert_runs(&m1, 0, 0, 0, 0, 0, 0, 0);
    assert_int_equal(m2.tasks_started, 2);
    assert_runs(&m2, 0, 0, 0, 0, 1, 0, 0);
    assert_int_equal(seen, 6);

    metrics_dispose(&m2, &ev);
    assert_int_equal(ev.nsubs, 2);
    events_emit(&ev, EVENT_PROGRESS, RUN_ID, progress_data("failed"));
    assert_int_equal(m2.tasks_failed, 0);
    assert_int_equal(seen, 8);
    /* the other subscribers are still there, in order */
    assert_ptr_equal(ev.subs[0].ctx, NULL);
    assert_ptr_equal(ev.subs[1].ctx, &seen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_task_counters),
        cmocka_unit_test(test_run_counters),
        cmocka_unit_test(test_remote_events_not_counted),
        cmocka_unit_test(test_published_events_counted_on_return),
        cmocka_unit_test(test_http_series),
        cmocka_unit_test(test_latency_buckets),
        cmocka_unit_test(test_series_limit),
        cmocka_unit_test(test_dispose_unsubscribes),
    };
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
