/*
 * Server-to-client WebSocket frames (RFC 6455 §5.2, unmasked), serialised once and shared: a broadcast frame is
 * referenced by the replay ring and by every client queue that holds it, never copied per client.
 */
#ifndef HTTP_WS_FRAME_H
#define HTTP_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

enum { WS_OP_TEXT = 0x1, WS_OP_CLOSE = 0x8, WS_OP_PING = 0x9, WS_OP_PONG = 0xa };

typedef struct ws_frame {
    uint32_t refs;
    uint64_t seq; /* the broadcast's seq; 0 for frames that are not broadcasts */
    size_t len;   /* bytes in data: header and payload */
    uint8_t data[];
} ws_frame_t;

/** A final frame of `opcode` carrying `payload`, with one reference. */
ws_frame_t *ws_frame_new(int opcode, const void *payload, size_t len, uint64_t seq);
/** Receives the next `len` bytes of a payload being built; returns 0, or -1 to stop. */
typedef int (*ws_frame_sink_fn)(const char *bytes, size_t len, void *ctx);
/** Produces a payload through `sink`; returns 0, or -1 when it cannot. */
typedef int (*ws_frame_producer_fn)(const void *src, ws_frame_sink_fn sink, void *sink_ctx);

/**
 * A final frame of `opcode` whose payload `produce` writes straight into the frame, behind room left for the
 * header: one allocation (when `size_hint` is at least the payload's size) and no copy of the payload. NULL when
 * `produce` fails.
 */
ws_frame_t *ws_frame_build(int opcode, ws_frame_producer_fn produce, const void *src, size_t size_hint, uint64_t seq);
/** A frame made of bytes that are already framed (wslay's control replies), with one reference. */
ws_frame_t *ws_frame_raw(const void *bytes, size_t len);

static inline ws_frame_t *ws_frame_ref(ws_frame_t *f)
{
    f->refs++;
    return f;
}
void ws_frame_unref(ws_frame_t *f);

/** Writes the header of a final unmasked frame into `out` (at least 10 bytes); returns its length. */
size_t ws_frame_header(uint8_t *out, int opcode, size_t payload_len);

/** The Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key (RFC 6455 §4.2.2): 28 characters + NUL. */
void ws_accept_key(char out[29], const char *client_key, size_t key_len);

#endif
