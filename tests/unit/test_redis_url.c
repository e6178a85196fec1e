/* Unit tests for src/store/redis_url.{h,c}: REDIS_URL = redis://[[user]:password@]host[:port][/db]. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "store/redis_url.h"

/* Parses `url`, which must be accepted, into `*u`. */
static void parse_ok(const char *url, redis_url_t *u)
{
    char err[256] = "";
    int rc = redis_url_parse(url, u, err, sizeof(err));
    if (rc != 0) {
        print_error("redis_url_parse(\"%s\") = %d (%s), expected 0\n", url, rc, err);
        fail();
    }
}

/* `url` must be rejected with an error that names REDIS_URL. */
static void assert_rejected(const char *url)
{
    redis_url_t u;
    char err[256];
    memset(err, 0, sizeof(err));
    int rc = redis_url_parse(url, &u, err, sizeof(err));
    if (rc != -1) {
        print_error("redis_url_parse(\"%s\") = %d (host \"%s\", port %d, db %d), expected -1\n", url, rc, u.host,
                    u.port, u.db);
        fail();
    }
    if (strstr(err, "REDIS_URL") == NULL) {
        print_error("the error for \"%s\" does not name REDIS_URL: \"%s\"\n", url, err);
        fail();
    }
}

static void assert_url(const char *url, const char *host, int port, const char *user, const char *password, int db)
{
    redis_url_t u;
    parse_ok(url, &u);
    assert_string_equal(u.host, host);
    assert_int_equal(u.port, port);
    assert_string_equal(u.user, user);
    assert_string_equal(u.password, password);
    assert_int_equal(u.db, db);
}

static void test_defaults(void **state)
{
    (void)state;
    assert_url("redis://localhost", "localhost", 6379, "", "", 0);
    assert_url("redis://localhost/", "localhost", 6379, "", "", 0);
    assert_url("redis://10.0.0.7", "10.0.0.7", 6379, "", "", 0);
    /* a previous parse leaves nothing behind */
    redis_url_t u;
    memset(&u, 0x5a, sizeof(u));
    parse_ok("redis://h", &u);
    assert_string_equal(u.host, "h");
    assert_int_equal(u.port, 6379);
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "");
    assert_int_equal(u.db, 0);
}

static void test_port_and_db(void **state)
{
    (void)state;
    assert_url("redis://h:6380/2", "h", 6380, "", "", 2);
    assert_url("redis://h:6380", "h", 6380, "", "", 0);
    assert_url("redis://h/15", "h", 6379, "", "", 15);
    assert_url("redis://redis.internal:1/0", "redis.internal", 1, "", "", 0);
    assert_url("redis://h:65535/1", "h", 65535, "", "", 1);
}

static void test_auth(void **state)
{
    (void)state;
    /* the password alone: no user */
    assert_url("redis://:pw@h:1/0", "h", 1, "", "pw", 0);
    /* an ACL user */
    assert_url("redis://user:pw@h:1/3", "h", 1, "user", "pw", 3);
    assert_url("redis://alice:s3cret@cache.example.com", "cache.example.com", 6379, "alice", "s3cret", 0);
}

static void test_percent_escapes(void **state)
{
    (void)state;
    assert_url("redis://:p%40ss@h", "h", 6379, "", "p@ss", 0);
    assert_url("redis://u%3Ax:p%2Fw%3a%25@h:7/1", "h", 7, "u:x", "p/w:%", 1);
    /* an escape as the very last characters of the password */
    assert_url("redis://:ab%40@h", "h", 6379, "", "ab@", 0);
    /* upper- and lower-case hex digits */
    assert_url("redis://%4a%4B:%7e@h", "h", 6379, "JK", "~", 0);
}

static void test_ipv6(void **state)
{
    (void)state;
    assert_url("redis://[::1]:6390/1", "::1", 6390, "", "", 1);
    assert_url("redis://[::1]", "::1", 6379, "", "", 0);
    assert_url("redis://:pw@[fe80::1:2]:7000", "fe80::1:2", 7000, "", "pw", 0);
    assert_rejected("redis://[::1");
    assert_rejected("redis://[]:6379");
    assert_rejected("redis://[::1]x");
    assert_rejected("redis://[::1]:0");
}

