#include "http/fd_limit.h"

#include <sys/resource.h>
#include <uv.h>

#include "util/log.h"

long fd_limit_raise(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t before = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
            log_info("app", "file descriptors: limit raised from %llu to %llu", (unsigned long long)before,
                     (unsigned long long)rl.rlim_max);
        else
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY ? -1 : (long)rl.rlim_cur;
}

long fd_limit_current(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return -1;
    return (long)rl.rlim_cur;
}

void fd_limit_accept_failed(fd_limit_t *fl, int status, uint64_t now_ms)
{
    fl->accept_failures++;
    fl->unlogged++;
    if (fl->last_log_ms != 0 && now_ms - fl->last_log_ms < 1000)
        return;
    log_warn("http",
             "cannot accept connections: %s (%llu refused since the last message; the waiting clients were "
             "closed)",
             uv_strerror(status), (unsigned long long)fl->unlogged);
    fl->last_log_ms = now_ms;
    fl->unlogged = 0;
}
