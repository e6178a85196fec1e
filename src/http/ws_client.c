#include "http/ws_client.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/ws_hub_internal.h"
#include "util/log.h"

#define WS_MAX_IOV            256           /* pieces of memory per write */
#define WS_MAX_WRITE_BYTES    (1024 * 1024) /* bytes per write: a long backlog is not walked whole at each flush */
#define WS_MAX_CLIENT_MESSAGE 65536         /* client messages are ignored, but bounded */
#define WS_SOCKET_SNDBUF      (256 * 1024)  /* kernel buffering per client; the default autotunes up to 4 MiB */

/* ---- the send queue -------------------------------------------------------------------------------------------- */

/* Makes room for one more frame (the ring doubles, oldest first again). */
static void queue_reserve(ws_client_t *c)
{
    if (c->count < c->cap)
        return;
    uint32_t cap = c->cap ? c->cap * 2 : 8;
    ws_frame_t **q = malloc(cap * sizeof(*q));
    if (q == NULL)
        abort();
    for (uint32_t i = 0; i < c->count; i++)
        q[i] = c->queue[(c->head + i) & (c->cap - 1)];
    free(c->queue);
    c->queue = q;
    c->cap = cap;
    c->head = 0;
}

static void queue_push(ws_client_t *c, ws_frame_t *f)
{
    queue_reserve(c);
    c->queue[(c->head + c->count++) & (c->cap - 1)] = f;
    c->queued_bytes += f->len;
}

void ws_client_send_first(ws_client_t *c, ws_frame_t **frames, int count)
{
    for (int i = count - 1; i >= 0; i--) { /* the head moves back: the last one goes in first */
        queue_reserve(c);
        c->head = (c->head + c->cap - 1) & (c->cap - 1);
        c->queue[c->head] = ws_frame_ref(frames[i]);
        c->count++;
        c->queued_bytes += frames[i]->len;
    }
    ws_hub__client_dirty(c->hub, c);
}

static ws_frame_t *queue_at(const ws_client_t *c, uint32_t i)
{
    return c->queue[(c->head + i) & (c->cap - 1)];
}

static void queue_pop(ws_client_t *c)
{
    ws_frame_unref(c->queue[c->head]);
    c->head = (c->head + 1) & (c->cap - 1);
    c->count--;
}

/* `bytes` went out: frames that are now complete leave the queue. */
static void consume(ws_client_t *c, size_t bytes)
{
    c->queued_bytes -= bytes;
    while (bytes > 0) {
        ws_frame_t *f = queue_at(c, 0);
        size_t left = f->len - c->head_off;
        if (bytes < left) {
            c->head_off += bytes;
            return;
        }
        bytes -= left;
        c->head_off = 0;
        queue_pop(c);
        ws_hub__delivered(c->hub);
    }
}

/* The queued bytes as iovecs: frames adjacent in memory (broadcasts of one shared buffer, see ws_frame_build_shared)
 * make one piece, so a client that has a loop turn's frames and nothing else gets one. */
static int fill_bufs(const ws_client_t *c, uv_buf_t *bufs, size_t *total)
{
    int n = 0;
    *total = 0;
    for (uint32_t i = 0; i < c->count && *total < WS_MAX_WRITE_BYTES; i++) {
        ws_frame_t *f = queue_at(c, i);
        size_t off = i == 0 ? c->head_off : 0;
        char *at = (char *)f->data + off;
        size_t len = f->len - off;
        if (n > 0 && bufs[n - 1].base + bufs[n - 1].len == at) {
            bufs[n - 1].len += len;
        } else {
            if (n == WS_MAX_IOV)
                break;
            bufs[n++] = uv_buf_init(at, (unsigned)len);
        }
        *total += len;
    }
    return n;
}

/* ---- wslay's context: only while the client is saying something ----------------------------------------------- */

static ssize_t wslay_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *data);
static ssize_t wslay_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *user);
static void wslay_on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *data);

/* wslay's context holds 12 KB of buffers; an idle viewer needs none of it, so it exists only from the moment the
 * client sends bytes (or a close begins) until they are dealt with (see wslay_release). */
static wslay_event_context_ptr wslay_of(ws_client_t *c)
{
    if (c->wslay == NULL) {
        static const struct wslay_event_callbacks callbacks = {
            .recv_callback = wslay_recv,
            .send_callback = wslay_send,
            .on_msg_recv_callback = wslay_on_msg,
        };
        if (wslay_event_context_server_init(&c->wslay, &callbacks, c) != 0)
            abort();
        wslay_event_config_set_max_recv_msg_length(c->wslay, WS_MAX_CLIENT_MESSAGE);
    }
    return c->wslay;
}

/* Frees the context once it knows nothing the next bytes need: between frames, outside a fragmented message,
 * nothing of ours waiting in it, no close under way (a fresh context then reads the next frame the same way). */
