#include "core/results_gc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/log.h"

#define GC_MAX_FOLDERS 4096 /* looked at per sweep; more are left for the next one */

/* One sweep: a snapshot of what it needs, taken on the loop, worked on a thread-pool thread. */
typedef struct gc_job {
    uv_work_t req;
    results_gc_t *gc;
    char data_dir[1100];
    char active[RUN_ID_LEN + 1];
    char ended[RESULTS_GC_ENDED_MAX][RUN_ID_LEN + 1];
    int nended;
    int keep;
    int64_t max_age_ms; /* 0: no age limit */
    int startup;
    struct timespec started; /* folders changed after this belong to a run that began meanwhile */
    int removed, errors;
} gc_job_t;

typedef struct folder {
    char name[RUN_ID_LEN + 1];
    struct timespec mtime;
} folder_t;

static int newer_first(const void *a, const void *b)
{
    const struct timespec *x = &((const folder_t *)a)->mtime, *y = &((const folder_t *)b)->mtime;
    if (x->tv_sec != y->tv_sec)
        return x->tv_sec < y->tv_sec ? 1 : -1;
    return x->tv_nsec < y->tv_nsec ? 1 : x->tv_nsec > y->tv_nsec ? -1 : 0;
}

static int after(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

/* Removes the half-written files (*.tmp.*) of the folder `name` of `results`; returns 1 when it is then empty.
 * Opened with O_NOFOLLOW: a run's folder that became a symlink is not looked into. */
static int clean_folder(gc_job_t *job, int results, const char *name, int remove_tmp)
{
    int fd = openat(results, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return 0;
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return 0;
    }
    int empty = 1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (remove_tmp && strstr(e->d_name, ".tmp.") != NULL) {
            if (unlinkat(fd, e->d_name, 0) == 0)
                continue;
            job->errors++;
        }
        empty = 0;
    }
    closedir(d);
    return empty;
}

static void remove_folder(gc_job_t *job, int results, const char *name)
{
    if (fs_remove_tree_at(results, name) == 0)
        job->removed++;
    else
        job->errors++;
}

/* DATA_DIR/results as a descriptor, from which the sweep works by names of one component only: a task can write
 * inside its run's folder (and swap a folder for a symlink there), never make the sweep follow a path. */
