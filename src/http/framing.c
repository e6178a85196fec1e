#include "http/framing.h"

#include <string.h>

/* picohttpparser's API; libh2o exports these symbols but Debian does not ship the header */
struct phr_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};
int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len, const char **path,
                      size_t *path_len, int *minor_version, struct phr_header *headers, size_t *num_headers,
                      size_t last_len);

static int name_is(const struct phr_header *h, const char *name)
{
    return h->name != NULL && h2o_lcstris(h->name, h->name_len, name, strlen(name));
}

int http_framing_check_head(const char *buf, size_t len, const char **detail)
{
    const char *method, *path;
    size_t method_len, path_len, nheaders = H2O_MAX_HEADERS;
    int minor;
    struct phr_header headers[H2O_MAX_HEADERS];
    if (len > H2O_MAX_REQLEN)
        len = H2O_MAX_REQLEN;
    int head_len = phr_parse_request(buf, len, &method, &method_len, &path, &path_len, &minor, headers, &nheaders, 0);
    if (head_len <= 0) {
        *detail = "Malformed request head";
        return 400;
    }
    if (head_len > HTTP_MAX_HEAD) {
        *detail = "Request header fields too large";
        return 431;
    }
    const struct phr_header *length = NULL;
    int encodings = 0;
    for (size_t i = 0; i < nheaders; i++) {
        const struct phr_header *h = &headers[i];
        if (name_is(h, "transfer-encoding")) {
            encodings++;
        } else if (name_is(h, "content-length")) {
            if (length && !h2o_memis(length->value, length->value_len, h->value, h->value_len)) {
                *detail = "Conflicting Content-Length headers";
                return 400;
            }
            length = h;
        }
    }
    if (encodings > 0 && length != NULL) {
        *detail = "Content-Length together with Transfer-Encoding";
        return 400;
    }
    if (encodings > 1) {
        *detail = "More than one Transfer-Encoding header";
        return 400;
    }
    return 0;
}

int http_framing_check(h2o_req_t *req, const char **detail)
{
    if (req->version >= 0x200 || req->conn->callbacks->get_socket == NULL)
        return 0;
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    if (sock == NULL || sock->input == NULL || sock->input->size == 0)
        return 0;
    return http_framing_check_head(sock->input->bytes, sock->input->size, detail);
}
