#include "exec/pod_status.h"

#include <stdio.h>
#include <string.h>

static void reason_message(json_t *obj, char *out, size_t cap)
{
    const char *reason = json_string_value(json_object_get(obj, "reason"));
    const char *message = json_string_value(json_object_get(obj, "message"));
    snprintf(out, cap, "%s%s%s", reason ? reason : "", reason && message ? ": " : "", message ? message : "");
}

/* An init container that keeps the pod from starting or failed it: 1 with `out` filled, else 0. */
static int init_cause(json_t *status, int *exit_code, char *out, size_t cap)
{
    json_t *cs;
    size_t i;
    json_array_foreach(json_object_get(status, "initContainerStatuses"), i, cs)
    {
        json_t *state = json_object_get(cs, "state");
        json_t *term = json_object_get(state, "terminated"), *waiting = json_object_get(state, "waiting");
        const char *name = json_string_value(json_object_get(cs, "name"));
        char what[400];
        if (term && json_integer_value(json_object_get(term, "exitCode")) != 0) {
            *exit_code = (int)json_integer_value(json_object_get(term, "exitCode"));
            reason_message(term, what, sizeof(what));
        } else if (waiting && json_string_value(json_object_get(waiting, "reason")) &&
                   strcmp(json_string_value(json_object_get(waiting, "reason")), "PodInitializing") != 0) {
            reason_message(waiting, what, sizeof(what));
        } else {
            continue;
        }
        snprintf(out, cap, "init container %s: %s", name ? name : "?", what);
        return 1;
    }
    return 0;
}

void pod_status_describe(json_t *status, int *exit_code, char *out, size_t cap)
{
    *exit_code = -1;
    out[0] = '\0';
    if (init_cause(status, exit_code, out, cap))
        return;
    json_t *cs = json_array_get(json_object_get(status, "containerStatuses"), 0);
    json_t *state = json_object_get(cs, "state");
    json_t *term = json_object_get(state, "terminated"), *waiting = json_object_get(state, "waiting");
    if (term) {
        *exit_code = (int)json_integer_value(json_object_get(term, "exitCode"));
        reason_message(term, out, cap);
    } else if (waiting && json_object_get(waiting, "reason")) {
        reason_message(waiting, out, cap);
    } else {
        json_t *c;
        size_t i;
        json_array_foreach(json_object_get(status, "conditions"), i, c)
        {
            const char *s = json_string_value(json_object_get(c, "status"));
            if (s && strcmp(s, "False") == 0 && json_object_get(c, "reason")) {
                reason_message(c, out, cap); /* PodScheduled False: Unschedulable */
                break;
            }
        }
    }
    if (out[0] == '\0')
        reason_message(status, out, cap); /* Failed pods: Evicted, DeadlineExceeded */
}

void pod_status_keep_pull_error(char *memory, size_t mcap, char *reason, size_t rcap)
{
    if (strstr(reason, "ErrImagePull") != NULL) {
        snprintf(memory, mcap, "%s", reason);
    } else if (memory[0] != '\0' && strstr(reason, "ImagePullBackOff") != NULL) {
        char backoff[256];
        snprintf(backoff, sizeof(backoff), "%s", reason);
        snprintf(reason, rcap, "%s (last pull: %s)", backoff, memory);
    }
}
