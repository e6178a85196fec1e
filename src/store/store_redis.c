#include "store/store_redis.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/run_codec.h"
#include "store/redis_conn.h"
#include "store/redis_scripts.h"
#include "util/log.h"

typedef struct pending_finish {
    struct pending_finish *next;
    char id[RUN_ID_LEN + 1];
    char *token, *record, *report;
} pending_finish_t;

typedef struct store_redis {
    store_t super;
    uv_loop_t *loop;
    redis_conn_t *cmd, *sub;
    int subscribed;
    int cmd_was_ready; /* the command connection has been up before: a ready now is a reconnect */
    store_listener_t listener;
    char prefix[64];
    char replica[64];
    long long lease_ms, ttl_ms;
    int history_limit;
    uint64_t last_seq;
    char dirty_id[RUN_ID_LEN + 1]; /* save_active that waits for Redis */
    char *dirty_record;
    pending_finish_t *finished, **finished_tail; /* save_finished that wait for Redis, in order */
    int finished_count;
} store_redis_t;

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
    } cb;
    char id[RUN_ID_LEN + 1];
} op_t;

static op_t *op_new(store_redis_t *r, void *data)
{
    op_t *op = calloc(1, sizeof(*op));
    if (op == NULL)
        abort();
    op->r = r;
    op->data = data;
    return op;
}

static void key(const store_redis_t *r, char *out, size_t len, const char *name, const char *id)
{
    snprintf(out, len, "%s%s%s", r->prefix, name, id ? id : "");
}

static void token_for(const store_redis_t *r, const char *run_id, char *out, size_t len)
{
    snprintf(out, len, "%s|%s", r->replica, run_id);
}

static uint64_t error_total; /* one store per process */

static int is_error(const redisReply *reply, const char *what)
{
    if (reply == NULL) {
        error_total++;
        return 1;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        log_warn("redis", "%s failed: %s", what, reply->str);
        error_total++;
        return 1;
    }
    return 0;
}

/* Sends a command; one that cannot be sent (Redis is away) counts as an error. */
static int command(store_redis_t *r, int argc, const char **argv, redis_reply_fn fn, void *privdata)
{
    int rc = redis_conn_command(r->cmd, fn, privdata, argc, argv, NULL);
    if (rc != 0)
        error_total++;
    return rc;
}

/* EVAL script with its keys and args (NUL-terminated strings). */
static int eval(store_redis_t *r, const char *script, int nkeys, const char *const *keys, int nargs,
                const char *const *args, redis_reply_fn fn, void *privdata)
{
    const char *argv[16];
    char numkeys[8];
    int argc = 0;
    snprintf(numkeys, sizeof(numkeys), "%d", nkeys);
    argv[argc++] = "EVAL";
    argv[argc++] = script;
    argv[argc++] = numkeys;
    for (int i = 0; i < nkeys; i++)
        argv[argc++] = keys[i];
    for (int i = 0; i < nargs; i++)
        argv[argc++] = args[i];
    return command(r, argc, argv, fn, privdata);
}

static run_t *record_or_null(const char *text, size_t len, const char *what)
{
    if (text == NULL || len == 0)
        return NULL;
    char err[200];
    run_t *run = run_from_record_text(text, len, err, sizeof(err));
    if (run == NULL)
        log_warn("redis", "ignoring the %s: %s", what, err);
    return run;
}

static const redisReply *element(const redisReply *reply, size_t i, int type)
{
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements <= i || reply->element[i]->type != type)
        return NULL;
    return reply->element[i];
}


/* ---- writes that wait for Redis ------------------------------------------------------------------------------- */

static void on_write_reply(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    is_error(reply, privdata ? (const char *)privdata : "a write");
}

static int write_active(store_redis_t *r, const char *id, const char *record)
{
    char active[128], run_key[128];
    key(r, active, sizeof(active), "active", NULL);
    key(r, run_key, sizeof(run_key), "run:", id);
    const char *keys[] = {active, run_key}, *args[] = {id, record};
    return eval(r, SCRIPT_SAVE_ACTIVE, 2, keys, 2, args, on_write_reply, NULL);
}

