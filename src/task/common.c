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

int task_guard_parent(int strict)
{
    pid_t before = getppid();
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
        task_error("prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
        return TASK_EXIT_FAIL;
    }
    /* The parent may have died between fork and prctl; the signal would then never come. The service names
     * itself in PIPELINE_PARENT_PID; the launcher (exec) checks that and then names itself, so that what it
     * execs, or that program's own child, can check in turn. */
    const char *want = getenv("PIPELINE_PARENT_PID");
    if (!want || !*want)
        return 0;
    pid_t ppid = getppid();
    char *end;
    errno = 0;
    long long v = strtoll(want, &end, 10);
    int valid = errno == 0 && *end == '\0';
    if (valid && v == (long long)getpid())
        return 0; /* we are what the launcher exec'd: it checked our parent already */
    if (valid && v == (long long)ppid)
        return 0;
    if (!strict && ppid == before && before != 1)
        return 0; /* further down a wrapper's tree: our parent outlived the prctl */
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
