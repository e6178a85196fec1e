/* pipeline-task: the work each workflow task does (generate, analyze, report) and the exec launcher. */
#ifndef TASK_TASK_H
#define TASK_TASK_H

#include <stdint.h>

/* Exit statuses, shared with the service which reads them as task results. */
#define TASK_EXIT_OK     0
#define TASK_EXIT_FAIL   1   /* bad or unreadable input, I/O error */
#define TASK_EXIT_USAGE  2   /* bad command line */
#define TASK_EXIT_ORPHAN 70  /* the parent named by PIPELINE_PARENT_PID is gone */
#define TASK_EXIT_NOEXEC 127 /* exec: PROGRAM could not be run */

/* Subcommands: argv[0] is the subcommand name; each returns the process exit status. */
int task_generate_main(int argc, char **argv);
int task_analyze_main(int argc, char **argv);
int task_report_main(int argc, char **argv);
int task_exec_main(int argc, char **argv);

/**
 * Writes the full usage text (every subcommand, option, file format and exit status) to stdout. Returns the
 * exit status: TASK_EXIT_OK, or TASK_EXIT_FAIL when stdout could not take it.
 */
int task_help(void);

/** task/usage.c: notes the task's start; task_usage_report writes the usage line (util/usage_line.h) on stderr. */
void task_usage_begin(void);
void task_usage_report(int exit_code);
/** Set once a subcommand printed its help instead of working (task/args.c). */
extern int task_args_helped;

/** Names the subcommand that prefixes error messages ("pipeline-task: generate: ..."). */
void task_set_command(const char *name);

/** Writes one log line to stdout, prefixed by an RFC 3339 UTC timestamp, and flushes it. */
void task_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** The last part of a path: what log lines name (they reach every browser; folders of the server do not). */
const char *task_file_name(const char *path);

/** Writes "pipeline-task: <command>: <message>" to stderr (no timestamp: errors are not log lines). */
void task_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Reports a command-line mistake with a hint to --help; returns TASK_EXIT_USAGE for the caller to return. */
int task_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * Makes the kernel SIGKILL this process when its parent dies, then checks that the parent has not already
 * died. With `strict` (the launcher), getppid() must equal PIPELINE_PARENT_PID when it is set; otherwise the
 * process that PIPELINE_PARENT_PID names may also be this one (the launched program) or an ancestor of the parent
 * (a task below a wrapper). Never judged by getppid() == 1: orphans may go to a subreaper. Without
 * PIPELINE_PARENT_PID only a parent that dies during the call is seen. Returns 0, or the exit status to leave with.
 */
int task_guard_parent(int strict);

/** Sleeps `seconds` (the demo pause). Signals keep their default action, so SIGTERM ends the process. */
void task_pause(double seconds);

/** sum / count rounded half up to 2 decimals, computed exactly on integers (0 when count is 0). */
double task_average2(int64_t sum, int64_t count);

#endif
