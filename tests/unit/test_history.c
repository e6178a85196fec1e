/* Unit tests for src/core/history.{h,c}: newest first, bounded by a limit and a TTL, replace by id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "core/history.h"

#define T0 1795953600123LL
#define MINUTE 60000LL

static run_t *finished_run(int64_t finished_ms)
{
    run_params_t p = {.batch_count = 2, .rows_per_batch = 10, .seed = 1};
    run_t *run = run_create(&p, "local-run");
    assert_non_null(run);
    run->status = RUN_SUCCEEDED;
    run->started_ms = finished_ms - 5000;
    run->finished_ms = finished_ms;
    return run;
}

static void test_init_limits(void **state)
{
    (void)state;
    history_t h;
    history_init(&h, 5, 30);
    assert_int_equal(h.count, 0);
    assert_int_equal(h.limit, 5);
    assert_int_equal(h.ttl_ms, 30 * MINUTE);
    assert_null(history_newest(&h));
    assert_null(history_find(&h, "r000000000000"));
    history_dispose(&h);

    history_init(&h, 0, 1);
    assert_int_equal(h.limit, 1);
    history_dispose(&h);
    history_init(&h, 1000, 525600);
    assert_int_equal(h.limit, HISTORY_MAX);
    assert_int_equal(h.ttl_ms, 525600LL * MINUTE); /* a year of minutes does not overflow */
    history_dispose(&h);
}

static void test_add_newest_first(void **state)
{
    (void)state;
    history_t h;
    history_init(&h, 5, 30);
    run_t *r[3];
    for (int i = 0; i < 3; i++) {
        r[i] = finished_run(T0 + i * 1000);
        history_add(&h, r[i]);
        assert_int_equal(h.count, i + 1);
        assert_ptr_equal(history_newest(&h), r[i]);
    }
    assert_ptr_equal(h.items[0], r[2]);
    assert_ptr_equal(h.items[1], r[1]);
    assert_ptr_equal(h.items[2], r[0]);
    for (int i = 0; i < 3; i++)
        assert_ptr_equal(history_find(&h, r[i]->id), r[i]);
    assert_null(history_find(&h, "r000000000000"));
    assert_null(history_find(&h, ""));
    history_dispose(&h);
    assert_int_equal(h.count, 0);
}

static void test_trim_to_limit(void **state)
{
    (void)state;
    history_t h;
    history_init(&h, 3, 30);
    run_t *r[7];
    char ids[7][RUN_ID_LEN + 1];
    for (int i = 0; i < 7; i++) {
        r[i] = finished_run(T0 + i * 1000);
        memcpy(ids[i], r[i]->id, sizeof(ids[i]));
        history_add(&h, r[i]);
        assert_int_equal(h.count, i + 1 < 3 ? i + 1 : 3);
    }
    /* the three newest, newest first; the others were destroyed (ASan checks the frees) */
    assert_ptr_equal(h.items[0], r[6]);
    assert_ptr_equal(h.items[1], r[5]);
    assert_ptr_equal(h.items[2], r[4]);
    for (int i = 0; i < 4; i++)
        assert_null(history_find(&h, ids[i]));
    history_dispose(&h);

    /* a limit of one keeps only the newest */
    history_init(&h, 1, 30);
    run_t *a = finished_run(T0), *b = finished_run(T0 + 1);
    history_add(&h, a);
    history_add(&h, b);
    assert_int_equal(h.count, 1);
    assert_ptr_equal(history_newest(&h), b);
    history_dispose(&h);

    /* the maximum: 100 runs fit, the 101st pushes the oldest out */
    history_init(&h, HISTORY_MAX, 30);
    run_t *first = finished_run(T0);
    char first_id[RUN_ID_LEN + 1];
    memcpy(first_id, first->id, sizeof(first_id));
    history_add(&h, first);
    for (int i = 1; i < HISTORY_MAX; i++)
        history_add(&h, finished_run(T0 + i));
    assert_int_equal(h.count, HISTORY_MAX);
    assert_ptr_equal(history_find(&h, first_id), first);
    run_t *last = finished_run(T0 + HISTORY_MAX);
    history_add(&h, last);
    assert_int_equal(h.count, HISTORY_MAX);
    assert_null(history_find(&h, first_id));
    assert_ptr_equal(history_newest(&h), last);
    history_dispose(&h);
}

