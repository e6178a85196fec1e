#include "exec/task_proc.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec/line_reader.h"
#include "exec/log_tail.h"
#include "exec/spawn.h"
#include "util/clock.h"
#include "util/text.h"
#include "util/usage_line.h"

#define DRAIN_TIMEOUT_MS 2000 /* after exit, how long a grandchild may keep the pipes open */
#define EXIT_POLL_MS     5

struct task_proc {
    exec_child_t child;
    union {
        uv_poll_t poll;   /* on the child's pidfd */
        uv_timer_t timer; /* without pidfds (valgrind, Linux < 5.3): a look every EXIT_POLL_MS */
    } exit_watch;
    uv_pipe_t out, err;
    uv_timer_t drain_timer;
    line_reader_t out_lines, err_lines;
    task_proc_callbacks_t cbs;
    void *ctx;
    int pid;
    int open_handles; /* closed in close callbacks; freed at 0 */
    int pipes_open;   /* not yet at end of stream */
    int exited, reported;
    int status_lost; /* reaped by someone else: it ended, but how is unknown (a failure) */
    int64_t exit_status;
    int term_signal;
    log_tail_t tail; /* the last lines of stderr, for the failure message */
    int64_t spawned_mono_ms;
    double wall;         /* spawn to exit, seconds */
    struct rusage usage; /* wait4's */
    int has_usage;
    usage_line_t own; /* the task's own report (util/usage_line.h) */
    int has_own;
};

static void on_handle_closed(uv_handle_t *h)
{
    task_proc_t *p = h->data;
    if (--p->open_handles == 0)
        free(p);
}

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, on_handle_closed);
}

static void on_out_line(void *ctx, const char *line, size_t len)
{
    task_proc_t *p = ctx;
    p->cbs.on_line(p->ctx, 0, line, len);
}

static void on_err_line(void *ctx, const char *line, size_t len)
{
    task_proc_t *p = ctx;
    if (usage_line_parse(line, len, &p->own)) {
        p->has_own = 1;
        return;
    }
    log_tail_add(&p->tail, line, len);
    p->cbs.on_line(p->ctx, 1, line, len);
}

static void describe_failure(task_proc_t *p, char *out, size_t outlen)
{
    int n = p->status_lost ? snprintf(out, outlen, "ended, but its exit status was lost (reaped by another process)")
            : p->term_signal
                ? snprintf(out, outlen, "killed by signal %d (%s)", p->term_signal, strsignal(p->term_signal))
                : snprintf(out, outlen, "exit code %lld", (long long)p->exit_status);
    char lines[LOG_TAIL_LINES * LOG_TAIL_LINE_MAX];
    if (log_tail_join(&p->tail, lines, sizeof(lines), ": ") > 0 && n >= 0 && (size_t)n < outlen)
        snprintf(out + n, outlen - (size_t)n, ": %s", lines);
    text_trim_partial_utf8(out); /* snprintf may have cut a character */
}

