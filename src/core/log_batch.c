#include "core/log_batch.h"

#include <stdio.h>

#include "model/run.h"
#include "util/clock.h"

void log_batch_init(log_batch_t *lb, uv_loop_t *loop, log_batch_flush_fn flush, void *ctx)
{
    uv_timer_init(loop, &lb->timer);
    lb->timer.data = lb;
    lb->pending = json_array();
    lb->pending_bytes = 0;
    lb->sent_in_window = 0;
    lb->window_start = 0;
    lb->dropped = 0;
    lb->flush = flush;
    lb->ctx = ctx;
}

/* A line's approximate size in a message: its strings and the JSON around them. */
static size_t line_bytes(json_t *line)
{
    return json_string_length(json_object_get(line, "message")) + json_string_length(json_object_get(line, "source")) +
           96;
}

/* The note that replaces dropped lines goes in as the next line. */
static void note_dropped(log_batch_t *lb)
{
    if (lb->dropped == 0)
        return;
    char msg[160];
    snprintf(msg, sizeof(msg), "%ld log lines dropped: more than %d KiB of lines were waiting to be streamed",
             lb->dropped, LOG_BATCH_MAX_PENDING_BYTES / 1024);
    lb->dropped = 0;
    run_log_line_t note = {.message = msg, .source = "orchestrator", .ts_ms = clock_now_ms()};
    json_t *line = run_log_line_json(&note);
    lb->pending_bytes += line_bytes(line);
    json_array_append_new(lb->pending, line);
}

/* Sends one message with the oldest pending lines: up to LOG_BATCH_LINES, and no more than
 * LOG_BATCH_MESSAGE_BYTES unless a single line is larger. */
static void send_one(log_batch_t *lb)
{
    size_t n = json_array_size(lb->pending), bytes = 0, take = 0;
    while (take < n && take < LOG_BATCH_LINES) {
        size_t b = line_bytes(json_array_get(lb->pending, take));
        if (take > 0 && bytes + b > LOG_BATCH_MESSAGE_BYTES)
            break;
        bytes += b;
        take++;
    }
    lb->pending_bytes -= bytes;
    lb->sent_in_window += bytes;
    json_t *lines;
    if (take == n) {
        lines = lb->pending;
        lb->pending = json_array();
    } else {
        lines = json_array();
        for (size_t i = 0; i < take; i++)
            json_array_append(lines, json_array_get(lb->pending, i));
        json_t *rest = json_array();
        for (size_t i = take; i < n; i++)
            json_array_append(rest, json_array_get(lb->pending, i));
        json_decref(lb->pending);
        lb->pending = rest;
    }
    lb->flush(lb->ctx, lines);
}

static void start_window_if_over(log_batch_t *lb)
{
    uint64_t now = uv_now(lb->timer.loop);
    if (now - lb->window_start >= LOG_BATCH_INTERVAL_MS) {
        lb->window_start = now;
        lb->sent_in_window = 0;
    }
}

static void on_timer(uv_timer_t *t)
{
    log_batch_t *lb = t->data;
    start_window_if_over(lb);
    note_dropped(lb);
    while (json_array_size(lb->pending) > 0 && lb->sent_in_window < LOG_BATCH_WINDOW_BYTES)
        send_one(lb);
    if (json_array_size(lb->pending) > 0)
        uv_timer_start(&lb->timer, on_timer, LOG_BATCH_INTERVAL_MS, 0);
}

int log_batch_add(log_batch_t *lb, json_t *line)
{
    size_t bytes = line_bytes(line);
    if (lb->pending_bytes + bytes > LOG_BATCH_MAX_PENDING_BYTES) {
        json_decref(line);
        lb->dropped++;
        return -1;
    }
    json_array_append_new(lb->pending, line);
    lb->pending_bytes += bytes;
    start_window_if_over(lb);
    if ((json_array_size(lb->pending) >= LOG_BATCH_LINES || lb->pending_bytes >= LOG_BATCH_MESSAGE_BYTES) &&
        lb->sent_in_window < LOG_BATCH_WINDOW_BYTES)
        send_one(lb);
    if (json_array_size(lb->pending) > 0 && !uv_is_active((uv_handle_t *)&lb->timer))
        uv_timer_start(&lb->timer, on_timer, LOG_BATCH_INTERVAL_MS, 0);
    return 0;
}

void log_batch_flush(log_batch_t *lb)
{
    uv_timer_stop(&lb->timer);
    note_dropped(lb);
    while (json_array_size(lb->pending) > 0)
        send_one(lb);
}

void log_batch_discard(log_batch_t *lb)
{
    json_array_clear(lb->pending);
    lb->pending_bytes = 0;
    lb->dropped = 0;
    uv_timer_stop(&lb->timer);
}

void log_batch_close(log_batch_t *lb, uv_close_cb cb)
{
    json_decref(lb->pending);
    lb->pending = NULL;
    lb->pending_bytes = 0;
    uv_timer_stop(&lb->timer);
    uv_close((uv_handle_t *)&lb->timer, cb);
}
