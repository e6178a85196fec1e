/*
 * A bench-only event source (BENCH_EVENTS=1, off by default): emits bursts of `log` events of a chosen size
 * through the normal event path, a few per loop iteration, each stamped with the wall clock in microseconds so
 * that a load client on the same machine can measure delivery latency. bench/ws_fanout drives it.
 */
#ifndef CORE_BENCH_SOURCE_H
#define CORE_BENCH_SOURCE_H

#include <stdint.h>
#include <uv.h>

#include "model/events.h"

typedef struct bench_source {
    uv_idle_t idle;
    events_t *events;
    char *padding; /* `size` bytes of text */
    uint64_t next, count;
    int per_tick;
} bench_source_t;

void bench_source_init(bench_source_t *b, uv_loop_t *loop, events_t *events);
/** Starts a burst of `count` events with `size` bytes of padding, `per_tick` per loop iteration (replacing a
 *  burst under way). Returns 0, or -1 when the numbers are out of range. */
int bench_source_start(bench_source_t *b, uint64_t count, size_t size, int per_tick);
void bench_source_close(bench_source_t *b, uv_close_cb cb);

#endif
