/*
 * The Kubernetes objects of one run of the pod runner (EXECUTOR=kubernetes), built and read as JSON; pure, no I/O.
 *
 *   ConfigMap pipeline-run-<run_id>   the run's parameters; the owner of every pod of the run, so one delete
 *                                     with propagationPolicy=Background removes everything
 *   Pod <run_id>-generate-3           one task: `pipeline-task generate ...` from APP_IMAGE, its paths on the work
 *                                     PVC at /workspace (results under /workspace/results/<run_id>/)
 */
#ifndef EXEC_POD_SPEC_H
#define EXEC_POD_SPEC_H

#include <jansson.h>
#include <stddef.h>

#include "config.h"
#include "exec/executor.h"

#define POD_RUN_PREFIX "pipeline-run-"
#define POD_RUN_LABEL  "pipeline/run-id"
#define POD_TASK_LABEL "pipeline/task"
#define POD_WORK_DIR   "/workspace"

/** The ConfigMap that owns the run's pods (new reference). */
json_t *pod_spec_owner(const char *ns, const exec_spec_t *spec);
/** The name of the pod of `task`: "<run_id>-generate-3", "<run_id>-report". */
void pod_spec_name(const exec_spec_t *spec, int task, char *name, size_t cap);
/** The pod of `task` (new reference), owned by the ConfigMap `owner_uid`; its name goes to `name`. */
json_t *pod_spec_task(const config_t *cfg, const char *ns, const exec_spec_t *spec, int task, const char *owner_uid,
                      char *name, size_t cap);

/** What is free in the namespace: cores, GiB and pods (a negative value: no limit on that resource). */
typedef struct pod_room {
    double cpu, memory_gi;
    int pods;
} pod_room_t;

/**
 * Reads a ResourceQuotaList: the tightest `hard - used` over every quota for requests.cpu (or cpu),
 * requests.memory (or memory) and pods. Returns 1 when a quota limits something, 0 when there is none (`room`
 * then unlimited), -1 when the list is not one.
 */
int pod_spec_room(json_t *quota_list, pod_room_t *room);
/** How many workers of `cpu` cores and `memory_gi` fit in `room` (capped at `cap`). */
int pod_spec_fit(const pod_room_t *room, double cpu, double memory_gi, int cap);

#endif
