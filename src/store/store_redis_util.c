/* The Redis store's small helpers: key names, sending commands and scripts, reading replies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/run_codec.h"
#include "store/redis_eval.h"
#include "store/redis_scripts.h"
#include "store/store_redis_internal.h"
#include "util/log.h"

op_t *store_redis__op(store_redis_t *r, void *data)
{
    op_t *op = calloc(1, sizeof(*op));
    if (op == NULL)
        abort();
    op->r = r;
    op->data = data;
    return op;
}

void store_redis__key(const store_redis_t *r, char *out, size_t len, const char *name, const char *id)
{
    snprintf(out, len, "%s%s%s", r->prefix, name, id ? id : "");
}

void store_redis__token(const store_redis_t *r, const char *run_id, char *out, size_t len)
{
    snprintf(out, len, "%s|%s", r->replica, run_id);
}

int store_redis__declare(op_t *op, const char *id, size_t len)
{
    if (!run_id_valid(id, len))
        return -1;
    for (int i = 0; i < op->nruns; i++)
        if (memcmp(op->runs[i], id, RUN_ID_LEN) == 0)
            return 0;
    if (op->nruns == STORE_REDIS_MAX_RUN_KEYS)
        return -1;
    memcpy(op->runs[op->nruns], id, RUN_ID_LEN);
    op->runs[op->nruns++][RUN_ID_LEN] = '\0';
    return 0;
}

op_t *store_redis__hinted(op_t *op)
{
    for (int i = 0; i < 2; i++)
        if (op->r->hint[i][0])
            store_redis__declare(op, op->r->hint[i], strlen(op->r->hint[i]));
    return op;
}

int store_redis__run_keys(const store_redis_t *r, const op_t *op, const char **keys, int n,
                          char bufs[][STORE_REDIS_KEY_LEN])
{
    for (int i = 0; i < op->nruns; i++) {
        store_redis__key(r, bufs[i], STORE_REDIS_KEY_LEN, "run:", op->runs[i]);
        keys[n++] = bufs[i];
    }
    return n;
}

int store_redis__need(op_t *op, const redisReply *reply, const char *what)
{
    const redisReply *tag = store_redis__element(reply, 0, REDIS_REPLY_INTEGER);
    if (tag == NULL || tag->integer != SCRIPT_NEED)
        return 0;
    op->tries++;
    int bad = reply->elements < 2;
    for (size_t i = 1; i < reply->elements && !bad; i++) {
        const redisReply *e = reply->element[i];
        bad = e->type != REDIS_REPLY_STRING || store_redis__declare(op, e->str, e->len) != 0;
    }
    if (!bad && op->tries < STORE_REDIS_MAX_TRIES)
        return 1;
    log_warn("redis", "%s failed: the run records it needs kept changing (%d calls) or are not run ids", what,
             op->tries);
    store_redis__errors++;
    return -1;
}

uint64_t store_redis__errors; /* one store per process */

int store_redis__error(const redisReply *reply, const char *what)
{
    if (reply == NULL) {
        store_redis__errors++;
        return 1;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        log_warn("redis", "%s failed: %s", what, reply->str);
        store_redis__errors++;
        return 1;
    }
    return 0;
}

/* Sends a command; one that cannot be sent (Redis is away) counts as an error. */
int store_redis__command(store_redis_t *r, int argc, const char **argv, redis_reply_fn fn, void *privdata)
{
    int rc = redis_conn_command(r->cmd, fn, privdata, argc, argv, NULL);
    if (rc != 0)
        store_redis__errors++;
    return rc;
}

/* EVALSHA script (EVAL after a NOSCRIPT: redis_eval.h) with its keys and args (NUL-terminated strings). */
int store_redis__eval(store_redis_t *r, const char *script, int nkeys, const char *const *keys, int nargs,
                      const char *const *args, redis_reply_fn fn, void *privdata)
{
    const char *params[STORE_REDIS_MAX_PARAMS];
    char numkeys[16];
    int n = 0;
    if (1 + nkeys + nargs > STORE_REDIS_MAX_PARAMS) { /* a script with more than its callers should pass: a bug */
        log_error("redis", "a script call with %d keys and %d arguments is over the limit", nkeys, nargs);
        store_redis__errors++;
        return -1;
    }
    snprintf(numkeys, sizeof(numkeys), "%d", nkeys);
    params[n++] = numkeys;
    for (int i = 0; i < nkeys; i++)
        params[n++] = keys[i];
    for (int i = 0; i < nargs; i++)
        params[n++] = args[i];
    int rc = redis_eval(r->cmd, script, n, params, fn, privdata);
    if (rc != 0)
        store_redis__errors++;
    return rc;
}

run_t *store_redis__record(const char *text, size_t len, const char *what)
{
    if (text == NULL || len == 0)
        return NULL;
    char err[200];
    run_t *run = run_from_record_text(text, len, err, sizeof(err));
    if (run == NULL)
        log_warn("redis", "ignoring the %s: %s", what, err);
    return run;
}

const redisReply *store_redis__element(const redisReply *reply, size_t i, int type)
{
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements <= i || reply->element[i]->type != type)
        return NULL;
    return reply->element[i];
}
