/* Unit tests for src/exec/spawn.c and src/exec/task_proc.c: a task's end is reported once, whatever reaped it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec/spawn.h"
#include "exec/task_proc.h"

typedef struct outcome {
    int ended, ok, term_signal, lines;
    char detail[1024];
} outcome_t;

static void on_line(void *ctx, int is_stderr, const char *line, size_t len)
{
    (void)is_stderr, (void)line, (void)len;
    ((outcome_t *)ctx)->lines++;
}

static void on_exit_cb(void *ctx, int ok, int term_signal, const char *detail)
{
    outcome_t *o = ctx;
    o->ended++;
    o->ok = ok;
    o->term_signal = term_signal;
    snprintf(o->detail, sizeof(o->detail), "%s", detail ? detail : "");
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

/* Runs `argv` as a task on a fresh loop until it is reported (or a bounded number of loop turns passed). */
static outcome_t run_task(char *const *argv)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    outcome_t o = {0};
    task_proc_callbacks_t cbs = {.on_line = on_line, .on_exit = on_exit_cb};
    int err = 0;
    task_proc_t *p = task_proc_spawn(&loop, argv, NULL, &cbs, &o, &err);
    assert_non_null(p);
    /* a spin (a pidfd readable for ever, never reaped) would turn here until the bound: each turn waits at most
     * 10 ms for an event, so 3000 turns are far more than a task needs, and far fewer than a spin takes */
    uv_timer_t guard;
    uv_timer_init(&loop, &guard);
    uv_timer_start(&guard, on_tick, 10, 10);
    for (int turns = 0; o.ended == 0 && turns < 3000; turns++)
        uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    return o;
}

static void test_exit_codes_and_signals_are_told(void **state)
{
    (void)state;
    char *ok[] = {"/bin/sh", "-c", "echo out; echo err >&2", NULL};
    outcome_t o = run_task(ok);
    assert_int_equal(o.ended, 1);
    assert_true(o.ok);
    assert_int_equal(o.lines, 2);

    char *three[] = {"/bin/sh", "-c", "echo broken >&2; exit 3", NULL};
    o = run_task(three);
    assert_int_equal(o.ended, 1);
    assert_false(o.ok);
    assert_string_equal(o.detail, "exit code 3: broken");

    char *killed[] = {"/bin/sh", "-c", "kill -9 $$", NULL};
    o = run_task(killed);
    assert_int_equal(o.ended, 1);
    assert_false(o.ok);
    assert_int_equal(o.term_signal, SIGKILL);
}

static void test_a_child_the_kernel_reaped_is_a_failure_not_a_spin(void **state)
{
    (void)state;
    /* with SIGCHLD ignored the kernel reaps children itself: waitpid answers ECHILD */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigaction(SIGCHLD, &ign, &old);

    exec_child_t child;
    char *argv[] = {"/bin/sleep", "0.2", NULL};
    assert_int_equal(exec_spawn(argv, NULL, &child), 0);
    if (child.pidfd >= 0) {
        struct pollfd pfd = {.fd = child.pidfd, .events = POLLIN};
        assert_int_equal(poll(&pfd, 1, 10000), 1);
        close(child.pidfd);
    } else {
        usleep(200 * 1000);
    }
    int64_t status = 0;
    int sig = 0;
    assert_int_equal(exec_child_reap(&child, &status, &sig, NULL), -1);
    close(child.out_fd);
    close(child.err_fd);

    char *ok[] = {"/bin/sh", "-c", "sleep 0.2; echo done", NULL};
    outcome_t o = run_task(ok);
    sigaction(SIGCHLD, &old, NULL);
    assert_int_equal(o.ended, 1);
    assert_false(o.ok);
    assert_non_null(strstr(o.detail, "exit status was lost"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_codes_and_signals_are_told),
        cmocka_unit_test(test_a_child_the_kernel_reaped_is_a_failure_not_a_spin),
    };
    return cmocka_run_group_tests_name("task_proc", tests, NULL, NULL);
}
