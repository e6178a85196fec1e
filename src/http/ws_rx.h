/*
 * Where the client's byte stream stands between WebSocket frames (RFC 6455 §5.2), read alongside wslay: whether a
 * frame is half received (a header without its payload: the stall timer runs), and control frames that the RFC
 * forbids (fragmented, or a payload over 125 bytes), which get close code 1002.
 */
#ifndef HTTP_WS_RX_H
#define HTTP_WS_RX_H

#include <stddef.h>
#include <stdint.h>

typedef struct ws_rx {
    uint8_t head[14];   /* the header being read */
    size_t head_len;    /* bytes of it so far */
    uint64_t remaining; /* payload bytes of the current frame still to come */
    int in_message;     /* a data frame without FIN came, and the continuation with FIN has not */
} ws_rx_t;

typedef enum { WS_RX_OK, WS_RX_BAD_CONTROL } ws_rx_result_t;

/** Follows `len` more bytes. WS_RX_BAD_CONTROL at the first invalid control frame header. */
ws_rx_result_t ws_rx_feed(ws_rx_t *rx, const uint8_t *bytes, size_t len);

/** 1 while a frame has started and is not complete. */
static inline int ws_rx_partial(const ws_rx_t *rx)
{
    return rx->head_len > 0 || rx->remaining > 0;
}

/** 1 while nothing is under way: no frame half received, no fragmented message begun (a reader of the stream
 *  may then forget everything it knew of it). */
static inline int ws_rx_idle(const ws_rx_t *rx)
{
    return !ws_rx_partial(rx) && !rx->in_message;
}

#endif
