/* Unit tests for src/exec/nextflow_job.{h,c}: the run's ConfigMap and Job, and reading Jobs and Pods back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/nextflow_job.h"
#include "fixture.h"

static kv_t env[] = {
    {"EXECUTOR", "nextflow"},  {"APP_IMAGE", "registry.example/pipeline:1.2"},
    {"WORKER_CPU", "1500m"},   {"WORKER_MEMORY", "2Gi"},
    {"CONTROLLER_CPU", "2"},   {"CONTROLLER_MEMORY", "4Gi"},
    {"JOB_TTL_SECONDS", "60"}, {NULL, NULL},
};

static config_t cfg;
static const exec_spec_t spec = SAMPLE_EXEC_SPEC;

static int setup(void **state)
{
    (void)state;
    return kv_config(&cfg, env, "/opt/x");
}

static void configmap_holds_the_run_config(void **state)
{
    (void)state;
    json_t *cm = nextflow_job_configmap(&cfg, "demo", &spec);
    assert_non_null(cm);
    assert_string_equal(str_at(cm, "metadata|name"), "nextflow-config-r0123456789a");
    assert_string_equal(str_at(cm, "metadata|namespace"), "demo");
    assert_string_equal(str_at(cm, "metadata|labels|pipeline/run-id"), "r0123456789a");
    const char *text = str_at(cm, "data|nextflow.config");
    assert_non_null(text);
    assert_non_null(strstr(text, "executor = 'k8s'"));
    assert_non_null(strstr(text, "container = 'registry.example/pipeline:1.2'"));
    assert_non_null(strstr(text, "cpus = 2\n")); /* 1500m rounded up: Nextflow takes whole CPUs */
    assert_non_null(strstr(text, "memory = '2048 MB'"));
    assert_non_null(strstr(text, "namespace = 'demo'"));
    assert_non_null(strstr(text, "serviceAccount = 'nextflow-runner'"));
    assert_non_null(strstr(text, "storageClaimName = 'nextflow-work-pvc'"));
    assert_non_null(strstr(text, "storageMountPath = '/workspace'"));
    assert_non_null(strstr(text, "generate_seconds = 0.5"));
    assert_non_null(strstr(text, "analyze_seconds = 2"));
    assert_non_null(strstr(text, "max_retries = 1\n")); /* TASK_RETRIES: demo.nf's maxRetries */
    json_decref(cm);
}

static void config_makes_workers_that_run_on_a_real_cluster(void **state)
{
    (void)state;
    char *text = nextflow_job_config_text(&cfg, "demo", &spec);
    /* the launcher as the command: the image's ENTRYPOINT would start the HTTP service instead */
    assert_non_null(strstr(text, "    entrypointOverride = true\n"));
    /* a CPU limit too, for namespaces whose quota sets limits.cpu */
    assert_non_null(strstr(text, "    cpuLimits = true\n"));
    assert_non_null(strstr(text, "    pullPolicy = 'IfNotPresent'\n"));
    /* the controller's uid, so the task directories it makes (0755) are theirs */
    assert_non_null(strstr(text, "    securityContext = [runAsUser: 10001, runAsGroup: 10001, runAsNonRoot: true, "
                                 "seccompProfile: [type: 'RuntimeDefault']]\n"));
    assert_non_null(strstr(text, "    pod = [[automountServiceAccountToken: false]]\n"));
    free(text);
    config_t always;
    kv_t env2[] = {{"EXECUTOR", "nextflow"}, {"IMAGE_PULL_POLICY", "Always"}, {NULL, NULL}};
    assert_int_equal(kv_config(&always, env2, "/opt/x"), 0);
    text = nextflow_job_config_text(&always, "demo", &spec);
    assert_non_null(strstr(text, "    pullPolicy = 'Always'\n"));
    free(text);
    json_t *job = nextflow_job_object(&always, "demo", &spec);
    assert_string_equal(str_at(job, "spec|template|spec|initContainers|0|imagePullPolicy"), "Always");
    json_decref(job);
}