static int write_finished(store_redis_t *r, const pending_finish_t *f)
{
    char lock[128], active[128], run_key[128], history[128], report[128], limit[16], ttl[24];
    key(r, lock, sizeof(lock), "lock", NULL);
    key(r, active, sizeof(active), "active", NULL);
    key(r, run_key, sizeof(run_key), "run:", f->id);
    key(r, history, sizeof(history), "history", NULL);
    key(r, report, sizeof(report), "report:", f->id);
    snprintf(limit, sizeof(limit), "%d", r->history_limit);
    snprintf(ttl, sizeof(ttl), "%lld", r->ttl_ms);
    const char *keys[] = {lock, active, run_key, history, report};
    const char *args[] = {f->token, f->id, f->record, limit, ttl, f->report};
    return eval(r, SCRIPT_FINISH, 5, keys, 6, args, on_write_reply, "recording a finished run");
}

static void free_finish(pending_finish_t *f)
{
    free(f->token);
    free(f->record);
    free(f->report);
    free(f);
}

/* Writes what waited while Redis was away, oldest first. */
static void flush_pending(store_redis_t *r)
{
    while (r->finished && write_finished(r, r->finished) == 0) {
        pending_finish_t *f = r->finished;
        r->finished = f->next;
        if (r->finished == NULL)
            r->finished_tail = &r->finished;
        r->finished_count--;
        log_info("redis", "run %s recorded after the outage", f->id);
        free_finish(f);
    }
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
    store_redis_t *r = (store_redis_t *)store;
    pending_finish_t *f = calloc(1, sizeof(*f));
    if (f == NULL)
        abort();
    char token[160] = "";
    if (ours)
        token_for(r, run->id, token, sizeof(token));
    snprintf(f->id, sizeof(f->id), "%s", run->id);
    f->token = strdup(token);
    f->record = run_record_dumps(run, r->replica);
    f->report = strdup(report_json ? report_json : "");
    if (r->dirty_record && strcmp(r->dirty_id, run->id) == 0) {
        free(r->dirty_record); /* the finished record supersedes it */
        r->dirty_record = NULL;
    }
    if (r->finished == NULL && write_finished(r, f) == 0) {
        free_finish(f);
        return;
    }
    if (r->finished_count >= REDIS_MAX_PENDING_WRITES) {
        log_error("redis", "run %s cannot be recorded: Redis is away and %d runs already wait", run->id,
                  r->finished_count);
        free_finish(f);
        return;
    }
    log_warn("redis", "run %s will be recorded when Redis is back", run->id);
    *r->finished_tail = f;
    r->finished_tail = &f->next;
    r->finished_count++;
}

/* ---- the lock ------------------------------------------------------------------------------------------------- */

/* The keys and arguments every lock script of a run takes. */
typedef struct lock_args {
    char lock[128], active[128], run[128], token[160], lease[24];
} lock_args_t;

static void lock_args(const store_redis_t *r, const char *run_id, lock_args_t *a)
{
    key(r, a->lock, sizeof(a->lock), "lock", NULL);
    key(r, a->active, sizeof(a->active), "active", NULL);
    key(r, a->run, sizeof(a->run), "run:", run_id);
    token_for(r, run_id, a->token, sizeof(a->token));
    snprintf(a->lease, sizeof(a->lease), "%lld", r->lease_ms);
}

static void on_acquire_reply(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    op_t *op = privdata;
    const redisReply *taken = element(reply, 0, REDIS_REPLY_INTEGER), *rec = element(reply, 1, REDIS_REPLY_STRING);
    if (is_error(reply, "taking the run lock") || taken == NULL || rec == NULL) {
        op->cb.acquire(op->data, STORE_ERROR, NULL, NULL);
    } else if (taken->integer == 1) {
        op->cb.acquire(op->data, STORE_ACQUIRED, NULL, record_or_null(rec->str, rec->len, "orphaned run"));
    } else {
        op->cb.acquire(op->data, STORE_HELD, record_or_null(rec->str, rec->len, "lock holder's run"), NULL);
    }
    free(op);
}

static void redis_acquire(store_t *store, const run_t *run, store_acquire_cb cb, void *data)
{
    store_redis_t *r = (store_redis_t *)store;
    lock_args_t a;
    lock_args(r, run->id, &a);
    char *record = run_record_dumps(run, r->replica);
    const char *keys[] = {a.lock, a.active, a.run}, *args[] = {a.token, a.lease, run->id, record, r->prefix};
    op_t *op = op_new(r, data);
    op->cb.acquire = cb;
    int rc = eval(r, SCRIPT_ACQUIRE, 3, keys, 5, args, on_acquire_reply, op);
    free(record);
    if (rc != 0) {
        free(op);
        cb(data, STORE_ERROR, NULL, NULL);
    }
}

