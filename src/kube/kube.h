/*
 * The Kubernetes API client: libcurl's multi interface driven by the service's libuv loop.
 *
 *   kube_config_resolve()  where the API is and which credentials to use (KUBE_API_URL, a kubeconfig, in-cluster)
 *   kube_client_create()   one client per service: one curl multi handle (connections are reused), one loop
 *   kube_request()         one JSON request (get, list, create, patch, delete); 429/5xx and connection errors are
 *                          retried with backoff when the method is idempotent (GET, DELETE)
 *   kube_watch_start()     list, then watch from the list's resourceVersion, forever: re-watch when a stream ends,
 *                          list again after a 410 (Expired), without repeating or losing events
 *   kube_logs_start()      a pod's log as lines, each with its kubelet timestamp (follow=true&timestamps=true)
 *   kube_access_check()    GET /version, then a namespaced list: the start-up check
 *
 * Rules (as in the rest of the service): nothing blocks the loop; every callback fires from the loop, never from
 * inside the call that started the operation; a cancelled or stopped operation never calls back again; JSON handed
 * to a callback is borrowed (json_incref() it to keep it). Paths are API paths ("/api/v1/namespaces/x/pods").
 */
#ifndef KUBE_KUBE_H
#define KUBE_KUBE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"

/* ---- where the API is ------------------------------------------------------------------------------------------- */

/** A PEM blob (CA, client certificate, client key), already read from its file or decoded from base64. */
typedef struct kube_blob {
    char *data;
    size_t len;
} kube_blob_t;

typedef struct kube_config {
    char server[512];        /* "https://host:port" without a trailing slash */
    char namespace_[64];     /* the namespace to work in, resolved (KUBE_NAMESPACE, context, service account, ...) */
    char source[1400];       /* for logs: "KUBE_API_URL", "kubeconfig /path (context x)", "in-cluster" */
    char token[8192];        /* bearer token ("" when none, or when token_file is used) */
    char token_file[1024];   /* re-read when it changes (in-cluster projected tokens rotate; kubeconfig tokenFile) */
    kube_blob_t ca;          /* CA bundle; empty: the system's */
    kube_blob_t client_cert; /* client certificate + key (mutual TLS); empty: none */
    kube_blob_t client_key;
    int insecure;           /* skip TLS verification (KUBE_INSECURE=1, insecure-skip-tls-verify) */
    double timeout_seconds; /* every non-streaming request's total timeout */
} kube_config_t;

/**
 * Finds the API from the configuration, in this order: KUBE_API_URL (+ KUBE_TOKEN, KUBE_CA_FILE, KUBE_INSECURE);
 * else the kubeconfig (KUBECONFIG, else ~/.kube/config, if it exists; KUBE_CONTEXT, else current-context); else
 * in-cluster (KUBERNETES_SERVICE_HOST/_PORT with the service account folder). Reads small local files (start-up
 * only). Returns 0, or -1 with `err` naming what is wrong (a kubeconfig user with `exec` or `auth-provider` is
 * an error that says so; so is a namespace that is not a DNS-1123 label, whichever source gave it). Logs a
 * warning when TLS verification is off or a bearer token would travel over plain http://. Free with
 * kube_config_dispose().
 */
int kube_config_resolve(kube_config_t *kc, const config_t *cfg, char *err, size_t errlen);
void kube_config_dispose(kube_config_t *kc);

/* ---- the client ------------------------------------------------------------------------------------------------- */

typedef struct kube_client kube_client_t;

/** Builds a client on `loop`; copies what it needs from `kc`. Returns NULL with `err` filled on failure. */
kube_client_t *kube_client_create(uv_loop_t *loop, const kube_config_t *kc, char *err, size_t errlen);
/** Cancels every request, watch and log stream still going (none of their callbacks fire), closes the handles and
 *  frees the client once they are closed; `cb` (may be NULL) fires then. */
void kube_client_close(kube_client_t *c, void (*cb)(void *data), void *data);
/** The namespace resolved by kube_config_resolve(). */
const char *kube_client_namespace(const kube_client_t *c);

/* ---- requests --------------------------------------------------------------------------------------------------- */

