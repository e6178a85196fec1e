/* One JSON request: an answer with its HTTP status, its parsed body and, on an error, the API's Status message.
 * GET and DELETE (idempotent) are asked again with backoff after a connection error, a 429 or a 5xx.
 *
 * A create (POST) is asked again after a 429 (the API did nothing: max-in-flight or priority and fairness
 * refused it), and, when the object has a fixed name, after an answer lost on the way (the connection broke, or
 * an HTTP/2 stream was reset): the first try may have been carried out, so the next may meet 409 AlreadyExists.
 * The object found under that name is then read; when it carries the labels sent, it is the one this request
 * made and is answered as created (200), else the 409 stands. A 5xx is an answer (the API says what it did) and
 * a timeout already spent the request's time: neither is asked again. */
#include <stdlib.h>
#include <string.h>

#include "kube/kube_internal.h"
#include "util/log.h"

#define RETRY_BASE_MS 250
#define RETRY_CAP_MS  5000

struct kube_request {
    kube_op_t op;
    kube_client_t *c;
    kube_method_t method;
    char *path;
    char *body;
    kube_response_cb cb;
    void *data;
    kube_xfer_t *x;
    uv_timer_t timer;
    unsigned attempt;
    char *name;     /* POST: the object's metadata.name (NULL: none, e.g. generateName) */
    json_t *labels; /* POST: the labels sent, to know the object as ours */
    int maybe_done; /* POST: a try whose answer was lost may have been carried out */
    char *conflict; /* POST: the 409's body, answered if the object found is not ours */
    size_t conflict_len;
    int released; /* freed once its timer has closed: a second release (client closing) does nothing */
};

static const char *method_name(kube_method_t m)
{
    switch (m) {
    case KUBE_GET: return "GET";
    case KUBE_POST: return "POST";
    case KUBE_PUT: return "PUT";
    case KUBE_PATCH_MERGE:
    case KUBE_PATCH_STRATEGIC: return "PATCH";
    case KUBE_DELETE: return "DELETE";
    }
    return "GET";
}

static const char *content_type(kube_method_t m)
{
    switch (m) {
    case KUBE_PATCH_MERGE: return "application/merge-patch+json";
    case KUBE_PATCH_STRATEGIC: return "application/strategic-merge-patch+json";
    case KUBE_POST:
    case KUBE_PUT:
    case KUBE_DELETE: return "application/json";
    default: return NULL;
    }
}

int kube_retryable(CURLcode rc, long status)
{
    /* HTTP/2 (TLS to a real API server): a stream reset (RST_STREAM, a GOAWAY from an API server that restarts or
     * rebalances connections) is a broken connection like any other */
    if (rc != CURLE_OK)
        return rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_GOT_NOTHING ||
               rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_PARTIAL_FILE ||
               rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_HTTP2 || rc == CURLE_HTTP2_STREAM;
    return status == 429 || (status >= 500 && status <= 599);
}

void kube_response_fill(kube_response_t *res, json_t **json, CURLcode rc, long status, const char *body,
                        size_t body_len, const char *errtext, char *msgbuf, size_t msgcap)
{
    *json = body_len ? json_loadb(body, body_len, 0, NULL) : NULL;
    res->status = rc == CURLE_OK ? status : 0;
    res->body = *json;
    res->message = "";
    res->reason = "";
    if (res->status >= 200 && res->status < 400)
        return;
    if (res->status == 0) {
        snprintf(msgbuf, msgcap, "%s", errtext && errtext[0] ? errtext : curl_easy_strerror(rc));
        res->message = msgbuf;
        return;
    }
    const char *kind = json_string_value(json_object_get(*json, "kind"));
    const char *msg = json_string_value(json_object_get(*json, "message"));
    const char *reason = json_string_value(json_object_get(*json, "reason"));
    if (kind && strcmp(kind, "Status") == 0 && msg)
        res->message = msg;
    else {
        snprintf(msgbuf, msgcap, "HTTP %ld", status);
        res->message = msgbuf;
    }
    if (reason)
        res->reason = reason;
}

static void free_request(uv_handle_t *h)
{
    kube_request_t *r = (kube_request_t *)((char *)h - offsetof(kube_request_t, timer));
    free(r->path);
    free(r->body);
    free(r->name);
    json_decref(r->labels);
    free(r->conflict);
    free(r);
}

static void release(kube_request_t *r)
{
    if (r->released)
        return;
    r->released = 1;
    kube_op_unlink(&r->op);
    kube_xfer_abort(r->x);
    r->x = NULL;
    uv_timer_stop(&r->timer);
    kube_handle_close(r->c, (uv_handle_t *)&r->timer, free_request);
}

