/*
 * What a task wrote, as a resumed run checks it: a file's size and SHA-256, and giving a verified file to another
 * run's results folder (a hard link, or a copy where links cannot go; never a move: the old run stays readable).
 * Synchronous file work: call it from libuv's thread pool (orch_outputs.c), never from the loop.
 */
#ifndef CORE_OUTPUT_DIGEST_H
#define CORE_OUTPUT_DIGEST_H

#include <stdint.h>
#include <sys/stat.h>

/** Loads libcrypto's configuration and fetches SHA-256, once, on the calling thread: call it on the loop's thread
 *  before queueing digests (done by the pool's first digest instead, it would leave that thread's OpenSSL error
 *  state allocated until the process ends). Not at start-up: a service whose runs all succeed never loads it. */
void output_digest_init(void);
/** Frees what output_digest_init fetched (at the service's end). */
void output_digest_shutdown(void);
/** The size and SHA-256 (64 lower-case hex digits) of the file at `path`: 0, or a negative errno. */
int output_digest(const char *path, int64_t *size, char hex[65]);
/** Whether the file open for digesting (its fstat) is the one the caller expects. */
typedef int (*output_same_fn)(const struct stat *st, const void *ctx);
/** output_digest of the file at `path` only if `same` holds for it before and after the reading (both checked on
 *  the open file); 1 when it does not (nothing recorded). */
int output_digest_if(const char *path, output_same_fn same, const void *ctx, int64_t *size, char hex[65]);
/** `from` appears at `to` (which must not exist): a hard link, else (another file system, links refused) a copy
 *  written beside it and renamed into place. 0, or a negative errno. */
int output_share(const char *from, const char *to);

#endif
