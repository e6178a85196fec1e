/* Unit tests for src/exec/pod_quota.{h,c}: which ResourceQuotas select the pod runner's task pods, and how many
 * more of them fit, counted exactly (requests, limits, pods), with an unreadable figure as no room. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "exec/pod_quota.h"
#include "exec/pod_spec.h"
#include "fixture.h"

static kv_t env[] = {
    {"EXECUTOR", "kubernetes"}, {"WORKER_CPU", "500m"},   {"WORKER_MEMORY", "2Gi"},
    {"QUOTA_CPU", "14"},        {"QUOTA_MEMORY", "50Gi"}, {NULL, NULL},
};

static config_t cfg;
static const exec_spec_t spec = SAMPLE_EXEC_SPEC;
static json_t *task_pod; /* a real task pod: 500m / 2Gi requests and limits, activeDeadlineSeconds 900 */

static int setup(void **state)
{
    (void)state;
    if (kv_config(&cfg, env, "/opt/bin") != 0)
        return -1;
    char name[96];
    task_pod = pod_spec_task(&cfg, "pipeline", &spec, 0, "uid-1", name, sizeof(name));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(task_pod);
    return 0;
}

/* A list of quotas: JSON text of the items. */
static int fit(const char *items, pod_quota_fit_t *out)
{
    char text[4096];
    snprintf(text, sizeof(text), "{\"kind\":\"ResourceQuotaList\",\"items\":[%s]}", items);
    json_t *list = json_loads(text, 0, NULL);
    assert_non_null(list);
    int rc = pod_quota_fit(list, task_pod, 25, out);
    json_decref(list);
    return rc;
}

static int selects(const char *quota, const char *pod_text)
{
    json_t *q = json_loads(quota, 0, NULL), *p = pod_text ? json_loads(pod_text, 0, NULL) : json_incref(task_pod);
    assert_non_null(q);
    assert_non_null(p);
    int r = pod_quota_selects(q, p);
    json_decref(q);
    json_decref(p);
    return r;
}

static void no_quota(void **state)
{
    (void)state;
    pod_quota_fit_t f;
    assert_int_equal(fit("", &f), 0);
    assert_false(f.applies);
    assert_int_equal(f.pods, 25);
    json_t *not_list = json_loads("[1]", 0, NULL);
    assert_int_equal(pod_quota_fit(not_list, task_pod, 25, &f), -1);
    json_decref(not_list);
}

static void requests_limits_and_pods(void **state)
{
    (void)state;
    pod_quota_fit_t f;
    /* requests: 14 - 2.5 cores = 23 pods of 500m; 50Gi - 10Gi = 20 pods of 2Gi */
    assert_int_equal(
        fit("{\"metadata\":{\"name\":\"a\"},\"status\":{\"hard\":{\"requests.cpu\":\"14\","
            "\"requests.memory\":\"50Gi\"},\"used\":{\"requests.cpu\":\"2500m\",\"requests.memory\":\"10Gi\"}}}",
            &f),
        0);
    assert_true(f.applies);
    assert_false(f.unknown);
    assert_int_equal(f.pods, 20);
    assert_non_null(strstr(f.why, "requests.memory"));
    /* plain cpu and memory are requests; limits count too; the pod count is a quantity (1k) */
    assert_int_equal(
        fit("{\"status\":{\"hard\":{\"cpu\":\"3\",\"memory\":\"1Ti\"},\"used\":{\"cpu\":\"1\",\"memory\":\"0\"}}},"
            "{\"status\":{\"hard\":{\"limits.cpu\":\"2\",\"limits.memory\":\"1Ti\"},"
            "\"used\":{\"limits.cpu\":\"1500m\",\"limits.memory\":\"0\"}}},"
            "{\"status\":{\"hard\":{\"pods\":\"1k\"},\"used\":{\"pods\":\"10\"}}}",
            &f),
        0);
    assert_int_equal(f.pods, 1); /* limits.cpu: 500m left */
    assert_non_null(strstr(f.why, "limits.cpu"));
    assert_int_equal(
        fit("{\"status\":{\"hard\":{\"limits.memory\":\"4Gi\"},\"used\":{\"limits.memory\":\"322122547200m\"}}}", &f),
        0);
    assert_int_equal(f.pods, 1); /* 4Gi - 0.3Gi (as the API server writes it) leaves 3.7Gi: one pod of 2Gi */
    assert_int_equal(fit("{\"status\":{\"hard\":{\"count/pods\":\"12\"},\"used\":{\"count/pods\":\"10\"}}}", &f), 0);
    assert_int_equal(f.pods, 2);
    /* over the limit already: no room, never a negative count */
    assert_int_equal(fit("{\"status\":{\"hard\":{\"requests.cpu\":\"4\"},\"used\":{\"requests.cpu\":\"5\"}}}", &f), 0);
    assert_int_equal(f.pods, 0);
    /* exactly: 1 core holds two 500m pods, not one (no floating point) */
    assert_int_equal(fit("{\"status\":{\"hard\":{\"requests.cpu\":\"1\"},\"used\":{\"requests.cpu\":\"0\"}}}", &f), 0);
    assert_int_equal(f.pods, 2);
    /* what the pod does not use does not limit it; the spec's hard serves until the status has one */
    assert_int_equal(fit("{\"spec\":{\"hard\":{\"requests.storage\":\"1\",\"services\":\"0\"}},\"status\":{}}", &f), 0);
    assert_false(f.applies);
    assert_int_equal(f.pods, 25);
}

