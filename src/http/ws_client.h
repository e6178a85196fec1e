/*
 * One WebSocket client of the live stream, on its own libuv TCP handle (taken over from h2o after the
 * upgrade). Frames to send are shared references in a queue bounded in bytes; everything queued goes out in as
 * few writes as possible (one writev per flush). Client frames are read with wslay: pings are answered, close
 * is honoured, messages are ignored.
 */
#ifndef HTTP_WS_CLIENT_H
#define HTTP_WS_CLIENT_H

#include <stdint.h>
#include <uv.h>
#include <wslay/wslay.h>

#include "http/ws_frame.h"
#include "http/ws_rx.h"

typedef struct ws_hub ws_hub_t;

typedef struct ws_client {
    uv_tcp_t tcp;
    uv_timer_t close_timer; /* bounds the close handshake */
    uv_write_t wreq;
    ws_hub_t *hub;
    struct ws_client *prev, *next;   /* every client of the hub */
    struct ws_client *dprev, *dnext; /* the hub's list of clients with frames to flush */
    wslay_event_context_ptr wslay;
    const uint8_t *rx; /* bytes read and not yet handed to wslay */
    size_t rx_len;
    ws_frame_t **queue; /* a ring of frames to send, oldest at head; cap is 0 or a power of two */
    uint32_t cap, head, count;
    size_t head_off;       /* bytes of the head frame already written */
    size_t queued_bytes;   /* bytes queued and not yet written */
    size_t inflight_bytes; /* bytes handed to the uv_write under way */
    int open_handles;
    ws_rx_t frames;    /* where the client's bytes stand between frames */
    uint8_t client[16]; /* client_addr_key() of the client (behind trusted proxies too), for the per-address cap */
    struct ws_snapshot *snapshot; /* the status snapshot being fetched; nothing is written before it */
    unsigned dirty : 1, writing : 1, closing : 1, closed : 1, counted : 1, ping_outstanding : 1,
        read_paused : 1; /* over the byte bound: nothing is read until the backlog drains */
} ws_client_t;

/** Takes over `fd` (a connection whose upgrade was answered); `pending` are bytes already read from it. */
ws_client_t *ws_client_start(ws_hub_t *hub, uv_loop_t *loop, int fd, const void *pending, size_t pending_len);

/** Queues a frame (takes a reference) unless the client is closing. Past the hub's byte bound the client is
 *  dropped with 1008 instead. */
void ws_client_send(ws_client_t *c, ws_frame_t *f);

/** Puts frames (taking references) before everything queued; only while nothing has been written (a snapshot). */
void ws_client_send_first(ws_client_t *c, ws_frame_t **frames, int count);

/** Writes what is queued: one writev, then (if the socket is full) one uv_write for the rest. */
void ws_client_flush(ws_client_t *c);

/* How long a close handshake may take before the connection is cut */
#define WS_CLOSE_REPLY_MS    3000  /* the client closed: our reply */
#define WS_CLOSE_SLOW_MS     15000 /* a slow client: it may still read its backlog and the 1008 */
#define WS_CLOSE_REJECT_MS   3000  /* 1013 */
#define WS_CLOSE_SHUTDOWN_MS 1000
#define WS_FRAME_STALL_MS    5000 /* a frame begun and not finished within this is a stalled (or hostile) peer */

/** Starts the close handshake with `code`: queued frames not yet on the wire are dropped; after `timeout_ms`
 *  the connection is cut whatever the peer does. */
void ws_client_close(ws_client_t *c, uint16_t code, const char *reason, uint64_t timeout_ms);

/** Closes the connection now, without a handshake (a dead or misbehaving peer). */
void ws_client_abort(ws_client_t *c);

#endif
