/*
 * The history of older versions: a list {prefix}history of run ids, newest first. This version keeps a sorted
 * set {prefix}finished scored by end time (redis_scripts.h). When the command connection comes up and there is no
 * {prefix}finished yet, the ids of the list are copied into it with their records' end times (EXISTS, LRANGE,
 * MGET, then ZADD NX), so the history survives an upgrade. The list itself is never changed: it expires by its
 * TTL. Everything is declared as a command's keys; a key of an unexpected type just ends the copy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/run.h"
#include "store/store_redis_internal.h"
#include "util/log.h"

#define MIGRATE_MAX 100 /* RUN_HISTORY_LIMIT is at most 100 */

static void done(op_t *op, const char *why)
{
    if (why)
        log_debug("redis", "no history of an older version copied: %s", why);
    free(op);
}

static void on_records(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    op_t *op = privdata;
    store_redis_t *r = op->r;
    if (store_redis__error(reply, "copying the older history") || reply->type != REDIS_REPLY_ARRAY) {
        done(op, NULL);
        return;
    }
    char finished[STORE_REDIS_KEY_LEN], scores[MIGRATE_MAX][24], ids[MIGRATE_MAX][RUN_ID_LEN + 1], limit[24], ttl[24];
    const char *argv[3 + 2 * MIGRATE_MAX] = {"ZADD", finished, "NX"};
    int argc = 3, copied = 0;
    store_redis__key(r, finished, sizeof(finished), "finished", NULL);
    for (size_t i = 0; i < reply->elements && copied < MIGRATE_MAX; i++) {
        const redisReply *e = reply->element[i];
        if (e->type != REDIS_REPLY_STRING)
            continue; /* expired */
        run_t *run = store_redis__record(e->str, e->len, "older history entry");
        if (run == NULL)
            continue;
        if (run->finished_ms > 0 && run_status_is_terminal(run->status)) {
            snprintf(scores[copied], sizeof(scores[copied]), "%lld", (long long)run->finished_ms);
            argv[argc++] = scores[copied];
            snprintf(ids[copied], sizeof(ids[copied]), "%s", run->id);
            argv[argc++] = ids[copied];
            copied++;
        }
        run_destroy(run);
    }
    if (copied > 0) {
        snprintf(limit, sizeof(limit), "%d", -(r->history_limit + 1));
        snprintf(ttl, sizeof(ttl), "%lld", r->ttl_ms);
        const char *trim[] = {"ZREMRANGEBYRANK", finished, "0", limit}, *expire[] = {"PEXPIRE", finished, ttl};
        if (store_redis__command(r, argc, argv, store_redis__write_reply, "copying the older history") == 0 &&
            store_redis__command(r, 4, trim, store_redis__write_reply, "trimming the history") == 0 &&
            store_redis__command(r, 3, expire, store_redis__write_reply, "setting the history's TTL") == 0)
            log_info("redis", "the history of an older version (list %shistory) copied into %sfinished: %d runs",
                     r->prefix, r->prefix, copied);
    }
    done(op, copied ? NULL : "no finished run in it");
}

static void on_ids(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    op_t *op = privdata;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        done(op, reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "no answer"); /* e.g. WRONGTYPE */
        return;
    }
    char keys[MIGRATE_MAX][STORE_REDIS_KEY_LEN];
    const char *argv[1 + MIGRATE_MAX] = {"MGET"};
    int argc = 1;
    for (size_t i = 0; i < reply->elements && argc <= MIGRATE_MAX; i++) {
        const redisReply *e = reply->element[i];
        if (e->type == REDIS_REPLY_STRING && run_id_valid(e->str, e->len)) {
            store_redis__key(op->r, keys[argc - 1], STORE_REDIS_KEY_LEN, "run:", e->str);
            argv[argc] = keys[argc - 1];
            argc++;
        }
    }
    if (argc == 1) {
        done(op, "none there");
        return;
    }
    if (store_redis__command(op->r, argc, argv, on_records, op) != 0)
        done(op, NULL);
}

static void on_exists(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    op_t *op = privdata;
    if (store_redis__error(reply, "looking for the history") || reply->type != REDIS_REPLY_INTEGER ||
        reply->integer != 0) {
        done(op, NULL);
        return;
    }
    char history[STORE_REDIS_KEY_LEN], last[16];
    store_redis__key(op->r, history, sizeof(history), "history", NULL);
    snprintf(last, sizeof(last), "%d", MIGRATE_MAX - 1);
    const char *argv[] = {"LRANGE", history, "0", last};
    if (store_redis__command(op->r, 4, argv, on_ids, op) != 0)
        done(op, NULL);
}

void store_redis__migrate_history(store_redis_t *r)
{
    char finished[STORE_REDIS_KEY_LEN];
    store_redis__key(r, finished, sizeof(finished), "finished", NULL);
    const char *argv[] = {"EXISTS", finished};
    op_t *op = store_redis__op(r, NULL);
    if (store_redis__command(r, 2, argv, on_exists, op) != 0)
        free(op);
}
