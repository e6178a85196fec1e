/* Unit tests for src/http/ratelimit.{h,c}: a token bucket per client IP with a bounded table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "http/ratelimit.h"

#define T0 1000000000ULL /* an arbitrary "now" in ms */

typedef union client {
    struct sockaddr sa;
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
    struct sockaddr_storage ss;
} client_t;

static client_t v4(const char *ip)
{
    client_t c;
    memset(&c, 0, sizeof(c));
    c.v4.sin_family = AF_INET;
    c.v4.sin_port = htons(40000);
    assert_int_equal(inet_pton(AF_INET, ip, &c.v4.sin_addr), 1);
    return c;
}

static client_t v6(const char *ip)
{
    client_t c;
    memset(&c, 0, sizeof(c));
    c.v6.sin6_family = AF_INET6;
    c.v6.sin6_port = htons(40000);
    assert_int_equal(inet_pton(AF_INET6, ip, &c.v6.sin6_addr), 1);
    return c;
}

static client_t v4_n(uint32_t n)
{
    client_t c;
    memset(&c, 0, sizeof(c));
    c.v4.sin_family = AF_INET;
    c.v4.sin_addr.s_addr = htonl(n);
    return c;
}

static ratelimit_t *new_rl(int per_minute)
{
    ratelimit_t *rl = malloc(sizeof(*rl));
    assert_non_null(rl);
    ratelimit_init(rl, per_minute);
    return rl;
}

/* Takes a token; returns 0 or the Retry-After seconds (> 0) when limited. */
static int take(ratelimit_t *rl, const client_t *c, uint64_t now)
{
    int retry = -12345;
    int rc = ratelimit_take(rl, &c->sa, now, &retry);
    if (rc == 0)
        return 0;
    assert_int_equal(rc, -1);
    assert_true(retry >= 1);
    return retry;
}

static void test_zero_never_limits(void **state)
{
    (void)state;
    ratelimit_t *rl = new_rl(0);
    client_t c = v4("10.0.0.1");
    for (int i = 0; i < 10000; i++)
        assert_int_equal(take(rl, &c, T0), 0);
    free(rl);
}

static void test_three_per_minute(void **state)
{
    (void)state;
    ratelimit_t *rl = new_rl(3);
    client_t c = v4("10.0.0.1");
    assert_int_equal(take(rl, &c, T0), 0);
    assert_int_equal(take(rl, &c, T0), 0);
    assert_int_equal(take(rl, &c, T0), 0);
    /* empty: one token every 20 s, so the wait is 20 s */
    assert_int_equal(take(rl, &c, T0), 20);
    assert_int_equal(take(rl, &c, T0), 20);
    /* 1 ms later: 19.999 s to wait, rounded up to whole seconds */
    assert_int_equal(take(rl, &c, T0 + 1), 20);
    /* 10.5 s later: 0.525 tokens, 9.5 s to go -> 10 */
    assert_int_equal(take(rl, &c, T0 + 10500), 10);
    /* 19.5 s: 0.025 s ... 0.5 s to go -> 1 (never 0) */
    assert_int_equal(take(rl, &c, T0 + 19500), 1);
    assert_int_equal(take(rl, &c, T0 + 19999), 1);
    /* 20.1 s: one token: one request, then limited again */
    assert_int_equal(take(rl, &c, T0 + 20100), 0);
    int r = take(rl, &c, T0 + 20100);
    assert_in_range(r, 19, 20);
    free(rl);
}

static void test_refill(void **state)
{
    (void)state;
    ratelimit_t *rl = new_rl(3);
    client_t c = v4("192.0.2.7");
    for (int i = 0; i < 3; i++)
        assert_int_equal(take(rl, &c, T0), 0);
    assert_int_equal(take(rl, &c, T0), 20);
    /* a full minute later: the bucket is full again, but never more than full */
    uint64_t later = T0 + 10 * 60000;
    for (int i = 0; i < 3; i++)
        assert_int_equal(take(rl, &c, later), 0);
    assert_int_equal(take(rl, &c, later), 20);
    /* time going backwards (a clock step) does not add tokens nor crash */
    assert_true(take(rl, &c, T0) > 0);
    free(rl);
}

