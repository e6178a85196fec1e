/*
 * The listening socket, accepted by hand on a uv_poll_t so that running out of descriptors is seen: libuv's own
 * listener hides EMFILE (it closes the waiting clients with its spare descriptor and calls nobody). Here the same
 * is done with a spare of our own, and each failure is counted and logged (fd_limit.h).
 */
#ifndef HTTP_LISTENER_H
#define HTTP_LISTENER_H

#include <sys/socket.h>
#include <uv.h>

#include "http/fd_limit.h"

#define LISTENER_BACKLOG 511

/** Called with each accepted connection (non-blocking, close-on-exec); the callee owns `fd`. */
typedef void (*listener_accept_fn)(void *data, int fd);

typedef struct listener {
    uv_poll_t poll;
    int fd;    /* the listening socket */
    int spare; /* held for accepting and closing clients when out of descriptors (-1 if it could not be had) */
    fd_limit_t *fd_limit;
    listener_accept_fn on_accept;
    void *data;
} listener_t;

/** Binds and listens on `addr`. Returns 0, or a negative errno (then nothing is left open). */
int listener_start(listener_t *l, uv_loop_t *loop, const struct sockaddr *addr, fd_limit_t *fd_limit,
                   listener_accept_fn on_accept, void *data);
/** Stops accepting and closes the socket (the handle closes on the loop). */
void listener_close(listener_t *l);

#endif