static void job_has_every_field(void **state)
{
    (void)state;
    json_t *job = nextflow_job_object(&cfg, "demo", &spec);
    assert_string_equal(str_at(job, "apiVersion"), "batch/v1");
    assert_string_equal(str_at(job, "metadata|name"), "nextflow-run-r0123456789a");
    assert_string_equal(str_at(job, "metadata|labels|app.kubernetes.io/name"), "pipeline-orchestrator");
    json_t *js = json_object_get(job, "spec");
    assert_int_equal(json_integer_value(json_object_get(js, "backoffLimit")), 0);
    assert_int_equal(json_integer_value(json_object_get(js, "activeDeadlineSeconds")), 900);
    assert_int_equal(json_integer_value(json_object_get(js, "ttlSecondsAfterFinished")), 60);
    assert_string_equal(str_at(js, "template|metadata|labels|pipeline/run-id"), "r0123456789a");
    json_t *pod = json_object_get(json_object_get(js, "template"), "spec");
    assert_string_equal(str_at(pod, "serviceAccountName"), "nextflow-runner");
    assert_string_equal(str_at(pod, "restartPolicy"), "Never");
    assert_string_equal(str_at(pod, "initContainers|0|image"), "registry.example/pipeline:1.2");
    assert_string_equal(str_at(pod, "containers|0|image"), "nextflow/nextflow:24.10.0");
    assert_string_equal(str_at(pod, "containers|0|resources|limits|cpu"), "2");
    assert_string_equal(str_at(pod, "containers|0|resources|requests|memory"), "4Gi");
    assert_string_equal(str_at(pod, "volumes|2|persistentVolumeClaim|claimName"), "nextflow-work-pvc");
    assert_string_equal(str_at(pod, "volumes|1|configMap|name"), "nextflow-config-r0123456789a");
    /* the restricted Pod Security level, and the workers' uid */
    assert_int_equal(json_integer_value(json_object_get(json_object_get(pod, "securityContext"), "runAsUser")), 10001);
    assert_true(json_is_true(json_object_get(json_object_get(pod, "securityContext"), "runAsNonRoot")));
    assert_string_equal(str_at(pod, "securityContext|seccompProfile|type"), "RuntimeDefault");
    const char *containers[] = {"initContainers|0", "containers|0"};
    for (int c = 0; c < 2; c++) {
        char key[128];
        snprintf(key, sizeof(key), "%s|securityContext|capabilities|drop|0", containers[c]);
        assert_string_equal(str_at(pod, key), "ALL");
        snprintf(key, sizeof(key), "%s|imagePullPolicy", containers[c]);
        assert_string_equal(str_at(pod, key), "IfNotPresent");
    }
    json_t *sc = json_object_get(json_array_get(json_object_get(pod, "containers"), 0), "securityContext");
    assert_true(json_is_false(json_object_get(sc, "allowPrivilegeEscalation")));
    /* a writable Nextflow home beside the image's framework */
    assert_string_equal(str_at(pod, "containers|0|env|2|name"), "NXF_HOME");
    assert_string_equal(str_at(pod, "containers|0|env|3|value"), "/.nextflow/framework");
    assert_string_equal(str_at(pod, "volumes|3|name"), "home");
    /* the command line: nextflow run /workflows/demo.nf -name <run_id> ... -ansi-log false --batches 3 ... */
    json_t *args = json_object_get(json_array_get(json_object_get(pod, "containers"), 0), "args");
    char line[512] = "";
    size_t i;
    json_t *a;
    json_array_foreach(args, i, a)
    {
        strcat(line, json_string_value(a));
        strcat(line, " ");
    }
    assert_string_equal(line, "run /workflows/demo.nf -name r0123456789a -c /etc/nextflow-run/nextflow.config "
                              "-ansi-log false --batches 3 --rows 100 --seed 7 ");
    json_decref(job);
}

static void owner_patch(void **state)
{
    (void)state;
    json_t *p = nextflow_job_owner_patch("nextflow-run-r1", "uid-1");
    assert_string_equal(str_at(p, "metadata|ownerReferences|0|kind"), "Job");
    assert_string_equal(str_at(p, "metadata|ownerReferences|0|uid"), "uid-1");
    json_decref(p);
}

static void job_finished_by_condition_type(void **state)
{
    (void)state;
    char detail[256] = "";
    json_t *running = json_loads("{\"status\":{\"active\":1}}", 0, NULL);
    assert_int_equal(nextflow_job_finished(running, detail, sizeof(detail)), 0);
    /* Kubernetes 1.31+: SuccessCriteriaMet comes first; Complete is found by type, not position */
    json_t *done = json_loads("{\"status\":{\"conditions\":[{\"type\":\"SuccessCriteriaMet\",\"status\":\"True\"},"
                              "{\"type\":\"Complete\",\"status\":\"True\"}]}}",
                              0, NULL);
    assert_int_equal(nextflow_job_finished(done, detail, sizeof(detail)), 1);
    json_t *failed = json_loads("{\"status\":{\"conditions\":[{\"type\":\"FailureTarget\",\"status\":\"True\"},"
                                "{\"type\":\"Failed\",\"status\":\"True\",\"reason\":\"BackoffLimitExceeded\","
                                "\"message\":\"Job has reached the specified backoff limit\"}]}}",
                                0, NULL);
    assert_int_equal(nextflow_job_finished(failed, detail, sizeof(detail)), -1);
    assert_string_equal(detail, "BackoffLimitExceeded: Job has reached the specified backoff limit");
    /* only FailureTarget so far: not finished yet */
    json_t *target = json_loads("{\"status\":{\"conditions\":[{\"type\":\"FailureTarget\",\"status\":\"True\"},"
                                "{\"type\":\"Failed\",\"status\":\"False\"}]}}",
                                0, NULL);
    assert_int_equal(nextflow_job_finished(target, detail, sizeof(detail)), 0);
    json_decref(running);
    json_decref(done);
    json_decref(failed);
    json_decref(target);
}

