/*
 * The Kubernetes objects of one Nextflow run, built and read as JSON (jansson); pure, no I/O.
 *
 *   ConfigMap nextflow-config-<run_id>   this run's nextflow.config (k8s executor, namespace, service account,
 *                                        the work PVC, worker resources, the demo's pauses)
 *   Job nextflow-run-<run_id>            one controller pod: an init container copies /workflows out of
 *                                        APP_IMAGE into an emptyDir; NEXTFLOW_IMAGE runs
 *                                        `nextflow run /workflows/demo.nf -name <run_id> ... -ansi-log false`,
 *                                        plus `-resume <session>` when the run resumes an earlier one
 *
 * Nextflow's k8s executor then starts one worker pod per task, labelled nextflow.io/runName=<run_id> and
 * nextflow.io/taskName=GENERATE_1 (its task name "GENERATE (1)" made a valid label value).
 */
#ifndef EXEC_NEXTFLOW_JOB_H
#define EXEC_NEXTFLOW_JOB_H

#include <jansson.h>
#include <stddef.h>

#include "config.h"
#include "exec/executor.h"

#define NEXTFLOW_JOB_PREFIX       "nextflow-run-"
#define NEXTFLOW_CONFIGMAP_PREFIX "nextflow-config-"
#define NEXTFLOW_RUN_LABEL        "pipeline/run-id"     /* on the Job, its pod and the ConfigMap */
#define NEXTFLOW_WORKER_LABEL     "nextflow.io/runName" /* on every worker pod Nextflow starts */
#define NEXTFLOW_TASK_LABEL       "nextflow.io/taskName"
#define NEXTFLOW_SESSION_LABEL    "nextflow.io/sessionId" /* "uuid-<session>" on every worker pod */
#define NEXTFLOW_SESSION_LEN      36                      /* a UUID: 8-4-4-4-12 lowercase hex digits */
/* the app image's USER: the controller and Nextflow's workers run as it (the Job's and k8s.securityContext) */
#define NEXTFLOW_RUN_AS_UID 10001

/** 1 when `id` is a session id as Nextflow prints and `-resume` takes it (a lowercase UUID), else 0. */
int nextflow_session_valid(const char *id);
/** The session id of a worker pod's nextflow.io/sessionId label ("uuid-<session>") into `out` (at least
 *  NEXTFLOW_SESSION_LEN + 1 bytes): 0, or -1 when the label is not one. */
int nextflow_session_from_label(const char *label, char *out, size_t cap);

/** This run's nextflow.config (malloc'd text). */
char *nextflow_job_config_text(const config_t *cfg, const char *ns, const exec_spec_t *spec);
/** The ConfigMap holding it (new reference). */
json_t *nextflow_job_configmap(const config_t *cfg, const char *ns, const exec_spec_t *spec);
/** The Job (new reference). */
json_t *nextflow_job_object(const config_t *cfg, const char *ns, const exec_spec_t *spec);
/** A merge patch that makes the Job (name, uid) the ConfigMap's owner (new reference). */
json_t *nextflow_job_owner_patch(const char *job_name, const char *job_uid);

/**
 * Whether a Job has finished, from its conditions looked up by type (Kubernetes 1.31+ puts SuccessCriteriaMet
 * or FailureTarget before Complete or Failed): 1 Complete, -1 Failed (`detail` gets "reason: message"), 0 not yet.
 */
int nextflow_job_finished(json_t *job, char *detail, size_t cap);

/**
 * Why a Job has no pod, from the list of its events (an EventList): the newest Warning, as the Job controller
 * writes FailedCreate ("Error creating: pods \"...\" is forbidden: exceeded quota: ..."), as "reason: message".
 * Returns 1 when there is one, 0 when not.
 */
int nextflow_job_events_why(json_t *list, char *out, size_t cap);

typedef enum { POD_PENDING, POD_RUNNING, POD_SUCCEEDED, POD_FAILED, POD_UNKNOWN } nextflow_pod_phase_t;

typedef struct nextflow_pod {
    nextflow_pod_phase_t phase;
    const char *name;      /* borrowed from the object */
    const char *task_name; /* the nextflow.io/taskName label, or NULL */
    const char *session;   /* the nextflow.io/sessionId label ("uuid-..."), or NULL */
    int exit_code;         /* the first container's, -1 when it has not terminated */
    char reason[512];      /* why it waits (ImagePullBackOff, Unschedulable) or why it ended: "Reason: message" */
} nextflow_pod_t;

/** Reads what the executor needs of a Pod object. Returns 0, or -1 when it has no name. */
int nextflow_pod_read(json_t *pod, nextflow_pod_t *out);

#endif
