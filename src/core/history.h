/* Finished runs, newest first: at most `limit` of them, none older than the TTL (by finish time). */
#ifndef CORE_HISTORY_H
#define CORE_HISTORY_H

#include "model/run.h"

#define HISTORY_MAX 100

typedef struct history {
    run_t *items[HISTORY_MAX]; /* newest first; owned */
    int count;
    int limit;
    int64_t ttl_ms;
} history_t;

void history_init(history_t *h, int limit, int ttl_minutes);
void history_dispose(history_t *h);

/** Takes ownership of a finished run and puts it first (replacing an entry with the same id); trims to the limit. */
void history_add(history_t *h, run_t *run);
/** Drops runs that finished more than the TTL before `now_ms`. */
void history_expire(history_t *h, int64_t now_ms);

run_t *history_find(const history_t *h, const char *run_id);
static inline run_t *history_newest(const history_t *h)
{
    return h->count ? h->items[0] : NULL;
}

#endif
