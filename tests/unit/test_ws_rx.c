/* Unit tests for src/http/ws_rx.{h,c}: frame boundaries of a client's byte stream, bad control frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "http/ws_rx.h"

/* A masked client frame: opcode, fin, payload length (extended forms as needed); the payload is zeros. */
static size_t frame(uint8_t *out, uint8_t opcode, int fin, uint64_t n)
{
    size_t k = 0;
    out[k++] = (uint8_t)((fin ? 0x80 : 0) | opcode);
    if (n < 126) {
        out[k++] = (uint8_t)(0x80 | n);
    } else if (n < 65536) {
        out[k++] = 0x80 | 126;
        out[k++] = (uint8_t)(n >> 8), out[k++] = (uint8_t)n;
    } else {
        out[k++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            out[k++] = (uint8_t)(n >> (8 * i));
    }
    memset(out + k, 0, 4 + (size_t)n);
    return k + 4 + (size_t)n;
}

static void test_whole_and_split_frames(void **state)
{
    (void)state;
    static uint8_t buf[200000];
    size_t n = frame(buf, 0x1, 1, 5);
    n += frame(buf + n, 0x9, 1, 125);
    n += frame(buf + n, 0x2, 1, 70000);
    ws_rx_t rx = {0};
    assert_int_equal(ws_rx_feed(&rx, buf, n), WS_RX_OK);
    assert_false(ws_rx_partial(&rx));
    /* byte by byte: partial everywhere but at the boundaries */
    memset(&rx, 0, sizeof(rx));
    size_t boundaries = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ws_rx_feed(&rx, buf + i, 1), WS_RX_OK);
        boundaries += !ws_rx_partial(&rx);
    }
    assert_int_equal(boundaries, 3);
    /* a header alone is a partial frame */
    memset(&rx, 0, sizeof(rx));
    assert_int_equal(ws_rx_feed(&rx, buf, 2), WS_RX_OK);
    assert_true(ws_rx_partial(&rx));
}

/* A fragmented message: not idle from its first frame to the continuation with FIN, pings between fragments
 * included; whole messages leave it idle. */
static void test_fragmented_message(void **state)
{
    (void)state;
    static uint8_t buf[4096];
    ws_rx_t rx = {0};
    size_t n = frame(buf, 0x1, 1, 3);
    assert_int_equal(ws_rx_feed(&rx, buf, n), WS_RX_OK);
    assert_true(ws_rx_idle(&rx));
    n = frame(buf, 0x1, 0, 3); /* text, no FIN */
    assert_int_equal(ws_rx_feed(&rx, buf, n), WS_RX_OK);
    assert_false(ws_rx_partial(&rx));
    assert_false(ws_rx_idle(&rx));
    n = frame(buf, 0x9, 1, 4); /* a ping between fragments */
    assert_int_equal(ws_rx_feed(&rx, buf, n), WS_RX_OK);
    assert_false(ws_rx_idle(&rx));
    n = frame(buf, 0x0, 0, 3); /* a continuation, no FIN */
    assert_int_equal(ws_rx_feed(&rx, buf, n), WS_RX_OK);
    assert_false(ws_rx_idle(&rx));
    n = frame(buf, 0x0, 1, 3); /* the last one */
    assert_int_equal(ws_rx_feed(&rx, buf, n - 1), WS_RX_OK);
    assert_false(ws_rx_idle(&rx)); /* its last byte is still to come */
    assert_int_equal(ws_rx_feed(&rx, buf + n - 1, 1), WS_RX_OK);
    assert_true(ws_rx_idle(&rx));
    n = frame(buf, 0x2, 0, 0); /* binary, no FIN */
    assert_int_equal(ws_rx_feed(&rx, buf, n), WS_RX_OK);
    assert_false(ws_rx_idle(&rx));
}

static void test_bad_control_frames(void **state)
{
    (void)state;
    static uint8_t buf[512];
    const struct {
        uint8_t opcode;
        int fin;
        uint64_t len;
        ws_rx_result_t want;
    } cases[] = {
        {0x9, 1, 125, WS_RX_OK},          {0x9, 1, 126, WS_RX_BAD_CONTROL}, {0xA, 0, 1, WS_RX_BAD_CONTROL},
        {0x8, 1, 300, WS_RX_BAD_CONTROL}, {0x8, 1, 2, WS_RX_OK},            {0x1, 0, 300, WS_RX_OK},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ws_rx_t rx = {0};
        size_t n = frame(buf, cases[i].opcode, cases[i].fin, cases[i].len);
        assert_int_equal(ws_rx_feed(&rx, buf, n), cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_and_split_frames),
        cmocka_unit_test(test_fragmented_message),
        cmocka_unit_test(test_bad_control_frames),
    };
    return cmocka_run_group_tests_name("ws_rx", tests, NULL, NULL);
}
