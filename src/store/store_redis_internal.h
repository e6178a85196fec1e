/* What the files of the Redis store share (store_redis.c, store_redis_util.c, store_redis_read.c,
 * store_redis_channel.c); not for other modules. */
#ifndef STORE_STORE_REDIS_INTERNAL_H
#define STORE_STORE_REDIS_INTERNAL_H

#include <hiredis/hiredis.h>

#include "store/redis_conn.h"
#include "store/store_redis.h"

#define STORE_REDIS_KEY_LEN 128 /* a key: the prefix (at most 72 bytes), a name and a run id */

/* A finished run to record. It stays queued until Redis confirms the write: one sent into a connection that then
 * dies is sent again when Redis is back. */
typedef struct pending_finish {
    struct pending_finish *next;
    struct store_redis *r;
    char id[RUN_ID_LEN + 1];
    char *token, *record, *report;
    int64_t finished_ms;
    int restore;   /* only if Redis has no record of it (after a restart that lost everything) */
    int in_flight; /* sent, no reply yet */
    int delayed;   /* waited for Redis: say so once it is recorded */
} pending_finish_t;

typedef struct store_redis {
    store_t super;
    uv_loop_t *loop;
    redis_conn_t *cmd, *sub;
    int subscribed;
    int cmd_was_ready; /* the command connection has been up before: a ready now is a reconnect */
    store_listener_t listener;
    char prefix[72]; /* "{REDIS_PREFIX}" */
    char replica[64];
    long long lease_ms, ttl_ms;
    int history_limit;
    uint64_t last_seq;
    char dirty_id[RUN_ID_LEN + 1]; /* save_active that waits for Redis */
    char *dirty_record;
    pending_finish_t *finished, **finished_tail; /* save_finished that wait for Redis, in order */
    int finished_count;
    char hint[2][RUN_ID_LEN + 1]; /* the active and the newest finished run last seen: declared up front */
} store_redis_t;

#define STORE_REDIS_MAX_RUN_KEYS 16  /* run keys one script call declares */
#define STORE_REDIS_MAX_TRIES    4   /* calls of a script that needs run keys it was not given */
#define STORE_REDIS_MAX_HISTORY  128 /* finished ids read for the history (RUN_HISTORY_LIMIT is at most 100) */

/* One call in flight: what to call back when its reply comes. */
typedef struct op {
    store_redis_t *r;
    void *data;
    union {
        store_acquire_cb acquire;
        store_status_cb status;
        store_runs_cb runs;
        store_text_cb text;
        store_renew_cb renew;
        store_orphan_cb orphan;
        void (*release)(void *data, int ok);
    } cb;
    char id[RUN_ID_LEN + 1];
    /* a script that reads run records by ids it finds in Redis: the ids whose keys the call declares, and the
     * calls made so far (store_redis__need) */
    int nruns, tries;
    char runs[STORE_REDIS_MAX_RUN_KEYS][RUN_ID_LEN + 1];
    char *record; /* the acquire's run record, sent again with each call */
    int limit;    /* the history's: how many runs to answer */
} op_t;

/* ---- store_redis_util.c: keys, commands, replies ---- */

extern uint64_t store_redis__errors; /* commands that failed or got no answer (one store per process) */

op_t *store_redis__op(store_redis_t *r, void *data);
/** `<prefix><name><id>` into `out`. */
void store_redis__key(const store_redis_t *r, char *out, size_t len, const char *name, const char *id);
/** The lock token of this replica for a run. */
void store_redis__token(const store_redis_t *r, const char *run_id, char *out, size_t len);
/** 1 (and counts it) when the reply is missing or an error. */
int store_redis__error(const redisReply *reply, const char *what);
/** Sends a command; one that cannot be sent counts as an error. 0 or -1 (then `fn` never fires). */
int store_redis__command(store_redis_t *r, int argc, const char **argv, redis_reply_fn fn, void *privdata);
/** Adds `id` (a run id) to the run keys `op` declares; 0, or -1 when it is not a run id or there is no room. */
int store_redis__declare(op_t *op, const char *id, size_t len);
/** Declares the run ids last seen (the hint), then returns `op`. */
op_t *store_redis__hinted(op_t *op);
/** Writes the keys of the runs `op` declares into `bufs` and points `keys[n..]` at them; the new key count. */
int store_redis__run_keys(const store_redis_t *r, const op_t *op, const char **keys, int n,
                          char bufs[][STORE_REDIS_KEY_LEN]);
/** For the reply of a script that reads run records by ids it finds in Redis (redis_scripts.h): 1 when it asks
 *  for run keys and the call should go again with them (now declared in `op`); -1 when it asks but cannot get
 *  them (too many tries, bad ids: logged and counted as an error); 0 when it is the answer. */
int store_redis__need(op_t *op, const redisReply *reply, const char *what);
/** EVAL `script` with its keys and args. */
int store_redis__eval(store_redis_t *r, const char *script, int nkeys, const char *const *keys, int nargs,
                      const char *const *args, redis_reply_fn fn, void *privdata);
/** A run from a record, or NULL (logged) when there is none or it is bad. */
run_t *store_redis__record(const char *text, size_t len, const char *what);
/** Element `i` of an array reply when it has `type`, else NULL. */
const redisReply *store_redis__element(const redisReply *reply, size_t i, int type);

/* ---- store_redis_read.c ---- */
void store_redis__load_status(store_t *store, store_status_cb cb, void *data);
void store_redis__load_history(store_t *store, int limit, store_runs_cb cb, void *data);
void store_redis__load_run(store_t *store, const char *run_id, store_runs_cb cb, void *data);
void store_redis__load_report(store_t *store, const char *run_id, store_text_cb cb, void *data);

/* ---- store_redis_migrate.c ---- */
/** Copies the history list of an older version into the sorted set when there is none yet (asynchronous). */
void store_redis__migrate_history(store_redis_t *r);

/* ---- store_redis_channel.c ---- */
int store_redis__publish(store_t *store, const event_t *ev);
void store_redis__request_cancel(store_t *store, const char *run_id);
/** The pub/sub connection is up: subscribe to the events and control channels. */
void store_redis__sub_ready(void *data, redis_conn_t *conn);
void store_redis__sub_lost(void *data, redis_conn_t *conn);
/** A write whose reply only matters when it is an error (`privdata`: what it was). */
void store_redis__write_reply(redis_conn_t *conn, redisReply *reply, void *privdata);

#define STORE_REDIS_MAX_PARAMS 40 /* numkeys, keys and arguments of one script call */

/* store_redis.c: queues a finished run's record until Redis confirms it (restore: only if Redis has none). */
void store_redis__queue_finished(store_t *store, const run_t *run, const char *report_json, int ours, int restore);

#endif
