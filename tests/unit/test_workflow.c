/* Unit tests for src/model/workflow.{h,c}: the DAG, readiness, progress, runtime estimates and the preview. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "model/workflow.h"
#include "fixture.h"

/* Fills states[0 .. 2N] with `s`. */
static void fill(wf_task_state_t *states, int batches, wf_task_state_t s)
{
    for (int t = 0; t < wf_task_count(batches); t++)
        states[t] = s;
}

#define G(b) wf_task_index(N, STAGE_GENERATE, (b))
#define A(b) wf_task_index(N, STAGE_ANALYZE, (b))
#define R wf_task_index(N, STAGE_REPORT, 0)

/* ---- numbering ------------------------------------------------------------------------------------------------ */

static void test_task_count(void **state)
{
    (void)state;
    assert_int_equal(wf_task_count(1), 3);
    assert_int_equal(wf_task_count(5), 11);
    assert_int_equal(wf_task_count(12), 25);
    assert_int_equal(WF_MAX_TASKS, 25);
}

static void test_numbering_known(void **state)
{
    (void)state;
    enum { N = 5 };
    assert_int_equal(wf_task_stage(N, 0), STAGE_GENERATE);
    assert_int_equal(wf_task_batch(N, 0), 1);
    assert_int_equal(wf_task_stage(N, 4), STAGE_GENERATE);
    assert_int_equal(wf_task_batch(N, 4), 5);
    assert_int_equal(wf_task_stage(N, 5), STAGE_ANALYZE);
    assert_int_equal(wf_task_batch(N, 5), 1);
    assert_int_equal(wf_task_stage(N, 9), STAGE_ANALYZE);
    assert_int_equal(wf_task_batch(N, 9), 5);
    assert_int_equal(wf_task_stage(N, 10), STAGE_REPORT);
    assert_int_equal(wf_task_batch(N, 10), 0);
    assert_int_equal(G(1), 0);
    assert_int_equal(G(5), 4);
    assert_int_equal(A(1), 5);
    assert_int_equal(A(5), 9);
    assert_int_equal(R, 10);
    assert_int_equal(wf_task_index(N, STAGE_REPORT, 99), 10); /* batch ignored for REPORT */
    /* out of range batches */
    assert_int_equal(wf_task_index(N, STAGE_GENERATE, 0), -1);
    assert_int_equal(wf_task_index(N, STAGE_GENERATE, 6), -1);
    assert_int_equal(wf_task_index(N, STAGE_ANALYZE, 0), -1);
    assert_int_equal(wf_task_index(N, STAGE_ANALYZE, 6), -1);
    assert_int_equal(wf_task_index(N, STAGE_ANALYZE, -1), -1);
}

static void test_numbering_round_trip(void **state)
{
    (void)state;
    for (int n = 1; n <= CONFIG_MAX_BATCH_COUNT; n++) {
        int seen_gen = 0, seen_an = 0, seen_rep = 0;
        for (int t = 0; t < wf_task_count(n); t++) {
            wf_stage_t s = wf_task_stage(n, t);
            int b = wf_task_batch(n, t);
            if (s == STAGE_REPORT) {
                assert_int_equal(b, 0);
                assert_int_equal(t, 2 * n);
                seen_rep++;
            } else {
                assert_in_range(b, 1, n);
                if (s == STAGE_GENERATE) {
                    assert_int_equal(t, b - 1);
                    seen_gen++;
                } else {
                    assert_int_equal(s, STAGE_ANALYZE);
                    assert_int_equal(t, n + b - 1);
                    seen_an++;
                }
            }
            assert_int_equal(wf_task_index(n, s, b), t);
        }
        assert_int_equal(seen_gen, n);
        assert_int_equal(seen_an, n);
        assert_int_equal(seen_rep, 1);
        for (int b = 1; b <= n; b++) {
            assert_int_equal(wf_task_stage(n, wf_task_index(n, STAGE_GENERATE, b)), STAGE_GENERATE);
            assert_int_equal(wf_task_batch(n, wf_task_index(n, STAGE_GENERATE, b)), b);
            assert_int_equal(wf_task_stage(n, wf_task_index(n, STAGE_ANALYZE, b)), STAGE_ANALYZE);
            assert_int_equal(wf_task_batch(n, wf_task_index(n, STAGE_ANALYZE, b)), b);
        }
    }
}

