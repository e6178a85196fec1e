#include "store/redis_eval.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define EVAL_MAX_SCRIPTS 32

uint64_t redis_eval_reloads;

/* The scripts are static strings: their address is their identity. */
static struct {
    const char *script;
    char sha[41];
    int loaded; /* SCRIPT LOAD sent on the current connection */
} known[EVAL_MAX_SCRIPTS];
static int nknown;

void redis_eval_connection_new(void)
{
    for (int i = 0; i < nknown; i++)
        known[i].loaded = 0;
}

void redis_eval_sha1(const char *script, char out[41])
{
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)script, strlen(script), md);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void on_load_reply(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    (void)conn, (void)privdata;
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
        log_warn("redis", "SCRIPT LOAD failed: %s", reply->str);
}

/* The script's SHA1; the first use on a connection sends SCRIPT LOAD just before it (same connection, so in
 * order: the EVALSHA that follows finds it). */
static const char *sha_of(redis_conn_t *conn, const char *script, char buf[41])
{
    int i;
    for (i = 0; i < nknown && known[i].script != script; i++) {
    }
    if (i == nknown) {
        redis_eval_sha1(script, buf);
        if (nknown == EVAL_MAX_SCRIPTS)
            return buf; /* not remembered: NOSCRIPT then EVAL every time (never with the store's scripts) */
        known[i].script = script;
        memcpy(known[i].sha, buf, 41);
        known[i].loaded = 0;
        nknown++;
    }
    if (!known[i].loaded) {
        const char *argv[] = {"SCRIPT", "LOAD", script};
        known[i].loaded = redis_conn_command(conn, on_load_reply, NULL, 3, argv, NULL) == 0;
    }
    return known[i].sha;
}

/* A call in flight, with a copy of its parameters in case it must go again as EVAL. */
typedef struct eval_call {
    const char *script;
    redis_reply_fn fn;
    void *privdata;
    int nparams;
    char *params[];
} eval_call_t;

static void call_free(eval_call_t *c)
{
    for (int i = 0; i < c->nparams; i++)
        free(c->params[i]);
    free(c);
}

static int send_call(redis_conn_t *conn, eval_call_t *c, const char *verb, const char *body, redis_reply_fn cb)
{
    const char *argv[2 + 64];
    if (c->nparams > 64)
        return -1;
    argv[0] = verb;
    argv[1] = body;
    for (int i = 0; i < c->nparams; i++)
        argv[2 + i] = c->params[i];
    return redis_conn_command(conn, cb, c, 2 + c->nparams, argv, NULL);
}

static void on_eval_reply(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    eval_call_t *c = privdata;
    c->fn(conn, reply, c->privdata);
    call_free(c);
}

static void on_evalsha_reply(redis_conn_t *conn, redisReply *reply, void *privdata)
{
    eval_call_t *c = privdata;
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOSCRIPT", 8) == 0) {
        redis_eval_reloads++;
        log_debug("redis", "script cache empty (Redis restarted or flushed it): sending the script again");
        if (send_call(conn, c, "EVAL", c->script, on_eval_reply) == 0)
            return;
        reply = NULL; /* could not be sent: the caller sees a lost connection */
    }
    c->fn(conn, reply, c->privdata);
    call_free(c);
}

int redis_eval(redis_conn_t *conn, const char *script, int nparams, const char *const *params, redis_reply_fn fn,
               void *privdata)
{
    eval_call_t *c = calloc(1, sizeof(*c) + (size_t)nparams * sizeof(char *));
    if (c == NULL)
        abort();
    c->script = script;
    c->fn = fn;
    c->privdata = privdata;
    c->nparams = nparams;
    for (int i = 0; i < nparams; i++)
        if ((c->params[i] = strdup(params[i])) == NULL)
            abort();
    char buf[41];
    if (send_call(conn, c, "EVALSHA", sha_of(conn, script, buf), on_evalsha_reply) != 0) {
        call_free(c);
        return -1;
    }
    return 0;
}
