/* Unit tests for src/http/framing.{h,c}: request framing checks on the raw head (RFC 9112 §6.3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "http/framing.h"

static int check(const char *head, const char **detail)
{
    *detail = NULL;
    return http_framing_check_head(head, strlen(head), detail);
}

static void want_ok(const char *head)
{
    const char *detail;
    int status = check(head, &detail);
    if (status != 0)
        print_error("%s -> %d %s\n", head, status, detail);
    assert_int_equal(status, 0);
}

static void want_400(const char *head, const char *words)
{
    const char *detail;
    assert_int_equal(check(head, &detail), 400);
    assert_non_null(detail);
    assert_non_null(strstr(detail, words));
}

static void test_sound_heads(void **state)
{
    (void)state;
    want_ok("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    want_ok("POST /run HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
    want_ok("POST /run HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n{}"); /* the same value twice */
    want_ok("POST /run HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
    want_ok("GET / HTTP/1.0\r\n\r\n");
    /* what follows the head is not looked at */
    want_ok("GET / HTTP/1.1\r\n\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
}

static void test_smuggling_shapes(void **state)
{
    (void)state;
    want_400("POST /run HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 30\r\n\r\n", "Conflicting Content-Length");
    want_400("POST /run HTTP/1.1\r\nCONTENT-LENGTH: 2\r\ncontent-length: 3\r\n\r\n", "Conflicting Content-Length");
    want_400("POST /run HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding");
    want_400("POST /run HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n", "Transfer-Encoding");
    want_400("POST /run HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
             "Transfer-Encoding");
    want_400("GARBAGE\r\n\r\n", "Malformed");
    want_400("GET / HTTP/1.1\r\nHost: x\r\n", "Malformed"); /* not a complete head */
}

static void test_large_head_is_431(void **state)
{
    (void)state;
    size_t n = HTTP_MAX_HEAD + 100;
    char *head = malloc(n + 64);
    int len = sprintf(head, "GET / HTTP/1.1\r\nX-Big: ");
    memset(head + len, 'a', n);
    strcpy(head + len + n, "\r\n\r\n");
    const char *detail;
    assert_int_equal(check(head, &detail), 431);
    /* just under the bound is fine */
    strcpy(head + len + HTTP_MAX_HEAD - len - 4, "\r\n\r\n");
    assert_int_equal(check(head, &detail), 0);
    free(head);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sound_heads),
        cmocka_unit_test(test_smuggling_shapes),
        cmocka_unit_test(test_large_head_is_431),
    };
    return cmocka_run_group_tests_name("framing", tests, NULL, NULL);
}
