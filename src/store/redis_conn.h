/*
 * One asynchronous Redis connection on the service's loop (hiredis + its libuv adapter) that keeps itself up:
 * a connect timeout, AUTH and SELECT from the URL, a PING every second, a watchdog that drops the connection
 * when a reply is overdue, and reconnection with exponential backoff. Commands sent while it is down fail at once.
 */
#ifndef STORE_REDIS_CONN_H
#define STORE_REDIS_CONN_H

#include <hiredis/async.h>
#include <uv.h>

#include "store/redis_url.h"

#define REDIS_CONNECT_TIMEOUT_MS 2000
#define REDIS_REPLY_TIMEOUT_MS   3000
#define REDIS_BACKOFF_MIN_MS     100
#define REDIS_BACKOFF_MAX_MS     3000

typedef struct redis_conn redis_conn_t;

typedef struct redis_conn_callbacks {
    void *data;
    /** Connected and authenticated: commands may be sent. */
    void (*on_ready)(void *data, redis_conn_t *conn);
    /** The connection went away (a reconnect is scheduled); pending commands got a NULL reply. */
    void (*on_lost)(void *data, redis_conn_t *conn);
} redis_conn_callbacks_t;

/** Reply callback: `reply` is NULL when the connection was lost before the answer came. */
typedef void (*redis_reply_fn)(redis_conn_t *conn, redisReply *reply, void *privdata);

redis_conn_t *redis_conn_create(uv_loop_t *loop, const redis_url_t *url, const char *name,
                                const redis_conn_callbacks_t *cbs);
int redis_conn_is_ready(const redis_conn_t *conn);
/** Commands sent and not yet answered. */
int redis_conn_pending(const redis_conn_t *conn);

/**
 * Sends a command. Returns 0 (then `fn` fires exactly once, with NULL if the connection is lost), or -1 when the
 * connection is not ready (then `fn` never fires). `fn` may be NULL.
 */
int redis_conn_command(redis_conn_t *conn, redis_reply_fn fn, void *privdata, int argc, const char **argv,
                       const size_t *argvlen);

/** SUBSCRIBE to one channel: `fn` fires for its confirmation and every message, and with NULL once when the
 *  connection ends. (One channel per call: hiredis keeps a callback per channel and ends each one.) */
int redis_conn_subscribe(redis_conn_t *conn, redis_reply_fn fn, void *privdata, const char *channel);

/** Closes for good; pending commands get a NULL reply; the object is freed once its handles are closed. */
void redis_conn_close(redis_conn_t *conn);

#endif
