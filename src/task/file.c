/* Atomic output files (see file.h). */
#include "task/file.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "task/task.h"

/* The signals the service (or a terminal) uses to stop a task; SIGPIPE when the service has gone away. */
static const int file_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGPIPE};
#define FILE_NSIGNALS (sizeof(file_signals) / sizeof(file_signals[0]))

/* A copy of the temporary's name in static storage, for the signal handler (which may only unlink). */
static char file_cleanup[4096 + 32];
static volatile sig_atomic_t file_armed;
static struct sigaction file_saved[FILE_NSIGNALS];

static void file_on_signal(int sig)
{
    if (file_armed)
        unlink(file_cleanup);
    /* Die of the same signal, so the service sees exactly how the task ended. The signal is blocked while the
     * handler runs and is delivered, now with its default action, as soon as it returns. */
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Covers the temporary with the handler; done before it is created, so there is no uncovered moment. */
static void file_arm(const char *tmp)
{
    strcpy(file_cleanup, tmp);
    file_armed = 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = file_on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < FILE_NSIGNALS; i++)
        sigaction(file_signals[i], &sa, &file_saved[i]);
}

static void file_disarm(void)
{
    file_armed = 0;
    for (size_t i = 0; i < FILE_NSIGNALS; i++)
        sigaction(file_signals[i], &file_saved[i], NULL);
}

int task_file_mkdirs(const char *path)
{
    char dir[4096];
    size_t n = strlen(path);
    if (n >= sizeof(dir)) {
        task_error("output path too long: %s", path);
        return -1;
    }
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return 0; /* the current folder, or / */
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        int last = *p == '\0';
        if (*p != '/' && !last)
            continue;
        *p = '\0';
        struct stat st;
        if (mkdir(dir, 0777) != 0 && (errno != EEXIST || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
            task_error("cannot create the folder %s: %s", dir, strerror(errno == EEXIST ? ENOTDIR : errno));
            return -1;
        }
        if (last)
            return 0;
        *p = '/';
    }
}

int task_file_open(task_file_t *f, const char *path)
{
    f->fp = NULL;
    f->path = path;
    if (asprintf(&f->tmp, "%s.tmp.%d", path, (int)getpid()) < 0) {
        f->tmp = NULL;
        task_error("out of memory");
        return -1;
    }
    if (strlen(f->tmp) >= sizeof(file_cleanup)) {
        task_error("output path too long: %s", path);
        free(f->tmp);
        return -1;
    }
    file_arm(f->tmp);
    /* O_NOFOLLOW: never write through a symbolic link planted under the temporary's name. */
    int fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) {
        task_error("cannot create %s: %s", f->tmp, strerror(errno));
        goto fail;
    }
    f->fp = fdopen(fd, "w");
    if (!f->fp) {
        task_error("cannot write %s: %s", f->tmp, strerror(errno));
        close(fd);
        unlink(f->tmp);
        goto fail;
    }
    return 0;
fail:
    file_disarm();
    free(f->tmp);
    f->tmp = NULL;
    return -1;
}

int task_file_commit(task_file_t *f)
{
    int err = 0;
    if (ferror(f->fp))
        err = EIO; /* errno of the failed write is long gone */
    else if (fflush(f->fp) != 0)
        err = errno;
    /* Synced before the rename, so after a crash the name never points at missing data. EINVAL: a file system
     * without fsync, where there is nothing to wait for. */
    else if (fsync(fileno(f->fp)) != 0 && errno != EINVAL)
        err = errno;
    if (fclose(f->fp) != 0 && !err)
        err = errno;
    f->fp = NULL;
    if (!err && rename(f->tmp, f->path) != 0)
        err = errno;
    if (err) {
        task_error("cannot write %s: %s", f->path, strerror(err));
        unlink(f->tmp);
    }
    file_disarm();
    free(f->tmp);
    f->tmp = NULL;
    return err ? -1 : 0;
}

void task_file_abort(task_file_t *f)
{
    fclose(f->fp); /* the data is being thrown away: a close error changes nothing */
    f->fp = NULL;
    unlink(f->tmp);
    file_disarm();
    free(f->tmp);
    f->tmp = NULL;
}

int task_file_write_json(const char *path, const json_t *json, size_t flags)
{
    task_file_t f;
    if (task_file_open(&f, path) != 0)
        return -1;
    if (json_dumpf(json, f.fp, flags) != 0 || fputc('\n', f.fp) == EOF) {
        task_error("cannot write %s: %s", path, strerror(errno));
        task_file_abort(&f);
        return -1;
    }
    return task_file_commit(&f);
}
