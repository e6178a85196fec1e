/* The embedded web files: the dashboard at /, the API document at /openapi.json and its page at /docs. */
#include <stdio.h>
#include <string.h>

#include "http/reply.h"
#include "http/routes.h"
#include "http/web_assets.h"

/* A page may use only what it was served with, and open a stream to where it came from. */
#define PAGE_POLICY                                                                                                    \
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "        \
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

static const struct {
    const char *path, *file;
} aliases[] = {{"/", "/index.html"}, {"/docs", "/docs.html"}};

static const char *content_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {{".html", "text/html; charset=utf-8"},
                 {".js", "text/javascript; charset=utf-8"},
                 {".css", "text/css; charset=utf-8"},
                 {".json", "application/json; charset=utf-8"},
                 {".svg", "image/svg+xml"},
                 {".png", "image/png"}};
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

const web_asset_t *route_static_find(h2o_iovec_t path)
{
    char want[128];
    if (path.len == 0 || path.len >= sizeof(want))
        return NULL;
    memcpy(want, path.base, path.len);
    want[path.len] = '\0';
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (strcmp(want, aliases[i].path) == 0)
            snprintf(want, sizeof(want), "%s", aliases[i].file);
    for (const web_asset_t *a = web_assets; a->path; a++)
        if (strcmp(a->path, want) == 0)
            return a;
    return NULL;
}

/* A strong validator computed once per file (FNV-1a over its bytes). */
static void etag_of(const web_asset_t *asset, char out[24])
{
    static struct {
        const web_asset_t *asset;
        char tag[24];
    } cache[64];
    for (size_t i = 0; i < sizeof(cache) / sizeof(cache[0]); i++) {
        if (cache[i].asset == asset) {
            memcpy(out, cache[i].tag, 24);
            return;
        }
        if (cache[i].asset == NULL) {
            uint64_t h = 1469598103934665603ull;
            for (size_t k = 0; k < asset->size; k++)
                h = (h ^ asset->data[k]) * 1099511628211ull;
            snprintf(cache[i].tag, sizeof(cache[i].tag), "\"%016llx\"", (unsigned long long)h);
            cache[i].asset = asset;
            memcpy(out, cache[i].tag, 24);
            return;
        }
    }
    snprintf(out, 24, "\"%zx\"", asset->size);
}

void route_static(http_server_t *srv, h2o_req_t *req, const web_asset_t *asset)
{
    (void)srv;
    char etag[24];
    etag_of(asset, etag);
    reply_header(req, "etag", etag);
    reply_header(req, "x-content-type-options", "nosniff");
    reply_header(req, "referrer-policy", "no-referrer");
    const char *type = content_type(asset->path);
    if (strncmp(type, "text/html", 9) == 0)
        reply_header(req, "content-security-policy", PAGE_POLICY);
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, -1);
    if (i >= 0 &&
        h2o_memis(req->headers.entries[i].value.base, req->headers.entries[i].value.len, etag, strlen(etag))) {
        reply_send(req, 304, NULL, NULL, 0);
        return;
    }
    reply_send(req, 200, type, (const char *)asset->data, asset->size);
}
