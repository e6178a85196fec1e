/*
 * List, then watch from the list's resourceVersion, for as long as the watch lives (client-go's reflector in
 * small). The objects seen are kept by namespace/name so that a re-list reports only what changed meanwhile:
 * nothing is lost and nothing is repeated across a dropped stream or an expired resourceVersion.
 *
 * A stream that ends cleanly (the server's timeoutSeconds) is opened again from the last resourceVersion. A
 * stream answered 410, or answered 200 with one ERROR event holding a 410 Status ("too old resource version"),
 * means the history is gone: list again. Other failures wait with backoff. A stream that ends cleanly within
 * seconds without a single event is a failure too (a proxy or load balancer that closes streams at once would
 * otherwise make a tight request loop): it waits with the same backoff (client-go's reflector calls such a
 * stream "very short watch" and backs off likewise).
 */
#include <stdlib.h>
#include <string.h>

#include "kube/kube_internal.h"
#include "util/line_split.h"
#include "util/log.h"

#define WATCH_TIMEOUT_S     240 /* the server ends each stream after this long (plus jitter) */
#define WATCH_BASE_MS       250
#define WATCH_CAP_MS        30000
#define WATCH_PAGE_LIMIT    "500"
#define WATCH_RELIST_FAIL   3    /* consecutive failed streams before a re-list */
#define WATCH_MIN_STREAM_MS 3000 /* a clean end sooner than this, with no event, is a failure */

static uint64_t restarts[KUBE_WATCH_RESTART_KINDS]; /* every client of the process (the service has one) */

struct kube_watch {
    kube_op_t op;
    kube_client_t *c;
    char *api_version, *resource, *ns, *label_selector, *field_selector;
    kube_watch_callbacks_t cb;
    json_t *known;   /* "ns/name" -> the object's last state reported */
    json_t *listing; /* items of a list being paged */
    char rv[128];    /* resourceVersion to watch from */
    char cont[2048]; /* continue token of the list being paged */
    kube_request_t *list_req;
    kube_xfer_t *x;
    line_split_t ls;
    uv_timer_t timer;
    unsigned failures;
    uint64_t stream_start; /* loop time (ms) the stream was opened */
    unsigned stream_lines; /* events (bookmarks included) the stream brought */
    int synced;
    int relist;  /* the stream said the resourceVersion is gone */
    int stopped; /* kube_watch_stop() was called: nothing may call back any more */
};

static void start_list(kube_watch_t *w);
static void start_stream(kube_watch_t *w);

static const char *meta_str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

static int object_key(json_t *obj, char *buf, size_t cap)
{
    const char *name = meta_str(obj, "name");
    const char *ns = meta_str(obj, "namespace");
    if (name == NULL)
        return -1;
    return (size_t)snprintf(buf, cap, "%s/%s", ns ? ns : "", name) < cap ? 0 : -1;
}

