/* libFuzzer target: the task line reader and UTF-8 repair (src/exec/line_reader.c, src/util/text.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "exec/line_reader.h"
#include "util/text.h"

static void on_line(void *ctx, const char *line, size_t len)
{
    (*(size_t *)ctx)++;
    if (len > LINE_READER_MAX + sizeof(LINE_READER_CUT_MARK) - 1 || memchr(line, '\n', len) != NULL)
        abort();
    char clean[4 * (LINE_READER_MAX + sizeof(LINE_READER_CUT_MARK)) + 1];
    size_t n = text_sanitize_utf8(clean, sizeof(clean), line, len);
    if (n >= sizeof(clean) || clean[n] != '\0' || strlen(clean) != n)
        abort();
    json_t *s = json_stringn(clean, n); /* what the repair is for: jansson takes the result */
    if (s == NULL)
        abort();
    json_decref(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    line_reader_t *lr = calloc(1, sizeof(*lr));
    size_t lines = 0;
    /* the first byte picks how the stream is cut into reads */
    size_t step = size ? (size_t)data[0] % 64 + 1 : 1;
    for (size_t off = 0; off < size; off += step)
        line_reader_feed(lr, (const char *)data + off, size - off < step ? size - off : step, on_line, &lines);
    line_reader_finish(lr, on_line, &lines);
    free(lr);

    /* the repair on its own, into buffers of every small size */
    for (size_t cap = 1; cap < 8; cap++) {
        char out[8];
        size_t n = text_sanitize_utf8(out, cap, (const char *)data, size);
        if (n >= cap || out[n] != '\0')
            abort();
    }
    return 0;
}
