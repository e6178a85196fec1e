/* kubeconfig parsing on libyaml's document API: the file is small, so it is loaded whole and walked. */
#include "kube/kubeconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct walk {
    yaml_document_t *doc;
    char *err;
    size_t errlen;
} walk_t;

static yaml_node_t *node(walk_t *w, int id)
{
    return id ? yaml_document_get_node(w->doc, id) : NULL;
}

static const char *scalar(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The value of `key` in mapping `map`, or NULL. */
static yaml_node_t *get(walk_t *w, yaml_node_t *map, const char *key)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const char *k = scalar(node(w, p->key));
        if (k && strcmp(k, key) == 0)
            return node(w, p->value);
    }
    return NULL;
}

static const char *get_str(walk_t *w, yaml_node_t *map, const char *key)
{
    return scalar(get(w, map, key));
}

/* The entry named `name` of the list `key` ("clusters", "contexts", "users"): its inner mapping (`inner`). */
static yaml_node_t *find_named(walk_t *w, yaml_node_t *root, const char *key, const char *inner, const char *name)
{
    yaml_node_t *list = get(w, root, key);
    if (list == NULL || list->type != YAML_SEQUENCE_NODE)
        return NULL;
    for (yaml_node_item_t *i = list->data.sequence.items.start; i < list->data.sequence.items.top; i++) {
        yaml_node_t *entry = node(w, *i);
        const char *n = get_str(w, entry, "name");
        if (n && strcmp(n, name) == 0) {
            yaml_node_t *in = get(w, entry, inner);
            return in ? in : entry; /* an entry without its inner mapping: no fields */
        }
    }
    return NULL;
}

static int copy(walk_t *w, char *dst, size_t cap, const char *src, const char *what)
{
    if (src == NULL)
        src = "";
    if (strlen(src) >= cap) {
        snprintf(w->err, w->errlen, "kubeconfig: %s is longer than %zu characters", what, cap - 1);
        return -1;
    }
    strcpy(dst, src);
    return 0;
}

/* A file path, absolute against the kubeconfig's folder when it is relative (as kubectl does). */
static int copy_path(walk_t *w, char *dst, size_t cap, const char *src, const char *dir, const char *what)
{
    if (src == NULL || src[0] == '\0' || src[0] == '/' || dir == NULL || dir[0] == '\0')
        return copy(w, dst, cap, src, what);
    if ((size_t)snprintf(dst, cap, "%s/%s", dir, src) >= cap) {
        snprintf(w->err, w->errlen, "kubeconfig: %s is too long", what);
        return -1;
    }
    return 0;
}

static char *dup_or_null(const char *s)
{
    return s && s[0] ? strdup(s) : NULL;
}

static int is_true(const char *s)
{
    return s && (strcmp(s, "true") == 0 || strcmp(s, "True") == 0);
}

static int pick(walk_t *w, kubeconfig_t *kc, yaml_node_t *root, const char *context, const char *dir)
{
    if (root == NULL || root->type != YAML_MAPPING_NODE) {
        snprintf(w->err, w->errlen, "kubeconfig: not a mapping of clusters, contexts and users");
        return -1;
    }
    if (context == NULL || context[0] == '\0') {
        context = get_str(w, root, "current-context");
        if (context == NULL || context[0] == '\0') {
            snprintf(w->err, w->errlen, "kubeconfig: no current-context (set KUBE_CONTEXT)");
            return -1;
        }
    }
    yaml_node_t *ctx = find_named(w, root, "contexts", "context", context);
    if (ctx == NULL) {
        snprintf(w->err, w->errlen, "kubeconfig: no context named \"%s\"", context);
        return -1;
    }
    const char *cluster = get_str(w, ctx, "cluster");
    const char *user = get_str(w, ctx, "user");
    if (copy(w, kc->context, sizeof(kc->context), context, "the context name") != 0 ||
        copy(w, kc->cluster, sizeof(kc->cluster), cluster, "the cluster name") != 0 ||
        copy(w, kc->user, sizeof(kc->user), user, "the user name") != 0 ||
        copy(w, kc->namespace_, sizeof(kc->namespace_), get_str(w, ctx, "namespace"), "the namespace") != 0)
        return -1;

    yaml_node_t *cl = cluster ? find_named(w, root, "clusters", "cluster", cluster) : NULL;
    if (cl == NULL) {
        snprintf(w->err, w->errlen, "kubeconfig: context \"%s\" names cluster \"%s\", which is not in the file",
                 context, cluster ? cluster : "");
        return -1;
    }
    if (copy(w, kc->server, sizeof(kc->server), get_str(w, cl, "server"), "the server") != 0 ||
        copy_path(w, kc->certificate_authority, sizeof(kc->certificate_authority),
                  get_str(w, cl, "certificate-authority"), dir, "certificate-authority") != 0)
        return -1;
    if (kc->server[0] == '\0') {
        snprintf(w->err, w->errlen, "kubeconfig: cluster \"%s\" has no server", cluster);
        return -1;
    }
    kc->certificate_authority_data = dup_or_null(get_str(w, cl, "certificate-authority-data"));
    kc->insecure_skip_tls_verify = is_true(get_str(w, cl, "insecure-skip-tls-verify"));

    if (user == NULL || user[0] == '\0')
        return 0; /* no user: anonymous */
    yaml_node_t *u = find_named(w, root, "users", "user", user);
    if (u == NULL) {
        snprintf(w->err, w->errlen, "kubeconfig: context \"%s\" names user \"%s\", which is not in the file", context,
                 user);
        return -1;
    }
    const char *plugin = get(w, u, "exec") ? "exec" : get(w, u, "auth-provider") ? "auth-provider" : NULL;
    if (plugin) {
        snprintf(w->err, w->errlen,
                 "kubeconfig: user \"%s\" authenticates with \"%s\" (a credential plugin), which this service does "
                 "not run; give the user a token or a client certificate, or run `kubectl proxy` and set KUBE_API_URL",
                 user, plugin);
        return -1;
    }
    if (copy_path(w, kc->client_certificate, sizeof(kc->client_certificate), get_str(w, u, "client-certificate"), dir,
                  "client-certificate") != 0 ||
        copy_path(w, kc->client_key, sizeof(kc->client_key), get_str(w, u, "client-key"), dir, "client-key") != 0 ||
        copy_path(w, kc->token_file, sizeof(kc->token_file), get_str(w, u, "tokenFile"), dir, "tokenFile") != 0)
        return -1;
    kc->client_certificate_data = dup_or_null(get_str(w, u, "client-certificate-data"));
    kc->client_key_data = dup_or_null(get_str(w, u, "client-key-data"));
    kc->token = dup_or_null(get_str(w, u, "token"));
    return 0;
}

int kubeconfig_parse(kubeconfig_t *kc, const char *text, size_t len, const char *context, const char *dir, char *err,
                     size_t errlen)
{
    memset(kc, 0, sizeof(*kc));
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "kubeconfig: not valid YAML: %s at line %zu", parser.problem ? parser.problem : "error",
                 parser.problem_mark.line + 1);
        yaml_parser_delete(&parser);
        return -1;
    }
    walk_t w = {&doc, err, errlen};
    int rc = pick(&w, kc, yaml_document_get_root_node(&doc), context, dir);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (rc != 0)
        kubeconfig_dispose(kc);
    return rc;
}

void kubeconfig_dispose(kubeconfig_t *kc)
{
    free(kc->certificate_authority_data);
    free(kc->client_certificate_data);
    free(kc->client_key_data);
    free(kc->token);
    memset(kc, 0, sizeof(*kc));
}
