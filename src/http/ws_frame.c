#include "http/ws_frame.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

size_t ws_frame_header(uint8_t *out, int opcode, size_t payload_len)
{
    out[0] = (uint8_t)(0x80 | opcode); /* FIN */
    if (payload_len < 126) {
        out[1] = (uint8_t)payload_len;
        return 2;
    }
    if (payload_len <= 0xffff) {
        out[1] = 126;
        out[2] = (uint8_t)(payload_len >> 8);
        out[3] = (uint8_t)payload_len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)((uint64_t)payload_len >> (56 - 8 * i));
    return 10;
}

static ws_frame_t *frame_alloc(size_t len)
{
    ws_frame_t *f = malloc(sizeof(*f) + len);
    if (f == NULL)
        abort();
    f->refs = 1;
    f->seq = 0;
    f->len = len;
    f->data = (uint8_t *)(f + 1);
    f->buf = NULL;
    return f;
}

ws_frame_t *ws_frame_new(int opcode, const void *payload, size_t len, uint64_t seq)
{
    uint8_t header[10];
    size_t hlen = ws_frame_header(header, opcode, len);
    ws_frame_t *f = frame_alloc(hlen + len);
    memcpy(f->data, header, hlen);
    if (len)
        memcpy(f->data + hlen, payload, len);
    f->seq = seq;
    return f;
}

/* The header room left before a payload being built: that of a 126..65535-byte payload, most events'. */
#define BUILD_HEADER_ROOM 4

/* A frame being built: `len` bytes (the header room included) at `at`, out of `cap`. Either a frame of its own
 * (`f`, reallocated as it grows) or the tail of a shared buffer (`owner`, replaced by a larger one when full). */
typedef struct frame_builder {
    ws_frame_t *f;
    ws_frame_buf_t **owner;
    uint8_t *at;
    size_t cap;
    size_t len;
} frame_builder_t;

static ws_frame_buf_t *buf_alloc(size_t cap)
{
    ws_frame_buf_t *b = malloc(sizeof(*b) + cap);
    if (b == NULL)
        abort();
    b->refs = 1;
    b->cap = cap;
    b->used = 0;
    return b;
}

static void buf_unref(ws_frame_buf_t *b)
{
    if (--b->refs == 0)
        free(b);
}

void ws_frame_buf_release(ws_frame_buf_t **buf)
{
    if (*buf != NULL)
        buf_unref(*buf);
    *buf = NULL;
}

/* The shared buffer the builder writes into becomes a new one with room for `need` bytes, holding what was written
 * so far; the old one stays with the frames in it. */
static void builder_move(frame_builder_t *b, size_t need)
{
    size_t cap = need > WS_FRAME_BUF_BYTES ? need + need / 2 : WS_FRAME_BUF_BYTES;
    ws_frame_buf_t *nb = buf_alloc(cap);
    if (b->len)
        memcpy(nb->data, b->at, b->len);
    ws_frame_buf_release(b->owner);
    *b->owner = nb;
    b->at = nb->data;
    b->cap = cap;
}

static int builder_sink(const char *bytes, size_t n, void *ctx)
{
    frame_builder_t *b = ctx;
    if (n > b->cap - b->len) {
        size_t cap = b->cap * 2;
        while (cap - b->len < n)
            cap *= 2;
        if (b->owner) {
            builder_move(b, cap);
        } else {
            ws_frame_t *f = realloc(b->f, sizeof(*f) + cap);
            if (f == NULL)
                abort();
            b->f = f;
            b->at = f->data = (uint8_t *)(f + 1);
            b->cap = cap;
        }
    }
    memcpy(b->at + b->len, bytes, n);
    b->len += n;
    return 0;
}

/* Puts the header in front of the payload built behind BUILD_HEADER_ROOM; returns the frame's length. */
static size_t builder_finish(frame_builder_t *b, int opcode)
{
    size_t payload = b->len - BUILD_HEADER_ROOM;
    uint8_t header[10];
    size_t hlen = ws_frame_header(header, opcode, payload);
    if (hlen > BUILD_HEADER_ROOM) { /* a payload over 65535 bytes: rare enough for a move */
        char zero[10 - BUILD_HEADER_ROOM] = {0};
        builder_sink(zero, hlen - BUILD_HEADER_ROOM, b);
    }
    if (hlen != BUILD_HEADER_ROOM)
        memmove(b->at + hlen, b->at + BUILD_HEADER_ROOM, payload);
    memcpy(b->at, header, hlen);
    return hlen + payload;
}

ws_frame_t *ws_frame_build(int opcode, ws_frame_producer_fn produce, const void *src, size_t size_hint, uint64_t seq)
{
    frame_builder_t b = {.cap = BUILD_HEADER_ROOM + (size_hint < 64 ? 64 : size_hint), .len = BUILD_HEADER_ROOM};
    b.f = frame_alloc(b.cap);
    b.at = b.f->data;
    if (produce(src, builder_sink, &b) != 0) {
        free(b.f);
        return NULL;
    }
    size_t len = builder_finish(&b, opcode); /* (it may move b.f) */
    b.f->len = len;
    b.f->seq = seq;
    if (b.cap - b.f->len > 64) { /* what the hint overshot goes back (glibc shrinks in place) */
        ws_frame_t *f = realloc(b.f, sizeof(*f) + b.f->len);
        if (f != NULL) {
            b.f = f;
            f->data = (uint8_t *)(f + 1);
        }
    }
    return b.f;
}

ws_frame_t *ws_frame_build_shared(ws_frame_buf_t **buf, int opcode, ws_frame_producer_fn produce, const void *src,
                                  size_t size_hint, uint64_t seq)
{
    frame_builder_t b = {.owner = buf, .len = BUILD_HEADER_ROOM};
    size_t want = BUILD_HEADER_ROOM + (size_hint < 64 ? 64 : size_hint);
    if (*buf == NULL || (*buf)->cap - (*buf)->used < want) {
        b.len = 0;
        builder_move(&b, want);
        b.len = BUILD_HEADER_ROOM;
    } else {
        b.at = (*buf)->data + (*buf)->used;
        b.cap = (*buf)->cap - (*buf)->used;
    }
    if (produce(src, builder_sink, &b) != 0)
        return NULL; /* nothing is taken: the bytes written stay beyond the buffer's `used` */
    size_t len = builder_finish(&b, opcode);
    ws_frame_buf_t *owner = *buf;
    ws_frame_t *f = malloc(sizeof(*f));
    if (f == NULL)
        abort();
    f->refs = 1;
    f->seq = seq;
    f->len = len;
    f->data = b.at;
    f->buf = owner;
    owner->refs++;
    owner->used = (size_t)(b.at - owner->data) + len;
    return f;
}

ws_frame_t *ws_frame_raw(const void *bytes, size_t len)
{
    ws_frame_t *f = frame_alloc(len);
    memcpy(f->data, bytes, len);
    return f;
}

void ws_frame_unref(ws_frame_t *f)
{
    if (--f->refs == 0) {
        if (f->buf != NULL)
            buf_unref(f->buf);
        free(f);
    }
}

void ws_accept_key(char out[29], const char *client_key, size_t key_len)
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char input[64 + sizeof(guid)], digest[SHA_DIGEST_LENGTH];
    if (key_len > 64)
        key_len = 64; /* keys are 24 characters; never read past what we were given */
    memcpy(input, client_key, key_len);
    memcpy(input + key_len, guid, sizeof(guid) - 1);
    SHA1(input, key_len + sizeof(guid) - 1, digest);
    EVP_EncodeBlock((unsigned char *)out, digest, SHA_DIGEST_LENGTH);
}
