/*
 * Per-client rate limit: a token bucket per client holding at most `per_minute` tokens, refilled at
 * per_minute / 60 tokens a second. A client is an IPv4 address or an IPv6 /64 (what one host usually holds).
 * The table is bounded; a full table forgets buckets that have refilled (they are the same as new ones) and,
 * when none has, lets new clients through rather than limit a stranger, trying again at most once a second.
 */
#ifndef HTTP_RATELIMIT_H
#define HTTP_RATELIMIT_H

#include <stdint.h>
#include <sys/socket.h>

#define RATELIMIT_SLOTS 8192

typedef struct ratelimit_bucket {
    uint8_t addr[16]; /* IPv4 as ::ffff:a.b.c.d */
    int used;
    double tokens;
    uint64_t updated_ms;
} ratelimit_bucket_t;

typedef struct ratelimit {
    int per_minute; /* 0: no limit */
    int count;
    uint64_t next_sweep_ms; /* a full table is not swept again before this */
    ratelimit_bucket_t slots[RATELIMIT_SLOTS];
} ratelimit_t;

void ratelimit_init(ratelimit_t *rl, int per_minute);

/** Takes a token for the client at `sa`. Returns 0 when allowed; else -1 with the whole seconds to wait. */
int ratelimit_take(ratelimit_t *rl, const struct sockaddr *sa, uint64_t now_ms, int *retry_after);

#endif
