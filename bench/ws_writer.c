/*
 * ws_writer: a bare batched WebSocket broadcaster, the floor the service's stream is compared with.
 *
 * One thread, one epoll set, nothing else: it accepts WebSocket clients on GET /api/v1/pipeline/stream (any
 * other GET gets 200 "{}" so /health probes work), sends each a short status message, and on
 * POST /bench/burst {"count","size","per_tick"} answers 202 and then, per loop iteration, formats `per_tick`
 * log events exactly as the service does (same JSON, same frame bytes), appends them to every client's buffer
 * and writes each client's buffer with one writev, the same batching as the service. A client whose socket is
 * full keeps its bytes and waits for EPOLLOUT. What it does not do: parse client frames, keep a replay ring,
 * bound queues, answer pings: the costs the service has beyond moving the bytes.
 *
 *   cc -O2 -Wall -Wextra -Werror -o build/bench/ws_writer bench/ws_writer.c
 *   ws_writer PORT      (then drive it with build/bench/ws_fanout --port PORT ...)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define WS_ACCEPT_FOR_RFC_KEY "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" /* ws_fanout sends the RFC 6455 sample key */
#define MAX_CONNS             65536
#define HEAD_MAX              8192

typedef struct conn {
    int fd, ws;
    char head[HEAD_MAX];
    size_t head_len;
    char *out; /* bytes not yet written */
    size_t out_len, out_cap, out_off;
    int want_out;
} conn_t;

static conn_t *conns[MAX_CONNS];
static int epfd;
static uint64_t seq, burst_next, burst_count;
static size_t burst_size;
static int burst_per_tick;
static char *padding;

static void die(const char *what)
{
    perror(what);
    exit(2);
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void out_append(conn_t *c, const void *p, size_t n)
{
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n)
            cap *= 2;
        c->out = realloc(c->out, cap);
        if (!c->out)
            die("realloc");
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}

static void conn_close(conn_t *c)
{
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    conns[c->fd] = NULL;
    free(c->out);
    free(c);
}

static void set_out_interest(conn_t *c, int want)
{
    if (c->want_out == want)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.fd = c->fd};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = want;
}

/* One write of everything pending; the rest waits for EPOLLOUT. */
static void conn_flush(conn_t *c)
{
    if (c->out_off == c->out_len)
        return;
    ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
    if (n < 0 && errno != EAGAIN) {
        conn_close(c);
        return;
    }
    if (n > 0)
        c->out_off += (size_t)n;
    if (c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
        set_out_interest(c, 0);
    } else {
        set_out_interest(c, 1);
    }
}

/* A text frame header (server frames are not masked). */
static size_t frame_header(uint8_t *h, size_t len)
{
    h[0] = 0x81;
    if (len < 126) {
        h[1] = (uint8_t)len;
        return 2;
    }
    if (len < 65536) {
        h[1] = 126;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
        return 4;
    }
    h[1] = 127;
    for (int i = 0; i < 8; i++)
        h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    return 10;
}

static void send_text(conn_t *c, const char *text, size_t len)
{
    uint8_t h[10];
    size_t hl = frame_header(h, len);
    out_append(c, h, hl);
    out_append(c, text, len);
}