static void wslay_release(ws_client_t *c)
{
    if (c->wslay && !c->closing && ws_rx_idle(&c->frames) && wslay_event_want_read(c->wslay) &&
        !wslay_event_want_write(c->wslay)) {
        wslay_event_context_free(c->wslay);
        c->wslay = NULL;
    }
}

/* ---- closing --------------------------------------------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *h)
{
    ws_client_t *c = h->data;
    if (--c->open_handles > 0)
        return;
    while (c->count > 0)
        queue_pop(c);
    free(c->queue);
    if (c->wslay)
        wslay_event_context_free(c->wslay);
    ws_hub__client_gone(c->hub, c);
    free(c);
}

void ws_client_abort(ws_client_t *c)
{
    if (c->closed)
        return;
    c->closed = 1;
    ws_hub__client_leaving(c->hub, c);
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_close((uv_handle_t *)&c->close_timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void on_close_timeout(uv_timer_t *t)
{
    ws_client_abort(t->data);
}

/* The handshake is over once both close frames have crossed and ours is on the wire. */
static void maybe_finish(ws_client_t *c)
{
    /* `closing` first: it is set whenever a close frame is queued, and the common case (not closing) then never
     * touches wslay's context, a cache miss per client per flush */
    if (c->closing && !c->closed && c->count == 0 && !c->writing && c->wslay &&
        wslay_event_get_close_sent(c->wslay) && wslay_event_get_close_received(c->wslay))
        ws_client_abort(c);
}

void ws_client_close(ws_client_t *c, uint16_t code, const char *reason, uint64_t timeout_ms)
{
    if (c->closed)
        return;
    if (c->closing) { /* already closing: only ever sooner */
        if (timeout_ms < uv_timer_get_due_in(&c->close_timer))
            uv_timer_start(&c->close_timer, on_close_timeout, timeout_ms, 0);
        return;
    }
    c->closing = 1;
    ws_hub__client_leaving(c->hub, c);
    /* frames already (partly) on the wire stay: those of the write under way, or a head frame cut short */
    uint32_t keep = 0;
    if (c->writing) {
        for (size_t sum = 0; keep < c->count && sum < c->inflight_bytes; keep++)
            sum += queue_at(c, keep)->len - (keep == 0 ? c->head_off : 0);
    } else if (c->head_off) {
        keep = 1;
    }
    while (c->count > keep) {
        ws_frame_t *f = c->queue[(c->head + c->count - 1) & (c->cap - 1)];
        c->queued_bytes -= f->len;
        ws_frame_unref(f);
        c->count--;
    }
    wslay_event_queue_close(wslay_of(c), code, (const uint8_t *)reason, reason ? strlen(reason) : 0);
    wslay_event_send(c->wslay);
    uv_timer_start(&c->close_timer, on_close_timeout, timeout_ms, 0);
    ws_hub__client_dirty(c->hub, c);
}

/* A client is too slow when what the kernel would not take passes the bound. Bursts that its socket can
 * absorb at the next flush do not count; only a client whose socket is full can be dropped. */
static int too_slow(ws_client_t *c)
{
    if (c->queued_bytes <= ws_hub__queue_limit(c->hub))
        return 0;
    log_warn("ws", "dropping a slow client: %zu bytes queued (%u frames), limit %zu", c->queued_bytes, c->count,
             ws_hub__queue_limit(c->hub));
    ws_hub__slow_client(c->hub);
    /* it may still read what is on the wire and then the close frame: give it time */
    ws_client_close(c, 1008, "Client too slow: send queue full", WS_CLOSE_SLOW_MS);
    return 1;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* ---- writing --------------------------------------------------------------------------------------------------- */

static void on_written(uv_write_t *req, int status)
{
    ws_client_t *c = req->data;
    c->writing = 0;
    if (c->closed)
        return;
    if (status < 0) {
        ws_client_abort(c);
        return;
    }
    size_t done = c->inflight_bytes;
    c->inflight_bytes = 0;
    consume(c, done);
    if (c->read_paused && !c->closing && c->queued_bytes <= ws_hub__queue_limit(c->hub)) {
        c->read_paused = 0;
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
    ws_client_flush(c);
}

void ws_client_flush(ws_client_t *c)
{
    if (c->writing || c->closed || c->snapshot)
        return;
    while (c->count > 0) {
        uv_buf_t bufs[WS_MAX_IOV];
        size_t total;
        int n = fill_bufs(c, bufs, &total);
        int rc = uv_try_write((uv_stream_t *)&c->tcp, bufs, (unsigned)n);
        if (rc == UV_EAGAIN)
            rc = 0;
        if (rc < 0) {
            ws_client_abort(c);
            return;
        }
        consume(c, (size_t)rc);
        if ((size_t)rc < total) {
            /* the socket is full: hand the rest to libuv, which writes it when the peer reads */
            n = fill_bufs(c, bufs, &total);
            c->writing = 1;
            c->inflight_bytes = total;
            c->wreq.data = c;
            if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, bufs, (unsigned)n, on_written) != 0) {
                c->writing = 0;
                ws_client_abort(c);
                return;
            }
            if (!c->closing)
                too_slow(c);
            return;
        }
    }
    maybe_finish(c);
}

