/*
 * The pod runner following its pods: one watch of the run's pods (label pipeline/run-id); Running starts the task
 * and its followed log (the kubelet's timestamp in front of each line), Succeeded/Failed ends it once its log has
 * ended (or after a bound) with the container's exit code, reason and last lines.
 */
#include <stdio.h>
#include <string.h>

#include "exec/nextflow_log.h"
#include "exec/pod_cost.h"
#include "exec/pod_log.h"
#include "exec/pod_spec.h"
#include "exec/pod_status.h"
#include "exec/podrun_internal.h"
#include "util/clock.h"
#include "util/log.h"

/* ---- tasks ------------------------------------------------------------------------------------------------------ */

static void report_started(kube_exec_t *ex, pod_slot_t *s)
{
    if (s->started)
        return;
    s->started = 1;
    ex->super.listener.task_started(ex->super.listener.data, s->task);
}

/* The task is over: its state to the listener, once. */
void podrun_conclude(kube_exec_t *ex, pod_slot_t *s, wf_task_state_t state, const char *detail)
{
    if (s->concluded || ex->ending)
        return;
    report_started(ex, s);
    s->concluded = 1;
    ex->refused = 0; /* its room is free again */
    podrun_forget_logs(s);
    ex->super.listener.task_finished(ex->super.listener.data, s->task, state, detail);
    podrun_kick(ex);
}

void podrun_conclude_lost(kube_exec_t *ex, pod_slot_t *s, const char *detail)
{
    const exec_listener_t *l = &ex->super.listener;
    if (l->task_lost == NULL || ex->stopping) {
        podrun_conclude(ex, s, ex->stopping ? TASK_CANCELLED : TASK_FAILED, detail);
        return;
    }
    if (s->concluded || ex->ending)
        return;
    s->concluded = 1;
    ex->refused = 0;
    podrun_forget_logs(s);
    l->task_lost(l->data, s->task, detail);
    podrun_kick(ex);
}

/* Why a pod ended for a reason outside the task's code (the kubelet or the cluster ended it), or NULL: evicted,
 * its node lost or shut down, killed by SIGKILL (exit code 137: the OOM killer, or someone outside). */
static const char *outside_cause(const pod_slot_t *s)
{
    static const char *const reasons[] = {"Evicted", "NodeLost", "Shutdown", "NodeShutdown", "Terminated",
                                          "Preempting", "OOMKilled", "UnexpectedAdmissionError"};
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (strncmp(s->reason, reasons[i], strlen(reasons[i])) == 0)
            return strcmp(reasons[i], "OOMKilled") == 0 ? "killed by the out-of-memory killer" : "ended by the cluster";
    return s->exit_code == 137 ? "killed by SIGKILL from outside the task (out of memory?)" : NULL;
}

void podrun_conclude_pod(kube_exec_t *ex, pod_slot_t *s)
{
    if (s->phase == POD_SUCCEEDED) {
        podrun_conclude(ex, s, TASK_SUCCEEDED, NULL);
        return;
    }
    char detail[1500], lines[700];
    log_tail_join(&s->tail, lines, sizeof(lines), " | ");
    if (s->exit_code >= 0)
        snprintf(detail, sizeof(detail), "pod %s exited with code %d%s%s%s%s%s", s->name, s->exit_code,
                 s->reason[0] ? " (" : "", s->reason, s->reason[0] ? ")" : "", lines[0] ? ": " : "", lines);
    else
        snprintf(detail, sizeof(detail), "pod %s failed%s%s%s%s%s", s->name, s->reason[0] ? " (" : "", s->reason,
                 s->reason[0] ? ")" : "", lines[0] ? ": " : "", lines);
    const char *cause = outside_cause(s);
    if (cause) {
        char why[1600];
        snprintf(why, sizeof(why), "%s; %s", detail, cause);
        podrun_conclude_lost(ex, s, why);
        return;
    }
    podrun_conclude(ex, s, TASK_FAILED, detail);
}

