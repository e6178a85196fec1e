/* Unit tests for src/exec/pod_status.{h,c}: why a pod waits or how it ended, init containers first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "exec/pod_status.h"
#include "fixture.h"

static void describe(const char *status_json, int *code, char *out, size_t cap)
{
    json_error_t e;
    json_t *st = json_loads(status_json, 0, &e);
    if (st == NULL)
        fail_msg("bad JSON in the test: %s", e.text);
    pod_status_describe(st, code, out, cap);
    json_decref(st);
}

static void init_container_pull_error_comes_first(void **state)
{
    (void)state;
    char out[512];
    int code;
    describe("{\"phase\":\"Pending\",\"initContainerStatuses\":[{\"name\":\"copy-workflow\",\"state\":{\"waiting\":"
             "{\"reason\":\"ErrImagePull\",\"message\":\"pull failed\"}}}],\"containerStatuses\":[{\"name\":"
             "\"nextflow\",\"state\":{\"waiting\":{\"reason\":\"PodInitializing\"}}}]}",
             &code, out, sizeof(out));
    assert_string_equal(out, "init container copy-workflow: ErrImagePull: pull failed");
    assert_int_equal(code, -1);
}

static void init_container_failed_with_exit_code(void **state)
{
    (void)state;
    char out[512];
    int code;
    describe("{\"phase\":\"Failed\",\"initContainerStatuses\":[{\"name\":\"a\",\"state\":{\"terminated\":{"
             "\"exitCode\":0,\"reason\":\"Completed\"}}},{\"name\":\"b\",\"state\":{\"terminated\":{\"exitCode\":3,"
             "\"reason\":\"Error\"}}}],\"containerStatuses\":[{\"name\":\"main\",\"state\":{\"waiting\":{\"reason\":"
             "\"PodInitializing\"}}}]}",
             &code, out, sizeof(out));
    assert_string_equal(out, "init container b: Error");
    assert_int_equal(code, 3);
}

static void containers_conditions_and_pod(void **state)
{
    (void)state;
    char out[512];
    int code;
    /* init containers done: the first container speaks */
    describe("{\"initContainerStatuses\":[{\"name\":\"a\",\"state\":{\"terminated\":{\"exitCode\":0}}}],"
             "\"containerStatuses\":[{\"state\":{\"terminated\":{\"exitCode\":137,\"reason\":\"OOMKilled\"}}}]}",
             &code, out, sizeof(out));
    assert_string_equal(out, "OOMKilled");
    assert_int_equal(code, 137);
    describe("{\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"False\",\"reason\":\"Unschedulable\","
             "\"message\":\"0/3 nodes\"}]}",
             &code, out, sizeof(out));
    assert_string_equal(out, "Unschedulable: 0/3 nodes");
    describe("{\"phase\":\"Failed\",\"reason\":\"DeadlineExceeded\",\"message\":\"too long\"}", &code, out,
             sizeof(out));
    assert_string_equal(out, "DeadlineExceeded: too long");
    describe("{}", &code, out, sizeof(out));
    assert_string_equal(out, "");
    assert_int_equal(code, -1);
}

static void pull_error_kept_through_back_off(void **state)
{
    (void)state;
    char memory[384] = "", reason[512];
    snprintf(reason, sizeof(reason), "ContainerCreating");
    pod_status_keep_pull_error(memory, sizeof(memory), reason, sizeof(reason));
    assert_string_equal(memory, "");
    snprintf(reason, sizeof(reason), "ErrImagePull: no registry");
    pod_status_keep_pull_error(memory, sizeof(memory), reason, sizeof(reason));
    assert_string_equal(memory, "ErrImagePull: no registry");
    snprintf(reason, sizeof(reason), "ImagePullBackOff: Back-off pulling image \"x:latest\"");
    pod_status_keep_pull_error(memory, sizeof(memory), reason, sizeof(reason));
    assert_string_equal(reason, "ImagePullBackOff: Back-off pulling image \"x:latest\" (last pull: ErrImagePull: "
                                "no registry)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_container_pull_error_comes_first),
        cmocka_unit_test(init_container_failed_with_exit_code),
        cmocka_unit_test(containers_conditions_and_pod),
        cmocka_unit_test(pull_error_kept_through_back_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
