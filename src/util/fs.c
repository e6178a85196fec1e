#include "util/fs.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_mkdir_p(const char *path)
{
    char buf[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

int fs_remove_tree(const char *path)
{
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return errno == ENOENT ? 0 : -errno;
    return 0;
}

char *fs_read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    struct stat st;
    int e = fstat(fileno(f), &st) != 0 ? errno : (size_t)st.st_size > max ? EFBIG : 0;
    if (e != 0) {
        fclose(f);
        errno = e;
        return NULL;
    }
    /* sized from the file (one byte more, to see it end there); grows if it does (a pipe has no size) */
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || ferror(f) || cap > max)
            break;
        cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
        char *bigger = realloc(buf, cap + 1);
        if (bigger == NULL) {
            free(buf);
            buf = NULL;
        }
        buf = bigger;
    }
    int failed = buf == NULL || ferror(f);
    fclose(f);
    if (failed || n > max) {
        free(buf);
        errno = failed ? EIO : EFBIG;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int fs_absolute(const char *path, char *out, size_t cap)
{
    char joined[8192];
    if (path[0] == '/') {
        if (snprintf(joined, sizeof(joined), "%s", path) >= (int)sizeof(joined))
            return -1;
    } else {
        char cwd[4096];
        if (getcwd(cwd, sizeof(cwd)) == NULL ||
            snprintf(joined, sizeof(joined), "%s/%s", cwd, path) >= (int)sizeof(joined))
            return -1;
    }
    /* one component at a time: "" and "." vanish, ".." drops the previous one (never above the root) */
    size_t n = 0;
    for (char *save = NULL, *part = strtok_r(joined, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        if (strcmp(part, ".") == 0)
            continue;
        if (strcmp(part, "..") == 0) {
            while (n > 0 && out[--n] != '/')
                ;
            continue;
        }
        size_t len = strlen(part);
        if (n + 1 + len + 1 > cap)
            return -1;
        out[n++] = '/';
        memcpy(out + n, part, len);
        n += len;
    }
    if (n == 0) {
        if (cap < 2)
            return -1;
        out[n++] = '/';
    }
    out[n] = '\0';
    return 0;
}
