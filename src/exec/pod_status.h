/*
 * What a pod's status says about why it does not run, or how it ended, as one line: the kubelet writes it into
 * initContainerStatuses (init containers run first, one after another) and containerStatuses. Both executors read
 * their pods through this (nextflow_pod_read).
 */
#ifndef EXEC_POD_STATUS_H
#define EXEC_POD_STATUS_H

#include <jansson.h>
#include <stddef.h>

/**
 * Describes `status` (a Pod's .status) into `out` as "Reason: message", naming an init container ("init container
 * copy-workflow: ErrImagePull: ...") when the cause is one. In this order: an init container waiting with a reason
 * (ErrImagePull, ImagePullBackOff, CreateContainerConfigError) or terminated with a non-zero exit code; then the
 * first container's terminated or waiting state (but PodInitializing when an init container said more); then a
 * False condition with a reason (PodScheduled: Unschedulable); then the pod's own reason and message (Evicted,
 * DeadlineExceeded). `*exit_code` gets the exit code of the container that ended (the init container's when it
 * failed), else -1. `out` is empty when nothing says anything.
 */
void pod_status_describe(json_t *status, int *exit_code, char *out, size_t cap);

/**
 * The kubelet alternates ErrImagePull (with the pull's error as its message) and ImagePullBackOff ("Back-off pulling
 * image ...", which does not say why). Keeps the last ErrImagePull description of a pod in `memory` (a buffer of
 * the caller's, per pod, empty at first) and adds it to an ImagePullBackOff `reason`, so that a pod that never
 * starts fails with the pull's error whichever of the two its last status showed.
 */
void pod_status_keep_pull_error(char *memory, size_t mcap, char *reason, size_t rcap);

#endif
