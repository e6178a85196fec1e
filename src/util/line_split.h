/* Splits a byte stream into lines with a bound on a line's length, on a buffer that grows up to that bound (for
 * streams whose lines may be large but must stay bounded: Kubernetes watch events, followed pod logs). The
 * task-output reader (exec/line_reader) keeps its fixed in-struct buffer and its cut mark. */
#ifndef UTIL_LINE_SPLIT_H
#define UTIL_LINE_SPLIT_H

#include <stddef.h>

/** One line without its '\n' (and without a '\r' before it). `cut` is 1 when the line was longer than the bound:
 *  `line` then holds its first `max` bytes and the rest of it is dropped. Return 0 to go on, -1 to stop feeding. */
typedef int (*line_split_fn)(void *ctx, const char *line, size_t len, int cut);

typedef struct line_split {
    char *buf;
    size_t len, cap, max;
    int skipping; /* the rest of an over-long line is being dropped */
} line_split_t;

void line_split_init(line_split_t *ls, size_t max);
void line_split_dispose(line_split_t *ls);
/** Forgets a partial line (a new stream starts). */
void line_split_reset(line_split_t *ls);
/** Feeds bytes; calls `fn` once per complete line. Returns 0, or -1 when `fn` asked to stop or memory ran out. */
int line_split_feed(line_split_t *ls, const char *data, size_t n, line_split_fn fn, void *ctx);
/** At the end of a stream: hands over a last line that had no '\n'. Returns what `fn` returned (0 if none). */
int line_split_finish(line_split_t *ls, line_split_fn fn, void *ctx);

#endif