static void test_names_and_labels(void **state)
{
    (void)state;
    assert_string_equal(wf_stage_name(STAGE_GENERATE), "GENERATE");
    assert_string_equal(wf_stage_name(STAGE_ANALYZE), "ANALYZE");
    assert_string_equal(wf_stage_name(STAGE_REPORT), "REPORT");
    assert_string_equal(wf_task_state_name(TASK_PENDING), "pending");
    assert_string_equal(wf_task_state_name(TASK_RUNNING), "running");
    assert_string_equal(wf_task_state_name(TASK_SUCCEEDED), "succeeded");
    assert_string_equal(wf_task_state_name(TASK_FAILED), "failed");
    assert_string_equal(wf_task_state_name(TASK_CANCELLED), "cancelled");

    char buf[32];
    wf_task_label(5, 2, buf, sizeof(buf));
    assert_string_equal(buf, "GENERATE (3)");
    wf_task_label(5, 7, buf, sizeof(buf));
    assert_string_equal(buf, "ANALYZE (3)");
    wf_task_label(5, 10, buf, sizeof(buf));
    assert_string_equal(buf, "REPORT");
    wf_task_label(12, 11, buf, sizeof(buf));
    assert_string_equal(buf, "GENERATE (12)");
    wf_task_label(12, 12, buf, sizeof(buf));
    assert_string_equal(buf, "ANALYZE (1)");
    wf_task_label(1, 2, buf, sizeof(buf));
    assert_string_equal(buf, "REPORT");
    /* a small buffer is cut and terminated */
    char small[5];
    memset(small, 'x', sizeof(small));
    wf_task_label(5, 0, small, sizeof(small));
    assert_string_equal(small, "GENE");
}

/* ---- readiness and order ---------------------------------------------------------------------------------------- */

static void test_task_ready(void **state)
{
    (void)state;
    enum { N = 3 };
    wf_task_state_t st[WF_MAX_TASKS];
    fill(st, N, TASK_PENDING);
    for (int b = 1; b <= N; b++) {
        assert_int_equal(wf_task_ready(N, st, G(b)), 1);
        assert_int_equal(wf_task_ready(N, st, A(b)), 0);
    }
    assert_int_equal(wf_task_ready(N, st, R), 0);

    /* ANALYZE b depends on GENERATE b only */
    st[G(2)] = TASK_SUCCEEDED;
    assert_int_equal(wf_task_ready(N, st, A(2)), 1);
    assert_int_equal(wf_task_ready(N, st, A(1)), 0);
    assert_int_equal(wf_task_ready(N, st, A(3)), 0);
    st[G(2)] = TASK_RUNNING;
    assert_int_equal(wf_task_ready(N, st, A(2)), 0);
    st[G(2)] = TASK_FAILED;
    assert_int_equal(wf_task_ready(N, st, A(2)), 0);
    st[G(2)] = TASK_CANCELLED;
    assert_int_equal(wf_task_ready(N, st, A(2)), 0);

    /* REPORT needs every ANALYZE succeeded */
    fill(st, N, TASK_SUCCEEDED);
    st[R] = TASK_PENDING;
    assert_int_equal(wf_task_ready(N, st, R), 1);
    for (int b = 1; b <= N; b++) {
        wf_task_state_t others[] = {TASK_PENDING, TASK_RUNNING, TASK_FAILED, TASK_CANCELLED};
        for (size_t k = 0; k < sizeof(others) / sizeof(others[0]); k++) {
            st[A(b)] = others[k];
            assert_int_equal(wf_task_ready(N, st, R), 0);
        }
        st[A(b)] = TASK_SUCCEEDED;
    }
    assert_int_equal(wf_task_ready(N, st, R), 1);
}

