#include "exec/nextflow_job.h"

#include "exec/pod_status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORKFLOWS_DIR "/workflows"
#define CONFIG_DIR    "/etc/nextflow-run"
#define WORK_DIR      "/workspace"
#define HOME_DIR      "/home/nextflow" /* an emptyDir: HOME and NXF_HOME of the controller */
/* where nextflow/nextflow images keep the framework they were built with (their NXF_HOME, /.nextflow) */
#define NEXTFLOW_IMAGE_DIST "/.nextflow/framework"

/* IMAGE_PULL_POLICY, for the Job's containers and (k8s.pullPolicy) Nextflow's workers */
static const char *nextflow_pull_policy(const config_t *cfg)
{
    return cfg->image_pull_policy;
}

char *nextflow_job_config_text(const config_t *cfg, const char *ns, const exec_spec_t *spec)
{
    /* Nextflow wants whole CPUs and its own memory units (1 GB = 1024 MB there) */
    int cpus = (int)ceil(cfg->worker_cpu);
    long memory_mb = (long)ceil(cfg->worker_memory_gi * 1024.0);
    char *text = NULL;
    int n = asprintf(&text,
                     "// nextflow.config of run %s, written by pipeline-orchestrator\n"
                     "params {\n"
                     "    generate_seconds = %g\n"
                     "    analyze_seconds = %g\n"
                     "    results = '" WORK_DIR "/results'\n"
                     "    max_retries = %d\n"
                     "}\n"
                     "process {\n"
                     "    executor = 'k8s'\n"
                     "    container = '%s'\n"
                     "    cpus = %d\n"
                     "    memory = '%ld MB'\n"
                     "}\n"
                     "k8s {\n"
                     "    namespace = '%s'\n"
                     "    serviceAccount = '%s'\n"
                     "    storageClaimName = '%s'\n"
                     "    storageMountPath = '" WORK_DIR "'\n"
                     "    computeResourceType = 'Pod'\n"
                     /* the launcher as the container's command: the image's ENTRYPOINT starts the service */
                     "    entrypointOverride = true\n"
                     /* a CPU limit beside the request: a quota on limits.cpu refuses pods without one */
                     "    cpuLimits = true\n"
                     "    pullPolicy = '%s'\n"
                     /* the workers run as the controller does, so they can write in the task directories it makes */
                     "    securityContext = [runAsUser: %d, runAsGroup: %d, runAsNonRoot: true, "
                     "seccompProfile: [type: 'RuntimeDefault']]\n"
                     "    pod = [[automountServiceAccountToken: false]]\n"
                     "}\n"
                     "workDir = '" WORK_DIR "/work'\n",
                     spec->run_id, spec->generate_seconds, spec->analyze_seconds, cfg->task_retries, cfg->app_image,
                     cpus < 1 ? 1 : cpus, memory_mb < 1 ? 1 : memory_mb, ns, cfg->nextflow_service_account,
                     cfg->work_pvc, nextflow_pull_policy(cfg), NEXTFLOW_RUN_AS_UID, NEXTFLOW_RUN_AS_UID);
    if (n < 0)
        abort();
    return text;
}

static json_t *labels(const exec_spec_t *spec)
{
    return json_pack("{s:s,s:s,s:s}", "app.kubernetes.io/name", "pipeline-orchestrator", "app.kubernetes.io/component",
                     "nextflow-controller", NEXTFLOW_RUN_LABEL, spec->run_id);
}

json_t *nextflow_job_configmap(const config_t *cfg, const char *ns, const exec_spec_t *spec)
{
    char name[96];
    snprintf(name, sizeof(name), NEXTFLOW_CONFIGMAP_PREFIX "%s", spec->run_id);
    char *text = nextflow_job_config_text(cfg, ns, spec);
    json_t *cm = json_pack("{s:s,s:s,s:{s:s,s:s,s:o},s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
                           "name", name, "namespace", ns, "labels", labels(spec), "data", "nextflow.config", text);
    free(text);
    return cm;
}

static json_t *resources(const config_t *cfg)
{
    return json_pack("{s:{s:s,s:s},s:{s:s,s:s}}", "requests", "cpu", cfg->controller_cpu_str, "memory",
                     cfg->controller_memory_str, "limits", "cpu", cfg->controller_cpu_str, "memory",
                     cfg->controller_memory_str);
}