/** What an answer was. `status` is the HTTP status, 0 when none came (connection refused, timeout, TLS error).
 *  `body` is the parsed JSON body or NULL. On an error (status 0 or >= 400), `message` is the API's
 *  Status.message (or curl's error text, or "HTTP <n>") and `reason` its Status.reason ("AlreadyExists",
 *  "NotFound", "Forbidden", "Invalid", "Expired", ...; "" when none). All borrowed for the callback. */
typedef struct kube_response {
    long status;
    json_t *body;
    const char *message;
    const char *reason;
} kube_response_t;

typedef void (*kube_response_cb)(void *data, const kube_response_t *res);

typedef struct kube_request kube_request_t;

/** Methods a request may use. PATCH_MERGE sends application/merge-patch+json, PATCH_STRATEGIC
 *  application/strategic-merge-patch+json. */
typedef enum { KUBE_GET, KUBE_POST, KUBE_PUT, KUBE_PATCH_MERGE, KUBE_PATCH_STRATEGIC, KUBE_DELETE } kube_method_t;

/**
 * Sends one request: `path` (with its query, already escaped: see kube_path()) and an optional JSON `body`
 * (borrowed, serialised at once). `cb` fires exactly once, after the retries of an idempotent request, unless
 * kube_request_cancel() is called first. Returns NULL (and never calls back) only when out of memory or when the
 * client is closing.
 */
kube_request_t *kube_request(kube_client_t *c, kube_method_t method, const char *path, json_t *body,
                             kube_response_cb cb, void *data);
/** Stops a request whose callback has not fired yet; the callback never fires. */
void kube_request_cancel(kube_request_t *r);

/** Shorthands. `propagation` is "Background", "Foreground", "Orphan" or NULL (the resource's default: batch/v1
 *  Jobs orphan their pods). */
kube_request_t *kube_get(kube_client_t *c, const char *path, kube_response_cb cb, void *data);
kube_request_t *kube_create(kube_client_t *c, const char *path, json_t *object, kube_response_cb cb, void *data);
kube_request_t *kube_patch_merge(kube_client_t *c, const char *path, json_t *patch, kube_response_cb cb, void *data);
kube_request_t *kube_delete(kube_client_t *c, const char *path, const char *propagation, kube_response_cb cb,
                            void *data);

/**
 * Writes a resource's path: `api_version` "v1" gives /api/v1, "batch/v1" gives /apis/batch/v1; `ns` NULL for a
 * cluster-scoped resource; `name` NULL for the collection; `subresource` (e.g. "log") NULL for none. Returns 0, or
 * -1 when it does not fit. Query parameters are appended with kube_path_query().
 */
int kube_path(char *buf, size_t cap, const char *api_version, const char *ns, const char *resource, const char *name,
              const char *subresource);
/** Appends "?key=value" or "&key=value" with `value` percent-escaped. Returns 0, or -1 when it does not fit. */
int kube_path_query(char *buf, size_t cap, const char *key, const char *value);

/* ---- watches ---------------------------------------------------------------------------------------------------- */

typedef enum { KUBE_ADDED, KUBE_MODIFIED, KUBE_DELETED } kube_event_t;

typedef struct kube_watch_opts {
    const char *api_version;    /* "v1", "batch/v1" */
    const char *resource;       /* "pods", "jobs" */
    const char *ns;             /* NULL: the client's namespace */
    const char *label_selector; /* NULL: every object */
    const char *field_selector; /* NULL: none (e.g. "metadata.name=x") */
} kube_watch_opts_t;

typedef struct kube_watch_callbacks {
    void *data;
    /** One change of one object (borrowed). Objects seen by the first list come as KUBE_ADDED; after a re-list,
     *  only what changed meanwhile is reported (objects gone meanwhile as KUBE_DELETED with their last state). */
    void (*event)(void *data, kube_event_t type, json_t *object);
    /** The first list has been reported in full (fires once). May be NULL. */
    void (*synced)(void *data);
    /** A list failed (after the retries): the watch keeps trying with backoff until stopped. May be NULL. */
    void (*error)(void *data, const kube_response_t *res);
} kube_watch_callbacks_t;

typedef struct kube_watch kube_watch_t;

