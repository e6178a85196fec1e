/*
 * File work off the event loop: each call runs the synchronous helper of fs.h in libuv's thread pool and calls
 * back on the loop. For the service's own files (DATA_DIR): a report read, a run's folders made or removed.
 */
#ifndef CORE_FS_WORK_H
#define CORE_FS_WORK_H

#include <stddef.h>
#include <uv.h>

/** `text` (NUL-terminated, `len` bytes, owned by the callee) or NULL with `err` a negative errno (-ENOENT: no such
 *  file, -EFBIG: larger than the bound). */
typedef void (*fs_work_read_cb)(void *data, int err, char *text, size_t len);
typedef void (*fs_work_done_cb)(void *data, int err);

/** Reads a whole file of at most `max` bytes. Returns 0, or a negative errno (then `cb` never fires). */
int fs_work_read(uv_loop_t *loop, const char *path, size_t max, fs_work_read_cb cb, void *data);
/** mkdir -p of one or two folders (`second` may be NULL); `cb` gets the first error, or 0. */
int fs_work_mkdirs(uv_loop_t *loop, const char *first, const char *second, fs_work_done_cb cb, void *data);
/** rm -rf, nobody waits (a failure is logged). */
void fs_work_remove_tree(uv_loop_t *loop, const char *path);

#endif
