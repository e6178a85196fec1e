/* Starting a child process without copying the service (see spawn.h). */
#include "exec/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void close_pair(int p[2])
{
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
}

int exec_spawn(char *const *argv, const char *cwd, exec_child_t *child)
{
    int out[2] = {-1, -1}, err[2] = {-1, -1}, rc = 0;
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
        rc = -errno;
        close_pair(out);
        close_pair(err);
        return rc;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    /* dup2 clears close-on-exec on the copies; the originals close at exec */
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    if (cwd)
        posix_spawn_file_actions_addchdir_np(&fa, cwd);
    /* the service ignores SIGPIPE and may block signals: the task starts with neither */
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int e = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ); /* a name with '/' is not searched */
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(out[1]);
    close(err[1]);
    if (e != 0) {
        close(out[0]);
        close(err[0]);
        return -e;
    }
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0 && errno != ENOSYS) {
        /* cannot happen on Linux >= 5.3 with the child unreaped; without a way to wait, do not leave it running */
        rc = -errno;
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(out[0]);
        close(err[0]);
        return rc;
    }
    child->pid = pid;
    child->pidfd = pidfd;
    child->out_fd = out[0];
    child->err_fd = err[0];
    return 0;
}

int exec_child_reap(const exec_child_t *child, int64_t *exit_status, int *term_signal, struct rusage *usage)
{
    int status;
    pid_t r;
    struct rusage ru;
    while ((r = wait4(child->pid, &status, WNOHANG, &ru)) < 0 && errno == EINTR) {
    }
    if (r < 0 && errno == ECHILD) {
        /* not our child any more: reaped by the kernel (SIGCHLD ignored) or by someone else; it has ended */
        *exit_status = -1;
        *term_signal = 0;
        return -1;
    }
    if (r != child->pid)
        return 0;
    *exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    *term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    if (usage)
        *usage = ru;
    return 1;
}
