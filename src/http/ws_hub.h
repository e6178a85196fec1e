/*
 * The live stream hub (/api/v1/pipeline/stream): every event of the orchestrator goes out once serialised, as a
 * frame shared by every client's queue, flushed once per loop iteration. The hub keeps the last broadcasts in a
 * bounded ring so that a client that reconnects with ?since=<seq> misses nothing; sends a keep-alive (and a
 * ping) every WS_KEEPALIVE_SECONDS; drops clients that stop reading (1008) or answering (no pong).
 */
#ifndef HTTP_WS_HUB_H
#define HTTP_WS_HUB_H

#include <h2o.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "model/events.h"
#include "core/orchestrator.h"

#define WS_RING_MAX_FRAMES 16384
#define WS_RING_MAX_BYTES  (32u * 1024 * 1024)

typedef struct ws_hub ws_hub_t;

typedef struct ws_hub_stats {
    uint64_t broadcasts;   /* events sent to the stream */
    uint64_t deliveries;   /* frames written to clients */
    uint64_t slow_dropped; /* clients closed with 1008 */
    uint64_t dead_dropped; /* clients that stopped answering pings */
    uint64_t rejected;     /* clients closed with 1013 (too many) */
} ws_hub_stats_t;

/** Subscribes to `events`. */
ws_hub_t *ws_hub_create(uv_loop_t *loop, const config_t *cfg, events_t *events, orch_t *orch);

/**
 * Upgrades `req` (a valid handshake with `client_key`) and adds the client. `since` is the ?since= value, or -1.
 * Past MAX_WEBSOCKET_CONNECTIONS the client is closed with 1013, and so is one past
 * MAX_WEBSOCKET_CONNECTIONS_PER_IP from the same client (client_addr_key(): behind TRUSTED_PROXIES the forwarded
 * client, an IPv6 client by its /64), as the rate limiter counts clients.
 */
void ws_hub_accept(ws_hub_t *hub, h2o_req_t *req, const char *client_key, int64_t since);

/** Clients connected and receiving the stream. */
int ws_hub_client_count(const ws_hub_t *hub);
const ws_hub_stats_t *ws_hub_stats(const ws_hub_t *hub);

/** Closes every client with 1001 and refuses new ones; `cb` fires once all are gone (maybe before returning). */
void ws_hub_shutdown(ws_hub_t *hub, void (*cb)(void *data), void *data);
/** Frees the hub (after its shutdown callback). */
void ws_hub_destroy(ws_hub_t *hub);

#endif
