/*
 * ws_fanout: a load client for the live stream's fan-out (GET /api/v1/pipeline/stream).
 *
 * It opens N WebSocket clients, waits for each one's status snapshot, asks the server for a burst of M
 * stamped `log` events (POST /bench/burst, a server started with BENCH_EVENTS=1) and reads every client until
 * each has seen M of them. Every event carries the server's wall clock at emit time ("t_us"), so on the same
 * machine the delivery latency of a message is simply now - t_us.
 *
 * One thread and one level-triggered epoll set. The client has to keep up with the server or the figures
 * measure the client: reads go into one shared scratch buffer and frames are parsed in place; only the
 * incomplete tail of a read is kept per client.
 *
 *   cc -O2 -Wall -Wextra -Werror -o build/bench/ws_fanout bench/ws_fanout.c
 *   ws_fanout --port 8000 --clients 1000 --messages 1000 --size 200 --pid <server pid> --label service
 *
 * Prints one line of key=value figures; exits 0 when every client got every message, 1 when a client was
 * closed early or messages are missing or out of order, 2 when the run could not be set up.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HANDSHAKES_IN_FLIGHT 256       /* below the server's listen backlog (511): no SYN retries */
#define READ_CHUNK (256 * 1024)            /* bytes asked of one read() */
#define MAX_RESPONSE_HEAD 8192             /* a 101 response head longer than this is an error */
#define MAX_FRAME ((uint64_t)64 << 20)     /* a server frame longer than this is an error */
#define HIST_MAX_US 10000000               /* latency histogram: 1 us buckets up to 10 s, then one overflow */
#define EPOLL_BATCH 1024

/*
 * Every client sends the sample nonce of RFC 6455 section 1.3, whose accept value the RFC gives: that lets us
 * check Sec-WebSocket-Accept exactly without carrying SHA-1 and base64 here. Servers do not compare keys
 * across connections, so sharing one is harmless.
 */
#define WS_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define WS_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

enum { OP_CONT = 0x0, OP_TEXT = 0x1, OP_BINARY = 0x2, OP_CLOSE = 0x8, OP_PING = 0x9, OP_PONG = 0xa };

typedef struct options {
    const char *host, *label;
    int port, clients, per_tick, pid, no_snapshot, no_burst;
    const char *ready_file, *wait_file;
    long messages, size;
    double timeout;
} options_t;

typedef enum {
    CL_CONNECTING, /* non-blocking connect() under way, waiting for EPOLLOUT */
    CL_UPGRADING,  /* handshake request written, reading the 101 response head */
    CL_OPEN,       /* reading frames */
    CL_CLOSED,     /* gone: closed by the server, or failed */
} client_state_t;

typedef struct client {
    int fd;
    client_state_t state;
    uint8_t *tail;           /* bytes of an incomplete frame (or response head) left by the last read */
    size_t tail_len, tail_cap;
    uint8_t *out;            /* pong frames the socket would not take yet */
    size_t out_len, out_cap;
    int want_out;            /* EPOLLOUT is in the interest set */
    int got_snapshot;
    long messages;           /* bench messages received */
    int64_t next_i;          /* bench index ("i") expected next */
    int64_t last_seq;        /* seq of the last message, -1 before the first */
} client_t;

typedef struct bench {
    options_t opt;
    int epfd;
    client_t *clients;
    int started, in_flight, upgraded, snapshots, done, closed;
    int first_close_code;
    uint64_t delivered, out_of_order, seq_gaps, stale;
    int64_t burst_wall_us;   /* when the burst was asked for: events stamped before are not ours */
    int64_t last_delivery_mono_us;
    int64_t first_t_us; /* emit stamp of the first event counted (with --no-burst: when the burst began) */
    uint32_t *hist;          /* HIST_MAX_US + 1 buckets */
    uint64_t hist_count;
    int64_t hist_max_us;
    uint8_t *scratch;        /* where reads land; grows with the largest incomplete frame */
    size_t scratch_cap;
} bench_t;

