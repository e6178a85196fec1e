/* Unit tests for src/kube/kube_config.c: where the API is (KUBE_API_URL, kubeconfig, in-cluster) and the
 * namespace, from the service's configuration. Files are written to a temporary folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "kube/kube.h"
#include "util/fs.h"

#include "fixture.h"

static char dir[256];

static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int resolve(kv_t *env, kube_config_t *kc, char *err, size_t errlen)
{
    static config_t cfg;
    assert_int_equal(config_parse(&cfg, kv_lookup, env, "/opt", err, errlen), 0);
    return kube_config_resolve(kc, &cfg, err, errlen);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/test_kube_config.XXXXXX");
    assert_non_null(mkdtemp(dir));
    setenv("HOME", "/nonexistent", 1); /* no ~/.kube/config of the machine's */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fs_remove_tree(dir);
    return 0;
}

static void test_api_url_with_token_and_ca_file(void **state)
{
    (void)state;
    char ca[512], err[512];
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    write_file("ca.pem", "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n");
    kv_t env[] = {
        {"KUBE_API_URL", "https://k8s.example:6443//"}, {"KUBE_TOKEN", "abc"}, {"KUBE_CA_FILE", ca}, {NULL, NULL}};
    kube_config_t kc;
    assert_int_equal(resolve(env, &kc, err, sizeof(err)), 0);
    assert_string_equal(kc.server, "https://k8s.example:6443");
    assert_string_equal(kc.token, "abc");
    assert_string_equal(kc.namespace_, "pipeline");
    assert_int_equal(kc.ca.len, strlen("-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n"));
    assert_int_equal(kc.insecure, 0);
    assert_int_equal((int)kc.timeout_seconds, 30);
    kube_config_dispose(&kc);

    kv_t missing[] = {{"KUBE_API_URL", "http://x"}, {"KUBE_CA_FILE", "/nonexistent/ca.pem"}, {NULL, NULL}};
    assert_int_equal(resolve(missing, &kc, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "KUBE_CA_FILE /nonexistent/ca.pem"));
}

static const char *KUBECONFIG_TEXT = "current-context: a\n"
                                     "contexts:\n"
                                     "- name: a\n  context: {cluster: c, user: u, namespace: ctx-ns}\n"
                                     "- name: half\n  context: {cluster: c, user: half}\n"
                                     "clusters:\n"
                                     "- name: c\n  cluster:\n    server: https://127.0.0.1:6443/\n"
                                     "    certificate-authority-data: Q0EgREFUQQ==\n"
                                     "users:\n"
                                     "- name: u\n  user:\n    client-certificate-data: Q0VSVA==\n"
                                     "    client-key-data: S0VZIQ==\n    tokenFile: token.txt\n"
                                     "- name: half\n  user:\n    client-certificate-data: Q0VSVA==\n";

static void test_kubeconfig_data_is_decoded_and_the_namespace_chosen_in_order(void **state)
{
    (void)state;
    char kcpath[512], err[512];
    snprintf(kcpath, sizeof(kcpath), "%s/config", dir);
    write_file("config", KUBECONFIG_TEXT);
    write_file("token.txt", "file-token\n");
    kube_config_t kc;
    kv_t env[] = {{"KUBECONFIG", kcpath}, {NULL, NULL}};
    assert_int_equal(resolve(env, &kc, err, sizeof(err)), 0);
    assert_string_equal(kc.server, "https://127.0.0.1:6443");
    assert_string_equal(kc.namespace_, "ctx-ns");
    assert_int_equal(kc.ca.len, 7);
    assert_memory_equal(kc.ca.data, "CA DATA", 7);
    assert_int_equal(kc.client_cert.len, 4);
    assert_memory_equal(kc.client_key.data, "KEY!", 4);
    assert_string_equal(kc.token, "");
    assert_non_null(strstr(kc.token_file, "/token.txt")); /* relative to the kubeconfig's folder */
    assert_non_null(strstr(kc.source, "(context a)"));
    kube_config_dispose(&kc);

    kv_t nf[] = {{"KUBECONFIG", kcpath}, {"NEXTFLOW_NAMESPACE", "nf"}, {NULL, NULL}};
    assert_int_equal(resolve(nf, &kc, err, sizeof(err)), 0);
    assert_string_equal(kc.namespace_, "nf");
    kube_config_dispose(&kc);
    kv_t both[] = {{"KUBECONFIG", kcpath}, {"NEXTFLOW_NAMESPACE", "nf"}, {"KUBE_NAMESPACE", "kn"}, {NULL, NULL}};
    assert_int_equal(resolve(both, &kc, err, sizeof(err)), 0);
    assert_string_equal(kc.namespace_, "kn");
    kube_config_dispose(&kc);

    kv_t half[] = {{"KUBECONFIG", kcpath}, {"KUBE_CONTEXT", "half"}, {NULL, NULL}};
    assert_int_equal(resolve(half, &kc, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "client certificate without its key"));
}

