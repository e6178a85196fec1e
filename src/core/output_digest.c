#include "core/output_digest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* SHA-256 fetched once: EVP_sha256() in every EVP_DigestInit_ex is an implicit fetch (a name lookup under a lock) */
static EVP_MD *sha256;

void output_digest_init(void)
{
    if (sha256 != NULL)
        return;
    OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void output_digest_shutdown(void)
{
    EVP_MD_free(sha256);
    sha256 = NULL;
}

/* The digest of the open regular file `fd` (st: its fstat), read to its end. */
static int digest_fd(int fd, const struct stat *st, int64_t *size, char hex[65])
{
    if (!S_ISREG(st->st_mode))
        return -EINVAL;
    int rc = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, sha256 ? sha256 : EVP_sha256(), NULL) != 1) {
        rc = ctx == NULL ? -ENOMEM : -EINVAL;
        goto out;
    }
    static __thread unsigned char buf[65536];
    int64_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            goto out;
        }
        if (n == 0)
            break;
        EVP_DigestUpdate(ctx, buf, (size_t)n);
        total += n;
    }
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32) {
        rc = -EIO;
        goto out;
    }
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
    *size = total;
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

int output_digest(const char *path, int64_t *size, char hex[65])
{
    return output_digest_if(path, NULL, NULL, size, hex);
}

int output_digest_if(const char *path, output_same_fn same, const void *ctx, int64_t *size, char hex[65])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = fstat(fd, &st) != 0 ? -errno : same && !same(&st, ctx) ? 1 : digest_fd(fd, &st, size, hex);
    /* the same file from start to end: what was read is what was checked (a write while reading shows here) */
    if (rc == 0 && same && (fstat(fd, &st) != 0 || !same(&st, ctx)))
        rc = 1;
    close(fd);
    return rc;
}

static int copy_file(const char *from, const char *to)
{
    char tmp[1200];
    snprintf(tmp, sizeof(tmp), "%s.tmp.resume", to);
    int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), out = -1, rc = 0;
    if (in < 0)
        return -errno;
    out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        rc = -errno;
        goto out;
    }
    char buf[65536];
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : 0;
            break;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = -errno;
                goto out;
            }
            off += w;
        }
    }
    if (rc == 0 && fsync(out) != 0)
        rc = -errno;
    if (close(out) != 0 && rc == 0)
        rc = -errno;
    out = -1;
    if (rc == 0 && rename(tmp, to) != 0)
        rc = -errno;
out:
    if (out >= 0)
        close(out);
    if (rc != 0)
        unlink(tmp);
    close(in);
    return rc;
}

int output_share(const char *from, const char *to)
{
    if (link(from, to) == 0)
        return 0;
    if (errno != EXDEV && errno != EPERM && errno != EMLINK && errno != ENOTSUP)
        return -errno;
    return copy_file(from, to);
}
