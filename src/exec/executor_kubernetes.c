/*
 * The pod runner (EXECUTOR=kubernetes): the service schedules the DAG itself and runs every task as a pod.
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

#include "exec/executor.h"
#include "exec/nextflow_job.h"
#include "exec/nextflow_log.h"
#include "exec/pod_spec.h"
#include "kube/kube.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/text.h"

#define KUBE_STOP_BOUND_MS  45000 /* a stop answers by then even if pods are still there */
#define KUBE_DRAIN_BOUND_MS 5000  /* an ended pod, then this long for the rest of its log */
#define KUBE_TICK_MS        1000  /* pending checks, quota retries, log bounds */
#define KUBE_TAIL_LINES     3     /* last output lines kept for a failure message */

typedef struct kube_exec kube_exec_t;

typedef struct pod_slot {
    kube_exec_t *owner;
    int task;
    char name[96];
    kube_request_t *create; /* in flight */
    int exists;             /* created (or seen) and not seen deleted */
    int delete_sent, started, concluded;
    nextflow_pod_phase_t phase;
    int exit_code;
    char reason[512];
    int64_t pending_since, ended_at; /* monotonic ms, 0: not so */
    kube_logs_t *logs;
    int64_t since_ms; /* taken over: its output up to this time was sent (0: none) */
    int seen;         /* the watch has reported it */
    int logs_ended;
    char tail[KUBE_TAIL_LINES][200];
    int tail_count;
} pod_slot_t;

struct kube_exec {
    executor_t super;
    uv_loop_t *loop;
    const config_t *cfg;
    kube_client_t *kube;
    char ns[64];
    char results_root[1100];
    /* the current run */
    int active, stopping, ending;
    exec_spec_t spec;
    char run_id[32], owner_name[96], owner_uid[128];
    int owner_state; /* 0 none, 1 creating, 2 created, 3 delete sent, 4 deleted */
    kube_request_t *owner_req, *quota_req;
    kube_watch_t *watch;
    wf_task_state_t sched[WF_MAX_TASKS]; /* the scheduler's view: RUNNING from the create on */
    pod_slot_t slots[WF_MAX_TASKS];
    int creating, waiting_quota; /* creates in flight; a start waits for room */
    int again;                   /* something changed during a round: schedule once more after it */
    int adopting;                /* taken over from a dead replica: the run's pods are adopted by name */
    int64_t quota_since;         /* monotonic ms since nothing of the run runs and nothing fits */
    char quota_detail[256];
    uv_timer_t kick_timer, tick_timer, stop_timer, done_timer;
    int done_ok;
    char done_detail[1200];
    int closing_handles;
};

static void on_kick(uv_timer_t *t);

/* The next step runs from the loop: requests never start inside a watch, log or request callback. */
static void kick(kube_exec_t *ex)
{
    if (ex->active && !ex->ending)
        uv_timer_start(&ex->kick_timer, on_kick, 0, 0);
}

/* ---- the end ---------------------------------------------------------------------------------------------------- */

static void fire_done(uv_timer_t *t)
{
    kube_exec_t *ex = t->data;
    ex->active = 0;
    ex->super.listener.done(ex->super.listener.data, ex->done_ok, ex->done_ok ? NULL : ex->done_detail);
}

static void forget_logs(pod_slot_t *s)
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
        forget_logs(s);
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

/* ---- tasks ------------------------------------------------------------------------------------------------------ */

static void report_started(kube_exec_t *ex, pod_slot_t *s)
{
    if (s->started)
        return;
    s->started = 1;
    ex->super.listener.task_started(ex->super.listener.data, s->task);
}

/* The task is over: its state to the listener, once. */
static void conclude(kube_exec_t *ex, pod_slot_t *s, wf_task_state_t state, const char *detail)
{
    if (s->concluded || ex->ending)
        return;
    report_started(ex, s);
    s->concluded = 1;
    ex->sched[s->task] = state;
    forget_logs(s);
    ex->super.listener.task_finished(ex->super.listener.data, s->task, state, detail);
    kick(ex);
}

