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

/* ---- frames in a shared buffer (ws_frame_build_shared) ------------------------------------------------------ */

/* A payload of `len` bytes, pattern `tag`, handed to the sink in pieces of 7; fails when `len` is SIZE_MAX. */
typedef struct payload_spec {
    size_t len;
    uint8_t tag;
} payload_spec_t;

static uint8_t pattern(const payload_spec_t *p, size_t i)
{
    return (uint8_t)(i * 13 + p->tag);
}

static int produce(const void *src, ws_frame_sink_fn sink, void *ctx)
{
    const payload_spec_t *p = src;
    if (p->len == SIZE_MAX) { /* some bytes, then a failure */
        sink("partial", 7, ctx);
        return -1;
    }
    char piece[7];
    for (size_t i = 0; i < p->len; i += sizeof(piece)) {
        size_t n = p->len - i < sizeof(piece) ? p->len - i : sizeof(piece);
        for (size_t k = 0; k < n; k++)
            piece[k] = (char)pattern(p, i + k);
        if (sink(piece, n, ctx) != 0)
            return -1;
    }
    return 0;
}

/* `f` holds exactly the frame ws_frame_new makes of the same payload. */
static void assert_same_as_new(const ws_frame_t *f, const payload_spec_t *p)
{
    uint8_t *bytes = malloc(p->len ? p->len : 1);
    assert_non_null(bytes);
    for (size_t i = 0; i < p->len; i++)
        bytes[i] = pattern(p, i);
    ws_frame_t *ref = ws_frame_new(WS_OP_TEXT, bytes, p->len, 0);
    assert_int_equal(f->len, ref->len);
    assert_memory_equal(f->data, ref->data, ref->len);
    ws_frame_unref(ref);
    free(bytes);
}

static void test_shared_frames_are_adjacent(void **state)
{
    (void)state;
    ws_frame_buf_t *buf = NULL;
    ws_frame_t *f[16];
    payload_spec_t p[16];
    for (int i = 0; i < 16; i++) {
        p[i] = (payload_spec_t){.len = (size_t)(100 + i * 10), .tag = (uint8_t)i}; /* headers of 2 and of 4 bytes */
        f[i] = ws_frame_build_shared(&buf, WS_OP_TEXT, produce, &p[i], i == 0 ? 0 : 200, (uint64_t)i + 1);
        assert_non_null(f[i]);
        assert_ptr_equal(f[i]->buf, buf);
        assert_int_equal(f[i]->seq, i + 1);
        if (i > 0) /* one loop turn's frames lie back to back: one piece for a client that has them all */
            assert_ptr_equal(f[i]->data, f[i - 1]->data + f[i - 1]->len);
    }
    assert_int_equal(buf->refs, 17); /* each frame, and the owner */
    for (int i = 0; i < 16; i++)
        assert_same_as_new(f[i], &p[i]);

    /* a failed build takes nothing: the next frame still follows the last one */
    payload_spec_t bad = {.len = SIZE_MAX};
    assert_null(ws_frame_build_shared(&buf, WS_OP_TEXT, produce, &bad, 100, 99));
    assert_int_equal(buf->refs, 17);
    payload_spec_t next = {.len = 50, .tag = 0x55};
    ws_frame_t *g = ws_frame_build_shared(&buf, WS_OP_TEXT, produce, &next, 50, 17);
    assert_ptr_equal(g->data, f[15]->data + f[15]->len);
    assert_same_as_new(g, &next);
    ws_frame_unref(g);
    for (int i = 0; i < 16; i++)
        ws_frame_unref(f[i]);
    assert_int_equal(buf->refs, 1);
    ws_frame_buf_release(&buf);
    assert_null(buf);
}

/* A slow client keeps a frame (and so its buffer) after the owner has moved on to newer buffers and every other
 * holder let go: the bytes stay intact (ASan reports a use after free otherwise) and go with its last reference. */
static void test_slow_holder_keeps_its_buffer(void **state)
{
    (void)state;
    ws_frame_buf_t *buf = NULL;
    payload_spec_t p = {.len = 300, .tag = 9};
    ws_frame_t *kept = ws_frame_build_shared(&buf, WS_OP_TEXT, produce, &p, 300, 1);
    ws_frame_t *slow = ws_frame_ref(kept); /* the slow client's queue */
    ws_frame_buf_t *first = buf;
    int moved = 0;
    for (uint64_t seq = 2; seq < 1000; seq++) { /* fast clients write and drop theirs; the buffer fills up */
        ws_frame_t *f = ws_frame_build_shared(&buf, WS_OP_TEXT, produce, &p, 300, seq);
        assert_same_as_new(f, &p);
        moved |= buf != first;
        ws_frame_unref(f);
    }
    assert_true(moved);
    ws_frame_unref(kept); /* the ring lets go too */
    assert_int_equal(first->refs, 1);
    assert_int_equal(slow->refs, 1);
    assert_same_as_new(slow, &p);
    ws_frame_buf_release(&buf);
    ws_frame_unref(slow);
}

/* A frame larger than what is left (its hint too small) moves to a new buffer mid-build, what was written before it
 * staying where it is; a frame larger than a whole buffer gets a buffer of its own size, with a 10-byte header. */
static void test_shared_overflow_and_large_frames(void **state)
{
    (void)state;
    ws_frame_buf_t *buf = NULL;
    payload_spec_t small = {.len = 1000, .tag = 1};
    ws_frame_t *a = ws_frame_build_shared(&buf, WS_OP_TEXT, produce, &small, 1000, 1);
    ws_frame_buf_t *first = buf;
    while (buf->cap - buf->used > 2000) {
        ws_frame_t *f = ws_frame_build_shared(&buf, WS_OP_TEXT, produce, &small, 1000, 2);
        ws_frame_unref(f);
    }
    payload_spec_t mid = {.len = 5000, .tag = 2};
    ws_frame_t *b = ws_frame_build_shared(&buf, WS_OP_TEXT, produce, &mid, 10, 3); /* the hint lies */
    assert_ptr_not_equal(buf, first);
    assert_ptr_equal(b->buf, buf);
    assert_ptr_equal(b->data, buf->data);
    assert_same_as_new(b, &mid);
    assert_same_as_new(a, &small);
    size_t sizes[] = {125, 126, 65535, 65536, 200000, 3};
    ws_frame_t *prev = b;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        payload_spec_t big = {.len = sizes[i], .tag = (uint8_t)(i + 3)};
        ws_frame_t *f = ws_frame_build_shared(&buf, WS_OP_TEXT, produce, &big, 1000, 10 + i);
        assert_same_as_new(f, &big);
        assert_same_as_new(prev, i == 0 ? &mid : &(payload_spec_t){.len = sizes[i - 1], .tag = (uint8_t)(i + 2)});
        ws_frame_unref(prev);
        prev = f;
    }
    ws_frame_unref(prev);
    ws_frame_unref(a);
    ws_frame_buf_release(&buf);
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
        cmocka_unit_test(test_shared_frames_are_adjacent),
        cmocka_unit_test(test_slow_holder_keeps_its_buffer),
        cmocka_unit_test(test_shared_overflow_and_large_frames),
        cmocka_unit_test(test_accept_key),
    };
    return cmocka_run_group_tests_name("ws_frame", tests, NULL, NULL);
}
