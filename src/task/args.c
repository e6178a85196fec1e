/* Strict option parsing: every value is checked whole, so "5x", " 5" or "1e3" never pass as numbers. */
#include "task/args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "task/task.h"

/* What printing the help returned, for task_args_exit. */
static int args_help_status;
int task_args_helped; /* the help was printed: the task did no work to report */

static task_opt_t *args_find(task_opt_t *opts, size_t nopts, const char *name, size_t len)
{
    for (size_t i = 0; i < nopts; i++)
        if (strlen(opts[i].name) == len && memcmp(opts[i].name, name, len) == 0)
            return &opts[i];
    return NULL;
}

task_args_result_t task_args_parse(int argc, char **argv, task_opt_t *opts, size_t nopts, int *npos)
{
    int pos = 0, options_done = 0;
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        /* "-" alone is an ordinary argument (conventionally standard input). */
        if (options_done || arg[0] != '-' || arg[1] == '\0') {
            argv[++pos] = arg; /* pos < i: never overwrites an argument not yet read */
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            options_done = 1;
            continue;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            args_help_status = task_help();
            task_args_helped = 1;
            return TASK_ARGS_HELP;
        }
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        task_opt_t *opt = args_find(opts, nopts, arg, name_len);
        if (!opt) {
            task_usage_error("unknown option '%.*s'", (int)name_len, arg);
            return TASK_ARGS_BAD;
        }
        if (opt->value) {
            task_usage_error("option %s given twice", opt->name);
            return TASK_ARGS_BAD;
        }
        if (opt->flag) {
            if (eq) {
                task_usage_error("option %s takes no value", opt->name);
                return TASK_ARGS_BAD;
            }
            opt->value = opt->name;
            continue;
        }
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!value || !*value) {
            task_usage_error("option %s needs a value", opt->name);
            return TASK_ARGS_BAD;
        }
        opt->value = value;
    }
    *npos = pos;
    return TASK_ARGS_OK;
}

int task_args_exit(task_args_result_t r)
{
    return r == TASK_ARGS_HELP ? args_help_status : TASK_EXIT_USAGE;
}

int task_args_int(const char *opt, const char *s, int64_t min, int64_t max, int64_t *out)
{
    /* strtoll alone would accept leading blanks and a '+'; a '-' is let through to get the range message. */
    const char *digits = s[0] == '-' ? s + 1 : s;
    char *end = NULL;
    errno = 0;
    long long v = 0;
    if (*digits >= '0' && *digits <= '9')
        v = strtoll(s, &end, 10);
    if (!end || *end != '\0') {
        task_usage_error("option %s wants an integer, got '%s'", opt, s);
        return -1;
    }
    if (errno == ERANGE || v < min || v > max) {
        task_usage_error("option %s must be %lld..%lld, got '%s'", opt, (long long)min, (long long)max, s);
        return -1;
    }
    *out = v;
    return 0;
}

int task_args_seconds(const char *opt, const char *s, double *out)
{
    /* Plain decimals only: strtod would also take "inf", "nan", hex and exponents. */
    const char *p = s[0] == '-' ? s + 1 : s;
    size_t ndigits = strspn(p, "0123456789");
    p += ndigits;
    if (*p == '.') {
        size_t frac = strspn(p + 1, "0123456789");
        ndigits += frac;
        p += 1 + frac;
    }
    if (ndigits == 0 || *p != '\0') {
        task_usage_error("option %s wants a number of seconds, got '%s'", opt, s);
        return -1;
    }
    double v = strtod(s, NULL);
    if (!(v >= 0 && v <= 3600)) {
        task_usage_error("option %s must be 0..3600 seconds, got '%s'", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

int task_args_parse_options(int argc, char **argv, task_opt_t *opts, size_t nopts, const char *required)
{
    int npos;
    task_args_result_t r = task_args_parse(argc, argv, opts, nopts, &npos);
    if (r != TASK_ARGS_OK)
        return task_args_exit(r);
    if (npos > 0)
        return task_usage_error("unexpected argument '%s'", argv[1]);
    for (size_t i = 0; i < nopts; i++)
        if (strcmp(opts[i].name, required) == 0 && opts[i].value == NULL)
            return task_usage_error("missing option %s", required);
    return -1;
}