static int send_attempt(kube_request_t *r);

static void on_retry_timer(uv_timer_t *t)
{
    kube_request_t *r = t->data;
    if (send_attempt(r) != 0) {
        kube_response_t res = {0, NULL, "cannot start the request", ""};
        kube_response_cb cb = r->cb;
        void *data = r->data;
        release(r);
        cb(data, &res);
    }
}

/* Whether an answer may be asked again (see the top of the file). */
static int may_retry(const kube_request_t *r, CURLcode rc, long status)
{
    if (r->c->closing || r->attempt >= KUBE_RETRIES || !kube_retryable(rc, status))
        return 0;
    if (r->method == KUBE_GET || r->method == KUBE_DELETE)
        return 1;
    if (r->method != KUBE_POST)
        return 0;
    if (rc == CURLE_OK)
        return status == 429;
    return r->name != NULL && rc != CURLE_OPERATION_TIMEDOUT;
}

static void answer(kube_request_t *r, CURLcode rc, long status, const char *body, size_t body_len, const char *errtext)
{
    kube_response_t res;
    json_t *json;
    char msg[CURL_ERROR_SIZE + 64];
    kube_response_fill(&res, &json, rc, status, body, body_len, errtext, msg, sizeof(msg));
    kube_response_cb cb = r->cb;
    void *data = r->data;
    release(r);
    cb(data, &res);
    json_decref(json);
}

static int labels_equal(json_t *a, json_t *b)
{
    int empty_a = a == NULL || (json_is_object(a) && json_object_size(a) == 0);
    int empty_b = b == NULL || (json_is_object(b) && json_object_size(b) == 0);
    return (empty_a && empty_b) || json_equal(a, b);
}

/* The object that made a retried create answer 409: ours (the labels sent) is the one the lost try made. */
static void on_existing(void *owner, CURLcode rc, long status, const char *body, size_t body_len, const char *errtext,
                        long retry_after)
{
    (void)errtext;
    (void)retry_after;
    kube_request_t *r = owner;
    r->x = NULL;
    json_t *obj = rc == CURLE_OK && status == 200 ? json_loadb(body, body_len, 0, NULL) : NULL;
    json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
    if (obj && labels_equal(labels, r->labels)) {
        log_info("kube",
                 "POST %s: an earlier try's answer was lost and %s exists with the labels sent: taken as "
                 "created",
                 r->path, r->name);
        answer(r, CURLE_OK, 200, body, body_len, "");
    } else
        answer(r, CURLE_OK, 409, r->conflict, r->conflict_len, "");
    json_decref(obj);
}

/* A retried create met 409 AlreadyExists: reads the object of that name. Returns -1 when it cannot. */
static int look_up_existing(kube_request_t *r, const char *body, size_t body_len)
{
    char path[1024];
    size_t n = strcspn(r->path, "?");
    if ((size_t)snprintf(path, sizeof(path), "%.*s/%s", (int)n, r->path, r->name) >= sizeof(path) ||
        (r->conflict = malloc(body_len + 1)) == NULL)
        return -1;
    memcpy(r->conflict, body, body_len);
    r->conflict_len = body_len;
    kube_xfer_opts_t o = {
        .method = "GET", .path = path, .timeout_ms = r->c->timeout_ms, .on_done = on_existing, .owner = r};
    r->x = kube_xfer_start(r->c, &o);
    return r->x ? 0 : -1;
}

static void on_done(void *owner, CURLcode rc, long status, const char *body, size_t body_len, const char *errtext,
                    long retry_after)
{
    kube_request_t *r = owner;
    r->x = NULL;
    if (may_retry(r, rc, status)) {
        uint64_t ms = kube_backoff_ms(r->attempt, RETRY_BASE_MS, RETRY_CAP_MS, retry_after, kube_random(r->c));
        log_debug("kube", "%s %s: %s (HTTP %ld), again in %llu ms", method_name(r->method), r->path,
                  rc ? curl_easy_strerror(rc) : "answered", status, (unsigned long long)ms);
        /* no answer, although the request may have gone out: it may have been carried out */
        if (rc != CURLE_OK && rc != CURLE_COULDNT_CONNECT && rc != CURLE_COULDNT_RESOLVE_HOST)
            r->maybe_done = 1;
        r->attempt++;
        uv_timer_start(&r->timer, on_retry_timer, ms, 0);
        return;
    }
    if (rc == CURLE_OK && status == 409 && r->maybe_done && r->name) {
        json_t *st = json_loadb(body, body_len, 0, NULL);
        int exists = json_is_string(json_object_get(st, "reason")) &&
                     strcmp(json_string_value(json_object_get(st, "reason")), "AlreadyExists") == 0;
        json_decref(st);
        if (exists && look_up_existing(r, body, body_len) == 0)
            return;
    }
    answer(r, rc, status, body, body_len, errtext);
}

