/* libFuzzer target: the stream's frames (src/http/ws_frame.c): a frame built from any payload must decode back
 * to that payload under RFC 6455 §5.2; the handshake key is any bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/ws_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int opcode = size ? (data[0] & 0x0f) : WS_OP_TEXT;
    ws_frame_t *f = ws_frame_new(opcode, data, size, 7);
    if (f == NULL || f->len < size + 2)
        abort();
    const uint8_t *h = f->data;
    if (h[0] != (0x80 | opcode) || (h[1] & 0x80))
        abort(); /* final, unmasked */
    uint64_t len = h[1] & 0x7f;
    size_t hl = 2;
    if (len == 126) {
        len = (uint64_t)h[2] << 8 | h[3];
        hl = 4;
        if (len < 126)
            abort(); /* minimal length encoding */
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | h[2 + i];
        hl = 10;
        if (len <= 0xffff)
            abort();
    }
    if (len != size || f->len != hl + size || memcmp(f->data + hl, data, size) != 0)
        abort();
    ws_frame_ref(f);
    ws_frame_unref(f);
    ws_frame_unref(f);

    ws_frame_t *raw = ws_frame_raw(data, size);
    if (raw == NULL || raw->len != size || memcmp(raw->data, data, size) != 0)
        abort();
    ws_frame_unref(raw);

    char accept[29];
    ws_accept_key(accept, (const char *)data, size);
    if (strlen(accept) != 28)
        abort();
    return 0;
}
