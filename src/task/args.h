/* Command-line options of the subcommands: "--name value" or "--name=value", in any order. */
#ifndef TASK_ARGS_H
#define TASK_ARGS_H

#include <stddef.h>
#include <stdint.h>

/** One option a subcommand accepts; `value` stays NULL unless the option was given. */
typedef struct {
    const char *name; /* with its dashes: "--batch" */
    const char *value;
    int flag; /* takes no value ("--mkdir"); `value` then points at `name` when given */
} task_opt_t;

typedef enum {
    TASK_ARGS_OK,   /* parsed */
    TASK_ARGS_HELP, /* --help or -h was given and the usage text printed: exit 0 (1 if stdout failed) */
    TASK_ARGS_BAD,  /* a mistake was reported on stderr: exit TASK_EXIT_USAGE */
} task_args_result_t;

/**
 * Parses argv[1..argc-1] (argv[0] is the subcommand) against `opts`. An unknown option, a missing or empty
 * value or an option given twice is an error. Arguments that are not options ("--" ends the options) are moved
 * to argv[1..*npos], in order.
 */
task_args_result_t task_args_parse(int argc, char **argv, task_opt_t *opts, size_t nopts, int *npos);

/**
 * For a subcommand without positional arguments: parses, and requires the option `required`. Returns -1 when all
 * is well, else the exit status to leave with (help shown, or the mistake reported).
 */
int task_args_parse_options(int argc, char **argv, task_opt_t *opts, size_t nopts, const char *required);

/** The exit status for a result other than TASK_ARGS_OK (the help's, for TASK_ARGS_HELP). */
int task_args_exit(task_args_result_t r);

/** Reads the decimal integer `s` of option `opt` into `*out` if it lies in min..max; else reports, returns -1. */
int task_args_int(const char *opt, const char *s, int64_t min, int64_t max, int64_t *out);

/** Reads a decimal number of seconds ("2", "0.25", ".5") of option `opt`, 0..3600; else reports, returns -1. */
int task_args_seconds(const char *opt, const char *s, double *out);

#endif
