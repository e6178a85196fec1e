#include "core/fs_work.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"
#include "util/log.h"

typedef enum { WORK_READ, WORK_MKDIRS, WORK_REMOVE } work_kind_t;

typedef struct fs_job {
    uv_work_t req;
    work_kind_t kind;
    char *path, *second;
    size_t max;
    /* results, written in the pool thread, read on the loop */
    int err;
    char *text;
    size_t len;
    union {
        fs_work_read_cb read;
        fs_work_done_cb done;
    } cb;
    void *data;
} fs_job_t;

static void run_job(uv_work_t *req)
{
    fs_job_t *j = req->data;
    switch (j->kind) {
    case WORK_READ:
        j->text = fs_read_file(j->path, j->max, &j->len);
        j->err = j->text ? 0 : -errno;
        break;
    case WORK_MKDIRS:
        j->err = fs_mkdir_p(j->path);
        if (j->err == 0 && j->second)
            j->err = fs_mkdir_p(j->second);
        break;
    case WORK_REMOVE:
        j->err = fs_remove_tree(j->path);
        break;
    }
}

static void after_job(uv_work_t *req, int status)
{
    fs_job_t *j = req->data;
    if (status != 0 && j->err == 0)
        j->err = status; /* cancelled */
    switch (j->kind) {
    case WORK_READ:
        j->cb.read(j->data, j->err, j->text, j->len);
        break;
    case WORK_MKDIRS:
        j->cb.done(j->data, j->err);
        break;
    case WORK_REMOVE:
        if (j->err != 0)
            log_warn("fs", "cannot remove %s: %s", j->path, strerror(-j->err));
        break;
    }
    free(j->path);
    free(j->second);
    free(j);
}

static fs_job_t *new_job(work_kind_t kind, const char *path, const char *second)
{
    fs_job_t *j = calloc(1, sizeof(*j));
    if (j == NULL)
        abort();
    j->kind = kind;
    j->path = strdup(path);
    j->second = second ? strdup(second) : NULL;
    j->req.data = j;
    if (j->path == NULL || (second && j->second == NULL))
        abort();
    return j;
}

/* Everything the pool thread reads is set before the job is handed over. */
static int submit(uv_loop_t *loop, fs_job_t *j)
{
    int rc = uv_queue_work(loop, &j->req, run_job, after_job);
    if (rc != 0) {
        free(j->path);
        free(j->second);
        free(j);
    }
    return rc;
}

int fs_work_read(uv_loop_t *loop, const char *path, size_t max, fs_work_read_cb cb, void *data)
{
    fs_job_t *j = new_job(WORK_READ, path, NULL);
    j->max = max;
    j->cb.read = cb;
    j->data = data;
    return submit(loop, j);
}

int fs_work_mkdirs(uv_loop_t *loop, const char *first, const char *second, fs_work_done_cb cb, void *data)
{
    fs_job_t *j = new_job(WORK_MKDIRS, first, second);
    j->cb.done = cb;
    j->data = data;
    return submit(loop, j);
}

void fs_work_remove_tree(uv_loop_t *loop, const char *path)
{
    if (submit(loop, new_job(WORK_REMOVE, path, NULL)) != 0)
        log_warn("fs", "cannot remove %s: the thread pool refused the work", path);
}
