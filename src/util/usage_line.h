/*
 * The last line pipeline-task writes on stderr: what the task used, machine-readable, so that every executor gets
 * the same figures from the same place (a child's pipe, a pod's log). One line, space-separated key=value pairs:
 *
 *   @@pipeline-task-usage wall=0.312 user=0.010 sys=0.002 maxrss=52428800 rchar=1234 wchar=5678 exit=0
 *
 * wall: seconds from the task's start to this line; user, sys: CPU seconds (getrusage, the task and what it waited
 * for); maxrss: peak resident bytes; rchar, wchar: bytes read and written through system calls (/proc/self/io);
 * exit: the exit status it is about to return. An executor that sees the prefix never shows the line as a log line.
 */
#ifndef UTIL_USAGE_LINE_H
#define UTIL_USAGE_LINE_H

#include <stddef.h>
#include <stdint.h>

#define USAGE_LINE_PREFIX "@@pipeline-task-usage "
#define USAGE_LINE_MAX    256

typedef struct usage_line {
    double wall, user, sys; /* seconds; < 0: not known */
    int64_t maxrss;         /* bytes; < 0: not known */
    int64_t rchar, wchar;   /* bytes; < 0: not known */
    int exit_code;          /* < 0: not known */
} usage_line_t;

/** Every figure unknown. */
void usage_line_init(usage_line_t *u);

/** Writes the line (with a newline) into `out`; returns its length. */
size_t usage_line_format(const usage_line_t *u, char out[USAGE_LINE_MAX]);

/**
 * 1 when `line` (`len` bytes, no newline, untrusted) is a usage line: `*u` gets its figures (a malformed or
 * out-of-range one stays unknown, unknown keys are skipped); 0 otherwise (`*u` untouched).
 */
int usage_line_parse(const char *line, size_t len, usage_line_t *u);

#endif