static void test_rejects_scheme_and_host(void **state)
{
    (void)state;
    assert_rejected("http://x");
    assert_rejected("rediss://x");
    assert_rejected("REDIS://x");
    assert_rejected("");
    assert_rejected("redis://");
    assert_rejected("redis://:6379");
    assert_rejected("redis:///0");
    assert_rejected("redis://:pw@");
}

static void test_rejects_port(void **state)
{
    (void)state;
    assert_rejected("redis://h:0");
    assert_rejected("redis://h:65536");
    assert_rejected("redis://h:70000");
    assert_rejected("redis://h:abc");
    assert_rejected("redis://h:");
    assert_rejected("redis://h:12a");
    assert_rejected("redis://h:-1");
    assert_rejected("redis://h:99999999999999999999");
}

static void test_rejects_db(void **state)
{
    (void)state;
    assert_rejected("redis://h/x");
    assert_rejected("redis://h:6379/x");
    assert_rejected("redis://h/1x");
    assert_rejected("redis://h/-1");
}

static void test_rejects_credentials(void **state)
{
    (void)state;
    assert_rejected("redis://user@h");
    assert_rejected("redis://:p%zz@h");
    assert_rejected("redis://%zz:pw@h");
    assert_rejected("redis://:p%4@h"); /* a truncated escape... */
    assert_rejected("redis://:p%0@h"); /* ...even one that looks complete but is cut by '@' */
    assert_rejected("redis://:p%@h");
    assert_rejected("redis://:p%00x@h"); /* NUL */
    assert_rejected("redis://%00:pw@h");
}

static void test_lengths(void **state)
{
    (void)state;
    char url[1200], field[1000];
    redis_url_t u;

    /* host: 255 bytes fit, 256 do not */
    memset(field, 'a', 255);
    field[255] = '\0';
    snprintf(url, sizeof(url), "redis://%s:1", field);
    parse_ok(url, &u);
    assert_int_equal(strlen(u.host), 255);
    assert_string_equal(u.host, field);
    field[255] = 'a';
    field[256] = '\0';
    snprintf(url, sizeof(url), "redis://%s:1", field);
    assert_rejected(url);
    snprintf(url, sizeof(url), "redis://[%s]:1", field);
    assert_rejected(url);

    /* password: 255 bytes fit, 256 do not; escapes count once decoded */
    memset(field, 'p', 255);
    field[255] = '\0';
    snprintf(url, sizeof(url), "redis://:%s@h", field);
    parse_ok(url, &u);
    assert_int_equal(strlen(u.password), 255);
    assert_string_equal(u.password, field);
    field[255] = 'p';
    field[256] = '\0';
    snprintf(url, sizeof(url), "redis://:%s@h", field);
    assert_rejected(url);
    char *o = field;
    for (int i = 0; i < 255; i++)
        o += sprintf(o, "%%40");
    snprintf(url, sizeof(url), "redis://:%s@h", field);
    parse_ok(url, &u);
    assert_int_equal(strlen(u.password), 255);
    assert_int_equal(u.password[0], '@');
    assert_int_equal(u.password[254], '@');

    /* user: 127 bytes fit, 128 do not */
    memset(field, 'u', 127);
    field[127] = '\0';
    snprintf(url, sizeof(url), "redis://%s:pw@h", field);
    parse_ok(url, &u);
    assert_string_equal(u.user, field);
    field[127] = 'u';
    field[128] = '\0';
    snprintf(url, sizeof(url), "redis://%s:pw@h", field);
    assert_rejected(url);
}

static void test_error_text(void **state)
{
    (void)state;
    redis_url_t u;
    char err[256] = "";
    assert_int_equal(redis_url_parse("http://x", &u, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "REDIS_URL"));
    assert_non_null(strstr(err, "redis://"));
    /* a small buffer is truncated, never overrun */
    char small[12];
    memset(small, 'X', sizeof(small));
    assert_int_equal(redis_url_parse("redis://h:0", &u, small, 10), -1);
    assert_int_equal(strlen(small), 9);
    assert_memory_equal(small, "REDIS_URL", 9);
    assert_int_equal(small[10], 'X');
    assert_int_equal(small[11], 'X');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_port_and_db),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_percent_escapes),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_rejects_scheme_and_host),
        cmocka_unit_test(test_rejects_port),
        cmocka_unit_test(test_rejects_db),
        cmocka_unit_test(test_rejects_credentials),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_error_text),
    };
    return cmocka_run_group_tests_name("redis_url", tests, NULL, NULL);
}