/* ---- small helpers ---------------------------------------------------------------------------------------- */

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ws_fanout: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (p == NULL)
        die("out of memory (%zu bytes)", n);
    return p;
}

/* The server stamps CLOCK_REALTIME, so latency must be measured on the same clock. */
static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Durations use the monotonic clock, which no time adjustment can bend. */
static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Appends to a growable byte buffer. */
static void buf_append(uint8_t **buf, size_t *len, size_t *cap, const void *data, size_t n)
{
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < *len + n)
            c *= 2;
        *buf = xrealloc(*buf, c);
        *cap = c;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
}

/* The numbers a message carries for the bench; -1 for those it does not carry. */
typedef struct fields {
    int64_t t_us, i, seq;
} fields_t;

/* Whether the bytes just before `at` (and after `start`) are `key`. */
static inline int key_before(const uint8_t *start, const uint8_t *at, const char *key, size_t klen)
{
    return (size_t)(at - start) >= klen && memcmp(at - klen, key, klen) == 0;
}

static int64_t parse_digits(const uint8_t *p, const uint8_t *end)
{
    int64_t v = 0;
    const uint8_t *q = p;
    for (; q < end && *q >= '0' && *q <= '9'; q++)
        v = v * 10 + (*q - '0');
    return q > p ? v : -1;
}

/*
 * Finds "t_us":, "i": and "seq": in a message. This runs for every delivery, so it must cost far less than the
 * server's work per delivery, or the client becomes what is measured. The three fields are the last of a
 * message (bench.i, bench.t_us, then the envelope's seq, all after the S bytes of padding), so only the tail
 * is scanned: memchr skips to each ':' (a handful there), and only those are checked against the keys.
 */
static void scan_fields(const uint8_t *p, size_t len, fields_t *out)
{
    enum { TAIL = 256 };
    const uint8_t *start = p + (len > TAIL ? len - TAIL : 0), *end = p + len;
    out->t_us = out->i = out->seq = -1;
    for (const uint8_t *colon = memchr(start, ':', (size_t)(end - start)); colon != NULL;
         colon = memchr(colon + 1, ':', (size_t)(end - colon - 1))) {
        if (colon == start || colon[-1] != '"')
            continue; /* most of them: the times in the timestamp */
        if (key_before(start, colon, "\"t_us\"", 6))
            out->t_us = parse_digits(colon + 1, end);
        else if (key_before(start, colon, "\"i\"", 3))
            out->i = parse_digits(colon + 1, end);
        else if (key_before(start, colon, "\"seq\"", 5))
            out->seq = parse_digits(colon + 1, end);
    }
}

/* CPU time a process has had, in ns (/proc/PID/schedstat, user and system together), or -1. */
static int64_t read_cpu_ns(int pid)
{
    if (pid <= 0)
        return -1;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    long long ns = -1;
    if (fscanf(f, "%lld", &ns) != 1)
        ns = -1;
    fclose(f);
    return ns;
}

/* VmRSS of a process in MiB, or -1 when it cannot be read. */
static double read_rss_mb(int pid)
{
    if (pid <= 0)
        return -1;
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    double mb = -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            mb = strtod(line + 6, NULL) / 1024.0; /* the kernel reports kB */
            break;
        }
    fclose(f);
    return mb;
}

/* Each client is one descriptor: make sure the limit allows them all (as root the hard limit can rise too). */
static void raise_nofile(int clients)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)clients + 64;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        die("getrlimit: %s", strerror(errno));
    if (rl.rlim_cur >= need)
        return;
    rl.rlim_cur = need;
    if (rl.rlim_max < need)
        rl.rlim_max = need;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        die("cannot raise RLIMIT_NOFILE to %llu: %s", (unsigned long long)need, strerror(errno));
}

static struct sockaddr_in server_addr(const options_t *o)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    if (inet_pton(AF_INET, o->host, &a.sin_addr) != 1)
        die("--host must be an IPv4 address: %s", o->host);
    return a;
}

/* ---- latency histogram ------------------------------------------------------------------------------------ */

