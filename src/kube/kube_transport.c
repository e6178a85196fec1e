/*
 * Transfers: libcurl's multi interface on the libuv loop (the shape of curl's docs/examples/multi-uv.c). curl says
 * which sockets to watch (CURLMOPT_SOCKETFUNCTION -> one uv_poll_t each) and when to wake it
 * (CURLMOPT_TIMERFUNCTION -> one uv_timer_t); the loop tells curl back with curl_multi_socket_action(). One multi
 * handle per client keeps the connections open between requests.
 *
 * curl forbids removing an easy handle from inside its own callbacks, and a write callback hands data to code
 * that may stop the very transfer (a watch stopped from its event callback): an aborted transfer is marked, its
 * write callback refuses further data, and it is removed once curl_multi_socket_action() has returned and the
 * ended transfers have been reported.
 */
#include <stdlib.h>
#include <string.h>

#include "kube/kube_internal.h"
#include "util/log.h"

struct kube_xfer {
    kube_xfer_t *next, *prev;
    kube_client_t *c;
    CURL *easy;
    struct curl_slist *headers;
    char *req_body;
    void *owner; /* NULL once aborted */
    kube_xfer_data_fn on_data;
    kube_xfer_done_fn on_done;
    char *body; /* collected answer */
    size_t body_len, body_cap, body_max;
    int status_checked; /* a stream's status has been looked at: data goes to on_data only for a 2xx */
    int streaming;
    int dead;    /* aborted inside curl: remove after curl_multi_socket_action() */
    int pending; /* started while curl was running: handed to the multi handle afterwards */
    char errbuf[CURL_ERROR_SIZE];
};

typedef struct kube_sock {
    uv_poll_t poll;
    curl_socket_t fd;
    kube_client_t *c;
} kube_sock_t;

static void unlink_xfer(kube_xfer_t *x)
{
    kube_client_t *c = x->c;
    if (x->prev)
        x->prev->next = x->next;
    else
        c->xfers = x->next;
    if (x->next)
        x->next->prev = x->prev;
    x->next = x->prev = NULL;
}

static void free_xfer(kube_xfer_t *x)
{
    unlink_xfer(x);
    curl_multi_remove_handle(x->c->multi, x->easy);
    curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    free(x->req_body);
    free(x->body);
    free(x);
}

static int collect(kube_xfer_t *x, const char *data, size_t len)
{
    if (len > x->body_max - x->body_len)
        return -1;
    if (x->body_len + len + 1 > x->body_cap) {
        size_t cap = x->body_cap ? x->body_cap : 4096;
        while (cap < x->body_len + len + 1)
            cap *= 2;
        char *nb = realloc(x->body, cap);
        if (nb == NULL)
            return -1;
        x->body = nb;
        x->body_cap = cap;
    }
    memcpy(x->body + x->body_len, data, len);
    x->body_len += len;
    x->body[x->body_len] = '\0';
    return 0;
}

static size_t on_write(char *ptr, size_t size, size_t n, void *ud)
{
    kube_xfer_t *x = ud;
    size_t len = size * n;
    if (x->owner == NULL)
        return 0; /* aborted: curl ends the transfer with CURLE_WRITE_ERROR */
    if (x->streaming && !x->status_checked) {
        long status = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        x->status_checked = 1;
        if (status < 200 || status > 299) {
            x->streaming = 0; /* an error answer: its Status is collected whole */
            x->body_max = KUBE_ERROR_BODY_MAX;
        }
    }
    if (x->streaming)
        return x->on_data(x->owner, ptr, len) == 0 ? len : 0;
    return collect(x, ptr, len) == 0 ? len : 0;
}

/* Removes the transfers aborted while curl was running. */
static void sweep(kube_client_t *c)
{
    kube_xfer_t *x = c->xfers;
    while (x) {
        kube_xfer_t *next = x->next;
        if (x->dead)
            free_xfer(x);
        x = next;
    }
}

static void check_done(kube_client_t *c)
{
    CURLMsg *msg;
    int pending;
    while ((msg = curl_multi_info_read(c->multi, &pending))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        kube_xfer_t *x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        CURLcode rc = msg->data.result;
        long status = 0;
        curl_off_t retry_after = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(x->easy, CURLINFO_RETRY_AFTER, &retry_after);
        if (x->owner && !x->dead) {
            const char *err = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
            void *owner = x->owner;
            x->owner = NULL;
            x->dead = 1; /* whatever on_done does, this transfer is over */
            x->on_done(owner, rc, status, x->body ? x->body : "", x->body_len, err, (long)retry_after);
        }
        x->dead = 1;
    }
}

/* Hands the transfers started during a dispatch to curl (curl refuses new handles from inside its callbacks). */
static void add_pending(kube_client_t *c)
{
    for (kube_xfer_t *x = c->xfers; x; x = x->next) {
        if (!x->pending || x->dead)
            continue;
        x->pending = 0;
        if (curl_multi_add_handle(c->multi, x->easy) != CURLM_OK) {
            void *owner = x->owner;
            x->owner = NULL;
            x->dead = 1;
            c->dispatching++; /* the owner may start or abort transfers: they wait, as in a dispatch */
            x->on_done(owner, CURLE_FAILED_INIT, 0, "", 0, "cannot add the transfer to curl", 0);
            c->dispatching--;
        }
    }
}

