/* The start-up check: is the API there (GET /version), and may we work in the namespace (list pods)? */
#include <stdlib.h>
#include <string.h>

#include "kube/kube_internal.h"

typedef struct access_check {
    kube_op_t op; /* a client that closes during the check frees it */
    kube_request_t *req;
    kube_client_t *c;
    kube_access_cb cb;
    void *data;
    char version[64];
} access_check_t;

static void done(access_check_t *a, int ok, const char *detail)
{
    kube_access_cb cb = a->cb;
    void *data = a->data;
    char copy[1024]; /* `detail` may live in `a` */
    snprintf(copy, sizeof(copy), "%s", detail);
    kube_op_unlink(&a->op);
    free(a);
    cb(data, ok, copy);
}

static void on_pods(void *data, const kube_response_t *res)
{
    access_check_t *a = data;
    a->req = NULL;
    char detail[1024];
    if (res->status == 200 && json_is_array(json_object_get(res->body, "items"))) {
        snprintf(detail, sizeof(detail), "%s", a->version); /* done() frees a */
        done(a, 1, detail);
        return;
    }
    if (res->status == 0)
        snprintf(detail, sizeof(detail), "cannot reach the Kubernetes API at %s: %s", a->c->auth.server, res->message);
    else
        snprintf(detail, sizeof(detail),
                 "the Kubernetes API at %s refused to list pods in namespace \"%s\" (HTTP %ld%s%s): %s",
                 a->c->auth.server, a->c->ns, res->status, res->reason[0] ? " " : "", res->reason, res->message);
    done(a, 0, detail);
}

static void on_version(void *data, const kube_response_t *res)
{
    access_check_t *a = data;
    a->req = NULL;
    char detail[1024], path[512];
    const char *v = json_string_value(json_object_get(res->body, "gitVersion"));
    if (res->status != 200 || v == NULL) {
        if (res->status == 0)
            snprintf(detail, sizeof(detail), "cannot reach the Kubernetes API at %s: %s", a->c->auth.server,
                     res->message);
        else
            snprintf(detail, sizeof(detail), "the Kubernetes API at %s answered GET /version with HTTP %ld: %s",
                     a->c->auth.server, res->status, res->message[0] ? res->message : "not a version");
        done(a, 0, detail);
        return;
    }
    snprintf(a->version, sizeof(a->version), "%s", v);
    if (kube_path(path, sizeof(path), "v1", a->c->ns, "pods", NULL, NULL) != 0 ||
        kube_path_query(path, sizeof(path), "limit", "1") != 0 || (a->req = kube_get(a->c, path, on_pods, a)) == NULL)
        done(a, 0, "cannot start the list of pods");
}

static void cancel_op(kube_op_t *op)
{
    access_check_t *a = (access_check_t *)op;
    kube_request_cancel(a->req);
    free(a);
}

int kube_access_check(kube_client_t *c, kube_access_cb cb, void *data)
{
    access_check_t *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return -1;
    a->c = c;
    a->cb = cb;
    a->data = data;
    if ((a->req = kube_get(c, "/version", on_version, a)) == NULL) {
        free(a);
        return -1;
    }
    kube_op_link(c, &a->op, cancel_op);
    return 0;
}