static void hist_add(bench_t *b, int64_t us)
{
    if (us < 0)
        us = 0; /* the same clock on both sides: only rounding can make this negative */
    if (us > b->hist_max_us)
        b->hist_max_us = us;
    b->hist[us < HIST_MAX_US ? us : HIST_MAX_US]++;
    b->hist_count++;
}

/* The smallest latency (ms) that at least `q` of the samples do not exceed. */
static double hist_quantile_ms(const bench_t *b, double q)
{
    if (b->hist_count == 0)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)b->hist_count + 0.999999), seen = 0;
    if (rank == 0)
        rank = 1;
    for (int64_t us = 0; us <= HIST_MAX_US; us++) {
        seen += b->hist[us];
        if (seen >= rank)
            return (double)us / 1000.0;
    }
    return (double)HIST_MAX_US / 1000.0;
}

/* ---- client life cycle ------------------------------------------------------------------------------------ */

static void client_watch(bench_t *b, client_t *c, uint32_t events, int op)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(b->epfd, op, c->fd, &ev) != 0)
        die("epoll_ctl: %s", strerror(errno));
}

/*
 * A client is finished with, for good. Before the burst any failure is fatal (the run would measure fewer
 * clients than asked); during it, it is counted and the run goes on so that the figures show the damage. A
 * client that already has all its messages is not closed early, whatever happens to it now.
 */
static void client_fail(bench_t *b, client_t *c, const char *why)
{
    if (c->state == CL_CLOSED)
        return;
    int idx = (int)(c - b->clients);
    if (b->upgraded < b->opt.clients || (!b->opt.no_snapshot && b->snapshots < b->opt.clients))
        die("client %d failed while connecting: %s", idx, why);
    if (c->messages < b->opt.messages) {
        if (b->closed == 0)
            fprintf(stderr, "ws_fanout: client %d closed early after %ld messages: %s\n", idx, c->messages, why);
        b->closed++;
    }
    if (c->state == CL_CONNECTING || c->state == CL_UPGRADING)
        b->in_flight--;
    c->state = CL_CLOSED;
    close(c->fd); /* also takes it out of the epoll set */
    c->fd = -1;
}

static void client_start(bench_t *b, client_t *c, const struct sockaddr_in *addr)
{
    memset(c, 0, sizeof(*c));
    c->last_seq = -1;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket: %s", strerror(errno));
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* pongs must not wait for Nagle */
    if (connect(c->fd, (const struct sockaddr *)addr, sizeof(*addr)) != 0 && errno != EINPROGRESS)
        die("connect to %s:%d: %s", b->opt.host, b->opt.port, strerror(errno));
    c->state = CL_CONNECTING;
    client_watch(b, c, EPOLLOUT, EPOLL_CTL_ADD);
    b->started++;
    b->in_flight++;
}

/* Keeps at most MAX_HANDSHAKES_IN_FLIGHT connections opening, so the listen queue never overflows. */
static void start_more_clients(bench_t *b, const struct sockaddr_in *addr)
{
    while (b->started < b->opt.clients && b->in_flight < MAX_HANDSHAKES_IN_FLIGHT)
        client_start(b, &b->clients[b->started], addr);
}

/* The connection is up: send the upgrade request (a few hundred bytes, which a fresh socket always takes). */
static void client_on_connected(bench_t *b, client_t *c)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        client_fail(b, c, strerror(err ? err : errno));
        return;
    }
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "GET /api/v1/pipeline/stream HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: " WS_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     b->opt.host, b->opt.port);
    if (write(c->fd, req, (size_t)n) != n) {
        client_fail(b, c, "cannot write the handshake request");
        return;
    }
    c->state = CL_UPGRADING;
    client_watch(b, c, EPOLLIN, EPOLL_CTL_MOD);
}

/* ---- writing pongs ---------------------------------------------------------------------------------------- */

