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

#ifndef PIPELINE_VERSION
#define PIPELINE_VERSION "unknown"
#endif

static int is_option(const char *arg, const char *long_name, const char *short_name)
{
    return strcmp(arg, long_name) == 0 || strcmp(arg, short_name) == 0;
}

int main(int argc, char **argv)
{
    signals_reset();
    /* configured by the environment only: one of --help or --version, or nothing. Anything else is a mistake
     * (a flag of another program, a typo), refused rather than ignored by a service that starts anyway. */
    int known = argc == 2 && (is_option(argv[1], "--help", "-h") || is_option(argv[1], "--version", "-V"));
    if (argc > 1 && !known) {
        fprintf(stderr, "pipeline-orchestrator: unknown argument \"%s\" (it takes --help or --version only)\n",
                argc == 2 || !(is_option(argv[1], "--help", "-h") || is_option(argv[1], "--version", "-V")) ? argv[1]
                                                                                                          : argv[2]);
        return 2;
    }
    if (known && is_option(argv[1], "--version", "-V")) {
        printf("pipeline-orchestrator %s\n", PIPELINE_VERSION);
        return 0;
    }
    if (argc > 1) {
        printf("usage: %s [--help | --version]\n\n"
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
    log_info("app", "pipeline-orchestrator %s", PIPELINE_VERSION);
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
