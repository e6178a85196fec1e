/* The Redis store's reads: the status (active and last run), the history, one run, one report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/redis_scripts.h"
#include "store/store_redis_internal.h"
#include "util/log.h"

/* ---- reads ---------------------------------------------------------------------------------------------------- */

static int send_status(op_t *op);

static void keep_hint(store_redis_t *r, int i, const redisReply *id)
{
    if (id && run_id_valid(id->str, id->len))
        memcpy(r->hint[i], id->str, RUN_ID_LEN + 1);
    else
        r->hint[i][0] = '\0';
}

static void on_status_reply(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    op_t *op = privdata;
    int need = store_redis__need(op, reply, "reading the status");
    if (need == 1 && send_status(op) == 0)
        return; /* again, with the records it found declared */
    const redisReply *active = store_redis__element(reply, 1, REDIS_REPLY_STRING),
                     *last = store_redis__element(reply, 2, REDIS_REPLY_STRING),
                     *leased = store_redis__element(reply, 3, REDIS_REPLY_INTEGER);
    if (need != 0 || store_redis__error(reply, "reading the status") || active == NULL || last == NULL ||
        leased == NULL) {
        op->cb.status(op->data, 0, NULL, 0, NULL);
    } else {
        /* the next status call declares these two up front: one call while they stay the same */
        keep_hint(op->r, 0, store_redis__element(reply, 4, REDIS_REPLY_STRING));
        keep_hint(op->r, 1, store_redis__element(reply, 5, REDIS_REPLY_STRING));
        op->cb.status(op->data, 1, store_redis__record(active->str, active->len, "active run"), leased->integer == 1,
                      store_redis__record(last->str, last->len, "last run"));
    }
    free(op);
}

static int send_status(op_t *op)
{
    store_redis_t *r = op->r;
    char active[STORE_REDIS_KEY_LEN], finished[STORE_REDIS_KEY_LEN], lock[STORE_REDIS_KEY_LEN];
    char runs[STORE_REDIS_MAX_RUN_KEYS][STORE_REDIS_KEY_LEN];
    store_redis__key(r, active, sizeof(active), "active", NULL);
    store_redis__key(r, finished, sizeof(finished), "finished", NULL);
    store_redis__key(r, lock, sizeof(lock), "lock", NULL);
    const char *keys[3 + STORE_REDIS_MAX_RUN_KEYS] = {active, finished, lock}, *args[] = {r->prefix};
    int nkeys = store_redis__run_keys(r, op, keys, 3, runs);
    return store_redis__eval(r, SCRIPT_LOAD_STATUS, nkeys, keys, 1, args, on_status_reply, op);
}

void store_redis__load_status(store_t *store, store_status_cb cb, void *data)
{
    op_t *op = store_redis__hinted(store_redis__op((store_redis_t *)store, data));
    op->cb.status = cb;
    if (send_status(op) != 0) {
        free(op);
        cb(data, 0, NULL, 0, NULL);
    }
}

static void on_runs_reply(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    op_t *op = privdata;
    if (store_redis__error(reply, "reading runs") ||
        (reply->type != REDIS_REPLY_ARRAY && reply->type != REDIS_REPLY_NIL && reply->type != REDIS_REPLY_STRING)) {
        op->cb.runs(op->data, 0, NULL, 0);
        free(op);
        return;
    }
    run_t *runs[STORE_REDIS_MAX_HISTORY];
    int n = 0;
    if (reply->type == REDIS_REPLY_STRING) {
        if ((runs[0] = store_redis__record(reply->str, reply->len, "run")) != NULL)
            n = 1;
    } else if (reply->type == REDIS_REPLY_ARRAY) {
        /* the records of the newest finished runs, newest first; those expired (nil) are skipped */
        for (size_t i = 0; i < reply->elements && n < op->limit && n < STORE_REDIS_MAX_HISTORY; i++) {
            const redisReply *e = reply->element[i];
            if (e->type == REDIS_REPLY_STRING && (runs[n] = store_redis__record(e->str, e->len, "history entry")))
                n++;
        }
    }
    op->cb.runs(op->data, 1, runs, n);
    free(op);
}

