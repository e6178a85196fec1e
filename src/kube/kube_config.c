/* Where the API is: KUBE_API_URL, else a kubeconfig, else in-cluster. Runs once at start-up (small local files
 * are read synchronously, before the loop serves anything). */
#include <errno.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kube/kube.h"
#include "kube/kubeconfig.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/text.h"

#define PEM_MAX        (1024 * 1024)
#define KUBECONFIG_MAX (4 * 1024 * 1024)

/* A namespace found in a file, and where: checked once the one to use is chosen (every source, not only the
 * environment: "..", reaching the request path, is collapsed by curl into a cluster-wide path). */
typedef struct ns_found {
    char value[256];
    char from[1200];
} ns_found_t;

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int read_blob(kube_blob_t *b, const char *path, const char *what, char *err, size_t errlen)
{
    size_t len;
    char *data = fs_read_file(path, PEM_MAX, &len);
    if (data == NULL) {
        snprintf(err, errlen, "cannot read %s %s: %s", what, path, strerror(errno));
        return -1;
    }
    b->data = data;
    b->len = len;
    return 0;
}

/* Decodes base64 (whitespace allowed) into a blob. */
static int decode_blob(kube_blob_t *b, const char *b64, const char *what, char *err, size_t errlen)
{
    size_t n = strlen(b64);
    char *clean = malloc(n + 1);
    unsigned char *out = malloc(n / 4 * 3 + 4);
    size_t m = 0;
    if (clean == NULL || out == NULL)
        goto bad;
    for (size_t i = 0; i < n; i++)
        if (b64[i] != '\n' && b64[i] != '\r' && b64[i] != ' ' && b64[i] != '\t')
            clean[m++] = b64[i];
    clean[m] = '\0';
    if (m == 0 || m % 4 != 0)
        goto bad;
    int len = EVP_DecodeBlock(out, (const unsigned char *)clean, (int)m);
    if (len < 0)
        goto bad;
    len -= (clean[m - 1] == '=') + (clean[m - 2] == '='); /* EVP_DecodeBlock counts the padding */
    free(clean);
    b->data = (char *)out;
    b->len = (size_t)len;
    return 0;
bad:
    free(clean);
    free(out);
    snprintf(err, errlen, "kubeconfig: %s is not valid base64", what);
    return -1;
}

static int from_url(kube_config_t *kc, const config_t *cfg, char *err, size_t errlen)
{
    snprintf(kc->server, sizeof(kc->server), "%s", cfg->kube_api_url);
    size_t n = strlen(kc->server);
    while (n > 0 && kc->server[n - 1] == '/')
        kc->server[--n] = '\0';
    snprintf(kc->token, sizeof(kc->token), "%s", cfg->kube_token);
    kc->insecure = cfg->kube_insecure;
    snprintf(kc->source, sizeof(kc->source), "KUBE_API_URL %s", kc->server);
    if (cfg->kube_ca_file[0] && read_blob(&kc->ca, cfg->kube_ca_file, "KUBE_CA_FILE", err, errlen) != 0)
        return -1;
    return 0;
}