static void unreadable_is_no_room(void **state)
{
    (void)state;
    pod_quota_fit_t f;
    static const char *const cases[] = {
        /* used that cannot be read (today read as 0: room over-estimated) */
        "{\"metadata\":{\"name\":\"q\"},\"status\":{\"hard\":{\"requests.cpu\":\"14\"},\"used\":{\"requests.cpu\":"
        "\"lots\"}}}",
        "{\"status\":{\"hard\":{\"requests.cpu\":\"14\"},\"used\":{\"requests.cpu\":\"1K\"}}}",
        "{\"status\":{\"hard\":{\"requests.cpu\":\"14\"},\"used\":{\"requests.cpu\":4}}}",
        /* used not counted yet */
        "{\"status\":{\"hard\":{\"pods\":\"10\",\"cpu\":\"20\"},\"used\":{\"pods\":\"7\"}}}",
        "{\"spec\":{\"hard\":{\"pods\":\"10\"}}}",
        /* hard that cannot be read */
        "{\"status\":{\"hard\":{\"limits.memory\":\"0x10\"},\"used\":{\"limits.memory\":\"0\"}}}",
        "{\"status\":{\"hard\":{\"pods\":\"-1\"},\"used\":{\"pods\":\"0\"}}}",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(fit(cases[i], &f), 0);
        if (!f.applies || !f.unknown || f.pods != 0) {
            print_error("case %zu: applies %d unknown %d pods %d (%s)\n", i, f.applies, f.unknown, f.pods, f.why);
            fail();
        }
        assert_non_null(strstr(f.why, "no room known"));
    }
    assert_int_equal(fit(cases[0], &f), 0);
    assert_non_null(strstr(f.why, "ResourceQuota q: used requests.cpu \"lots\" cannot be read"));
    /* an allowance past 2^63-1 is as good as none */
    assert_int_equal(
        fit("{\"status\":{\"hard\":{\"requests.memory\":\"1e30\"},\"used\":{\"requests.memory\":\"1Gi\"}}}", &f), 0);
    assert_false(f.unknown);
    assert_int_equal(f.pods, 25);
}