void ws_client_send(ws_client_t *c, ws_frame_t *f)
{
    if (c->closing || c->closed)
        return;
    queue_push(c, ws_frame_ref(f));
    if (c->writing && too_slow(c))
        return;
    if (!c->dirty)
        ws_hub__client_dirty(c->hub, c);
}

/* ---- reading (wslay) ------------------------------------------------------------------------------------------- */

static ssize_t wslay_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *data)
{
    (void)flags;
    ws_client_t *c = data;
    if (c->rx_len == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = len < c->rx_len ? len : c->rx_len;
    memcpy(buf, c->rx, n);
    c->rx += n;
    c->rx_len -= n;
    return (ssize_t)n;
}

/* wslay's own frames (pong, close) join the queue in order and count against the byte bound like any other: a
 * client that sends pings and never reads is dropped as too slow (checked by feed(), outside wslay's call) */
static ssize_t wslay_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *user)
{
    (void)ctx, (void)flags;
    ws_client_t *c = user;
    queue_push(c, ws_frame_raw(data, len));
    ws_hub__client_dirty(c->hub, c);
    return (ssize_t)len;
}

static void wslay_on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *data)
{
    (void)ctx, (void)arg, (void)data; /* messages from clients are ignored; wslay answers pings itself */
}

static void on_frame_stalled(uv_timer_t *t)
{
    ws_client_t *c = t->data;
    log_warn("ws", "dropping a client that left a frame unfinished for %d ms", WS_FRAME_STALL_MS);
    ws_client_close(c, 1008, "Frame not completed in time", WS_CLOSE_REPLY_MS);
}

static void feed(ws_client_t *c, const uint8_t *bytes, size_t len)
{
    c->ping_outstanding = 0; /* anything from the peer shows it is alive */
    if (!c->closing && ws_rx_feed(&c->frames, bytes, len) == WS_RX_BAD_CONTROL) {
        /* RFC 6455 §5.5: control frames are never fragmented and carry at most 125 bytes */
        ws_client_close(c, 1002, "Invalid control frame", WS_CLOSE_REPLY_MS);
        return;
    }
    if (!c->closing) { /* a frame begun must end soon: the close timer bounds it while the connection is open */
        if (!ws_rx_partial(&c->frames))
            uv_timer_stop(&c->close_timer);
        else if (!uv_is_active((uv_handle_t *)&c->close_timer))
            uv_timer_start(&c->close_timer, on_frame_stalled, WS_FRAME_STALL_MS, 0);
    }
    c->rx = bytes;
    c->rx_len = len;
    int rc = wslay_event_recv(wslay_of(c));
    c->rx_len = 0;
    if (rc != 0) {
        ws_client_abort(c);
        return;
    }
    wslay_event_send(c->wslay);
    if (c->writing && !c->closing && too_slow(c))
        return;
    if (!wslay_event_want_read(c->wslay) && !c->closing) {
        /* the peer closed, or broke the protocol and wslay queued a close (1002, 1009): it ends here, once our
         * close frame is written and (for a bounded time) the peer's is read */
        c->closing = 1;
        ws_hub__client_leaving(c->hub, c);
        uv_timer_start(&c->close_timer, on_close_timeout, WS_CLOSE_REPLY_MS, 0);
    }
    ws_client_flush(c);
    if (c->closed)
        return;
    wslay_release(c);
    /* what it asks of us (pongs) is not going out: read nothing more from it until its backlog drains */
    if (!c->closed && !c->read_paused && c->queued_bytes > ws_hub__queue_limit(c->hub)) {
        c->read_paused = 1;
        uv_read_stop((uv_stream_t *)&c->tcp);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h, (void)suggested;
    static char scratch[65536]; /* one loop: wslay copies what it needs before the next read */
    *buf = uv_buf_init(scratch, sizeof(scratch));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    ws_client_t *c = s->data;
    if (nread > 0)
        feed(c, (const uint8_t *)buf->base, (size_t)nread);
    else if (nread < 0)
        ws_client_abort(c);
}

ws_client_t *ws_client_start(ws_hub_t *hub, uv_loop_t *loop, int fd, const void *pending, size_t pending_len)
{
    ws_client_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    c->hub = hub;
    uv_tcp_init(loop, &c->tcp);
    uv_timer_init(loop, &c->close_timer);
    c->tcp.data = c->close_timer.data = c;
    c->open_handles = 2;
    ws_hub__client_joined(hub, c);
    /* the descriptor is h2o's dup() of the connection: no task process may inherit it */
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (uv_tcp_open(&c->tcp, fd) != 0) {
        close(fd);
        ws_client_abort(c);
        return NULL;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    int sndbuf = WS_SOCKET_SNDBUF;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (pending_len > 0)
        feed(c, pending, pending_len);
    return c->closed ? NULL : c;
}