static int from_kubeconfig(kube_config_t *kc, const config_t *cfg, const char *path, ns_found_t *ns, char *err,
                           size_t errlen)
{
    size_t len;
    char *text = fs_read_file(path, KUBECONFIG_MAX, &len);
    if (text == NULL) {
        snprintf(err, errlen, "cannot read the kubeconfig %s: %s", path, strerror(errno));
        return -1;
    }
    char dirbuf[1024];
    snprintf(dirbuf, sizeof(dirbuf), "%s", path);
    kubeconfig_t k;
    char perr[512];
    int rc = kubeconfig_parse(&k, text, len, cfg->kube_context, dirname(dirbuf), perr, sizeof(perr));
    free(text);
    if (rc != 0) {
        snprintf(err, errlen, "%s (%s)", perr, path);
        return -1;
    }
    rc = -1;
    snprintf(kc->server, sizeof(kc->server), "%s", k.server);
    size_t n = strlen(kc->server);
    while (n > 0 && kc->server[n - 1] == '/')
        kc->server[--n] = '\0';
    if (strncmp(kc->server, "https://", 8) != 0 && strncmp(kc->server, "http://", 7) != 0) {
        snprintf(err, errlen, "kubeconfig %s: cluster \"%s\" has server \"%s\": expected an http(s) URL", path,
                 k.cluster, k.server);
        goto out;
    }
    snprintf(kc->source, sizeof(kc->source), "kubeconfig %.1023s (context %.255s)", path, k.context);
    snprintf(ns->value, sizeof(ns->value), "%s", k.namespace_);
    snprintf(ns->from, sizeof(ns->from), "the kubeconfig %.1023s (context %.100s)", path, k.context);
    kc->insecure = k.insecure_skip_tls_verify;
    if (k.certificate_authority_data) {
        if (decode_blob(&kc->ca, k.certificate_authority_data, "certificate-authority-data", err, errlen) != 0)
            goto out;
    } else if (k.certificate_authority[0] &&
               read_blob(&kc->ca, k.certificate_authority, "the certificate-authority", err, errlen) != 0)
        goto out;
    if (k.client_certificate_data) {
        if (decode_blob(&kc->client_cert, k.client_certificate_data, "client-certificate-data", err, errlen) != 0)
            goto out;
    } else if (k.client_certificate[0] &&
               read_blob(&kc->client_cert, k.client_certificate, "the client-certificate", err, errlen) != 0)
        goto out;
    if (k.client_key_data) {
        if (decode_blob(&kc->client_key, k.client_key_data, "client-key-data", err, errlen) != 0)
            goto out;
    } else if (k.client_key[0] && read_blob(&kc->client_key, k.client_key, "the client-key", err, errlen) != 0)
        goto out;
    if ((kc->client_cert.len == 0) != (kc->client_key.len == 0)) {
        snprintf(err, errlen,
                 "kubeconfig %s: user \"%s\" has a client certificate without its key, or a key "
                 "without its certificate",
                 path, k.user);
        goto out;
    }
    if (k.token) {
        if (strlen(k.token) >= sizeof(kc->token)) {
            snprintf(err, errlen, "kubeconfig %s: the token of user \"%s\" is too long", path, k.user);
            goto out;
        }
        strcpy(kc->token, k.token);
    } else if (k.token_file[0])
        snprintf(kc->token_file, sizeof(kc->token_file), "%s", k.token_file);
    rc = 0;
out:
    kubeconfig_dispose(&k);
    return rc;
}

