#include "http/ws_hub.h"

#include <h2o/http1.h>
#include <h2o/websocket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/client_addr.h"
#include "http/ws_client.h"
#include "http/ws_hub_internal.h"
#include "model/event_wire.h"
#include "util/clock.h"
#include "util/log.h"

struct ws_hub {
    uv_loop_t *loop;
    const config_t *cfg;
    events_t *events;
    orch_t *orch;
    ws_client_t *clients;   /* every client object, live or closing */
    int objects;            /* client objects not yet freed */
    int connected;          /* clients receiving the stream */
    ws_client_t *dirty;     /* clients with frames to flush */
    uv_idle_t flusher;      /* flushes before the next poll: frames queued by timers and idle callbacks */
    uv_check_t flush_check; /* flushes right after the poll: frames queued by I/O callbacks, and by idle callbacks
                             * (an idle handle started in the idle phase would wait a whole iteration) */
    uv_timer_t keepalive;
    ws_frame_buf_t *frames; /* broadcasts are written here back to back (each loop turn's in one piece) */
    ws_frame_t **ring;      /* the last broadcasts, oldest at ring_head */
    uint32_t ring_head, ring_count;
    size_t ring_bytes;
    uint64_t last_seq;
    size_t size_hint[EVENT_TYPE_COUNT]; /* the last frame of each type: the next one is likely alike */
    ws_hub_stats_t stats;
    int shutting_down, destroying;
    void (*shutdown_cb)(void *);
    void *shutdown_data;
    int open_handles;
};

/* The snapshot is asked of the orchestrator (which may read the shared store); the client writes nothing until it
 * is there, and broadcasts that arrive meanwhile queue up behind it. */
typedef struct ws_snapshot {
    orch_waiter_t waiter;
    ws_hub_t *hub;
    ws_client_t *client;
    uint64_t seq;
    int resync;
} ws_snapshot_t;

/* ---- what clients tell the hub ------------------------------------------------------------------------------- */

void ws_hub__client_joined(ws_hub_t *hub, ws_client_t *c)
{
    c->next = hub->clients;
    if (c->next)
        c->next->prev = c;
    hub->clients = c;
    hub->objects++;
}

void ws_hub__client_leaving(ws_hub_t *hub, ws_client_t *c)
{
    if (c->counted) {
        c->counted = 0;
        hub->connected--;
    }
}

static void maybe_shutdown_done(ws_hub_t *hub)
{
    if (hub->shutting_down && hub->objects == 0 && hub->shutdown_cb) {
        void (*cb)(void *) = hub->shutdown_cb;
        hub->shutdown_cb = NULL;
        cb(hub->shutdown_data);
    }
}

/* After ws_hub_destroy: the hub goes once its handles and its last clients are closed. */
static void maybe_free(ws_hub_t *hub)
{
    if (!hub->destroying || hub->open_handles > 0 || hub->objects > 0)
        return;
    while (hub->ring_count > 0) {
        ws_frame_unref(hub->ring[hub->ring_head]);
        hub->ring_head = (hub->ring_head + 1) % WS_RING_MAX_FRAMES;
        hub->ring_count--;
    }
    ws_frame_buf_release(&hub->frames);
    free(hub->ring);
    free(hub);
}

void ws_hub__client_gone(ws_hub_t *hub, ws_client_t *c)
{
    if (c->snapshot) { /* it left before its snapshot came */
        orch_waiter_forget(&c->snapshot->waiter);
        free(c->snapshot);
        c->snapshot = NULL;
    }
    ws_hub__client_leaving(hub, c);
    if (c->prev)
        c->prev->next = c->next;
    else
        hub->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->dirty) {
        if (c->dprev)
            c->dprev->dnext = c->dnext;
        else
            hub->dirty = c->dnext;
        if (c->dnext)
            c->dnext->dprev = c->dprev;
    }
    hub->objects--;
    maybe_shutdown_done(hub);
    maybe_free(hub);
}

/* Once per loop iteration, at the first of the idle or the check phase that comes: every client with queued frames
 * gets one write. (The idle handle also keeps the poll from blocking while frames wait.) */
static void flush_dirty(ws_hub_t *hub)
{
    uv_idle_stop(&hub->flusher);
    uv_check_stop(&hub->flush_check);
    while (hub->dirty) {
        ws_client_t *c = hub->dirty;
        hub->dirty = c->dnext;
        if (hub->dirty)
            hub->dirty->dprev = NULL;
        c->dirty = 0;
        ws_client_flush(c);
    }
}

static void on_flush_idle(uv_idle_t *idle)
{
    flush_dirty(idle->data);
}

