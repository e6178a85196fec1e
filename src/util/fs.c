#include "util/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

/* One entry of the folder `dir` and, for a folder, everything in it. A folder is opened relative to `dir` with
 * O_NOFOLLOW | O_DIRECTORY and emptied through that descriptor, so a folder swapped for a symlink meanwhile is
 * never followed: the walk only ever reaches what lies under the descriptor it started from. */
static int remove_at(int dir, const char *name, int depth)
{
    if (unlinkat(dir, name, 0) == 0 || errno == ENOENT)
        return 0; /* a file, a symlink (itself, never its target), or already gone */
    if (errno != EISDIR)
        return -errno;
    if (depth >= FS_REMOVE_MAX_DEPTH)
        return -ELOOP;
    int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        if (errno == ELOOP || errno == ENOTDIR) /* it became a symlink or a file since: remove that entry */
            return unlinkat(dir, name, 0) == 0 || errno == ENOENT ? 0 : -errno;
        return -errno;
    }
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        int e = errno;
        close(fd);
        return -e;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        int r = remove_at(fd, e->d_name, depth + 1);
        if (r != 0 && rc == 0)
            rc = r;
    }
    closedir(d);
    /* if the name now holds something else (a symlink, another folder), it is left as it is */
    if (unlinkat(dir, name, AT_REMOVEDIR) != 0 && errno != ENOENT && rc == 0)
        rc = -errno;
    return rc;
}

int fs_remove_tree_at(int dir, const char *name)
{
    if (name[0] == '\0' || strchr(name, '/') != NULL || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return -EINVAL;
    return remove_at(dir, name, 0);
}

int fs_remove_tree(const char *path)
{
    /* the parent is opened by its path (the caller's own folder); from there on, descriptors only */
    char parent[4096];
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    if (len == 0 || len >= sizeof(parent))
        return -ENAMETOOLONG;
    memcpy(parent, path, len);
    parent[len] = '\0';
    char *slash = strrchr(parent, '/');
    const char *name = parent;
    const char *dir = ".";
    if (slash != NULL) {
        *slash = '\0';
        name = slash + 1;
        dir = slash == parent ? "/" : parent;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    int rc = fs_remove_tree_at(fd, name);
    close(fd);
    return rc;
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
