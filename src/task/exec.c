/*
 * exec: a launcher for programs that cannot arrange by themselves to die with the service (a wrapper script,
 * a tool under test). The parent-death signal set here survives execve, so PROGRAM inherits it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "task/task.h"

int task_exec_main(int argc, char **argv)
{
    if (argc < 2)
        return task_usage_error("missing PROGRAM");
    /* Only in PROGRAM's place is --help ours; after it every argument belongs to PROGRAM. */
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return task_help();
    int rc = task_guard_parent(1);
    if (rc != 0)
        return rc;
    /* what PROGRAM starts checks its parent against PROGRAM, which keeps this pid */
    char self[24];
    snprintf(self, sizeof(self), "%d", (int)getpid());
    setenv("PIPELINE_PARENT_PID", self, 1);
    fflush(stdout);
    execvp(argv[1], argv + 1); /* argv[argc] is NULL, as execvp needs */
    task_error("cannot run %s: %s", argv[1], strerror(errno));
    return TASK_EXIT_NOEXEC;
}
