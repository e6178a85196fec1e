#include "store/store_redis_internal.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/run_codec.h"
#include "store/redis_conn.h"
#include "store/redis_eval.h"
#include "store/redis_scripts.h"
#include "util/clock.h"
#include "util/log.h"

/* ---- writes that wait for Redis ------------------------------------------------------------------------------- */

void store_redis__write_reply(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    store_redis__error(reply, privdata ? (const char *)privdata : "a write");
}

static int write_active(store_redis_t *r, const char *id, const char *record)
{
    char active[128], run_key[128];
    store_redis__key(r, active, sizeof(active), "active", NULL);
    store_redis__key(r, run_key, sizeof(run_key), "run:", id);
    const char *keys[] = {active, run_key}, *args[] = {id, record};
    return store_redis__eval(r, SCRIPT_SAVE_ACTIVE, 2, keys, 2, args, store_redis__write_reply, NULL);
}

static void free_finish(pending_finish_t *f)
{
    free(f->token);
    free(f->record);
    free(f->report);
    free(f);
}

static void unlink_finish(store_redis_t *r, pending_finish_t *f)
{
    pending_finish_t **pp = &r->finished;
    while (*pp && *pp != f)
        pp = &(*pp)->next;
    if (*pp == NULL)
        return;
    *pp = f->next;
    if (r->finished_tail == &f->next)
        r->finished_tail = pp;
    r->finished_count--;
}

static void on_finish_reply(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    pending_finish_t *f = privdata;
    store_redis_t *r = f->r;
    f->in_flight = 0;
    if (store_redis__error(reply, "recording a finished run") || reply->type != REDIS_REPLY_INTEGER) {
        if (!f->delayed)
            log_warn("redis", "run %s will be recorded when Redis is back", f->id);
        f->delayed = 1; /* sent again at the next connect */
        return;
    }
    long long code = reply->integer;
    if (code >= 10) {
        log_warn("redis",
                 "the key %sfinished was not a sorted set of finished runs (written by something else): "
                 "replaced, the history starts again from run %s",
                 r->prefix, f->id);
        code -= 10;
    }
    if (code == 1 && f->restore)
        log_info("redis", "run %s recorded again: Redis had lost it", f->id);
    if (code == 2)
        log_warn("redis", "run %s: another replica recorded its end first; its record stays", f->id);
    else if (f->delayed)
        log_info("redis", "run %s recorded after the outage", f->id);
    unlink_finish(r, f);
    free_finish(f);
}

static int write_finished(store_redis_t *r, pending_finish_t *f)
{
    char lock[128], active[128], run_key[128], history[128], report[128], limit[16], ttl[24], finished[24];
    store_redis__key(r, lock, sizeof(lock), "lock", NULL);
    store_redis__key(r, active, sizeof(active), "active", NULL);
    store_redis__key(r, run_key, sizeof(run_key), "run:", f->id);
    store_redis__key(r, history, sizeof(history), "finished", NULL);
    store_redis__key(r, report, sizeof(report), "report:", f->id);
    snprintf(limit, sizeof(limit), "%d", r->history_limit);
    snprintf(ttl, sizeof(ttl), "%lld", r->ttl_ms);
    const char *keys[] = {lock, active, run_key, history, report};
    snprintf(finished, sizeof(finished), "%lld", (long long)f->finished_ms);
    const char *args[] = {f->token, f->id, f->record, limit, ttl, f->report, r->replica, f->restore ? "1" : "0",
                          finished};
    if (store_redis__eval(r, SCRIPT_FINISH, 5, keys, 9, args, on_finish_reply, f) != 0)
        return -1;
    f->in_flight = 1;
    return 0;
}

/* Sends what waits for Redis, oldest first: finished runs until Redis confirms them, then the newest active
 * record. */
