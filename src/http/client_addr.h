/*
 * Who the client is. The peer of the connection, unless that peer is a trusted proxy (TRUSTED_PROXIES): then the
 * right-most X-Forwarded-For address that is not itself a trusted proxy (each proxy appends the address it saw,
 * so everything left of the first untrusted hop may be forged by the client).
 */
#ifndef HTTP_CLIENT_ADDR_H
#define HTTP_CLIENT_ADDR_H

#include <h2o.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/cidr.h"

/**
 * The client address given the peer and the X-Forwarded-For values (`xff`, `len` bytes: every such header joined
 * with commas, in order; NULL when none). An entry that is not an address stops the walk at the hop to its right.
 */
void client_addr_resolve(const uint8_t peer[16], const char *xff, size_t len, const cidr_list_t *trusted,
                         uint8_t out[16]);

/** The client address of `req` (an AF_INET6 address; IPv4 as ::ffff:a.b.c.d). */
void client_addr_of(h2o_req_t *req, const cidr_list_t *trusted, struct sockaddr_storage *out);

/**
 * What one client is counted as, by the rate limit and the stream's per-address cap: an IPv4 address (as
 * ::ffff:a.b.c.d), or the /64 of an IPv6 address (the rest zeros: one host usually holds a whole /64).
 */
void client_addr_key(const struct sockaddr *sa, uint8_t key[16]);

#endif