static void scopes_select_pods(void **state)
{
    (void)state;
    /* the task pod: Terminating (activeDeadlineSeconds), NotBestEffort, no priority class, no affinity */
    assert_true(selects("{\"spec\":{}}", NULL));
    assert_true(selects("{\"spec\":{\"scopes\":[\"Terminating\",\"NotBestEffort\"]}}", NULL));
    assert_false(selects("{\"spec\":{\"scopes\":[\"NotTerminating\"]}}", NULL));
    assert_false(selects("{\"spec\":{\"scopes\":[\"BestEffort\"]}}", NULL));
    assert_false(selects("{\"spec\":{\"scopes\":[\"Terminating\",\"BestEffort\"]}}", NULL));
    assert_false(selects("{\"spec\":{\"scopes\":[\"CrossNamespacePodAffinity\"]}}", NULL));
    assert_false(selects("{\"spec\":{\"scopes\":[\"NoSuchScope\"]}}", NULL));
#define PC(op, values)                                                                                                 \
    "{\"spec\":{\"scopeSelector\":{\"matchExpressions\":[{\"scopeName\":\"PriorityClass\",\"operator\":\"" op          \
    "\"" values "}]}}}"
    assert_false(selects(PC("In", ",\"values\":[\"high\"]"), NULL));
    assert_true(selects(PC("NotIn", ",\"values\":[\"high\"]"), NULL)); /* no priority class: not in the set */
    assert_false(selects(PC("Exists", ""), NULL));
    assert_true(selects(PC("DoesNotExist", ""), NULL));
    const char *high = "{\"spec\":{\"priorityClassName\":\"high\",\"containers\":[{}]}}";
    assert_true(selects(PC("In", ",\"values\":[\"low\",\"high\"]"), high));
    assert_false(selects(PC("NotIn", ",\"values\":[\"high\"]"), high));
    assert_true(selects(PC("Exists", ""), high));
    assert_false(selects(PC("DoesNotExist", ""), high));
    assert_false(selects(PC("Gt", ",\"values\":[\"1\"]"), high));
    /* BestEffort: no CPU or memory request or limit above zero, init containers included */
    const char *best = "{\"spec\":{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"0\"}}}]}}";
    assert_true(selects("{\"spec\":{\"scopes\":[\"BestEffort\",\"NotTerminating\"]}}", best));
    assert_false(selects("{\"spec\":{\"scopes\":[\"BestEffort\"]}}",
                         "{\"spec\":{\"containers\":[{}],\"initContainers\":[{\"resources\":{\"limits\":"
                         "{\"memory\":\"1Mi\"}}}]}}"));
    /* Terminating: activeDeadlineSeconds set (0 included) */
    assert_true(selects("{\"spec\":{\"scopes\":[\"Terminating\"]}}", "{\"spec\":{\"activeDeadlineSeconds\":0}}"));
    /* cross-namespace affinity: a term naming namespaces or with a namespace selector */
    assert_true(selects("{\"spec\":{\"scopes\":[\"CrossNamespacePodAffinity\"]}}",
                        "{\"spec\":{\"affinity\":{\"podAntiAffinity\":{\"preferredDuringSchedulingIgnoredDuring"
                        "Execution\":[{\"weight\":1,\"podAffinityTerm\":{\"namespaceSelector\":{}}}]}}}}"));
    assert_false(selects("{\"spec\":{\"scopes\":[\"CrossNamespacePodAffinity\"]}}",
                         "{\"spec\":{\"affinity\":{\"podAffinity\":{\"requiredDuringSchedulingIgnoredDuring"
                         "Execution\":[{\"namespaces\":[],\"topologyKey\":\"x\"}]}}}}"));
}

/* A quota that does not select the pod is left out of its room. */
static void scoped_quotas_apply_only_to_their_pods(void **state)
{
    (void)state;
    pod_quota_fit_t f;
    assert_int_equal(fit("{\"spec\":{\"scopes\":[\"BestEffort\"],\"hard\":{\"pods\":\"0\"}},"
                         "\"status\":{\"hard\":{\"pods\":\"0\"},\"used\":{\"pods\":\"0\"}}},"
                         "{\"spec\":{\"scopes\":[\"NotTerminating\"]},\"status\":{\"hard\":{\"requests.cpu\":\"1\"},"
                         "\"used\":{\"requests.cpu\":\"1\"}}}",
                         &f),
                     0);
    assert_false(f.applies);
    assert_int_equal(f.pods, 25);
    assert_int_equal(fit("{\"spec\":{\"scopes\":[\"Terminating\"]},\"status\":{\"hard\":{\"requests.cpu\":\"1\"},"
                         "\"used\":{\"requests.cpu\":\"0\"}}}",
                         &f),
                     0);
    assert_true(f.applies);
    assert_int_equal(f.pods, 2);
}

static void configured_quota(void **state)
{
    (void)state;
    assert_int_equal(pod_quota_fit_config(&cfg, 0, 25), 25); /* 14 / 0.5 = 28, 50Gi / 2Gi = 25 */
    assert_int_equal(pod_quota_fit_config(&cfg, 20, 25), 5);
    assert_int_equal(pod_quota_fit_config(&cfg, 25, 25), 0);
    assert_int_equal(pod_quota_fit_config(&cfg, 30, 25), 0);
    assert_int_equal(pod_quota_fit_config(&cfg, 0, 3), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_quota),
        cmocka_unit_test(requests_limits_and_pods),
        cmocka_unit_test(unreadable_is_no_room),
        cmocka_unit_test(scopes_select_pods),
        cmocka_unit_test(scoped_quotas_apply_only_to_their_pods),
        cmocka_unit_test(configured_quota),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