static void conclude_pod(kube_exec_t *ex, pod_slot_t *s)
{
    if (s->phase == POD_SUCCEEDED) {
        conclude(ex, s, TASK_SUCCEEDED, NULL);
        return;
    }
    char detail[1500], lines[700] = "";
    size_t n = 0;
    for (int i = 0; i < s->tail_count && n < sizeof(lines); i++)
        n += (size_t)snprintf(lines + n, sizeof(lines) - n, "%s%s", i ? " | " : "", s->tail[i]);
    if (s->exit_code >= 0)
        snprintf(detail, sizeof(detail), "pod %s exited with code %d%s%s%s%s%s", s->name, s->exit_code,
                 s->reason[0] ? " (" : "", s->reason, s->reason[0] ? ")" : "", lines[0] ? ": " : "", lines);
    else
        snprintf(detail, sizeof(detail), "pod %s failed%s%s%s%s%s", s->name, s->reason[0] ? " (" : "", s->reason,
                 s->reason[0] ? ")" : "", lines[0] ? ": " : "", lines);
    conclude(ex, s, TASK_FAILED, detail);
}

/* ---- logs ------------------------------------------------------------------------------------------------------- */

static void keep_tail(pod_slot_t *s, const char *line, size_t len)
{
    char text[200];
    size_t n = text_sanitize_utf8(text, sizeof(text), line, len);
    if (n == 0)
        return;
    if (s->tail_count == KUBE_TAIL_LINES) {
        memmove(s->tail[0], s->tail[1], sizeof(s->tail[0]) * (KUBE_TAIL_LINES - 1));
        s->tail_count--;
    }
    memcpy(s->tail[s->tail_count++], text, n + 1);
}

static void on_log_line(void *data, const char *ts, const char *line, size_t len)
{
    pod_slot_t *s = data;
    kube_exec_t *ex = s->owner;
    if (ex->ending)
        return;
    int64_t own;
    size_t used;
    if (clock_parse_iso8601_prefix(line, len, &own, &used) == 0) {
        while (used < len && line[used] == ' ')
            used++;
        line += used; /* the task's own time: the kubelet's, in front, is the line's */
        len -= used;
    }
    keep_tail(s, line, len);
    char buf[KUBE_LOG_LINE_MAX + 64];
    size_t tslen = ts ? strlen(ts) : 0, n = 0;
    if (tslen > 48)
        tslen = 0;
    if (len > KUBE_LOG_LINE_MAX)
        len = KUBE_LOG_LINE_MAX;
    if (tslen) {
        memcpy(buf, ts, tslen);
        buf[tslen] = ' ';
        n = tslen + 1;
    }
    memcpy(buf + n, line, len);
    ex->super.listener.task_log(ex->super.listener.data, s->task, 0, buf, n + len);
}

static void on_log_end(void *data, const kube_response_t *res)
{
    pod_slot_t *s = data;
    kube_exec_t *ex = s->owner;
    s->logs_ended = 1;
    if (res->status != 200)
        log_warn("kube-exec", "run %s: the log of pod %s ended: %s", ex->run_id, s->name,
                 res->message ? res->message : "no answer");
    if (s->ended_at && !ex->ending)
        conclude_pod(ex, s);
}

static void follow_logs(kube_exec_t *ex, pod_slot_t *s)
{
    if (s->logs || s->logs_ended || ex->ending || ex->stopping)
        return;
    kube_logs_opts_t opts = {.pod = s->name, .follow = 1, .max_waits = 30};
    char since[CLOCK_RFC3339_LEN + 1];
    if (s->since_ms > 0) {
        clock_format_rfc3339(s->since_ms, since);
        opts.since_time = since;
    }
    kube_logs_callbacks_t cbs = {.data = s, .line = on_log_line, .end = on_log_end};
    s->logs = kube_logs_start(ex->kube, &opts, &cbs);
    if (s->logs == NULL)
        s->logs_ended = 1;
}

/* ---- the watch -------------------------------------------------------------------------------------------------- */

