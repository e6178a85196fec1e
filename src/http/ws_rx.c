#include "http/ws_rx.h"

/* The header's full size once its first two bytes are known. */
static size_t head_size(const uint8_t *h)
{
    size_t n = 2 + ((h[1] & 0x80) ? 4 : 0);
    uint8_t len7 = h[1] & 0x7f;
    return n + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
}

static uint64_t payload_len(const uint8_t *h)
{
    uint8_t len7 = h[1] & 0x7f;
    if (len7 < 126)
        return len7;
    uint64_t v = 0;
    int bytes = len7 == 126 ? 2 : 8;
    for (int i = 0; i < bytes; i++)
        v = (v << 8) | h[2 + i];
    return v;
}

ws_rx_result_t ws_rx_feed(ws_rx_t *rx, const uint8_t *bytes, size_t len)
{
    while (len > 0) {
        if (rx->remaining > 0) {
            uint64_t take = rx->remaining < len ? rx->remaining : len;
            rx->remaining -= take;
            bytes += take;
            len -= (size_t)take;
            continue;
        }
        rx->head[rx->head_len++] = *bytes++;
        len--;
        if (rx->head_len < 2 || rx->head_len < head_size(rx->head))
            continue;
        uint8_t opcode = rx->head[0] & 0x0f, fin = rx->head[0] & 0x80;
        uint64_t n = payload_len(rx->head);
        if ((opcode & 0x08) && (!fin || n > 125))
            return WS_RX_BAD_CONTROL;
        if (opcode == 0x1 || opcode == 0x2 || opcode == 0x0) /* control frames may come between fragments */
            rx->in_message = !fin;
        rx->remaining = n;
        rx->head_len = 0;
    }
    return WS_RX_OK;
}