/* The history in two reads: the ids of the finished runs, newest first (ZREVRANGE), then their records (MGET). */
static void on_history_ids(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    op_t *op = privdata;
    store_redis_t *r = op->r;
    if (reply && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "WRONGTYPE", 9) == 0) {
        log_warn("redis",
                 "the key %sfinished is not a sorted set of finished runs (written by something else): "
                 "the history reads as empty until the next run ends and replaces it",
                 r->prefix);
        op->cb.runs(op->data, 1, NULL, 0);
        free(op);
        return;
    }
    if (store_redis__error(reply, "reading the history") || reply->type != REDIS_REPLY_ARRAY) {
        op->cb.runs(op->data, 0, NULL, 0);
        free(op);
        return;
    }
    const char *argv[1 + STORE_REDIS_MAX_HISTORY] = {"MGET"};
    char keys[STORE_REDIS_MAX_HISTORY][STORE_REDIS_KEY_LEN];
    int n = 1;
    for (size_t i = 0; i < reply->elements && n <= STORE_REDIS_MAX_HISTORY; i++) {
        const redisReply *e = reply->element[i];
        if (e->type == REDIS_REPLY_STRING && run_id_valid(e->str, e->len)) {
            store_redis__key(r, keys[n - 1], STORE_REDIS_KEY_LEN, "run:", e->str);
            argv[n] = keys[n - 1];
            n++;
        }
    }
    if (n == 1) {
        op->cb.runs(op->data, 1, NULL, 0);
        free(op);
        return;
    }
    if (store_redis__command(r, n, argv, on_runs_reply, op) != 0) {
        op->cb.runs(op->data, 0, NULL, 0);
        free(op);
    }
}

void store_redis__load_history(store_t *store, int limit, store_runs_cb cb, void *data)
{
    store_redis_t *r = (store_redis_t *)store;
    char finished[STORE_REDIS_KEY_LEN], last[16];
    store_redis__key(r, finished, sizeof(finished), "finished", NULL);
    /* a few more ids than asked for, in case the newest records expired */
    snprintf(last, sizeof(last), "%d", STORE_REDIS_MAX_HISTORY - 1);
    const char *argv[] = {"ZREVRANGE", finished, "0", last};
    op_t *op = store_redis__op(r, data);
    op->cb.runs = cb;
    op->limit = limit < 1 ? 1 : limit > 100 ? 100 : limit;
    if (store_redis__command(r, 4, argv, on_history_ids, op) != 0) {
        free(op);
        cb(data, 0, NULL, 0);
    }
}

/* GET <prefix><name><run id>, answered by `fn` with `op`. Returns 0, or -1 (op freed) when it cannot be sent. */
static int get_key(store_redis_t *r, const char *name, const char *run_id, redis_reply_fn fn, op_t *op)
{
    char k[128];
    store_redis__key(r, k, sizeof(k), name, run_id);
    const char *argv[] = {"GET", k};
    if (store_redis__command(r, 2, argv, fn, op) == 0)
        return 0;
    free(op);
    return -1;
}

void store_redis__load_run(store_t *store, const char *run_id, store_runs_cb cb, void *data)
{
    op_t *op = store_redis__op((store_redis_t *)store, data);
    op->cb.runs = cb;
    if (get_key((store_redis_t *)store, "run:", run_id, on_runs_reply, op) != 0)
        cb(data, 0, NULL, 0);
}

static void on_text_reply(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    op_t *op = privdata;
    if (store_redis__error(reply, "reading a report") ||
        (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_NIL))
        op->cb.text(op->data, 0, NULL, 0);
    else if (reply->type == REDIS_REPLY_NIL)
        op->cb.text(op->data, 1, NULL, 0);
    else
        op->cb.text(op->data, 1, reply->str, reply->len);
    free(op);
}

void store_redis__load_report(store_t *store, const char *run_id, store_text_cb cb, void *data)
{
    op_t *op = store_redis__op((store_redis_t *)store, data);
    op->cb.text = cb;
    if (get_key((store_redis_t *)store, "report:", run_id, on_text_reply, op) != 0)
        cb(data, 0, NULL, 0);
}
