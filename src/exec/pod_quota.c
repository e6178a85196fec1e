/*
 * Room in the namespace's ResourceQuotas for the pod runner's pods. The scopes follow the API server's pod quota
 * evaluator: Terminating is spec.activeDeadlineSeconds >= 0, BestEffort a pod without any CPU or memory request or
 * limit above zero, PriorityClass matches spec.priorityClassName as a label selector on one key, and
 * CrossNamespacePodAffinity a pod (anti-)affinity term naming namespaces or a namespace selector.
 */
#include "exec/pod_quota.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kube/kube_quantity.h"

/* ---- scopes ----------------------------------------------------------------------------------------------------- */

static int positive_quantity(json_t *v)
{
    kube_quantity_t q;
    const char *s = json_string_value(v);
    if (s != NULL)
        return kube_quantity_parse(s, &q) != -EINVAL && !q.negative && (q.whole > 0 || q.nano > 0);
    return json_is_number(v) && json_number_value(v) > 0;
}

/* A requirements block ({"requests": {...}, "limits": {...}}) with CPU or memory above zero. */
static int has_cpu_or_memory(json_t *resources)
{
    static const char *const kinds[] = {"requests", "limits"}, *const names[] = {"cpu", "memory"};
    for (int k = 0; k < 2; k++)
        for (int n = 0; n < 2; n++)
            if (positive_quantity(json_object_get(json_object_get(resources, kinds[k]), names[n])))
                return 1;
    return 0;
}

static int best_effort(json_t *spec)
{
    static const char *const lists[] = {"containers", "initContainers"};
    if (has_cpu_or_memory(json_object_get(spec, "resources"))) /* pod-level resources */
        return 0;
    for (int l = 0; l < 2; l++) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(spec, lists[l]), i, c)
        {
            if (has_cpu_or_memory(json_object_get(c, "resources")))
                return 0;
        }
    }
    return 1;
}

static int terminating(json_t *spec)
{
    json_t *d = json_object_get(spec, "activeDeadlineSeconds");
    return json_is_integer(d) && json_integer_value(d) >= 0;
}

static int in_values(json_t *values, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(values, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return 1;
    }
    return 0;
}

/* A label selector on the single key PriorityClass, present only when the pod names a priority class. */
static int priority_class_matches(json_t *spec, const char *op, json_t *values)
{
    const char *pc = json_string_value(json_object_get(spec, "priorityClassName"));
    int has = pc != NULL && pc[0] != '\0';
    if (strcmp(op, "Exists") == 0)
        return has;
    if (strcmp(op, "DoesNotExist") == 0)
        return !has;
    if (strcmp(op, "In") == 0)
        return has && in_values(values, pc);
    if (strcmp(op, "NotIn") == 0)
        return !has || !in_values(values, pc);
    return 0;
}

static int cross_namespace_term(json_t *term)
{
    json_t *sel = json_object_get(term, "namespaceSelector");
    return json_array_size(json_object_get(term, "namespaces")) > 0 || (sel != NULL && !json_is_null(sel));
}

static int cross_namespace_affinity(json_t *spec)
{
    static const char *const kinds[] = {"podAffinity", "podAntiAffinity"};
    json_t *affinity = json_object_get(spec, "affinity");
    for (int k = 0; k < 2; k++) {
        json_t *a = json_object_get(affinity, kinds[k]), *t;
        size_t i;
        json_array_foreach(json_object_get(a, "requiredDuringSchedulingIgnoredDuringExecution"), i, t)
        {
            if (cross_namespace_term(t))
                return 1;
        }
        json_array_foreach(json_object_get(a, "preferredDuringSchedulingIgnoredDuringExecution"), i, t)
        {
            if (cross_namespace_term(json_object_get(t, "podAffinityTerm")))
                return 1;
        }
    }
    return 0;
}

static int scope_matches(json_t *spec, const char *scope, const char *op, json_t *values)
{
    if (strcmp(scope, "Terminating") == 0)
        return terminating(spec);
    if (strcmp(scope, "NotTerminating") == 0)
        return !terminating(spec);
    if (strcmp(scope, "BestEffort") == 0)
        return best_effort(spec);
    if (strcmp(scope, "NotBestEffort") == 0)
        return !best_effort(spec);
    if (strcmp(scope, "PriorityClass") == 0)
        return priority_class_matches(spec, op, values);
    if (strcmp(scope, "CrossNamespacePodAffinity") == 0)
        return cross_namespace_affinity(spec);
    return 0; /* a scope the API server does not know selects nothing (it refuses such a quota anyway) */
}

