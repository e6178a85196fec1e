/* pipeline-orchestrator: configuration -> application -> loop -> graceful shutdown. */
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "config.h"
#include "http/fd_limit.h"
#include "util/log.h"

/* The folder of the running binary: the default task program lives beside it. */
static void self_dir(char *out, size_t outlen)
{
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
    if (n <= 0) {
        snprintf(out, outlen, ".");
        return;
    }
    path[n] = '\0';
    snprintf(out, outlen, "%s", dirname(path));
}

/* What the service relies on, whatever it inherited (ignored signals and the signal mask survive exec): SIGCHLD
 * at its default action (ignored, the kernel reaps the tasks and their exit status is lost), no signal blocked
 * (SIGTERM and SIGINT must reach the loop), SIGPIPE ignored (a peer that left is an error from the write). */
static void signals_reset(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &dfl, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
    signals_reset();
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: %s\n\n"
               "Runs the Data Pipeline Orchestrator: the REST API, the live stream and the dashboard on HOST:PORT.\n"
               "It is configured by environment variables, and by a .env file in the working directory (a variable\n"
               "set in the environment wins). A bad value stops start-up with exit code 2.\n\nVariables:\n",
               argv[0]);
        config_print_variables(stdout);
        return 0;
    }
    static config_t cfg;
    char dir[PATH_MAX], err[1024];
    self_dir(dir, sizeof(dir));
    if (config_load(&cfg, ".env", dir, err, sizeof(err)) != 0) {
        fprintf(stderr, "pipeline-orchestrator: configuration error: %s\n", err);
        return 2;
    }
    log_setup(cfg.log_json, (log_level_t)cfg.log_level);
    fd_limit_raise();

    uv_loop_t *loop = uv_default_loop();
    static app_t app;
    int rc = app_start(&app, loop, &cfg, err, sizeof(err));
    if (rc != 0) {
        log_error("app", "cannot start: %s", err);
        return rc == APP_START_UNUSABLE ? 2 : 1;
    }
    uv_run(loop, UV_RUN_DEFAULT);
    app_dispose(&app);
    log_info("app", "stopped");
    return 0;
}
