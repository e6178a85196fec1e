/* File-system helpers for the service's own folders (DATA_DIR). Synchronous: on the
 * event loop only at start-up; fs_work.h runs them in the thread pool. */
#ifndef UTIL_FS_H
#define UTIL_FS_H

#include <stddef.h>

/** mkdir -p with mode 0755. Returns 0 or a negative errno. */
int fs_mkdir_p(const char *path);
#define FS_REMOVE_MAX_DEPTH 64 /* folders nested deeper are left (one descriptor is open per level) */

/**
 * rm -rf of the entry `name` (one path component) of the folder open as `dir`. Never follows a symlink: each
 * folder is opened relative to its parent's descriptor with O_NOFOLLOW | O_DIRECTORY and emptied with unlinkat(),
 * so a folder swapped for a symlink while it works cannot lead it outside; a symlink is removed, not its target.
 * Gone already is success. Returns 0 or a negative errno (the first failure; the rest is still removed).
 */
int fs_remove_tree_at(int dir, const char *name);
/** fs_remove_tree_at() of the last component of `path` in its parent folder (opened by path: the caller's own). */
int fs_remove_tree(const char *path);
/** Makes `path` absolute against the current working directory, lexically ("." and ".." components and repeated
 *  slashes go; the path need not exist). Returns 0, or -1 when it does not fit in `cap` or the cwd is unknown. */
int fs_absolute(const char *path, char *out, size_t cap);
/** Reads a whole file of at most `max` bytes into a new NUL-terminated buffer. NULL with errno set otherwise
 *  (EFBIG when it is larger than `max`). */
char *fs_read_file(const char *path, size_t max, size_t *len);

#endif
