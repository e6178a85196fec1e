/* Unit tests for src/util/clock.{h,c}: RFC 3339 formatting and ISO 8601 prefix parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"

/* Expected values computed independently (Python's datetime and `date -u`). */
#define T_2026_11_29_120000_123 1795953600123LL
#define T_2000_02_29_235959 951868799000LL
#define T_2024_03_01_000000 1709251200000LL
#define T_1969_07_20_201740 (-14182940000LL)

static void fmt(int64_t ms, const char *expected)
{
    char out[CLOCK_RFC3339_LEN + 1];
    memset(out, 'x', sizeof(out));
    clock_format_rfc3339(ms, out);
    assert_string_equal(out, expected);
    assert_int_equal(strlen(out), CLOCK_RFC3339_LEN);
}

/* Parses the whole string `s`; asserts success, the time and that every byte was used. */
static void parse_ok(const char *s, int64_t expected_ms)
{
    int64_t ms = -42;
    size_t used = 999;
    int rc = clock_parse_iso8601_prefix(s, strlen(s), &ms, &used);
    if (rc != 0) {
        print_error("\"%s\" rejected\n", s);
        fail();
    }
    assert_int_equal(ms, expected_ms);
    assert_int_equal(used, strlen(s));
}

static void parse_bad(const char *s)
{
    int64_t ms = -42;
    size_t used = 999;
    if (clock_parse_iso8601_prefix(s, strlen(s), &ms, &used) != -1) {
        print_error("\"%s\" accepted as %lld (used %zu)\n", s, (long long)ms, used);
        fail();
    }
    /* left untouched on failure */
    assert_int_equal(ms, -42);
    assert_int_equal(used, 999);
}

static void test_format_known(void **state)
{
    (void)state;
    fmt(0, "1970-01-01T00:00:00.000Z");
    fmt(1, "1970-01-01T00:00:00.001Z");
    fmt(999, "1970-01-01T00:00:00.999Z");
    fmt(1000, "1970-01-01T00:00:01.000Z");
    fmt(T_2026_11_29_120000_123, "2026-11-29T12:00:00.123Z");
    fmt(T_2000_02_29_235959, "2000-02-29T23:59:59.000Z");
    fmt(T_2000_02_29_235959 + 1000, "2000-03-01T00:00:00.000Z");
    fmt(T_2024_03_01_000000 - 1, "2024-02-29T23:59:59.999Z");
    fmt(86400000LL * 365, "1971-01-01T00:00:00.000Z");
}

static void test_format_negative(void **state)
{
    (void)state;
    fmt(-1, "1969-12-31T23:59:59.999Z");
    fmt(-1000, "1969-12-31T23:59:59.000Z");
    fmt(-1500, "1969-12-31T23:59:58.500Z");
    fmt(-999, "1969-12-31T23:59:59.001Z");
    fmt(T_1969_07_20_201740, "1969-07-20T20:17:40.000Z");
    fmt(T_1969_07_20_201740 + 7, "1969-07-20T20:17:40.007Z");
}

/* The date arithmetic against the C library's gmtime_r, second by second around every kind of boundary and at
 * pseudo-random times from year 1 to 9999. */
static void test_format_matches_gmtime(void **state)
{
    (void)state;
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        /* 0001-01-01 .. 9999-12-31 */
        int64_t secs = -62135596800LL + (int64_t)(x % 315537897600ULL);
        if (i < 4000) /* the days around the epoch, leap days and century years */
            secs = (int64_t)(i - 2000) * 86399 + (i % 7 == 0 ? 951782400LL : i % 7 == 1 ? 4107542400LL : 0);
        time_t t = (time_t)secs;
        struct tm tm;
        assert_non_null(gmtime_r(&t, &tm));
        char want[80], got[CLOCK_RFC3339_LEN + 1];
        snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.000Z", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        clock_format_rfc3339(secs * 1000, got);
        if (strcmp(want, got) != 0) {
            print_error("%lld s: %s, gmtime_r %s\n", (long long)secs, got, want);
            fail();
        }
    }
}

