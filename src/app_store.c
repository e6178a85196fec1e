/* Which state store the service uses, and the fallback's move to Redis (app_store.h). */
#include "app_store.h"

#include <stdio.h>
#include <string.h>

#include "store/store_redis.h"
#include "util/log.h"

static void on_poll(uv_timer_t *t)
{
    app_store_t *as = t->data;
    if (as->redis == NULL || !as->redis->ops->healthy(as->redis) || !as->can_move(as->data))
        return;
    store_t *old = as->store;
    as->store = as->redis;
    as->redis = NULL;
    uv_timer_stop(&as->timer);
    log_info("app", "%s answers and no run is active: the state store is Redis from now on", as->where);
    as->moved(as->data, as->store);
    old->ops->destroy(old);
}

/* Waits up to `ms` for both connections of a new Redis store, so the first requests find it ready. */
static void settle(app_store_t *as, store_t *store, int ms)
{
    uint64_t until = uv_now(as->loop) + (uint64_t)ms;
    while (!store->ops->healthy(store) && uv_now(as->loop) < until) {
        uv_run(as->loop, UV_RUN_NOWAIT);
        uv_sleep(5);
        uv_update_time(as->loop);
    }
}

store_t *app_store_open(app_store_t *as, uv_loop_t *loop, const config_t *cfg, const char *replica, int probe_ms)
{
    memset(as, 0, sizeof(*as));
    as->loop = loop;
    as->cfg = cfg;
    uv_timer_init(loop, &as->timer);
    as->timer.data = as;
    if (cfg->redis_url[0] == '\0')
        return as->store = store_memory_create();
    redis_url_t url;
    char err[256] = "";
    if (redis_url_parse(cfg->redis_url, &url, err, sizeof(err)) != 0) { /* config_load checked it: not expected */
        log_error("app", "REDIS_URL: %s; using the memory store", err);
        return as->store = store_memory_create();
    }
    snprintf(as->where, sizeof(as->where), "Redis at %s:%d", url.host, url.port);
    as->required = cfg->redis_required;
    int up = store_redis_probe(&url, probe_ms, err, sizeof(err)) == 0;
    store_t *redis = store_redis_create(loop, cfg, &url, replica);
    if (up)
        settle(as, redis, probe_ms);
    if (up || as->required) {
        if (!up)
            log_warn("app",
                     "%s is unreachable (%s); REDIS_REQUIRED=true: unavailable (health 503, runs refused) until it "
                     "answers",
                     as->where, err);
        log_info("app", "state store: Redis at %s:%d/%d (prefix %s, replica %s)", url.host, url.port, url.db,
                 cfg->redis_prefix, replica);
        return as->store = redis;
    }
    log_warn("app",
             "%s is unreachable (%s): starting with a private memory store; Redis is tried again in the background "
             "and used from the first moment no run is active (REDIS_REQUIRED=true refuses to serve instead)",
             as->where, err);
    as->redis = redis;
    return as->store = store_memory_create();
}

void app_store_watch(app_store_t *as, int (*can_move)(void *data), void (*moved)(void *data, store_t *redis),
                     void *data)
{
    as->can_move = can_move;
    as->moved = moved;
    as->data = data;
    if (as->redis)
        uv_timer_start(&as->timer, on_poll, APP_STORE_POLL_MS, APP_STORE_POLL_MS);
}

app_store_state_t app_store_state(app_store_t *as, const char **reason)
{
    *reason = NULL;
    if (as->redis) {
        snprintf(as->reason, sizeof(as->reason),
                 "%s has not answered since start-up: this replica serves from a private memory store until it does",
                 as->where);
        *reason = as->reason;
        return APP_STORE_DEGRADED;
    }
    if (as->required && !as->store->ops->healthy(as->store)) {
        snprintf(as->reason, sizeof(as->reason),
                 "%s does not answer and REDIS_REQUIRED=true: this replica serves nothing until it does", as->where);
        *reason = as->reason;
        return APP_STORE_UNAVAILABLE;
    }
    return as->store->ops->healthy(as->store) ? APP_STORE_OK : APP_STORE_DEGRADED;
}

void app_store_dispose(app_store_t *as)
{
    uv_close((uv_handle_t *)&as->timer, NULL);
    if (as->redis)
        as->redis->ops->destroy(as->redis);
    as->redis = NULL;
    if (as->store)
        as->store->ops->destroy(as->store);
    as->store = NULL;
}
