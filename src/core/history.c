#include "core/history.h"

#include <string.h>

void history_init(history_t *h, int limit, int ttl_minutes)
{
    memset(h, 0, sizeof(*h));
    h->limit = limit < 1 ? 1 : limit > HISTORY_MAX ? HISTORY_MAX : limit;
    h->ttl_ms = (int64_t)ttl_minutes * 60 * 1000;
}

void history_dispose(history_t *h)
{
    for (int i = 0; i < h->count; i++)
        run_destroy(h->items[i]);
    h->count = 0;
}

static void remove_at(history_t *h, int i)
{
    run_destroy(h->items[i]);
    memmove(&h->items[i], &h->items[i + 1], (size_t)(h->count - i - 1) * sizeof(h->items[0]));
    h->count--;
}

void history_add(history_t *h, run_t *run)
{
    for (int i = 0; i < h->count; i++)
        if (strcmp(h->items[i]->id, run->id) == 0) {
            remove_at(h, i);
            break;
        }
    while (h->count >= h->limit)
        remove_at(h, h->count - 1);
    memmove(&h->items[1], &h->items[0], (size_t)h->count * sizeof(h->items[0]));
    h->items[0] = run;
    h->count++;
}

void history_expire(history_t *h, int64_t now_ms)
{
    for (int i = h->count - 1; i >= 0; i--)
        if (h->items[i]->finished_ms + h->ttl_ms < now_ms)
            remove_at(h, i);
}

run_t *history_find(const history_t *h, const char *run_id)
{
    for (int i = 0; i < h->count; i++)
        if (strcmp(h->items[i]->id, run_id) == 0)
            return h->items[i];
    return NULL;
}