static int send_attempt(kube_request_t *r)
{
    kube_xfer_opts_t o = {.method = method_name(r->method),
                          .path = r->path,
                          .body = r->body,
                          .content_type = content_type(r->method),
                          .timeout_ms = r->c->timeout_ms,
                          .on_done = on_done,
                          .owner = r};
    r->x = kube_xfer_start(r->c, &o);
    return r->x ? 0 : -1;
}

static void cancel_op(kube_op_t *op)
{
    kube_request_t *r = (kube_request_t *)op;
    release(r);
}

kube_request_t *kube_request(kube_client_t *c, kube_method_t method, const char *path, json_t *body,
                             kube_response_cb cb, void *data)
{
    if (c->closing)
        return NULL;
    kube_request_t *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->c = c;
    r->method = method;
    r->cb = cb;
    r->data = data;
    r->path = strdup(path);
    if (body)
        r->body = json_dumps(body, JSON_COMPACT);
    json_t *meta = json_object_get(body, "metadata");
    const char *name = json_string_value(json_object_get(meta, "name"));
    int named = method == KUBE_POST && name && name[0] && strpbrk(name, "/?#&% ") == NULL;
    if (named) {
        r->name = strdup(name);
        r->labels = json_deep_copy(json_object_get(meta, "labels"));
    }
    if (r->path == NULL || (body && r->body == NULL) || (named && r->name == NULL)) {
        free(r->path);
        free(r->body);
        free(r->name);
        json_decref(r->labels);
        free(r);
        return NULL;
    }
    kube_timer_init(c, &r->timer, r);
    if (send_attempt(r) != 0) {
        kube_handle_close(c, (uv_handle_t *)&r->timer, free_request);
        return NULL;
    }
    kube_op_link(c, &r->op, cancel_op);
    return r;
}

void kube_request_cancel(kube_request_t *r)
{
    if (r)
        release(r);
}

kube_request_t *kube_get(kube_client_t *c, const char *path, kube_response_cb cb, void *data)
{
    return kube_request(c, KUBE_GET, path, NULL, cb, data);
}

kube_request_t *kube_create(kube_client_t *c, const char *path, json_t *object, kube_response_cb cb, void *data)
{
    return kube_request(c, KUBE_POST, path, object, cb, data);
}

kube_request_t *kube_patch_merge(kube_client_t *c, const char *path, json_t *patch, kube_response_cb cb, void *data)
{
    return kube_request(c, KUBE_PATCH_MERGE, path, patch, cb, data);
}

kube_request_t *kube_delete(kube_client_t *c, const char *path, const char *propagation, kube_response_cb cb,
                            void *data)
{
    json_t *opts = NULL;
    if (propagation)
        opts =
            json_pack("{s:s, s:s, s:s}", "kind", "DeleteOptions", "apiVersion", "v1", "propagationPolicy", propagation);
    kube_request_t *r = kube_request(c, KUBE_DELETE, path, opts, cb, data);
    json_decref(opts);
    return r;
}

/* ---- paths ---- */

static int safe_segment(const char *s)
{
    return s && s[0] && strpbrk(s, "/?#&% ") == NULL;
}

int kube_path(char *buf, size_t cap, const char *api_version, const char *ns, const char *resource, const char *name,
              const char *subresource)
{
    if (!safe_segment(resource) || (ns && !safe_segment(ns)) || (name && !safe_segment(name)) ||
        (subresource && !safe_segment(subresource)) || api_version == NULL)
        return -1;
    int n = snprintf(buf, cap, "%s%s%s%s/%s%s%s%s%s", strchr(api_version, '/') ? "/apis/" : "/api/", api_version,
                     ns ? "/namespaces/" : "", ns ? ns : "", resource, name ? "/" : "", name ? name : "",
                     subresource ? "/" : "", subresource ? subresource : "");
    return n >= 0 && (size_t)n < cap ? 0 : -1;
}

int kube_path_query(char *buf, size_t cap, const char *key, const char *value)
{
    char *esc = curl_easy_escape(NULL, value, 0);
    if (esc == NULL)
        return -1;
    size_t len = strlen(buf);
    int n = snprintf(buf + len, cap - len, "%c%s=%s", strchr(buf, '?') ? '&' : '?', key, esc);
    curl_free(esc);
    if (n < 0 || (size_t)n >= cap - len) {
        buf[len] = '\0';
        return -1;
    }
    return 0;
}
