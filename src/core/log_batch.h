/*
 * Gathers log lines into `log` messages: at most LOG_BATCH_LINES per message, flushed at the latest
 * LOG_BATCH_INTERVAL_MS after the first pending line, and bounded in volume: past LOG_BATCH_BURST full messages
 * within one interval, further lines are counted and dropped, and the next message says how many.
 */
#ifndef CORE_LOG_BATCH_H
#define CORE_LOG_BATCH_H

#include <jansson.h>
#include <uv.h>

#define LOG_BATCH_LINES 50
#define LOG_BATCH_INTERVAL_MS 750
#define LOG_BATCH_BURST 20 /* full messages per interval: 1,000 lines per 0.75 s */

typedef void (*log_batch_flush_fn)(void *ctx, json_t *lines); /* steals `lines`, a non-empty array */

typedef struct log_batch {
    uv_timer_t timer;
    json_t *pending;     /* array of line objects */
    int full_flushes;    /* in the current interval */
    uint64_t window_start;
    long dropped;
    log_batch_flush_fn flush;
    void *ctx;
} log_batch_t;

void log_batch_init(log_batch_t *lb, uv_loop_t *loop, log_batch_flush_fn flush, void *ctx);
/** Adds a line (steals it). Returns 0, or -1 when it was dropped for volume. */
int log_batch_add(log_batch_t *lb, json_t *line);
/** Sends what is pending now (at the end of a run). */
void log_batch_flush(log_batch_t *lb);
/** Drops what is pending and closes the timer; `lb` may be freed in `cb`. */
void log_batch_close(log_batch_t *lb, uv_close_cb cb);

#endif