static int same_str(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* Reports one change, unless it was already reported. Returns -1 when the watch was stopped meanwhile. */
static int report(kube_watch_t *w, kube_event_t type, json_t *obj)
{
    char key[512];
    if (object_key(obj, key, sizeof(key)) != 0)
        return 0;
    json_t *old = json_object_get(w->known, key);
    if (type == KUBE_DELETED) {
        if (old == NULL)
            return 0; /* never reported: nothing to take back */
        json_incref(obj);
        json_object_del(w->known, key);
        w->cb.event(w->cb.data, KUBE_DELETED, obj);
        json_decref(obj);
        return w->stopped ? -1 : 0;
    }
    if (old) {
        if (!same_str(meta_str(old, "uid"), meta_str(obj, "uid"))) {
            /* the same name, another object: the old one went away meanwhile */
            json_incref(old);
            json_object_del(w->known, key);
            w->cb.event(w->cb.data, KUBE_DELETED, old);
            json_decref(old);
            if (w->stopped)
                return -1;
            type = KUBE_ADDED;
        } else if (same_str(meta_str(old, "resourceVersion"), meta_str(obj, "resourceVersion")))
            return 0; /* seen */
        else
            type = KUBE_MODIFIED;
    } else
        type = KUBE_ADDED;
    json_object_set(w->known, key, obj);
    w->cb.event(w->cb.data, type, obj);
    return w->stopped ? -1 : 0;
}

static void wait_then(kube_watch_t *w, void (*fn)(uv_timer_t *t), long retry_after)
{
    uint64_t ms = kube_backoff_ms(w->failures, WATCH_BASE_MS, WATCH_CAP_MS, retry_after, kube_random(w->c));
    w->failures++;
    uv_timer_start(&w->timer, fn, ms, 0);
}

static void on_list_timer(uv_timer_t *t)
{
    start_list(t->data);
}
static void on_stream_timer(uv_timer_t *t)
{
    start_stream(t->data);
}

static int build_path(kube_watch_t *w, char *buf, size_t cap)
{
    if (kube_path(buf, cap, w->api_version, w->ns, w->resource, NULL, NULL) != 0)
        return -1;
    if (w->label_selector && kube_path_query(buf, cap, "labelSelector", w->label_selector) != 0)
        return -1;
    if (w->field_selector && kube_path_query(buf, cap, "fieldSelector", w->field_selector) != 0)
        return -1;
    return 0;
}

/* ---- the list ---- */

/* The list is complete: report what changed against what is known, then watch from its resourceVersion. */
static void list_complete(kube_watch_t *w)
{
    json_t *items = w->listing;
    w->listing = NULL;
    /* gone meanwhile: known, not listed */
    json_t *listed = json_object();
    size_t i;
    json_t *it;
    char key[512];
    json_array_foreach(items, i, it)
    {
        if (object_key(it, key, sizeof(key)) == 0)
            json_object_set(listed, key, it);
    }
    const char *k;
    json_t *v, *gone = json_array();
    void *tmp;
    json_object_foreach_safe(w->known, tmp, k, v)
    {
        if (json_object_get(listed, k) == NULL)
            json_array_append(gone, v);
    }
    json_decref(listed);
    int stopped = 0;
    json_array_foreach(gone, i, it)
    {
        if ((stopped = report(w, KUBE_DELETED, it)) != 0)
            break;
    }
    json_decref(gone);
    if (!stopped)
        json_array_foreach(items, i, it)
        {
            if ((stopped = report(w, KUBE_ADDED, it)) != 0)
                break;
        }
    json_decref(items);
    if (stopped)
        return;
    if (!w->synced) {
        w->synced = 1;
        if (w->cb.synced) {
            w->cb.synced(w->cb.data);
            if (w->stopped)
                return;
        }
    }
    w->failures = 0;
    start_stream(w);
}

static void on_list(void *data, const kube_response_t *res)
{
    kube_watch_t *w = data;
    w->list_req = NULL;
    json_t *items = json_object_get(res->body, "items");
    if (res->status != 200 || !json_is_array(items)) {
        json_decref(w->listing);
        w->listing = NULL;
        w->cont[0] = '\0';
        log_warn("kube", "list of %s failed: %s", w->resource, res->message[0] ? res->message : "not a list");
        if (w->cb.error) {
            w->cb.error(w->cb.data, res);
            if (w->stopped)
                return;
        }
        wait_then(w, on_list_timer, 0);
        return;
    }
    if (w->listing == NULL)
        w->listing = json_array();
    json_array_extend(w->listing, items);
    const char *rv = json_string_value(json_object_get(json_object_get(res->body, "metadata"), "resourceVersion"));
    const char *cont = json_string_value(json_object_get(json_object_get(res->body, "metadata"), "continue"));
    if (cont && cont[0] && strlen(cont) < sizeof(w->cont)) {
        strcpy(w->cont, cont);
        start_list(w); /* the next page */
        return;
    }
    w->cont[0] = '\0';
    snprintf(w->rv, sizeof(w->rv), "%s", rv ? rv : "");
    list_complete(w);
}

static void start_list(kube_watch_t *w)
{
    char path[4096];
    w->relist = 0;
    if (build_path(w, path, sizeof(path)) != 0 || kube_path_query(path, sizeof(path), "limit", WATCH_PAGE_LIMIT) != 0 ||
        (w->cont[0] && kube_path_query(path, sizeof(path), "continue", w->cont) != 0)) {
        log_error("kube", "watch of %s: the list path does not fit", w->resource);
        return;
    }
    w->list_req = kube_get(w->c, path, on_list, w);
    if (w->list_req == NULL)
        wait_then(w, on_list_timer, 0);
}

/* ---- the stream ---- */

static int on_line(void *ctx, const char *line, size_t len, int cut)
{
    kube_watch_t *w = ctx;
    if (cut) {
        log_warn("kube", "watch of %s: an event longer than %d bytes: listing again", w->resource, KUBE_WATCH_LINE_MAX);
        w->relist = 1;
        return -1;
    }
    if (len == 0)
        return 0;
    w->stream_lines++;
    json_t *ev = json_loadb(line, len, 0, NULL);
    const char *type = json_string_value(json_object_get(ev, "type"));
    json_t *obj = json_object_get(ev, "object");
    int rc = 0;
    if (type == NULL || !json_is_object(obj)) {
        log_warn("kube", "watch of %s: a line that is not an event: listing again", w->resource);
        w->relist = 1;
        rc = -1;
    } else if (strcmp(type, "ERROR") == 0) {
        json_int_t code = json_integer_value(json_object_get(obj, "code"));
        const char *msg = json_string_value(json_object_get(obj, "message"));
        log_info("kube", "watch of %s from %s: %s (%lld): listing again", w->resource, w->rv, msg ? msg : "error",
                 (long long)code);
        w->relist = 1; /* 410 Expired/Gone, or anything else the server could not do: start over */
        rc = -1;
    } else {
        const char *rv = meta_str(obj, "resourceVersion");
        if (rv && strlen(rv) < sizeof(w->rv))
            strcpy(w->rv, rv);
        if (strcmp(type, "ADDED") == 0)
            rc = report(w, KUBE_ADDED, obj);
        else if (strcmp(type, "MODIFIED") == 0)
            rc = report(w, KUBE_MODIFIED, obj);
        else if (strcmp(type, "DELETED") == 0)
            rc = report(w, KUBE_DELETED, obj);
        /* BOOKMARK: only the resourceVersion moves */
        if (rc == 0)
            w->failures = 0;
    }
    json_decref(ev);
    return rc;
}

static int on_stream_data(void *owner, const char *data, size_t len)
{
    kube_watch_t *w = owner;
    return line_split_feed(&w->ls, data, len, on_line, w);
}

static void on_stream_done(void *owner, CURLcode rc, long status, const char *body, size_t body_len,
                           const char *errtext, long retry_after)
{
    (void)body;
    (void)body_len;
    kube_watch_t *w = owner;
    w->x = NULL;
    if (rc == CURLE_OK && status == 200 && !w->relist && line_split_finish(&w->ls, on_line, w) != 0 && w->stopped)
        return;
    line_split_reset(&w->ls);
    if (w->relist || status == 410) {
        restarts[KUBE_WATCH_RESTART_RELIST]++;
        start_list(w);
        return;
    }
    if (rc == CURLE_OK && status == 200) {
        uint64_t lasted = uv_now(w->c->loop) - w->stream_start;
        if (lasted < WATCH_MIN_STREAM_MS && w->stream_lines == 0) {
            restarts[KUBE_WATCH_RESTART_SHORT]++;
            if (w->failures == 0) /* once per series: a proxy that closes every stream would fill the log */
                log_warn("kube", "watch of %s ended after %llu ms without an event: watching again with backoff",
                         w->resource, (unsigned long long)lasted);
            wait_then(w, on_stream_timer, 0);
            return;
        }
        restarts[KUBE_WATCH_RESTART_TIMEOUT]++;
        start_stream(w); /* the server's timeout: go on from where it was */
        return;
    }
    restarts[KUBE_WATCH_RESTART_ERROR]++;
    log_warn("kube", "watch of %s ended: %s", w->resource, rc != CURLE_OK ? errtext : "error status");
    if (w->failures + 1 >= WATCH_RELIST_FAIL)
        wait_then(w, on_list_timer, retry_after);
    else
        wait_then(w, on_stream_timer, retry_after);
}

static void start_stream(kube_watch_t *w)
{
    char path[4096], timeout[16];
    unsigned t = WATCH_TIMEOUT_S + kube_random(w->c) % 60;
    snprintf(timeout, sizeof(timeout), "%u", t);
    if (build_path(w, path, sizeof(path)) != 0 || kube_path_query(path, sizeof(path), "watch", "1") != 0 ||
        kube_path_query(path, sizeof(path), "resourceVersion", w->rv) != 0 ||
        kube_path_query(path, sizeof(path), "allowWatchBookmarks", "true") != 0 ||
        kube_path_query(path, sizeof(path), "timeoutSeconds", timeout) != 0)
        return;
    kube_xfer_opts_t o = {.method = "GET",
                          .path = path,
                          .timeout_ms = (long)(t + 30) * 1000,
                          .on_data = on_stream_data,
                          .on_done = on_stream_done,
                          .owner = w};
    line_split_reset(&w->ls);
    w->stream_start = uv_now(w->c->loop);
    w->stream_lines = 0;
    w->x = kube_xfer_start(w->c, &o);
    if (w->x == NULL)
        wait_then(w, on_stream_timer, 0);
}

/* ---- life ---- */

static char *dup_opt(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void free_watch(uv_handle_t *h)
{
    kube_watch_t *w = (kube_watch_t *)((char *)h - offsetof(kube_watch_t, timer));
    json_decref(w->known);
    json_decref(w->listing);
    line_split_dispose(&w->ls);
    free(w->api_version);
    free(w->resource);
    free(w->ns);
    free(w->label_selector);
    free(w->field_selector);
    free(w);
}

static void stop(kube_watch_t *w)
{
    w->stopped = 1;
    kube_request_cancel(w->list_req);
    w->list_req = NULL;
    kube_xfer_abort(w->x);
    w->x = NULL;
    uv_timer_stop(&w->timer);
    kube_handle_close(w->c, (uv_handle_t *)&w->timer, free_watch);
}

static void cancel_op(kube_op_t *op)
{
    if (!((kube_watch_t *)op)->stopped)
        stop((kube_watch_t *)op);
}

static void on_first_list(uv_timer_t *t)
{
    start_list(t->data);
}

kube_watch_t *kube_watch_start(kube_client_t *c, const kube_watch_opts_t *opts, const kube_watch_callbacks_t *cbs)
{
    if (c->closing)
        return NULL;
    kube_watch_t *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->c = c;
    w->cb = *cbs;
    w->api_version = dup_opt(opts->api_version);
    w->resource = dup_opt(opts->resource);
    w->ns = dup_opt(opts->ns ? opts->ns : c->ns);
    w->label_selector = dup_opt(opts->label_selector);
    w->field_selector = dup_opt(opts->field_selector);
    w->known = json_object();
    line_split_init(&w->ls, KUBE_WATCH_LINE_MAX);
    kube_timer_init(c, &w->timer, w);
    if (w->api_version == NULL || w->resource == NULL || w->ns == NULL || w->known == NULL) {
        stop(w);
        return NULL;
    }
    kube_op_link(c, &w->op, cancel_op);
    uv_timer_start(&w->timer, on_first_list, 0, 0); /* callbacks only from the loop, never from here */
    return w;
}

void kube_watch_stop(kube_watch_t *w)
{
    if (w == NULL || w->stopped)
        return;
    kube_op_unlink(&w->op);
    stop(w);
}

uint64_t kube_watch_restarts(kube_watch_restart_t why)
{
    return why < KUBE_WATCH_RESTART_KINDS ? restarts[why] : 0;
}

const char *kube_watch_restart_name(kube_watch_restart_t why)
{
    static const char *const names[KUBE_WATCH_RESTART_KINDS] = {"timeout", "short", "error", "relist"};
    return why < KUBE_WATCH_RESTART_KINDS ? names[why] : "";
}
