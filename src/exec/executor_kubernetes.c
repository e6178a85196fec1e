/*
 * The pod runner (EXECUTOR=kubernetes): a task runner whose tasks are pods; the orchestrator's scheduler gives it
 * the tasks and asks it for room.
 *
 * A run starts by creating its owner object, the ConfigMap pipeline-run-<run_id> (pod_spec.c); every pod has an
 * ownerReference to it, so deleting it with propagationPolicy=Background removes the whole run. Before each start
 * the namespace's ResourceQuota says what is free (hard - used), else QUOTA_CPU/QUOTA_MEMORY minus the run's own
 * pods: only tasks that fit start, and a create refused with 403 "exceeded quota" waits for a task to end (waves).
 * One watch of the run's pods (label pipeline/run-id) follows them: Running starts the task and its log
 * (timestamps), Succeeded/Failed ends it with the container's exit code, Pending past POD_START_TIMEOUT_SECONDS
 * fails it. Requests start from the kick timer only, never inside a watch, log or request callback.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/pod_spec.h"
#include "exec/podrun_internal.h"
#include "util/clock.h"
#include "util/log.h"

static void on_kick(uv_timer_t *t);
static void on_adopt_synced(void *data);
static void create_owner(kube_exec_t *ex);

void podrun_kick(kube_exec_t *ex)
{
    if (ex->active && !ex->ending)
        uv_timer_start(&ex->kick_timer, on_kick, 0, 0);
}

void podrun_tell_room(kube_exec_t *ex)
{
    ex->tell_room = 1;
    podrun_kick(ex);
}

/* ---- the end ---------------------------------------------------------------------------------------------------- */

static void fire_done(uv_timer_t *t)
{
    kube_exec_t *ex = t->data;
    ex->active = 0;
    ex->super.listener.done(ex->super.listener.data, ex->done_ok, ex->done_ok ? NULL : ex->done_detail);
}

void podrun_forget_logs(pod_slot_t *s)
{
    if (s->logs)
        kube_logs_stop(s->logs);
    s->logs = NULL;
}

static void finish(kube_exec_t *ex, int ok, const char *detail)
{
    if (ex->ending)
        return;
    ex->ending = 1;
    ex->done_ok = ok;
    snprintf(ex->done_detail, sizeof(ex->done_detail), "%s", detail ? detail : "");
    if (ex->watch)
        kube_watch_stop(ex->watch);
    ex->watch = NULL;
    kube_request_t **reqs[] = {&ex->owner_req, &ex->quota_req};
    for (size_t i = 0; i < 2; i++)
        if (*reqs[i]) {
            kube_request_cancel(*reqs[i]);
            *reqs[i] = NULL;
        }
    const exec_listener_t *l = &ex->super.listener;
    for (int t = 0; t < WF_MAX_TASKS; t++) {
        pod_slot_t *s = &ex->slots[t];
        podrun_forget_logs(s);
        if (s->create)
            kube_request_cancel(s->create);
        s->create = NULL;
        if (t < wf_task_count(ex->spec.batches) && s->started && !s->concluded) {
            s->concluded = 1;
            l->task_finished(l->data, t, TASK_CANCELLED, NULL);
        }
    }
    uv_timer_stop(&ex->tick_timer);
    uv_timer_stop(&ex->stop_timer);
    uv_timer_stop(&ex->kick_timer);
    uv_timer_start(&ex->done_timer, fire_done, 0, 0);
}

/* ---- stop ------------------------------------------------------------------------------------------------------- */

static void on_owner_deleted(void *data, const kube_response_t *res)
{
    kube_exec_t *ex = data;
    ex->owner_req = NULL;
    ex->owner_state = 4;
    if (res->status >= 300 && res->status != 404)
        log_warn("kube-exec", "run %s: deleting ConfigMap %s: HTTP %ld: %s", ex->run_id, ex->owner_name, res->status,
                 res->message ? res->message : "no answer");
    podrun_kick(ex);
}

static void forget_delete(podrun_delete_t *d)
{
    kube_exec_t *ex = d->ex;
    if (d->prev)
        d->prev->next = d->next;
    else
        ex->deletes = d->next;
    if (d->next)
        d->next->prev = d->prev;
    free(d);
}

