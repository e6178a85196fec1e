/*
 * Which state store the service uses (REDIS_URL, REDIS_REQUIRED). Without REDIS_URL: memory. With it: Redis when it
 * answers at start-up. When it does not:
 * - REDIS_REQUIRED=true: Redis all the same (it connects in the background). The service is unavailable while Redis
 *   does not answer: health 503 with the reason (readiness keeps traffic away), runs and cancels refused with 503 by
 *   the store. It serves as soon as Redis answers, without a restart. Replicas never split.
 * - REDIS_REQUIRED=false: a private memory store (health `degraded`, with the reason) while Redis is tried in the
 *   background; the service moves to Redis at the first moment no run is active.
 */
#ifndef APP_STORE_H
#define APP_STORE_H

#include <uv.h>

#include "config.h"
#include "store/store.h"

#define APP_STORE_POLL_MS 200 /* how often the fallback looks whether it can move to Redis */

typedef enum { APP_STORE_OK, APP_STORE_DEGRADED, APP_STORE_UNAVAILABLE } app_store_state_t;

typedef struct app_store {
    uv_loop_t *loop;
    const config_t *cfg;
    store_t *store;  /* in use */
    store_t *redis;  /* the fallback's Redis store, connecting in the background, not in use yet */
    int required;    /* REDIS_REQUIRED=true with REDIS_URL */
    char where[300]; /* "Redis at host:port" */
    char reason[400];
    uv_timer_t timer;
    int (*can_move)(void *data);               /* 1: no run is active, the move may happen now */
    void (*moved)(void *data, store_t *redis); /* the service uses `redis` from now on (the old store goes) */
    void *data;
} app_store_t;

/** Opens the store (blocking up to `probe_ms` for Redis to answer). Never fails: see above. */
store_t *app_store_open(app_store_t *as, uv_loop_t *loop, const config_t *cfg, const char *replica, int probe_ms);
/** The fallback: starts looking for the moment to move to Redis (`can_move`, then `moved`). */
void app_store_watch(app_store_t *as, int (*can_move)(void *data), void (*moved)(void *data, store_t *redis),
                     void *data);
/** Health beyond the store's own: `reason` says why when not OK. */
app_store_state_t app_store_state(app_store_t *as, const char **reason);
/** Destroys the store in use and the fallback's Redis store; the loop then runs to close the timer. */
void app_store_dispose(app_store_t *as);

#endif