static json_t *controller_args(const exec_spec_t *spec)
{
    char batches[16], rows[16], seed[16];
    snprintf(batches, sizeof(batches), "%d", spec->batches);
    snprintf(rows, sizeof(rows), "%d", spec->rows_per_batch);
    snprintf(seed, sizeof(seed), "%u", spec->seed);
    return json_pack("[s,s,s,s,s,s,s,s,s,s,s,s,s,s]", "run", WORKFLOWS_DIR "/demo.nf", "-name", spec->run_id, "-c",
                     CONFIG_DIR "/nextflow.config", "-ansi-log", "false", "--batches", batches, "--rows", rows,
                     "--seed", seed);
}

/* What the `restricted` Pod Security level asks of each container. */
static json_t *container_security(void)
{
    return json_pack("{s:b,s:{s:[s]}}", "allowPrivilegeEscalation", 0, "capabilities", "drop", "ALL");
}

/* The controller's environment: Nextflow's home (the launcher caches its class path there, the runtime its plugins
 * and secrets) must be writable by a user other than the image's root, and the framework stays the image's. */
static json_t *controller_env(void)
{
    return json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s}]", "name", "NXF_ANSI_LOG", "value", "false", "name",
                     "HOME", "value", HOME_DIR, "name", "NXF_HOME", "value", HOME_DIR "/.nextflow", "name", "NXF_DIST",
                     "value", NEXTFLOW_IMAGE_DIST);
}

json_t *nextflow_job_object(const config_t *cfg, const char *ns, const exec_spec_t *spec)
{
    char name[96], cm[96];
    snprintf(name, sizeof(name), NEXTFLOW_JOB_PREFIX "%s", spec->run_id);
    snprintf(cm, sizeof(cm), NEXTFLOW_CONFIGMAP_PREFIX "%s", spec->run_id);
    const char *pull = nextflow_pull_policy(cfg);
    json_t *init = json_pack("{s:s,s:s,s:s,s:[s,s,s,s],s:[{s:s,s:s}],s:o}", "name", "workflows", "image",
                             cfg->app_image, "imagePullPolicy", pull, "command", "cp", "-R", WORKFLOWS_DIR "/.",
                             "/mnt/workflows/", "volumeMounts", "name", "workflows", "mountPath", "/mnt/workflows",
                             "securityContext", container_security());
    json_t *mounts = json_pack("[{s:s,s:s,s:b},{s:s,s:s,s:b},{s:s,s:s},{s:s,s:s}]", "name", "workflows", "mountPath",
                               WORKFLOWS_DIR, "readOnly", 1, "name", "config", "mountPath", CONFIG_DIR, "readOnly", 1,
                               "name", "work", "mountPath", WORK_DIR, "name", "home", "mountPath", HOME_DIR);
    json_t *main = json_pack("{s:s,s:s,s:s,s:[s],s:o,s:s,s:o,s:o,s:o,s:o}", "name", "nextflow", "image",
                             cfg->nextflow_image, "imagePullPolicy", pull, "command", "nextflow", "args",
                             controller_args(spec), "workingDir", WORK_DIR, "env", controller_env(), "resources",
                             resources(cfg), "volumeMounts", mounts, "securityContext", container_security());
    json_t *volumes = json_pack("[{s:s,s:{}},{s:s,s:{s:s}},{s:s,s:{s:s}},{s:s,s:{}}]", "name", "workflows",
                                "emptyDir", "name", "config", "configMap", "name", cm, "name", "work",
                                "persistentVolumeClaim", "claimName", cfg->work_pvc, "name", "home", "emptyDir");
    /* one uid for the controller and its workers (k8s.securityContext in the config): the task directories
     * Nextflow makes (0755) are then the workers' own */
    json_t *security = json_pack("{s:b,s:i,s:i,s:i,s:{s:s}}", "runAsNonRoot", 1, "runAsUser", NEXTFLOW_RUN_AS_UID,
                                 "runAsGroup", NEXTFLOW_RUN_AS_UID, "fsGroup", NEXTFLOW_RUN_AS_UID, "seccompProfile",
                                 "type", "RuntimeDefault");
    json_t *job = json_pack(
        "{s:s,s:s,s:{s:s,s:s,s:o},s:{s:i,s:i,s:i,s:{s:{s:o},s:{s:s,s:s,s:o,s:[o],s:[o],s:o}}}}", "apiVersion",
        "batch/v1", "kind", "Job", "metadata", "name", name, "namespace", ns, "labels", labels(spec), "spec",
        "backoffLimit", 0, "activeDeadlineSeconds", cfg->job_active_deadline_seconds, "ttlSecondsAfterFinished",
        cfg->job_ttl_seconds, "template", "metadata", "labels", labels(spec), "spec", "serviceAccountName",
        cfg->nextflow_service_account, "restartPolicy", "Never", "securityContext", security, "initContainers", init,
        "containers", main, "volumes", volumes);
    if (job == NULL)
        abort(); /* only from a bug in the formats above */
    return job;
}

