/* Unit tests for src/exec/pod_spec.{h,c}: the pod runner's owner ConfigMap and task pods; and for
 * wf_preview_pods() (src/model/workflow.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "exec/pod_spec.h"
#include "fixture.h"

static kv_t env[] = {
    {"EXECUTOR", "kubernetes"},
    {"APP_IMAGE", "registry.example/pipeline:1.2"},
    {"WORKER_CPU", "500m"},
    {"WORKER_MEMORY", "2Gi"},
    {NULL, NULL},
};

static config_t cfg;
static const exec_spec_t spec = SAMPLE_EXEC_SPEC;

static int setup(void **state)
{
    (void)state;
    return kv_config(&cfg, env, "/opt/bin");
}

static void owner_configmap(void **state)
{
    (void)state;
    json_t *cm = pod_spec_owner("pipeline", &spec);
    assert_string_equal(str_at(cm, "metadata|name"), "pipeline-run-r0123456789a");
    assert_string_equal(str_at(cm, "metadata|labels|pipeline/run-id"), "r0123456789a");
    assert_string_equal(str_at(cm, "data|batch_count"), "3");
    assert_string_equal(str_at(cm, "data|seed"), "7");
    json_decref(cm);
}

static void task_pods(void **state)
{
    (void)state;
    char name[96];
    json_t *pod = pod_spec_task(&cfg, "pipeline", &spec, 4, "uid-1", name, sizeof(name)); /* ANALYZE (2) */
    assert_string_equal(name, "r0123456789a-analyze-2");
    assert_string_equal(str_at(pod, "metadata|name"), name);
    assert_string_equal(str_at(pod, "metadata|labels|pipeline/task"), "ANALYZE_2");
    assert_string_equal(str_at(pod, "metadata|ownerReferences|0|uid"), "uid-1");
    assert_string_equal(str_at(pod, "metadata|ownerReferences|0|kind"), "ConfigMap");
    assert_string_equal(str_at(pod, "spec|restartPolicy"), "Never");
    assert_string_equal(str_at(pod, "spec|containers|0|image"), "registry.example/pipeline:1.2");
    assert_string_equal(str_at(pod, "spec|containers|0|imagePullPolicy"), "IfNotPresent");
    assert_string_equal(str_at(pod, "spec|containers|0|command|0"), "pipeline-task");
    assert_string_equal(str_at(pod, "spec|containers|0|command|1"), "analyze");
    assert_string_equal(str_at(pod, "spec|containers|0|command|2"), "--mkdir");
    assert_string_equal(str_at(pod, "spec|containers|0|workingDir"), "/workspace");
    assert_string_equal(str_at(pod, "spec|containers|0|command|5"), "--in=/workspace/results/r0123456789a/batch_2.csv");
    assert_string_equal(str_at(pod, "spec|containers|0|resources|limits|cpu"), "500m");
    assert_string_equal(str_at(pod, "spec|containers|0|resources|requests|memory"), "2Gi");
    assert_true(json_is_false(json_object_get(json_object_get(pod, "spec"), "automountServiceAccountToken")));
    json_decref(pod);
    pod = pod_spec_task(&cfg, "pipeline", &spec, 6, "uid-1", name, sizeof(name));
    assert_string_equal(name, "r0123456789a-report");
    assert_string_equal(str_at(pod, "spec|containers|0|command|4"),
                        "/workspace/results/r0123456789a/stats_batch_1.json");
    json_decref(pod);
}

static void preview_in_waves(void **state)
{
    (void)state;
    wf_resources_t r = {.worker_cpu = 1, .worker_memory_gi = 12, .quota_cpu = 14, .quota_memory_gi = 50};
    wf_preview_t p;
    wf_preview_pods(12, &r, &p);
    assert_int_equal(p.max_parallel_workers, 4);
    assert_int_equal(p.waves, 3);
    assert_true(p.fits_quota);
    assert_null(p.limiting_resource);
    assert_true(p.peak_memory_gi == 48);
    wf_preview_pods(2, &r, &p);
    assert_int_equal(p.max_parallel_workers, 2);
    assert_int_equal(p.waves, 1);
    r.worker_memory_gi = 64;
    wf_preview_pods(2, &r, &p);
    assert_false(p.fits_quota);
    assert_int_equal(p.waves, 0);
    assert_string_equal(p.limiting_resource, "memory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(owner_configmap),
        cmocka_unit_test(task_pods),
        cmocka_unit_test(preview_in_waves),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