/** Starts watching; returns NULL only when out of memory or the client is closing. */
kube_watch_t *kube_watch_start(kube_client_t *c, const kube_watch_opts_t *opts, const kube_watch_callbacks_t *cbs);
/** Stops and frees the watch; no callback fires afterwards. Safe from inside its own callbacks. */
void kube_watch_stop(kube_watch_t *w);

/** Why a watch stream was opened again (or the list asked again), for /metrics. */
typedef enum {
    KUBE_WATCH_RESTART_TIMEOUT, /* the stream ended cleanly at the server's timeoutSeconds: normal */
    KUBE_WATCH_RESTART_SHORT,   /* it ended cleanly within seconds without an event: counted as a failure */
    KUBE_WATCH_RESTART_ERROR,   /* it broke, or was answered with an error */
    KUBE_WATCH_RESTART_RELIST,  /* the history it stood on is gone (410): listed again */
    KUBE_WATCH_RESTART_KINDS
} kube_watch_restart_t;

/** Restarts of `why` by every watch of the process since it started. */
uint64_t kube_watch_restarts(kube_watch_restart_t why);
/** "timeout", "short", "error", "relist". */
const char *kube_watch_restart_name(kube_watch_restart_t why);

/* ---- pod logs --------------------------------------------------------------------------------------------------- */

typedef struct kube_logs_opts {
    const char *ns; /* NULL: the client's namespace */
    const char *pod;
    const char *container;  /* NULL: the pod's only container */
    const char *since_time; /* NULL, or an RFC 3339 UTC time ("...Z", as the kubelet writes them; anything else
                               makes kube_logs_start() return NULL): where a previous reader stopped, at the
                               precision it is written with ("...00.123Z": the millisecond). Lines before it are
                               skipped, and so are the first `since_count` lines at it (cut to that precision);
                               the API only takes whole seconds, the rest is filtered here */
    unsigned since_count;   /* lines at since_time already handed over; 0: all of them (count unknown) */
    int follow;             /* 1: follow=true, the stream lasts as long as the container runs */
    int max_waits;          /* how many times an empty answer (pod not on a node yet) or a "waiting to start" 400
                               is asked again, one second apart (0: 600) */
} kube_logs_opts_t;

typedef struct kube_logs_callbacks {
    void *data;
    /** One line, without its newline: `ts` is the kubelet's RFC 3339 timestamp ("" when the line had none), `line`
     *  the rest (untrusted bytes, not NUL-terminated; a line longer than KUBE_LOG_LINE_MAX is cut). */
    void (*line)(void *data, const char *ts, const char *line, size_t len);
    /** The stream is over: `res->status` 200 when the log ended (the container ended), else the error. A stream
     *  that breaks mid-way is resumed by itself after the last line handed over (lines that share a timestamp
     *  are told apart by their order). Fires once; the stream is then finished but still must be freed with
     *  kube_logs_stop(). */
    void (*end)(void *data, const kube_response_t *res);
} kube_logs_callbacks_t;

#define KUBE_LOG_LINE_MAX   16384
#define KUBE_WATCH_LINE_MAX (4 * 1024 * 1024)

typedef struct kube_logs kube_logs_t;

kube_logs_t *kube_logs_start(kube_client_t *c, const kube_logs_opts_t *opts, const kube_logs_callbacks_t *cbs);
/** Stops (if still going) and frees the stream; no callback fires afterwards. Safe from inside its callbacks. */
void kube_logs_stop(kube_logs_t *l);

/** Splits "2024-05-01T10:00:00.123456789Z text" into the timestamp and the text. Returns 0, or -1 (and leaves the
 *  outputs alone) when the line does not start with an RFC 3339 timestamp followed by a space. */
int kube_log_split(const char *line, size_t len, const char **ts, size_t *ts_len, const char **text, size_t *text_len);

/* ---- start-up check --------------------------------------------------------------------------------------------- */

/** GET /version, then a list of pods in the namespace (limit=1). `cb` gets ok=1 and the server's version
 *  ("v1.31.0"), or ok=0 and a sentence saying what failed ("cannot reach the Kubernetes API at ...: ...",
 *  "the Kubernetes API refused to list pods in namespace x: ..."). Fires once, from the loop. */
typedef void (*kube_access_cb)(void *data, int ok, const char *detail);
int kube_access_check(kube_client_t *c, kube_access_cb cb, void *data);

#endif
