/* The HTTP connections' reads and writes without an epoll_ctl per request (see h2o_reading.h). */
#include "http/h2o_reading.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

typedef void (*reading_start_fn)(h2o_socket_t *sock, h2o_socket_cb cb);
typedef void (*reading_stop_fn)(h2o_socket_t *sock);
typedef void (*reading_write_fn)(h2o_socket_t *sock, h2o_iovec_t *bufs, size_t bufcnt, h2o_socket_cb cb);
typedef int (*reading_export_fn)(h2o_socket_t *sock, h2o_socket_export_t *info);

/* Attached connections by descriptor: found without a system call (h2o_socket_get_fd is uv_fileno). */
static http_reading_t **reading_table;
static size_t reading_cap;

/* Connections with a callback due on the next loop iteration (a write's completion, pending input), by kind:
 * `due` gathers them, `running` holds those the idle callback is calling now (a callback may close another). */
static http_reading_t *reading_due[READING_DUE_KINDS], *reading_running[READING_DUE_KINDS];
static uv_idle_t reading_idle;
static int reading_idle_ready;

static http_reading_t *reading_find(h2o_socket_t *sock)
{
    int fd = h2o_socket_get_fd(sock);
    if (fd < 0 || (size_t)fd >= reading_cap || reading_table[fd] == NULL || reading_table[fd]->sock != sock ||
        sock->ssl != NULL)
        return NULL;
    return reading_table[fd];
}

/* libh2o's own function `name`, for sockets that are not attached. */
static void *reading_next(const char *name)
{
    void *fn = dlsym(RTLD_NEXT, name);
    if (fn == NULL) {
        log_error("http", "%s not found in libh2o: %s", name, dlerror());
        abort();
    }
    return fn;
}

/* ---- callbacks due on the next loop iteration ------------------------------------------------------------------ */

static void reading_write_complete(http_reading_t *r, int status);
static void reading_deliver(http_reading_t *r);

static void reading_on_idle(uv_idle_t *idle)
{
    uv_idle_stop(idle);
    for (int kind = 0; kind < READING_DUE_KINDS; kind++) {
        /* the list is taken whole: what a callback makes due (a new write, more input) waits for the next turn */
        reading_running[kind] = reading_due[kind];
        reading_due[kind] = NULL;
        http_reading_t *r;
        while ((r = reading_running[kind]) != NULL) {
            reading_running[kind] = r->next_due[kind];
            r->next_due[kind] = NULL;
            r->queued[kind] = 0;
            if (kind == READING_DUE_WRITE)
                reading_write_complete(r, r->write_status);
            else
                reading_deliver(r);
        }
    }
}

static void reading_queue(http_reading_t *r, int kind)
{
    if (r->queued[kind])
        return;
    r->queued[kind] = 1;
    r->next_due[kind] = reading_due[kind];
    reading_due[kind] = r;
    uv_idle_start(&reading_idle, reading_on_idle);
}

static void reading_unqueue(http_reading_t *r, int kind)
{
    if (!r->queued[kind])
        return;
    http_reading_t **lists[] = {&reading_due[kind], &reading_running[kind]};
    for (size_t i = 0; i < 2; i++) {
        for (http_reading_t **p = lists[i]; *p; p = &(*p)->next_due[kind]) {
            if (*p == r) {
                *p = r->next_due[kind];
                r->next_due[kind] = NULL;
                r->queued[kind] = 0;
                return;
            }
        }
    }
}

/* ---- reading ----------------------------------------------------------------------------------------------------
 *
 * While h2o reads, libuv reads into the socket's input buffer, exactly as libh2o's binding does: h2o allows that
 * buffer to grow (and so to move) only then. While h2o does not read, the request it is answering points into
 * that buffer (method, path, headers, body), so what arrives goes to the connection's own `pending` buffer and
 * is handed over from the loop once h2o reads again, in arrival order. */

static void reading_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    h2o_socket_t *sock = handle->data;
    http_reading_t *r = reading_find(sock);
    /* pending bytes not yet handed over go first: what follows them waits behind them */
    int aside = r != NULL && (sock->_cb.read == NULL || r->pending->size > 0);
    if (r != NULL)
        r->reading_aside = aside;
    h2o_iovec_t v = h2o_buffer_reserve(aside ? &r->pending : &sock->input, 4096);
    buf->base = v.base;
    buf->len = v.len;
}

static void reading_pause_uv(http_reading_t *r)
{
    if (r->uv_reading) {
        uv_read_stop(r->stream);
        r->uv_reading = 0;
    }
}

