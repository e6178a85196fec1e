/*
 * Atomic output files: data goes to "PATH.tmp.<pid>" in the same directory and is renamed to PATH only once it
 * is complete and flushed to disk, so a reader sees either no file or the whole file. The temporary is removed
 * on every error, and also when SIGTERM, SIGINT, SIGHUP or SIGPIPE ends the process while it exists.
 * One output file at a time per process.
 */
#ifndef TASK_FILE_H
#define TASK_FILE_H

#include <jansson.h>
#include <stdio.h>

typedef struct {
    FILE *fp;         /* write here */
    const char *path; /* the final name (borrowed from the caller) */
    char *tmp;        /* the temporary name (owned) */
} task_file_t;

/**
 * Creates the folders above `path` that are missing (like `mkdir -p "$(dirname path)"`, mode 0777 less the umask):
 * `--mkdir`, for a task that is the first to write into a fresh folder on a shared volume, as its own user (a pod
 * whose runtime would create a missing working directory as root). Returns 0, or reports and returns -1.
 */
int task_file_mkdirs(const char *path);

/** Creates the temporary for `path`; `path` must outlive `f`. Returns 0, or reports and returns -1. */
int task_file_open(task_file_t *f, const char *path);

/** Checks every write, flushes, syncs and renames into place. Returns 0, or reports, cleans up, returns -1. */
int task_file_commit(task_file_t *f);

/** Drops the temporary (after an error the caller has reported). */
void task_file_abort(task_file_t *f);

/** Writes `json` with jansson `flags` and a final newline to `path`, atomically. Returns 0 or -1 (reported). */
int task_file_write_json(const char *path, const json_t *json, size_t flags);

#endif
