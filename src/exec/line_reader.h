/* Splits a byte stream into lines of at most LINE_READER_MAX bytes (longer lines are cut and marked). */
#ifndef EXEC_LINE_READER_H
#define EXEC_LINE_READER_H

#include <stddef.h>

#define LINE_READER_MAX      4096
#define LINE_READER_CUT_MARK " [line truncated]"

typedef void (*line_reader_fn)(void *ctx, const char *line, size_t len);

typedef struct line_reader {
    char buf[LINE_READER_MAX + sizeof(LINE_READER_CUT_MARK)];
    size_t len;
    int skipping; /* the rest of an over-long line is being dropped */
} line_reader_t;

/** Feeds bytes; calls `fn` once per complete line (without its '\n'). A line longer than LINE_READER_MAX is
 *  handed over as its first LINE_READER_MAX bytes followed by LINE_READER_CUT_MARK; the rest of it is dropped. */
void line_reader_feed(line_reader_t *lr, const char *data, size_t n, line_reader_fn fn, void *ctx);
/** At end of stream: hands over a last line that had no '\n'. */
void line_reader_finish(line_reader_t *lr, line_reader_fn fn, void *ctx);

#endif