static void on_pod_event(void *data, kube_event_t type, json_t *obj)
{
    kube_exec_t *ex = data;
    nextflow_pod_t pod;
    if (ex->ending || nextflow_pod_read(obj, &pod) != 0)
        return;
    const char *label =
        json_string_value(json_object_get(json_object_get(json_object_get(obj, "metadata"), "labels"), POD_TASK_LABEL));
    int task = label ? nextflow_task_index(ex->spec.batches, label) : -1;
    if (task < 0)
        return;
    pod_slot_t *s = &ex->slots[task];
    if (s->name[0] == '\0' && ex->adopting && ex->sched[task] == TASK_PENDING && !s->concluded) {
        char expected[96]; /* taken over: a pod created just before the owner died */
        pod_spec_name(&ex->spec, task, expected, sizeof(expected));
        if (strcmp(expected, pod.name) == 0 && type != KUBE_DELETED) {
            snprintf(s->name, sizeof(s->name), "%s", pod.name);
            ex->sched[task] = TASK_RUNNING;
        }
    }
    if (strcmp(s->name, pod.name) != 0)
        return; /* not a pod of this run's tasks (or one this executor did not create) */
    s->seen = 1;
    s->phase = pod.phase;
    s->exit_code = pod.exit_code;
    snprintf(s->reason, sizeof(s->reason), "%s", pod.reason);
    json_t *status = json_object_get(obj, "status");
    const char *pod_reason = json_string_value(json_object_get(status, "reason"));
    if (pod.phase == POD_FAILED && pod_reason) { /* the pod's own verdict (DeadlineExceeded, Evicted) comes first */
        const char *msg = json_string_value(json_object_get(status, "message"));
        snprintf(s->reason, sizeof(s->reason), "%.100s%s%.300s", pod_reason, msg ? ": " : "", msg ? msg : "");
    }
    log_debug("kube-exec", "run %s: pod %s: event %d, phase %d", ex->run_id, pod.name, (int)type, (int)pod.phase);
    if (type == KUBE_DELETED) {
        s->exists = 0;
        if (pod.phase == POD_SUCCEEDED || pod.phase == POD_FAILED)
            conclude_pod(ex, s);
        else
            conclude(ex, s, ex->stopping ? TASK_CANCELLED : TASK_FAILED, "its pod was deleted");
        kick(ex);
        return;
    }
    s->exists = 1;
    if (pod.phase != POD_PENDING)
        s->pending_since = 0;
    else if (s->pending_since == 0)
        s->pending_since = clock_mono_ms();
    if (pod.phase == POD_RUNNING) {
        report_started(ex, s);
        follow_logs(ex, s);
    } else if (pod.phase == POD_SUCCEEDED || pod.phase == POD_FAILED) {
        report_started(ex, s);
        follow_logs(ex, s); /* a short task may end before its first look: its log is still there */
        if (s->ended_at == 0)
            s->ended_at = clock_mono_ms();
        if (s->logs_ended)
            conclude_pod(ex, s);
    }
}

static void on_watch_error(void *data, const kube_response_t *res)
{
    kube_exec_t *ex = data;
    log_warn("kube-exec", "run %s: the pod watch could not list (HTTP %ld: %s); retrying", ex->run_id, res->status,
             res->message ? res->message : "no answer");
}

/* ---- starting tasks within the quota ---------------------------------------------------------------------------- */

static void fail_task(kube_exec_t *ex, int task, const char *detail)
{
    if (task < 0 || task >= wf_task_count(ex->spec.batches))
        return;
    pod_slot_t *s = &ex->slots[task];
    conclude(ex, s, TASK_FAILED, detail); /* the orchestrator answers with stop() */
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
        fail_task(ex, s->task, detail);
    }
    kick(ex);
}