static void on_flush_check(uv_check_t *check)
{
    flush_dirty(check->data);
}

void ws_hub__client_dirty(ws_hub_t *hub, ws_client_t *c)
{
    if (c->dirty)
        return;
    c->dirty = 1;
    c->dprev = NULL;
    c->dnext = hub->dirty;
    if (c->dnext)
        c->dnext->dprev = c;
    hub->dirty = c;
    if (!uv_is_active((uv_handle_t *)&hub->flusher)) {
        uv_idle_start(&hub->flusher, on_flush_idle);
        uv_check_start(&hub->flush_check, on_flush_check);
    }
}

void ws_hub__delivered(ws_hub_t *hub)
{
    hub->stats.deliveries++;
}
void ws_hub__slow_client(ws_hub_t *hub)
{
    hub->stats.slow_dropped++;
}
size_t ws_hub__queue_limit(const ws_hub_t *hub)
{
    return (size_t)hub->cfg->ws_send_queue_bytes;
}

/* ---- the replay ring ------------------------------------------------------------------------------------------- */

static void ring_push(ws_hub_t *hub, ws_frame_t *f)
{
    while (hub->ring_count > 0 &&
           (hub->ring_count == WS_RING_MAX_FRAMES || hub->ring_bytes + f->len > WS_RING_MAX_BYTES)) {
        ws_frame_t *old = hub->ring[hub->ring_head];
        hub->ring_bytes -= old->len;
        ws_frame_unref(old);
        hub->ring_head = (hub->ring_head + 1) % WS_RING_MAX_FRAMES;
        hub->ring_count--;
    }
    hub->ring[(hub->ring_head + hub->ring_count++) % WS_RING_MAX_FRAMES] = f;
    hub->ring_bytes += f->len;
}

/* ---- broadcasting ---------------------------------------------------------------------------------------------- */

static int produce_event(const void *src, ws_frame_sink_fn sink, void *sink_ctx)
{
    return event_wire_write(src, sink, sink_ctx);
}

/* The event's envelope serialised once, straight into the frame every client shares. A broadcast is written into
 * the hub's shared buffer right behind the one before it, so that a client that has every frame of a loop turn
 * gets them in one contiguous piece; a private message is a frame of its own. */
static ws_frame_t *event_frame(ws_hub_t *hub, const event_t *ev, uint64_t frame_seq, int shared)
{
    size_t *hint = &hub->size_hint[ev->type < EVENT_TYPE_COUNT ? ev->type : 0];
    ws_frame_t *f =
        shared ? ws_frame_build_shared(&hub->frames, WS_OP_TEXT, produce_event, ev, *hint + *hint / 8, frame_seq)
               : ws_frame_build(WS_OP_TEXT, produce_event, ev, *hint + *hint / 8, frame_seq);
    if (f != NULL)
        *hint = f->len;
    return f;
}

static void on_event(void *ctx, const event_t *ev)
{
    ws_hub_t *hub = ctx;
    ws_frame_t *f = event_frame(hub, ev, ev->seq, 1);
    if (f == NULL) {
        log_error("ws", "cannot encode event %llu", (unsigned long long)ev->seq);
        return;
    }
    hub->last_seq = ev->seq;
    hub->stats.broadcasts++;
    for (ws_client_t *c = hub->clients, *next; c; c = next) {
        next = c->next; /* a client may be dropped (1008) while we go */
        if (c->counted)
            ws_client_send(c, f);
    }
    ring_push(hub, f); /* the ring keeps the creator's reference */
}

/* A message for one client only (the status snapshot, the resync notice, a keep-alive): it carries `seq`, the
 * last broadcast the client had before it. */
static ws_frame_t *private_status(ws_hub_t *hub, json_t *data, uint64_t seq)
{
    json_t *run = json_object_get(data, "run");
    const char *run_id = json_string_value(json_object_get(run, "run_id"));
    const run_t *active = orch_active(hub->orch);
    if (run_id == NULL && active)
        run_id = active->id;
    event_t ev = {.type = EVENT_STATUS, .seq = seq, .ts_ms = clock_now_ms(), .data = data};
    snprintf(ev.run_id, sizeof(ev.run_id), "%s", run_id ? run_id : "none");
    ws_frame_t *f = event_frame(hub, &ev, 0, 0);
    json_decref(data);
    return f;
}

