/*
 * Unit tests for src/exec/nextflow_log.{h,c}: Nextflow's plain console lines. The inputs are real Nextflow
 * output (Nextflow 24.10.0 and 24.02.0-edge with -ansi-log false, older 0.3x releases, the error report of a
 * failed process as Nextflow's training material prints it), with this project's task names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "exec/nextflow_log.h"

static nextflow_line_kind_t parse(nextflow_log_t *p, const char *line, nextflow_line_t *out)
{
    return nextflow_log_parse(p, line, strlen(line), out);
}

static void banner_launching_submitted(void **state)
{
    (void)state;
    nextflow_log_t p;
    nextflow_line_t l;
    nextflow_log_init(&p);
    assert_int_equal(parse(&p, "N E X T F L O W  ~  version 24.10.0", &l), NEXTFLOW_LINE_BANNER);
    assert_string_equal(l.text, "24.10.0");
    assert_int_equal(parse(&p, "Launching `hello-channels.nf` [pensive_poitras] DSL2 - revision: 778deadaea", &l),
                     NEXTFLOW_LINE_LAUNCHING);
    assert_string_equal(l.text, "pensive_poitras");
    assert_int_equal(parse(&p, "Launching `tutorial.nf` [jolly_ride] - revision: 4a11bf2927", &l),
                     NEXTFLOW_LINE_LAUNCHING);
    assert_string_equal(l.text, "jolly_ride");
    assert_int_equal(parse(&p, "[76/f61695] Submitted process > sayHello (1)", &l), NEXTFLOW_LINE_SUBMITTED);
    assert_string_equal(l.hash, "76/f61695");
    assert_string_equal(l.task, "sayHello (1)");
    assert_int_equal(parse(&p, "[e0/bbd6ef] Submitted process > SAMTOOLS_INDEX (3)", &l), NEXTFLOW_LINE_SUBMITTED);
    assert_string_equal(l.task, "SAMTOOLS_INDEX (3)");
    assert_int_equal(parse(&p, "[92/fd0b10] Submitted process > splitLetters", &l), NEXTFLOW_LINE_SUBMITTED);
    assert_string_equal(l.task, "splitLetters");
    assert_int_equal(parse(&p, "[4f/7071b0] Cached process > GENERATE (2)", &l), NEXTFLOW_LINE_CACHED);
    assert_string_equal(l.task, "GENERATE (2)");
    /* a console line with a trailing carriage return */
    assert_int_equal(parse(&p, "[ab/123456] Submitted process > REPORT\r", &l), NEXTFLOW_LINE_SUBMITTED);
    assert_string_equal(l.task, "REPORT");
    assert_int_equal(p.has_error, 0);
    char msg[256];
    assert_int_equal(nextflow_log_failure(&p, msg, sizeof(msg)), -1);
}

static void executor_warn_note_and_other_text(void **state)
{
    (void)state;
    nextflow_log_t p;
    nextflow_line_t l;
    nextflow_log_init(&p);
    assert_int_equal(parse(&p, "executor >  k8s (3)", &l), NEXTFLOW_LINE_EXECUTOR);
    assert_string_equal(l.text, "k8s");
    assert_int_equal(l.count, 3);
    assert_int_equal(parse(&p, "[warm up] executor > local", &l), NEXTFLOW_LINE_EXECUTOR);
    assert_string_equal(l.text, "local");
    assert_int_equal(l.count, 0);
    assert_int_equal(parse(&p, "WARN: Killing running tasks (1)", &l), NEXTFLOW_LINE_WARN);
    assert_string_equal(l.text, "Killing running tasks (1)");
    assert_int_equal(parse(&p,
                           "[66/a45068] NOTE: Process `POSTPROCESS:JOIN (join)` terminated for an unknown reason -- "
                           "Likely it has been terminated by the external system -- Execution is retried (1)",
                           &l),
                     NEXTFLOW_LINE_NOTE);
    assert_string_equal(l.hash, "66/a45068");
    assert_string_equal(l.task, "POSTPROCESS:JOIN (join)");
    assert_int_equal(parse(&p, "WORLD!", &l), NEXTFLOW_LINE_TEXT);
    assert_int_equal(parse(&p, "", &l), NEXTFLOW_LINE_TEXT);
    assert_int_equal(parse(&p, "[not/a hash] Submitted process > X", &l), NEXTFLOW_LINE_TEXT);
    assert_int_equal(parse(&p, "[3c/9f2a] Submitted process > X", &l), NEXTFLOW_LINE_TEXT); /* hash too short */
    assert_int_equal(parse(&p, "Launching nothing", &l), NEXTFLOW_LINE_TEXT);
    /* invalid UTF-8 and control bytes do not break it */
    static const char junk[] = "WARN: \xff\xfe bad\x01 bytes";
    assert_int_equal(nextflow_log_parse(&p, junk, sizeof(junk) - 1, &l), NEXTFLOW_LINE_WARN);
    assert_int_equal(p.has_error, 0);
}

