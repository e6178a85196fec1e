/* Unit tests for src/kube/kube_quantity.{h,c}: the grammar of resource.Quantity and its exact arithmetic, with the
 * examples of the Kubernetes documentation ("Resource Management for Pods and Containers", the Quantity type). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kube/kube_quantity.h"

static int64_t milli(const char *s)
{
    kube_quantity_t q;
    int64_t v = INT64_MIN;
    if (kube_quantity_parse(s, &q) != 0 || kube_quantity_milli(&q, &v) != 0) {
        print_error("\"%s\" is not a quantity with a milli-value\n", s);
        fail();
    }
    return v;
}

static int64_t value(const char *s)
{
    kube_quantity_t q;
    int64_t v = INT64_MIN;
    if (kube_quantity_parse(s, &q) != 0 || kube_quantity_value(&q, &v) != 0) {
        print_error("\"%s\" is not a quantity with a value\n", s);
        fail();
    }
    return v;
}

static void documented_examples(void **state)
{
    (void)state;
    /* CPU: "0.1" is the same as "100m" */
    assert_int_equal(milli("0.1"), 100);
    assert_int_equal(milli("100m"), 100);
    assert_int_equal(milli("1"), 1000);
    /* memory: these are all roughly the same value */
    assert_int_equal(value("128974848"), 128974848);
    assert_int_equal(value("129e6"), 129000000);
    assert_int_equal(value("129M"), 129000000);
    assert_int_equal(value("128974848000m"), 128974848);
    assert_int_equal(value("123Mi"), 128974848);
    /* "400m" of memory is 0.4 bytes: Value() rounds it up to 1 */
    assert_int_equal(milli("400m"), 400);
    assert_int_equal(value("400m"), 1);
    /* the Quantity type's own examples: 1.5 is 1500m, 1.5Gi is 1536Mi; 0.1m is rounded up to 1m */
    assert_int_equal(milli("1.5"), 1500);
    assert_int_equal(value("1.5Gi"), 1536LL * 1048576);
    assert_int_equal(milli("0.1m"), 1);
    /* what the API server writes for a sum of fractional sizes: 0.3Gi */
    assert_int_equal(milli("0.3Gi"), 322122547200LL);
    assert_int_equal(value("322122547200m"), 322122548); /* 322122547.2 bytes, rounded up */
}

static void every_suffix(void **state)
{
    (void)state;
    assert_int_equal(milli("250000n"), 1); /* 0.25m, rounded up */
    assert_int_equal(milli("250000000n"), 250);
    assert_int_equal(milli("100u"), 1); /* 0.1m, rounded up */
    assert_int_equal(milli("100000u"), 100);
    assert_int_equal(value("1k"), 1000);
    assert_int_equal(value("1M"), 1000000);
    assert_int_equal(value("1G"), 1000000000);
    assert_int_equal(value("1T"), 1000000000000LL);
    assert_int_equal(value("1P"), 1000000000000000LL);
    assert_int_equal(value("1E"), 1000000000000000000LL);
    assert_int_equal(value("1Ki"), 1024);
    assert_int_equal(value("1Mi"), 1048576);
    assert_int_equal(value("1Gi"), 1073741824LL);
    assert_int_equal(value("1Ti"), 1099511627776LL);
    assert_int_equal(value("1Pi"), 1125899906842624LL);
    assert_int_equal(value("1Ei"), 1152921504606846976LL);
    assert_int_equal(value("7.5Ei"), 8646911284551352320LL);
    /* decimal exponents, either letter, signed */
    assert_int_equal(value("1e3"), 1000);
    assert_int_equal(value("1E3"), 1000);
    assert_int_equal(value("1e+3"), 1000);
    assert_int_equal(milli("5e-2"), 50);
    assert_int_equal(value("1.5e3"), 1500);
    assert_int_equal(milli("12e-0003"), 12);
    /* numbers: a sign, a point with digits on either side */
    assert_int_equal(milli("+1"), 1000);
    assert_int_equal(milli("-1"), -1000);
    assert_int_equal(milli(".5"), 500);
    assert_int_equal(milli("5."), 5000);
    assert_int_equal(milli("-.5"), -500);
    assert_int_equal(milli("00000000000000000000000000000000001"), 1000);
    assert_int_equal(milli("0"), 0);
    assert_int_equal(milli("-0"), 0);
    assert_int_equal(milli("0Ei"), 0);
    assert_int_equal(value("0.000000000000000000000000000001Ei"), 1); /* below a nano-unit: rounded up */
    assert_int_equal(value("1.2345678901234567890123456789Ki"), 1265);
}

