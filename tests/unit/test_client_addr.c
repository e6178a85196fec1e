/* Unit tests for src/http/client_addr.{h,c}: the client behind trusted proxies (X-Forwarded-For). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "http/client_addr.h"

/* The client given the peer, X-Forwarded-For (NULL: none) and the trusted list, as text. */
static const char *resolve(const char *peer, const char *xff, const char *trusted)
{
    static char text[INET6_ADDRSTRLEN];
    cidr_list_t list;
    char err[160];
    assert_int_equal(cidr_list_parse(trusted, &list, err, sizeof(err)), 0);
    uint8_t p[16], out[16];
    assert_int_equal(cidr_addr_parse(peer, strlen(peer), p), 0);
    client_addr_resolve(p, xff, xff ? strlen(xff) : 0, &list, out);
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(out, v4mapped, 12) == 0)
        inet_ntop(AF_INET, out + 12, text, sizeof(text));
    else
        inet_ntop(AF_INET6, out, text, sizeof(text));
    return text;
}

static void test_untrusted_peer_is_the_client(void **state)
{
    (void)state;
    assert_string_equal(resolve("203.0.113.5", "1.2.3.4", ""), "203.0.113.5");
    assert_string_equal(resolve("203.0.113.5", "1.2.3.4", "10.0.0.0/8"), "203.0.113.5");
    assert_string_equal(resolve("10.0.0.2", NULL, "10.0.0.0/8"), "10.0.0.2");
}

static void test_rightmost_untrusted(void **state)
{
    (void)state;
    assert_string_equal(resolve("10.0.0.2", "198.51.100.7", "10.0.0.0/8"), "198.51.100.7");
    /* the client forged the left part; the proxy appended what it saw */
    assert_string_equal(resolve("10.0.0.2", "6.6.6.6, 198.51.100.7", "10.0.0.0/8"), "198.51.100.7");
    /* two proxies in the chain, both trusted */
    assert_string_equal(resolve("10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.9", "10.0.0.0/8"), "198.51.100.7");
    assert_string_equal(resolve("::1", "2001:db8::7,fd00::3", "::1, fd00::/8"), "2001:db8::7");
    assert_string_equal(resolve("::ffff:10.0.0.2", "198.51.100.7", "10.0.0.0/8"), "198.51.100.7");
    /* every hop trusted: the left-most one */
    assert_string_equal(resolve("10.0.0.2", "10.0.0.8, 10.0.0.9", "10.0.0.0/8"), "10.0.0.8");
    /* ports and brackets some proxies add */
    assert_string_equal(resolve("10.0.0.2", "198.51.100.7:5555", "10.0.0.0/8"), "198.51.100.7");
    assert_string_equal(resolve("10.0.0.2", "[2001:db8::7]:443", "10.0.0.0/8"), "2001:db8::7");
}

static void test_garbage_stops_the_walk(void **state)
{
    (void)state;
    assert_string_equal(resolve("10.0.0.2", "unknown", "10.0.0.0/8"), "10.0.0.2");
    assert_string_equal(resolve("10.0.0.2", "198.51.100.7, garbage, 10.0.0.9", "10.0.0.0/8"), "10.0.0.9");
    assert_string_equal(resolve("10.0.0.2", "", "10.0.0.0/8"), "10.0.0.2");
    assert_string_equal(resolve("10.0.0.2", ",,,", "10.0.0.0/8"), "10.0.0.2");
    assert_string_equal(resolve("10.0.0.2", "[::1", "10.0.0.0/8"), "10.0.0.2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_untrusted_peer_is_the_client),
        cmocka_unit_test(test_rightmost_untrusted),
        cmocka_unit_test(test_garbage_stops_the_walk),
    };
    return cmocka_run_group_tests_name("client_addr", tests, NULL, NULL);
}
