/*
 * The generator of the demo data: xoshiro256** (Blackman and Vigna) seeded through splitmix64. Fast, small and
 * fully specified, so a seed gives the same data on every machine and in every build.
 */
#ifndef TASK_PRNG_H
#define TASK_PRNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} task_prng_t;

/** Seeds the state from a 64-bit key; different keys give unrelated streams. */
void task_prng_seed(task_prng_t *p, uint64_t key);

/** The next 64 uniformly distributed bits. */
uint64_t task_prng_next(task_prng_t *p);

/** A uniform integer in 0..bound-1 (bound >= 1), without modulo bias (Lemire's multiply-and-reject). */
uint32_t task_prng_below(task_prng_t *p, uint32_t bound);

#endif