static void test_next_ready_order(void **state)
{
    (void)state;
    enum { N = 4 };
    wf_task_state_t st[WF_MAX_TASKS];
    fill(st, N, TASK_PENDING);
    assert_int_equal(wf_next_ready(N, st), G(1));
    st[G(1)] = TASK_RUNNING;
    assert_int_equal(wf_next_ready(N, st), G(2));
    st[G(2)] = TASK_RUNNING;
    st[G(3)] = TASK_RUNNING;
    assert_int_equal(wf_next_ready(N, st), G(4));

    /* GENERATE 3 finished first: its ANALYZE goes before the pending GENERATE 4 */
    st[G(3)] = TASK_SUCCEEDED;
    assert_int_equal(wf_next_ready(N, st), A(3));
    /* GENERATE 1 finished too: the lowest batch first */
    st[G(1)] = TASK_SUCCEEDED;
    assert_int_equal(wf_next_ready(N, st), A(1));
    st[A(1)] = TASK_RUNNING;
    assert_int_equal(wf_next_ready(N, st), A(3));
    st[A(3)] = TASK_RUNNING;
    assert_int_equal(wf_next_ready(N, st), G(4));
    st[G(4)] = TASK_RUNNING;
    assert_int_equal(wf_next_ready(N, st), -1); /* everything startable has started */

    /* all ANALYZE succeeded except one: no REPORT */
    fill(st, N, TASK_SUCCEEDED);
    st[R] = TASK_PENDING;
    st[A(2)] = TASK_RUNNING;
    assert_int_equal(wf_next_ready(N, st), -1);
    st[A(2)] = TASK_SUCCEEDED;
    assert_int_equal(wf_next_ready(N, st), R);
    st[R] = TASK_RUNNING;
    assert_int_equal(wf_next_ready(N, st), -1);
    st[R] = TASK_SUCCEEDED;
    assert_int_equal(wf_next_ready(N, st), -1);
}

static void test_next_ready_with_failure(void **state)
{
    (void)state;
    enum { N = 3 };
    wf_task_state_t st[WF_MAX_TASKS];
    fill(st, N, TASK_PENDING);
    st[G(1)] = TASK_FAILED;
    assert_int_equal(wf_next_ready(N, st), G(2)); /* ANALYZE 1 can never start */
    st[G(2)] = TASK_SUCCEEDED;
    st[G(3)] = TASK_SUCCEEDED;
    assert_int_equal(wf_next_ready(N, st), A(2));
    st[A(2)] = TASK_SUCCEEDED;
    st[A(3)] = TASK_SUCCEEDED;
    assert_int_equal(wf_next_ready(N, st), -1); /* REPORT waits for ANALYZE 1, which never comes */
}

/* ---- progress ------------------------------------------------------------------------------------------------- */

static void test_progress_counts(void **state)
{
    (void)state;
    enum { N = 4 };
    wf_task_state_t st[WF_MAX_TASKS];
    fill(st, N, TASK_PENDING);
    st[G(1)] = st[G(2)] = st[G(3)] = TASK_SUCCEEDED;
    st[G(4)] = TASK_RUNNING;
    st[A(1)] = TASK_SUCCEEDED;
    st[A(2)] = TASK_RUNNING;
    st[A(3)] = TASK_FAILED;
    st[A(4)] = TASK_CANCELLED;
    wf_progress_t p;
    memset(&p, 0x5a, sizeof(p));
    wf_progress(N, st, &p);
    assert_int_equal(p.total, 9);
    assert_int_equal(p.completed, 4);
    assert_int_equal(p.running, 2);
    assert_near(p.percent, 4.0 / 9.0 * 100.0, 1e-9);
    assert_int_equal(p.batches_generated, 3);
    assert_int_equal(p.batches_analyzed, 1);
    assert_int_equal(p.stages[STAGE_GENERATE].completed, 3);
    assert_int_equal(p.stages[STAGE_GENERATE].running, 1);
    assert_int_equal(p.stages[STAGE_GENERATE].failed, 0);
    assert_int_equal(p.stages[STAGE_GENERATE].total, 4);
    assert_int_equal(p.stages[STAGE_ANALYZE].completed, 1);
    assert_int_equal(p.stages[STAGE_ANALYZE].running, 1);
    assert_int_equal(p.stages[STAGE_ANALYZE].failed, 1);
    assert_int_equal(p.stages[STAGE_ANALYZE].total, 4);
    assert_int_equal(p.stages[STAGE_REPORT].completed, 0);
    assert_int_equal(p.stages[STAGE_REPORT].running, 0);
    assert_int_equal(p.stages[STAGE_REPORT].failed, 0);
    assert_int_equal(p.stages[STAGE_REPORT].total, 1);
}

