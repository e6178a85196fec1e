/*
 * The pod runner starting the tasks it is given, within the quota. Its room is what is free: the namespace's
 * ResourceQuotas that select its pods (hard - used, exec/pod_quota.c) when there are any, else
 * QUOTA_CPU/QUOTA_MEMORY minus the run's own pods; a figure that cannot be read means no room; one quota
 * answer is one round of starts. A create refused with 403 "exceeded quota" gives the task back (pending again)
 * until a task ends.
 */
#include <stdio.h>
#include <string.h>

#include "exec/pod_quota.h"
#include "exec/pod_spec.h"
#include "exec/podrun_internal.h"
#include "util/clock.h"
#include "util/log.h"

void podrun_fail_task(kube_exec_t *ex, int task, const char *detail)
{
    if (task < 0 || task >= wf_task_count(ex->spec.batches))
        return;
    pod_slot_t *s = &ex->slots[task];
    podrun_conclude(ex, s, TASK_FAILED, detail); /* the orchestrator answers with stop() */
}

void podrun_reset_slot(pod_slot_t *s)
{
    *s = (pod_slot_t){.owner = s->owner, .task = s->task, .exit_code = -1, .since_ms = s->since_ms,
                     .since_count = s->since_count, .tries = s->tries};
}

int podrun_busy_count(const kube_exec_t *ex)
{
    int n = 0;
    for (int t = 0; t < wf_task_count(ex->spec.batches); t++)
        n += ex->slots[t].given && !ex->slots[t].concluded;
    return n;
}

/* Something the scheduler waits for happened: it may ask for room again. */
static void after_request(kube_exec_t *ex)
{
    if (ex->again && ex->quota_req == NULL && ex->creating == 0) {
        ex->again = 0;
        podrun_tell_room(ex);
    }
}

static void on_created(void *data, const kube_response_t *res)
{
    pod_slot_t *s = data;
    kube_exec_t *ex = s->owner;
    s->create = NULL;
    ex->creating--;
    if (res->status == 201 || res->status == 200 || res->status == 409) {
        s->exists = 1; /* 409: a take-over meets the pod the dead replica created */
        if (s->pending_since == 0 && s->phase == POD_PENDING)
            s->pending_since = clock_mono_ms();
    } else if (res->status == 403 && res->message && strstr(res->message, "exceeded quota")) {
        log_info("kube-exec", "run %s: pod %s waits for room in the quota: %s", ex->run_id, s->name, res->message);
        ex->waiting_quota = ex->refused = 1;
        snprintf(ex->quota_detail, sizeof(ex->quota_detail), "%.250s", res->message);
        podrun_reset_slot(s);
        ex->super.listener.task_requeued(ex->super.listener.data, s->task); /* started again once a task ends */
    } else if (!ex->stopping) {
        char detail[900];
        snprintf(detail, sizeof(detail), "cannot create pod %s: HTTP %ld%s%s: %s", s->name, res->status,
                 res->reason && res->reason[0] ? " " : "", res->reason ? res->reason : "",
                 res->message ? res->message : "no answer");
        /* the API says to try again later (429, 500, 502-504): a retry, not the task's fault */
        long st = res->status;
        if (st == 429 || st == 500 || st == 502 || st == 503 || st == 504)
            podrun_conclude_lost(ex, s, detail);
        else
            podrun_fail_task(ex, s->task, detail);
    }
    after_request(ex);
    podrun_kick(ex);
}

int podrun_run_task(executor_t *super, int task, char *why, size_t cap)
{
    kube_exec_t *ex = (kube_exec_t *)super;
    if (!ex->active || ex->stopping || ex->ending || task < 0 || task >= wf_task_count(ex->spec.batches)) {
        snprintf(why, cap, "task %d cannot start now", task);
        return -1;
    }
    pod_slot_t *s = &ex->slots[task];
    if (s->given && !s->concluded)
        return 0; /* taken over: its pod is there already and followed */
    podrun_reset_slot(s);
    s->given = 1;
    s->phase = POD_PENDING;
    json_t *pod = pod_spec_task(ex->cfg, ex->ns, &ex->spec, task, ex->owner_uid, s->name, sizeof(s->name));
    if (++s->tries > 1) { /* a retry: the pod of the attempt before may still be there under its own name */
        size_t len = strlen(s->name);
        snprintf(s->name + len, sizeof(s->name) - len, "-a%d", s->tries);
        json_object_set_new(json_object_get(pod, "metadata"), "name", json_string(s->name));
    }
    char path[256];
    kube_path(path, sizeof(path), "v1", ex->ns, "pods", NULL, NULL);
    s->create = kube_create(ex->kube, path, pod, on_created, s);
    json_decref(pod);
    if (s->create == NULL) {
        podrun_reset_slot(s);
        snprintf(why, cap, "cannot send a request to the Kubernetes API");
        return -1;
    }
    ex->creating++;
    return 0;
}