/* Writes what the client owes the server; what the socket does not take waits for EPOLLOUT. */
static void client_flush(bench_t *b, client_t *c)
{
    while (c->out_len > 0) {
        ssize_t n = write(c->fd, c->out, c->out_len);
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0) {
            client_fail(b, c, "write failed");
            return;
        }
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
    }
    int want = c->out_len > 0;
    if (want != c->want_out) {
        c->want_out = want;
        client_watch(b, c, EPOLLIN | (want ? EPOLLOUT : 0), EPOLL_CTL_MOD);
    }
}

/* Client frames must be masked (RFC 6455 section 5.3); the key need not be strong for a benchmark. */
static void client_send_pong(bench_t *b, client_t *c, const uint8_t *payload, size_t len)
{
    uint8_t frame[2 + 4 + 125];
    uint32_t key = (uint32_t)rand();
    frame[0] = 0x80 | OP_PONG;
    frame[1] = (uint8_t)(0x80 | len); /* control payloads are at most 125 bytes: checked by the caller */
    memcpy(frame + 2, &key, 4);
    for (size_t i = 0; i < len; i++)
        frame[6 + i] = payload[i] ^ frame[2 + i % 4];
    buf_append(&c->out, &c->out_len, &c->out_cap, frame, 6 + len);
    client_flush(b, c);
}

/* ---- reading ---------------------------------------------------------------------------------------------- */

/* When a read returned: the arrival time of every frame in it (two clocks, see wall_us and mono_us). */
typedef struct read_time {
    int64_t wall_us, mono_us;
} read_time_t;

/*
 * Looks at the 101 response head in p[0..len). Returns the bytes of the head (what follows are frames), 0 when
 * it is not complete yet; a response that is not a proper upgrade fails the client.
 */
static size_t client_parse_upgrade(bench_t *b, client_t *c, const uint8_t *p, size_t len)
{
    const uint8_t *end = memmem(p, len, "\r\n\r\n", 4);
    if (end == NULL) {
        if (len > MAX_RESPONSE_HEAD)
            client_fail(b, c, "response head too long");
        return 0;
    }
    size_t head_len = (size_t)(end - p) + 4;
    if (len < 12 || memcmp(p, "HTTP/1.1 101", 12) != 0) {
        char status[64];
        snprintf(status, sizeof(status), "expected 101, got: %.*s", (int)(len < 40 ? len : 40), (const char *)p);
        client_fail(b, c, status);
        return 0;
    }
    int accept_ok = 0;
    for (const uint8_t *line = p; line < end;) {
        const uint8_t *eol = memmem(line, (size_t)(end - line) + 2, "\r\n", 2);
        static const char name[] = "sec-websocket-accept:";
        if ((size_t)(eol - line) > sizeof(name) - 1 && strncasecmp((const char *)line, name, sizeof(name) - 1) == 0) {
            const uint8_t *v = line + sizeof(name) - 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            accept_ok = (size_t)(eol - v) >= strlen(WS_ACCEPT) && memcmp(v, WS_ACCEPT, strlen(WS_ACCEPT)) == 0;
        }
        line = eol + 2;
    }
    if (!accept_ok) {
        client_fail(b, c, "Sec-WebSocket-Accept missing or wrong");
        return 0;
    }
    c->state = CL_OPEN;
    b->in_flight--;
    b->upgraded++;
    return head_len;
}

/* A text message: the snapshot first, then bench events (anything else, like a keep-alive, is let through). */
static void client_on_message(bench_t *b, client_t *c, const uint8_t *p, size_t len, const read_time_t *now)
{
    fields_t f;
    scan_fields(p, len, &f);
    /* each broadcast is the previous seq + 1; a keep-alive heartbeat repeats the last seq; anything else is a
     * broadcast this client missed (or got out of order) */
    if (f.seq >= 0) {
        if (c->last_seq >= 0 && f.seq != c->last_seq && f.seq != c->last_seq + 1)
            b->seq_gaps++;
        c->last_seq = f.seq;
    }
    if (!c->got_snapshot) {
        c->got_snapshot = 1;
        if (!b->opt.no_snapshot) {
            b->snapshots++;
            return;
        }
    }
    if (f.t_us < 0)
        return; /* not a bench event (a keep-alive, say) */
    if (f.t_us < b->burst_wall_us) {
        /* the tail of an earlier burst (the server keeps emitting after its clients went): not counted */
        b->stale++;
        return;
    }
    hist_add(b, now->wall_us - f.t_us);
    if (f.i != c->next_i)
        b->out_of_order++;
    c->next_i = f.i + 1;
    b->delivered++;
    if (b->delivered == 1 && b->first_t_us == 0)
        b->first_t_us = f.t_us;
    b->last_delivery_mono_us = now->mono_us;
    if (++c->messages == b->opt.messages)
        b->done++;
}