static void pods_read(void **state)
{
    (void)state;
    nextflow_pod_t p;
    json_t *pull =
        json_loads("{\"metadata\":{\"name\":\"nf-1\",\"labels\":{\"nextflow.io/taskName\":\"GENERATE_1\"}},"
                   "\"status\":{\"phase\":\"Pending\",\"containerStatuses\":[{\"state\":{\"waiting\":{\"reason\":"
                   "\"ImagePullBackOff\",\"message\":\"Back-off pulling image \\\"x\\\"\"}}}]}}",
                   0, NULL);
    assert_int_equal(nextflow_pod_read(pull, &p), 0);
    assert_int_equal(p.phase, POD_PENDING);
    assert_string_equal(p.task_name, "GENERATE_1");
    assert_string_equal(p.reason, "ImagePullBackOff: Back-off pulling image \"x\"");
    json_t *unsched = json_loads("{\"metadata\":{\"name\":\"nf-2\"},\"status\":{\"phase\":\"Pending\",\"conditions\":"
                                 "[{\"type\":\"PodScheduled\",\"status\":\"False\",\"reason\":\"Unschedulable\","
                                 "\"message\":\"0/3 nodes are available: 3 Insufficient cpu.\"}]}}",
                                 0, NULL);
    assert_int_equal(nextflow_pod_read(unsched, &p), 0);
    assert_string_equal(p.reason, "Unschedulable: 0/3 nodes are available: 3 Insufficient cpu.");
    assert_null(p.task_name);
    json_t *failed = json_loads("{\"metadata\":{\"name\":\"nf-3\"},\"status\":{\"phase\":\"Failed\",\"containerStatuses"
                                "\":[{\"state\":{\"terminated\":{\"exitCode\":3,\"reason\":\"Error\"}}}]}}",
                                0, NULL);
    assert_int_equal(nextflow_pod_read(failed, &p), 0);
    assert_int_equal(p.phase, POD_FAILED);
    assert_int_equal(p.exit_code, 3);
    json_t *noname = json_loads("{\"metadata\":{}}", 0, NULL);
    assert_int_equal(nextflow_pod_read(noname, &p), -1);
    json_decref(pull);
    json_decref(unsched);
    json_decref(failed);
    json_decref(noname);
}

static void job_events_say_why_there_is_no_pod(void **state)
{
    (void)state;
    char why[512] = "";
    json_t *none = json_loads("{\"kind\":\"EventList\",\"items\":[]}", 0, NULL);
    assert_int_equal(nextflow_job_events_why(none, why, sizeof(why)), 0);
    json_t *list = json_loads(
        "{\"items\":[{\"type\":\"Warning\",\"reason\":\"FailedCreate\",\"lastTimestamp\":\"2026-01-01T10:00:05Z\","
        "\"message\":\"Error creating: new\"},"
        "{\"type\":\"Normal\",\"reason\":\"SuccessfulCreate\",\"lastTimestamp\":\"2026-01-01T10:00:09Z\","
        "\"message\":\"Created pod: x\"},"
        "{\"type\":\"Warning\",\"reason\":\"FailedCreate\",\"lastTimestamp\":\"2026-01-01T10:00:01Z\","
        "\"message\":\"Error creating: old\"},"
        "{\"type\":\"Warning\",\"reason\":\"Odd\"}]}",
        0, NULL);
    assert_int_equal(nextflow_job_events_why(list, why, sizeof(why)), 1);
    assert_string_equal(why, "FailedCreate: Error creating: new");
    /* events.k8s.io writes eventTime instead */
    json_t *series = json_loads("{\"items\":[{\"type\":\"Warning\",\"reason\":\"FailedCreate\",\"eventTime\":"
                                "\"2026-01-01T10:00:01.000000Z\",\"message\":\"Error creating: x\"}]}",
                                0, NULL);
    assert_int_equal(nextflow_job_events_why(series, why, sizeof(why)), 1);
    assert_string_equal(why, "FailedCreate: Error creating: x");
    json_decref(none);
    json_decref(list);
    json_decref(series);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(configmap_holds_the_run_config),
        cmocka_unit_test(config_makes_workers_that_run_on_a_real_cluster),
        cmocka_unit_test(job_events_say_why_there_is_no_pod),
        cmocka_unit_test(job_has_every_field),
        cmocka_unit_test(owner_patch),
        cmocka_unit_test(job_finished_by_condition_type),
        cmocka_unit_test(pods_read),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
