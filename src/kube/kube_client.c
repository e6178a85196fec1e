/* The client: one curl multi handle on the loop, the credentials, and the operations going on, so that closing
 * the client stops them all. */
#include <stdlib.h>
#include <string.h>

#include "kube/kube_internal.h"
#include "util/log.h"

static void curl_global(void)
{
    static int done;
    if (!done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        done = 1;
    }
}

kube_client_t *kube_client_create(uv_loop_t *loop, const kube_config_t *kc, char *err, size_t errlen)
{
    curl_global();
    kube_client_t *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->loop = loop;
    c->ops.next = c->ops.prev = &c->ops;
    c->timeout_ms = (long)(kc->timeout_seconds > 0 ? kc->timeout_seconds * 1000 : 30000);
    c->rand_state = (uint32_t)uv_hrtime() | 1u;
    snprintf(c->ns, sizeof(c->ns), "%s", kc->namespace_);
    if (kube_auth_init(&c->auth, kc, err, errlen) != 0) {
        free(c);
        return NULL;
    }
    if (kube_transport_init(c) != 0) {
        snprintf(err, errlen, "cannot create a curl multi handle");
        kube_auth_dispose(&c->auth);
        free(c);
        return NULL;
    }
    return c;
}

const char *kube_client_namespace(const kube_client_t *c)
{
    return c->ns;
}

void kube_op_link(kube_client_t *c, kube_op_t *op, void (*cancel)(kube_op_t *op))
{
    op->cancel = cancel;
    op->next = c->ops.next;
    op->prev = &c->ops;
    c->ops.next->prev = op;
    c->ops.next = op;
}

void kube_op_unlink(kube_op_t *op)
{
    if (op->next == NULL)
        return;
    op->prev->next = op->next;
    op->next->prev = op->prev;
    op->next = op->prev = NULL;
}

void kube_timer_init(kube_client_t *c, uv_timer_t *t, void *data)
{
    uv_timer_init(c->loop, t);
    t->data = data;
    c->open_handles++;
}

typedef struct closing_handle {
    kube_client_t *c;
    void (*done)(uv_handle_t *h);
} closing_handle_t;

/* The handle's `data` is swapped for this record while it closes; `done` gets the handle back. */
static void on_handle_closed(uv_handle_t *h)
{
    closing_handle_t *ch = h->data;
    kube_client_t *c = ch->c;
    void (*done)(uv_handle_t *) = ch->done;
    free(ch);
    if (done)
        done(h);
    kube_client_handle_closed(c);
}

void kube_handle_close(kube_client_t *c, uv_handle_t *h, void (*done)(uv_handle_t *h))
{
    closing_handle_t *ch = malloc(sizeof(*ch));
    if (ch == NULL)
        abort(); /* as the rest of the service: allocation failure is fatal */
    ch->c = c;
    ch->done = done;
    h->data = ch;
    uv_close(h, on_handle_closed);
}

void kube_client_handle_closed(kube_client_t *c)
{
    c->open_handles--;
    if (c->open_handles == 0 && c->closed) {
        void (*cb)(void *) = c->close_cb;
        void *data = c->close_data;
        kube_auth_dispose(&c->auth);
        free(c);
        if (cb)
            cb(data);
    }
}

void kube_client_finish_close(kube_client_t *c)
{
    if (c->closed)
        return;
    kube_transport_close(c); /* closes the timer: the client is freed when the last handle has closed */
}

void kube_client_close(kube_client_t *c, void (*cb)(void *data), void *data)
{
    if (c == NULL || c->closing)
        return;
    c->closing = 1;
    c->close_cb = cb;
    c->close_data = data;
    while (c->ops.next != &c->ops) {
        kube_op_t *op = c->ops.next;
        kube_op_unlink(op);
        op->cancel(op);
    }
    if (c->dispatching == 0)
        kube_client_finish_close(c);
}

uint32_t kube_random(kube_client_t *c)
{
    /* xorshift32: jitter only */
    uint32_t x = c->rand_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c->rand_state = x;
    return x;
}