static void on_renew_reply(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    op_t *op = privdata;
    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        is_error(reply, "renewing the lease");
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
    op_t *op = op_new(r, data);
    op->cb.renew = cb;
    if (eval(r, SCRIPT_RENEW, 3, keys, 3, args, on_renew_reply, op) != 0) {
        free(op);
        cb(data, -1);
    }
}

static void on_orphan_reply(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    op_t *op = privdata;
    const redisReply *id = element(reply, 0, REDIS_REPLY_STRING), *rec = element(reply, 1, REDIS_REPLY_STRING);
    char seen[RUN_ID_LEN + 1] = "";
    run_t *claimed = NULL;
    if (!is_error(reply, "looking for an orphaned run") && id && rec && run_id_valid(id->str, id->len)) {
        memcpy(seen, id->str, id->len + 1);
        if (rec->len > 0)
            claimed = record_or_null(rec->str, rec->len, "orphaned run");
    }
    op->cb.orphan(op->data, seen[0] ? seen : NULL, claimed);
    free(op);
}

static void redis_find_orphan(store_t *store, const char *candidate, store_orphan_cb cb, void *data)
{
    store_redis_t *r = (store_redis_t *)store;
    lock_args_t a;
    lock_args(r, candidate ? candidate : "none", &a);
    const char *keys[] = {a.active, a.lock}, *args[] = {candidate ? candidate : "", a.token, a.lease, r->prefix};
    op_t *op = op_new(r, data);
    op->cb.orphan = cb;
    if (eval(r, SCRIPT_FIND_ORPHAN, 2, keys, 4, args, on_orphan_reply, op) != 0) {
        free(op);
        cb(data, NULL, NULL);
    }
}

/* ---- reads ---------------------------------------------------------------------------------------------------- */

static void on_status_reply(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    op_t *op = privdata;
    const redisReply *active = element(reply, 0, REDIS_REPLY_STRING), *last = element(reply, 1, REDIS_REPLY_STRING),
                     *leased = element(reply, 2, REDIS_REPLY_INTEGER);
    if (is_error(reply, "reading the status") || active == NULL || last == NULL || leased == NULL)
        op->cb.status(op->data, 0, NULL, 0, NULL);
    else
        op->cb.status(op->data, 1, record_or_null(active->str, active->len, "active run"), leased->integer == 1,
                      record_or_null(last->str, last->len, "last run"));
    free(op);
}

static void redis_load_status(store_t *store, store_status_cb cb, void *data)
{
    store_redis_t *r = (store_redis_t *)store;
    char active[128], history[128], lock[128];
    key(r, active, sizeof(active), "active", NULL);
    key(r, history, sizeof(history), "history", NULL);
    key(r, lock, sizeof(lock), "lock", NULL);
    const char *keys[] = {active, history, lock}, *args[] = {r->prefix};
    op_t *op = op_new(r, data);
    op->cb.status = cb;
    if (eval(r, SCRIPT_LOAD_STATUS, 3, keys, 1, args, on_status_reply, op) != 0) {
        free(op);
        cb(data, 0, NULL, 0, NULL);
    }
}

static void on_runs_reply(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    op_t *op = privdata;
    if (is_error(reply, "reading runs") ||
        (reply->type != REDIS_REPLY_ARRAY && reply->type != REDIS_REPLY_NIL && reply->type != REDIS_REPLY_STRING)) {
        op->cb.runs(op->data, 0, NULL, 0);
        free(op);
        return;
    }
    run_t *runs[128];
    int n = 0;
    if (reply->type == REDIS_REPLY_STRING) {
        if ((runs[0] = record_or_null(reply->str, reply->len, "run")) != NULL)
            n = 1;
    } else if (reply->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < reply->elements && n < 128; i++) {
            const redisReply *e = reply->element[i];
            if (e->type == REDIS_REPLY_STRING && (runs[n] = record_or_null(e->str, e->len, "history entry")))
                n++;
        }
    }
    op->cb.runs(op->data, 1, runs, n);
    free(op);
}

static void redis_load_history(store_t *store, int limit, store_runs_cb cb, void *data)
{
    store_redis_t *r = (store_redis_t *)store;
    char history[128], lim[16];
    key(r, history, sizeof(history), "history", NULL);
    snprintf(lim, sizeof(lim), "%d", limit < 1 ? 1 : limit > 100 ? 100 : limit);
    const char *keys[] = {history}, *args[] = {r->prefix, lim};
    op_t *op = op_new(r, data);
    op->cb.runs = cb;
    if (eval(r, SCRIPT_LOAD_HISTORY, 1, keys, 2, args, on_runs_reply, op) != 0) {
        free(op);
        cb(data, 0, NULL, 0);
    }
}