typedef struct frame {
    int fin, opcode;
    const uint8_t *payload;
    uint64_t payload_len;
    size_t total; /* header and payload */
} frame_t;

/* Returns 1 with a whole frame at p, 0 when more bytes are needed, -1 on a frame no server may send. */
static int frame_parse(const uint8_t *p, size_t len, frame_t *f, const char **err)
{
    if (len < 2)
        return 0;
    f->fin = p[0] >> 7;
    f->opcode = p[0] & 0x0f;
    if (p[1] & 0x80) {
        *err = "the server masked a frame";
        return -1;
    }
    size_t hlen = 2;
    uint64_t plen = p[1] & 0x7f;
    if (plen == 126) {
        if (len < 4)
            return 0;
        plen = (uint64_t)p[2] << 8 | p[3];
        hlen = 4;
    } else if (plen == 127) {
        if (len < 10)
            return 0;
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = plen << 8 | p[2 + i];
        hlen = 10;
    }
    if (plen > MAX_FRAME) {
        *err = "frame too long";
        return -1;
    }
    if (len - hlen < plen)
        return 0;
    f->payload = p + hlen;
    f->payload_len = plen;
    f->total = hlen + (size_t)plen;
    return 1;
}

/* Acts on one frame; returns 0, or -1 when the client is gone (closed or failed). */
static int client_on_frame(bench_t *b, client_t *c, const frame_t *f, const read_time_t *now)
{
    size_t len = (size_t)f->payload_len;
    switch (f->opcode) {
    case OP_TEXT:
    case OP_BINARY:
        if (!f->fin) {
            /* neither server fragments its messages; say so rather than miscount if one starts to */
            client_fail(b, c, "fragmented message (not supported by this client)");
            return -1;
        }
        client_on_message(b, c, f->payload, len, now);
        return 0;
    case OP_PING:
        if (len > 125) {
            client_fail(b, c, "ping payload over 125 bytes");
            return -1;
        }
        client_send_pong(b, c, f->payload, len);
        return c->state == CL_CLOSED ? -1 : 0;
    case OP_PONG:
        return 0;
    case OP_CLOSE: {
        int code = len >= 2 ? f->payload[0] << 8 | f->payload[1] : 1005;
        char why[160];
        snprintf(why, sizeof(why), "close frame %d \"%.*s\"", code, (int)(len > 2 ? len - 2 : 0),
                 (const char *)f->payload + 2);
        if (b->first_close_code == 0)
            b->first_close_code = code;
        client_fail(b, c, why);
        return -1;
    }
    default:
        client_fail(b, c, f->opcode == OP_CONT ? "unexpected continuation frame" : "unknown opcode");
        return -1;
    }
}

/* Handles the whole frames in p[0..len); returns the bytes they took, or -1 when the client is gone. */
static ssize_t client_parse_frames(bench_t *b, client_t *c, const uint8_t *p, size_t len, const read_time_t *now)
{
    size_t off = 0;
    for (;;) {
        frame_t f;
        const char *err = NULL;
        int rc = frame_parse(p + off, len - off, &f, &err);
        if (rc == 0)
            return (ssize_t)off;
        if (rc < 0) {
            client_fail(b, c, err);
            return -1;
        }
        if (client_on_frame(b, c, &f, now) != 0)
            return -1;
        off += f.total;
    }
}

