/*
 * A pod's log as lines: GET .../pods/<pod>/log?follow=true&timestamps=true. Each line starts with the kubelet's
 * RFC 3339 timestamp (9 fractional digits), split off here. A pod not on a node yet answers 200 with an empty
 * body, a container not started yet answers 400 "is waiting to start": both are asked again a second later.
 *
 * A stream that breaks is resumed with sinceTime. The API server hands sinceTime on to the kubelet formatted as
 * RFC 3339 without a fraction (LogLocation() in pkg/registry/core/pod/strategy.go: SinceTime.Format(time.RFC3339)),
 * and the kubelet sends every line not before that second; so a resumed stream starts at the whole second and
 * repeats what was handed over since. Timestamps do not tell lines apart: the container runtime stamps a whole
 * read of the container's output with one time (CRI-O's conmon does), so several lines share a timestamp. A line
 * is therefore known by (timestamp, how many lines of the stream had that timestamp up to it): the lines up to
 * (last, last_n) are skipped, the rest handed over.
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube_internal.h"
#include "util/line_split.h"
#include "util/log.h"

#define LOGS_WAIT_MS      1000
#define LOGS_DEFAULT_WAIT 600
#define LOGS_BASE_MS      250
#define LOGS_CAP_MS       10000
#define LOGS_MAX_FAILURES 8
#define TS_NORM_LEN       29 /* "YYYY-MM-DDTHH:MM:SS.nnnnnnnnn" */

struct kube_logs {
    kube_op_t op;
    kube_client_t *c;
    char *ns, *pod, *container;
    int follow, max_waits, waits;
    unsigned failures;
    kube_logs_callbacks_t cb;
    char last[TS_NORM_LEN + 1]; /* the last timestamp handed over (normalised), "" before any */
    char last_raw[64];          /* the same, as the kubelet wrote it (for sinceTime) */
    unsigned last_n;            /* lines with `last` handed over (UINT_MAX: all there are, count unknown) */
    int digits;                 /* fraction digits `last` is compared at: 9, or a given since_time's (a take-over
                                   knows its resume point to the millisecond): until a line is handed over */
    char seen[TS_NORM_LEN + 1]; /* this stream: the previous line's timestamp, cut to `digits` */
    unsigned seen_n;            /* this stream: lines with `seen` so far */
    char seen_full[TS_NORM_LEN + 1];
    unsigned seen_full_n; /* the same at full precision (`digits` becomes 9 once a line is handed over) */
    int any_line;         /* a line came in some stream */
    kube_xfer_t *x;
    line_split_t ls;
    uv_timer_t timer;
    int stopped, ended;
};

/* "2024-05-01T10:00:00.5Z" -> "2024-05-01T10:00:00.500000000" (UTC only: the kubelet writes Z). `*ndigits` (may
 * be NULL) gets the number of fraction digits written. */
static int ts_normalize(const char *ts, size_t len, char out[TS_NORM_LEN + 1], int *ndigits)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    if (len < 20 || ts[len - 1] != 'Z')
        return -1;
    for (int i = 0; i < 19; i++)
        if (shape[i] == 'd' ? !isdigit((unsigned char)ts[i]) : ts[i] != shape[i])
            return -1;
    memcpy(out, ts, 19);
    out[19] = '.';
    size_t digits = 0;
    if (ts[19] == '.') {
        for (size_t i = 20; i < len - 1; i++) {
            if (!isdigit((unsigned char)ts[i]) || digits == 9)
                return -1;
            out[20 + digits++] = ts[i];
        }
        if (digits == 0)
            return -1;
    } else if (len != 20)
        return -1;
    if (ndigits)
        *ndigits = (int)digits;
    while (digits < 9)
        out[20 + digits++] = '0';
    out[TS_NORM_LEN] = '\0';
    return 0;
}

int kube_log_split(const char *line, size_t len, const char **ts, size_t *ts_len, const char **text, size_t *text_len)
{
    const char *sp = memchr(line, ' ', len < 64 ? len : 64);
    char norm[TS_NORM_LEN + 1];
    if (sp == NULL || ts_normalize(line, (size_t)(sp - line), norm, NULL) != 0)
        return -1;
    *ts = line;
    *ts_len = (size_t)(sp - line);
    *text = sp + 1;
    *text_len = len - *ts_len - 1;
    return 0;
}

static void start_stream(kube_logs_t *l);