static void flush_pending(store_redis_t *r)
{
    for (pending_finish_t *f = r->finished; f; f = f->next)
        if (!f->in_flight && write_finished(r, f) != 0)
            break;
    if (r->dirty_record && write_active(r, r->dirty_id, r->dirty_record) == 0) {
        free(r->dirty_record);
        r->dirty_record = NULL;
    }
}

static void redis_save_active(store_t *store, const run_t *run)
{
    store_redis_t *r = (store_redis_t *)store;
    char *record = run_record_dumps(run, r->replica);
    if (record && write_active(r, run->id, record) == 0) {
        free(record);
        return;
    }
    free(r->dirty_record); /* only the newest state matters */
    r->dirty_record = record;
    snprintf(r->dirty_id, sizeof(r->dirty_id), "%s", run->id);
}

static void redis_save_finished(store_t *store, const run_t *run, const char *report_json, int ours)
{
    store_redis__queue_finished(store, run, report_json, ours, 0);
}

void store_redis__queue_finished(store_t *store, const run_t *run, const char *report_json, int ours, int restore)
{
    store_redis_t *r = (store_redis_t *)store;
    if (r->finished_count >= REDIS_MAX_PENDING_WRITES) {
        log_error("redis", "run %s cannot be recorded: Redis is away and %d runs already wait", run->id,
                  r->finished_count);
        return;
    }
    pending_finish_t *f = calloc(1, sizeof(*f));
    if (f == NULL)
        abort();
    char token[160] = "";
    if (ours)
        store_redis__token(r, run->id, token, sizeof(token));
    f->r = r;
    f->restore = restore;
    f->finished_ms = run->finished_ms;
    snprintf(f->id, sizeof(f->id), "%s", run->id);
    f->token = strdup(token);
    f->record = run_record_dumps(run, r->replica);
    f->report = strdup(report_json ? report_json : "");
    if (f->record == NULL) {
        log_error("redis", "run %s cannot be recorded: its record could not be encoded", run->id);
        free_finish(f);
        return;
    }
    if (r->dirty_record && strcmp(r->dirty_id, run->id) == 0) {
        free(r->dirty_record); /* the finished record supersedes it */
        r->dirty_record = NULL;
    }
    *r->finished_tail = f;
    r->finished_tail = &f->next;
    r->finished_count++;
    if (!restore && (!redis_conn_is_ready(r->cmd) || (f != r->finished && !r->finished->in_flight))) {
        f->delayed = 1;
        log_warn("redis", "run %s will be recorded when Redis is back", run->id);
    }
    flush_pending(r);
}

/* ---- the lock ------------------------------------------------------------------------------------------------- */

/* The keys and arguments every lock script of a run takes. */
typedef struct lock_args {
    char lock[128], active[128], run[128], token[160], lease[24];
} lock_args_t;

static void lock_args(const store_redis_t *r, const char *run_id, lock_args_t *a)
{
    store_redis__key(r, a->lock, sizeof(a->lock), "lock", NULL);
    store_redis__key(r, a->active, sizeof(a->active), "active", NULL);
    store_redis__key(r, a->run, sizeof(a->run), "run:", run_id);
    store_redis__token(r, run_id, a->token, sizeof(a->token));
    snprintf(a->lease, sizeof(a->lease), "%lld", r->lease_ms);
}

static int send_acquire(op_t *op);

static void on_acquire_reply(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    op_t *op = privdata;
    int need = store_redis__need(op, reply, "taking the run lock");
    if (need == 1 && send_acquire(op) == 0)
        return; /* again, with the record of the holder or the orphan declared */
    const redisReply *taken = store_redis__element(reply, 0, REDIS_REPLY_INTEGER),
                     *rec = store_redis__element(reply, 1, REDIS_REPLY_STRING);
    if (need != 0 || store_redis__error(reply, "taking the run lock") || taken == NULL || rec == NULL) {
        op->cb.acquire(op->data, STORE_ERROR, NULL, NULL);
    } else if (taken->integer == 1) {
        op->cb.acquire(op->data, STORE_ACQUIRED, NULL, store_redis__record(rec->str, rec->len, "orphaned run"));
    } else {
        op->cb.acquire(op->data, STORE_HELD, store_redis__record(rec->str, rec->len, "lock holder's run"), NULL);
    }
    free(op->record);
    free(op);
}

