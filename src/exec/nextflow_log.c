#include "exec/nextflow_log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "model/workflow.h"
#include "util/text.h"

void nextflow_log_init(nextflow_log_t *p)
{
    memset(p, 0, sizeof(*p));
    p->exit_status = -1;
}

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void copy(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static char *trim_right(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* The text between the first `open` and the next `close` after it, into dst; 0 or -1. */
static int between(const char *s, char open, char close, char *dst, size_t cap)
{
    const char *a = strchr(s, open);
    const char *b = a ? strchr(a + 1, close) : NULL;
    if (b == NULL || b == a + 1)
        return -1;
    copy(dst, cap, a + 1, (size_t)(b - a - 1));
    return 0;
}

/* "[ab/123456] " at the start: the task hash Nextflow prints (two hex digits, a slash, six hex digits). */
static size_t hash_prefix(const char *s, char *hash, size_t cap)
{
    size_t i = 0;
    if (s[i++] != '[')
        return 0;
    for (int k = 0; k < 2; k++, i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    if (s[i++] != '/')
        return 0;
    size_t digits = 0;
    while (isxdigit((unsigned char)s[i]))
        i++, digits++;
    if (digits < 6 || s[i] != ']')
        return 0;
    copy(hash, cap, s + 1, i - 1);
    i++;
    while (s[i] == ' ')
        i++;
    return i;
}

static nextflow_line_kind_t parse_hashed(const char *rest, nextflow_line_t *out)
{
    static const struct {
        const char *prefix;
        nextflow_line_kind_t kind;
    } verbs[] = {{"Submitted process > ", NEXTFLOW_LINE_SUBMITTED}, {"Cached process > ", NEXTFLOW_LINE_CACHED}};
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (starts(rest, verbs[i].prefix)) {
            copy(out->task, sizeof(out->task), rest + strlen(verbs[i].prefix), strlen(rest + strlen(verbs[i].prefix)));
            return verbs[i].kind;
        }
    if (starts(rest, "NOTE: ")) {
        copy(out->text, sizeof(out->text), rest + 6, strlen(rest + 6));
        between(out->text, '`', '`', out->task, sizeof(out->task));
        return NEXTFLOW_LINE_NOTE;
    }
    return NEXTFLOW_LINE_TEXT;
}

static const struct {
    const char *header;
    nextflow_block_t block;
} blocks[] = {
    {"Caused by:", NEXTFLOW_BLOCK_CAUSE},
    {"Command exit status:", NEXTFLOW_BLOCK_EXIT_STATUS},
    {"Command error:", NEXTFLOW_BLOCK_STDERR},
    {"Command executed:", NEXTFLOW_BLOCK_OTHER},
    {"Command output:", NEXTFLOW_BLOCK_OTHER},
    {"Command wrapper:", NEXTFLOW_BLOCK_OTHER},
    {"Work dir:", NEXTFLOW_BLOCK_OTHER},
    {"Container:", NEXTFLOW_BLOCK_OTHER},
    {"Tip:", NEXTFLOW_BLOCK_OTHER},
    {"-- Check", NEXTFLOW_BLOCK_OTHER},
};

/* A Kubernetes Status that refused Nextflow's request is printed as pretty JSON below the first line of Caused by:
 * ("Request POST /api/v1/namespaces/x/pods returned an error code=403"); its "message" line says why. */
static void add_status_message(nextflow_log_t *p, const char *body)
{
    static const char key[] = "\"message\":";
    if (p->cause_has_status || p->cause[0] == '\0' || !starts(body, key))
        return;
    char doc[NEXTFLOW_TEXT_MAX + 16];
    size_t n = strlen(body);
    if (n > 0 && body[n - 1] == ',')
        n--;
    if (n + 3 > sizeof(doc))
        return;
    snprintf(doc, sizeof(doc), "{%.*s}", (int)n, body);
    json_t *obj = json_loads(doc, 0, NULL);
    const char *msg = json_string_value(json_object_get(obj, "message"));
    size_t len = strlen(p->cause);
    if (msg && len + 3 < sizeof(p->cause)) {
        snprintf(p->cause + len, sizeof(p->cause) - len, ": %s", msg);
        text_trim_partial_utf8(p->cause);
        p->cause_has_status = 1;
    }
    json_decref(obj);
}

/* A line of an error report, after its ERROR ~ line. */
static nextflow_line_kind_t parse_report_line(nextflow_log_t *p, const char *s, nextflow_line_t *out)
{
    const char *body = s;
    while (*body == ' ' || *body == '\t')
        body++;
    if (*body == '\0')
        return NEXTFLOW_LINE_TEXT; /* blank lines sit inside blocks */
    if (body == s) {
        /* an unindented line: a block header, or the end of the report */
        p->block = NEXTFLOW_BLOCK_NONE;
        for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
            if (starts(body, blocks[i].header)) {
                p->block = blocks[i].block;
                return NEXTFLOW_LINE_TEXT;
            }
        return NEXTFLOW_LINE_TEXT;
    }
    switch (p->block) {
    case NEXTFLOW_BLOCK_CAUSE:
        if (p->cause[0] != '\0') {
            add_status_message(p, body);
            break;
        }
        copy(p->cause, sizeof(p->cause), body, strlen(body));
        copy(out->text, sizeof(out->text), body, strlen(body));
        between(body, '`', '`', out->task, sizeof(out->task));
        return NEXTFLOW_LINE_CAUSE;
    case NEXTFLOW_BLOCK_EXIT_STATUS: {
        char *end;
        long v = strtol(body, &end, 10);
        if (end != body && *end == '\0' && v >= 0 && v < 1000 && p->exit_status < 0)
            p->exit_status = (int)v;
        break;
    }
    case NEXTFLOW_BLOCK_STDERR:
        if (strcmp(body, "(empty)") == 0)
            break;
        if (p->stderr_count >= 3)
            memmove(p->stderr_lines[0], p->stderr_lines[1], sizeof(p->stderr_lines[0]) * 2);
        copy(p->stderr_lines[p->stderr_count < 3 ? p->stderr_count : 2], sizeof(p->stderr_lines[0]), body,
             strlen(body));
        p->stderr_count++;
        break;
    default: break;
    }
    return NEXTFLOW_LINE_TEXT;
}

nextflow_line_kind_t nextflow_log_parse(nextflow_log_t *p, const char *line, size_t len, nextflow_line_t *out)
{
    char buf[2048];
    text_sanitize_utf8(buf, sizeof(buf), line, len);
    char *s = trim_right(buf);
    memset(out, 0, sizeof(*out));
    size_t n;

    if (starts(s, "N E X T F L O W")) {
        const char *v = strstr(s, "version ");
        copy(out->text, sizeof(out->text), v ? v + 8 : "", v ? strlen(v + 8) : 0);
        p->block = NEXTFLOW_BLOCK_NONE;
        return out->kind = NEXTFLOW_LINE_BANNER;
    }
    if (starts(s, "Launching `")) {
        const char *after = strchr(s + 11, '`');
        if (after && between(after, '[', ']', out->text, sizeof(out->text)) == 0)
            return out->kind = NEXTFLOW_LINE_LAUNCHING;
    }
    const char *exec = starts(s, "[warm up] ") ? s + 10 : s;
    if (starts(exec, "executor >")) {
        const char *name = exec + 10;
        while (*name == ' ')
            name++;
        size_t nlen = strcspn(name, " ");
        copy(out->text, sizeof(out->text), name, nlen);
        const char *paren = strchr(name, '(');
        out->count = paren ? atoi(paren + 1) : 0;
        return out->kind = NEXTFLOW_LINE_EXECUTOR;
    }
    if ((n = hash_prefix(s, out->hash, sizeof(out->hash))) > 0) {
        out->kind = parse_hashed(s + n, out);
        if (out->kind != NEXTFLOW_LINE_TEXT)
            return out->kind;
        out->hash[0] = '\0';
    }
    if (starts(s, "WARN: ") || starts(s, "WARN ~ ")) {
        const char *msg = s + (s[4] == ':' ? 6 : 7);
        copy(out->text, sizeof(out->text), msg, strlen(msg));
        return out->kind = NEXTFLOW_LINE_WARN;
    }
    if (starts(s, "ERROR ~ ")) {
        const char *msg = s + 8;
        static const char exec_prefix[] = "Error executing process > ";
        if (!p->has_error || p->error_task[0] == '\0') {
            /* the first report is the one that failed the run; Nextflow may print others while it stops */
            nextflow_log_init(p);
            p->has_error = 1;
        }
        p->block = NEXTFLOW_BLOCK_NONE;
        if (starts(msg, exec_prefix) && between(msg, '\'', '\'', out->task, sizeof(out->task)) == 0) {
            if (p->error_task[0] == '\0')
                copy(p->error_task, sizeof(p->error_task), out->task, strlen(out->task));
        } else {
            copy(out->text, sizeof(out->text), msg, strlen(msg));
            if (p->cause[0] == '\0' && p->error_task[0] == '\0')
                copy(p->cause, sizeof(p->cause), msg, strlen(msg));
        }
        return out->kind = NEXTFLOW_LINE_ERROR;
    }
    if (p->has_error)
        return out->kind = parse_report_line(p, s, out);
    return out->kind = NEXTFLOW_LINE_TEXT;
}

int nextflow_log_cause(const nextflow_log_t *p, char *out, size_t cap)
{
    if (!p->has_error)
        return -1;
    int n = p->exit_status > 0 && (p->cause[0] == '\0' || strstr(p->cause, "exit status"))
                ? snprintf(out, cap, "exit code %d", p->exit_status)
                : snprintf(out, cap, "%s", p->cause[0] ? p->cause : "unknown error");
    for (int i = 0; i < p->stderr_count && i < 3 && n >= 0 && (size_t)n < cap; i++)
        n += snprintf(out + n, cap - (size_t)n, ": %s", p->stderr_lines[i]);
    return 0;
}

int nextflow_log_failure(const nextflow_log_t *p, char *out, size_t cap)
{
    char cause[1024];
    if (nextflow_log_cause(p, cause, sizeof(cause)) != 0)
        return -1;
    if (p->error_task[0] == '\0')
        snprintf(out, cap, "Nextflow failed: %s", cause);
    else
        snprintf(out, cap, "%s failed: %s", p->error_task, cause);
    return 0;
}

int nextflow_task_index(int batches, const char *name)
{
    static const struct {
        const char *word;
        wf_stage_t stage;
    } stages[] = {{"GENERATE", STAGE_GENERATE}, {"ANALYZE", STAGE_ANALYZE}, {"REPORT", STAGE_REPORT}};
    for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
        size_t wl = strlen(stages[i].word);
        if (strncmp(name, stages[i].word, wl) != 0)
            continue;
        const char *rest = name + wl;
        if (stages[i].stage == STAGE_REPORT)
            return *rest == '\0' ? wf_task_index(batches, STAGE_REPORT, 0) : -1;
        int batch = 0;
        if (rest[0] == '_' && isdigit((unsigned char)rest[1]))
            rest++;
        else if (rest[0] == ' ' && rest[1] == '(' && isdigit((unsigned char)rest[2]))
            rest += 2;
        else
            return -1;
        while (isdigit((unsigned char)*rest) && batch < 1000)
            batch = batch * 10 + (*rest++ - '0');
        if (name[wl] == ' ' && *rest++ != ')')
            return -1;
        if (*rest != '\0')
            return -1;
        return wf_task_index(batches, stages[i].stage, batch);
    }
    return -1;
}