static void test_steady_rate(void **state)
{
    (void)state;
    /* 60 per minute: one request a second forever is fine; two a second are not */
    ratelimit_t *rl = new_rl(60);
    client_t c = v4("10.1.1.1");
    for (int i = 0; i < 60; i++)
        assert_int_equal(take(rl, &c, T0), 0);
    assert_int_equal(take(rl, &c, T0), 1);
    for (int s = 1; s <= 300; s++)
        assert_int_equal(take(rl, &c, T0 + (uint64_t)s * 1000 + 1), 0);
    /* after a long pause the bucket is full (60); then 4 a second for 75 s: 60 + 75 refilled are allowed */
    int allowed = 0;
    for (int s = 0; s < 300; s++) {
        uint64_t now = T0 + 400000 + (uint64_t)s * 250;
        allowed += take(rl, &c, now) == 0;
    }
    assert_in_range(allowed, 133, 136);
    free(rl);
}

static void test_clients_independent(void **state)
{
    (void)state;
    ratelimit_t *rl = new_rl(2);
    client_t a = v4("10.0.0.1"), b = v4("10.0.0.2"), x = v6("2001:db8::1"), y = v6("2001:db8:0:1::2");
    assert_int_equal(take(rl, &a, T0), 0);
    assert_int_equal(take(rl, &a, T0), 0);
    assert_true(take(rl, &a, T0) > 0);
    /* others are not affected */
    assert_int_equal(take(rl, &b, T0), 0);
    assert_int_equal(take(rl, &x, T0), 0);
    assert_int_equal(take(rl, &x, T0), 0);
    assert_true(take(rl, &x, T0) > 0);
    assert_int_equal(take(rl, &y, T0), 0);
    assert_int_equal(take(rl, &b, T0), 0);
    assert_true(take(rl, &b, T0) > 0);
    /* another address of x's /64 is the same client: one host usually holds a whole /64 */
    client_t x2 = v6("2001:db8::ffff:2");
    assert_true(take(rl, &x2, T0) > 0);
    /* the port does not make a different client */
    client_t a2 = v4("10.0.0.1");
    a2.v4.sin_port = htons(50000);
    assert_true(take(rl, &a2, T0) > 0);
    /* an IPv6 address whose last 4 bytes equal an IPv4 one is another client */
    ratelimit_t *rl2 = new_rl(1);
    client_t p4 = v4("10.0.0.1"), p6 = v6("2001:db8::a00:1");
    assert_int_equal(take(rl2, &p4, T0), 0);
    assert_true(take(rl2, &p4, T0) > 0);
    assert_int_equal(take(rl2, &p6, T0), 0);
    free(rl2);
    free(rl);
}

static void test_v4_mapped_is_same_client(void **state)
{
    (void)state;
    /* a dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d: the same bucket */
    ratelimit_t *rl = new_rl(2);
    client_t a = v4("198.51.100.9"), m = v6("::ffff:198.51.100.9");
    assert_int_equal(take(rl, &a, T0), 0);
    assert_int_equal(take(rl, &m, T0), 0);
    assert_true(take(rl, &a, T0) > 0);
    assert_true(take(rl, &m, T0) > 0);
    free(rl);
}

