/* Unit tests for src/http/ws_frame.{h,c}: server frames of RFC 6455 §5.2, shared by reference, and the accept key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "http/ws_frame.h"

/* Writes the header for `len` into a poisoned buffer and checks it against `expected`, and that nothing after it
 * was touched. */
static void assert_header(int opcode, size_t len, const uint8_t *expected, size_t expected_len)
{
    uint8_t out[16];
    memset(out, 0xee, sizeof(out));
    size_t n = ws_frame_header(out, opcode, len);
    assert_int_equal(n, expected_len);
    assert_memory_equal(out, expected, expected_len);
    for (size_t i = expected_len; i < sizeof(out); i++)
        assert_int_equal(out[i], 0xee);
}

static void test_header_lengths(void **state)
{
    (void)state;
    assert_header(WS_OP_TEXT, 0, (const uint8_t[]){0x81, 0x00}, 2);
    assert_header(WS_OP_TEXT, 1, (const uint8_t[]){0x81, 0x01}, 2);
    assert_header(WS_OP_TEXT, 125, (const uint8_t[]){0x81, 0x7d}, 2);
    /* 126 .. 65535: 126 then a 16-bit big-endian length */
    assert_header(WS_OP_TEXT, 126, (const uint8_t[]){0x81, 0x7e, 0x00, 0x7e}, 4);
    assert_header(WS_OP_TEXT, 127, (const uint8_t[]){0x81, 0x7e, 0x00, 0x7f}, 4);
    assert_header(WS_OP_TEXT, 256, (const uint8_t[]){0x81, 0x7e, 0x01, 0x00}, 4);
    assert_header(WS_OP_TEXT, 65535, (const uint8_t[]){0x81, 0x7e, 0xff, 0xff}, 4);
    /* 65536 and up: 127 then a 64-bit big-endian length */
    assert_header(WS_OP_TEXT, 65536, (const uint8_t[]){0x81, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}, 10);
    assert_header(WS_OP_TEXT, 0x123456, (const uint8_t[]){0x81, 0x7f, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56}, 10);
#if SIZE_MAX > 0xffffffffu
    assert_header(WS_OP_TEXT, (size_t)4294967297ULL, (const uint8_t[]){0x81, 0x7f, 0, 0, 0, 0x01, 0, 0, 0, 0x01}, 10);
    assert_header(WS_OP_TEXT, (size_t)0x0102030405060708ULL,
                  (const uint8_t[]){0x81, 0x7f, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}, 10);
#endif
}

static void test_header_opcodes(void **state)
{
    (void)state;
    /* FIN set, RSV clear, the opcode in the low nibble; MASK clear in the second byte */
    assert_header(WS_OP_CLOSE, 2, (const uint8_t[]){0x88, 0x02}, 2);
    assert_header(WS_OP_PING, 0, (const uint8_t[]){0x89, 0x00}, 2);
    assert_header(WS_OP_PONG, 125, (const uint8_t[]){0x8a, 0x7d}, 2);
    assert_header(WS_OP_PONG, 126, (const uint8_t[]){0x8a, 0x7e, 0x00, 0x7e}, 4);
    assert_header(WS_OP_CLOSE, 65536, (const uint8_t[]){0x88, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}, 10);
}

/* A frame of `len` bytes of payload: header, then the payload, nothing else. */
static void check_new(int opcode, size_t len, size_t hlen, uint64_t seq)
{
    uint8_t *payload = malloc(len ? len : 1);
    assert_non_null(payload);
    for (size_t i = 0; i < len; i++)
        payload[i] = (uint8_t)(i * 7 + 3);
    ws_frame_t *f = ws_frame_new(opcode, payload, len, seq);
    assert_non_null(f);
    assert_int_equal(f->refs, 1);
    assert_int_equal(f->seq, seq);
    assert_int_equal(f->len, hlen + len);
    uint8_t header[10];
    assert_int_equal(ws_frame_header(header, opcode, len), hlen);
    assert_memory_equal(f->data, header, hlen);
    if (len)
        assert_memory_equal(f->data + hlen, payload, len);
    /* the payload was copied: changing the caller's buffer does not change the frame */
    if (len) {
        payload[0] ^= 0xff;
        assert_int_equal(f->data[hlen], 3);
    }
    free(payload);
    ws_frame_unref(f);
}

