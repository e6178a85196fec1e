/* A kubeconfig file (as kubectl reads it), parsed with libyaml: the entries of one context. */
#ifndef KUBE_KUBECONFIG_H
#define KUBE_KUBECONFIG_H

#include <stddef.h>

/** The context chosen, with its cluster and user. Strings are "" when absent; `*_data` fields are base64 as in the
 *  file; relative file paths are made absolute against the kubeconfig's folder. Free with kubeconfig_dispose(). */
typedef struct kubeconfig {
    char context[256], cluster[256], user[256], namespace_[256];
    char server[512];
    char certificate_authority[1024];
    char client_certificate[1024], client_key[1024];
    char token_file[1024];
    char *certificate_authority_data, *client_certificate_data, *client_key_data, *token;
    int insecure_skip_tls_verify;
} kubeconfig_t;

/**
 * Parses `text` (`len` bytes) and picks `context` (NULL or "": the file's current-context). `dir` is the
 * kubeconfig's folder. Returns 0, or -1 with `err` filled: not YAML, no such context, a context naming a cluster
 * or user that is not there, or a user that authenticates with `exec` or `auth-provider` (not supported).
 */
int kubeconfig_parse(kubeconfig_t *kc, const char *text, size_t len, const char *context, const char *dir, char *err,
                     size_t errlen);
void kubeconfig_dispose(kubeconfig_t *kc);

#endif
