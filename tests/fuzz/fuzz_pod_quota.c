/* libFuzzer target: a ResourceQuotaList as the API server might answer it (src/exec/pod_quota.c): any JSON gives
 * a count within [0, cap] without a fault; a quota that applies with a figure it cannot read gives 0. The first
 * byte picks the pod: a task pod (requests and limits, activeDeadlineSeconds) or a BestEffort one with a priority
 * class and a cross-namespace affinity. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exec/pod_quota.h"

static const char *const pods[] = {
    "{\"spec\":{\"activeDeadlineSeconds\":900,\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"500m\","
    "\"memory\":\"2Gi\"},\"limits\":{\"cpu\":\"500m\",\"memory\":\"2Gi\"}}}]}}",
    "{\"spec\":{\"priorityClassName\":\"high\",\"containers\":[{}],\"affinity\":{\"podAffinity\":{"
    "\"requiredDuringSchedulingIgnoredDuringExecution\":[{\"namespaces\":[\"x\"]}]}}}}",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    json_t *pod = json_loads(pods[data[0] & 1], 0, NULL);
    json_t *list = json_loadb((const char *)data + 1, size - 1, 0, NULL);
    if (pod == NULL)
        abort();
    pod_quota_fit_t fit;
    int rc = pod_quota_fit(list, pod, 25, &fit);
    if (rc != 0 && rc != -1)
        abort();
    if (rc == 0 && (fit.pods < 0 || fit.pods > 25 || (fit.unknown && (fit.pods != 0 || !fit.applies)) ||
                    memchr(fit.why, '\0', sizeof(fit.why)) == NULL))
        abort();
    json_t *items = json_object_get(list, "items"), *q;
    size_t i;
    json_array_foreach(items, i, q)
    {
        int s = pod_quota_selects(q, pod);
        if (s != 0 && s != 1)
            abort();
    }
    json_decref(list);
    json_decref(pod);
    return 0;
}