static void redis_load_run(store_t *store, const char *run_id, store_runs_cb cb, void *data)
{
    store_redis_t *r = (store_redis_t *)store;
    char run_key[128];
    key(r, run_key, sizeof(run_key), "run:", run_id);
    const char *argv[] = {"GET", run_key};
    op_t *op = op_new(r, data);
    op->cb.runs = cb;
    if (command(r, 2, argv, on_runs_reply, op) != 0) {
        free(op);
        cb(data, 0, NULL, 0);
    }
}

static void on_text_reply(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    op_t *op = privdata;
    if (is_error(reply, "reading a report") || (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_NIL))
        op->cb.text(op->data, 0, NULL, 0);
    else if (reply->type == REDIS_REPLY_NIL)
        op->cb.text(op->data, 1, NULL, 0);
    else
        op->cb.text(op->data, 1, reply->str, reply->len);
    free(op);
}

static void redis_load_report(store_t *store, const char *run_id, store_text_cb cb, void *data)
{
    store_redis_t *r = (store_redis_t *)store;
    char report[128];
    key(r, report, sizeof(report), "report:", run_id);
    const char *argv[] = {"GET", report};
    op_t *op = op_new(r, data);
    op->cb.text = cb;
    if (command(r, 2, argv, on_text_reply, op) != 0) {
        free(op);
        cb(data, 0, NULL, 0);
    }
}

/* ---- the shared channel --------------------------------------------------------------------------------------- */

