/* File-system helpers for the service's own folders (DATA_DIR). Synchronous: on the
 * event loop only at start-up; fs_work.h runs them in the thread pool. */
#ifndef UTIL_FS_H
#define UTIL_FS_H

#include <stddef.h>

/** mkdir -p with mode 0755. Returns 0 or a negative errno. */
int fs_mkdir_p(const char *path);
/** rm -rf of a folder of the service's own (does not follow symlinks). Returns 0 or a negative errno. */
int fs_remove_tree(const char *path);
/** Makes `path` absolute against the current working directory, lexically ("." and ".." components and repeated
 *  slashes go; the path need not exist). Returns 0, or -1 when it does not fit in `cap` or the cwd is unknown. */
int fs_absolute(const char *path, char *out, size_t cap);
/** Reads a whole file of at most `max` bytes into a new NUL-terminated buffer. NULL with errno set otherwise
 *  (EFBIG when it is larger than `max`). */
char *fs_read_file(const char *path, size_t max, size_t *len);

#endif
