/*
 * Room in the namespace for the pod runner's task pods, as the API server's quota admission counts it; pure, no I/O.
 *
 * A ResourceQuota applies to a pod only when every one of its scopes selects it (`scopes`, `scopeSelector`:
 * Terminating, NotTerminating, BestEffort, NotBestEffort, PriorityClass, CrossNamespacePodAffinity), and then
 * limits the pod count (`pods`, `count/pods`), the requests (`cpu` or `requests.cpu`, `memory` or
 * `requests.memory`) and the limits (`limits.cpu`, `limits.memory`). Figures are Kubernetes quantities
 * (kube/kube_quantity.h), counted exactly: millicores, bytes, pods; what is used is rounded up, what is allowed down.
 * A figure that cannot be read (or a `used` not counted yet) means no room is known, never room.
 */
#ifndef EXEC_POD_QUOTA_H
#define EXEC_POD_QUOTA_H

#include <jansson.h>
#include <stddef.h>

#include "config.h"

/** What one answer of the quota list allows. */
typedef struct pod_quota_fit {
    int applies;   /* a quota selects the pod and limits something it uses */
    int pods;      /* how many more such pods fit (when it applies); capped */
    int unknown;   /* a figure could not be read: `pods` is 0 and `why` names it */
    char why[300]; /* what limits (the quota, the resource, used of hard), or the unreadable figure */
} pod_quota_fit_t;

/** 1 when `quota` (a ResourceQuota) selects `pod` (a Pod manifest), else 0. */
int pod_quota_selects(json_t *quota, json_t *pod);

/**
 * How many more pods like `pod` the ResourceQuotaList `list` lets start (at most `cap`). Returns 0, or -1 when
 * `list` is not a list (`out` then applies nowhere).
 */
int pod_quota_fit(json_t *list, json_t *pod, int cap, pod_quota_fit_t *out);

/** The same from the configuration when no quota applies: QUOTA_CPU/QUOTA_MEMORY less `busy` workers (exact). */
int pod_quota_fit_config(const config_t *cfg, int busy, int cap);

#endif
