#include "store/redis_url.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* Copies s[0..len) into out, decoding %XX; -1 when it does not fit or an escape is bad. */
static int copy_decoded(char *out, size_t cap, const char *s, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0 || o + 1 >= cap)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

static int parse_number(const char *s, size_t len, long min, long max, int *out)
{
    if (len == 0 || len > 9)
        return -1;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

int redis_url_parse(const char *url, redis_url_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->port = 6379;
    const char *bad = NULL;
    if (strncmp(url, "redis://", 8) != 0) {
        bad = "it must start with redis://";
        goto fail;
    }
    const char *p = url + 8, *end = p + strlen(p);
    const char *slash = memchr(p, '/', (size_t)(end - p));
    const char *auth_end = memchr(p, '@', (size_t)((slash ? slash : end) - p));
    if (auth_end) {
        const char *colon = memchr(p, ':', (size_t)(auth_end - p));
        if (colon == NULL) {
            bad = "credentials must be user:password@ or :password@";
            goto fail;
        }
        if (copy_decoded(out->user, sizeof(out->user), p, (size_t)(colon - p)) != 0 ||
            copy_decoded(out->password, sizeof(out->password), colon + 1, (size_t)(auth_end - colon - 1)) != 0) {
            bad = "the user or password is malformed or too long";
            goto fail;
        }
        p = auth_end + 1;
    }
    const char *host_end = slash ? slash : end;
    const char *colon = NULL;
    if (*p == '[') { /* [IPv6]:port */
        const char *close = memchr(p, ']', (size_t)(host_end - p));
        if (close == NULL) {
            bad = "an IPv6 host needs its closing ]";
            goto fail;
        }
        if ((size_t)(close - p - 1) >= sizeof(out->host) || close == p + 1) {
            bad = "the host is empty or too long";
            goto fail;
        }
        memcpy(out->host, p + 1, (size_t)(close - p - 1));
        if (close + 1 < host_end) {
            if (close[1] != ':') {
                bad = "expected :port after the IPv6 host";
                goto fail;
            }
            colon = close + 1;
        }
    } else {
        colon = memchr(p, ':', (size_t)(host_end - p));
        const char *h_end = colon ? colon : host_end;
        if (h_end == p || (size_t)(h_end - p) >= sizeof(out->host)) {
            bad = "the host is empty or too long";
            goto fail;
        }
        memcpy(out->host, p, (size_t)(h_end - p));
    }
    if (colon && parse_number(colon + 1, (size_t)(host_end - colon - 1), 1, 65535, &out->port) != 0) {
        bad = "the port must be a number from 1 to 65535";
        goto fail;
    }
    if (slash && slash + 1 < end && parse_number(slash + 1, (size_t)(end - slash - 1), 0, 100000, &out->db) != 0) {
        bad = "the database must be a number";
        goto fail;
    }
    return 0;
fail:
    snprintf(err, errlen, "REDIS_URL is invalid: %s (expected redis://[user:password@]host:port/db)", bad);
    return -1;
}
