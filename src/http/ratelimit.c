#include "http/ratelimit.h"

#include <math.h>
#include <netinet/in.h>
#include <string.h>

void ratelimit_init(ratelimit_t *rl, int per_minute)
{
    memset(rl, 0, sizeof(*rl));
    rl->per_minute = per_minute;
}

static void addr_key(const struct sockaddr *sa, uint8_t key[16])
{
    memset(key, 0, 16);
    if (sa->sa_family == AF_INET6) {
        const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        memcpy(key, a, memcmp(a, v4mapped, 12) == 0 ? 16 : 8); /* IPv4-mapped: the address; else the /64 */
    } else if (sa->sa_family == AF_INET) {
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    }
}

static uint32_t hash_key(const uint8_t key[16])
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 16777619u;
    return h;
}

static void refill(const ratelimit_t *rl, ratelimit_bucket_t *b, uint64_t now_ms)
{
    double rate_per_ms = rl->per_minute / 60000.0;
    if (now_ms > b->updated_ms)
        b->tokens += (double)(now_ms - b->updated_ms) * rate_per_ms;
    if (b->tokens > rl->per_minute)
        b->tokens = rl->per_minute;
    b->updated_ms = now_ms;
}

/* Rebuilds the table without the buckets that have refilled completely. */
static void forget_full_buckets(ratelimit_t *rl, uint64_t now_ms)
{
    static ratelimit_bucket_t keep[RATELIMIT_SLOTS];
    int n = 0;
    for (int i = 0; i < RATELIMIT_SLOTS; i++) {
        ratelimit_bucket_t *b = &rl->slots[i];
        if (!b->used)
            continue;
        refill(rl, b, now_ms);
        if (b->tokens < rl->per_minute)
            keep[n++] = *b;
    }
    memset(rl->slots, 0, sizeof(rl->slots));
    rl->count = 0;
    for (int i = 0; i < n; i++) {
        uint32_t h = hash_key(keep[i].addr) % RATELIMIT_SLOTS;
        while (rl->slots[h].used)
            h = (h + 1) % RATELIMIT_SLOTS;
        rl->slots[h] = keep[i];
        rl->count++;
    }
}

static ratelimit_bucket_t *find_or_add(ratelimit_t *rl, const uint8_t key[16], uint64_t now_ms)
{
    uint32_t h = hash_key(key) % RATELIMIT_SLOTS;
    for (uint32_t i = h;; i = (i + 1) % RATELIMIT_SLOTS) {
        ratelimit_bucket_t *b = &rl->slots[i];
        if (b->used && memcmp(b->addr, key, 16) == 0)
            return b;
        if (!b->used)
            break;
    }
    if (rl->count >= RATELIMIT_SLOTS * 3 / 4) {
        if (now_ms < rl->next_sweep_ms)
            return NULL;
        forget_full_buckets(rl, now_ms);
        if (rl->count >= RATELIMIT_SLOTS * 3 / 4) {
            rl->next_sweep_ms = now_ms + 1000;
            return NULL;
        }
    }
    uint32_t i = h;
    while (rl->slots[i].used)
        i = (i + 1) % RATELIMIT_SLOTS;
    ratelimit_bucket_t *b = &rl->slots[i];
    memcpy(b->addr, key, 16);
    b->used = 1;
    b->tokens = rl->per_minute;
    b->updated_ms = now_ms;
    rl->count++;
    return b;
}

int ratelimit_take(ratelimit_t *rl, const struct sockaddr *sa, uint64_t now_ms, int *retry_after)
{
    if (rl->per_minute <= 0)
        return 0;
    uint8_t key[16];
    addr_key(sa, key);
    ratelimit_bucket_t *b = find_or_add(rl, key, now_ms);
    if (b == NULL)
        return 0;
    refill(rl, b, now_ms);
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    double wait_s = (1.0 - b->tokens) * 60.0 / rl->per_minute;
    *retry_after = (int)ceil(wait_s);
    if (*retry_after < 1)
        *retry_after = 1;
    return -1;
}
