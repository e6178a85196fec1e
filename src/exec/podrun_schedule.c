/*
 * The pod runner starting tasks: what is ready (wf_next_ready, the same DAG order as the local executor) and fits
 * what is free: the namespace's ResourceQuota (hard - used) when there is one, else QUOTA_CPU/QUOTA_MEMORY minus the
 * run's own pods. A create refused with 403 "exceeded quota" waits for a task to end.
 */
#include <stdio.h>
#include <string.h>

#include "exec/pod_spec.h"
#include "exec/podrun_internal.h"
#include "util/clock.h"
#include "util/log.h"

/* ---- starting tasks within the quota ---------------------------------------------------------------------------- */

void podrun_fail_task(kube_exec_t *ex, int task, const char *detail)
{
    if (task < 0 || task >= wf_task_count(ex->spec.batches))
        return;
    pod_slot_t *s = &ex->slots[task];
    podrun_conclude(ex, s, TASK_FAILED, detail); /* the orchestrator answers with stop() */
}

static void on_created(void *data, const kube_response_t *res)
{
    pod_slot_t *s = data;
    kube_exec_t *ex = s->owner;
    s->create = NULL;
    ex->creating--;
    if (res->status == 201 || res->status == 200 || res->status == 409) {
        s->exists = 1;
        if (s->pending_since == 0 && s->phase == POD_PENDING)
            s->pending_since = clock_mono_ms();
    } else if (res->status == 403 && res->message && strstr(res->message, "exceeded quota")) {
        log_info("kube-exec", "run %s: pod %s waits for room in the quota: %s", ex->run_id, s->name, res->message);
        ex->sched[s->task] = TASK_PENDING; /* started again once a task ends */
        ex->waiting_quota = 1;
        snprintf(ex->quota_detail, sizeof(ex->quota_detail), "%.250s", res->message);
        s->name[0] = '\0';
    } else if (!ex->stopping) {
        char detail[900];
        snprintf(detail, sizeof(detail), "cannot create pod %s: HTTP %ld%s%s: %s", s->name, res->status,
                 res->reason && res->reason[0] ? " " : "", res->reason ? res->reason : "",
                 res->message ? res->message : "no answer");
        podrun_fail_task(ex, s->task, detail);
    }
    podrun_kick(ex);
}

int podrun_running_count(const kube_exec_t *ex)
{
    int n = 0;
    for (int t = 0; t < wf_task_count(ex->spec.batches); t++)
        n += ex->sched[t] == TASK_RUNNING;
    return n;
}

static void start_pods(kube_exec_t *ex, int n)
{
    int next;
    while (n-- > 0 && (next = wf_next_ready(ex->spec.batches, ex->sched)) >= 0) {
        pod_slot_t *s = &ex->slots[next];
        json_t *pod = pod_spec_task(ex->cfg, ex->ns, &ex->spec, next, ex->owner_uid, s->name, sizeof(s->name));
        char path[256];
        kube_path(path, sizeof(path), "v1", ex->ns, "pods", NULL, NULL);
        ex->sched[next] = TASK_RUNNING;
        s->phase = POD_PENDING;
        s->exit_code = -1;
        s->reason[0] = '\0';
        s->pending_since = s->ended_at = 0;
        s->tail_count = 0;
        s->logs_ended = 0;
        s->create = kube_create(ex->kube, path, pod, on_created, s);
        json_decref(pod);
        if (s->create == NULL) {
            ex->sched[next] = TASK_PENDING;
            return;
        }
        ex->creating++;
    }
}

static void on_quota(void *data, const kube_response_t *res)
{
    kube_exec_t *ex = data;
    ex->quota_req = NULL;
    if (ex->stopping) {
        podrun_kick(ex);
        return;
    }
    pod_room_t room;
    int limited = res->status == 200 ? pod_spec_room(res->body, &room) : 0;
    if (limited <= 0) { /* no ResourceQuota (or not allowed to read it): the configured quota */
        int running = podrun_running_count(ex);
        room.cpu = ex->cfg->quota_cpu - running * ex->cfg->worker_cpu;
        room.memory_gi = ex->cfg->quota_memory_gi - running * ex->cfg->worker_memory_gi;
        room.pods = -1;
    }
    int n = pod_spec_fit(&room, ex->cfg->worker_cpu, ex->cfg->worker_memory_gi, WF_MAX_TASKS);
    if (n == 0 && ex->again) { /* a task ended meanwhile: its room is not in this answer */
        podrun_kick(ex);
        return;
    }
    log_debug("kube-exec", "run %s: room for %d pods (quota %s)", ex->run_id, n, limited > 0 ? "object" : "config");
    if (n == 0) {
        ex->waiting_quota = 1;
        if (ex->quota_since == 0 && podrun_running_count(ex) == 0)
            ex->quota_since = clock_mono_ms();
        if (limited <= 0 && podrun_running_count(ex) == 0) {
            char detail[400];
            snprintf(detail, sizeof(detail),
                     "one worker (cpu %s, memory %s) does not fit the quota (QUOTA_CPU %s, QUOTA_MEMORY %s)",
                     ex->cfg->worker_cpu_str, ex->cfg->worker_memory_str, ex->cfg->quota_cpu_str,
                     ex->cfg->quota_memory_str);
            podrun_fail_task(ex, wf_next_ready(ex->spec.batches, ex->sched), detail);
        } else if (limited > 0) {
            snprintf(ex->quota_detail, sizeof(ex->quota_detail),
                     "no room in the namespace's ResourceQuota for one worker (cpu %s, memory %s)",
                     ex->cfg->worker_cpu_str, ex->cfg->worker_memory_str);
        }
        return;
    }
    ex->waiting_quota = 0;
    ex->quota_since = 0;
    start_pods(ex, n);
}

/* Starts what is ready and fits: asks the quota first, one round at a time. */
void podrun_schedule(kube_exec_t *ex)
{
    if (ex->owner_state != 2)
        return;
    if (ex->quota_req || ex->creating > 0) {
        ex->again = 1;
        return;
    }
    ex->again = 0;
    if (wf_next_ready(ex->spec.batches, ex->sched) < 0)
        return;
    char path[256];
    kube_path(path, sizeof(path), "v1", ex->ns, "resourcequotas", NULL, NULL);
    ex->quota_req = kube_get(ex->kube, path, on_quota, ex);
}