static void test_bounded_table(void **state)
{
    (void)state;
    ratelimit_t *rl = new_rl(3);
    client_t offender = v4("203.0.113.66");
    for (int i = 0; i < 3; i++)
        assert_int_equal(take(rl, &offender, T0), 0);
    assert_true(take(rl, &offender, T0) > 0);

    /* 20,000 distinct clients at once, one request each: all allowed, the table stays bounded; the offender keeps
     * trying meanwhile and stays limited (the table forgets the client seen least recently, never fails open) */
    for (uint32_t i = 0; i < 20000; i++) {
        client_t c = v4_n(0x0a000000u + i); /* 10.0.x.y */
        assert_int_equal(take(rl, &c, T0 + i / 1000), 0);
        assert_true(rl->count <= RATELIMIT_SLOTS);
        if (i % 1000 == 999)
            assert_true(take(rl, &offender, T0 + i / 1000) > 0);
    }
    assert_int_equal(rl->count, RATELIMIT_SLOTS);
    /* a client of the last 8,192 is still remembered: its second and third requests use up its bucket */
    client_t recent = v4_n(0x0a000000u + 19999);
    assert_int_equal(take(rl, &recent, T0 + 20), 0);
    assert_int_equal(take(rl, &recent, T0 + 20), 0);
    assert_true(take(rl, &recent, T0 + 20) > 0);

    /* 20,000 different IPv6 /64 networks (the way to fill a table cheaply): a new offender is still limited */
    uint64_t later = T0 + 5 * 60000;
    client_t newcomer = v4("203.0.113.77");
    for (int i = 0; i < 3; i++)
        assert_int_equal(take(rl, &newcomer, later), 0);
    assert_true(take(rl, &newcomer, later) > 0);
    for (uint32_t i = 0; i < 20000; i++) {
        client_t c = v6("2001:db8::1");
        c.v6.sin6_addr.s6_addr[5] = (uint8_t)(i >> 16);
        c.v6.sin6_addr.s6_addr[6] = (uint8_t)(i >> 8);
        c.v6.sin6_addr.s6_addr[7] = (uint8_t)i;
        assert_int_equal(take(rl, &c, later + 1), 0);
        if (i % 4000 == 0)
            assert_true(take(rl, &newcomer, later + 1) > 0);
    }
    assert_true(rl->count <= RATELIMIT_SLOTS);
    assert_true(take(rl, &newcomer, later + 2) > 0);
    free(rl);
}

static void test_least_recent_is_forgotten(void **state)
{
    (void)state;
    ratelimit_t *rl = new_rl(1);
    client_t quiet = v4("198.51.100.1"), busy = v4("198.51.100.2");
    assert_int_equal(take(rl, &quiet, T0), 0);
    assert_int_equal(take(rl, &busy, T0), 0);
    /* fill the table up to one slot short of forgetting `quiet`, touching `busy` on the way */
    for (uint32_t i = 0; i < RATELIMIT_SLOTS - 2; i++) {
        client_t c = v4_n(0x0b000000u + i);
        assert_int_equal(take(rl, &c, T0), 0);
        if (i == 100)
            assert_true(take(rl, &busy, T0) > 0);
    }
    assert_true(take(rl, &quiet, T0) > 0); /* still remembered (and now the newest) */
    /* the next newcomers push out the oldest entries: 11.0.0.0, 11.0.0.1 ..., not `quiet` nor `busy` */
    for (uint32_t i = 0; i < 50; i++) {
        client_t c = v4_n(0x0c000000u + i);
        assert_int_equal(take(rl, &c, T0), 0);
    }
    assert_true(take(rl, &quiet, T0) > 0);
    assert_true(take(rl, &busy, T0) > 0);
    client_t first = v4_n(0x0b000000u);
    assert_int_equal(take(rl, &first, T0), 0); /* forgotten: a full bucket again */
    free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_never_limits),
        cmocka_unit_test(test_three_per_minute),
        cmocka_unit_test(test_refill),
        cmocka_unit_test(test_steady_rate),
        cmocka_unit_test(test_clients_independent),
        cmocka_unit_test(test_v4_mapped_is_same_client),
        cmocka_unit_test(test_bounded_table),
        cmocka_unit_test(test_least_recent_is_forgotten),
    };
    return cmocka_run_group_tests_name("ratelimit", tests, NULL, NULL);
}