/* A failed process, as Nextflow prints its error report (one line per array item). */
static const char *const failed_report[] = {
    "N E X T F L O W  ~  version 24.10.0",
    "Launching `/workflows/demo.nf` [r0123456789a] DSL2 - revision: 2f6c8b1d3e",
    "[a8/1f6ead] Submitted process > GENERATE (1)",
    "[26/73dac1] Submitted process > ANALYZE (1)",
    "ERROR ~ Error executing process > 'ANALYZE (1)'",
    "",
    "Caused by:",
    "  Process `ANALYZE (1)` terminated with an error exit status (3)",
    "",
    "",
    "Command executed:",
    "",
    "  pipeline-task analyze --batch=1 --sleep=3 --in=batch_1.csv \\",
    "      --out=stats_batch_1.json",
    "",
    "Command exit status:",
    "  3",
    "",
    "Command output:",
    "  (empty)",
    "",
    "Command error:",
    "  analyze: reading batch_1.csv",
    "  boom: disk on fire",
    "",
    "Work dir:",
    "  /workspace/work/r0123456789a/26/73dac1c4b2e9f0a1d2c3b4a5968778",
    "",
    "Tip: you can replicate the issue by changing to the process work dir and entering the command `bash "
    ".command.run`",
    "",
    " -- Check '.nextflow.log' file for details",
    "WARN: Killing running tasks (1)",
};

static void error_report_names_task_and_cause(void **state)
{
    (void)state;
    nextflow_log_t p;
    nextflow_line_t l;
    nextflow_log_init(&p);
    int errors = 0, causes = 0, warns = 0;
    for (size_t i = 0; i < sizeof(failed_report) / sizeof(failed_report[0]); i++) {
        switch (parse(&p, failed_report[i], &l)) {
        case NEXTFLOW_LINE_ERROR:
            errors++;
            assert_string_equal(l.task, "ANALYZE (1)");
            break;
        case NEXTFLOW_LINE_CAUSE:
            causes++;
            assert_string_equal(l.text, "Process `ANALYZE (1)` terminated with an error exit status (3)");
            assert_string_equal(l.task, "ANALYZE (1)");
            break;
        case NEXTFLOW_LINE_WARN: warns++; break;
        default: break;
        }
    }
    assert_int_equal(errors, 1);
    assert_int_equal(causes, 1);
    assert_int_equal(warns, 1);
    assert_int_equal(p.exit_status, 3);
    char msg[512];
    assert_int_equal(nextflow_log_failure(&p, msg, sizeof(msg)), 0);
    assert_string_equal(msg, "ANALYZE (1) failed: exit code 3: analyze: reading batch_1.csv: boom: disk on fire");
}

static void error_without_exit_status_keeps_the_cause(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "ERROR ~ Error executing process > 'sayHello (1)'",
        "",
        "Caused by:",
        "  Missing output file(s) `[Hello, Bonjour, Holà]-output.txt` expected by process `sayHello (1)`",
        "",
        "Command exit status:",
        "  0",
        "",
        "Command output:",
        "  (empty)",
    };
    nextflow_log_t p;
    nextflow_line_t l;
    nextflow_log_init(&p);
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        parse(&p, lines[i], &l);
    char msg[512];
    assert_int_equal(nextflow_log_failure(&p, msg, sizeof(msg)), 0);
    assert_string_equal(msg, "sayHello (1) failed: Missing output file(s) `[Hello, Bonjour, Holà]-output.txt` "
                             "expected by process `sayHello (1)`");
}

