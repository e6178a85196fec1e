/*
 * The HTTP connections' reads and writes without an epoll_ctl per request.
 *
 * h2o stops reading a connection while it answers a request and starts again once the response is written.
 * Through h2o's libuv binding each stop/start pair is a uv_read_stop/uv_read_start, which libuv turns into two
 * epoll_ctl calls (an EPOLL_CTL_ADD that fails with EEXIST, then an EPOLL_CTL_MOD), and each response is a
 * uv_write, after which libuv stops watching for POLLOUT, one more EPOLL_CTL_MOD even when nothing had to wait:
 * three of a keep-alive request's five system calls. This module provides h2o_socket_read_start,
 * h2o_socket_read_stop and h2o_socket_write themselves; the executable's definitions take the place of
 * libh2o's, whose own calls go through the PLT. For a connection attached here:
 *  - libuv keeps reading: while h2o wants no input, what arrives is kept in the connection's own buffer (never
 *    the socket's input buffer, into which the request being answered points: growing it could move it) and
 *    handed to h2o from the loop once it reads again, as if it had just arrived. Reading really stops only
 *    when that buffer passes HTTP_READING_PAUSED_MAX or the peer has closed or failed (kept, and reported
 *    after the bytes before it), and starts again when h2o asks for input;
 *  - a write is tried at once (uv_try_write, one writev); what the socket does not take goes through uv_write.
 *    h2o's write callback comes on the next loop iteration either way, as with libh2o's binding.
 * h2o_socket_export (a WebSocket upgrade) hands the kept bytes over with the socket's input. Any other socket gets
 * libh2o's own functions. One loop, one thread.
 */
#ifndef HTTP_H2O_READING_H
#define HTTP_H2O_READING_H

#include <h2o.h>
#include <uv.h>

/* What may pile up in a connection's input while h2o is answering a request (pipelined requests, a slowloris
 * peer's bytes); past it reading stops until h2o resumes. */
#define HTTP_READING_PAUSED_MAX (256 * 1024)

/* What an attached connection can have due on the next loop iteration. */
enum { READING_DUE_WRITE, READING_DUE_INPUT, READING_DUE_KINDS };

/** One attached connection; embedded in the caller's connection, which must outlive it (see detach). */
typedef struct http_reading {
    h2o_socket_t *sock;
    uv_stream_t *stream;
    int fd;
    int uv_reading;        /* libuv is reading the stream (whether or not h2o wants input) */
    int reading_aside;     /* the read under way goes to `pending` (set by the alloc callback) */
    int pending_eof;       /* the peer closed or failed after `pending`: reported to h2o after those bytes */
    h2o_buffer_t *pending; /* read while h2o did not want input, or behind such bytes: not yet h2o's */
    int write_status;      /* of the write whose callback is due (0, or a libuv error) */
    uv_write_t wreq;       /* the rest of a write the socket did not take at once */
    struct http_reading *next_due[READING_DUE_KINDS]; /* in the lists of callbacks due */
    unsigned char queued[READING_DUE_KINDS];
} http_reading_t;

/**
 * Makes h2o's reads and writes on `sock` (an h2o socket created on `stream`) go through `r`. Returns 0, or -1
 * (no descriptor, out of memory) when the socket keeps libh2o's behaviour.
 */
int http_reading_attach(http_reading_t *r, h2o_socket_t *sock, uv_stream_t *stream);

/** Forgets `r` (from the stream's close callback, before its memory goes). */
void http_reading_detach(http_reading_t *r);

/** Frees what the module holds and closes its idle handle (at exit; the loop runs once more after). */
void http_reading_dispose(void);

#endif
