/* Unit tests for src/kube/kube_backoff.c: exponential, capped, jittered, Retry-After honoured. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kube/kube_internal.h"

static void test_doubles_within_jitter_and_caps(void **state)
{
    (void)state;
    for (unsigned attempt = 0; attempt < 12; attempt++) {
        uint64_t full = 250ull << attempt;
        if (full > 5000)
            full = 5000;
        uint64_t lo = kube_backoff_ms(attempt, 250, 5000, 0, 0);
        uint64_t hi = kube_backoff_ms(attempt, 250, 5000, 0, (uint32_t)full / 2);
        assert_int_equal(lo, full / 2);
        assert_int_equal(hi, full);
        for (uint32_t r = 0; r < 100000; r += 9973) {
            uint64_t d = kube_backoff_ms(attempt, 250, 5000, 0, r);
            assert_true(d >= full / 2 && d <= full);
        }
    }
}

static void test_huge_attempts_do_not_overflow(void **state)
{
    (void)state;
    assert_true(kube_backoff_ms(1000, 250, 30000, 0, 12345) <= 30000);
    assert_true(kube_backoff_ms(63, 1, UINT64_MAX / 4, 0, 7) > 0);
}

static void test_retry_after_is_honoured_up_to_the_cap(void **state)
{
    (void)state;
    assert_int_equal(kube_backoff_ms(0, 250, 5000, 2, 99), 2000);
    assert_int_equal(kube_backoff_ms(3, 250, 5000, 60, 99), 5000);
    assert_int_equal(kube_backoff_ms(0, 250, 5000, -1, 0), 125); /* a bad Retry-After is ignored */
}

static void test_what_is_retried(void **state)
{
    (void)state;
    assert_true(kube_retryable(CURLE_OK, 429));
    assert_true(kube_retryable(CURLE_OK, 500));
    assert_true(kube_retryable(CURLE_OK, 503));
    assert_false(kube_retryable(CURLE_OK, 200));
    assert_false(kube_retryable(CURLE_OK, 404));
    assert_false(kube_retryable(CURLE_OK, 409));
    assert_false(kube_retryable(CURLE_OK, 403));
    assert_true(kube_retryable(CURLE_COULDNT_CONNECT, 0));
    assert_true(kube_retryable(CURLE_GOT_NOTHING, 0));
    assert_false(kube_retryable(CURLE_SSL_CACERT_BADFILE, 0));
    assert_false(kube_retryable(CURLE_PEER_FAILED_VERIFICATION, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doubles_within_jitter_and_caps),
        cmocka_unit_test(test_huge_attempts_do_not_overflow),
        cmocka_unit_test(test_retry_after_is_honoured_up_to_the_cap),
        cmocka_unit_test(test_what_is_retried),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
