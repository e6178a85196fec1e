/* xoshiro256** and splitmix64, after the public-domain reference code at https://prng.di.unimi.it/. */
#include "task/prng.h"

static uint64_t prng_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t prng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void task_prng_seed(task_prng_t *p, uint64_t key)
{
    /* splitmix64 spreads even neighbouring keys over the whole state. Its output is a bijection of its counter,
     * so at most one of the four words is zero: never the all-zero state xoshiro must not start from. */
    for (int i = 0; i < 4; i++)
        p->s[i] = prng_splitmix64(&key);
}

uint64_t task_prng_next(task_prng_t *p)
{
    uint64_t *s = p->s;
    uint64_t result = prng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = prng_rotl(s[3], 45);
    return result;
}

uint32_t task_prng_below(task_prng_t *p, uint32_t bound)
{
    /* The high 32 bits of x * bound are uniform in 0..bound-1 except for the few x whose low product falls
     * under 2^32 mod bound; those are drawn again. The modulo is only computed in that rare case. */
    uint64_t m = (task_prng_next(p) >> 32) * (uint64_t)bound;
    uint32_t low = (uint32_t)m;
    if (low < bound) {
        uint32_t threshold = (0u - bound) % bound;
        while (low < threshold) {
            m = (task_prng_next(p) >> 32) * (uint64_t)bound;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}
