/*
 * Starting a child process without copying the service: posix_spawn (glibc clones with CLONE_VM|CLONE_VFORK, so
 * neither the page tables are copied nor is every page the service writes afterwards copied on write, as after
 * fork(), which libuv 1.44's uv_spawn uses), and a pidfd to learn of its exit on the loop.
 */
#ifndef EXEC_SPAWN_H
#define EXEC_SPAWN_H

#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

typedef struct exec_child {
    pid_t pid;
    int pidfd;  /* readable once the child has exited (then reap it with exec_child_reap); -1 where the kernel
                 * (or valgrind) has no pidfd_open: then poll exec_child_reap */
    int out_fd; /* read ends of the child's stdout and stderr pipes (close-on-exec) */
    int err_fd;
} exec_child_t;

/**
 * Starts argv[0] (searched in PATH when it has no '/') with `argv`, in `cwd`, as the leader of a new session,
 * stdin from /dev/null, stdout and stderr into new pipes, every signal unblocked and at its default action.
 * Returns 0, or a negative errno (nothing left open, no child) when it cannot start, a missing program included.
 */
int exec_spawn(char *const *argv, const char *cwd, exec_child_t *child);

/**
 * Reaps the child if it has exited: returns 1 with its exit code in `*exit_status` and the signal that ended it
 * (or 0) in `*term_signal`; 0 while it runs; -1 when it is no longer this process's child (someone else reaped
 * it, or the kernel did because SIGCHLD was ignored): it has ended, and how is lost. With `usage` (or NULL), a
 * reaped child's resource use (wait4: the child and the descendants it waited for) goes there.
 */
int exec_child_reap(const exec_child_t *child, int64_t *exit_status, int *term_signal, struct rusage *usage);

#endif