static void refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",     "1K",   "1Kib",  "1KiB", "0x10", "0x1p4", "1 ",   " 1",    "1 Gi", "nan", "inf",
        "Gi",   "m",    "-",     "+",    ".",    "+.",    "1..2", "1.2.3", "1e",   "1E+", "1e3.5",
        "1e3e", "1ee3", "1e3Gi", "1mi",  "1gi",  "1i",    "1Mm",  "--1",   "1-",   "1,5", "1e99999999999999999999",
        "1b",   "1\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        kube_quantity_t q;
        if (kube_quantity_parse(bad[i], &q) != -EINVAL) {
            print_error("\"%s\" accepted\n", bad[i]);
            fail();
        }
    }
    kube_quantity_t q;
    assert_int_equal(kube_quantity_parse(NULL, &q), -EINVAL);
    assert_int_equal(kube_quantity_parse_n("1Gi", 2, &q), 0); /* "1G": only the given length counts */
    assert_int_equal(q.whole, 1000000000);
    char longer[KUBE_QUANTITY_MAX_LEN + 2];
    memset(longer, '1', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    assert_int_equal(kube_quantity_parse(longer, &q), -EINVAL);
}

static void range_and_rounding(void **state)
{
    (void)state;
    kube_quantity_t q;
    int64_t v;
    /* 2^63-1 units is the largest quantity; beyond is out of range, with the cap in `q` */
    assert_int_equal(kube_quantity_parse("9223372036854775807", &q), 0);
    assert_int_equal(kube_quantity_value(&q, &v), 0);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(kube_quantity_milli(&q, &v), -ERANGE); /* its milli-value does not fit */
    assert_int_equal(kube_quantity_parse("9223372036854775808", &q), -ERANGE);
    assert_int_equal(q.whole, INT64_MAX);
    assert_int_equal(kube_quantity_parse("8Ei", &q), -ERANGE);
    assert_int_equal(kube_quantity_parse("1e19", &q), -ERANGE);
    assert_int_equal(kube_quantity_parse("-1e100", &q), -ERANGE);
    assert_true(q.negative);
    assert_int_equal(kube_quantity_parse("1e-100000", &q), 0); /* tiny, not zero: one nano-unit */
    assert_int_equal(q.whole, 0);
    assert_int_equal(q.nano, 1);
    assert_int_equal(kube_quantity_parse("0e99999", &q), 0);
    assert_int_equal(q.whole + q.nano, 0);
    /* rounding up or down, in any unit */
    assert_int_equal(kube_quantity_parse("1.0001", &q), 0);
    assert_int_equal(kube_quantity_scaled(&q, 0, 1, &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(kube_quantity_scaled(&q, 0, 0, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(kube_quantity_scaled(&q, -9, 0, &v), 0);
    assert_int_equal(v, 1000100000);
    assert_int_equal(kube_quantity_parse("-1.5", &q), 0);
    assert_int_equal(kube_quantity_scaled(&q, 0, 1, &v), 0);
    assert_int_equal(v, -1);
    assert_int_equal(kube_quantity_scaled(&q, 0, 0, &v), 0);
    assert_int_equal(v, -2);
    assert_int_equal(kube_quantity_parse("3G", &q), 0);
    assert_int_equal(kube_quantity_scaled(&q, 9, 1, &v), 0);
    assert_int_equal(v, 3);
    assert_int_equal(kube_quantity_scaled(&q, 19, 1, &v), -EINVAL);
    assert_true(kube_quantity_double(&q) == 3e9);
}

static void comparison(void **state)
{
    (void)state;
    static const char *const same[][2] = {
        {"1", "1000m"}, {"1Ki", "1024"}, {"1k", "1e3"},  {"0.5Gi", "512Mi"},  {"123Mi", "128974848000m"},
        {"+1", "1"},    {"-0", "0"},     {"1E", "1e18"}, {"100u", "100000n"},
    };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        kube_quantity_t a, b;
        assert_int_equal(kube_quantity_parse(same[i][0], &a), 0);
        assert_int_equal(kube_quantity_parse(same[i][1], &b), 0);
        if (kube_quantity_cmp(&a, &b) != 0) {
            print_error("%s != %s\n", same[i][0], same[i][1]);
            fail();
        }
    }
    kube_quantity_t a, b;
    kube_quantity_parse("999m", &a);
    kube_quantity_parse("1", &b);
    assert_int_equal(kube_quantity_cmp(&a, &b), -1);
    assert_int_equal(kube_quantity_cmp(&b, &a), 1);
    kube_quantity_parse("-2", &a);
    kube_quantity_parse("-1", &b);
    assert_int_equal(kube_quantity_cmp(&a, &b), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(documented_examples), cmocka_unit_test(every_suffix), cmocka_unit_test(refused),
        cmocka_unit_test(range_and_rounding),  cmocka_unit_test(comparison),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
