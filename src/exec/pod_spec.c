#include "exec/pod_spec.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESULTS_DIR POD_WORK_DIR "/results"
#define RUN_AS_UID  65532 /* non-root, as distroless images number their "nonroot" user */

static json_t *labels(const exec_spec_t *spec, const char *task_label)
{
    json_t *l = json_pack("{s:s,s:s,s:s}", "app.kubernetes.io/name", "pipeline-orchestrator",
                          "app.kubernetes.io/component", task_label ? "task" : "run", POD_RUN_LABEL, spec->run_id);
    if (task_label)
        json_object_set_new(l, POD_TASK_LABEL, json_string(task_label));
    return l;
}

json_t *pod_spec_owner(const char *ns, const exec_spec_t *spec)
{
    char name[96], batches[16], rows[16], seed[16], gen[32], ana[32];
    snprintf(name, sizeof(name), POD_RUN_PREFIX "%s", spec->run_id);
    snprintf(batches, sizeof(batches), "%d", spec->batches);
    snprintf(rows, sizeof(rows), "%d", spec->rows_per_batch);
    snprintf(seed, sizeof(seed), "%u", spec->seed);
    snprintf(gen, sizeof(gen), "%g", spec->generate_seconds);
    snprintf(ana, sizeof(ana), "%g", spec->analyze_seconds);
    json_t *cm = json_pack("{s:s,s:s,s:{s:s,s:s,s:o},s:{s:s,s:s,s:s,s:s,s:s,s:s}}", "apiVersion", "v1", "kind",
                           "ConfigMap", "metadata", "name", name, "namespace", ns, "labels", labels(spec, NULL), "data",
                           "run_id", spec->run_id, "batch_count", batches, "rows_per_batch", rows, "seed", seed,
                           "generate_seconds", gen, "analyze_seconds", ana);
    if (cm == NULL)
        abort(); /* only from a bug in the format above */
    return cm;
}

/* The task's command line: pipeline-task and its arguments, with paths on the work volume. --mkdir: the task makes
 * the run's folder itself, as its own user (see pod_spec_task). */
static json_t *command(const exec_spec_t *s, int task)
{
    char dir[128], buf[192];
    snprintf(dir, sizeof(dir), RESULTS_DIR "/%s", s->run_id);
    int batch = wf_task_batch(s->batches, task);
    json_t *argv = json_pack("[s]", "pipeline-task");
#define ARG(...) (snprintf(buf, sizeof(buf), __VA_ARGS__), json_array_append_new(argv, json_string(buf)))
    switch (wf_task_stage(s->batches, task)) {
    case STAGE_GENERATE:
        ARG("generate");
        ARG("--mkdir");
        ARG("--batch=%d", batch);
        ARG("--rows=%d", s->rows_per_batch);
        ARG("--seed=%u", s->seed);
        ARG("--sleep=%g", s->generate_seconds);
        ARG("--out=%s/batch_%d.csv", dir, batch);
        break;
    case STAGE_ANALYZE:
        ARG("analyze");
        ARG("--mkdir");
        ARG("--batch=%d", batch);
        ARG("--sleep=%g", s->analyze_seconds);
        ARG("--in=%s/batch_%d.csv", dir, batch);
        ARG("--out=%s/stats_batch_%d.json", dir, batch);
        break;
    default:
        ARG("report");
        ARG("--mkdir");
        ARG("--out=%s/report.json", dir);
        for (int b = 1; b <= s->batches; b++)
            ARG("%s/stats_batch_%d.json", dir, b);
        break;
    }
#undef ARG
    return argv;
}

/* The pipeline/task label: GENERATE_3, REPORT. */
static void task_label(const exec_spec_t *spec, int task, char *label, size_t cap)
{
    wf_stage_t stage = wf_task_stage(spec->batches, task);
    if (stage == STAGE_REPORT)
        snprintf(label, cap, "%s", wf_stage_name(stage));
    else
        snprintf(label, cap, "%s_%d", wf_stage_name(stage), wf_task_batch(spec->batches, task));
}

void pod_spec_name(const exec_spec_t *spec, int task, char *name, size_t cap)
{
    char label[32];
    task_label(spec, task, label, sizeof(label));
    snprintf(name, cap, "%s-%s", spec->run_id, label);
    for (char *p = name; *p; p++)
        *p = *p == '_' ? '-' : (char)tolower((unsigned char)*p);
}

/*
 * workingDir is the volume's mount point, which exists before the container starts. A run's folder
 * (results/<run_id>) must not be the working directory: a runtime creates a missing working directory itself, as
 * root with mode 0755, before it switches to the pod's user (runc does), and the task could not write in it. fsGroup
 * is no help on ReadWriteMany volumes (the default CSI fsGroupPolicy skips them). So the task creates the folder,
 * as uid RUN_AS_UID (--mkdir); every task of every run runs as that uid, and the volume's root must let it write.
 */
json_t *pod_spec_task(const config_t *cfg, const char *ns, const exec_spec_t *spec, int task, const char *owner_uid,
                      char *name, size_t cap)
{
    char label[32], owner[96];
    task_label(spec, task, label, sizeof(label));
    pod_spec_name(spec, task, name, cap);
    snprintf(owner, sizeof(owner), POD_RUN_PREFIX "%s", spec->run_id);
    json_t *res = json_pack("{s:s,s:s}", "cpu", cfg->worker_cpu_str, "memory", cfg->worker_memory_str);
    json_t *container = json_pack("{s:s,s:s,s:s,s:o,s:s,s:{s:O,s:O},s:[{s:s,s:s}],s:{s:b,s:b,s:b,s:{s:[s]}}}",
                                  "name", "task", "image", cfg->app_image, "imagePullPolicy", cfg->image_pull_policy,
                                  "command", command(spec, task), "workingDir", POD_WORK_DIR,
                                  "resources", "requests", res, "limits", res, "volumeMounts", "name", "work",
                                  "mountPath", POD_WORK_DIR, "securityContext", "allowPrivilegeEscalation", 0,
                                  "readOnlyRootFilesystem", 1, "runAsNonRoot", 1, "capabilities", "drop", "ALL");
    json_decref(res);
    json_t *pod = json_pack("{s:s,s:s,s:{s:s,s:s,s:o,s:[{s:s,s:s,s:s,s:s,s:b,s:b}]},"
                            "s:{s:s,s:I,s:b,s:I,s:{s:b,s:I,s:I,s:I,s:{s:s}},s:[o],s:[{s:s,s:{s:s}}]}}",
                            "apiVersion", "v1", "kind", "Pod", "metadata", "name", name, "namespace", ns, "labels",
                            labels(spec, label), "ownerReferences", "apiVersion", "v1", "kind", "ConfigMap", "name",
                            owner, "uid", owner_uid, "controller", 1, "blockOwnerDeletion", 0, "spec", "restartPolicy",
                            "Never", "activeDeadlineSeconds", (json_int_t)cfg->job_active_deadline_seconds,
                            "automountServiceAccountToken", 0, "terminationGracePeriodSeconds",
                            (json_int_t)(cfg->cancel_grace_seconds + 0.999), "securityContext", "runAsNonRoot", 1,
                            "runAsUser", (json_int_t)RUN_AS_UID, "runAsGroup", (json_int_t)RUN_AS_UID, "fsGroup",
                            (json_int_t)RUN_AS_UID, "seccompProfile", "type", "RuntimeDefault", "containers", container,
                            "volumes", "name", "work", "persistentVolumeClaim", "claimName", cfg->work_pvc);
    if (pod == NULL)
        abort(); /* only from a bug in the formats above */
    return pod;
}
