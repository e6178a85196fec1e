/* pipeline-task's own resource use, written as the last line on stderr (util/usage_line.h). */
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

/* rchar and wchar of /proc/self/io: what went through read and write system calls, cached or not. */
static void read_proc_io(usage_line_t *u)
{
    FILE *f = fopen("/proc/self/io", "re");
    if (f == NULL)
        return;
    char key[32];
    long long value;
    while (fscanf(f, "%31[^:]: %lld\n", key, &value) == 2) {
        if (strcmp(key, "rchar") == 0)
            u->rchar = value;
        else if (strcmp(key, "wchar") == 0)
            u->wchar = value;
    }
    fclose(f);
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
        long kb = self.ru_maxrss > children.ru_maxrss ? self.ru_maxrss : children.ru_maxrss;
        u.maxrss = (int64_t)kb * 1024;
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
