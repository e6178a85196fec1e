/* Unit tests for src/util/cidr.{h,c}: IPv4/IPv6 addresses and CIDR ranges (TRUSTED_PROXIES). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "util/cidr.h"

static int contains(const char *list, const char *addr)
{
    cidr_list_t l;
    char err[160];
    assert_int_equal(cidr_list_parse(list, &l, err, sizeof(err)), 0);
    uint8_t a[16];
    assert_int_equal(cidr_addr_parse(addr, strlen(addr), a), 0);
    return cidr_list_contains(&l, a);
}

static void test_ranges(void **state)
{
    (void)state;
    assert_true(contains("10.0.0.0/8", "10.255.1.2"));
    assert_false(contains("10.0.0.0/8", "11.0.0.1"));
    assert_true(contains("192.168.1.128/25", "192.168.1.200"));
    assert_false(contains("192.168.1.128/25", "192.168.1.127"));
    assert_true(contains("127.0.0.1", "127.0.0.1"));
    assert_false(contains("127.0.0.1", "127.0.0.2"));
    assert_true(contains("0.0.0.0/0", "8.8.8.8"));
    assert_false(contains("0.0.0.0/0", "2001:db8::1")); /* an IPv4 range holds only IPv4 addresses */
    assert_true(contains("::/0", "2001:db8::1"));
    assert_true(contains("2001:db8::/32, 10.0.0.0/8", "2001:db8:ffff::1"));
    assert_false(contains("2001:db8::/32", "2001:db9::1"));
    assert_true(contains("::1", "::1"));
    assert_true(contains(" 10.0.0.1 ,  ::1 ", "::1"));
    assert_true(contains("10.0.0.0/8", "::ffff:10.1.2.3")); /* IPv4 seen on a dual-stack socket */
    assert_false(contains("", "10.0.0.1"));
}

static void test_bad_lists(void **state)
{
    (void)state;
    static const char *const bad[] = {"10.0.0.0/33",  "::/129",      "10.0.0",       "10.0.0.0/", "10.0.0.0/-1",
                                      "host.example", "10.0.0.0/8x", "1.2.3.4/1000", "[::1]",     "10.0.0.1:80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cidr_list_t l;
        char err[160] = "";
        assert_int_equal(cidr_list_parse(bad[i], &l, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "is not an IPv4 or IPv6"));
    }
    char many[2048] = "";
    for (int i = 0; i <= CIDR_LIST_MAX; i++)
        strcat(many, "10.0.0.1,");
    cidr_list_t l;
    char err[160];
    assert_int_equal(cidr_list_parse(many, &l, err, sizeof(err)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_bad_lists),
    };
    return cmocka_run_group_tests_name("cidr", tests, NULL, NULL);
}