static void finish(kube_logs_t *l, const kube_response_t *res)
{
    l->ended = 1; /* stays linked: kube_client_close() frees it if kube_logs_stop() has not */
    l->cb.end(l->cb.data, res);
}

/* Counts the line's timestamp in this stream at full and at compared precision. */
static void count_seen(kube_logs_t *l, const char *norm)
{
    if (strcmp(norm, l->seen_full) == 0)
        l->seen_full_n++;
    else {
        strcpy(l->seen_full, norm);
        l->seen_full_n = 1;
    }
    char key[TS_NORM_LEN + 1];
    strcpy(key, norm);
    memset(key + 20 + l->digits, '0', (size_t)(9 - l->digits)); /* cut to the precision `last` is known at */
    if (strcmp(key, l->seen) == 0)
        l->seen_n++;
    else {
        strcpy(l->seen, key);
        l->seen_n = 1;
    }
}

/* Whether the line just counted was handed over before (by this client, or by the replica that resumes here). */
static int handed_over(const kube_logs_t *l)
{
    if (l->last[0] == '\0')
        return 0;
    int c = strcmp(l->seen, l->last);
    return c < 0 || (c == 0 && l->seen_n <= l->last_n);
}

static int on_line(void *ctx, const char *line, size_t len, int cut)
{
    (void)cut; /* a cut line is handed over cut */
    kube_logs_t *l = ctx;
    const char *ts = "", *text = line;
    size_t ts_len = 0, text_len = len;
    char norm[TS_NORM_LEN + 1], tsbuf[64];
    if (kube_log_split(line, len, &ts, &ts_len, &text, &text_len) == 0 && ts_len < sizeof(tsbuf)) {
        ts_normalize(ts, ts_len, norm, NULL);
        count_seen(l, norm);
        if (handed_over(l))
            return 0; /* sent before the stream was resumed */
        memcpy(tsbuf, ts, ts_len);
        tsbuf[ts_len] = '\0';
        strcpy(l->last, norm);
        strcpy(l->last_raw, tsbuf);
        l->last_n = l->seen_full_n;
        if (l->digits != 9) { /* from here on the resume point is known to the nanosecond */
            l->digits = 9;
            strcpy(l->seen, l->seen_full);
            l->seen_n = l->seen_full_n;
        }
        ts = tsbuf;
    } else {
        ts = "";
        text = line;
        text_len = len;
    }
    l->any_line = 1;
    l->failures = 0;
    l->cb.line(l->cb.data, ts, text, text_len);
    return l->stopped ? -1 : 0;
}

static int on_data(void *owner, const char *data, size_t len)
{
    kube_logs_t *l = owner;
    return line_split_feed(&l->ls, data, len, on_line, l);
}

static void on_timer(uv_timer_t *t)
{
    start_stream(t->data);
}

static int waiting_to_start(const kube_response_t *res)
{
    return res->status == 400 && (strstr(res->message, "waiting to start") ||
                                  strstr(res->message, "ContainerCreating") || strstr(res->message, "PodInitializing"));
}

static void on_done(void *owner, CURLcode rc, long status, const char *body, size_t body_len, const char *errtext,
                    long retry_after)
{
    kube_logs_t *l = owner;
    l->x = NULL;
    if (rc == CURLE_OK && status == 200) {
        if (line_split_finish(&l->ls, on_line, l) != 0 && l->stopped)
            return;
    }
    line_split_reset(&l->ls);
    kube_response_t res;
    json_t *json;
    char msg[CURL_ERROR_SIZE + 64];
    kube_response_fill(&res, &json, rc, status, body, body_len, errtext, msg, sizeof(msg));
    if (rc == CURLE_OK && status == 200) {
        if (!l->follow || l->any_line || l->waits >= l->max_waits)
            finish(l, &res); /* the container ended (or never wrote a line while we waited) */
        else {
            l->waits++; /* not on a node yet: an empty answer */
            uv_timer_start(&l->timer, on_timer, LOGS_WAIT_MS, 0);
        }
    } else if (waiting_to_start(&res) && l->waits < l->max_waits) {
        l->waits++;
        uv_timer_start(&l->timer, on_timer, LOGS_WAIT_MS, 0);
    } else if (kube_retryable(rc, status) && l->failures < LOGS_MAX_FAILURES) {
        uint64_t ms = kube_backoff_ms(l->failures++, LOGS_BASE_MS, LOGS_CAP_MS, retry_after, kube_random(l->c));
        log_debug("kube", "log of pod %s broke (%s): resuming in %llu ms", l->pod, res.message, (unsigned long long)ms);
        uv_timer_start(&l->timer, on_timer, ms, 0);
    } else
        finish(l, &res);
    json_decref(json);
}

