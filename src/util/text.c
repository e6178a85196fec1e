#include "util/text.h"

#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when the bytes there are not one. */
static size_t utf8_seq_len(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    size_t n;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

size_t text_sanitize_utf8(char *dst, size_t cap, const char *src, size_t len)
{
    static const char replacement[] = "\xef\xbf\xbd";
    const unsigned char *s = (const unsigned char *)src;
    size_t out = 0;
    if (cap == 0)
        return 0;
    if (len > 0 && s[len - 1] == '\r')
        len--;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq_len(s + i, len - i);
        const char *piece = (const char *)s + i;
        size_t plen = n;
        char space = ' ';
        if (n == 0) {
            piece = replacement, plen = 3, n = 1;
        } else if ((n == 1 && (s[i] < 0x20 || s[i] == 0x7f) && s[i] != '\t') ||
                   (n == 2 && s[i] == 0xc2 && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)) {
            piece = &space, plen = 1; /* C0 and C1 controls, DEL */
        }
        if (out + plen >= cap)
            break;
        memcpy(dst + out, piece, plen);
        out += plen;
        i += n;
    }
    dst[out] = '\0';
    return out;
}

int text_format_seconds(char *dst, size_t cap, double seconds)
{
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "%.9f", seconds);
    while (n > 1 && buf[n - 1] == '0')
        buf[--n] = '\0';
    if (n > 1 && buf[n - 1] == '.')
        buf[--n] = '\0';
    return snprintf(dst, cap, "%s", buf);
}

void text_trim_partial_utf8(char *s)
{
    size_t len = strlen(s), start = len;
    /* back over continuation bytes to the lead byte of the last sequence (at most 3 of them) */
    while (start > 0 && len - start < 4 && ((unsigned char)s[start - 1] & 0xc0) == 0x80)
        start--;
    if (start == 0)
        return;
    unsigned char lead = (unsigned char)s[start - 1];
    size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    if (lead >= 0x80 && len - (start - 1) < want)
        s[start - 1] = '\0';
}

size_t text_remove_all(char *s, const char *prefix)
{
    size_t plen = strlen(prefix), len = strlen(s);
    if (plen == 0)
        return len;
    for (char *hit = strstr(s, prefix); hit; hit = strstr(hit, prefix)) {
        memmove(hit, hit + plen, len - (size_t)(hit - s) - plen + 1);
        len -= plen;
    }
    return len;
}

int text_is_dns_label(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}