json_t *nextflow_job_owner_patch(const char *job_name, const char *job_uid)
{
    return json_pack("{s:{s:[{s:s,s:s,s:s,s:s,s:b}]}}", "metadata", "ownerReferences", "apiVersion", "batch/v1", "kind",
                     "Job", "name", job_name, "uid", job_uid, "blockOwnerDeletion", 0);
}

/* The condition of `type` with status "True", or NULL. */
static json_t *condition(json_t *obj, const char *type)
{
    json_t *conds = json_object_get(json_object_get(obj, "status"), "conditions"), *c;
    size_t i;
    json_array_foreach(conds, i, c)
    {
        const char *t = json_string_value(json_object_get(c, "type"));
        const char *s = json_string_value(json_object_get(c, "status"));
        if (t && s && strcmp(t, type) == 0 && strcmp(s, "True") == 0)
            return c;
    }
    return NULL;
}

static void describe(json_t *obj, char *out, size_t cap)
{
    const char *reason = json_string_value(json_object_get(obj, "reason"));
    const char *message = json_string_value(json_object_get(obj, "message"));
    snprintf(out, cap, "%s%s%s", reason ? reason : "", reason && message ? ": " : "", message ? message : "");
}

int nextflow_job_finished(json_t *job, char *detail, size_t cap)
{
    if (condition(job, "Complete"))
        return 1;
    json_t *failed = condition(job, "Failed");
    if (failed == NULL)
        return 0;
    describe(failed, detail, cap);
    return -1;
}

/* When an event last happened: core/v1 Events have lastTimestamp (whole seconds), events.k8s.io ones eventTime. */
static const char *event_time(json_t *ev)
{
    const char *keys[] = {"lastTimestamp", "eventTime", "firstTimestamp"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *t = json_string_value(json_object_get(ev, keys[i]));
        if (t && t[0])
            return t;
    }
    const char *t = json_string_value(json_object_get(json_object_get(ev, "metadata"), "creationTimestamp"));
    return t ? t : "";
}

int nextflow_job_events_why(json_t *list, char *out, size_t cap)
{
    json_t *ev, *newest = NULL;
    size_t i;
    json_array_foreach(json_object_get(list, "items"), i, ev)
    {
        const char *type = json_string_value(json_object_get(ev, "type"));
        if (type == NULL || strcmp(type, "Warning") != 0 || !json_is_string(json_object_get(ev, "message")))
            continue;
        /* RFC 3339 in UTC: the text orders as the time, to the second (the later of a tie is the newer) */
        if (newest == NULL || strncmp(event_time(ev), event_time(newest), 19) >= 0)
            newest = ev;
    }
    if (newest == NULL)
        return 0;
    describe(newest, out, cap);
    return 1;
}

int nextflow_pod_read(json_t *pod, nextflow_pod_t *out)
{
    json_t *meta = json_object_get(pod, "metadata"), *status = json_object_get(pod, "status");
    memset(out, 0, sizeof(*out));
    out->exit_code = -1;
    out->name = json_string_value(json_object_get(meta, "name"));
    if (out->name == NULL)
        return -1;
    out->task_name = json_string_value(json_object_get(json_object_get(meta, "labels"), NEXTFLOW_TASK_LABEL));
    static const char *const phases[] = {"Pending", "Running", "Succeeded", "Failed"};
    const char *phase = json_string_value(json_object_get(status, "phase"));
    out->phase = POD_UNKNOWN;
    for (int i = 0; phase && i < 4; i++)
        if (strcmp(phase, phases[i]) == 0)
            out->phase = (nextflow_pod_phase_t)i;
    if (phase == NULL)
        out->phase = POD_PENDING; /* just created: no status yet */
    /* why it waits or how it ended: the init containers first, then the first container (src/exec/pod_status.c) */
    pod_status_describe(status, &out->exit_code, out->reason, sizeof(out->reason));
    return 0;
}