static void test_parse_zones(void **state)
{
    (void)state;
    parse_ok("2026-11-29T12:00:00Z", 1795953600000LL);
    parse_ok("2026-11-29T12:00:00.123Z", T_2026_11_29_120000_123);
    /* no zone: UTC */
    parse_ok("2026-11-29T12:00:00", 1795953600000LL);
    parse_ok("2026-11-29T12:00:00.123", T_2026_11_29_120000_123);
    /* 14:00 at +02:00 is 12:00 UTC */
    parse_ok("2026-11-29T14:00:00+02:00", 1795953600000LL);
    parse_ok("2026-11-29T14:00:00.123+0200", T_2026_11_29_120000_123);
    /* 06:30 at -05:30 is 12:00 UTC */
    parse_ok("2026-11-29T06:30:00-05:30", 1795953600000LL);
    parse_ok("2026-11-29T06:30:00-0530", 1795953600000LL);
    parse_ok("2026-11-29T12:00:00+00:00", 1795953600000LL);
    parse_ok("2026-11-29T12:00:00-00:00", 1795953600000LL);
    /* an offset crossing midnight and a month */
    parse_ok("2026-12-01T01:00:00+02:00", 1795953600000LL + (36 + 1) * 3600000LL - 2 * 3600000LL);
    /* the space separator */
    parse_ok("2026-11-29 12:00:00.123Z", T_2026_11_29_120000_123);
    parse_ok("2026-11-29 12:00:00", 1795953600000LL);
    /* epoch and leap days */
    parse_ok("1970-01-01T00:00:00Z", 0);
    parse_ok("2000-02-29T23:59:59Z", T_2000_02_29_235959);
    parse_ok("2024-03-01T00:00:00Z", T_2024_03_01_000000);
    parse_ok("1969-07-20T20:17:40Z", T_1969_07_20_201740);
    parse_ok("1969-12-31T23:59:59.999Z", -1);
}

static void test_parse_fraction(void **state)
{
    (void)state;
    const int64_t base = 1795953600000LL;
    parse_ok("2026-11-29T12:00:00.1Z", base + 100);
    parse_ok("2026-11-29T12:00:00.12Z", base + 120);
    parse_ok("2026-11-29T12:00:00.123Z", base + 123);
    parse_ok("2026-11-29T12:00:00.1234Z", base + 123);
    parse_ok("2026-11-29T12:00:00.123456Z", base + 123);
    parse_ok("2026-11-29T12:00:00.999999999Z", base + 999); /* nine digits: truncated, not rounded up */
    parse_ok("2026-11-29T12:00:00.000000001Z", base);
    parse_ok("2026-11-29T12:00:00,5Z", base + 500); /* ISO 8601 also allows a comma */
    parse_ok("2026-11-29T12:00:00.007", base + 7);
    parse_bad("2026-11-29T12:00:00.Z"); /* a point with no digits */
    parse_bad("2026-11-29T12:00:00.");
}

static void test_parse_prefix_used(void **state)
{
    (void)state;
    int64_t ms = 0;
    size_t used = 0;
    /* a log line that starts with a timestamp: `used` covers the timestamp only */
    const char *line = "2026-11-29T12:00:00.123Z Generating batch 3...";
    assert_int_equal(clock_parse_iso8601_prefix(line, strlen(line), &ms, &used), 0);
    assert_int_equal(ms, T_2026_11_29_120000_123);
    assert_int_equal(used, strlen("2026-11-29T12:00:00.123Z"));
    assert_string_equal(line + used, " Generating batch 3...");

    const char *line2 = "2026-11-29 14:00:00+02:00 | step";
    assert_int_equal(clock_parse_iso8601_prefix(line2, strlen(line2), &ms, &used), 0);
    assert_int_equal(ms, 1795953600000LL);
    assert_int_equal(used, 25);

    const char *line3 = "2026-11-29T12:00:00 no zone";
    assert_int_equal(clock_parse_iso8601_prefix(line3, strlen(line3), &ms, &used), 0);
    assert_int_equal(ms, 1795953600000LL);
    assert_int_equal(used, 19);

    /* `len` bounds the input: the bytes past it are not read */
    const char *full = "2026-11-29T12:00:00.123Z";
    assert_int_equal(clock_parse_iso8601_prefix(full, 19, &ms, &used), 0);
    assert_int_equal(ms, 1795953600000LL);
    assert_int_equal(used, 19);
    assert_int_equal(clock_parse_iso8601_prefix(full, 21, &ms, &used), 0);
    assert_int_equal(ms, 1795953600100LL);
    assert_int_equal(used, 21);
    int64_t keep = 5;
    size_t keep_used = 6;
    assert_int_equal(clock_parse_iso8601_prefix(full, 18, &keep, &keep_used), -1);
    assert_int_equal(keep, 5);
    assert_int_equal(keep_used, 6);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    parse_bad("");
    parse_bad("hello world");
    parse_bad("Generating batch 3...");
    parse_bad("12:00:00");
    parse_bad("2026-11-29");           /* a date alone */
    parse_bad("2026-11-29T");
    parse_bad("2026-11-29T12:00");     /* no seconds */
    parse_bad("2026/11/29T12:00:00Z");
    parse_bad("26-11-29T12:00:00Z");
    parse_bad("2026-1-29T12:00:00Z");
    parse_bad("2026-11-29X12:00:00Z");
    parse_bad("2026-13-01T00:00:00Z"); /* month 13 */
    parse_bad("2026-00-01T00:00:00Z"); /* month 0 */
    parse_bad("2026-11-00T00:00:00Z"); /* day 0 */
    parse_bad("2026-11-32T00:00:00Z"); /* day 32 */
    parse_bad("2026-11-29T24:00:00Z"); /* hour 24 */
    parse_bad("2026-11-29T12:60:00Z"); /* minute 60 */
    parse_bad("2026-11-29T12:00:61Z"); /* second 61 */
    parse_bad("2026-11-29T12:00:00+25:00");
    parse_bad("2026-11-29T12:00:00+02:60");
    parse_bad("2026-11-29T12:00:00+2:00");
    parse_bad("+026-11-29T12:00:00Z");
}