static int running_count(const kube_exec_t *ex)
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
        kick(ex);
        return;
    }
    pod_room_t room;
    int limited = res->status == 200 ? pod_spec_room(res->body, &room) : 0;
    if (limited <= 0) { /* no ResourceQuota (or not allowed to read it): the configured quota */
        int running = running_count(ex);
        room.cpu = ex->cfg->quota_cpu - running * ex->cfg->worker_cpu;
        room.memory_gi = ex->cfg->quota_memory_gi - running * ex->cfg->worker_memory_gi;
        room.pods = -1;
    }
    int n = pod_spec_fit(&room, ex->cfg->worker_cpu, ex->cfg->worker_memory_gi, WF_MAX_TASKS);
    if (n == 0 && ex->again) { /* a task ended meanwhile: its room is not in this answer */
        kick(ex);
        return;
    }
    log_debug("kube-exec", "run %s: room for %d pods (quota %s)", ex->run_id, n, limited > 0 ? "object" : "config");
    if (n == 0) {
        ex->waiting_quota = 1;
        if (ex->quota_since == 0 && running_count(ex) == 0)
            ex->quota_since = clock_mono_ms();
        if (limited <= 0 && running_count(ex) == 0) {
            char detail[400];
            snprintf(detail, sizeof(detail),
                     "one worker (cpu %s, memory %s) does not fit the quota (QUOTA_CPU %s, QUOTA_MEMORY %s)",
                     ex->cfg->worker_cpu_str, ex->cfg->worker_memory_str, ex->cfg->quota_cpu_str,
                     ex->cfg->quota_memory_str);
            fail_task(ex, wf_next_ready(ex->spec.batches, ex->sched), detail);
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
static void schedule(kube_exec_t *ex)
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

/* ---- stop ------------------------------------------------------------------------------------------------------- */

static void on_owner_deleted(void *data, const kube_response_t *res)
{
    kube_exec_t *ex = data;
    ex->owner_req = NULL;
    ex->owner_state = 4;
    if (res->status >= 300 && res->status != 404)
        log_warn("kube-exec", "run %s: deleting ConfigMap %s: HTTP %ld: %s", ex->run_id, ex->owner_name, res->status,
                 res->message ? res->message : "no answer");
    kick(ex);
}

static void on_pod_deleted(void *data, const kube_response_t *res)
{
    pod_slot_t *s = data;
    if (res->status == 404)
        s->exists = 0;
    kick(s->owner);
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
        forget_logs(s);
        if (s->exists && !s->delete_sent) {
            char path[256];
            kube_path(path, sizeof(path), "v1", ex->ns, "pods", s->name, NULL);
            /* the answer is not awaited: the watch says when the pod is gone */
            s->delete_sent = kube_delete(ex->kube, path, "Background", on_pod_deleted, s) != NULL;
        }
    }
    if (ex->owner_state != 3 && pods_left(ex) == 0 && ex->quota_req == NULL)
        finish(ex, 0, "stopped");
}

static void on_stop_bound(uv_timer_t *t)
{
    kube_exec_t *ex = t->data;
    log_warn("kube-exec", "run %s: %d pod(s) still there after %d s; giving up waiting", ex->run_id, pods_left(ex),
             KUBE_STOP_BOUND_MS / 1000);
    finish(ex, 0, "stopped");
}

static void begin_stop(kube_exec_t *ex)
{
    if (ex->stopping || ex->ending)
        return;
    ex->stopping = 1;
    uv_timer_start(&ex->stop_timer, on_stop_bound, KUBE_STOP_BOUND_MS, 0);
    kick(ex);
}

/* ---- the loop's steps ------------------------------------------------------------------------------------------- */

static int all_succeeded(const kube_exec_t *ex)
{
    for (int t = 0; t < wf_task_count(ex->spec.batches); t++)
        if (ex->sched[t] != TASK_SUCCEEDED)
            return 0;
    return 1;
}

static void on_kick(uv_timer_t *t)
{
    kube_exec_t *ex = t->data;
    if (ex->ending)
        return;
    if (ex->stopping) {
        stop_step(ex);
        return;
    }
    if (all_succeeded(ex)) {
        if (ex->owner_state == 2)
            delete_owner(ex); /* the pods go with it; the results stay on the work volume */
        else if (ex->owner_state == 4)
            finish(ex, 1, NULL);
        return;
    }
    schedule(ex);
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
        if (s->ended_at && now - s->ended_at > KUBE_DRAIN_BOUND_MS) {
            conclude_pod(ex, s); /* its log did not end: the pod's state is what counts */
            return;
        }
        if (s->exists && s->phase == POD_PENDING && s->pending_since &&
            (double)(now - s->pending_since) / 1000.0 >= ex->cfg->pod_start_timeout_seconds) {
            char why[900];
            snprintf(why, sizeof(why), "pod %s stuck Pending for over %g s: %s", s->name,
                     ex->cfg->pod_start_timeout_seconds, s->reason[0] ? s->reason : "no reason given");
            fail_task(ex, i, why);
            return;
        }
    }
    if (ex->waiting_quota && ex->quota_since && running_count(ex) == 0 &&
        (double)(now - ex->quota_since) / 1000.0 >= ex->cfg->pod_start_timeout_seconds) {
        char why[400];
        snprintf(why, sizeof(why), "no room to start a pod for over %g s: %s", ex->cfg->pod_start_timeout_seconds,
                 ex->quota_detail);
        fail_task(ex, wf_next_ready(ex->spec.batches, ex->sched), why);
        return;
    }
    if (ex->waiting_quota && running_count(ex) == 0)
        kick(ex); /* nothing of the run will end to free room: ask the quota again */
}