int pod_quota_selects(json_t *quota, json_t *pod)
{
    json_t *qspec = json_object_get(quota, "spec"), *pspec = json_object_get(pod, "spec"), *s;
    size_t i;
    json_array_foreach(json_object_get(qspec, "scopes"), i, s)
    {
        if (!json_is_string(s) || !scope_matches(pspec, json_string_value(s), "Exists", NULL))
            return 0;
    }
    json_array_foreach(json_object_get(json_object_get(qspec, "scopeSelector"), "matchExpressions"), i, s)
    {
        const char *name = json_string_value(json_object_get(s, "scopeName"));
        const char *op = json_string_value(json_object_get(s, "operator"));
        if (name == NULL || op == NULL || !scope_matches(pspec, name, op, json_object_get(s, "values")))
            return 0;
    }
    return 1;
}

/* ---- what a pod counts ------------------------------------------------------------------------------------------ */

typedef enum { RES_PODS, RES_REQ_CPU, RES_LIM_CPU, RES_REQ_MEM, RES_LIM_MEM, RES_COUNT } res_t;

/* The quota's resource names and what each counts; CPU in millicores, memory in bytes. */
static const struct {
    const char *name;
    res_t res;
} quota_keys[] = {{"pods", RES_PODS},
                  {"count/pods", RES_PODS},
                  {"cpu", RES_REQ_CPU},
                  {"requests.cpu", RES_REQ_CPU},
                  {"limits.cpu", RES_LIM_CPU},
                  {"memory", RES_REQ_MEM},
                  {"requests.memory", RES_REQ_MEM},
                  {"limits.memory", RES_LIM_MEM}};

static int res_exp10(res_t r)
{
    return r == RES_REQ_CPU || r == RES_LIM_CPU ? -3 : 0;
}

static const char *res_unit(res_t r)
{
    if (r == RES_PODS)
        return "";
    return res_exp10(r) ? "m" : " bytes";
}

/* A figure as an int64 in the resource's unit, rounded up or down. 0, or -1 when it cannot be read. */
static int figure(json_t *v, res_t r, int round_up, int64_t *out)
{
    kube_quantity_t q;
    int rc = kube_quantity_parse(json_string_value(v), &q);
    if (rc == -ERANGE && !q.negative && !round_up) { /* an allowance past 2^63-1: as good as none */
        *out = INT64_MAX;
        return 0;
    }
    if (rc != 0 || q.negative)
        return -1;
    return kube_quantity_scaled(&q, res_exp10(r), round_up, out) == 0 ? 0 : -1;
}

/* What the pod counts for each resource: its containers' sum, or an init container's if larger (as the API server). */
static void pod_use(json_t *pod, int64_t use[RES_COUNT])
{
    static const struct {
        const char *kind, *name;
        res_t res;
    } map[] = {{"requests", "cpu", RES_REQ_CPU},
               {"limits", "cpu", RES_LIM_CPU},
               {"requests", "memory", RES_REQ_MEM},
               {"limits", "memory", RES_LIM_MEM}};
    json_t *spec = json_object_get(pod, "spec"), *c;
    memset(use, 0, sizeof(int64_t) * RES_COUNT);
    use[RES_PODS] = 1;
    for (size_t m = 0; m < sizeof(map) / sizeof(map[0]); m++) {
        int64_t sum = 0, init_max = 0, v;
        size_t i;
        json_array_foreach(json_object_get(spec, "containers"), i, c)
        {
            json_t *q = json_object_get(json_object_get(json_object_get(c, "resources"), map[m].kind), map[m].name);
            if (q && figure(q, map[m].res, 1, &v) == 0 && __builtin_add_overflow(sum, v, &sum))
                sum = INT64_MAX;
        }
        json_array_foreach(json_object_get(spec, "initContainers"), i, c)
        {
            json_t *q = json_object_get(json_object_get(json_object_get(c, "resources"), map[m].kind), map[m].name);
            if (q && figure(q, map[m].res, 1, &v) == 0 && v > init_max)
                init_max = v;
        }
        use[map[m].res] = sum > init_max ? sum : init_max;
    }
}