static void reading_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    h2o_socket_t *sock = stream->data;
    http_reading_t *r = reading_find(sock);
    h2o_socket_cb cb = sock->_cb.read;
    (void)buf;
    int aside = r != NULL && r->reading_aside;
    if (nread < 0) {
        if (r == NULL || (cb != NULL && r->pending->size == 0)) {
            sock->bytes_read = 0;
            if (cb != NULL)
                cb(sock, h2o_socket_error_closed); /* may close and free everything: nothing is touched after */
            return;
        }
        /* The end or an error while h2o answers a request, or with bytes still to hand over: kept for h2o,
         * after those bytes, and reading stops (libuv would report it again and again). */
        r->pending_eof = 1;
        reading_pause_uv(r);
        if (cb != NULL)
            reading_queue(r, READING_DUE_INPUT);
        return;
    }
    if (aside) {
        r->pending->size += (size_t)nread;
        if (r->pending->size > HTTP_READING_PAUSED_MAX)
            reading_pause_uv(r);
        if (cb != NULL)
            reading_queue(r, READING_DUE_INPUT);
        return;
    }
    sock->input->size += (size_t)nread;
    sock->bytes_read = (size_t)nread;
    if (cb != NULL)
        cb(sock, NULL);
}

/* From the loop, as libh2o's binding reads: the pending bytes (or the end) go to h2o if it still wants them. */
static void reading_deliver(http_reading_t *r)
{
    h2o_socket_t *sock = r->sock;
    h2o_socket_cb cb = sock->_cb.read;
    if (uv_is_closing((uv_handle_t *)r->stream))
        return; /* h2o closed the socket meanwhile (the connection it belonged to is gone) */
    if (cb == NULL)
        return; /* h2o stopped again meanwhile: its next h2o_socket_read_start asks again */
    size_t n = r->pending->size;
    if (n == 0) {
        if (r->pending_eof) {
            sock->bytes_read = 0;
            cb(sock, h2o_socket_error_closed);
        }
        return;
    }
    h2o_iovec_t v = h2o_buffer_reserve(&sock->input, n);
    memcpy(v.base, r->pending->bytes, n);
    sock->input->size += n;
    sock->bytes_read = n;
    h2o_buffer_consume(&r->pending, n);
    if (r->pending_eof)
        reading_queue(r, READING_DUE_INPUT); /* the end comes after these bytes, if h2o still reads then */
    else if (!r->uv_reading) {
        uv_read_start(r->stream, reading_alloc, reading_on_read);
        r->uv_reading = 1;
    }
    cb(sock, NULL); /* may close and free everything: nothing is touched after */
}

void h2o_socket_read_start(h2o_socket_t *sock, h2o_socket_cb cb)
{
    http_reading_t *r = reading_find(sock);
    if (r == NULL) {
        static reading_start_fn next;
        if (next == NULL)
            next = (reading_start_fn)reading_next("h2o_socket_read_start");
        next(sock, cb);
        return;
    }
    sock->_cb.read = cb;
    if (r->pending->size > 0 || r->pending_eof) {
        reading_queue(r, READING_DUE_INPUT); /* never from here: h2o may still hold pointers into its input */
        return;
    }
    if (!r->uv_reading) {
        uv_read_start(r->stream, reading_alloc, reading_on_read);
        r->uv_reading = 1;
    }
}

void h2o_socket_read_stop(h2o_socket_t *sock)
{
    http_reading_t *r = reading_find(sock);
    if (r == NULL) {
        static reading_stop_fn next;
        if (next == NULL)
            next = (reading_stop_fn)reading_next("h2o_socket_read_stop");
        next(sock);
        return;
    }
    sock->_cb.read = NULL; /* libuv reads on, into r->pending */
}

int h2o_socket_export(h2o_socket_t *sock, h2o_socket_export_t *info)
{
    static reading_export_fn next;
    if (next == NULL)
        next = (reading_export_fn)reading_next("h2o_socket_export");
    http_reading_t *r = reading_find(sock);
    if (r != NULL && r->pending->size > 0) {
        /* the new owner (an upgraded connection) takes the input whole: the pending bytes belong behind it */
        h2o_iovec_t v = h2o_buffer_reserve(&sock->input, r->pending->size);
        memcpy(v.base, r->pending->bytes, r->pending->size);
        sock->input->size += r->pending->size;
        h2o_buffer_consume(&r->pending, r->pending->size);
    }
    return next(sock, info);
}

/* ---- writing --------------------------------------------------------------------------------------------------- */

