/*
 * IP addresses and CIDR ranges (IPv4 and IPv6) as 16-byte keys: an IPv4 address is ::ffff:a.b.c.d and a.b.c.d/n
 * is ::ffff:a.b.c.d/(96 + n), so IPv4 clients seen on a dual-stack socket match IPv4 ranges.
 */
#ifndef UTIL_CIDR_H
#define UTIL_CIDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CIDR_LIST_MAX 32

typedef struct cidr {
    uint8_t addr[16];
    int bits; /* 0..128 over the 16-byte form */
} cidr_t;

typedef struct cidr_list {
    int count;
    cidr_t items[CIDR_LIST_MAX];
} cidr_list_t;

/** Parses an IPv4 or IPv6 address of `len` bytes (no port, no brackets). Returns 0, or -1 when it is not one. */
int cidr_addr_parse(const char *s, size_t len, uint8_t out[16]);

/**
 * Parses a comma-separated list of addresses and ranges ("10.0.0.0/8, ::1, 2001:db8::/32"); empty text is an
 * empty list. Returns 0, or -1 with `err` naming the bad item.
 */
int cidr_list_parse(const char *text, cidr_list_t *out, char *err, size_t errlen);

/** 1 when `addr` lies in one of the ranges of `list`. */
int cidr_list_contains(const cidr_list_t *list, const uint8_t addr[16]);

/** The 16-byte form of an AF_INET or AF_INET6 socket address (zeros for anything else). */
void cidr_from_sockaddr(const struct sockaddr *sa, uint8_t out[16]);

/** An AF_INET6 socket address (port 0) holding `addr`. */
void cidr_to_sockaddr(const uint8_t addr[16], struct sockaddr_storage *out);

#endif