/* ---- logs ------------------------------------------------------------------------------------------------------- */

static void on_log_line(void *data, const char *ts, const char *line, size_t len)
{
    pod_slot_t *s = data;
    kube_exec_t *ex = s->owner;
    if (ex->ending)
        return;
    pod_log_drop_own_time(&line, &len);
    if (pod_cost_take_usage_line(&ex->super.listener, s->task, line, len))
        return; /* pipeline-task's figures: never a log line */
    log_tail_add(&s->tail, line, len);
    char buf[POD_LOG_LINE_CAP];
    size_t n = pod_log_compose(ts, line, len, buf);
    ex->super.listener.task_log(ex->super.listener.data, s->task, 0, buf, n);
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
        podrun_conclude_pod(ex, s);
}

static void follow_logs(kube_exec_t *ex, pod_slot_t *s)
{
    if (s->logs || s->logs_ended || ex->ending || ex->stopping)
        return;
    kube_logs_callbacks_t cbs = {.data = s, .line = on_log_line, .end = on_log_end};
    s->logs = pod_log_follow(ex->kube, s->name, s->since_ms, s->since_count, 30, &cbs);
    if (s->logs == NULL)
        s->logs_ended = 1;
}

/* ---- the watch -------------------------------------------------------------------------------------------------- */

void podrun_on_pod_event(void *data, kube_event_t type, json_t *obj)
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
    if (s->name[0] == '\0' && ex->adopting && !s->given && !s->concluded) {
        char expected[96]; /* taken over: a pod created just before the owner died */
        pod_spec_name(&ex->spec, task, expected, sizeof(expected));
        if (strcmp(expected, pod.name) == 0 && type != KUBE_DELETED) {
            snprintf(s->name, sizeof(s->name), "%s", pod.name);
            s->given = 1;
        }
    }
    if (strcmp(s->name, pod.name) != 0)
        return; /* not a pod of this run's tasks (or one this executor did not create) */
    s->seen = 1;
    s->phase = pod.phase;
    s->exit_code = pod.exit_code;
    snprintf(s->reason, sizeof(s->reason), "%s", pod.reason);
    pod_status_keep_pull_error(s->pull_error, sizeof(s->pull_error), s->reason, sizeof(s->reason));
    json_t *status = json_object_get(obj, "status");
    const char *pod_reason = json_string_value(json_object_get(status, "reason"));
    if (pod.phase == POD_FAILED && pod_reason) { /* the pod's own verdict (DeadlineExceeded, Evicted) comes first */
        const char *msg = json_string_value(json_object_get(status, "message"));
        snprintf(s->reason, sizeof(s->reason), "%.100s%s%.300s", pod_reason, msg ? ": " : "", msg ? msg : "");
    }
    log_debug("kube-exec", "run %s: pod %s: event %d, phase %d", ex->run_id, pod.name, (int)type, (int)pod.phase);
    if (ex->super.listener.task_cost) { /* its node and times (the service knows when it submitted it) */
        run_cost_t cost;
        run_cost_init(&cost);
        pod_cost_read(obj, 0, &cost);
        ex->super.listener.task_cost(ex->super.listener.data, task, &cost);
    }
    if (type == KUBE_DELETED) {
        s->exists = 0;
        if (pod.phase == POD_SUCCEEDED || pod.phase == POD_FAILED)
            podrun_conclude_pod(ex, s);
        else
            podrun_conclude_lost(ex, s, "its pod was deleted by someone else");
        podrun_kick(ex);
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
            podrun_conclude_pod(ex, s);
    }
}

void podrun_on_watch_error(void *data, const kube_response_t *res)
{
    kube_exec_t *ex = data;
    log_warn("kube-exec", "run %s: the pod watch could not list (HTTP %ld: %s); retrying", ex->run_id, res->status,
             res->message ? res->message : "no answer");
}