static void test_progress_edges(void **state)
{
    (void)state;
    wf_task_state_t st[WF_MAX_TASKS];
    wf_progress_t p;
    for (int n = 1; n <= CONFIG_MAX_BATCH_COUNT; n++) {
        fill(st, n, TASK_PENDING);
        wf_progress(n, st, &p);
        assert_int_equal(p.total, 2 * n + 1);
        assert_int_equal(p.completed, 0);
        assert_int_equal(p.running, 0);
        assert_near(p.percent, 0.0, 0);
        assert_int_equal(p.batches_generated, 0);
        assert_int_equal(p.batches_analyzed, 0);

        fill(st, n, TASK_SUCCEEDED);
        wf_progress(n, st, &p);
        assert_int_equal(p.completed, 2 * n + 1);
        assert_near(p.percent, 100.0, 1e-9);
        assert_int_equal(p.batches_generated, n);
        assert_int_equal(p.batches_analyzed, n);
        assert_int_equal(p.stages[STAGE_REPORT].completed, 1);

        /* k of the 2N + 1 tasks done: percent = k / (2N + 1) * 100 */
        fill(st, n, TASK_PENDING);
        for (int t = 0; t < n; t++)
            st[t] = TASK_SUCCEEDED;
        wf_progress(n, st, &p);
        assert_near(p.percent, 100.0 * n / (2 * n + 1), 1e-9);
    }
    /* N = 5, 11 tasks, 1 done: 9.0909...% */
    fill(st, 5, TASK_PENDING);
    st[0] = TASK_SUCCEEDED;
    wf_progress(5, st, &p);
    assert_near(p.percent, 100.0 / 11.0, 1e-9);
}

/* ---- estimates ----------------------------------------------------------------------------------------------- */

static void test_estimate_seconds(void **state)
{
    (void)state;
    wf_durations_t d = {.generate = 5, .analyze = 3, .report = 0, .overhead = 0, .parallelism = 12};
    /* every GENERATE at once (5 s), then every ANALYZE (3 s), REPORT 0 */
    assert_near(wf_estimate_seconds(5, &d), 8.0, 1e-9);
    /* one at a time: 5*5 + 5*3 */
    d.parallelism = 1;
    assert_near(wf_estimate_seconds(5, &d), 40.0, 1e-9);
    /* two at a time: G1,G2 [0,5] A1,A2 [5,8] G3,G4 [8,13] A3,A4 [13,16] G5 [16,21] A5 [21,24] R [24,24] */
    d.parallelism = 2;
    assert_near(wf_estimate_seconds(5, &d), 24.0, 1e-9);
    /* N = 3, G 2.5 s, A 5.5 s, R 1.5 s with the overhead; two at a time:
       G1,G2 [0,2.5] A1,A2 [2.5,8] (ANALYZE goes first, G3 waits) G3 [8,10.5] A3 [10.5,16] R [16,17.5] */
    wf_durations_t d2 = {.generate = 2, .analyze = 5, .report = 1, .overhead = 0.5, .parallelism = 2};
    assert_near(wf_estimate_seconds(3, &d2), 17.5, 1e-9);
    /* N = 4, three at a time, G 4, A 2, R 1: G1-3 [0,4] A1-3 [4,6] G4 [6,10] A4 [10,12] R [12,13] */
    wf_durations_t d3 = {.generate = 4, .analyze = 2, .report = 1, .overhead = 0, .parallelism = 3};
    assert_near(wf_estimate_seconds(4, &d3), 13.0, 1e-9);
    /* overhead counts once per task on the critical path: 6 + 4 + 3 */
    wf_durations_t d4 = {.generate = 5, .analyze = 3, .report = 2, .overhead = 1, .parallelism = 12};
    assert_near(wf_estimate_seconds(5, &d4), 13.0, 1e-9);
    /* N = 1 is a chain */
    d4.parallelism = 1;
    assert_near(wf_estimate_seconds(1, &d4), 13.0, 1e-9);
    /* N = 12 with enough slots: still 8 */
    d.parallelism = 12;
    assert_near(wf_estimate_seconds(12, &d), 8.0, 1e-9);
    /* parallelism beyond N changes nothing (at most one task per batch at a time) */
    d.parallelism = 64;
    assert_near(wf_estimate_seconds(5, &d), 8.0, 1e-9);
    /* zero durations: zero */
    wf_durations_t z = {.parallelism = 4};
    assert_near(wf_estimate_seconds(6, &z), 0.0, 1e-12);
}

