/* Unit tests for src/kube/kube_request.c: API paths, query escaping, and how an answer is read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "kube/kube_internal.h"

static void test_paths(void **state)
{
    (void)state;
    char p[256];
    assert_int_equal(kube_path(p, sizeof(p), "v1", "nextflow", "pods", NULL, NULL), 0);
    assert_string_equal(p, "/api/v1/namespaces/nextflow/pods");
    assert_int_equal(kube_path(p, sizeof(p), "batch/v1", "nextflow", "jobs", "nextflow-run-1", NULL), 0);
    assert_string_equal(p, "/apis/batch/v1/namespaces/nextflow/jobs/nextflow-run-1");
    assert_int_equal(kube_path(p, sizeof(p), "v1", "ns", "pods", "p", "log"), 0);
    assert_string_equal(p, "/api/v1/namespaces/ns/pods/p/log");
    assert_int_equal(kube_path(p, sizeof(p), "v1", NULL, "namespaces", "x", NULL), 0);
    assert_string_equal(p, "/api/v1/namespaces/x");
    /* names that would change the path are refused */
    assert_int_equal(kube_path(p, sizeof(p), "v1", "ns", "pods", "../secrets", NULL), -1);
    assert_int_equal(kube_path(p, sizeof(p), "v1", "ns", "pods", "a?b", NULL), -1);
    assert_int_equal(kube_path(p, sizeof(p), "v1", "", "pods", NULL, NULL), -1);
    assert_int_equal(kube_path(p, 10, "v1", "ns", "pods", NULL, NULL), -1);
}

static void test_query_values_are_escaped(void **state)
{
    (void)state;
    char p[256] = "/api/v1/namespaces/ns/pods";
    assert_int_equal(kube_path_query(p, sizeof(p), "labelSelector", "nextflow.io/runName=r1,app in (a,b)"), 0);
    assert_int_equal(kube_path_query(p, sizeof(p), "limit", "500"), 0);
    assert_string_equal(p,
                        "/api/v1/namespaces/ns/pods?labelSelector=nextflow.io%2FrunName%3Dr1%2Capp%20in%20%28a%2Cb%29"
                        "&limit=500");
    char small[40] = "/api/v1/namespaces/ns/pods";
    assert_int_equal(kube_path_query(small, sizeof(small), "labelSelector", "a=b,c=d,e=f"), -1);
    assert_string_equal(small, "/api/v1/namespaces/ns/pods"); /* left as it was */
}

static void test_a_status_answer_gives_its_message_and_reason(void **state)
{
    (void)state;
    const char *body = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                       "\"message\":\"jobs.batch \\\"nextflow-run-1\\\" already exists\",\"reason\":\"AlreadyExists\","
                       "\"details\":{\"name\":\"nextflow-run-1\",\"group\":\"batch\",\"kind\":\"jobs\"},\"code\":409}";
    kube_response_t res;
    json_t *json;
    char msg[128];
    kube_response_fill(&res, &json, CURLE_OK, 409, body, strlen(body), "", msg, sizeof(msg));
    assert_int_equal(res.status, 409);
    assert_string_equal(res.reason, "AlreadyExists");
    assert_string_equal(res.message, "jobs.batch \"nextflow-run-1\" already exists");
    assert_non_null(res.body);
    json_decref(json);
}

static void test_other_answers(void **state)
{
    (void)state;
    kube_response_t res;
    json_t *json;
    char msg[128];
    /* success: no message */
    kube_response_fill(&res, &json, CURLE_OK, 200, "{\"kind\":\"PodList\",\"items\":[]}", 29, "", msg, sizeof(msg));
    assert_int_equal(res.status, 200);
    assert_string_equal(res.message, "");
    assert_true(json_is_array(json_object_get(res.body, "items")));
    json_decref(json);
    /* an error without a Status body (a proxy's HTML page) */
    kube_response_fill(&res, &json, CURLE_OK, 502, "<html>bad gateway</html>", 24, "", msg, sizeof(msg));
    assert_int_equal(res.status, 502);
    assert_null(res.body);
    assert_string_equal(res.message, "HTTP 502");
    assert_string_equal(res.reason, "");
    /* no answer at all: status 0 and curl's text */
    kube_response_fill(&res, &json, CURLE_COULDNT_CONNECT, 0, "", 0, "Failed to connect to 127.0.0.1 port 1", msg,
                       sizeof(msg));
    assert_int_equal(res.status, 0);
    assert_string_equal(res.message, "Failed to connect to 127.0.0.1 port 1");
    assert_null(json);
    /* a transfer that broke after its status line: still no answer */
    kube_response_fill(&res, &json, CURLE_PARTIAL_FILE, 200, "{\"ki", 4, "", msg, sizeof(msg));
    assert_int_equal(res.status, 0);
    assert_string_equal(res.message, curl_easy_strerror(CURLE_PARTIAL_FILE));
}

/* A followed log or a request over HTTP/2 (TLS to a real API server) whose stream is reset, or whose connection
 * gets a GOAWAY, is a broken connection: resumed or asked again, never the end. The test server speaks HTTP/1.1,
 * so these codes are checked here. */
static void test_http2_stream_errors_are_a_broken_connection(void **state)
{
    (void)state;
    assert_true(kube_retryable(CURLE_HTTP2, 0));
    assert_true(kube_retryable(CURLE_HTTP2_STREAM, 0));
    assert_true(kube_retryable(CURLE_RECV_ERROR, 0));
    assert_true(kube_retryable(CURLE_OK, 429));
    assert_true(kube_retryable(CURLE_OK, 503));
    assert_false(kube_retryable(CURLE_OK, 409));
    assert_false(kube_retryable(CURLE_SSL_CACERT_BADFILE, 0));
    assert_false(kube_retryable(CURLE_PEER_FAILED_VERIFICATION, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_query_values_are_escaped),
        cmocka_unit_test(test_a_status_answer_gives_its_message_and_reason),
        cmocka_unit_test(test_other_answers),
        cmocka_unit_test(test_http2_stream_errors_are_a_broken_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