static void ensure_scratch(bench_t *b, size_t need)
{
    if (b->scratch_cap >= need)
        return;
    b->scratch = xrealloc(b->scratch, need);
    b->scratch_cap = need;
}

/*
 * One read per readiness (level-triggered, so a busy client cannot starve the others). The tail the previous
 * read left goes first into the scratch buffer, so a frame cut across reads is parsed as one piece.
 */
static void client_on_readable(bench_t *b, client_t *c)
{
    ensure_scratch(b, c->tail_len + READ_CHUNK);
    memcpy(b->scratch, c->tail, c->tail_len);
    ssize_t n = read(c->fd, b->scratch + c->tail_len, b->scratch_cap - c->tail_len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        client_fail(b, c, n == 0 ? "connection closed by the server" : strerror(errno));
        return;
    }
    read_time_t now = {wall_us(), mono_us()}; /* every frame of this read had arrived by now */
    size_t len = c->tail_len + (size_t)n, used = 0;
    if (c->state == CL_UPGRADING) {
        used = client_parse_upgrade(b, c, b->scratch, len);
        if (c->state == CL_CLOSED)
            return;
    }
    if (c->state == CL_OPEN) {
        ssize_t took = client_parse_frames(b, c, b->scratch + used, len - used, &now);
        if (took < 0)
            return;
        used += (size_t)took;
    }
    c->tail_len = 0;
    buf_append(&c->tail, &c->tail_len, &c->tail_cap, b->scratch + used, len - used);
}

/* ---- the event loop --------------------------------------------------------------------------------------- */

typedef int (*until_fn)(const bench_t *b);

/* Runs the loop until `until` holds or `deadline` (monotonic us) passes; returns 1 when `until` held. */
static int run_until(bench_t *b, until_fn until, int64_t deadline, const struct sockaddr_in *addr)
{
    struct epoll_event events[EPOLL_BATCH];
    while (!until(b)) {
        if (addr)
            start_more_clients(b, addr);
        int64_t left = deadline - mono_us();
        if (left <= 0)
            return 0;
        int n = epoll_wait(b->epfd, events, EPOLL_BATCH, left > 100000 ? 100 : (int)(left / 1000) + 1);
        if (n < 0 && errno != EINTR)
            die("epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            client_t *c = events[i].data.ptr;
            if (c->state == CL_CLOSED)
                continue; /* failed earlier in this batch */
            if (c->state == CL_CONNECTING) {
                client_on_connected(b, c);
                continue;
            }
            if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                client_on_readable(b, c);
            if (c->state != CL_CLOSED && (events[i].events & EPOLLOUT))
                client_flush(b, c);
        }
    }
    return 1;
}

static int all_ready(const bench_t *b)
{
    return b->upgraded == b->opt.clients && (b->opt.no_snapshot || b->snapshots == b->opt.clients);
}

static int all_done(const bench_t *b) { return b->done + b->closed >= b->opt.clients; }

/* ---- the burst request ------------------------------------------------------------------------------------ */

/* POST /bench/burst on a connection of its own; the server answers 202 at once and emits from its loop. */
static void trigger_burst(const options_t *o, const struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket: %s", strerror(errno));
    struct timeval tv = {.tv_sec = 10}; /* blocking is fine here; hanging is not */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) != 0)
        die("POST /bench/burst: connect: %s", strerror(errno));
    char body[128], req[512];
    int blen = snprintf(body, sizeof(body), "{\"count\":%ld,\"size\":%ld,\"per_tick\":%d}", o->messages, o->size,
                        o->per_tick);
    int n = snprintf(req, sizeof(req),
                     "POST /bench/burst HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                     "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                     o->host, o->port, blen, body);
    if (write(fd, req, (size_t)n) != n)
        die("POST /bench/burst: write: %s", strerror(errno));
    char resp[512];
    size_t got = 0;
    while (got < sizeof(resp) - 1 && memmem(resp, got, "\r\n", 2) == NULL) {
        ssize_t r = read(fd, resp + got, sizeof(resp) - 1 - got);
        if (r <= 0)
            die("POST /bench/burst: no answer (%s)", r == 0 ? "closed" : strerror(errno));
        got += (size_t)r;
    }
    resp[got] = '\0';
    if (strncmp(resp, "HTTP/1.1 2", 10) != 0)
        die("POST /bench/burst: %.*s (is BENCH_EVENTS=1 set?)", (int)strcspn(resp, "\r\n"), resp);
    close(fd);
}

