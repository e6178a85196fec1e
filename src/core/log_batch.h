/*
 * Gathers log lines into `log` messages of at most LOG_BATCH_LINES lines, and paces them: at most
 * LOG_BATCH_WINDOW_BYTES of lines per LOG_BATCH_INTERVAL_MS (about 170 KB/s), the rest waits in a buffer of
 * LOG_BATCH_MAX_PENDING_BYTES. Lines that find the buffer full are dropped, and the next message says how many.
 * A line waits at most LOG_BATCH_INTERVAL_MS while the stream is below the pace. So the largest burst the stream
 * ever sees from logs is one buffer (256 KiB), well under a WebSocket client's send queue bound.
 */
#ifndef CORE_LOG_BATCH_H
#define CORE_LOG_BATCH_H

#include <jansson.h>
#include <uv.h>

#define LOG_BATCH_LINES             50
#define LOG_BATCH_MESSAGE_BYTES     (32 * 1024) /* a message stops growing past this (a longer line goes alone) */
#define LOG_BATCH_INTERVAL_MS       750
#define LOG_BATCH_WINDOW_BYTES      (128 * 1024) /* sent per interval */
#define LOG_BATCH_MAX_PENDING_BYTES (256 * 1024) /* waiting their turn */

typedef void (*log_batch_flush_fn)(void *ctx, json_t *lines); /* steals `lines`, a non-empty array */

typedef struct log_batch {
    uv_timer_t timer;
    json_t *pending;       /* array of line objects, oldest first */
    size_t pending_bytes;  /* their approximate size on the wire */
    size_t sent_in_window; /* bytes sent in the current interval */
    uint64_t window_start; /* loop time the interval began */
    long dropped;
    log_batch_flush_fn flush;
    void *ctx;
} log_batch_t;

void log_batch_init(log_batch_t *lb, uv_loop_t *loop, log_batch_flush_fn flush, void *ctx);
/** Adds a line (steals it). Returns 0, or -1 when the buffer was full and the line was dropped. */
int log_batch_add(log_batch_t *lb, json_t *line);
/** Sends everything pending now, whatever the pace (at the end of a run, before its complete message). */
void log_batch_flush(log_batch_t *lb);
/** Drops what is pending (the lines of a run that ended elsewhere). */
void log_batch_discard(log_batch_t *lb);
/** Drops what is pending and closes the timer; `lb` may be freed in `cb`. */
void log_batch_close(log_batch_t *lb, uv_close_cb cb);

#endif