static void test_estimate_remaining(void **state)
{
    (void)state;
    wf_task_state_t st[WF_MAX_TASKS];
    double elapsed[WF_MAX_TASKS] = {0};
    wf_durations_t d = {.generate = 5, .analyze = 3, .report = 1, .overhead = 0, .parallelism = 12};

    /* nothing started: the full estimate */
    fill(st, 5, TASK_PENDING);
    assert_near(wf_estimate_remaining(5, st, elapsed, &d), wf_estimate_seconds(5, &d), 1e-9);
    assert_near(wf_estimate_remaining(5, st, elapsed, &d), 9.0, 1e-9);

    {
        enum { N = 2 };
        /* G1 done, A1 running for 1 s (2 s left), G2 running for 4 s (1 s left):
           G2 ends at 1 -> A2 [1,4]; A1 ends at 2; R [4,5] */
        fill(st, N, TASK_PENDING);
        st[G(1)] = TASK_SUCCEEDED;
        st[A(1)] = TASK_RUNNING;
        elapsed[A(1)] = 1;
        st[G(2)] = TASK_RUNNING;
        elapsed[G(2)] = 4;
        assert_near(wf_estimate_remaining(N, st, elapsed, &d), 5.0, 1e-9);

        /* one slot: G1 running for 2 s -> [0,3], A1 [3,6], G2 [6,11], A2 [11,14], R [14,15] */
        wf_durations_t one = d;
        one.parallelism = 1;
        fill(st, N, TASK_PENDING);
        memset(elapsed, 0, sizeof(elapsed));
        st[G(1)] = TASK_RUNNING;
        elapsed[G(1)] = 2;
        assert_near(wf_estimate_remaining(N, st, elapsed, &one), 15.0, 1e-9);

        /* an overdue task counts as about to finish: 0 + A1 3 ... with one slot: A1 [0,3] G2 [3,8] A2 [8,11] R [11,12] */
        elapsed[G(1)] = 100;
        assert_near(wf_estimate_remaining(N, st, elapsed, &one), 12.0, 1e-9);

        /* only REPORT left, running for 0.25 s of 1 s */
        fill(st, N, TASK_SUCCEEDED);
        st[R] = TASK_RUNNING;
        memset(elapsed, 0, sizeof(elapsed));
        elapsed[R] = 0.25;
        assert_near(wf_estimate_remaining(N, st, elapsed, &d), 0.75, 1e-9);

        /* all done */
        fill(st, N, TASK_SUCCEEDED);
        assert_near(wf_estimate_remaining(N, st, elapsed, &d), 0.0, 1e-12);

        /* a failed or cancelled task: the run is ending */
        fill(st, N, TASK_PENDING);
        st[G(1)] = TASK_FAILED;
        assert_near(wf_estimate_remaining(N, st, elapsed, &d), 0.0, 1e-12);
        st[G(1)] = TASK_CANCELLED;
        assert_near(wf_estimate_remaining(N, st, elapsed, &d), 0.0, 1e-12);
    }
}

/* ---- preview ------------------------------------------------------------------------------------------------- */

static const wf_resources_t defaults = {.worker_cpu = 1,
                                        .worker_memory_gi = 4,
                                        .controller_cpu = 2,
                                        .controller_memory_gi = 4,
                                        .quota_cpu = 14,
                                        .quota_memory_gi = 50};

static void test_preview_defaults(void **state)
{
    (void)state;
    wf_preview_t p;
    wf_preview(5, &defaults, &p);
    assert_int_equal(p.expected_pods, 11);
    assert_int_equal(p.total_workers, 11);
    assert_near(p.peak_cpu, 7.0, 1e-12);
    assert_near(p.peak_memory_gi, 24.0, 1e-12);
    assert_int_equal(p.fits_quota, 1);
    assert_null(p.limiting_resource);

    wf_preview(1, &defaults, &p);
    assert_int_equal(p.expected_pods, 3);
    assert_near(p.peak_cpu, 3.0, 1e-12);
    assert_near(p.peak_memory_gi, 8.0, 1e-12);
    assert_int_equal(p.fits_quota, 1);
    assert_null(p.limiting_resource);

    /* N = 11: 13 CPU, 48Gi: fits */
    wf_preview(11, &defaults, &p);
    assert_near(p.peak_cpu, 13.0, 1e-12);
    assert_near(p.peak_memory_gi, 48.0, 1e-12);
    assert_int_equal(p.fits_quota, 1);
    assert_null(p.limiting_resource);

    /* N = 12: 14 CPU fits exactly, 52Gi > 50Gi */
    wf_preview(12, &defaults, &p);
    assert_int_equal(p.expected_pods, 25);
    assert_int_equal(p.total_workers, 25);
    assert_near(p.peak_cpu, 14.0, 1e-12);
    assert_near(p.peak_memory_gi, 52.0, 1e-12);
    assert_int_equal(p.fits_quota, 0);
    assert_non_null(p.limiting_resource);
    assert_string_equal(p.limiting_resource, "memory");
}

