#include "http/pending.h"

#include <string.h>

#include "http/reply.h"

typedef struct pending {
    orch_waiter_t waiter;
    h2o_req_t *req;
} pending_t;

static void on_disposed(void *p)
{
    orch_waiter_forget(&((pending_t *)p)->waiter);
}

orch_waiter_t *http_waiter(h2o_req_t *req)
{
    pending_t *p = h2o_mem_alloc_shared(&req->pool, sizeof(*p), on_disposed);
    memset(p, 0, sizeof(*p));
    p->req = req;
    p->waiter.data = p;
    return &p->waiter;
}

h2o_req_t *http_waiter_req(orch_waiter_t *w)
{
    return ((pending_t *)w->data)->req;
}

void http_answer(orch_waiter_t *w, int status, json_t *body)
{
    h2o_req_t *req = http_waiter_req(w);
    if (status == 503)
        reply_header(req, "retry-after", "1");
    reply_json(req, status, body);
}
