/*
 * A line of a pod's followed log (kube_logs with timestamps) as the cluster executors pass it on: the kubelet's
 * time in front, which the orchestrator takes as the line's time.
 */
#ifndef EXEC_POD_LOG_H
#define EXEC_POD_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "kube/kube.h"

#define POD_LOG_LINE_CAP (KUBE_LOG_LINE_MAX + 64)

/** Follows a pod's log with timestamps, after the first `since_count` lines of millisecond `since_ms` (Unix ms;
 *  0: from its start; a count of 0: after every line of that millisecond); NULL when it cannot. */
kube_logs_t *pod_log_follow(kube_client_t *kube, const char *pod, int64_t since_ms, unsigned since_count,
                            int max_waits, const kube_logs_callbacks_t *cbs);
/** Drops the task's own time at the start of a line (pipeline-task writes one; the kubelet's counts). */
void pod_log_drop_own_time(const char **line, size_t *len);
/** "<ts> <line>" into `out` (POD_LOG_LINE_CAP bytes; the line cut at KUBE_LOG_LINE_MAX, no NUL); its length.
 *  `ts` NULL or unusable: the line alone. */
size_t pod_log_compose(const char *ts, const char *line, size_t len, char *out);

#endif
