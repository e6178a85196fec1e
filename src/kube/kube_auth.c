/* Credentials on the wire: the bearer token (re-read when its file changes: projected service-account tokens
 * rotate) and the TLS material, handed to curl as in-memory PEM blobs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kube/kube_internal.h"
#include "util/fs.h"
#include "util/log.h"

#define TOKEN_MAX 65536

static int blob_copy(kube_blob_t *dst, const kube_blob_t *src)
{
    dst->data = NULL;
    dst->len = 0;
    if (src->len == 0)
        return 0;
    dst->data = malloc(src->len);
    if (dst->data == NULL)
        return -1;
    memcpy(dst->data, src->data, src->len);
    dst->len = src->len;
    return 0;
}

/* Trims trailing whitespace (a token file ends with a newline). */
static void trim_right(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
}

/* Reads the token file if it changed since the last read. Keeps the old token when it cannot be read. */
static int reload_token(kube_auth_t *a, int force)
{
    struct stat st;
    if (stat(a->token_file, &st) != 0)
        return -1;
    if (!force && st.st_size == a->token_size && st.st_mtim.tv_sec == a->token_mtime.tv_sec &&
        st.st_mtim.tv_nsec == a->token_mtime.tv_nsec)
        return 0;
    size_t len;
    char *t = fs_read_file(a->token_file, TOKEN_MAX, &len);
    if (t == NULL)
        return -1;
    trim_right(t);
    if (!force)
        log_info("kube", "token file %s changed: using the new token", a->token_file);
    free(a->token);
    a->token = t;
    a->token_mtime = st.st_mtim;
    a->token_size = st.st_size;
    return 0;
}

int kube_auth_init(kube_auth_t *a, const kube_config_t *kc, char *err, size_t errlen)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->server, sizeof(a->server), "%s", kc->server);
    a->insecure = kc->insecure;
    if (blob_copy(&a->ca, &kc->ca) != 0 || blob_copy(&a->client_cert, &kc->client_cert) != 0 ||
        blob_copy(&a->client_key, &kc->client_key) != 0)
        goto oom;
    if (kc->token_file[0]) {
        snprintf(a->token_file, sizeof(a->token_file), "%s", kc->token_file);
        if (reload_token(a, 1) != 0) {
            snprintf(err, errlen, "cannot read the token file %s: %s", a->token_file, strerror(errno));
            kube_auth_dispose(a);
            return -1;
        }
    } else if (kc->token[0] && (a->token = strdup(kc->token)) == NULL)
        goto oom;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    kube_auth_dispose(a);
    return -1;
}

void kube_auth_dispose(kube_auth_t *a)
{
    free(a->token);
    free(a->ca.data);
    free(a->client_cert.data);
    free(a->client_key.data);
    memset(a, 0, sizeof(*a));
}

const char *kube_auth_token(kube_auth_t *a)
{
    /* one stat() of a small local file per request: cheap, and a rotated token is used at once */
    if (a->token_file[0])
        reload_token(a, 0);
    return a->token ? a->token : "";
}

void kube_auth_apply_tls(const kube_auth_t *a, CURL *e)
{
    if (a->ca.len) {
        struct curl_blob b = {a->ca.data, a->ca.len, CURL_BLOB_NOCOPY};
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
    }
    if (a->client_cert.len && a->client_key.len) {
        struct curl_blob cert = {a->client_cert.data, a->client_cert.len, CURL_BLOB_NOCOPY};
        struct curl_blob key = {a->client_key.data, a->client_key.len, CURL_BLOB_NOCOPY};
        curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &cert);
        curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &key);
        curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (a->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}
