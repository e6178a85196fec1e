/*
 * Running the store's Lua scripts by hash: EVALSHA with the script's SHA1 (computed here once). The first use of a
 * script on a connection sends SCRIPT LOAD just before, on the same connection, so the EVALSHA after it finds it
 * and commands stay in order; a NOSCRIPT answer all the same (SCRIPT FLUSH while connected) makes the call go
 * again as EVAL, which reloads the script (that one call then runs after commands sent meanwhile). So the full
 * text crosses the network once per connection, not with every event.
 */
#ifndef STORE_REDIS_EVAL_H
#define STORE_REDIS_EVAL_H

#include <stdint.h>

#include "store/redis_conn.h"

/** Times a NOSCRIPT answer made a call go again as EVAL (for the tests and the logs). */
extern uint64_t redis_eval_reloads;

/**
 * Sends EVALSHA <sha1 of script> <numkeys> <keys...> <args...> on `conn` (`params`: numkeys, keys and args as
 * NUL-terminated strings). `fn` gets the reply (or NULL when the connection ends first) exactly once. Returns 0,
 * or -1 when it cannot be sent (then `fn` is not called).
 */
int redis_eval(redis_conn_t *conn, const char *script, int nparams, const char *const *params, redis_reply_fn fn,
               void *privdata);

/** Forgets which scripts were loaded: call when the connection is new (Redis may have restarted). */
void redis_eval_connection_new(void);

/** The SHA1 of `script` as 40 lowercase hex digits (what SCRIPT LOAD answers). */
void redis_eval_sha1(const char *script, char out[41]);

#endif