static void test_parse_rejects_impossible_days(void **state)
{
    (void)state;
    /* days that do not exist in their month */
    parse_bad("2026-02-30T00:00:00Z");
    parse_bad("2026-02-29T00:00:00Z"); /* 2026 is not a leap year */
    parse_bad("2026-04-31T00:00:00Z");
    parse_bad("1900-02-29T00:00:00Z"); /* not a leap year either */
    parse_ok("2000-02-29T00:00:00Z", T_2000_02_29_235959 - 86399000LL);
    parse_ok("2026-01-31T00:00:00Z", 1769817600000LL);
}

static void test_round_trip(void **state)
{
    (void)state;
    static const int64_t samples[] = {0,
                                      1,
                                      999,
                                      T_2026_11_29_120000_123,
                                      T_2000_02_29_235959,
                                      T_2024_03_01_000000 - 1,
                                      T_1969_07_20_201740,
                                      -1,
                                      4102444799999LL /* 2099-12-31T23:59:59.999Z */,
                                      253402300799999LL /* 9999-12-31T23:59:59.999Z */};
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        char out[CLOCK_RFC3339_LEN + 1];
        clock_format_rfc3339(samples[i], out);
        int64_t ms = 0;
        size_t used = 0;
        assert_int_equal(clock_parse_iso8601_prefix(out, strlen(out), &ms, &used), 0);
        assert_int_equal(ms, samples[i]);
        assert_int_equal(used, CLOCK_RFC3339_LEN);
    }
    /* and the other way: a sweep over a few years, step 3 days 7 h 11 min 13.457 s */
    for (int64_t ms = -100000000000LL; ms < 2000000000000LL; ms += 284473457LL) {
        char out[CLOCK_RFC3339_LEN + 1];
        clock_format_rfc3339(ms, out);
        int64_t back = 0;
        size_t used = 0;
        assert_int_equal(clock_parse_iso8601_prefix(out, strlen(out), &back, &used), 0);
        assert_int_equal(back, ms);
    }
}

/* The formatter keeps the last second it wrote: going back and forth between seconds, and within one, each text
 * is still that of its own time (checked against strftime). */
static void test_format_repeats(void **state)
{
    (void)state;
    static const int64_t seq[] = {T_2026_11_29_120000_123, T_2026_11_29_120000_123 + 1, T_2026_11_29_120000_123 + 876,
                                  T_2026_11_29_120000_123 + 877, T_2026_11_29_120000_123 - 124, T_1969_07_20_201740,
                                  T_2026_11_29_120000_123, -1, 0, -1, 999, 1000, T_2026_11_29_120000_123};
    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
        char out[CLOCK_RFC3339_LEN + 1], want[64];
        clock_format_rfc3339(seq[i], out);
        int64_t secs = seq[i] / 1000, milli = seq[i] % 1000;
        if (milli < 0) {
            milli += 1000;
            secs--;
        }
        time_t t = (time_t)secs;
        struct tm tm;
        gmtime_r(&t, &tm);
        size_t n = strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(want + n, sizeof(want) - n, ".%03dZ", (int)milli);
        assert_string_equal(out, want);
    }
}

static void test_now(void **state)
{
    (void)state;
    /* a sanity bracket, not a timing assertion: after 2020, before 2200 */
    int64_t now = clock_now_ms();
    assert_true(now > 1577836800000LL);
    assert_true(now < 7258118400000LL);
    int64_t m1 = clock_mono_ms(), m2 = clock_mono_ms();
    assert_true(m2 >= m1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_known),
        cmocka_unit_test(test_format_negative),
        cmocka_unit_test(test_format_matches_gmtime),
        cmocka_unit_test(test_parse_zones),
        cmocka_unit_test(test_parse_fraction),
        cmocka_unit_test(test_parse_prefix_used),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_parse_rejects_impossible_days),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_format_repeats),
        cmocka_unit_test(test_now),
    };
    return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
