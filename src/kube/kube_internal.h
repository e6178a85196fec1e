/* What the files of the Kubernetes client share with each other (not part of its API). */
#ifndef KUBE_INTERNAL_H
#define KUBE_INTERNAL_H

#include <curl/curl.h>
#include <stdint.h>
#include <sys/types.h>

#include "kube/kube.h"

#define KUBE_BODY_MAX       (32 * 1024 * 1024) /* a whole (list) answer */
#define KUBE_ERROR_BODY_MAX (256 * 1024)       /* a stream answered with an error: its Status */
#define KUBE_CONNECT_MS     10000
#define KUBE_RETRIES        4 /* an idempotent request is tried at most 1 + this many times */

/* ---- credentials (kube_auth.c) ---- */

typedef struct kube_auth {
    char server[512];
    char *token;           /* current bearer token (heap), or NULL */
    char token_file[1024]; /* re-read when its mtime or size changes */
    struct timespec token_mtime;
    off_t token_size;
    kube_blob_t ca, client_cert, client_key;
    int insecure;
} kube_auth_t;

int kube_auth_init(kube_auth_t *a, const kube_config_t *kc, char *err, size_t errlen);
void kube_auth_dispose(kube_auth_t *a);
/** The current token ("" when none), re-read first if its file changed. */
const char *kube_auth_token(kube_auth_t *a);
/** Sets the server's TLS options on an easy handle. */
void kube_auth_apply_tls(const kube_auth_t *a, CURL *easy);

/* ---- operations the client cancels when it closes ---- */

typedef struct kube_op {
    struct kube_op *prev, *next;
    void (*cancel)(struct kube_op *op); /* stop without calling back, free (maybe once handles are closed) */
} kube_op_t;

/* ---- transfers (kube_transport.c) ---- */

typedef struct kube_xfer kube_xfer_t;

/** Streamed bytes of a 2xx answer; return 0 to go on, -1 to abort the transfer (it then ends with an error). */
typedef int (*kube_xfer_data_fn)(void *owner, const char *data, size_t len);
/** The transfer ended: `rc` curl's result, `status` the HTTP status (0: none), `body` the whole answer (for a
 *  stream, only an error answer's body), `errtext` curl's error text. The transfer is freed after it returns. */
typedef void (*kube_xfer_done_fn)(void *owner, CURLcode rc, long status, const char *body, size_t body_len,
                                  const char *errtext, long retry_after);

typedef struct kube_xfer_opts {
    const char *method; /* "GET", "POST", ... */
    const char *path;
    const char *body; /* NULL: none */
    const char *content_type;
    long timeout_ms;           /* 0: none (streams) */
    kube_xfer_data_fn on_data; /* NULL: the answer is collected whole */
    kube_xfer_done_fn on_done;
    void *owner;
} kube_xfer_opts_t;

struct kube_client {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    int open_handles;   /* libuv handles not closed yet (the timer, socket polls, operations' timers) */
    int dispatching;    /* inside curl or reporting ended transfers: aborted transfers are freed afterwards */
    int closing;        /* kube_client_close() was called */
    int closed;         /* the transport is closed; waiting for the handles */
    kube_xfer_t *xfers; /* live transfers */
    kube_op_t ops;      /* sentinel of the live operations */
    kube_auth_t auth;
    char ns[64];
    long timeout_ms;
    uint32_t rand_state;
    void (*close_cb)(void *data);
    void *close_data;
};

int kube_transport_init(kube_client_t *c);
void kube_transport_close(kube_client_t *c);
/** Finishes kube_client_close() once no transfer is being reported (kube_client.c). */
void kube_client_finish_close(kube_client_t *c);

kube_xfer_t *kube_xfer_start(kube_client_t *c, const kube_xfer_opts_t *o);
/** Ends a transfer without calling its owner back again. */
void kube_xfer_abort(kube_xfer_t *x);

void kube_op_link(kube_client_t *c, kube_op_t *op, void (*cancel)(kube_op_t *op));
void kube_op_unlink(kube_op_t *op);

/** Initialises a timer owned by an operation; kube_handle_close() closes it and then calls `done(handle)`. */
void kube_timer_init(kube_client_t *c, uv_timer_t *t, void *data);
void kube_handle_close(kube_client_t *c, uv_handle_t *h, void (*done)(uv_handle_t *h));
/** Called from every close callback of the client's handles: finishes kube_client_close() when the last closes. */
void kube_client_handle_closed(kube_client_t *c);
/** A random 32-bit number for jitter. */
uint32_t kube_random(kube_client_t *c);

/* ---- answers (kube_request.c) ---- */

/** Fills `res` from an answer: parses the body as JSON (kept in `*json`, to json_decref), takes the Status's
 *  message and reason on an error. `msgbuf` holds a message built here. */
void kube_response_fill(kube_response_t *res, json_t **json, CURLcode rc, long status, const char *body,
                        size_t body_len, const char *errtext, char *msgbuf, size_t msgcap);
/** Whether an answer is worth asking again (connection error, 429, 5xx). */
int kube_retryable(CURLcode rc, long status);

/* ---- backoff (kube_backoff.c) ---- */

/** Delay before attempt `attempt` (0 = first retry): base * 2^attempt, at most `cap`, the upper half jittered
 *  with `random`; a Retry-After (seconds, > 0) is honoured up to `cap`. */
uint64_t kube_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms, long retry_after_s, uint32_t random);

#endif
