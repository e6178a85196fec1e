/*
 * Nextflow's plain console output (`nextflow run ... -ansi-log false`), one line at a time.
 *
 * The lines that matter to the service:
 *
 *   N E X T F L O W  ~  version 24.10.0
 *   Launching `/workflows/demo.nf` [r0123456789a] DSL2 - revision: 2f6c8b1d3e
 *   [76/f61695] Submitted process > GENERATE (1)
 *   WARN: Killing running tasks (1)
 *   ERROR ~ Error executing process > 'ANALYZE (2)'
 *
 *   Caused by:
 *     Process `ANALYZE (2)` terminated with an error exit status (3)
 *   ...
 *   Command exit status:
 *     3
 *   ...
 *   Command error:
 *     boom: disk on fire
 *
 * Nextflow prints no line when a task completes in this mode (completion comes from the worker pods). An error
 * report spans many lines; the parser keeps what it learns from it (the task, the cause, the exit status and the
 * task's stderr) so that the run's failure message can name the task and the cause. Pure: no I/O, no allocation.
 */
#ifndef EXEC_NEXTFLOW_LOG_H
#define EXEC_NEXTFLOW_LOG_H

#include <stddef.h>

typedef enum {
    NEXTFLOW_LINE_TEXT,      /* anything else: a script's own output, a blank line, the body of a block */
    NEXTFLOW_LINE_BANNER,    /* N E X T F L O W  ~  version V: `text` is the version */
    NEXTFLOW_LINE_LAUNCHING, /* Launching `script` [name] ...: `text` is the run name */
    NEXTFLOW_LINE_EXECUTOR,  /* executor >  k8s (3): `text` is the executor, `count` the tasks submitted */
    NEXTFLOW_LINE_SUBMITTED, /* [ab/123456] Submitted process > TASK: `hash`, `task` */
    NEXTFLOW_LINE_CACHED,    /* [ab/123456] Cached process > TASK: `hash`, `task` */
    NEXTFLOW_LINE_NOTE,      /* [ab/123456] NOTE: ...: `hash`, `text`, and `task` when it names one (`TASK`) */
    NEXTFLOW_LINE_WARN,      /* WARN: message: `text` */
    NEXTFLOW_LINE_ERROR,     /* ERROR ~ ...: `task` when it is Error executing process > 'TASK', else `text` */
    NEXTFLOW_LINE_CAUSE,     /* the first line of a Caused by: block: `text`, and `task` when it names one */
} nextflow_line_kind_t;

#define NEXTFLOW_NAME_MAX 64
#define NEXTFLOW_TEXT_MAX 512

typedef struct nextflow_line {
    nextflow_line_kind_t kind;
    char hash[16];                /* "76/f61695" */
    char task[NEXTFLOW_NAME_MAX]; /* "GENERATE (1)" */
    char text[NEXTFLOW_TEXT_MAX];
    int count;
} nextflow_line_t;

/* Which block of an error report the following lines belong to. */
typedef enum {
    NEXTFLOW_BLOCK_NONE,
    NEXTFLOW_BLOCK_CAUSE,
    NEXTFLOW_BLOCK_EXIT_STATUS,
    NEXTFLOW_BLOCK_STDERR,
    NEXTFLOW_BLOCK_OTHER, /* Command executed:, Command output:, Work dir:, ... */
} nextflow_block_t;

typedef struct nextflow_log {
    nextflow_block_t block;
    int has_error;                      /* an ERROR ~ line was seen */
    char error_task[NEXTFLOW_NAME_MAX]; /* the task it names, or "" */
    char cause[NEXTFLOW_TEXT_MAX];      /* the first line of Caused by:, or the ERROR line's own text */
    int cause_has_status;               /* the "message" of a Kubernetes Status in Caused by: was added to it */
    int exit_status;                    /* from Command exit status:, -1 until seen */
    char stderr_lines[3][160];          /* the last lines of Command error: */
    int stderr_count;                   /* lines seen in Command error: */
} nextflow_log_t;

void nextflow_log_init(nextflow_log_t *p);

/** Parses one line (without its newline; untrusted bytes, not NUL-terminated) into `out`; returns its kind. */
nextflow_line_kind_t nextflow_log_parse(nextflow_log_t *p, const char *line, size_t len, nextflow_line_t *out);

/**
 * The failure Nextflow reported, as "ANALYZE (2) failed: exit code 3: boom: disk on fire" or, when no task is
 * named, "ERROR ~ cause". Returns 0, or -1 when no error was seen.
 */
int nextflow_log_failure(const nextflow_log_t *p, char *out, size_t cap);
/** The cause alone ("exit code 3: boom: disk on fire"), as the failure message puts it after the task's name;
 *  `error_task` names the task. Returns 0, or -1 when no error was seen. */
int nextflow_log_cause(const nextflow_log_t *p, char *out, size_t cap);

/**
 * The task index of a Nextflow task name ("GENERATE (1)", "REPORT") or of the pod label Nextflow derives from it
 * ("GENERATE_1"), for a run of `batches` batches; -1 when it is not one of the run's tasks.
 */
int nextflow_task_index(int batches, const char *name);

#endif