static void on_quota(void *data, const kube_response_t *res)
{
    kube_exec_t *ex = data;
    ex->quota_req = NULL;
    if (ex->stopping) {
        podrun_kick(ex);
        return;
    }
    /* a task pod as it would be created (they differ only in their command): the quota's scopes select it or not,
     * and its requests and limits are what each start counts */
    char name[96];
    json_t *pod = pod_spec_task(ex->cfg, ex->ns, &ex->spec, 0, ex->owner_uid, name, sizeof(name));
    pod_quota_fit_t fit = {0};
    if (res->status != 200 || pod_quota_fit(res->body, pod, WF_MAX_TASKS, &fit) != 0)
        fit.applies = 0; /* not allowed to read the quotas (or no answer): the configured quota */
    json_decref(pod);
    int busy = podrun_busy_count(ex);
    int limited = fit.applies;
    int n = limited ? fit.pods : pod_quota_fit_config(ex->cfg, busy, WF_MAX_TASKS);
    if (fit.applies && fit.unknown && strcmp(fit.why, ex->quota_warned) != 0) {
        log_warn("kube-exec", "run %s: %s", ex->run_id, fit.why); /* once per figure, not once per tick */
        snprintf(ex->quota_warned, sizeof(ex->quota_warned), "%s", fit.why);
    }
    log_debug("kube-exec", "run %s: room for %d pods (quota %s)", ex->run_id, n, limited ? "object" : "config");
    if (n == 0 && ex->again) { /* a task ended meanwhile: its room is not in this answer */
        after_request(ex);
        return;
    }
    if (n == 0) {
        ex->waiting_quota = 1;
        if (ex->quota_since == 0 && busy == 0)
            ex->quota_since = clock_mono_ms();
        if (!limited && busy == 0) {
            snprintf(ex->no_room, sizeof(ex->no_room),
                     "one worker (cpu %s, memory %s) does not fit the quota (QUOTA_CPU %s, QUOTA_MEMORY %s)",
                     ex->cfg->worker_cpu_str, ex->cfg->worker_memory_str, ex->cfg->quota_cpu_str,
                     ex->cfg->quota_memory_str);
            podrun_tell_room(ex);
        } else if (limited) {
            snprintf(ex->quota_detail, sizeof(ex->quota_detail),
                     "no room in the namespace's ResourceQuota for one worker (cpu %s, memory %s): %.250s",
                     ex->cfg->worker_cpu_str, ex->cfg->worker_memory_str, fit.why);
        }
        return;
    }
    ex->waiting_quota = 0;
    ex->quota_since = 0;
    ex->room = n;
    podrun_tell_room(ex);
}

int podrun_room(executor_t *super, char *why, size_t cap)
{
    kube_exec_t *ex = (kube_exec_t *)super;
    if (!ex->active || ex->owner_state != 2 || ex->stopping || ex->ending)
        return 0; /* the owner's creation tells when there is room */
    if (ex->no_room[0]) {
        snprintf(why, cap, "%s", ex->no_room);
        ex->no_room[0] = '\0';
        return -1;
    }
    if (ex->refused)
        return 0; /* the quota's answer was already wrong once: a task's end (or the tick) makes room */
    if (ex->room > 0) { /* one quota answer, one round of starts */
        int n = ex->room;
        ex->room = 0;
        return n;
    }
    if (ex->quota_req || ex->creating > 0) {
        ex->again = 1;
        return 0;
    }
    ex->again = 0;
    char path[256];
    kube_path(path, sizeof(path), "v1", ex->ns, "resourcequotas", NULL, NULL);
    ex->quota_req = kube_get(ex->kube, path, on_quota, ex);
    if (ex->quota_req == NULL) {
        snprintf(why, cap, "cannot send a request to the Kubernetes API");
        return -1;
    }
    return 0;
}