static int send_acquire(op_t *op)
{
    store_redis_t *r = op->r;
    lock_args_t a;
    lock_args(r, op->id, &a);
    char runs[STORE_REDIS_MAX_RUN_KEYS][STORE_REDIS_KEY_LEN];
    const char *keys[3 + STORE_REDIS_MAX_RUN_KEYS] = {a.lock, a.active, a.run};
    int nkeys = store_redis__run_keys(r, op, keys, 3, runs);
    const char *args[] = {a.token, a.lease, op->id, op->record, r->prefix};
    return store_redis__eval(r, SCRIPT_ACQUIRE, nkeys, keys, 5, args, on_acquire_reply, op);
}

static void redis_acquire(store_t *store, const run_t *run, store_acquire_cb cb, void *data)
{
    store_redis_t *r = (store_redis_t *)store;
    op_t *op = store_redis__hinted(store_redis__op(r, data));
    op->cb.acquire = cb;
    snprintf(op->id, sizeof(op->id), "%s", run->id);
    op->record = run_record_dumps(run, r->replica);
    if (op->record == NULL || send_acquire(op) != 0) {
        free(op->record);
        free(op);
        cb(data, STORE_ERROR, NULL, NULL);
    }
}

static void on_renew_reply(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    op_t *op = privdata;
    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        store_redis__error(reply, "renewing the lease");
        op->cb.renew(op->data, -1); /* unknown: Redis is away */
    } else {
        op->cb.renew(op->data, reply->integer == 1);
    }
    free(op);
}

static void redis_renew(store_t *store, const run_t *run, store_renew_cb cb, void *data)
{
    store_redis_t *r = (store_redis_t *)store;
    lock_args_t a;
    lock_args(r, run->id, &a);
    const char *keys[] = {a.lock, a.active, a.run}, *args[] = {a.token, a.lease, run->id};
    op_t *op = store_redis__op(r, data);
    op->cb.renew = cb;
    if (store_redis__eval(r, SCRIPT_RENEW, 3, keys, 3, args, on_renew_reply, op) != 0) {
        free(op);
        cb(data, -1);
    }
}

static void on_release_reply(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    op_t *op = privdata;
    int ok =
        !store_redis__error(reply, "handing the run over") && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1;
    op->cb.release(op->data, ok);
    free(op);
}

static void redis_release(store_t *store, const run_t *run, void (*cb)(void *data, int ok), void *data)
{
    store_redis_t *r = (store_redis_t *)store;
    lock_args_t a;
    lock_args(r, run->id, &a);
    char channel[128];
    store_redis__key(r, channel, sizeof(channel), "control", NULL);
    char *record = run_record_dumps(run, r->replica);
    const char *keys[] = {a.lock, a.active, a.run}, *args[] = {a.token, run->id, record ? record : "", channel};
    op_t *op = store_redis__op(r, data);
    op->cb.release = cb;
    if (record == NULL || store_redis__eval(r, SCRIPT_RELEASE, 3, keys, 4, args, on_release_reply, op) != 0) {
        free(op);
        cb(data, 0);
    }
    free(record);
}

/* An orphan claimed (its lock is ours) whose record cannot be read: a record of the run ended as failed, with only
 * what is known (its id), for the orchestrator to write in its place, which frees the lock and the active run. */
static run_t *unreadable_orphan(const char *id)
{
    run_params_t params = {.batch_count = 1, .rows_per_batch = 1, .triggered_by = "unknown"};
    run_t *run = run_create(&params, "unknown");
    snprintf(run->id, sizeof(run->id), "%s", id);
    snprintf(run->job_name, sizeof(run->job_name), "unknown-%s", id);
    run->status = RUN_FAILED;
    run->finished_ms = clock_now_ms();
    run_set_message(run, "orchestrator lost, and the run's record in Redis could not be read: ended without it");
    log_error("redis", "run %s: its replica stopped renewing its lease and its record cannot be read; it is ended "
                       "as failed with a record that keeps only its id",
              id);
    return run;
}

