#include "http/ratelimit.h"

#include <math.h>
#include <string.h>

#include "http/client_addr.h"

void ratelimit_init(ratelimit_t *rl, int per_minute)
{
    memset(rl, 0, sizeof(*rl));
    rl->per_minute = per_minute;
    rl->newest = rl->oldest = -1;
    for (int i = 0; i < RATELIMIT_BUCKETS; i++)
        rl->heads[i] = -1;
}

static uint32_t hash_key(const uint8_t key[16])
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 16777619u;
    return h & (RATELIMIT_BUCKETS - 1);
}

static void refill(const ratelimit_t *rl, ratelimit_entry_t *e, uint64_t now_ms)
{
    double rate_per_ms = rl->per_minute / 60000.0;
    if (now_ms > e->updated_ms)
        e->tokens += (double)(now_ms - e->updated_ms) * rate_per_ms;
    if (e->tokens > rl->per_minute)
        e->tokens = rl->per_minute;
    e->updated_ms = now_ms;
}

/* ---- the recency list: newest ... oldest ---- */

static void list_unlink(ratelimit_t *rl, int32_t i)
{
    ratelimit_entry_t *e = &rl->slots[i];
    if (e->newer >= 0)
        rl->slots[e->newer].older = e->older;
    else
        rl->newest = e->older;
    if (e->older >= 0)
        rl->slots[e->older].newer = e->newer;
    else
        rl->oldest = e->newer;
}

static void list_push_newest(ratelimit_t *rl, int32_t i)
{
    ratelimit_entry_t *e = &rl->slots[i];
    e->newer = -1;
    e->older = rl->newest;
    if (rl->newest >= 0)
        rl->slots[rl->newest].newer = i;
    rl->newest = i;
    if (rl->oldest < 0)
        rl->oldest = i;
}

/* Takes the oldest entry out of its hash chain and the list; returns its slot for reuse. */
static int32_t evict_oldest(ratelimit_t *rl)
{
    int32_t victim = rl->oldest;
    int32_t *link = &rl->heads[hash_key(rl->slots[victim].addr)];
    while (*link != victim)
        link = &rl->slots[*link].chain;
    *link = rl->slots[victim].chain;
    list_unlink(rl, victim);
    return victim;
}

static ratelimit_entry_t *find_or_add(ratelimit_t *rl, const uint8_t key[16], uint64_t now_ms)
{
    uint32_t h = hash_key(key);
    for (int32_t i = rl->heads[h]; i >= 0; i = rl->slots[i].chain) {
        if (memcmp(rl->slots[i].addr, key, 16) == 0) {
            if (rl->newest != i) {
                list_unlink(rl, i);
                list_push_newest(rl, i);
            }
            return &rl->slots[i];
        }
    }
    int32_t i = rl->count < RATELIMIT_SLOTS ? rl->count++ : evict_oldest(rl);
    ratelimit_entry_t *e = &rl->slots[i];
    memcpy(e->addr, key, 16);
    e->tokens = rl->per_minute;
    e->updated_ms = now_ms;
    e->chain = rl->heads[h];
    rl->heads[h] = i;
    list_push_newest(rl, i);
    return e;
}

int ratelimit_take(ratelimit_t *rl, const struct sockaddr *sa, uint64_t now_ms, int *retry_after)
{
    if (rl->per_minute <= 0)
        return 0;
    uint8_t key[16];
    client_addr_key(sa, key);
    ratelimit_entry_t *e = find_or_add(rl, key, now_ms);
    refill(rl, e, now_ms);
    if (e->tokens >= 1.0) {
        e->tokens -= 1.0;
        return 0;
    }
    double wait_s = (1.0 - e->tokens) * 60.0 / rl->per_minute;
    *retry_after = (int)ceil(wait_s);
    if (*retry_after < 1)
        *retry_after = 1;
    return -1;
}