static void on_pod_deleted(void *data, const kube_response_t *res)
{
    podrun_delete_t *d = data;
    kube_exec_t *ex = d->ex;
    unsigned gen = d->gen;
    int task = d->task;
    forget_delete(d);
    if (gen != ex->gen || !ex->active || ex->ending) {
        log_debug("kube-exec", "the answer (HTTP %ld) to a pod DELETE of an ended run is ignored", res->status);
        return;
    }
    if (res->status == 404)
        ex->slots[task].exists = 0;
    podrun_kick(ex);
}

/* Sends the DELETE of a task's pod; its answer is not awaited: the watch says when the pod is gone. */
static int delete_pod(kube_exec_t *ex, pod_slot_t *s)
{
    char path[256];
    kube_path(path, sizeof(path), "v1", ex->ns, "pods", s->name, NULL);
    podrun_delete_t *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return 0;
    *d = (podrun_delete_t){.ex = ex, .gen = ex->gen, .task = s->task, .next = ex->deletes};
    d->req = kube_delete(ex->kube, path, "Background", on_pod_deleted, d);
    if (d->req == NULL) {
        free(d);
        return 0;
    }
    if (ex->deletes)
        ex->deletes->prev = d;
    ex->deletes = d;
    return 1;
}

static void delete_owner(kube_exec_t *ex)
{
    if (ex->owner_state != 2 || ex->owner_req)
        return;
    char path[256];
    kube_path(path, sizeof(path), "v1", ex->ns, "configmaps", ex->owner_name, NULL);
    ex->owner_req = kube_delete(ex->kube, path, "Background", on_owner_deleted, ex);
    if (ex->owner_req)
        ex->owner_state = 3;
}

static int pods_left(const kube_exec_t *ex)
{
    int n = 0;
    for (int t = 0; t < wf_task_count(ex->spec.batches); t++)
        n += ex->slots[t].exists || ex->slots[t].create;
    return n;
}

static void stop_step(kube_exec_t *ex)
{
    if (ex->owner_state == 1) /* the owner's create answers first */
        return;
    delete_owner(ex);
    for (int t = 0; t < wf_task_count(ex->spec.batches); t++) {
        pod_slot_t *s = &ex->slots[t];
        podrun_forget_logs(s);
        if (s->exists && !s->delete_sent)
            s->delete_sent = delete_pod(ex, s);
    }
    if (ex->owner_state != 3 && pods_left(ex) == 0 && ex->quota_req == NULL)
        finish(ex, 0, "stopped");
}

static void on_stop_bound(uv_timer_t *t)
{
    kube_exec_t *ex = t->data;
    log_warn("kube-exec", "run %s: %d pod(s) still there after %d s; giving up waiting", ex->run_id, pods_left(ex),
             PODRUN_STOP_BOUND_MS / 1000);
    finish(ex, 0, "stopped");
}

static void begin_stop(kube_exec_t *ex)
{
    if (ex->stopping || ex->ending)
        return;
    ex->stopping = 1;
    uv_timer_start(&ex->stop_timer, on_stop_bound, PODRUN_STOP_BOUND_MS, 0);
    podrun_kick(ex);
}

/* ---- the loop's steps ------------------------------------------------------------------------------------------- */

static void on_kick(uv_timer_t *t)
{
    kube_exec_t *ex = t->data;
    if (ex->ending)
        return;
    if (ex->stopping) {
        stop_step(ex);
    } else if (ex->recreate_owner) {
        ex->recreate_owner = 0;
        create_owner(ex);
    } else if (ex->completing) {
        if (ex->owner_state == 2)
            delete_owner(ex); /* the pods go with it; the results stay on the work volume */
        else if (ex->owner_state == 4)
            finish(ex, 1, NULL);
    } else if (ex->tell_room) {
        ex->tell_room = 0;
        ex->super.listener.room(ex->super.listener.data);
    }
}

/* Every task succeeded: the owner ConfigMap goes, then done(). */
static void kube_complete(executor_t *super)
{
    kube_exec_t *ex = (kube_exec_t *)super;
    if (!ex->active || ex->stopping || ex->ending)
        return;
    ex->completing = 1;
    podrun_kick(ex);
}

