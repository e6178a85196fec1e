/* Unit tests for src/kube/kubeconfig.{h,c}: a kubeconfig's context, cluster and user, as kubectl reads them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "kube/kubeconfig.h"

static const char *CONFIG = "apiVersion: v1\n"
                            "kind: Config\n"
                            "current-context: dev\n"
                            "clusters:\n"
                            "- name: dev-cluster\n"
                            "  cluster:\n"
                            "    server: https://10.0.0.1:6443\n"
                            "    certificate-authority-data: Q0FEQVRB\n"
                            "- name: lab\n"
                            "  cluster:\n"
                            "    server: https://lab.example:443\n"
                            "    certificate-authority: certs/ca.pem\n"
                            "    insecure-skip-tls-verify: true\n"
                            "contexts:\n"
                            "- name: dev\n"
                            "  context:\n"
                            "    cluster: dev-cluster\n"
                            "    user: alice\n"
                            "    namespace: pipelines\n"
                            "- name: lab\n"
                            "  context: {cluster: lab, user: bob}\n"
                            "- name: cloud\n"
                            "  context: {cluster: lab, user: eks}\n"
                            "- name: gke\n"
                            "  context: {cluster: lab, user: gcp}\n"
                            "- name: broken\n"
                            "  context: {cluster: nowhere, user: alice}\n"
                            "users:\n"
                            "- name: alice\n"
                            "  user:\n"
                            "    client-certificate-data: Q0VSVA==\n"
                            "    client-key-data: S0VZ\n"
                            "- name: bob\n"
                            "  user:\n"
                            "    token: abc.def\n"
                            "    client-certificate: /abs/cert.pem\n"
                            "    client-key: key.pem\n"
                            "    tokenFile: tok\n"
                            "- name: eks\n"
                            "  user:\n"
                            "    exec:\n"
                            "      apiVersion: client.authentication.k8s.io/v1beta1\n"
                            "      command: aws\n"
                            "      args: [eks, get-token]\n"
                            "- name: gcp\n"
                            "  user:\n"
                            "    auth-provider: {name: gcp}\n";

static int parse(kubeconfig_t *kc, const char *text, const char *context, char *err, size_t errlen)
{
    return kubeconfig_parse(kc, text, strlen(text), context, "/home/me/.kube", err, errlen);
}

static void test_current_context_with_data_fields(void **state)
{
    (void)state;
    kubeconfig_t kc;
    char err[512];
    assert_int_equal(parse(&kc, CONFIG, NULL, err, sizeof(err)), 0);
    assert_string_equal(kc.context, "dev");
    assert_string_equal(kc.cluster, "dev-cluster");
    assert_string_equal(kc.user, "alice");
    assert_string_equal(kc.namespace_, "pipelines");
    assert_string_equal(kc.server, "https://10.0.0.1:6443");
    assert_string_equal(kc.certificate_authority_data, "Q0FEQVRB");
    assert_string_equal(kc.client_certificate_data, "Q0VSVA==");
    assert_string_equal(kc.client_key_data, "S0VZ");
    assert_null(kc.token);
    assert_string_equal(kc.certificate_authority, "");
    assert_int_equal(kc.insecure_skip_tls_verify, 0);
    kubeconfig_dispose(&kc);
}

static void test_chosen_context_with_file_fields_relative_to_the_file(void **state)
{
    (void)state;
    kubeconfig_t kc;
    char err[512];
    assert_int_equal(parse(&kc, CONFIG, "lab", err, sizeof(err)), 0);
    assert_string_equal(kc.server, "https://lab.example:443");
    assert_string_equal(kc.namespace_, "");
    assert_string_equal(kc.certificate_authority, "/home/me/.kube/certs/ca.pem");
    assert_null(kc.certificate_authority_data);
    assert_int_equal(kc.insecure_skip_tls_verify, 1);
    assert_string_equal(kc.token, "abc.def");
    assert_string_equal(kc.client_certificate, "/abs/cert.pem");
    assert_string_equal(kc.client_key, "/home/me/.kube/key.pem");
    assert_string_equal(kc.token_file, "/home/me/.kube/tok");
    kubeconfig_dispose(&kc);
}

static void test_credential_plugins_are_refused_by_name(void **state)
{
    (void)state;
    kubeconfig_t kc;
    char err[512];
    assert_int_equal(parse(&kc, CONFIG, "cloud", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "user \"eks\" authenticates with \"exec\""));
    assert_non_null(strstr(err, "KUBE_API_URL"));
    assert_int_equal(parse(&kc, CONFIG, "gke", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "\"auth-provider\""));
}

static void test_missing_pieces(void **state)
{
    (void)state;
    kubeconfig_t kc;
    char err[512];
    assert_int_equal(parse(&kc, CONFIG, "nope", err, sizeof(err)), -1);
    assert_string_equal(err, "kubeconfig: no context named \"nope\"");
    assert_int_equal(parse(&kc, CONFIG, "broken", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "names cluster \"nowhere\", which is not in the file"));
    assert_int_equal(parse(&kc, "apiVersion: v1\nclusters: []\n", NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no current-context"));
    assert_int_equal(parse(&kc, "", NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a mapping"));
    assert_int_equal(parse(&kc, "- just\n- a list\n", NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a mapping"));
    const char *no_server = "current-context: a\ncontexts:\n- name: a\n  context: {cluster: c}\n"
                            "clusters:\n- name: c\n  cluster: {}\n";
    assert_int_equal(parse(&kc, no_server, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "has no server"));
}

static void test_bad_yaml_says_where(void **state)
{
    (void)state;
    kubeconfig_t kc;
    char err[512];
    assert_int_equal(parse(&kc, "clusters: [\n  - name: x\n users: {", NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not valid YAML"));
    assert_non_null(strstr(err, "line"));
    assert_int_equal(parse(&kc, "a: b\n\tc: d\n", NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not valid YAML"));
}

static void test_json_is_yaml_too(void **state)
{
    (void)state;
    kubeconfig_t kc;
    char err[512];
    const char *json =
        "{\"current-context\": \"x\", \"contexts\": [{\"name\": \"x\", \"context\": {\"cluster\": \"c\", "
        "\"namespace\": \"ns\"}}], \"clusters\": [{\"name\": \"c\", \"cluster\": {\"server\": "
        "\"http://127.0.0.1:8001\"}}]}";
    assert_int_equal(parse(&kc, json, NULL, err, sizeof(err)), 0);
    assert_string_equal(kc.server, "http://127.0.0.1:8001");
    assert_string_equal(kc.namespace_, "ns");
    assert_string_equal(kc.user, "");
    kubeconfig_dispose(&kc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_current_context_with_data_fields),
        cmocka_unit_test(test_chosen_context_with_file_fields_relative_to_the_file),
        cmocka_unit_test(test_credential_plugins_are_refused_by_name),
        cmocka_unit_test(test_missing_pieces),
        cmocka_unit_test(test_bad_yaml_says_where),
        cmocka_unit_test(test_json_is_yaml_too),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