static void on_orphan_reply(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    op_t *op = privdata;
    const redisReply *id = store_redis__element(reply, 0, REDIS_REPLY_STRING),
                     *rec = store_redis__element(reply, 1, REDIS_REPLY_STRING);
    char seen[RUN_ID_LEN + 1] = "";
    run_t *claimed = NULL;
    if (!store_redis__error(reply, "looking for an orphaned run") && id && rec && run_id_valid(id->str, id->len)) {
        memcpy(seen, id->str, id->len + 1);
        if (rec->len > 0 && (claimed = store_redis__record(rec->str, rec->len, "orphaned run")) == NULL)
            claimed = unreadable_orphan(seen); /* its lock is ours now: it must end, or it would stay active */
    }
    op->cb.orphan(op->data, seen[0] ? seen : NULL, claimed);
    free(op);
}

static void redis_find_orphan(store_t *store, const char *candidate, store_orphan_cb cb, void *data)
{
    store_redis_t *r = (store_redis_t *)store;
    lock_args_t a;
    lock_args(r, candidate ? candidate : "none", &a);
    const char *keys[] = {a.active, a.lock, a.run}, *args[] = {candidate ? candidate : "", a.token, a.lease};
    op_t *op = store_redis__op(r, data);
    op->cb.orphan = cb;
    if (store_redis__eval(r, SCRIPT_FIND_ORPHAN, 3, keys, 3, args, on_orphan_reply, op) != 0) {
        free(op);
        cb(data, NULL, NULL);
    }
}

static void on_seq_reply(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    store_redis_t *r = privdata;
    if (!store_redis__error(reply, "reading the event counter") && reply->type == REDIS_REPLY_INTEGER &&
        (uint64_t)reply->integer > r->last_seq)
        r->last_seq = (uint64_t)reply->integer;
}

static void seq_at_least(store_redis_t *r)
{
    char seq_key[128], at_least[24];
    store_redis__key(r, seq_key, sizeof(seq_key), "seq", NULL);
    snprintf(at_least, sizeof(at_least), "%llu", (unsigned long long)r->last_seq);
    const char *keys[] = {seq_key}, *args[] = {at_least};
    store_redis__eval(r, SCRIPT_SEQ_AT_LEAST, 1, keys, 1, args, on_seq_reply, r);
}

void store_redis_seq_at_least(store_t *store, uint64_t seq)
{
    store_redis_t *r = (store_redis_t *)store;
    if (seq > r->last_seq)
        r->last_seq = seq;
    if (redis_conn_is_ready(r->cmd))
        seq_at_least(r);
}

static void on_cmd_ready(void *data, redis_conn_t *conn)
{
    (void)conn;
    store_redis_t *r = data;
    redis_eval_connection_new();
    /* the counter never goes back, even if Redis lost it, so seqs stay increasing for every client */
    seq_at_least(r);
    store_redis__migrate_history(r);
    flush_pending(r);
    if (r->cmd_was_ready && r->listener.on_reconnect)
        r->listener.on_reconnect(r->listener.data);
    r->cmd_was_ready = 1;
}

/* ---- life cycle ----------------------------------------------------------------------------------------------- */

static void redis_restore_finished(store_t *store, const run_t *run)
{
    store_redis__queue_finished(store, run, NULL, 0, 1);
}

static void redis_set_listener(store_t *store, const store_listener_t *listener)
{
    ((store_redis_t *)store)->listener = *listener;
}

static int redis_healthy(const store_t *store)
{
    const store_redis_t *r = (const store_redis_t *)store;
    return redis_conn_is_ready(r->cmd) && r->subscribed;
}