/* h2o's write callback, as libh2o's binding calls it: cleared first, since it may start the next write. */
static void reading_write_complete(http_reading_t *r, int status)
{
    h2o_socket_t *sock = r->sock;
    h2o_socket_cb cb = sock->_cb.write;
    if (cb == NULL || uv_is_closing((uv_handle_t *)r->stream))
        return; /* h2o closed the socket meanwhile: it wants no callback */
    sock->_cb.write = NULL;
    cb(sock, status == 0 ? NULL : h2o_socket_error_io);
}

static void reading_complete_later(http_reading_t *r, int status)
{
    r->write_status = status;
    reading_queue(r, READING_DUE_WRITE);
}

static void reading_on_uv_write(uv_write_t *req, int status)
{
    reading_write_complete(req->data, status);
}

void h2o_socket_write(h2o_socket_t *sock, h2o_iovec_t *bufs, size_t bufcnt, h2o_socket_cb cb)
{
    http_reading_t *r = reading_find(sock);
    if (r == NULL) {
        static reading_write_fn next;
        if (next == NULL)
            next = (reading_write_fn)reading_next("h2o_socket_write");
        next(sock, bufs, bufcnt, cb);
        return;
    }
    size_t total = 0;
    for (size_t i = 0; i < bufcnt; i++)
        total += bufs[i].len;
    sock->bytes_written += total;
    sock->_cb.write = cb;
    /* h2o_iovec_t and uv_buf_t are both {base, len} on this platform, as libh2o's binding relies on too */
    ssize_t n = bufcnt > 0 ? uv_try_write(r->stream, (uv_buf_t *)bufs, (unsigned)bufcnt) : 0;
    if (n == (ssize_t)total) {
        reading_complete_later(r, 0);
        return;
    }
    if (n < 0 && n != UV_EAGAIN) {
        reading_complete_later(r, (int)n);
        return;
    }
    /* the rest waits for the socket; the buffers stay valid until the callback, as h2o guarantees */
    size_t done = n > 0 ? (size_t)n : 0, i = 0;
    while (done >= bufs[i].len) {
        done -= bufs[i].len;
        i++;
    }
    h2o_iovec_t first = bufs[i];
    bufs[i].base += done;
    bufs[i].len -= done;
    r->wreq.data = r;
    int rc = uv_write(&r->wreq, r->stream, (uv_buf_t *)bufs + i, (unsigned)(bufcnt - i), reading_on_uv_write);
    bufs[i] = first; /* uv_write copied the array */
    if (rc != 0)
        reading_complete_later(r, rc);
}

/* ---- the table ----------------------------------------------------------------------------------------------- */

int http_reading_attach(http_reading_t *r, h2o_socket_t *sock, uv_stream_t *stream)
{
    memset(r, 0, sizeof(*r));
    r->fd = -1;
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)stream, &fd) != 0 || fd < 0)
        return -1;
    if (!reading_idle_ready) {
        uv_idle_init(stream->loop, &reading_idle);
        uv_unref((uv_handle_t *)&reading_idle);
        reading_idle_ready = 1;
    }
    if ((size_t)fd >= reading_cap) {
        size_t cap = reading_cap ? reading_cap : 64;
        while (cap <= (size_t)fd)
            cap *= 2;
        http_reading_t **t = realloc(reading_table, cap * sizeof(*t));
        if (t == NULL)
            return -1;
        memset(t + reading_cap, 0, (cap - reading_cap) * sizeof(*t));
        reading_table = t;
        reading_cap = cap;
    }
    /* h2o has not started reading yet: its first h2o_socket_read_start comes after this */
    r->sock = sock;
    r->stream = stream;
    r->fd = fd;
    h2o_buffer_init(&r->pending, &h2o_socket_buffer_prototype);
    reading_table[fd] = r;
    return 0;
}

void http_reading_detach(http_reading_t *r)
{
    if (r->fd >= 0 && (size_t)r->fd < reading_cap && reading_table[r->fd] == r)
        reading_table[r->fd] = NULL;
    for (int kind = 0; kind < READING_DUE_KINDS; kind++)
        reading_unqueue(r, kind);
    if (r->pending != NULL)
        h2o_buffer_dispose(&r->pending);
    r->sock = NULL;
    r->fd = -1;
}

void http_reading_dispose(void)
{
    free(reading_table);
    reading_table = NULL;
    reading_cap = 0;
    for (int kind = 0; kind < READING_DUE_KINDS; kind++)
        reading_due[kind] = reading_running[kind] = NULL;
    if (reading_idle_ready) {
        uv_close((uv_handle_t *)&reading_idle, NULL);
        reading_idle_ready = 0;
    }
}
