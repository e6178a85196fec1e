/* pipeline-task: subcommand dispatch and the usage text. */
#include <stdio.h>
#include <string.h>

#include "task/task.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} main_commands[] = {
    {"generate", task_generate_main},
    {"analyze", task_analyze_main},
    {"report", task_report_main},
    {"exec", task_exec_main},
};

static void main_help_print(FILE *out)
{
    fputs(
        "Usage: pipeline-task COMMAND [OPTION...]\n"
        "\n"
        "The work each task of the demo workflow does. Log lines go to stdout, each starting with an RFC 3339\n"
        "UTC timestamp; errors go to stderr. Every output file is written to PATH.tmp.<pid> and renamed into\n"
        "place, so it appears whole or not at all. Options come in any order, as --opt VALUE or --opt=VALUE.\n"
        "The last line generate, analyze and report write on stderr is their resource use, for the service:\n"
        "  @@pipeline-task-usage wall=SECONDS user=SECONDS sys=SECONDS maxrss=BYTES rchar=BYTES wchar=BYTES exit=N\n"
        "\n"
        "Commands:\n"
        "  generate --batch N [--rows R] [--seed S] [--sleep SECONDS] [--out PATH] [--mkdir]\n"
        "      Write R rows of pseudo-random data \"N,<0..999>,<0..99>\".\n"
        "      --batch N        batch number, 1..12 (required)\n"
        "      --rows R         number of rows, 1..1000000 (default 100)\n"
        "      --seed S         0..4294967295 (default 42); the same seed and batch give the same file\n"
        "      --sleep SECONDS  demo pause before the work, 0..3600, decimals allowed (default 0)\n"
        "      --out PATH       output file (default batch_N.csv in the current directory)\n"
        "      --mkdir          create the output's missing folders first (every command takes it)\n"
        "  analyze --in PATH [--batch N] [--sleep SECONDS] [--out PATH] [--mkdir]\n"
        "      Check a batch CSV line by line and write its statistics.\n"
        "      --in PATH        the CSV to read (required)\n"
        "      --batch N        batch number shown in the log, 1..12\n"
        "                       (default: N of a file named batch_N.csv, else the batch of the first row)\n"
        "      --sleep SECONDS  demo pause before the work (default 0)\n"
        "      --out PATH       output file (default stats_<input name without .csv>.json beside the input)\n"
        "  report [--sleep SECONDS] [--out PATH] [--mkdir] [--] STATS_FILE...\n"
        "      Combine one or more stats files, in the order given, into a report.\n"
        "      --sleep SECONDS  demo pause before the work (default 0)\n"
        "      --out PATH       output file (default report.json in the current directory)\n"
        "  exec PROGRAM [ARG...]\n"
        "      Arrange to be killed when the parent process dies, check PIPELINE_PARENT_PID, then run PROGRAM\n"
        "      with exactly these arguments (searched in PATH); its exit status becomes ours.\n"
        "  help, --help, -h\n"
        "      Print this text (also COMMAND --help).\n"
        "\n"
        "Files:\n"
        "  batch CSV    one line per row, \"<batch>,<0..999>,<0..99>\": digits only, the same batch on every line\n"
        "  stats JSON   {\"file\":\"batch_N.csv\",\"lines\":L,\"sum\":<sum of column 2>,\"average\":<sum/L, 2 "
        "decimals>}\n"
        "  report JSON  {\"batches\":[<stats>...],\"timestamp\":\"<RFC 3339 UTC>\",\"total_batches\":K,\n"
        "               \"total_records\":<sum of lines>,\"total_sum\":<sum of sums>,\"average_value\":<2 decimals>}\n"
        "\n"
        "Environment:\n"
        "  PIPELINE_PARENT_PID  the process id of the parent that started the task. Every command except help\n"
        "                       first asks the kernel for SIGKILL when the parent dies, then exits 70 if the\n"
        "                       parent is no longer this process (it died before that request); a task below a\n"
        "                       wrapper exits 70 if its parent is no longer below this process.\n"
        "\n"
        "Exit status:\n"
        "  0    success\n"
        "  1    bad or unreadable input, or an I/O error (the message names the file, and the line of a CSV)\n"
        "  2    bad command line: unknown command or option, missing, malformed or out-of-range value\n"
        "  70   the parent named by PIPELINE_PARENT_PID is gone\n"
        "  127  exec: PROGRAM could not be run (otherwise exec ends as PROGRAM does)\n",
        out);
}

int task_help(void)
{
    main_help_print(stdout);
    /* With line buffering an early line may already have failed, which a final fflush does not report. */
    return fflush(stdout) == 0 && !ferror(stdout) ? TASK_EXIT_OK : TASK_EXIT_FAIL;
}

static int main_is_help(const char *arg)
{
    return strcmp(arg, "help") == 0 || strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int main(int argc, char **argv)
{
    /* Log lines are read from a pipe as they come; task_log also flushes, this covers any other output. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    task_usage_begin();
    if (argc < 2) {
        fputs("Usage: pipeline-task generate|analyze|report|exec|help [OPTION...]\n"
              "Try 'pipeline-task --help' for more information.\n",
              stderr);
        return TASK_EXIT_USAGE;
    }
    if (main_is_help(argv[1]))
        return task_help();
    for (size_t i = 0; i < sizeof(main_commands) / sizeof(main_commands[0]); i++) {
        if (strcmp(argv[1], main_commands[i].name) == 0) {
            task_set_command(main_commands[i].name);
            int rc = main_commands[i].run(argc - 1, argv + 1);
            /* exec: the program it ran reports (or not) itself; a help printed did no work */
            if (main_commands[i].run != task_exec_main && !task_args_helped)
                task_usage_report(rc);
            return rc;
        }
    }
    return task_usage_error("unknown command '%s'", argv[1]);
}