static int redis_busy(const store_t *store)
{
    const store_redis_t *r = (const store_redis_t *)store;
    if (!redis_conn_is_ready(r->cmd))
        return 0; /* nothing will get through now: do not wait for it */
    return redis_conn_pending(r->cmd) > 0 || r->finished != NULL || r->dirty_record != NULL;
}

static uint64_t redis_error_count(const store_t *store)
{
    (void)store;
    return store_redis__errors;
}

static uint64_t redis_last_seq(const store_t *store)
{
    return ((const store_redis_t *)store)->last_seq;
}

static void redis_destroy(store_t *store)
{
    store_redis_t *r = (store_redis_t *)store;
    redis_conn_close(r->cmd); /* replies in flight fire now, with NULL: their runs stay queued */
    redis_conn_close(r->sub);
    while (r->finished) {
        pending_finish_t *f = r->finished;
        r->finished = f->next;
        log_error("redis", "run %s was never recorded: Redis stayed away", f->id);
        free_finish(f);
    }
    free(r->dirty_record);
    free(r);
}

static const store_ops_t redis_ops = {
    .name = "redis",
    .shared = 1,
    .set_listener = redis_set_listener,
    .acquire = redis_acquire,
    .renew = redis_renew,
    .save_active = redis_save_active,
    .save_finished = redis_save_finished,
    .restore_finished = redis_restore_finished,
    .publish = store_redis__publish,
    .request_cancel = store_redis__request_cancel,
    .load_status = store_redis__load_status,
    .load_history = store_redis__load_history,
    .load_run = store_redis__load_run,
    .load_report = store_redis__load_report,
    .find_orphan = redis_find_orphan,
    .release = redis_release,
    .healthy = redis_healthy,
    .busy = redis_busy,
    .error_count = redis_error_count,
    .last_seq = redis_last_seq,
    .destroy = redis_destroy,
};

store_t *store_redis_create(uv_loop_t *loop, const config_t *cfg, const redis_url_t *url, const char *replica)
{
    store_redis_t *r = calloc(1, sizeof(*r));
    if (r == NULL)
        abort();
    r->super.ops = &redis_ops;
    r->loop = loop;
    /* a hash tag: every key of the store in one cluster slot, as the scripts need */
    snprintf(r->prefix, sizeof(r->prefix), "{%s}", cfg->redis_prefix);
    snprintf(r->replica, sizeof(r->replica), "%s", replica);
    r->lease_ms = (long long)(cfg->lock_lease_seconds * 1000);
    r->ttl_ms = (long long)cfg->run_ttl_minutes * 60 * 1000;
    r->history_limit = cfg->run_history_limit;
    r->finished_tail = &r->finished;
    redis_conn_callbacks_t cmd_cbs = {.data = r, .on_ready = on_cmd_ready};
    redis_conn_callbacks_t sub_cbs = {.data = r, .on_ready = store_redis__sub_ready, .on_lost = store_redis__sub_lost};
    r->cmd = redis_conn_create(loop, url, "command", &cmd_cbs);
    r->sub = redis_conn_create(loop, url, "pub/sub", &sub_cbs);
    return &r->super;
}

int store_redis_probe(const redis_url_t *url, int timeout_ms, char *err, size_t errlen)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(url->host, url->port, tv);
    int rc = -1;
    if (c == NULL || c->err) {
        snprintf(err, errlen, "%s", c ? c->errstr : "out of memory");
        goto out;
    }
    redisSetTimeout(c, tv);
    redisReply *reply = url->password[0] ? (url->user[0] ? redisCommand(c, "AUTH %s %s", url->user, url->password)
                                                         : redisCommand(c, "AUTH %s", url->password))
                                         : redisCommand(c, "PING");
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
        snprintf(err, errlen, "%s", reply ? reply->str : c->errstr);
    else
        rc = 0;
    if (reply)
        freeReplyObject(reply);
out:
    if (c)
        redisFree(c);
    return rc;
}