static void refused_submission_names_the_api_s_reason(void **state)
{
    (void)state;
    /* K8sResponseException: the request, then the Status the API answered, pretty-printed */
    static const char *const lines[] = {
        "ERROR ~ Error executing process > 'GENERATE (1)'",
        "",
        "Caused by:",
        "  Failed to submit K8s pod -- Cause: Request POST /api/v1/namespaces/demo/pods returned an error code=403",
        "  ",
        "    {",
        "        \"kind\": \"Status\",",
        "        \"status\": \"Failure\",",
        "        \"message\": \"pods \\\"nf-1\\\" is forbidden: failed quota: homelab: must specify limits.cpu\",",
        "        \"reason\": \"Forbidden\",",
        "        \"code\": 403",
        "    }",
        "",
        "Work dir:",
        "  /workspace/work/ab/cdef",
    };
    nextflow_log_t p;
    nextflow_line_t l;
    nextflow_log_init(&p);
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        parse(&p, lines[i], &l);
    char msg[1024];
    assert_int_equal(nextflow_log_failure(&p, msg, sizeof(msg)), 0);
    assert_string_equal(msg, "GENERATE (1) failed: Failed to submit K8s pod -- Cause: Request POST "
                             "/api/v1/namespaces/demo/pods returned an error code=403: pods \"nf-1\" is forbidden: "
                             "failed quota: homelab: must specify limits.cpu");
}

static void error_not_about_a_process(void **state)
{
    (void)state;
    nextflow_log_t p;
    nextflow_line_t l;
    nextflow_log_init(&p);
    assert_int_equal(parse(&p, "ERROR ~ No such file or directory: /workflows/demo.nf", &l), NEXTFLOW_LINE_ERROR);
    assert_string_equal(l.task, "");
    assert_string_equal(l.text, "No such file or directory: /workflows/demo.nf");
    char msg[512];
    assert_int_equal(nextflow_log_failure(&p, msg, sizeof(msg)), 0);
    assert_string_equal(msg, "Nextflow failed: No such file or directory: /workflows/demo.nf");
}

static void task_index_from_names_and_labels(void **state)
{
    (void)state;
    assert_int_equal(nextflow_task_index(5, "GENERATE (1)"), 0);
    assert_int_equal(nextflow_task_index(5, "GENERATE_1"), 0);
    assert_int_equal(nextflow_task_index(5, "GENERATE (5)"), 4);
    assert_int_equal(nextflow_task_index(5, "ANALYZE (2)"), 6);
    assert_int_equal(nextflow_task_index(5, "ANALYZE_2"), 6);
    assert_int_equal(nextflow_task_index(12, "ANALYZE_12"), 23);
    assert_int_equal(nextflow_task_index(5, "REPORT"), 10);
    assert_int_equal(nextflow_task_index(5, "GENERATE (6)"), -1);
    assert_int_equal(nextflow_task_index(5, "GENERATE (0)"), -1);
    assert_int_equal(nextflow_task_index(5, "GENERATE (1"), -1);
    assert_int_equal(nextflow_task_index(5, "GENERATE_1x"), -1);
    assert_int_equal(nextflow_task_index(5, "GENERATE"), -1);
    assert_int_equal(nextflow_task_index(5, "REPORT (1)"), -1);
    assert_int_equal(nextflow_task_index(5, "sayHello (1)"), -1);
    assert_int_equal(nextflow_task_index(5, "GENERATE_99999999999"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(banner_launching_submitted),
        cmocka_unit_test(executor_warn_note_and_other_text),
        cmocka_unit_test(error_report_names_task_and_cause),
        cmocka_unit_test(error_without_exit_status_keeps_the_cause),
        cmocka_unit_test(refused_submission_names_the_api_s_reason),
        cmocka_unit_test(error_not_about_a_process),
        cmocka_unit_test(task_index_from_names_and_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