static void on_tick(uv_timer_t *t)
{
    kube_exec_t *ex = t->data;
    if (ex->ending || ex->stopping)
        return;
    int64_t now = clock_mono_ms();
    for (int i = 0; i < wf_task_count(ex->spec.batches); i++) {
        pod_slot_t *s = &ex->slots[i];
        if (s->concluded)
            continue;
        if (s->ended_at && now - s->ended_at > PODRUN_DRAIN_BOUND_MS) {
            podrun_conclude_pod(ex, s); /* its log did not end: the pod's state is what counts */
            return;
        }
        if (s->exists && s->phase == POD_PENDING && s->pending_since &&
            (double)(now - s->pending_since) / 1000.0 >= ex->cfg->pod_start_timeout_seconds) {
            char why[900];
            snprintf(why, sizeof(why), "pod %s stuck Pending for over %g s: %s", s->name,
                     ex->cfg->pod_start_timeout_seconds, s->reason[0] ? s->reason : "no reason given");
            podrun_fail_task(ex, i, why);
            return;
        }
    }
    if (ex->waiting_quota && podrun_busy_count(ex) == 0) {
        ex->refused = 0;
        if (ex->quota_since && (double)(now - ex->quota_since) / 1000.0 >= ex->cfg->pod_start_timeout_seconds)
            snprintf(ex->no_room, sizeof(ex->no_room), "no room to start a pod for over %g s: %s",
                     ex->cfg->pod_start_timeout_seconds, ex->quota_detail); /* the next task fails with it */
        podrun_tell_room(ex); /* nothing of the run will end to free room: ask the quota again */
    }
}

/* ---- start ------------------------------------------------------------------------------------------------------ */

/* The run's owner ConfigMap is there: its pods are watched, and the scheduler may give tasks. */
static void owner_ready(kube_exec_t *ex, const char *uid, void (*synced)(void *data))
{
    snprintf(ex->owner_uid, sizeof(ex->owner_uid), "%s", uid);
    ex->owner_state = 2;
    char selector[128];
    snprintf(selector, sizeof(selector), POD_RUN_LABEL "=%s", ex->run_id);
    kube_watch_opts_t opts = {.api_version = "v1", .resource = "pods", .label_selector = selector};
    kube_watch_callbacks_t cbs = {
        .data = ex, .event = podrun_on_pod_event, .synced = synced, .error = podrun_on_watch_error};
    ex->watch = kube_watch_start(ex->kube, &opts, &cbs);
    uv_timer_start(&ex->tick_timer, on_tick, PODRUN_TICK_MS, PODRUN_TICK_MS);
    podrun_tell_room(ex);
}

static void on_owner_created(void *data, const kube_response_t *res)
{
    kube_exec_t *ex = data;
    ex->owner_req = NULL;
    const char *uid = json_string_value(json_object_get(json_object_get(res->body, "metadata"), "uid"));
    if ((res->status != 201 && res->status != 200) || uid == NULL) {
        ex->owner_state = 0;
        char detail[900];
        snprintf(detail, sizeof(detail), "cannot create ConfigMap %s: HTTP %ld%s%s: %s", ex->owner_name, res->status,
                 res->reason && res->reason[0] ? " " : "", res->reason ? res->reason : "",
                 res->message ? res->message : "no answer");
        finish(ex, 0, detail);
        return;
    }
    owner_ready(ex, uid, ex->adopting ? on_adopt_synced : NULL);
}

/* Creates the run's owner ConfigMap; its answer starts the pod watch. */
static void create_owner(kube_exec_t *ex)
{
    json_t *cm = pod_spec_owner(ex->ns, &ex->spec);
    char path[256];
    kube_path(path, sizeof(path), "v1", ex->ns, "configmaps", NULL, NULL);
    ex->owner_req = kube_create(ex->kube, path, cm, on_owner_created, ex);
    json_decref(cm);
    if (ex->owner_req == NULL) {
        finish(ex, 0, "cannot send a request to the Kubernetes API");
        return;
    }
    ex->owner_state = 1;
}

static void on_first_kick(uv_timer_t *t)
{
    kube_exec_t *ex = t->data;
    if (ex->stopping) {
        finish(ex, 0, "stopped");
        return;
    }
    create_owner(ex);
}