/* Runs curl for one socket (or the timeout); transfers that ended are reported, then freed. Code called from
 * here may start or abort transfers or close the client: all of that waits until the dispatch is over. */
static void socket_action(kube_client_t *c, curl_socket_t fd, int flags)
{
    int running;
    c->dispatching++;
    curl_multi_socket_action(c->multi, fd, flags, &running);
    check_done(c);
    c->dispatching--;
    while (c->dispatching == 0) {
        sweep(c);
        if (c->closing) {
            kube_client_finish_close(c);
            return;
        }
        int again = 0;
        for (kube_xfer_t *x = c->xfers; x; x = x->next)
            again |= x->pending && !x->dead;
        if (!again)
            return;
        add_pending(c);
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    kube_sock_t *s = h->data;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    socket_action(s->c, s->fd, flags);
}

static void on_timer(uv_timer_t *t)
{
    kube_client_t *c = t->data;
    socket_action(c, CURL_SOCKET_TIMEOUT, 0);
}

static void on_sock_closed(uv_handle_t *h)
{
    kube_sock_t *s = h->data;
    kube_client_t *c = s->c;
    free(s);
    kube_client_handle_closed(c);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    kube_client_t *c = userp;
    kube_sock_t *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            uv_poll_stop(&s->poll);
            if (!c->closed)
                curl_multi_assign(c->multi, fd, NULL);
            uv_close((uv_handle_t *)&s->poll, on_sock_closed);
        }
        return 0;
    }
    if (s == NULL) {
        s = calloc(1, sizeof(*s));
        if (s == NULL)
            return -1;
        s->fd = fd;
        s->c = c;
        if (uv_poll_init_socket(c->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->poll.data = s;
        c->open_handles++;
        curl_multi_assign(c->multi, fd, s);
    }
    int events = 0;
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    uv_poll_start(&s->poll, events, on_poll);
    return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    kube_client_t *c = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

int kube_transport_init(kube_client_t *c)
{
    c->multi = curl_multi_init();
    if (c->multi == NULL)
        return -1;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    uv_timer_init(c->loop, &c->timer);
    c->timer.data = c;
    c->open_handles++;
    return 0;
}

/* Ends every transfer and the multi handle (curl closes its sockets: their polls close through on_socket). */
void kube_transport_close(kube_client_t *c)
{
    while (c->xfers)
        free_xfer(c->xfers);
    c->closed = 1;
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    uv_timer_stop(&c->timer);
    kube_handle_close(c, (uv_handle_t *)&c->timer, NULL);
}

kube_xfer_t *kube_xfer_start(kube_client_t *c, const kube_xfer_opts_t *o)
{
    if (c->closing || c->multi == NULL)
        return NULL;
    kube_xfer_t *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return NULL;
    x->c = c;
    x->owner = o->owner;
    x->on_data = o->on_data;
    x->on_done = o->on_done;
    x->streaming = o->on_data != NULL;
    x->body_max = KUBE_BODY_MAX;
    x->easy = curl_easy_init();
    char url[8192];
    if (x->easy == NULL || snprintf(url, sizeof(url), "%s%s", c->auth.server, o->path) >= (int)sizeof(url))
        goto fail;
    if (o->body && (x->req_body = strdup(o->body)) == NULL)
        goto fail;

    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)KUBE_CONNECT_MS);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 15L);
    if (o->timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, o->method);
    if (strcmp(o->method, "GET") == 0)
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    if (x->req_body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->req_body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(x->req_body));
    }
    kube_auth_apply_tls(&c->auth, e);

    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
    if (h && o->content_type) {
        char ct[128];
        snprintf(ct, sizeof(ct), "Content-Type: %s", o->content_type);
        h = curl_slist_append(h, ct);
    }
    const char *token = kube_auth_token(&c->auth);
    if (h && token[0]) {
        size_t n = strlen(token) + 32;
        char *auth = malloc(n);
        if (auth) {
            snprintf(auth, n, "Authorization: Bearer %s", token);
            h = curl_slist_append(h, auth);
            free(auth);
        }
    }
    if (h == NULL)
        goto fail;
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip for bodies */
    x->headers = h;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);

    if (c->dispatching)
        x->pending = 1; /* inside curl's callbacks (or reporting ended transfers): added once that is over */
    else if (curl_multi_add_handle(c->multi, e) != CURLM_OK)
        goto fail;
    x->next = c->xfers;
    if (c->xfers)
        c->xfers->prev = x;
    c->xfers = x;
    return x;
fail:
    if (x->easy)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    free(x->req_body);
    free(x);
    return NULL;
}

void kube_xfer_abort(kube_xfer_t *x)
{
    if (x == NULL)
        return;
    x->owner = NULL;
    if (x->c->dispatching)
        x->dead = 1;
    else
        free_xfer(x);
}
