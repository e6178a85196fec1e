#include "http/client_addr.h"

#include <string.h>

/* One X-Forwarded-For entry: an address, optionally "[v6]", "[v6]:port" or "v4:port". */
static int parse_entry(const char *s, size_t len, uint8_t out[16])
{
    while (len > 0 && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL)
            return -1;
        return cidr_addr_parse(s + 1, (size_t)(close - s - 1), out);
    }
    const char *colon = memchr(s, ':', len);
    if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)) == NULL)
        len = (size_t)(colon - s); /* a single colon: IPv4 with a port */
    return cidr_addr_parse(s, len, out);
}

void client_addr_resolve(const uint8_t peer[16], const char *xff, size_t len, const cidr_list_t *trusted,
                         uint8_t out[16])
{
    memcpy(out, peer, 16);
    if (xff == NULL || !cidr_list_contains(trusted, peer))
        return;
    size_t end = len;
    while (end > 0) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        uint8_t hop[16];
        if (parse_entry(xff + start, end - start, hop) != 0)
            return; /* garbage: the last trusted hop is as far as we can tell */
        memcpy(out, hop, 16);
        if (!cidr_list_contains(trusted, hop))
            return;
        end = start > 0 ? start - 1 : 0;
    }
}

void client_addr_of(h2o_req_t *req, const cidr_list_t *trusted, struct sockaddr_storage *out)
{
    struct sockaddr_storage peer_sa;
    memset(&peer_sa, 0, sizeof(peer_sa));
    req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&peer_sa);
    uint8_t peer[16], client[16];
    cidr_from_sockaddr((struct sockaddr *)&peer_sa, peer);
    if (trusted->count == 0 || !cidr_list_contains(trusted, peer)) {
        *out = peer_sa;
        return;
    }
    /* every X-Forwarded-For header, in order, as one list */
    size_t total = 0;
    for (size_t i = 0; i < req->headers.size; i++)
        if (h2o_lcstris(req->headers.entries[i].name->base, req->headers.entries[i].name->len,
                        H2O_STRLIT("x-forwarded-for")))
            total += req->headers.entries[i].value.len + 1;
    char *xff = NULL;
    size_t len = 0;
    if (total > 0) {
        xff = h2o_mem_alloc_pool(&req->pool, total);
        for (size_t i = 0; i < req->headers.size; i++) {
            const h2o_header_t *h = &req->headers.entries[i];
            if (!h2o_lcstris(h->name->base, h->name->len, H2O_STRLIT("x-forwarded-for")))
                continue;
            if (len > 0)
                xff[len++] = ',';
            memcpy(xff + len, h->value.base, h->value.len);
            len += h->value.len;
        }
    }
    client_addr_resolve(peer, xff, len, trusted, client);
    cidr_to_sockaddr(client, out);
}

void client_addr_key(const struct sockaddr *sa, uint8_t key[16])
{
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    uint8_t addr[16];
    cidr_from_sockaddr(sa, addr);
    memset(key, 0, 16);
    memcpy(key, addr, memcmp(addr, v4mapped, 12) == 0 ? 16 : 8);
}