static int redis_publish(store_t *store, const event_t *ev)
{
    store_redis_t *r = (store_redis_t *)store;
    if (!r->subscribed)
        return -1; /* we would not hear it back: deliver it here */
    char seq_key[128], channel[128], ts[24];
    key(r, seq_key, sizeof(seq_key), "seq", NULL);
    key(r, channel, sizeof(channel), "events", NULL);
    snprintf(ts, sizeof(ts), "%lld", (long long)ev->ts_ms);
    char *data = json_dumps(ev->data, JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (data == NULL)
        return -1;
    const char *keys[] = {seq_key, channel}, *args[] = {event_type_name(ev->type), ev->run_id, ts, data, r->replica};
    int rc = eval(r, SCRIPT_PUBLISH, 2, keys, 5, args, on_write_reply, "publishing an event");
    free(data);
    return rc;
}

static void redis_request_cancel(store_t *store, const char *run_id)
{
    store_redis_t *r = (store_redis_t *)store;
    char channel[128], msg[64];
    key(r, channel, sizeof(channel), "control", NULL);
    snprintf(msg, sizeof(msg), "cancel %s", run_id);
    const char *argv[] = {"PUBLISH", channel, msg};
    command(r, 3, argv, on_write_reply, "asking for a cancel");
}

/* "<seq> <ts> <type> <run id> <replica> <data>" from the events channel. */
static void deliver_event(store_redis_t *r, const char *text, size_t len)
{
    char type[16], run_id[16], origin[64];
    unsigned long long seq;
    long long ts;
    int used = 0;
    char head[192];
    snprintf(head, sizeof(head), "%.*s", (int)(len < sizeof(head) - 1 ? len : sizeof(head) - 1), text);
    if (sscanf(head, "%llu %lld %15s %15s %63s %n", &seq, &ts, type, run_id, origin, &used) != 5 || used <= 0) {
        log_warn("redis", "ignoring a malformed event message");
        return;
    }
    event_type_t t = EVENT_TYPE_COUNT;
    for (int i = 0; i < EVENT_TYPE_COUNT; i++)
        if (strcmp(type, event_type_name(i)) == 0)
            t = i;
    json_error_t jerr;
    json_t *data = json_loadb(text + used, len - (size_t)used, 0, &jerr);
    if (t == EVENT_TYPE_COUNT || data == NULL) {
        log_warn("redis", "ignoring an event message: %s", data ? "unknown type" : jerr.text);
        json_decref(data);
        return;
    }
    if (seq <= r->last_seq) {
        json_decref(data); /* already delivered (a duplicate, or the counter went back after Redis lost it) */
        if (r->last_seq - seq > 1000000)
            r->last_seq = seq;
        return;
    }
    r->last_seq = seq;
    event_t ev = {.type = t, .seq = seq, .ts_ms = ts, .local = strcmp(origin, r->replica) == 0, .data = data};
    snprintf(ev.run_id, sizeof(ev.run_id), "%s", run_id);
    if (r->listener.on_event)
        r->listener.on_event(r->listener.data, &ev);
    json_decref(data);
}

static void on_channel_message(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    store_redis_t *r = privdata;
    if (reply == NULL) {
        r->subscribed = 0;
        return;
    }
    const redisReply *kind = element(reply, 0, REDIS_REPLY_STRING), *channel = element(reply, 1, REDIS_REPLY_STRING),
                     *payload = element(reply, 2, REDIS_REPLY_STRING);
    if (kind == NULL || channel == NULL)
        return;
    if (strcmp(kind->str, "subscribe") == 0) {
        /* healthy once both channels are confirmed */
        r->subscribed = reply->element[2]->type == REDIS_REPLY_INTEGER && reply->element[2]->integer == 2;
        return;
    }
    if (strcmp(kind->str, "message") != 0 || payload == NULL)
        return;
    char events[128];
    key(r, events, sizeof(events), "events", NULL);
    if (strcmp(channel->str, events) == 0) {
        deliver_event(r, payload->str, payload->len);
    } else if (payload->len > 7 && strncmp(payload->str, "cancel ", 7) == 0 &&
               run_id_valid(payload->str + 7, payload->len - 7) && r->listener.on_cancel) {
        r->listener.on_cancel(r->listener.data, payload->str + 7);
    }
}

static void on_sub_ready(void *data, redis_conn_t *conn)
{
    store_redis_t *r = data;
    char events[128], control[128];
    key(r, events, sizeof(events), "events", NULL);
    key(r, control, sizeof(control), "control", NULL);
    redis_conn_subscribe(conn, on_channel_message, r, events);
    redis_conn_subscribe(conn, on_channel_message, r, control);
}

static void on_sub_lost(void *data, redis_conn_t *conn)
{
    (void)conn;
    ((store_redis_t *)data)->subscribed = 0;
}

static void on_seq_reply(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn;
    store_redis_t *r = privdata;
    if (!is_error(reply, "reading the event counter") && reply->type == REDIS_REPLY_INTEGER &&
        (uint64_t)reply->integer > r->last_seq)
        r->last_seq = (uint64_t)reply->integer;
}

static void on_cmd_ready(void *data, redis_conn_t *conn)
{
    (void)conn;
    store_redis_t *r = data;
    /* the counter never goes back, even if Redis lost it, so seqs stay increasing for every client */
    char seq_key[128], at_least[24];
    key(r, seq_key, sizeof(seq_key), "seq", NULL);
    snprintf(at_least, sizeof(at_least), "%llu", (unsigned long long)r->last_seq);
    const char *keys[] = {seq_key}, *args[] = {at_least};
    eval(r, SCRIPT_SEQ_AT_LEAST, 1, keys, 1, args, on_seq_reply, r);
    flush_pending(r);
    if (r->cmd_was_ready && r->listener.on_reconnect)
        r->listener.on_reconnect(r->listener.data);
    r->cmd_was_ready = 1;
}

/* ---- life cycle ----------------------------------------------------------------------------------------------- */

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
    return error_total;
}

static uint64_t redis_last_seq(const store_t *store) { return ((const store_redis_t *)store)->last_seq; }

static void redis_destroy(store_t *store)
{
    store_redis_t *r = (store_redis_t *)store;
    redis_conn_close(r->cmd);
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
    .publish = redis_publish,
    .request_cancel = redis_request_cancel,
    .load_status = redis_load_status,
    .load_history = redis_load_history,
    .load_run = redis_load_run,
    .load_report = redis_load_report,
    .find_orphan = redis_find_orphan,
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
    snprintf(r->prefix, sizeof(r->prefix), "%s", cfg->redis_prefix);
    snprintf(r->replica, sizeof(r->replica), "%s", replica);
    r->lease_ms = (long long)(cfg->lock_lease_seconds * 1000);
    r->ttl_ms = (long long)cfg->run_ttl_minutes * 60 * 1000;
    r->history_limit = cfg->run_history_limit;
    r->finished_tail = &r->finished;
    redis_conn_callbacks_t cmd_cbs = {.data = r, .on_ready = on_cmd_ready};
    redis_conn_callbacks_t sub_cbs = {.data = r, .on_ready = on_sub_ready, .on_lost = on_sub_lost};
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
    redisReply *reply = url->password[0]
                            ? (url->user[0] ? redisCommand(c, "AUTH %s %s", url->user, url->password)
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
