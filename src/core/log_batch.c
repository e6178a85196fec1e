#include "core/log_batch.h"

#include <stdio.h>

#include "core/run.h"
#include "util/clock.h"

static void on_timer(uv_timer_t *t) { log_batch_flush(t->data); }

void log_batch_init(log_batch_t *lb, uv_loop_t *loop, log_batch_flush_fn flush, void *ctx)
{
    uv_timer_init(loop, &lb->timer);
    lb->timer.data = lb;
    lb->pending = json_array();
    lb->full_flushes = 0;
    lb->window_start = 0;
    lb->dropped = 0;
    lb->flush = flush;
    lb->ctx = ctx;
}

static void send_pending(log_batch_t *lb)
{
    json_t *lines = lb->pending;
    lb->pending = json_array();
    lb->flush(lb->ctx, lines);
}

int log_batch_add(log_batch_t *lb, json_t *line)
{
    uint64_t now = uv_now(lb->timer.loop);
    if (now - lb->window_start >= LOG_BATCH_INTERVAL_MS) {
        lb->window_start = now;
        lb->full_flushes = 0;
    }
    if (lb->full_flushes >= LOG_BATCH_BURST) {
        json_decref(line);
        lb->dropped++;
        if (!uv_is_active((uv_handle_t *)&lb->timer))
            uv_timer_start(&lb->timer, on_timer, LOG_BATCH_INTERVAL_MS, 0);
        return -1;
    }
    json_array_append_new(lb->pending, line);
    if (json_array_size(lb->pending) >= LOG_BATCH_LINES) {
        lb->full_flushes++;
        send_pending(lb);
    } else if (!uv_is_active((uv_handle_t *)&lb->timer)) {
        uv_timer_start(&lb->timer, on_timer, LOG_BATCH_INTERVAL_MS, 0);
    }
    return 0;
}

void log_batch_flush(log_batch_t *lb)
{
    uv_timer_stop(&lb->timer);
    if (lb->dropped > 0) {
        if (json_array_size(lb->pending) >= LOG_BATCH_LINES)
            send_pending(lb);
        char msg[160];
        snprintf(msg, sizeof(msg), "%ld log lines dropped: more than %d lines in %d ms", lb->dropped,
                 LOG_BATCH_LINES * LOG_BATCH_BURST, LOG_BATCH_INTERVAL_MS);
        lb->dropped = 0;
        run_log_line_t note = {.message = msg, .source = "orchestrator", .ts_ms = clock_now_ms()};
        json_array_append_new(lb->pending, run_log_line_json(&note));
    }
    if (json_array_size(lb->pending) > 0)
        send_pending(lb);
}

void log_batch_close(log_batch_t *lb, uv_close_cb cb)
{
    json_decref(lb->pending);
    lb->pending = NULL;
    uv_close((uv_handle_t *)&lb->timer, cb);
}