static void test_kubeconfig_bad_base64_and_missing_file(void **state)
{
    (void)state;
    char kcpath[512], err[512];
    snprintf(kcpath, sizeof(kcpath), "%s/bad", dir);
    write_file("bad", "current-context: a\ncontexts:\n- name: a\n  context: {cluster: c}\nclusters:\n- name: c\n"
                      "  cluster: {server: 'https://x', certificate-authority-data: '!!notbase64'}\n");
    kube_config_t kc;
    kv_t env[] = {{"KUBECONFIG", kcpath}, {NULL, NULL}};
    assert_int_equal(resolve(env, &kc, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "certificate-authority-data is not valid base64"));
    kv_t missing[] = {{"KUBECONFIG", "/nonexistent/kubeconfig"}, {NULL, NULL}};
    assert_int_equal(resolve(missing, &kc, err, sizeof(err)), -1);
    assert_string_equal(err, "KUBECONFIG=/nonexistent/kubeconfig: no such file");
}

static void test_in_cluster_service_account(void **state)
{
    (void)state;
    char err[512];
    write_file("token", "sa-token\n");
    write_file("ca.crt", "PEM");
    write_file("namespace", "team-a\n");
    kube_config_t kc;
    kv_t env[] = {{"KUBE_SERVICEACCOUNT_DIR", dir}, {"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {NULL, NULL}};
    assert_int_equal(resolve(env, &kc, err, sizeof(err)), 0);
    assert_string_equal(kc.server, "https://10.96.0.1:443");
    assert_string_equal(kc.namespace_, "team-a");
    assert_int_equal(kc.ca.len, 3);
    assert_non_null(strstr(kc.token_file, "/token"));
    kube_config_dispose(&kc);
    kv_t v6[] = {{"KUBE_SERVICEACCOUNT_DIR", dir},
                 {"KUBERNETES_SERVICE_HOST", "fd00::1"},
                 {"KUBERNETES_SERVICE_PORT", "6443"},
                 {NULL, NULL}};
    assert_int_equal(resolve(v6, &kc, err, sizeof(err)), 0);
    assert_string_equal(kc.server, "https://[fd00::1]:6443");
    kube_config_dispose(&kc);
    kv_t no_sa[] = {
        {"KUBE_SERVICEACCOUNT_DIR", "/nonexistent"}, {"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {NULL, NULL}};
    assert_int_equal(resolve(no_sa, &kc, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no service account token at /nonexistent/token"));
}

static void test_nothing_found(void **state)
{
    (void)state;
    char err[512];
    kube_config_t kc;
    kv_t env[] = {{NULL, NULL}};
    assert_int_equal(resolve(env, &kc, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no Kubernetes API: set KUBE_API_URL"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_api_url_with_token_and_ca_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kubeconfig_data_is_decoded_and_the_namespace_chosen_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_kubeconfig_bad_base64_and_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_in_cluster_service_account, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_found, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
