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

#endif
