/*
 * Server-to-client WebSocket frames (RFC 6455 §5.2, unmasked), serialised once and shared: a broadcast frame is
 * referenced by the replay ring and by every client queue that holds it, never copied per client. Broadcasts are
 * written back to back into shared buffers, so that consecutive ones can go out as one piece of memory.
 */
#ifndef HTTP_WS_FRAME_H
#define HTTP_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

enum { WS_OP_TEXT = 0x1, WS_OP_CLOSE = 0x8, WS_OP_PING = 0x9, WS_OP_PONG = 0xa };

/*
 * A buffer that consecutive broadcasts are written into back to back, so that one loop turn's frames lie in one
 * piece of memory and a client with nothing else queued gets them as one contiguous write. Each frame in it holds
 * a reference, and so does its owner (the hub) while it still writes into it.
 */
typedef struct ws_frame_buf {
    uint32_t refs;
    size_t cap;  /* bytes of data */
    size_t used; /* bytes of data taken by frames */
    uint8_t data[];
} ws_frame_buf_t;

/* The size of a shared buffer: about 200 frames of a typical event; a larger frame gets a buffer of its own size */
#define WS_FRAME_BUF_BYTES (64 * 1024 - 64)

typedef struct ws_frame {
    uint32_t refs;
    uint64_t seq;        /* the broadcast's seq; 0 for frames that are not broadcasts */
    size_t len;          /* bytes at data: header and payload */
    uint8_t *data;       /* right behind this struct, or inside buf */
    ws_frame_buf_t *buf; /* the shared buffer holding data (referenced), or NULL */
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
/**
 * As ws_frame_build, but the frame is written into `*buf` right behind its last frame (a new shared buffer replaces
 * `*buf` when it is NULL or full; the caller owns one reference to `*buf`, see ws_frame_buf_release). Frames built
 * one after the other into the same buffer are adjacent in memory.
 */
ws_frame_t *ws_frame_build_shared(ws_frame_buf_t **buf, int opcode, ws_frame_producer_fn produce, const void *src,
                                  size_t size_hint, uint64_t seq);
/** Drops the owner's reference to a shared buffer (frames in it keep theirs) and sets `*buf` to NULL. */
void ws_frame_buf_release(ws_frame_buf_t **buf);
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
