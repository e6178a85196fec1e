#include "core/bench_source.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_MAX_COUNT    10000000
#define BENCH_MAX_SIZE     65536
#define BENCH_MAX_PER_TICK 4096

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void on_idle(uv_idle_t *idle)
{
    bench_source_t *b = idle->data;
    for (int i = 0; i < b->per_tick && b->next < b->count; i++, b->next++) {
        json_t *line =
            json_pack("{s:s,s:n,s:s,s:s}", "message", b->padding, "timestamp", "source", "bench", "stream", "stdout");
        json_t *data = json_pack("{s:[o],s:{s:I,s:I,s:I}}", "lines", line, "bench", "i", (json_int_t)b->next, "n",
                                 (json_int_t)b->count, "t_us", (json_int_t)now_us());
        events_emit(b->events, EVENT_LOG, NULL, data);
    }
    if (b->next >= b->count)
        uv_idle_stop(idle);
}

void bench_source_init(bench_source_t *b, uv_loop_t *loop, events_t *events)
{
    memset(b, 0, sizeof(*b));
    uv_idle_init(loop, &b->idle);
    b->idle.data = b;
    b->events = events;
}

int bench_source_start(bench_source_t *b, uint64_t count, size_t size, int per_tick)
{
    if (count < 1 || count > BENCH_MAX_COUNT || size > BENCH_MAX_SIZE || per_tick < 1 || per_tick > BENCH_MAX_PER_TICK)
        return -1;
    char *padding = malloc(size + 1);
    if (padding == NULL)
        abort();
    memset(padding, 'x', size);
    padding[size] = '\0';
    free(b->padding);
    b->padding = padding;
    b->next = 0;
    b->count = count;
    b->per_tick = per_tick;
    uv_idle_start(&b->idle, on_idle);
    return 0;
}

void bench_source_close(bench_source_t *b, uv_close_cb cb)
{
    free(b->padding);
    b->padding = NULL;
    uv_close((uv_handle_t *)&b->idle, cb);
}