static void on_request(conn_t *c)
{
    char *end = memmem(c->head, c->head_len, "\r\n\r\n", 4);
    if (!end)
        return;
    size_t head_len = (size_t)(end - c->head) + 4;
    if (strncmp(c->head, "GET /api/v1/pipeline/stream", 27) == 0) {
        static const char resp[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                   "Sec-WebSocket-Accept: " WS_ACCEPT_FOR_RFC_KEY "\r\n\r\n";
        out_append(c, resp, sizeof(resp) - 1);
        c->ws = 1;
        char status[160];
        int n = snprintf(status, sizeof(status), "{\"type\":\"status\",\"data\":{\"active\":false},\"seq\":%llu}",
                         (unsigned long long)seq);
        send_text(c, status, (size_t)n);
    } else if (strncmp(c->head, "POST /bench/burst", 17) == 0) {
        /* the body is small and came with the head (ws_fanout writes it in one go) */
        const char *body = end + 4, *p;
        size_t body_len = c->head_len - head_len;
        char tmp[256];
        snprintf(tmp, sizeof(tmp), "%.*s", (int)(body_len < 255 ? body_len : 255), body);
        burst_count = (p = strstr(tmp, "\"count\"")) ? strtoull(strchr(p, ':') + 1, NULL, 10) : 1000;
        burst_size = (p = strstr(tmp, "\"size\"")) ? strtoull(strchr(p, ':') + 1, NULL, 10) : 200;
        burst_per_tick = (p = strstr(tmp, "\"per_tick\"")) ? atoi(strchr(p, ':') + 1) : 16;
        if (burst_per_tick < 1)
            burst_per_tick = 1;
        free(padding);
        padding = malloc(burst_size + 1);
        memset(padding, 'x', burst_size);
        padding[burst_size] = 0;
        burst_next = 0;
        static const char resp[] = "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                                   "Connection: close\r\n\r\n{}";
        out_append(c, resp, sizeof(resp) - 1);
    } else {
        static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                                   "Connection: close\r\n\r\n{}";
        out_append(c, resp, sizeof(resp) - 1);
    }
    c->head_len = 0;
    conn_flush(c);
}

static void on_readable(conn_t *c)
{
    char buf[4096];
    ssize_t n = read(c->fd, buf, sizeof(buf));
    if (n == 0 || (n < 0 && errno != EAGAIN)) {
        conn_close(c);
        return;
    }
    if (n < 0 || c->ws)
        return; /* frames from clients are ignored */
    size_t take = (size_t)n < HEAD_MAX - c->head_len ? (size_t)n : HEAD_MAX - c->head_len;
    memcpy(c->head + c->head_len, buf, take);
    c->head_len += take;
    on_request(c);
}

/* One tick: per_tick events, formatted as the service formats them, to every client, one write each. */
static void burst_tick(void)
{
    static char *text;
    static size_t text_cap;
    size_t need = burst_size + 400;
    if (text_cap < need) {
        text = realloc(text, need);
        text_cap = need;
    }
    uint8_t *batch = NULL;
    size_t batch_len = 0, batch_cap = 0;
    for (int k = 0; k < burst_per_tick && burst_next < burst_count; k++, burst_next++) {
        int64_t t = now_us();
        time_t secs = (time_t)(t / 1000000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        int n = snprintf(text, text_cap,
                         "{\"type\":\"log\",\"data\":{\"lines\":[{\"message\":\"%s\",\"timestamp\":null,\"source\":"
                         "\"bench\",\"stream\":\"stdout\"}],\"bench\":{\"i\":%llu,\"n\":%llu,\"t_us\":%lld}},"
                         "\"timestamp\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",\"run_id\":\"none\",\"seq\":%llu}",
                         padding, (unsigned long long)burst_next, (unsigned long long)burst_count, (long long)t,
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                         (int)(t / 1000 % 1000), (unsigned long long)++seq);
        uint8_t h[10];
        size_t hl = frame_header(h, (size_t)n);
        if (batch_len + hl + (size_t)n > batch_cap) {
            batch_cap = (batch_len + hl + (size_t)n) * 2;
            batch = realloc(batch, batch_cap);
        }
        memcpy(batch + batch_len, h, hl);
        memcpy(batch + batch_len + hl, text, (size_t)n);
        batch_len += hl + (size_t)n;
    }
    for (int fd = 0; fd < MAX_CONNS; fd++) {
        conn_t *c = conns[fd];
        if (c && c->ws) {
            out_append(c, batch, batch_len);
            conn_flush(c);
        }
    }
    free(batch);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: ws_writer PORT\n", stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(lfd, 511) != 0)
        die("bind/listen");
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
    struct epoll_event events[1024];
    for (;;) {
        int busy = burst_next < burst_count;
        int n = epoll_wait(epfd, events, 1024, busy ? 0 : -1);
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == lfd) {
                int cfd;
                while ((cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    if (cfd >= MAX_CONNS) {
                        close(cfd);
                        continue;
                    }
                    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    conn_t *c = calloc(1, sizeof(*c));
                    c->fd = cfd;
                    conns[cfd] = c;
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = cfd};
                    epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &cev);
                }
                continue;
            }
            conn_t *c = conns[fd];
            if (!c)
                continue;
            if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                on_readable(c);
            if ((c = conns[fd]) && (events[i].events & EPOLLOUT))
                conn_flush(c);
        }
        if (burst_next < burst_count)
            burst_tick();
    }
}
