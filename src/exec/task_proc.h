/*
 * One task process: spawned in its own process group (so a signal reaches everything it started), its stdout
 * and stderr read line by line, its end reported once its output is drained.
 */
#ifndef EXEC_TASK_PROC_H
#define EXEC_TASK_PROC_H

#include <stdint.h>
#include <uv.h>

#include "model/run_cost.h"

typedef struct task_proc task_proc_t;

typedef struct task_proc_callbacks {
    void (*on_line)(void *ctx, int is_stderr, const char *line, size_t len);
    /** The process exited and its output is drained. `detail` describes a failure ("exit code 3: <stderr tail>")
     *  and is NULL on exit 0. The task_proc_t is freed right after this returns. */
    void (*on_exit)(void *ctx, int ok, int term_signal, const char *detail);
    /** Optional, right before on_exit: what the process cost. Its wall time from spawn to exit, CPU and peak RSS
     *  from wait4 (or the task's own usage line when that says more), bytes read and written from the usage line
     *  (util/usage_line.h, never passed to on_line), exit code (128 + N for signal N), pid. */
    void (*on_cost)(void *ctx, const run_cost_t *cost);
} task_proc_callbacks_t;

/**
 * Starts argv[0] with `argv`, in `cwd`. Returns the process, or NULL with a negative errno in `*err` (then no
 * callback fires).
 */
task_proc_t *task_proc_spawn(uv_loop_t *loop, char *const *argv, const char *cwd, const task_proc_callbacks_t *cbs,
                             void *ctx, int *err);

/** Sends `sig` to the task's whole process group (a no-op once it has exited). */
void task_proc_signal(task_proc_t *proc, int sig);

int task_proc_pid(const task_proc_t *proc);

#endif
