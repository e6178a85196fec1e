/*
 * Per-client rate limit: a token bucket per client holding at most `per_minute` tokens, refilled at
 * per_minute / 60 tokens a second. A client is an IPv4 address or an IPv6 /64 (what one host usually holds).
 * The table is bounded: when it is full, the client seen least recently is forgotten (its bucket is recreated
 * full if it comes back), so a flood of new addresses never turns limiting off for anyone who keeps coming back.
 */
#ifndef HTTP_RATELIMIT_H
#define HTTP_RATELIMIT_H

#include <stdint.h>
#include <sys/socket.h>

#define RATELIMIT_SLOTS   8192  /* clients remembered */
#define RATELIMIT_BUCKETS 16384 /* hash chains (a power of two) */

typedef struct ratelimit_entry {
    uint8_t addr[16]; /* IPv4 as ::ffff:a.b.c.d */
    double tokens;
    uint64_t updated_ms;
    int32_t chain;        /* next entry in the same hash chain, -1 at the end */
    int32_t newer, older; /* the recency list, -1 at its ends */
} ratelimit_entry_t;

typedef struct ratelimit {
    int per_minute; /* 0: no limit */
    int count;      /* entries in use: slots[0..count) */
    int32_t newest, oldest;
    int32_t heads[RATELIMIT_BUCKETS];
    ratelimit_entry_t slots[RATELIMIT_SLOTS];
} ratelimit_t;

void ratelimit_init(ratelimit_t *rl, int per_minute);

/** Takes a token for the client at `sa`. Returns 0 when allowed; else -1 with the whole seconds to wait. */
int ratelimit_take(ratelimit_t *rl, const struct sockaddr *sa, uint64_t now_ms, int *retry_after);

#endif