static void test_new_layout(void **state)
{
    (void)state;
    check_new(WS_OP_TEXT, 0, 2, 0);
    check_new(WS_OP_TEXT, 1, 2, 1);
    check_new(WS_OP_TEXT, 125, 2, 42);
    check_new(WS_OP_TEXT, 126, 4, 43);
    check_new(WS_OP_TEXT, 65535, 4, UINT64_MAX);
    check_new(WS_OP_TEXT, 65536, 10, 1ULL << 40);
    check_new(WS_OP_PING, 3, 2, 0);

    static const char text[] = "{\"type\":\"status\"}";
    ws_frame_t *f = ws_frame_new(WS_OP_TEXT, text, sizeof(text) - 1, 7);
    assert_int_equal(f->len, 2 + sizeof(text) - 1);
    assert_int_equal(f->data[0], 0x81);
    assert_int_equal(f->data[1], sizeof(text) - 1);
    assert_memory_equal(f->data + 2, text, sizeof(text) - 1);
    ws_frame_unref(f);

    /* an empty payload may come with a NULL pointer */
    f = ws_frame_new(WS_OP_CLOSE, NULL, 0, 0);
    assert_int_equal(f->len, 2);
    assert_int_equal(f->data[0], 0x88);
    assert_int_equal(f->data[1], 0x00);
    ws_frame_unref(f);
}

static void test_raw(void **state)
{
    (void)state;
    uint8_t bytes[] = {0x88, 0x02, 0x03, 0xe8}; /* close 1000, framed by wslay */
    ws_frame_t *f = ws_frame_raw(bytes, sizeof(bytes));
    assert_non_null(f);
    assert_int_equal(f->refs, 1);
    assert_int_equal(f->seq, 0);
    assert_int_equal(f->len, 4);
    assert_memory_equal(f->data, bytes, 4);
    bytes[0] = 0; /* a copy */
    assert_int_equal(f->data[0], 0x88);
    ws_frame_unref(f);

    f = ws_frame_raw(bytes, 0);
    assert_int_equal(f->len, 0);
    assert_int_equal(f->refs, 1);
    ws_frame_unref(f);
}

static void test_ref_counting(void **state)
{
    (void)state;
    ws_frame_t *f = ws_frame_new(WS_OP_TEXT, "abc", 3, 5);
    assert_ptr_equal(ws_frame_ref(f), f);
    assert_int_equal(f->refs, 2);
    assert_ptr_equal(ws_frame_ref(f), f);
    assert_int_equal(f->refs, 3);
    ws_frame_unref(f);
    assert_int_equal(f->refs, 2);
    /* still intact while referenced */
    assert_int_equal(f->len, 5);
    assert_memory_equal(f->data + 2, "abc", 3);
    ws_frame_unref(f);
    assert_int_equal(f->refs, 1);
    ws_frame_unref(f); /* freed here: ASan reports a leak otherwise, or a double free below */

    /* many holders (a ring and 100 client queues) */
    f = ws_frame_new(WS_OP_TEXT, "x", 1, 1);
    for (int i = 0; i < 100; i++)
        ws_frame_ref(f);
    assert_int_equal(f->refs, 101);
    for (int i = 0; i < 100; i++)
        ws_frame_unref(f);
    assert_int_equal(f->refs, 1);
    ws_frame_unref(f);
}

static void assert_accept(const char *key, size_t key_len, const char *expected)
{
    char out[29];
    memset(out, 'Z', sizeof(out));
    ws_accept_key(out, key, key_len);
    assert_int_equal(out[28], '\0');
    assert_string_equal(out, expected);
}

static void test_accept_key(void **state)
{
    (void)state;
    /* RFC 6455 §1.3 */
    assert_accept("dGhlIHNhbXBsZSBub25jZQ==", 24, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_accept("x3JJHMbDL1EzLkh9GBhXDw==", 24, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
    /* only key_len bytes are read */
    assert_accept("dGhlIHNhbXBsZSBub25jZQ==trailing", 24, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_accept("", 0, "Kfh9QIsMVZcl6xEPYxPHzW8SZ8w=");
    char *key = malloc(64);
    memset(key, 'A', 64);
    assert_accept(key, 64, "CNVCgqrOv9cq/hZteEmJXitx+cU="); /* exactly the size of a heap block: ASan checks */
    free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_lengths),
        cmocka_unit_test(test_header_opcodes),
        cmocka_unit_test(test_new_layout),
        cmocka_unit_test(test_raw),
        cmocka_unit_test(test_ref_counting),
        cmocka_unit_test(test_accept_key),
    };
    return cmocka_run_group_tests_name("ws_frame", tests, NULL, NULL);
}