/* sinceTime reaches the kubelet in whole seconds whatever is sent (see the top): the last timestamp with its
 * fraction cut off, so that what this client sends is what the kubelet uses. */
static void since_param(const char *raw, char *out, size_t cap)
{
    size_t n = strcspn(raw, ".Z");
    snprintf(out, cap, "%.*sZ", (int)n, raw);
}

static void start_stream(kube_logs_t *l)
{
    char path[2048], since[64];
    if (kube_path(path, sizeof(path), "v1", l->ns, "pods", l->pod, "log") != 0 ||
        kube_path_query(path, sizeof(path), "timestamps", "true") != 0 ||
        (l->follow && kube_path_query(path, sizeof(path), "follow", "true") != 0) ||
        (l->container && kube_path_query(path, sizeof(path), "container", l->container) != 0))
        goto fail;
    l->seen[0] = l->seen_full[0] = '\0'; /* the counts are per stream: it starts again at sinceTime's second */
    l->seen_n = l->seen_full_n = 0;
    if (l->last_raw[0]) {
        since_param(l->last_raw, since, sizeof(since));
        if (kube_path_query(path, sizeof(path), "sinceTime", since) != 0)
            goto fail;
    }
    kube_xfer_opts_t o = {.method = "GET",
                          .path = path,
                          .timeout_ms = l->follow ? 0 : l->c->timeout_ms,
                          .on_data = on_data,
                          .on_done = on_done,
                          .owner = l};
    l->x = kube_xfer_start(l->c, &o);
    if (l->x)
        return;
fail:;
    kube_response_t res = {0, NULL, "cannot start the log request (bad pod name or out of memory)", ""};
    finish(l, &res);
}

static void free_logs(uv_handle_t *h)
{
    kube_logs_t *l = (kube_logs_t *)((char *)h - offsetof(kube_logs_t, timer));
    line_split_dispose(&l->ls);
    free(l->ns);
    free(l->pod);
    free(l->container);
    free(l);
}

static void stop(kube_logs_t *l)
{
    l->stopped = 1;
    kube_xfer_abort(l->x);
    l->x = NULL;
    uv_timer_stop(&l->timer);
    kube_handle_close(l->c, (uv_handle_t *)&l->timer, free_logs);
}

static void cancel_op(kube_op_t *op)
{
    if (!((kube_logs_t *)op)->stopped)
        stop((kube_logs_t *)op);
}

kube_logs_t *kube_logs_start(kube_client_t *c, const kube_logs_opts_t *opts, const kube_logs_callbacks_t *cbs)
{
    if (c->closing || opts->pod == NULL)
        return NULL;
    kube_logs_t *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return NULL;
    l->c = c;
    l->cb = *cbs;
    l->follow = opts->follow;
    l->max_waits = opts->max_waits > 0 ? opts->max_waits : LOGS_DEFAULT_WAIT;
    l->digits = 9;
    l->ns = strdup(opts->ns ? opts->ns : c->ns);
    l->pod = strdup(opts->pod);
    l->container = opts->container ? strdup(opts->container) : NULL;
    line_split_init(&l->ls, KUBE_LOG_LINE_MAX);
    kube_timer_init(c, &l->timer, l);
    if (opts->since_time && opts->since_time[0]) {
        size_t n = strlen(opts->since_time);
        if (n >= sizeof(l->last_raw) || ts_normalize(opts->since_time, n, l->last, &l->digits) != 0) {
            stop(l);
            return NULL;
        }
        strcpy(l->last_raw, opts->since_time);
        l->last_n = opts->since_count > 0 ? opts->since_count : UINT_MAX;
    }
    if (l->ns == NULL || l->pod == NULL || (opts->container && l->container == NULL)) {
        stop(l);
        return NULL;
    }
    kube_op_link(c, &l->op, cancel_op);
    uv_timer_start(&l->timer, on_timer, 0, 0); /* callbacks only from the loop */
    return l;
}

void kube_logs_stop(kube_logs_t *l)
{
    if (l == NULL || l->stopped)
        return;
    kube_op_unlink(&l->op);
    stop(l);
}