static void on_snapshot(orch_waiter_t *w, int status, json_t *body)
{
    ws_snapshot_t *snap = w->data;
    ws_hub_t *hub = snap->hub;
    ws_client_t *c = snap->client;
    c->snapshot = NULL;
    if (c->closing) { /* dropped meanwhile: let its close go out */
        json_decref(body);
        ws_hub__client_dirty(hub, c);
        free(snap);
        return;
    }
    if (status != 200) {
        json_decref(body);
        ws_client_close(c, 1011, "The state store is unavailable; reconnect shortly", WS_CLOSE_REJECT_MS);
        free(snap);
        return;
    }
    ws_frame_t *frames[2];
    int n = 0;
    json_t *resync =
        snap->resync ? json_pack("{s:s,s:O}", "status", "resync", "run", json_object_get(body, "run")) : NULL;
    if ((frames[n] = private_status(hub, body, snap->seq)) != NULL)
        n++;
    if (resync && (frames[n] = private_status(hub, resync, snap->seq)) != NULL)
        n++;
    ws_client_send_first(c, frames, n);
    for (int i = 0; i < n; i++)
        ws_frame_unref(frames[i]);
    free(snap);
}

static void send_snapshot(ws_hub_t *hub, ws_client_t *c, int resync)
{
    ws_snapshot_t *snap = calloc(1, sizeof(*snap));
    if (snap == NULL)
        abort();
    snap->hub = hub;
    snap->client = c;
    snap->seq = hub->last_seq;
    snap->resync = resync;
    snap->waiter.data = snap;
    c->snapshot = snap;
    orch_status(hub->orch, hub->connected, &snap->waiter, on_snapshot);
}

/* Replays the broadcasts after `since`, or sends the snapshot and a resync notice when the ring lacks some. */
static void send_since(ws_hub_t *hub, ws_client_t *c, uint64_t since)
{
    uint64_t oldest = hub->ring_count ? hub->ring[hub->ring_head]->seq : hub->last_seq + 1;
    if (since > hub->last_seq || since + 1 < oldest) {
        send_snapshot(hub, c, 1);
        return;
    }
    for (uint32_t i = (uint32_t)(since + 1 - oldest); i < hub->ring_count; i++)
        ws_client_send(c, hub->ring[(hub->ring_head + i) % WS_RING_MAX_FRAMES]);
}

/* ---- accepting ------------------------------------------------------------------------------------------------- */

typedef struct upgrade {
    ws_hub_t *hub;
    int64_t since;
    uint8_t client[16]; /* client_addr_key() of the client, as the rate limiter sees it */
} upgrade_t;

/* Clients receiving the stream from this client address (one pass over the clients, at connect only). */
static int same_client_count(const ws_hub_t *hub, const uint8_t client[16])
{
    int n = 0;
    for (const ws_client_t *c = hub->clients; c; c = c->next)
        n += c->counted && memcmp(c->client, client, 16) == 0;
    return n;
}

static void on_upgraded(void *data, h2o_socket_t *sock, size_t reqsize)
{
    upgrade_t up = *(upgrade_t *)data;
    ws_hub_t *hub = up.hub;
    free(data);
    if (sock == NULL)
        return; /* the 101 could not be written */
    h2o_buffer_consume(&sock->input, reqsize);
    h2o_socket_export_t info;
    if (h2o_socket_export(sock, &info) != 0) {
        log_warn("ws", "cannot take over an upgraded connection");
        h2o_socket_close(sock);
        return;
    }
    ws_client_t *c = ws_client_start(hub, hub->loop, info.fd, info.input->bytes, info.input->size);
    h2o_buffer_dispose(&info.input);
    if (c == NULL)
        return;
    if (hub->shutting_down) {
        ws_client_close(c, 1001, "Server shutting down", WS_CLOSE_SHUTDOWN_MS);
        return;
    }
    if (hub->connected >= hub->cfg->max_websocket_connections) {
        hub->stats.rejected++;
        ws_client_close(c, 1013, "Too many connections", WS_CLOSE_REJECT_MS);
        return;
    }
    memcpy(c->client, up.client, 16);
    if (same_client_count(hub, c->client) >= hub->cfg->max_websocket_connections_per_ip) {
        hub->stats.rejected++;
        ws_client_close(c, 1013, "Too many connections from this address", WS_CLOSE_REJECT_MS);
        return;
    }
    c->counted = 1;
    hub->connected++;
    if (up.since >= 0)
        send_since(hub, c, (uint64_t)up.since);
    else
        send_snapshot(hub, c, 0);
}

