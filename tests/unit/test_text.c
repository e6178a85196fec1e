/* Unit tests for src/util/text.{h,c}: untrusted bytes made into valid, printable UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "util/text.h"

#define FFFD "\xef\xbf\xbd"

/* An independent strict UTF-8 check (RFC 3629): 1 when s[0..len) is valid. */
static int utf8_valid(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        size_t n;
        unsigned cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 2, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 3, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (i + n > len)
            return 0;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += n;
    }
    return 1;
}

/* Sanitizes `len` bytes of `src` with a roomy buffer and checks the result equals `expected`. */
static void check(const char *src, size_t len, const char *expected)
{
    char dst[256];
    memset(dst, '#', sizeof(dst));
    size_t n = text_sanitize_utf8(dst, sizeof(dst), src, len);
    assert_int_equal(n, strlen(expected));
    assert_int_equal(dst[n], '\0');
    assert_string_equal(dst, expected);
    assert_true(utf8_valid((const unsigned char *)dst, n));
}

#define CHECK(lit, expected) check(lit, sizeof(lit) - 1, expected)

static void test_valid_kept(void **state)
{
    (void)state;
    CHECK("", "");
    CHECK("Generating batch 3...", "Generating batch 3...");
    CHECK("caf\xc3\xa9", "caf\xc3\xa9");                         /* U+00E9 */
    CHECK("\xe2\x82\xac 5", "\xe2\x82\xac 5");                   /* U+20AC */
    CHECK("\xf0\x9f\x98\x80!", "\xf0\x9f\x98\x80!");             /* U+1F600 */
    CHECK("\xc2\xa0\xdf\xbf", "\xc2\xa0\xdf\xbf");               /* 2-byte: U+00A0, U+07FF */
    CHECK("\xe0\xa0\x80\xef\xbf\xbf", "\xe0\xa0\x80\xef\xbf\xbf"); /* 3-byte bounds U+0800, U+FFFF */
    CHECK("\xed\x9f\xbf\xee\x80\x80", "\xed\x9f\xbf\xee\x80\x80"); /* around the surrogates: U+D7FF, U+E000 */
    CHECK("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"); /* U+10000, U+10FFFF */
    CHECK(FFFD, FFFD); /* a real U+FFFD stays */
    CHECK("a\tb", "a\tb");
}

static void test_invalid_replaced(void **state)
{
    (void)state;
    CHECK("a\xff" "b", "a" FFFD "b");
    CHECK("a\xfe" "b", "a" FFFD "b");
    CHECK("\x80", FFFD);                            /* a lone continuation byte */
    CHECK("a\xc3" "b", "a" FFFD "b");               /* a lead byte without its continuation */
    CHECK("\xf5\x80\x80\x80", FFFD FFFD FFFD FFFD); /* beyond U+10FFFF by lead byte */
    CHECK("ok\xc3\xa9\xff\xc3\xa9", "ok\xc3\xa9" FFFD "\xc3\xa9"); /* good characters around a bad byte survive */
}

/* The output is valid, contains U+FFFD and no byte of the bad sequence survives as such. */
static void check_rejected(const char *bad, size_t len)
{
    char src[32], dst[64];
    assert_true(len + 2 <= sizeof(src));
    src[0] = '<';
    memcpy(src + 1, bad, len);
    src[len + 1] = '>';
    size_t n = text_sanitize_utf8(dst, sizeof(dst), src, len + 2);
    assert_true(utf8_valid((const unsigned char *)dst, n));
    assert_true(n >= 2 + 3);
    assert_int_equal(dst[0], '<');
    assert_int_equal(dst[n - 1], '>');
    /* between the markers: only U+FFFD, one or more */
    assert_int_equal((n - 2) % 3, 0);
    for (size_t i = 1; i + 1 < n; i += 3)
        assert_memory_equal(dst + i, FFFD, 3);
}

static void test_overlong_and_surrogates(void **state)
{
    (void)state;
    check_rejected("\xc0\x80", 2);             /* overlong NUL */
    check_rejected("\xc1\xbf", 2);             /* overlong U+007F */
    check_rejected("\xe0\x80\x80", 3);         /* overlong 3-byte */
    check_rejected("\xe0\x9f\xbf", 3);         /* overlong U+07FF */
    check_rejected("\xf0\x80\x80\x80", 4);     /* overlong 4-byte */
    check_rejected("\xf0\x8f\xbf\xbf", 4);     /* overlong U+FFFF */
    check_rejected("\xed\xa0\x80", 3);         /* U+D800 */
    check_rejected("\xed\xbf\xbf", 3);         /* U+DFFF */
    check_rejected("\xed\xa0\xbd\xed\xb8\x80", 6); /* a CESU-8 surrogate pair */
    check_rejected("\xf4\x90\x80\x80", 4);     /* U+110000 */
    check_rejected("\xf8\x88\x80\x80\x80", 5); /* 5-byte form */
    check_rejected("\xc0\xaf", 2);             /* overlong '/' */
    check_rejected("\xe2\x82", 2);             /* a 3-byte character cut short */
    check_rejected("\xf0\x9f\x98", 3);         /* a 4-byte character cut short */
}