/* ---- room ------------------------------------------------------------------------------------------------------- */

static void unknown(pod_quota_fit_t *out, const char *quota, const char *what, const char *key, const char *value)
{
    if (out->unknown)
        return; /* the first one is named */
    out->unknown = 1;
    out->pods = 0;
    snprintf(out->why, sizeof(out->why), "ResourceQuota %.60s: %s %.40s %s%.40s%s: no room known", quota, what, key,
             value ? "\"" : "", value ? value : "not counted yet", value ? "\" cannot be read" : "");
}

/* One quota that selects the pod: tightens out->pods. */
static void fit_one(json_t *quota, const int64_t use[RES_COUNT], pod_quota_fit_t *out)
{
    json_t *status = json_object_get(quota, "status");
    json_t *hard = json_object_get(status, "hard"), *used = json_object_get(status, "used");
    if (!json_is_object(hard) || json_object_size(hard) == 0)
        hard = json_object_get(json_object_get(quota, "spec"), "hard");
    const char *qname = json_string_value(json_object_get(json_object_get(quota, "metadata"), "name"));
    qname = qname ? qname : "(unnamed)";
    for (size_t k = 0; k < sizeof(quota_keys) / sizeof(quota_keys[0]); k++) {
        res_t r = quota_keys[k].res;
        json_t *h = json_object_get(hard, quota_keys[k].name);
        if (h == NULL || use[r] <= 0)
            continue; /* not limited, or the pod does not use it */
        out->applies = 1;
        json_t *u = json_object_get(used, quota_keys[k].name);
        int64_t hv, uv;
        if (figure(h, r, 0, &hv) != 0) {
            unknown(out, qname, "hard", quota_keys[k].name, json_is_string(h) ? json_string_value(h) : "?");
            continue;
        }
        if (u == NULL) {
            unknown(out, qname, "used", quota_keys[k].name, NULL);
            continue;
        }
        if (figure(u, r, 1, &uv) != 0) {
            unknown(out, qname, "used", quota_keys[k].name, json_is_string(u) ? json_string_value(u) : "?");
            continue;
        }
        int64_t free_ = hv > uv ? hv - uv : 0;
        int64_t n = free_ / use[r];
        if (!out->unknown && n < out->pods) {
            out->pods = (int)n;
            snprintf(out->why, sizeof(out->why), "ResourceQuota %.60s: %s %.40s used of %.40s, a pod counts %lld%s",
                     qname, quota_keys[k].name, json_string_value(u), json_string_value(h), (long long)use[r],
                     res_unit(r));
        }
    }
}

int pod_quota_fit(json_t *list, json_t *pod, int cap, pod_quota_fit_t *out)
{
    memset(out, 0, sizeof(*out));
    out->pods = cap;
    json_t *items = json_object_get(list, "items"), *q;
    if (!json_is_array(items))
        return -1;
    int64_t use[RES_COUNT];
    pod_use(pod, use);
    size_t i;
    json_array_foreach(items, i, q)
    {
        if (pod_quota_selects(q, pod))
            fit_one(q, use, out);
    }
    if (!out->applies)
        out->pods = cap;
    return 0;
}

int pod_quota_fit_config(const config_t *cfg, int busy, int cap)
{
    const char *pairs[][2] = {{cfg->quota_cpu_str, cfg->worker_cpu_str},
                              {cfg->quota_memory_str, cfg->worker_memory_str}};
    int64_t n = cap;
    for (int p = 0; p < 2; p++) {
        kube_quantity_t quota, worker;
        int64_t qv, wv, used;
        int exp10 = p == 0 ? -3 : 0;
        if (kube_quantity_parse(pairs[p][0], &quota) != 0 || kube_quantity_parse(pairs[p][1], &worker) != 0 ||
            kube_quantity_scaled(&quota, exp10, 0, &qv) != 0 || kube_quantity_scaled(&worker, exp10, 1, &wv) != 0 ||
            wv <= 0)
            return 0; /* config.c validated both: not reached */
        if (__builtin_mul_overflow(wv, (int64_t)busy, &used) || used >= qv)
            return 0;
        if ((qv - used) / wv < n)
            n = (qv - used) / wv;
    }
    return (int)n;
}
