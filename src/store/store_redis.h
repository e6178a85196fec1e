/* The Redis store: replicas share one lock, one history and one event stream (see redis_scripts.h). */
#ifndef STORE_STORE_REDIS_H
#define STORE_STORE_REDIS_H

#include <uv.h>

#include "config.h"
#include "store/redis_url.h"
#include "store/store.h"

#define REDIS_MAX_PENDING_WRITES 64 /* finished runs kept for writing while Redis is down */

/** Connects (asynchronously, reconnecting forever). `replica` names this process in lock tokens. */
store_t *store_redis_create(uv_loop_t *loop, const config_t *cfg, const redis_url_t *url, const char *replica);

/** Events numbered up to `seq` elsewhere (a memory store used before this one): Redis' counter goes at least there,
 *  so the next seq is higher. */
void store_redis_seq_at_least(store_t *store, uint64_t seq);

/** Whether Redis answers at `url` within `timeout_ms` (a blocking check, for start-up only). */
int store_redis_probe(const redis_url_t *url, int timeout_ms, char *err, size_t errlen);

#endif
