/*
 * The last lines of a task's output, kept for its failure message ("exit code 3: the last lines"). Kept as valid
 * UTF-8, cut between characters: the message ends up in JSON. Used by the local task processes and by the pods of
 * both cluster executors.
 */
#ifndef EXEC_LOG_TAIL_H
#define EXEC_LOG_TAIL_H

#include <stddef.h>

#define LOG_TAIL_LINES    3
#define LOG_TAIL_LINE_MAX 240

typedef struct log_tail {
    char lines[LOG_TAIL_LINES][LOG_TAIL_LINE_MAX]; /* the oldest first */
    int count;
} log_tail_t;

/** Keeps a line (untrusted bytes, not NUL-terminated), dropping the oldest when full; empty lines are not kept. */
void log_tail_add(log_tail_t *t, const char *line, size_t len);
void log_tail_clear(log_tail_t *t);
/** The lines joined by `sep` into `out` ("" when none); returns its length. */
size_t log_tail_join(const log_tail_t *t, char *out, size_t cap, const char *sep);

#endif
