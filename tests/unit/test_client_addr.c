/* Unit tests for src/http/client_addr.{h,c}: the client behind trusted proxies (X-Forwarded-For). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
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

/* client_addr_key() of a socket address given as text (AF_INET for a.b.c.d, AF_INET6 otherwise). */
static void key_of(const char *ip, uint8_t key[16])
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (strchr(ip, ':') == NULL) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(40000);
        assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(40001);
        assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
    }
    client_addr_key((struct sockaddr *)&ss, key);
}

static int same_client(const char *a, const char *b)
{
    uint8_t ka[16], kb[16];
    key_of(a, ka);
    key_of(b, kb);
    return memcmp(ka, kb, 16) == 0;
}

static void test_key_is_the_ipv4_address_or_the_ipv6_64(void **state)
{
    (void)state;
    assert_true(same_client("198.51.100.7", "198.51.100.7"));
    assert_false(same_client("198.51.100.7", "198.51.100.8"));
    assert_true(same_client("198.51.100.7", "::ffff:198.51.100.7")); /* dual-stack socket or IPv4 socket */
    assert_true(same_client("2001:db8:1:2::a", "2001:db8:1:2:ffff:ffff:ffff:ffff"));
    assert_false(same_client("2001:db8:1:2::a", "2001:db8:1:3::a"));
    assert_false(same_client("::1", "198.51.100.7"));
    uint8_t k[16];
    key_of("2001:db8:1:2:3:4:5:6", k);
    static const uint8_t want[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2};
    assert_memory_equal(k, want, 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_untrusted_peer_is_the_client),
        cmocka_unit_test(test_rightmost_untrusted),
        cmocka_unit_test(test_garbage_stops_the_walk),
        cmocka_unit_test(test_key_is_the_ipv4_address_or_the_ipv6_64),
    };
    return cmocka_run_group_tests_name("client_addr", tests, NULL, NULL);
}
