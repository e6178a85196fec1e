/*
 * File-descriptor exhaustion. At start the soft RLIMIT_NOFILE is raised to the hard limit. When an accept fails
 * because the process (or the system) is out of descriptors, libuv accepts and closes the waiting connections
 * with the one descriptor it keeps spare for this (uv__emfile_trick), so clients see a prompt close instead of
 * hanging in the backlog; here the failures are counted (/metrics) and logged at most once a second.
 */
#ifndef HTTP_FD_LIMIT_H
#define HTTP_FD_LIMIT_H

#include <stdint.h>

typedef struct fd_limit {
    uint64_t accept_failures; /* accepts that failed (EMFILE, ENFILE, ENOMEM ...) */
    uint64_t last_log_ms;
    uint64_t unlogged; /* failures since the last log line */
} fd_limit_t;

/** Raises the soft descriptor limit to the hard one; logs the result. Returns the limit now in force. */
long fd_limit_raise(void);

/** Counts a failed accept (a libuv error code) at `now_ms`; logs at most one line a second. */
void fd_limit_accept_failed(fd_limit_t *fl, int status, uint64_t now_ms);

/** The soft descriptor limit in force (for /metrics), or -1. */
long fd_limit_current(void);

#endif