static int from_cluster(kube_config_t *kc, const config_t *cfg, ns_found_t *found, char *err, size_t errlen)
{
    const char *dir = cfg->kube_serviceaccount_dir;
    const char *host = cfg->kubernetes_service_host;
    int v6 = strchr(host, ':') != NULL;
    snprintf(kc->server, sizeof(kc->server), "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "",
             cfg->kubernetes_service_port);
    snprintf(kc->source, sizeof(kc->source), "in-cluster %.300s (service account %.800s)", kc->server, dir);
    if ((size_t)snprintf(kc->token_file, sizeof(kc->token_file), "%s/token", dir) >= sizeof(kc->token_file)) {
        snprintf(err, errlen, "KUBE_SERVICEACCOUNT_DIR is too long");
        return -1;
    }
    if (!file_exists(kc->token_file)) {
        snprintf(err, errlen, "in-cluster: no service account token at %s (KUBE_SERVICEACCOUNT_DIR)", kc->token_file);
        return -1;
    }
    char path[1100];
    snprintf(path, sizeof(path), "%s/ca.crt", dir);
    if (file_exists(path) && read_blob(&kc->ca, path, "the service account CA", err, errlen) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/namespace", dir);
    if (!file_exists(path))
        return 0;
    size_t len;
    char *ns = fs_read_file(path, sizeof(found->value) - 1, &len);
    if (ns == NULL) {
        snprintf(err, errlen, "cannot read the service account's namespace %s: %s", path, strerror(errno));
        return -1;
    }
    while (len > 0 && (ns[len - 1] == '\n' || ns[len - 1] == '\r' || ns[len - 1] == ' ' || ns[len - 1] == '\t'))
        ns[--len] = '\0';
    snprintf(found->value, sizeof(found->value), "%s", ns);
    snprintf(found->from, sizeof(found->from), "the service account file %s", path);
    free(ns);
    return 0;
}

/* The kubeconfig's path: KUBECONFIG (its first entry when it is a list), else ~/.kube/config. */
static void kubeconfig_path(const config_t *cfg, char *buf, size_t cap)
{
    if (cfg->kubeconfig[0]) {
        snprintf(buf, cap, "%.*s", (int)strcspn(cfg->kubeconfig, ":"), cfg->kubeconfig);
        return;
    }
    const char *home = getenv("HOME");
    snprintf(buf, cap, "%s/.kube/config", home && home[0] ? home : "/root");
}

/* The namespace to work in: KUBE_NAMESPACE, then the original system's NEXTFLOW_NAMESPACE, then the context's or
 * the service account's, else "pipeline", the namespace of deploy/k8s. It must be a DNS-1123 label whatever its
 * source. */
static int choose_namespace(kube_config_t *kc, const config_t *cfg, const ns_found_t *found, char *err, size_t errlen)
{
    const char *ns = "pipeline", *from = "the default";
    if (cfg->kube_namespace[0])
        ns = cfg->kube_namespace, from = "KUBE_NAMESPACE";
    else if (cfg->nextflow_namespace[0])
        ns = cfg->nextflow_namespace, from = "NEXTFLOW_NAMESPACE";
    else if (found->value[0])
        ns = found->value, from = found->from;
    if (!text_is_dns_label(ns)) {
        char shown[72]; /* from a file: shown only as far as it is printable and short */
        size_t i;
        for (i = 0; ns[i] && i < sizeof(shown) - 4; i++)
            shown[i] = ns[i] >= 0x20 && ns[i] < 0x7f && ns[i] != '"' ? ns[i] : '?';
        snprintf(shown + i, sizeof(shown) - i, "%s", ns[i] ? "..." : "");
        snprintf(err, errlen,
                 "the namespace \"%s\" from %s is invalid: a namespace is a DNS-1123 label (1-63 characters a-z, 0-9 "
                 "and '-', starting and ending with a letter or digit)",
                 shown, from);
        return -1;
    }
    memcpy(kc->namespace_, ns, strlen(ns) + 1); /* a label fits: at most 63 characters */
    return 0;
}

/* What weakens the connection to the API: allowed (a test cluster, kubectl proxy), but never silently. */
static void warn_weaknesses(const kube_config_t *kc)
{
    int from_env = strncmp(kc->source, "KUBE_API_URL", 12) == 0;
    if (kc->insecure)
        log_warn("kube",
                 "TLS verification of the Kubernetes API is off (%s): anyone on the network path can pose as the API "
                 "server and receive the credentials; give the API's CA instead (%s)",
                 from_env ? "KUBE_INSECURE=1" : "insecure-skip-tls-verify in the kubeconfig",
                 from_env ? "KUBE_CA_FILE" : "certificate-authority-data");
    if (strncmp(kc->server, "http://", 7) == 0 && (kc->token[0] || kc->token_file[0]))
        log_warn("kube",
                 "the Kubernetes API %s is plain http:// and a bearer token is sent with every request: anyone on the "
                 "network path can read it; use https://, or kubectl proxy on this machine without a token",
                 kc->server);
}

int kube_config_resolve(kube_config_t *kc, const config_t *cfg, char *err, size_t errlen)
{
    memset(kc, 0, sizeof(*kc));
    ns_found_t found = {{0}, {0}};
    kc->timeout_seconds = cfg->kube_timeout_seconds > 0 ? cfg->kube_timeout_seconds : 30;
    char path[1024];
    kubeconfig_path(cfg, path, sizeof(path));
    int rc;
    if (cfg->kube_api_url[0])
        rc = from_url(kc, cfg, err, errlen);
    else if (cfg->kubeconfig[0] || file_exists(path)) {
        if (!file_exists(path)) {
            snprintf(err, errlen, "KUBECONFIG=%s: no such file", cfg->kubeconfig);
            rc = -1;
        } else
            rc = from_kubeconfig(kc, cfg, path, &found, err, errlen);
    } else if (cfg->kubernetes_service_host[0])
        rc = from_cluster(kc, cfg, &found, err, errlen);
    else {
        snprintf(err, errlen,
                 "no Kubernetes API: set KUBE_API_URL, or KUBECONFIG (no %s), or run in a pod "
                 "(KUBERNETES_SERVICE_HOST is not set)",
                 path);
        rc = -1;
    }
    if (rc != 0 || choose_namespace(kc, cfg, &found, err, errlen) != 0) {
        kube_config_dispose(kc);
        return -1;
    }
    warn_weaknesses(kc);
    return 0;
}

void kube_config_dispose(kube_config_t *kc)
{
    free(kc->ca.data);
    free(kc->client_cert.data);
    free(kc->client_key.data);
    kc->ca = kc->client_cert = kc->client_key = (kube_blob_t){0};
}
