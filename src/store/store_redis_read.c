/* The Redis store's reads: the status (active and last run), the history, one run, one report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/redis_scripts.h"
#include "store/store_redis_internal.h"

/* ---- reads ---------------------------------------------------------------------------------------------------- */

static void on_status_reply(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    op_t *op = privdata;
    const redisReply *active = store_redis__element(reply, 0, REDIS_REPLY_STRING),
                     *last = store_redis__element(reply, 1, REDIS_REPLY_STRING),
                     *leased = store_redis__element(reply, 2, REDIS_REPLY_INTEGER);
    if (store_redis__error(reply, "reading the status") || active == NULL || last == NULL || leased == NULL)
        op->cb.status(op->data, 0, NULL, 0, NULL);
    else
        op->cb.status(op->data, 1, store_redis__record(active->str, active->len, "active run"), leased->integer == 1,
                      store_redis__record(last->str, last->len, "last run"));
    free(op);
}

void store_redis__load_status(store_t *store, store_status_cb cb, void *data)
{
    store_redis_t *r = (store_redis_t *)store;
    char active[128], history[128], lock[128];
    store_redis__key(r, active, sizeof(active), "active", NULL);
    store_redis__key(r, history, sizeof(history), "history", NULL);
    store_redis__key(r, lock, sizeof(lock), "lock", NULL);
    const char *keys[] = {active, history, lock}, *args[] = {r->prefix};
    op_t *op = store_redis__op(r, data);
    op->cb.status = cb;
    if (store_redis__eval(r, SCRIPT_LOAD_STATUS, 3, keys, 1, args, on_status_reply, op) != 0) {
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
    run_t *runs[128];
    int n = 0;
    if (reply->type == REDIS_REPLY_STRING) {
        if ((runs[0] = store_redis__record(reply->str, reply->len, "run")) != NULL)
            n = 1;
    } else if (reply->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < reply->elements && n < 128; i++) {
            const redisReply *e = reply->element[i];
            if (e->type == REDIS_REPLY_STRING && (runs[n] = store_redis__record(e->str, e->len, "history entry")))
                n++;
        }
    }
    op->cb.runs(op->data, 1, runs, n);
    free(op);
}

void store_redis__load_history(store_t *store, int limit, store_runs_cb cb, void *data)
{
    store_redis_t *r = (store_redis_t *)store;
    char history[128], lim[16];
    store_redis__key(r, history, sizeof(history), "history", NULL);
    snprintf(lim, sizeof(lim), "%d", limit < 1 ? 1 : limit > 100 ? 100 : limit);
    const char *keys[] = {history}, *args[] = {r->prefix, lim};
    op_t *op = store_redis__op(r, data);
    op->cb.runs = cb;
    if (store_redis__eval(r, SCRIPT_LOAD_HISTORY, 1, keys, 2, args, on_runs_reply, op) != 0) {
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