static void test_preview_limits(void **state)
{
    (void)state;
    wf_preview_t p;
    /* CPU only: 2 + 8*2 = 18 > 14, memory 4 + 8*4 = 36 <= 50 */
    wf_resources_t r = defaults;
    r.worker_cpu = 2;
    wf_preview(8, &r, &p);
    assert_near(p.peak_cpu, 18.0, 1e-12);
    assert_int_equal(p.fits_quota, 0);
    assert_non_null(p.limiting_resource);
    assert_string_equal(p.limiting_resource, "cpu");

    /* both exceeded, memory by more: cpu 14/10 = 1.4, memory 52/30 = 1.73 */
    r = defaults;
    r.quota_cpu = 10;
    r.quota_memory_gi = 30;
    wf_preview(12, &r, &p);
    assert_int_equal(p.fits_quota, 0);
    assert_non_null(p.limiting_resource);
    assert_string_equal(p.limiting_resource, "memory");

    /* both exceeded, cpu by more: cpu 14/7 = 2.0, memory 52/40 = 1.3 */
    r.quota_cpu = 7;
    r.quota_memory_gi = 40;
    wf_preview(12, &r, &p);
    assert_int_equal(p.fits_quota, 0);
    assert_non_null(p.limiting_resource);
    assert_string_equal(p.limiting_resource, "cpu");

    /* exactly at both quotas fits: 14 of 14 CPU, 52 of 52Gi */
    r = defaults;
    r.quota_memory_gi = 52;
    wf_preview(12, &r, &p);
    assert_int_equal(p.fits_quota, 1);
    assert_null(p.limiting_resource);

    /* fractional quantities summing to the quota: 0.2 + 12 * 0.1 = 1.4 (not exactly in binary) still fits */
    r = defaults;
    r.controller_cpu = 0.2;
    r.worker_cpu = 0.1;
    r.quota_cpu = 1.4;
    wf_preview(12, &r, &p);
    assert_near(p.peak_cpu, 1.4, 1e-9);
    assert_int_equal(p.fits_quota, 0); /* memory is still 52 > 50 */
    assert_string_equal(p.limiting_resource, "memory");
    r.quota_memory_gi = 64;
    wf_preview(12, &r, &p);
    assert_int_equal(p.fits_quota, 1);
    assert_null(p.limiting_resource);
    /* ...and one millicore more does not */
    r.quota_cpu = 1.399;
    wf_preview(12, &r, &p);
    assert_int_equal(p.fits_quota, 0);
    assert_string_equal(p.limiting_resource, "cpu");
}

static void test_durations_of_each_executor(void **state)
{
    (void)state;
    config_t cfg;
    wf_durations_t d;
    kv_t local[] = {{"GENERATE_SECONDS", "2"}, {"ANALYZE_SECONDS", "3"}, {"LOCAL_PARALLELISM", "5"}, {NULL, NULL}};
    assert_int_equal(kv_config(&cfg, local, "/opt/x"), 0);
    wf_durations_of(&cfg, 12, &d);
    assert_near(d.generate, 2.0, 1e-12);
    assert_near(d.analyze, 3.0, 1e-12);
    assert_near(d.overhead, WF_LOCAL_TASK_OVERHEAD, 1e-12);
    assert_int_equal(d.parallelism, 5);
    /* the pod runner: what fits the quota at once (14 CPU / 50Gi with 1 CPU / 12Gi workers: 4) */
    kv_t pods[] = {{"EXECUTOR", "kubernetes"}, {"WORKER_CPU", "1"}, {"WORKER_MEMORY", "12Gi"}, {NULL, NULL}};
    assert_int_equal(kv_config(&cfg, pods, "/opt/x"), 0);
    wf_durations_of(&cfg, 12, &d);
    assert_near(d.overhead, WF_POD_TASK_OVERHEAD, 1e-12);
    assert_int_equal(d.parallelism, 4);
    wf_durations_of(&cfg, 2, &d);
    assert_int_equal(d.parallelism, 2); /* at most one worker per batch */
    /* Nextflow: every batch at once */
    kv_t nf[] = {{"EXECUTOR", "nextflow"}, {NULL, NULL}};
    assert_int_equal(kv_config(&cfg, nf, "/opt/x"), 0);
    wf_durations_of(&cfg, 7, &d);
    assert_int_equal(d.parallelism, 7);
    assert_near(d.overhead, WF_POD_TASK_OVERHEAD, 1e-12);
}

