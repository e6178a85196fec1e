/* What every subcommand shares: log lines, error messages, the parent-death guard and the demo pause. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "task/task.h"
#include "util/clock.h"

static const char *task_command;

void task_set_command(const char *name)
{
    task_command = name;
}

const char *task_file_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

void task_log(const char *fmt, ...)
{
    char ts[CLOCK_RFC3339_LEN + 1];
    clock_format_rfc3339(clock_now_ms(), ts);
    va_list ap;
    va_start(ap, fmt);
    /* A log line that cannot be written (the service closed its end) must not fail the work itself, so the
     * result is not checked here; output files are what counts and their writes are checked. */
    fputs(ts, stdout);
    fputc(' ', stdout);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    /* stdout is a pipe to the service, which shows each line as it comes. */
    fflush(stdout);
}

static void task_verror(const char *fmt, va_list ap, const char *suffix)
{
    fputs("pipeline-task: ", stderr);
    if (task_command)
        fprintf(stderr, "%s: ", task_command);
    vfprintf(stderr, fmt, ap);
    fputs(suffix, stderr);
}

void task_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    task_verror(fmt, ap, "\n");
    va_end(ap);
}

int task_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    task_verror(fmt, ap, " (see 'pipeline-task --help')\n");
    va_end(ap);
    return TASK_EXIT_USAGE;
}

/* The parent of process `pid` from /proc/<pid>/stat (its fourth field, after the command in parentheses, which may
 * hold anything), or -1 when it cannot be read (the process is gone). */
static pid_t parent_of(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *close = strrchr(buf, ')');
    char state;
    int ppid;
    if (close == NULL || sscanf(close + 1, " %c %d", &state, &ppid) != 2)
        return -1;
    return (pid_t)ppid;
}

/* 1 when `ancestor` is `pid` or one of its ancestors. A process of the chain that ends while it is read (its
 * children move to a reaper) makes the walk start again, a few times. */
static int is_ancestor(pid_t ancestor, pid_t pid)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        pid_t p = pid;
        for (int depth = 0; depth < 256 && p > 0; depth++) {
            if (p == ancestor)
                return 1;
            p = parent_of(p);
        }
        if (p == 0)
            return 0; /* reached the top: not below it */
    }
    return 0;
}

int task_guard_parent(int strict)
{
    pid_t before = getppid();
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
        task_error("prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
        return TASK_EXIT_FAIL;
    }
    /* From here on the parent's death kills us; what is left to see is a parent that died before. Nothing can be
     * told from getppid() alone: orphans go to the nearest subreaper, which need not be PID 1 (systemd --user, CI
     * harnesses) and in a container PID 1 may be the real parent. So the service names itself in
     * PIPELINE_PARENT_PID, and the launcher (exec) checks that and then names itself, so that what it execs, or
     * that program's own children, can check in turn. */
    pid_t ppid = getppid();
    const char *want = getenv("PIPELINE_PARENT_PID");
    if (!want || !*want) {
        if (ppid == before)
            return 0; /* nobody named the parent: only a death between the two reads can be seen */
        task_error("the parent process %d is gone (the parent is now %d); not starting", (int)before, (int)ppid);
        return TASK_EXIT_ORPHAN;
    }
    char *end;
    errno = 0;
    long long v = strtoll(want, &end, 10);
    int valid = errno == 0 && *end == '\0' && v > 0 && v == (long long)(pid_t)v;
    if (valid && v == (long long)getpid())
        return 0; /* we are what the launcher exec'd: it checked our parent already */
    if (valid && v == (long long)ppid)
        return 0;
    /* further down a wrapper's tree: our parent, alive after the prctl, must still be below the named process (had
     * our parent died before, we would now be a reaper's child, outside that tree) */
    if (valid && !strict && is_ancestor((pid_t)v, ppid))
        return 0;
    task_error("parent process %s is gone (the parent is now %d); not starting", want, (int)ppid);
    return TASK_EXIT_ORPHAN;
}

void task_pause(double seconds)
{
    if (!(seconds > 0))
        return;
    /* An absolute deadline on the monotonic clock, so a stop/continue or EINTR never lengthens the pause. */
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    long long ns = (long long)(seconds * 1e9);
    deadline.tv_sec += (time_t)(ns / 1000000000LL);
    deadline.tv_nsec += (long)(ns % 1000000000LL);
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL) == EINTR) {
    }
}

double task_average2(int64_t sum, int64_t count)
{
    if (count <= 0)
        return 0;
    /* hundredths, rounded half up: floor((200 * sum + count) / (2 * count)), in 128 bits: a stats file read by
     * report may hold any int64 (found by tests/fuzz/fuzz_task_files) */
    __int128 cents = ((__int128)200 * sum + count) / ((__int128)2 * count);
    return (double)cents / 100.0;
}