static void test_same_id_replaced(void **state)
{
    (void)state;
    history_t h;
    history_init(&h, 5, 30);
    run_t *a = finished_run(T0), *b = finished_run(T0 + 1000), *c = finished_run(T0 + 2000);
    history_add(&h, a);
    history_add(&h, b);
    history_add(&h, c);
    /* a new record of run `a` (same id, e.g. its final state after an update) */
    run_t *a2 = finished_run(T0 + 3000);
    memcpy(a2->id, a->id, sizeof(a2->id));
    a2->status = RUN_FAILED;
    history_add(&h, a2); /* `a` is destroyed here */
    assert_int_equal(h.count, 3);
    assert_ptr_equal(h.items[0], a2);
    assert_ptr_equal(h.items[1], c);
    assert_ptr_equal(h.items[2], b);
    assert_ptr_equal(history_find(&h, a2->id), a2);
    assert_int_equal(history_find(&h, a2->id)->status, RUN_FAILED);

    /* replacing in a full history does not drop another run */
    history_dispose(&h);
    history_init(&h, 2, 30);
    a = finished_run(T0);
    b = finished_run(T0 + 1000);
    history_add(&h, a);
    history_add(&h, b);
    run_t *b2 = finished_run(T0 + 2000);
    memcpy(b2->id, b->id, sizeof(b2->id));
    history_add(&h, b2);
    assert_int_equal(h.count, 2);
    assert_ptr_equal(h.items[0], b2);
    assert_ptr_equal(h.items[1], a);
    history_dispose(&h);
}

static void test_expire(void **state)
{
    (void)state;
    history_t h;
    history_init(&h, 10, 30);
    run_t *old = finished_run(T0), *mid = finished_run(T0 + 10 * MINUTE), *young = finished_run(T0 + 20 * MINUTE);
    history_add(&h, old);
    history_add(&h, mid);
    history_add(&h, young);

    history_expire(&h, T0 + 20 * MINUTE);
    assert_int_equal(h.count, 3);
    /* exactly the TTL after the oldest finished: not yet more than the TTL */
    history_expire(&h, T0 + 30 * MINUTE);
    assert_int_equal(h.count, 3);
    /* one ms later the oldest goes */
    history_expire(&h, T0 + 30 * MINUTE + 1);
    assert_int_equal(h.count, 2);
    assert_ptr_equal(h.items[0], young);
    assert_ptr_equal(h.items[1], mid);
    /* 45 minutes: `mid` (finished at +10) is 35 minutes old */
    history_expire(&h, T0 + 45 * MINUTE);
    assert_int_equal(h.count, 1);
    assert_ptr_equal(history_newest(&h), young);
    /* later, everything */
    history_expire(&h, T0 + 51 * MINUTE);
    assert_int_equal(h.count, 0);
    assert_null(history_newest(&h));
    history_dispose(&h);
}

static void test_expire_uses_finish_time(void **state)
{
    (void)state;
    history_t h;
    history_init(&h, 10, 1);
    /* added out of finish order: expiry follows finished_ms, not the position */
    run_t *late = finished_run(T0 + 5 * MINUTE), *early = finished_run(T0);
    late->started_ms = T0 - 60 * MINUTE; /* a long run: start time does not matter */
    history_add(&h, late);
    history_add(&h, early);
    history_expire(&h, T0 + 2 * MINUTE);
    assert_int_equal(h.count, 1);
    assert_ptr_equal(history_newest(&h), late);
    history_dispose(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_limits),
        cmocka_unit_test(test_add_newest_first),
        cmocka_unit_test(test_trim_to_limit),
        cmocka_unit_test(test_same_id_replaced),
        cmocka_unit_test(test_expire),
        cmocka_unit_test(test_expire_uses_finish_time),
    };
    return cmocka_run_group_tests_name("history", tests, NULL, NULL);
}
