/* pipeline-task's own resource use, written as the last line on stderr (util/usage_line.h). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "task/task.h"
#include "util/usage_line.h"

static struct timespec usage_start;

void task_usage_begin(void)
{
    clock_gettime(CLOCK_MONOTONIC, &usage_start);
}

/* A small /proc file into `buf` with plain system calls (no stdio buffer to allocate: this runs for every task). */
static size_t read_proc(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return n > 0 ? (size_t)n : 0;
}

/* The number after "`key`" at the start of a line of `text`, or -1. */
static long long field(const char *text, const char *key)
{
    size_t klen = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, klen) != 0)
            continue;
        p += klen;
        while (*p == ' ' || *p == '\t')
            p++;
        long long v = 0;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9')
            v = v * 10 + (*p++ - '0');
        return v;
    }
    return -1;
}

/* rchar and wchar of /proc/self/io: what went through read and write system calls, cached or not. */
static void read_proc_io(usage_line_t *u)
{
    char buf[512];
    if (read_proc("/proc/self/io", buf, sizeof(buf)) == 0)
        return;
    u->rchar = field(buf, "rchar:");
    u->wchar = field(buf, "wchar:");
}

/* VmHWM of /proc/self/status: the peak resident size of this process's own memory. getrusage's ru_maxrss would
 * also count the memory of the parent that started it with vfork (posix_spawn) as it was at exec. -1: unknown. */
static int64_t own_peak_rss(void)
{
    char buf[2048];
    if (read_proc("/proc/self/status", buf, sizeof(buf)) == 0)
        return -1;
    long long kb = field(buf, "VmHWM:");
    return kb < 0 ? -1 : (int64_t)kb * 1024;
}

static double seconds_of(struct timeval tv)
{
    return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

void task_usage_report(int exit_code)
{
    usage_line_t u;
    usage_line_init(&u);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    u.wall = (double)(now.tv_sec - usage_start.tv_sec) + (now.tv_nsec - usage_start.tv_nsec) / 1e9;
    struct rusage self, children;
    if (getrusage(RUSAGE_SELF, &self) == 0 && getrusage(RUSAGE_CHILDREN, &children) == 0) {
        u.user = seconds_of(self.ru_utime) + seconds_of(children.ru_utime);
        u.sys = seconds_of(self.ru_stime) + seconds_of(children.ru_stime);
        int64_t own = own_peak_rss(), waited = (int64_t)children.ru_maxrss * 1024; /* what it waited for */
        u.maxrss = own > waited ? own : waited;
    }
    read_proc_io(&u);
    u.exit_code = exit_code >= 0 && exit_code <= 255 ? exit_code : -1;
    char line[USAGE_LINE_MAX];
    size_t n = usage_line_format(&u, line);
    fflush(stdout);
    /* one write: the line never mixes with another; an error here changes nothing of the task's result */
    if (write(STDERR_FILENO, line, n) < 0)
        return;
}