/* ---- main ------------------------------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: ws_fanout --port P [--host 127.0.0.1] [--clients N] [--messages M] [--size S]\n"
                    "                 [--per-tick T] [--pid SERVER_PID] [--timeout SECONDS] [--label NAME]\n"
                    "                 [--no-snapshot] [--no-burst] [--ready-file PATH] [--wait-file PATH]\n"
                    "  --no-burst: another process asks a server for the burst (replicas: clients of one, events\n"
                    "  emitted on another); --ready-file: created once every client is ready; --wait-file: the burst\n"
                    "  is asked for only once this file exists\n");
    exit(2);
}

static long parse_num(const char *s, const char *name, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        die("%s must be a whole number in %ld..%ld: %s", name, lo, hi, s);
    return v;
}

static options_t parse_options(int argc, char **argv)
{
    options_t o = {.host = "127.0.0.1", .label = "ws", .clients = 100, .messages = 1000, .size = 200,
                   .per_tick = 16, .timeout = 60};
    static const struct option longopts[] = {
        {"host", required_argument, 0, 'h'},     {"port", required_argument, 0, 'p'},
        {"clients", required_argument, 0, 'c'},  {"messages", required_argument, 0, 'm'},
        {"size", required_argument, 0, 's'},     {"per-tick", required_argument, 0, 't'},
        {"pid", required_argument, 0, 'P'},      {"timeout", required_argument, 0, 'T'},
        {"label", required_argument, 0, 'l'},    {"no-snapshot", no_argument, 0, 'n'},
        {"no-burst", no_argument, 0, 'B'},       {"ready-file", required_argument, 0, 'R'},
        {"wait-file", required_argument, 0, 'W'},
        {0, 0, 0, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h': o.host = optarg; break;
        case 'p': o.port = (int)parse_num(optarg, "--port", 1, 65535); break;
        case 'c': o.clients = (int)parse_num(optarg, "--clients", 1, 1000000); break;
        case 'm': o.messages = parse_num(optarg, "--messages", 1, 10000000); break;
        case 's': o.size = parse_num(optarg, "--size", 0, 65536); break;
        case 't': o.per_tick = (int)parse_num(optarg, "--per-tick", 1, 4096); break;
        case 'P': o.pid = (int)parse_num(optarg, "--pid", 1, 1L << 30); break;
        case 'T': o.timeout = (double)parse_num(optarg, "--timeout", 1, 86400); break;
        case 'l': o.label = optarg; break;
        case 'n': o.no_snapshot = 1; break;
        case 'B': o.no_burst = 1; break;
        case 'R': o.ready_file = optarg; break;
        case 'W': o.wait_file = optarg; break;
        default: usage();
        }
    }
    if (optind != argc || o.port == 0)
        usage();
    return o;
}

static void print_rss(const char *key, double mb)
{
    if (mb < 0)
        printf(" %s=-", key);
    else
        printf(" %s=%.1f", key, mb);
}

int main(int argc, char **argv)
{
    bench_t b = {.opt = parse_options(argc, argv), .burst_wall_us = INT64_MAX};
    const options_t *o = &b.opt;
    signal(SIGPIPE, SIG_IGN); /* a server that goes away shows as a failed write, not a dead client */
    srand((unsigned)getpid());
    raise_nofile(o->clients);
    struct sockaddr_in addr = server_addr(o);
    b.epfd = epoll_create1(EPOLL_CLOEXEC);
    b.clients = calloc((size_t)o->clients, sizeof(*b.clients));
    b.hist = calloc(HIST_MAX_US + 1, sizeof(*b.hist)); /* 40 MB of address space; only used pages cost */
    if (b.epfd < 0 || b.clients == NULL || b.hist == NULL)
        die("setting up: %s", strerror(errno));

    int64_t timeout_us = (int64_t)(o->timeout * 1e6);
    if (!run_until(&b, all_ready, mono_us() + timeout_us, &addr))
        die("timed out connecting: %d of %d upgraded, %d snapshots", b.upgraded, o->clients, b.snapshots);
    double rss_connected = read_rss_mb(o->pid);

    if (o->ready_file) {
        FILE *rf = fopen(o->ready_file, "w");
        if (rf == NULL)
            die("cannot create %s: %s", o->ready_file, strerror(errno));
        fclose(rf);
    }
    for (int64_t until = mono_us() + timeout_us; o->wait_file && access(o->wait_file, F_OK) != 0;) {
        if (mono_us() > until)
            die("timed out waiting for %s", o->wait_file);
        usleep(10000);
    }
    int64_t cpu0 = read_cpu_ns(o->pid);
    int64_t t0 = mono_us();
    b.burst_wall_us = wall_us();
    if (!o->no_burst)
        trigger_burst(o, &addr);
    int finished = run_until(&b, all_done, t0 + timeout_us, NULL);
    if (o->no_burst && b.first_t_us > 0) /* the burst began elsewhere: count from its first event's emit time */
        t0 += b.first_t_us > b.burst_wall_us ? b.first_t_us - b.burst_wall_us : 0;
    if (!finished)
        fprintf(stderr, "ws_fanout: timed out after %.0f s: %d of %d clients have every message\n", o->timeout,
                b.done, o->clients);
    double rss_after = read_rss_mb(o->pid);
    int64_t cpu1 = read_cpu_ns(o->pid);

    uint64_t missing = 0;
    for (int i = 0; i < o->clients; i++)
        if (b.clients[i].messages < o->messages)
            missing += (uint64_t)(o->messages - b.clients[i].messages);
    double seconds = b.delivered ? (double)(b.last_delivery_mono_us - t0) / 1e6 : 0;
    printf("label=%s clients=%d messages=%ld size=%ld delivered=%" PRIu64 " seconds=%.2f deliveries_per_s=%.0f"
           " p50_ms=%.2f p99_ms=%.2f",
           o->label, o->clients, o->messages, o->size, b.delivered, seconds,
           seconds > 0 ? (double)b.delivered / seconds : 0.0, hist_quantile_ms(&b, 0.50), hist_quantile_ms(&b, 0.99));
    print_rss("rss_mb", rss_connected);
    printf(" missing=%" PRIu64 " max_ms=%.2f", missing, (double)b.hist_max_us / 1000.0);
    print_rss("rss_after_mb", rss_after);
    /* the server's CPU time over the burst per delivery: steadier than deliveries/s on a shared machine */
    if (cpu0 >= 0 && cpu1 >= cpu0 && b.delivered)
        printf(" cpu_ns_per_delivery=%.0f", (double)(cpu1 - cpu0) / (double)b.delivered);
    else
        printf(" cpu_ns_per_delivery=-");
    printf(" closed=%d out_of_order=%" PRIu64 " seq_gaps=%" PRIu64 " stale=%" PRIu64 "\n", b.closed, b.out_of_order,
           b.seq_gaps, b.stale);
    if (b.closed && b.first_close_code)
        fprintf(stderr, "ws_fanout: %d clients closed early, first close code %d\n", b.closed, b.first_close_code);
    fflush(stdout);

    for (int i = 0; i < b.started; i++) {
        if (b.clients[i].state != CL_CLOSED)
            close(b.clients[i].fd);
        free(b.clients[i].tail);
        free(b.clients[i].out);
    }
    free(b.clients);
    free(b.hist);
    free(b.scratch);
    close(b.epfd);
    return (b.closed || missing || b.out_of_order || b.seq_gaps) ? 1 : 0;
}
