#include "util/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int cidr_addr_parse(const char *s, size_t len, uint8_t out[16])
{
    char buf[INET6_ADDRSTRLEN + 1];
    if (len == 0 || len >= sizeof(buf) || memchr(s, '\0', len) != NULL)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    struct in_addr a4;
    if (inet_pton(AF_INET, buf, &a4) == 1) {
        memcpy(out, v4mapped, 12);
        memcpy(out + 12, &a4, 4);
        return 0;
    }
    return inet_pton(AF_INET6, buf, out) == 1 ? 0 : -1;
}

static int parse_item(const char *s, size_t len, cidr_t *out)
{
    const char *slash = memchr(s, '/', len);
    size_t alen = slash ? (size_t)(slash - s) : len;
    if (cidr_addr_parse(s, alen, out->addr) != 0)
        return -1;
    int is_v4 = memchr(s, ':', alen) == NULL;
    int max = is_v4 ? 32 : 128, bits = max;
    if (slash) {
        const char *p = slash + 1, *end = s + len;
        if (p == end || end - p > 3)
            return -1;
        bits = 0;
        for (; p < end; p++) {
            if (*p < '0' || *p > '9')
                return -1;
            bits = bits * 10 + (*p - '0');
        }
        if (bits > max)
            return -1;
    }
    out->bits = is_v4 ? 96 + bits : bits;
    return 0;
}

int cidr_list_parse(const char *text, cidr_list_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    for (const char *p = text; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        const char *end = p;
        while (*end && *end != ',' && *end != ' ' && *end != '\t')
            end++;
        if (out->count == CIDR_LIST_MAX) {
            snprintf(err, errlen, "more than %d ranges", CIDR_LIST_MAX);
            return -1;
        }
        if (parse_item(p, (size_t)(end - p), &out->items[out->count]) != 0) {
            snprintf(err, errlen, "\"%.*s\" is not an IPv4 or IPv6 address or CIDR range", (int)(end - p), p);
            return -1;
        }
        out->count++;
        p = end;
    }
    return 0;
}

static int in_range(const cidr_t *c, const uint8_t addr[16])
{
    int full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->addr, addr, (size_t)full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (c->addr[full] & mask) == (addr[full] & mask);
}

int cidr_list_contains(const cidr_list_t *list, const uint8_t addr[16])
{
    for (int i = 0; i < list->count; i++)
        if (in_range(&list->items[i], addr))
            return 1;
    return 0;
}

void cidr_from_sockaddr(const struct sockaddr *sa, uint8_t out[16])
{
    memset(out, 0, 16);
    if (sa->sa_family == AF_INET6) {
        memcpy(out, ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr, 16);
    } else if (sa->sa_family == AF_INET) {
        memcpy(out, v4mapped, 12);
        memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    }
}

void cidr_to_sockaddr(const uint8_t addr[16], struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
    s6->sin6_family = AF_INET6;
    memcpy(s6->sin6_addr.s6_addr, addr, 16);
}
