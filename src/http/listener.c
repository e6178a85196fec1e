#include "http/listener.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <unistd.h>

#define ACCEPTS_PER_WAKEUP 128 /* then the loop serves everything else before accepting more */

static int open_spare(void)
{
    return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Out of descriptors: use the spare one to accept every waiting client and close it at once, so none of them
 * hangs in the backlog, then take the spare back. */
static void shed_waiting_clients(listener_t *l)
{
    if (l->spare >= 0) {
        close(l->spare);
        l->spare = -1;
    }
    for (;;) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0)
            close(fd);
        else if (errno != EINTR && errno != ECONNABORTED)
            break;
    }
    l->spare = open_spare();
}

static void on_readable(uv_poll_t *poll, int status, int events)
{
    (void)events;
    listener_t *l = poll->data;
    if (status != 0)
        return;
    for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            l->on_accept(l->data, fd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        fd_limit_accept_failed(l->fd_limit, -errno, uv_now(poll->loop));
        if (errno == EMFILE || errno == ENFILE)
            shed_waiting_clients(l);
        return;
    }
}

int listener_start(listener_t *l, uv_loop_t *loop, const struct sockaddr *addr, fd_limit_t *fd_limit,
                   listener_accept_fn on_accept, void *data)
{
    l->fd_limit = fd_limit;
    l->on_accept = on_accept;
    l->data = data;
    l->spare = -1;
    l->fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->fd < 0)
        return -errno;
    int one = 1;
    setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    socklen_t len = addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int rc = 0;
    if (bind(l->fd, addr, len) != 0 || listen(l->fd, LISTENER_BACKLOG) != 0)
        rc = -errno;
    if (rc == 0)
        rc = uv_poll_init(loop, &l->poll, l->fd);
    if (rc != 0) {
        close(l->fd);
        l->fd = -1;
        return rc;
    }
    l->poll.data = l;
    l->spare = open_spare();
    uv_poll_start(&l->poll, UV_READABLE, on_readable);
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    listener_t *l = h->data;
    close(l->fd);
    l->fd = -1;
    if (l->spare >= 0)
        close(l->spare);
    l->spare = -1;
}

void listener_close(listener_t *l)
{
    uv_close((uv_handle_t *)&l->poll, on_closed);
}