static void test_starting_counts_as_not_yet_running(void **state)
{
    (void)state;
    wf_task_state_t st[WF_MAX_TASKS];
    double elapsed[WF_MAX_TASKS] = {0};
    wf_durations_t d = {.generate = 1, .analyze = 1, .report = 1, .overhead = 0, .parallelism = 10};
    fill(st, 2, TASK_PENDING);
    st[0] = st[1] = TASK_STARTING;
    assert_int_equal(wf_next_ready(2, st), -1); /* given to the runner: not ready again */
    assert_near(wf_estimate_remaining(2, st, elapsed, &d), wf_estimate_seconds(2, &d), 1e-9);
    wf_progress_t p;
    wf_progress(2, st, &p);
    assert_int_equal(p.running, 0);
    assert_string_equal(wf_task_state_name(TASK_STARTING), "starting");
}

/* A resumed run: cached tasks are done for what depends on them, count as completed, and the ETA counts only what
 * runs. */
static void test_cached_counts_as_done(void **state)
{
    (void)state;
    enum { N = 3 };
    wf_task_state_t st[WF_MAX_TASKS];
    double elapsed[WF_MAX_TASKS] = {0};
    wf_durations_t d = {.generate = 5, .analyze = 3, .report = 1, .overhead = 0, .parallelism = 12};
    fill(st, N, TASK_CACHED);
    st[2 * N] = TASK_PENDING; /* only REPORT runs */
    assert_int_equal(wf_next_ready(N, st), 2 * N);
    assert_true(wf_task_ready(N, st, 2 * N));
    assert_near(wf_estimate_remaining(N, st, elapsed, &d), 1.0, 1e-9);
    wf_progress_t p;
    wf_progress(N, st, &p);
    assert_int_equal(p.completed, 2 * N);
    assert_int_equal(p.batches_generated, N);
    assert_int_equal(p.batches_analyzed, N);
    /* a batch whose GENERATE reruns: its ANALYZE waits for it, the others' are cached */
    st[0] = st[N] = TASK_PENDING;
    assert_int_equal(wf_next_ready(N, st), 0);
    assert_false(wf_task_ready(N, st, N));
    assert_false(wf_task_ready(N, st, 2 * N));
    assert_near(wf_estimate_remaining(N, st, elapsed, &d), 9.0, 1e-9);
    assert_string_equal(wf_task_state_name(TASK_CACHED), "cached");
    assert_true(wf_task_done(TASK_CACHED) && wf_task_done(TASK_SUCCEEDED) && !wf_task_done(TASK_FAILED));
    char name[32];
    wf_task_output(N, 1, name, sizeof(name));
    assert_string_equal(name, "batch_2.csv");
    wf_task_output(N, N + 2, name, sizeof(name));
    assert_string_equal(name, "stats_batch_3.json");
    wf_task_output(N, 2 * N, name, sizeof(name));
    assert_string_equal(name, "report.json");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_task_count),
        cmocka_unit_test(test_numbering_known),
        cmocka_unit_test(test_numbering_round_trip),
        cmocka_unit_test(test_names_and_labels),
        cmocka_unit_test(test_task_ready),
        cmocka_unit_test(test_next_ready_order),
        cmocka_unit_test(test_next_ready_with_failure),
        cmocka_unit_test(test_progress_counts),
        cmocka_unit_test(test_progress_edges),
        cmocka_unit_test(test_estimate_seconds),
        cmocka_unit_test(test_estimate_remaining),
        cmocka_unit_test(test_preview_defaults),
        cmocka_unit_test(test_preview_limits),
        cmocka_unit_test(test_durations_of_each_executor),
        cmocka_unit_test(test_starting_counts_as_not_yet_running),
        cmocka_unit_test(test_cached_counts_as_done),
    };
    return cmocka_run_group_tests_name("workflow", tests, NULL, NULL);
}