static void test_controls(void **state)
{
    (void)state;
    CHECK("a\x01" "b\x1f" "c\x7f" "d", "a b c d");
    CHECK("bell\a", "bell ");
    CHECK("esc\x1b[31mred", "esc [31mred");
    CHECK("in\nside", "in side");
    CHECK("tab\there", "tab\there");
    check("nul\0byte", 8, "nul byte");
    /* a trailing '\r' is dropped, an inner one becomes a space */
    CHECK("line\r", "line");
    CHECK("a\rb", "a b");
    CHECK("\r", "");
    CHECK("two\r\r", "two ");
}

static void test_c1_controls(void **state)
{
    (void)state;
    /* U+0080..U+009F are control characters too (Unicode category Cc), e.g. U+009B, the 8-bit CSI */
    CHECK("a\xc2\x9b" "31mb", "a 31mb");
    CHECK("x\xc2\x85y", "x y"); /* NEL */
    CHECK("\xc2\x80\xc2\x9f", "  ");
    CHECK("\xc2\xa0", "\xc2\xa0"); /* U+00A0 is not a control character: kept */
}

static void test_capacity(void **state)
{
    (void)state;
    char dst[16];
    /* ASCII: cap - 1 bytes and the NUL */
    memset(dst, '#', sizeof(dst));
    assert_int_equal(text_sanitize_utf8(dst, 6, "abcdefgh", 8), 5);
    assert_string_equal(dst, "abcde");
    assert_int_equal(dst[6], '#'); /* nothing written past cap */

    /* a 2-byte character that does not fit whole is left out */
    memset(dst, '#', sizeof(dst));
    assert_int_equal(text_sanitize_utf8(dst, 5, "abc\xc3\xa9", 5), 3);
    assert_string_equal(dst, "abc");
    assert_int_equal(text_sanitize_utf8(dst, 6, "abc\xc3\xa9", 5), 5);
    assert_string_equal(dst, "abc\xc3\xa9");

    /* a 4-byte character */
    memset(dst, '#', sizeof(dst));
    assert_int_equal(text_sanitize_utf8(dst, 4, "\xf0\x9f\x98\x80", 4), 0);
    assert_string_equal(dst, "");
    assert_int_equal(text_sanitize_utf8(dst, 5, "\xf0\x9f\x98\x80", 4), 4);
    assert_string_equal(dst, "\xf0\x9f\x98\x80");
    assert_int_equal(text_sanitize_utf8(dst, 5, "a\xf0\x9f\x98\x80", 5), 1);
    assert_string_equal(dst, "a");
    assert_int_equal(text_sanitize_utf8(dst, 6, "a\xf0\x9f\x98\x80", 5), 5);
    assert_string_equal(dst, "a\xf0\x9f\x98\x80");

    /* a replacement character needs 3 bytes too */
    assert_int_equal(text_sanitize_utf8(dst, 4, "ab\xff", 3), 2);
    assert_string_equal(dst, "ab");
    assert_int_equal(text_sanitize_utf8(dst, 4, "\xff", 1), 3);
    assert_string_equal(dst, FFFD);

    /* cap 1: just the NUL; cap 0: nothing written at all */
    dst[0] = '#';
    assert_int_equal(text_sanitize_utf8(dst, 1, "abc", 3), 0);
    assert_int_equal(dst[0], '\0');
    dst[0] = '#';
    assert_int_equal(text_sanitize_utf8(dst, 0, "abc", 3), 0);
    assert_int_equal(dst[0], '#');

    /* a long mixed input into a small buffer always ends on a character boundary */
    static const char mixed[] = "\xc3\xa9" "a\xe2\x82\xac\xff\xf0\x9f\x98\x80" "b\x01\xc3\xa9\xe2\x82\xac";
    for (size_t cap = 1; cap <= 40; cap++) {
        char out[48];
        size_t n = text_sanitize_utf8(out, cap, mixed, sizeof(mixed) - 1);
        assert_true(n < cap);
        assert_int_equal(out[n], '\0');
        assert_true(utf8_valid((const unsigned char *)out, n));
    }
}

/* Seconds reach pipeline-task as plain decimals: no exponent, no trailing zeros, whatever the value. */
static void test_format_seconds(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *want;
    } cases[] = {{0, "0"},         {0.00001, "0.00001"}, {1e-9, "0.000000001"}, {1e-10, "0"}, {0.5, "0.5"},
                 {3, "3"},         {2.25, "2.25"},       {3600, "3600"},         {59.999999999, "59.999999999"},
                 {0.1, "0.1"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[64];
        text_format_seconds(buf, sizeof(buf), cases[i].v);
        assert_string_equal(buf, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_kept),
        cmocka_unit_test(test_invalid_replaced),
        cmocka_unit_test(test_overlong_and_surrogates),
        cmocka_unit_test(test_controls),
        cmocka_unit_test(test_c1_controls),
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_format_seconds),
    };
    return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