static int kube_start(executor_t *super, const exec_spec_t *spec)
{
    kube_exec_t *ex = (kube_exec_t *)super;
    if (ex->active)
        return -EBUSY;
    ex->spec = *spec;
    snprintf(ex->run_id, sizeof(ex->run_id), "%s", spec->run_id);
    ex->spec.run_id = ex->run_id;
    ex->spec.work_dir = ex->spec.results_dir = NULL; /* the pods' paths are on the work volume */
    snprintf(ex->owner_name, sizeof(ex->owner_name), POD_RUN_PREFIX "%s", spec->run_id);
    ex->owner_uid[0] = '\0';
    for (int t = 0; t < WF_MAX_TASKS; t++)
        ex->slots[t] = (pod_slot_t){.owner = ex, .task = t, .exit_code = -1};
    ex->owner_state = ex->creating = ex->waiting_quota = ex->room = ex->again = ex->tell_room = ex->refused = 0;
    ex->adopting = ex->recreate_owner = 0;
    ex->no_room[0] = ex->quota_warned[0] = '\0';
    ex->quota_since = 0;
    ex->stopping = ex->completing = ex->ending = 0;
    ex->gen++; /* answers to what an earlier run sent are not this run's */
    ex->active = 1;
    uv_timer_start(&ex->kick_timer, on_first_kick, 0, 0);
    return 0;
}

/* Taken over: the watch's first list is in; a task the run's record shows running without a pod runs again. */
static void on_adopt_synced(void *data)
{
    kube_exec_t *ex = data;
    for (int t = 0; t < wf_task_count(ex->spec.batches); t++) {
        pod_slot_t *s = &ex->slots[t];
        if (s->given && !s->seen && !s->create && !s->concluded) {
            log_info("kube-exec", "run %s: pod %s is gone; starting it again", ex->run_id, s->name);
            podrun_reset_slot(s);
            ex->super.listener.task_requeued(ex->super.listener.data, t);
        }
    }
    podrun_tell_room(ex);
}

static void on_owner_found(void *data, const kube_response_t *res)
{
    kube_exec_t *ex = data;
    ex->owner_req = NULL;
    const char *uid = json_string_value(json_object_get(json_object_get(res->body, "metadata"), "uid"));
    if (res->status == 404 && !ex->stopping) {
        /* its replica deleted it as the run ended (every task done) or died before it existed: the run's record
         * says what is left, so a new owner carries on (the old one's pods went with it) */
        log_info("kube-exec", "run %s: ConfigMap %s is gone; creating it again", ex->run_id, ex->owner_name);
        ex->owner_state = 0;
        ex->recreate_owner = 1;
        podrun_kick(ex);
        return;
    }
    if (res->status != 200 || uid == NULL) {
        char detail[900];
        snprintf(detail, sizeof(detail), "cannot find ConfigMap %s of the run: HTTP %ld: %s", ex->owner_name,
                 res->status, res->message ? res->message : "no answer");
        finish(ex, 0, detail);
        return;
    }
    owner_ready(ex, uid, on_adopt_synced); /* a pending task's pod made just before the owner died: 409, adopted */
}

static void on_find_kick(uv_timer_t *t)
{
    kube_exec_t *ex = t->data;
    char path[256];
    kube_path(path, sizeof(path), "v1", ex->ns, "configmaps", ex->owner_name, NULL);
    ex->owner_req = kube_get(ex->kube, path, on_owner_found, ex);
    if (ex->owner_req == NULL)
        finish(ex, 0, "cannot send a request to the Kubernetes API");
    else
        ex->owner_state = 1;
}