static int open_results(const char *data_dir)
{
    int data = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (data < 0)
        return -1;
    int fd = openat(data, "results", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(data);
    return fd;
}

static void sweep(uv_work_t *req)
{
    gc_job_t *job = req->data;
    int results = open_results(job->data_dir);
    if (results < 0)
        return;
    int listed = dup(results);
    DIR *d = listed < 0 ? NULL : fdopendir(listed);
    if (d == NULL) {
        if (listed >= 0)
            close(listed);
        close(results);
        return;
    }
    folder_t *folders = malloc(GC_MAX_FOLDERS * sizeof(*folders));
    int n = 0;
    struct dirent *e;
    while (folders && n < GC_MAX_FOLDERS && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (!run_id_valid(e->d_name, len) || strcmp(e->d_name, job->active) == 0)
            continue; /* not a run's folder, or the active run's */
        struct stat st;
        if (fstatat(results, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode) ||
            after(&st.st_mtim, &job->started))
            continue;
        int ended = 0;
        for (int i = 0; i < job->nended; i++)
            ended |= strcmp(e->d_name, job->ended[i]) == 0;
        if (clean_folder(job, results, e->d_name, job->startup) && (ended || job->startup)) {
            if (unlinkat(results, e->d_name, AT_REMOVEDIR) == 0)
                job->removed++;
            continue;
        }
        memcpy(folders[n].name, e->d_name, len + 1);
        folders[n].mtime = st.st_mtim;
        n++;
    }
    closedir(d);
    if (folders != NULL) {
        qsort(folders, (size_t)n, sizeof(*folders), newer_first);
        for (int i = 0; i < n; i++) {
            int64_t age_ms = ((int64_t)job->started.tv_sec - folders[i].mtime.tv_sec) * 1000 +
                             ((int64_t)job->started.tv_nsec - folders[i].mtime.tv_nsec) / 1000000;
            if (i < job->keep && (job->max_age_ms == 0 || age_ms <= job->max_age_ms))
                continue;
            remove_folder(job, results, folders[i].name);
        }
        free(folders);
    }
    close(results);
}

static void start_sweep(results_gc_t *gc);

static void sweep_done(uv_work_t *req, int status)
{
    (void)status;
    gc_job_t *job = req->data;
    results_gc_t *gc = job->gc;
    gc->running = 0;
    gc->removed += (uint64_t)job->removed;
    if (job->removed > 0 || job->errors > 0)
        log_info("results", "removed %d results folder%s%s", job->removed, job->removed == 1 ? "" : "s",
                 job->errors ? " (some could not be removed)" : "");
    free(job);
    if (gc->again && !gc->closing) {
        gc->again = 0;
        start_sweep(gc);
    }
}

static void start_sweep(results_gc_t *gc)
{
    if (gc->running) {
        gc->again = 1;
        return;
    }
    gc_job_t *job = calloc(1, sizeof(*job));
    if (job == NULL)
        return;
    job->gc = gc;
    job->req.data = job;
    snprintf(job->data_dir, sizeof(job->data_dir), "%s", gc->cfg->data_dir);
    memcpy(job->active, gc->active, sizeof(job->active));
    memcpy(job->ended, gc->ended, sizeof(job->ended));
    job->nended = gc->nended;
    gc->nended = 0;
    job->startup = gc->startup;
    gc->startup = 0;
    job->keep = gc->cfg->results_keep > 0 ? gc->cfg->results_keep : gc->cfg->run_history_limit;
    job->max_age_ms = gc->cfg->results_keep > 0 ? 0 : (int64_t)gc->cfg->run_ttl_minutes * 60000;
    clock_gettime(CLOCK_REALTIME, &job->started);
    if (uv_queue_work(gc->loop, &job->req, sweep, sweep_done) != 0) {
        free(job);
        return;
    }
    gc->running = 1;
}

static void on_event(void *ctx, const event_t *ev)
{
    results_gc_t *gc = ctx;
    const char *status = json_string_value(json_object_get(ev->data, "status"));
    if (status == NULL || !run_id_valid(ev->run_id, strlen(ev->run_id)))
        return;
    if (ev->type == EVENT_STATUS && (strcmp(status, "starting") == 0 || strcmp(status, "running") == 0)) {
        memcpy(gc->active, ev->run_id, sizeof(gc->active));
    } else if (ev->type == EVENT_COMPLETE) {
        if (strcmp(gc->active, ev->run_id) == 0)
            gc->active[0] = '\0';
        if (gc->nended == RESULTS_GC_ENDED_MAX) { /* the oldest is left to the count and age rules */
            memmove(gc->ended[0], gc->ended[1], sizeof(gc->ended) - sizeof(gc->ended[0]));
            gc->nended--;
        }
        memcpy(gc->ended[gc->nended++], ev->run_id, sizeof(gc->ended[0]));
        start_sweep(gc);
    }
}

static void on_timer(uv_timer_t *t)
{
    start_sweep(t->data);
}

void results_gc_init(results_gc_t *gc, uv_loop_t *loop, const config_t *cfg, events_t *events)
{
    memset(gc, 0, sizeof(*gc));
    gc->loop = loop;
    gc->cfg = cfg;
    gc->events = events;
    gc->startup = 1;
    events_subscribe(events, on_event, gc);
    uv_timer_init(loop, &gc->timer);
    gc->timer.data = gc;
    uv_timer_start(&gc->timer, on_timer, RESULTS_GC_INTERVAL_MS, RESULTS_GC_INTERVAL_MS);
    uv_unref((uv_handle_t *)&gc->timer); /* never keeps the loop alive */
    start_sweep(gc);
}

void results_gc_dispose(results_gc_t *gc)
{
    gc->closing = 1;
    events_unsubscribe(gc->events, on_event, gc);
    uv_close((uv_handle_t *)&gc->timer, NULL);
}