void ws_hub_accept(ws_hub_t *hub, h2o_req_t *req, const char *client_key, int64_t since)
{
    char accept_key[29];
    ws_accept_key(accept_key, client_key, 24); /* h2o_is_websocket_handshake checked the length */
    upgrade_t *up = malloc(sizeof(*up));
    if (up == NULL)
        abort();
    up->hub = hub;
    up->since = since;
    /* behind a trusted proxy every viewer shares the proxy's address: count the client it forwards */
    struct sockaddr_storage client;
    client_addr_of(req, &hub->cfg->trusted_proxies, &client);
    client_addr_key((struct sockaddr *)&client, up->client);
    req->res.status = 101;
    req->res.reason = "Switching Protocols";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_UPGRADE, NULL, H2O_STRLIT("websocket"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("sec-websocket-accept"), 0, NULL, accept_key,
                          strlen(accept_key));
    h2o_http1_upgrade(req, NULL, 0, on_upgraded, up);
}

/* ---- keep-alive ------------------------------------------------------------------------------------------------ */

static void on_keepalive(uv_timer_t *t)
{
    ws_hub_t *hub = t->data;
    for (ws_client_t *c = hub->clients, *next; c; c = next) {
        next = c->next;
        if (c->counted && c->ping_outstanding) { /* not a byte since the last ping: the peer is gone */
            hub->stats.dead_dropped++;
            ws_client_abort(c);
        }
    }
    if (hub->connected == 0)
        return;
    /* A heartbeat of this replica, not a broadcast: it repeats the last seq (so no client sees a gap), is not
     * kept for replay, and counts this replica's clients. */
    ws_frame_t *status = private_status(
        hub, json_pack("{s:s,s:i}", "status", "keep-alive", "connected_clients", hub->connected), hub->last_seq);
    ws_frame_t *ping = ws_frame_new(WS_OP_PING, "keep-alive", 10, 0);
    for (ws_client_t *c = hub->clients, *next; c; c = next) {
        next = c->next;
        if (!c->counted)
            continue;
        c->ping_outstanding = 1;
        if (status)
            ws_client_send(c, status);
        ws_client_send(c, ping);
    }
    ws_frame_unref(ping);
    if (status)
        ws_frame_unref(status);
}

/* ---- life cycle ------------------------------------------------------------------------------------------------ */

int ws_hub_client_count(const ws_hub_t *hub)
{
    return hub->connected;
}

const ws_hub_stats_t *ws_hub_stats(const ws_hub_t *hub)
{
    return &hub->stats;
}

ws_hub_t *ws_hub_create(uv_loop_t *loop, const config_t *cfg, events_t *events, orch_t *orch)
{
    ws_hub_t *hub = calloc(1, sizeof(*hub));
    if (hub == NULL || (hub->ring = calloc(WS_RING_MAX_FRAMES, sizeof(*hub->ring))) == NULL)
        abort();
    hub->loop = loop;
    hub->cfg = cfg;
    hub->events = events;
    hub->orch = orch;
    uv_idle_init(loop, &hub->flusher);
    uv_check_init(loop, &hub->flush_check);
    uv_timer_init(loop, &hub->keepalive);
    hub->flusher.data = hub->flush_check.data = hub->keepalive.data = hub;
    uint64_t every = (uint64_t)(cfg->ws_keepalive_seconds * 1000);
    uv_timer_start(&hub->keepalive, on_keepalive, every, every);
    events_subscribe(events, on_event, hub);
    return hub;
}

void ws_hub_shutdown(ws_hub_t *hub, void (*cb)(void *data), void *data)
{
    hub->shutting_down = 1;
    hub->shutdown_cb = cb;
    hub->shutdown_data = data;
    uv_timer_stop(&hub->keepalive);
    for (ws_client_t *c = hub->clients, *next; c; c = next) {
        next = c->next;
        ws_client_close(c, 1001, "Server shutting down", WS_CLOSE_SHUTDOWN_MS);
    }
    maybe_shutdown_done(hub);
}

static void on_hub_handle_closed(uv_handle_t *h)
{
    ws_hub_t *hub = h->data;
    hub->open_handles--;
    maybe_free(hub);
}

void ws_hub_destroy(ws_hub_t *hub)
{
    events_unsubscribe(hub->events, on_event, hub);
    hub->destroying = 1;
    hub->shutdown_cb = NULL;
    for (ws_client_t *c = hub->clients, *next; c; c = next) {
        next = c->next;
        ws_client_abort(c); /* stragglers of a shutdown that ran out of time */
    }
    hub->open_handles = 3;
    uv_close((uv_handle_t *)&hub->flusher, on_hub_handle_closed);
    uv_close((uv_handle_t *)&hub->flush_check, on_hub_handle_closed);
    uv_close((uv_handle_t *)&hub->keepalive, on_hub_handle_closed);
}