static double tv_seconds(struct timeval tv)
{
    return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static void report_cost(task_proc_t *p)
{
    run_cost_t c;
    run_cost_init(&c);
    c.pid = p->pid;
    c.wall_seconds = p->wall;
    if (p->has_usage) { /* wait4 counts the task and every descendant it waited for (what a killed task has) */
        c.cpu_seconds = tv_seconds(p->usage.ru_utime) + tv_seconds(p->usage.ru_stime);
        c.peak_rss_bytes = (int64_t)p->usage.ru_maxrss * 1024;
    }
    if (p->has_own) {
        double cpu = p->own.user >= 0 && p->own.sys >= 0 ? p->own.user + p->own.sys : -1;
        if (cpu > c.cpu_seconds)
            c.cpu_seconds = cpu;
        /* wait4's ru_maxrss counts this service's size at the spawn (posix_spawn's child shares its memory until
         * exec): the task's own figure (VmHWM and what it waited for) is the truth when it reports one */
        if (p->own.maxrss >= 0)
            c.peak_rss_bytes = p->own.maxrss;
        c.read_bytes = p->own.rchar;
        c.written_bytes = p->own.wchar;
    }
    if (!p->status_lost)
        c.exit_code = p->term_signal ? 128 + p->term_signal : (int)p->exit_status;
    p->cbs.on_cost(p->ctx, &c);
}

static void maybe_report(task_proc_t *p)
{
    if (!p->exited || p->pipes_open > 0 || p->reported)
        return;
    p->reported = 1;
    close_handle((uv_handle_t *)&p->drain_timer);
    int ok = !p->status_lost && p->exit_status == 0 && p->term_signal == 0;
    char detail[1024] = "";
    if (!ok)
        describe_failure(p, detail, sizeof(detail));
    if (p->cbs.on_cost)
        report_cost(p);
    p->cbs.on_exit(p->ctx, ok, p->term_signal, ok ? NULL : detail);
}

static void end_pipe(task_proc_t *p, uv_pipe_t *pipe)
{
    if (uv_is_closing((uv_handle_t *)pipe))
        return;
    if (pipe == &p->out)
        line_reader_finish(&p->out_lines, on_out_line, p);
    else
        line_reader_finish(&p->err_lines, on_err_line, p);
    close_handle((uv_handle_t *)pipe);
    p->pipes_open--;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h, (void)suggested;
    static char scratch[65536]; /* one loop, one read at a time: the lines are copied out before returning */
    *buf = uv_buf_init(scratch, sizeof(scratch));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    task_proc_t *p = s->data;
    if (nread > 0) {
        if ((uv_pipe_t *)s == &p->out)
            line_reader_feed(&p->out_lines, buf->base, (size_t)nread, on_out_line, p);
        else
            line_reader_feed(&p->err_lines, buf->base, (size_t)nread, on_err_line, p);
    } else if (nread < 0) {
        end_pipe(p, (uv_pipe_t *)s);
        maybe_report(p);
    }
}

static void on_drain_timeout(uv_timer_t *t)
{
    task_proc_t *p = t->data;
    end_pipe(p, &p->out); /* something outside the process group still holds them open */
    end_pipe(p, &p->err);
    maybe_report(p);
}

static void on_child_maybe_exited(task_proc_t *p)
{
    int reaped = exec_child_reap(&p->child, &p->exit_status, &p->term_signal, &p->usage);
    if (reaped == 0)
        return;
    p->has_usage = reaped > 0;
    p->wall = (clock_mono_ms() - p->spawned_mono_ms) / 1000.0;
    p->status_lost = reaped < 0;
    p->exited = 1;
    kill(-p->pid, SIGKILL); /* anything the task left behind in its group dies with it */
    close_handle((uv_handle_t *)&p->exit_watch);
    if (p->child.pidfd >= 0)
        close(p->child.pidfd); /* the poll handle is stopped: the descriptor may go */
    uv_timer_start(&p->drain_timer, on_drain_timeout, DRAIN_TIMEOUT_MS, 0);
    maybe_report(p);
}

static void on_exit_poll(uv_poll_t *poll, int status, int events)
{
    (void)status, (void)events;
    on_child_maybe_exited(poll->data);
}

static void on_exit_timer(uv_timer_t *timer)
{
    on_child_maybe_exited(timer->data);
}

task_proc_t *task_proc_spawn(uv_loop_t *loop, char *const *argv, const char *cwd, const task_proc_callbacks_t *cbs,
                             void *ctx, int *err)
{
    task_proc_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        abort();
    p->cbs = *cbs;
    p->ctx = ctx;
    uv_pipe_init(loop, &p->out, 0);
    uv_pipe_init(loop, &p->err, 0);
    uv_timer_init(loop, &p->drain_timer);
    p->out.data = p->err.data = p->drain_timer.data = p;
    p->pipes_open = 2;

    /* posix_spawn, not uv_spawn: libuv's fork() copies the service's page tables for every task, then every page
     * the service writes until the task has exec'd */
    int rc = exec_spawn(argv, cwd, &p->child);
    if (rc != 0) {
        *err = rc;
        p->reported = 1;
        p->open_handles = 3;
        uv_close((uv_handle_t *)&p->out, on_handle_closed);
        uv_close((uv_handle_t *)&p->err, on_handle_closed);
        uv_close((uv_handle_t *)&p->drain_timer, on_handle_closed);
        return NULL;
    }
    p->open_handles = 4;
    p->pid = p->child.pid;
    p->spawned_mono_ms = clock_mono_ms();
    uv_pipe_open(&p->out, p->child.out_fd);
    uv_pipe_open(&p->err, p->child.err_fd);
    if (p->child.pidfd >= 0) {
        uv_poll_init(loop, &p->exit_watch.poll, p->child.pidfd);
        p->exit_watch.poll.data = p;
        uv_poll_start(&p->exit_watch.poll, UV_READABLE, on_exit_poll);
    } else {
        uv_timer_init(loop, &p->exit_watch.timer);
        p->exit_watch.timer.data = p;
        uv_timer_start(&p->exit_watch.timer, on_exit_timer, EXIT_POLL_MS, EXIT_POLL_MS);
    }
    uv_read_start((uv_stream_t *)&p->out, on_alloc, on_read);
    uv_read_start((uv_stream_t *)&p->err, on_alloc, on_read);
    return p;
}

void task_proc_signal(task_proc_t *proc, int sig)
{
    if (!proc->exited)
        kill(-proc->pid, sig);
}

int task_proc_pid(const task_proc_t *proc)
{
    return proc->pid;
}