/* A replica died during the run: its pods (found by the run's label) are adopted, the rest is scheduled here. */
static int kube_reattach(executor_t *super, const exec_spec_t *spec, const exec_resume_t *resume)
{
    kube_exec_t *ex = (kube_exec_t *)super;
    int rc = kube_start(super, spec);
    if (rc != 0)
        return rc;
    ex->adopting = 1;
    for (int t = 0; t < wf_task_count(spec->batches); t++) {
        pod_slot_t *s = &ex->slots[t];
        wf_task_state_t st = resume->states[t];
        s->since_ms = resume->log_since_ms[t];
        s->since_count = resume->log_since_count[t];
        if (wf_task_done(st)) {
            s->given = s->started = s->concluded = 1;
        } else if (st == TASK_RUNNING || st == TASK_STARTING) { /* its pod is adopted by name, else started again */
            s->given = 1;
            s->started = st == TASK_RUNNING;
            pod_spec_name(&ex->spec, t, s->name, sizeof(s->name));
        } else if (st == TASK_FAILED || st == TASK_CANCELLED) {
            ex->stopping = 1; /* the run was ending: what is left goes */
        }
    }
    uv_timer_start(&ex->kick_timer, on_find_kick, 0, 0);
    return 0;
}

static void kube_stop(executor_t *super)
{
    kube_exec_t *ex = (kube_exec_t *)super;
    if (ex->active && !ex->ending)
        begin_stop(ex);
}

static void on_closed(uv_handle_t *h)
{
    kube_exec_t *ex = h->data;
    if (--ex->closing_handles == 0)
        free(ex);
}

static void kube_destroy(executor_t *super)
{
    kube_exec_t *ex = (kube_exec_t *)super;
    while (ex->deletes) {
        kube_request_cancel(ex->deletes->req);
        forget_delete(ex->deletes);
    }
    uv_timer_t *timers[] = {&ex->kick_timer, &ex->tick_timer, &ex->stop_timer, &ex->done_timer};
    ex->closing_handles = 4;
    for (int i = 0; i < 4; i++)
        uv_close((uv_handle_t *)timers[i], on_closed);
}

static void on_abandoned(void *data, const kube_response_t *res)
{
    (void)data;
    if ((res->status == 0 || res->status >= 300) && res->status != 404)
        log_warn("kube-exec", "cannot delete what an ended run left: HTTP %ld: %s", res->status,
                 res->message ? res->message : "no answer");
}

/* The run ended elsewhere (its replica died and it was ended as failed): its ConfigMap goes, and its pods with it. */
static void kube_abandon(executor_t *super, const char *run_id)
{
    kube_exec_t *ex = (kube_exec_t *)super;
    char name[96], path[300];
    log_info("kube-exec", "run %s ended without its replica: deleting its pods", run_id);
    snprintf(name, sizeof(name), POD_RUN_PREFIX "%s", run_id);
    if (kube_path(path, sizeof(path), "v1", ex->ns, "configmaps", name, NULL) == 0)
        kube_delete(ex->kube, path, "Background", on_abandoned, NULL);
}

/* A handover: the run's pods and ConfigMap stay for the replica that takes it over; only following them ends. */
static int kube_release(executor_t *super)
{
    kube_exec_t *ex = (kube_exec_t *)super;
    if (!ex->active || ex->ending || ex->stopping || ex->completing || ex->owner_state != 2)
        return -1;
    log_info("kube-exec", "run %s: left to another replica; its pods stay", ex->run_id);
    finish(ex, 0, "released");
    return 0;
}

static const executor_ops_t kube_ops = {
    .name = "kubernetes",
    .start = kube_start,
    .stop = kube_stop,
    .destroy = kube_destroy,
    .reattach = kube_reattach,
    .abandon = kube_abandon,
    .release = kube_release,
    .room = podrun_room,
    .run_task = podrun_run_task,
    .complete = kube_complete,
};

executor_t *executor_kubernetes_create(uv_loop_t *loop, const config_t *cfg, struct kube_client *kube,
                                       const exec_listener_t *listener)
{
    kube_exec_t *ex = calloc(1, sizeof(*ex));
    if (ex == NULL)
        abort();
    ex->super.ops = &kube_ops;
    ex->super.listener = *listener;
    ex->loop = loop;
    ex->cfg = cfg;
    ex->kube = kube;
    snprintf(ex->ns, sizeof(ex->ns), "%s", kube_client_namespace(kube));
    executor_results_on_volume(&ex->super, cfg, ex->results_root, sizeof(ex->results_root));
    uv_timer_t *timers[] = {&ex->kick_timer, &ex->tick_timer, &ex->stop_timer, &ex->done_timer};
    for (int i = 0; i < 4; i++) {
        uv_timer_init(loop, timers[i]);
        timers[i]->data = ex;
    }
    return &ex->super;
}