/* ---- start ------------------------------------------------------------------------------------------------------ */

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
    snprintf(ex->owner_uid, sizeof(ex->owner_uid), "%s", uid);
    ex->owner_state = 2;
    char selector[128];
    snprintf(selector, sizeof(selector), POD_RUN_LABEL "=%s", ex->run_id);
    kube_watch_opts_t opts = {.api_version = "v1", .resource = "pods", .label_selector = selector};
    kube_watch_callbacks_t cbs = {.data = ex, .event = on_pod_event, .error = on_watch_error};
    ex->watch = kube_watch_start(ex->kube, &opts, &cbs);
    uv_timer_start(&ex->tick_timer, on_tick, KUBE_TICK_MS, KUBE_TICK_MS);
    kick(ex);
}

static void on_first_kick(uv_timer_t *t)
{
    kube_exec_t *ex = t->data;
    if (ex->stopping) {
        finish(ex, 0, "stopped");
        return;
    }
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
    memset(ex->sched, 0, sizeof(ex->sched));
    for (int t = 0; t < WF_MAX_TASKS; t++)
        ex->slots[t] = (pod_slot_t){.owner = ex, .task = t, .exit_code = -1};
    ex->owner_state = ex->creating = ex->waiting_quota = ex->again = ex->adopting = 0;
    ex->quota_since = 0;
    ex->stopping = ex->ending = 0;
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
        if (ex->sched[t] == TASK_RUNNING && !s->seen && !s->create && !s->concluded) {
            log_info("kube-exec", "run %s: pod %s is gone; starting it again", ex->run_id, s->name);
            ex->sched[t] = TASK_PENDING;
            s->name[0] = '\0';
        }
    }
    kick(ex);
}

static void on_owner_found(void *data, const kube_response_t *res)
{
    kube_exec_t *ex = data;
    ex->owner_req = NULL;
    const char *uid = json_string_value(json_object_get(json_object_get(res->body, "metadata"), "uid"));
    if (res->status != 200 || uid == NULL) {
        char detail[900];
        snprintf(detail, sizeof(detail), "cannot find ConfigMap %s of the run: HTTP %ld: %s", ex->owner_name,
                 res->status, res->message ? res->message : "no answer");
        finish(ex, 0, detail);
        return;
    }
    snprintf(ex->owner_uid, sizeof(ex->owner_uid), "%s", uid);
    ex->owner_state = 2;
    char selector[128];
    snprintf(selector, sizeof(selector), POD_RUN_LABEL "=%s", ex->run_id);
    kube_watch_opts_t opts = {.api_version = "v1", .resource = "pods", .label_selector = selector};
    kube_watch_callbacks_t cbs = {
        .data = ex, .event = on_pod_event, .synced = on_adopt_synced, .error = on_watch_error};
    ex->watch = kube_watch_start(ex->kube, &opts, &cbs);
    uv_timer_start(&ex->tick_timer, on_tick, KUBE_TICK_MS, KUBE_TICK_MS);
    kick(ex); /* a pending task's pod created just before the owner died answers 409: it is adopted then */
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
        if (st == TASK_SUCCEEDED) {
            ex->sched[t] = TASK_SUCCEEDED;
            s->started = s->concluded = 1;
        } else if (st == TASK_RUNNING) {
            ex->sched[t] = TASK_RUNNING;
            s->started = 1;
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

static const executor_ops_t kube_ops = {
    .name = "kubernetes",
    .start = kube_start,
    .stop = kube_stop,
    .destroy = kube_destroy,
    .reattach = kube_reattach,
    .abandon = kube_abandon,
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
    if (cfg->work_mount[0]) {
        snprintf(ex->results_root, sizeof(ex->results_root), "%s/results", cfg->work_mount);
        ex->super.results_root = ex->results_root;
    } else {
        ex->super.results_unseen = 1;
    }
    uv_timer_t *timers[] = {&ex->kick_timer, &ex->tick_timer, &ex->stop_timer, &ex->done_timer};
    for (int i = 0; i < 4; i++) {
        uv_timer_init(loop, timers[i]);
        timers[i]->data = ex;
    }
    return &ex->super;
}
