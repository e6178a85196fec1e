/*
 * A task's cost as its pod tells it, for both pod executors: when the pod was created, the task's container started
 * and finished (the kubelet's times, whole seconds), its exit code, the pod's name and node; and the usage line
 * pipeline-task writes last (util/usage_line.h), which arrives in the pod's log and is never shown as a log line.
 */
#ifndef EXEC_POD_COST_H
#define EXEC_POD_COST_H

#include <jansson.h>
#include <stddef.h>

#include "exec/executor.h"
#include "model/run_cost.h"

/** What `pod` (a Pod object) says, into `c` (run_cost_init first; unknown stays unknown). `created`: its
 *  creationTimestamp is the task's submission (a workflow engine submitted it; the service knows no earlier time). */
void pod_cost_read(json_t *pod, int created, run_cost_t *c);

/** 1 when the log line of `task` (its own time dropped) is the usage line: its figures go to the listener's
 *  task_cost, and the line is not to be shown. */
int pod_cost_take_usage_line(const exec_listener_t *l, int task, const char *line, size_t len);

#endif
