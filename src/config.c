#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "kube/kube_quantity.h"
#include "store/redis_url.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/text.h"

typedef enum { VAR_INT, VAR_SECONDS, VAR_STRING, VAR_CHOICE, VAR_CPU, VAR_MEMORY } var_type_t;

/* One environment variable: where it lands in config_t, its default and what it allows. */
typedef struct var_spec {
    const char *name;
    var_type_t type;
    size_t offset;
    size_t size;         /* VAR_STRING, VAR_CPU, VAR_MEMORY: capacity of the string field */
    const char *defval;  /* as it would be written in the environment */
    long long min, max;  /* VAR_INT, VAR_SECONDS */
    const char *choices; /* VAR_CHOICE: "a|b|c", stored as the index into the list */
    size_t offset2;      /* VAR_CPU, VAR_MEMORY: the parsed number */
} var_spec_t;

#define F(field) offsetof(config_t, field)
#define S(field) offsetof(config_t, field), sizeof(((config_t *)0)->field)

static const var_spec_t specs[] = {
    {"HOST", VAR_STRING, S(host), "0.0.0.0", 0, 0, NULL, 0},
    {"PORT", VAR_INT, F(port), 0, "8000", 1, 65535, NULL, 0},
    {"DATA_DIR", VAR_STRING, S(data_dir), "./var", 0, 0, NULL, 0},
    {"EXECUTOR", VAR_CHOICE, F(executor), 0, "local", 0, 0, "local|kubernetes|nextflow", 0},
    {"DEFAULT_BATCH_COUNT", VAR_INT, F(default_batch_count), 0, "5", 1, CONFIG_MAX_BATCH_COUNT, NULL, 0},
    {"MAX_BATCH_COUNT", VAR_INT, F(max_batch_count), 0, "12", 1, CONFIG_MAX_BATCH_COUNT, NULL, 0},
    {"GENERATE_SECONDS", VAR_SECONDS, F(generate_seconds), 0, "5", 0, 3600, NULL, 0},
    {"ANALYZE_SECONDS", VAR_SECONDS, F(analyze_seconds), 0, "3", 0, 3600, NULL, 0},
    {"ROWS_PER_BATCH", VAR_INT, F(rows_per_batch), 0, "100", 1, 1000000, NULL, 0},
    {"LOCAL_PARALLELISM", VAR_INT, F(local_parallelism), 0, "12", 1, 64, NULL, 0},
    {"TASK_PROGRAM", VAR_STRING, S(task_program), "", 0, 0, NULL, 0},
    {"TASK_RETRIES", VAR_INT, F(task_retries), 0, "1", 0, 5, NULL, 0},
    {"CANCEL_GRACE_SECONDS", VAR_SECONDS, F(cancel_grace_seconds), 0, "3", 0, 60, NULL, 0},
    {"RUN_HISTORY_LIMIT", VAR_INT, F(run_history_limit), 0, "5", 1, 100, NULL, 0},
    {"RUN_TTL_MINUTES", VAR_INT, F(run_ttl_minutes), 0, "30", 1, 525600, NULL, 0},
    {"RATE_LIMIT_PER_MINUTE", VAR_INT, F(rate_limit_per_minute), 0, "60", 0, 1000000, NULL, 0},
    {"TRUSTED_PROXIES", VAR_STRING, S(trusted_proxies_str), "", 0, 0, NULL, 0},
    {"RESULTS_KEEP", VAR_INT, F(results_keep), 0, "0", 0, 100000, NULL, 0},
    {"ALLOWED_ORIGINS", VAR_STRING, S(allowed_origins), "*", 0, 0, NULL, 0},
    {"API_TOKEN", VAR_STRING, S(api_token), "", 0, 0, NULL, 0},
    {"LOG_FORMAT", VAR_CHOICE, F(log_json), 0, "text", 0, 0, "text|json", 0},
    {"LOG_LEVEL", VAR_CHOICE, F(log_level), 0, "info", 0, 0, "debug|info|warn|error", 0},
    {"MAX_WEBSOCKET_CONNECTIONS", VAR_INT, F(max_websocket_connections), 0, "100", 1, 100000, NULL, 0},
    {"MAX_WEBSOCKET_CONNECTIONS_PER_IP", VAR_INT, F(max_websocket_connections_per_ip), 0, "10", 1, 100000, NULL, 0},
    {"WS_SEND_QUEUE_BYTES", VAR_INT, F(ws_send_queue_bytes), 0, "1048576", 4096, 1073741824, NULL, 0},
    {"WS_KEEPALIVE_SECONDS", VAR_SECONDS, F(ws_keepalive_seconds), 0, "30", 1, 3600, NULL, 0},
    {"BENCH_EVENTS", VAR_INT, F(bench_events), 0, "0", 0, 1, NULL, 0},
    {"REDIS_URL", VAR_STRING, S(redis_url), "", 0, 0, NULL, 0},
    {"REDIS_PREFIX", VAR_STRING, S(redis_prefix), "pipeline:", 0, 0, NULL, 0},
    {"REDIS_REQUIRED", VAR_CHOICE, F(redis_required), 0, "false", 0, 0, "false|true", 0},
    {"LOCK_LEASE_SECONDS", VAR_SECONDS, F(lock_lease_seconds), 0, "15", 1, 600, NULL, 0},
    {"WORKER_CPU", VAR_CPU, S(worker_cpu_str), "1", 0, 0, NULL, F(worker_cpu)},
    {"WORKER_MEMORY", VAR_MEMORY, S(worker_memory_str), "4Gi", 0, 0, NULL, F(worker_memory_gi)},
    {"CONTROLLER_CPU", VAR_CPU, S(controller_cpu_str), "2", 0, 0, NULL, F(controller_cpu)},
    {"CONTROLLER_MEMORY", VAR_MEMORY, S(controller_memory_str), "4Gi", 0, 0, NULL, F(controller_memory_gi)},
    {"QUOTA_CPU", VAR_CPU, S(quota_cpu_str), "14", 0, 0, NULL, F(quota_cpu)},
    {"QUOTA_MEMORY", VAR_MEMORY, S(quota_memory_str), "50Gi", 0, 0, NULL, F(quota_memory_gi)},
    /* Kubernetes API access */
    {"KUBE_API_URL", VAR_STRING, S(kube_api_url), "", 0, 0, NULL, 0},
    {"KUBE_TOKEN", VAR_STRING, S(kube_token), "", 0, 0, NULL, 0},
    {"KUBE_CA_FILE", VAR_STRING, S(kube_ca_file), "", 0, 0, NULL, 0},
    {"KUBE_INSECURE", VAR_INT, F(kube_insecure), 0, "0", 0, 1, NULL, 0},
    {"KUBECONFIG", VAR_STRING, S(kubeconfig), "", 0, 0, NULL, 0},
    {"KUBE_CONTEXT", VAR_STRING, S(kube_context), "", 0, 0, NULL, 0},
    {"KUBE_SERVICEACCOUNT_DIR", VAR_STRING, S(kube_serviceaccount_dir), "/var/run/secrets/kubernetes.io/serviceaccount",
     0, 0, NULL, 0},
    {"KUBE_NAMESPACE", VAR_STRING, S(kube_namespace), "", 0, 0, NULL, 0},
    {"NEXTFLOW_NAMESPACE", VAR_STRING, S(nextflow_namespace), "", 0, 0, NULL, 0},
    {"KUBERNETES_SERVICE_HOST", VAR_STRING, S(kubernetes_service_host), "", 0, 0, NULL, 0},
    {"KUBERNETES_SERVICE_PORT", VAR_STRING, S(kubernetes_service_port), "443", 0, 0, NULL, 0},
    {"KUBE_TIMEOUT_SECONDS", VAR_SECONDS, F(kube_timeout_seconds), 0, "30", 1, 600, NULL, 0},
    /* EXECUTOR=nextflow */
    {"APP_IMAGE", VAR_STRING, S(app_image), "pipeline-orchestrator:latest", 0, 0, NULL, 0},
    /* a VAR_STRING with `choices`: kept as the text (it goes into pod specs and nextflow.config as written) */
    {"IMAGE_PULL_POLICY", VAR_STRING, S(image_pull_policy), "IfNotPresent", 0, 0, "IfNotPresent|Always|Never", 0},
    {"NEXTFLOW_IMAGE", VAR_STRING, S(nextflow_image), "nextflow/nextflow:24.10.0", 0, 0, NULL, 0},
    {"NEXTFLOW_SERVICE_ACCOUNT", VAR_STRING, S(nextflow_service_account), "nextflow-runner", 0, 0, NULL, 0},
    {"WORK_PVC", VAR_STRING, S(work_pvc), "nextflow-work-pvc", 0, 0, NULL, 0},
    {"WORK_MOUNT", VAR_STRING, S(work_mount), "", 0, 0, NULL, 0},
    {"JOB_ACTIVE_DEADLINE_SECONDS", VAR_INT, F(job_active_deadline_seconds), 0, "900", 1, 604800, NULL, 0},
    {"JOB_TTL_SECONDS", VAR_INT, F(job_ttl_seconds), 0, "900", 0, 604800, NULL, 0},
    {"POD_START_TIMEOUT_SECONDS", VAR_SECONDS, F(pod_start_timeout_seconds), 0, "300", 1, 86400, NULL, 0},
};

/* A Kubernetes quantity (kube/kube_quantity.c: the API server's grammar), not negative, in units of 10^exp10. */
static int parse_quantity(const char *s, int exp10, double *out)
{
    kube_quantity_t q;
    int64_t v;
    if (kube_quantity_parse(s, &q) != 0 || q.negative || kube_quantity_scaled(&q, exp10, 1, &v) != 0)
        return -1;
    *out = (double)v;
    return 0;
}

int config_parse_cpu(const char *s, double *cores)
{
    double milli;
    if (parse_quantity(s, -3, &milli) != 0)
        return -1;
    *cores = milli / 1000.0;
    return 0;
}

int config_parse_memory_gi(const char *s, double *gi)
{
    double bytes;
    if (parse_quantity(s, 0, &bytes) != 0)
        return -1;
    *gi = bytes / 1073741824.0;
    return 0;
}

static int parse_int(const char *s, long long *out)
{
    if (*s == '\0' || isspace((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0' || errno != 0)
        return -1;
    *out = v;
    return 0;
}

/* Plain decimals only ("2", "0.5"): the form pipeline-task takes, so every accepted value can reach a task. */
static int parse_seconds(const char *s, double *out)
{
    size_t digits = strspn(s, "0123456789"), frac = 0;
    if (s[digits] == '.')
        frac = strspn(s + digits + 1, "0123456789");
    if (digits == 0 || s[digits + (s[digits] == '.' ? 1 + frac : 0)] != '\0' || (s[digits] == '.' && frac == 0))
        return -1;
    *out = strtod(s, NULL);
    return isfinite(*out) ? 0 : -1;
}

static int choice_index(const char *choices, const char *value)
{
    size_t vlen = strlen(value);
    int idx = 0;
    for (const char *p = choices;; idx++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == vlen && strncmp(p, value, len) == 0)
            return idx;
        if (bar == NULL)
            return -1;
        p = bar + 1;
    }
}

static int apply_spec(config_t *cfg, const var_spec_t *v, const char *value, char *err, size_t errlen)
{
    char *base = (char *)cfg;
    long long iv;
    double dv;
    switch (v->type) {
    case VAR_INT:
        if (parse_int(value, &iv) != 0 || iv < v->min || iv > v->max) {
            snprintf(err, errlen, "%s=\"%s\" is invalid: expected an integer from %lld to %lld", v->name, value, v->min,
                     v->max);
            return -1;
        }
        *(int *)(base + v->offset) = (int)iv;
        return 0;
    case VAR_SECONDS:
        if (parse_seconds(value, &dv) != 0 || dv < (double)v->min || dv > (double)v->max) {
            snprintf(err, errlen, "%s=\"%s\" is invalid: expected a decimal number of seconds from %lld to %lld", v->name,
                     value, v->min, v->max);
            return -1;
        }
        *(double *)(base + v->offset) = dv;
        return 0;
    case VAR_CHOICE:
        if ((iv = choice_index(v->choices, value)) < 0) {
            snprintf(err, errlen, "%s=\"%s\" is invalid: expected one of %s", v->name, value, v->choices);
            return -1;
        }
        *(int *)(base + v->offset) = (int)iv;
        return 0;
    case VAR_CPU:
    case VAR_MEMORY:
        if ((v->type == VAR_CPU ? config_parse_cpu(value, &dv) : config_parse_memory_gi(value, &dv)) != 0 || dv <= 0) {
            snprintf(err, errlen, "%s=\"%s\" is invalid: expected a positive Kubernetes %s quantity such as %s",
                     v->name, value, v->type == VAR_CPU ? "CPU" : "memory",
                     v->type == VAR_CPU ? "\"2\" or \"500m\"" : "\"4Gi\" or \"512Mi\"");
            return -1;
        }
        *(double *)(base + v->offset2) = dv;
        /* keep the string as written too: the preview shows it */
        __attribute__((fallthrough));
    case VAR_STRING:
        if (strlen(value) >= v->size) {
            snprintf(err, errlen, "%s is invalid: longer than %zu characters", v->name, v->size - 1);
            return -1;
        }
        strcpy(base + v->offset, value);
        return 0;
    }
    return -1;
}

/* One origin as a browser sends it: http(s)://host[:port], nothing after, no blanks. */
static int origin_valid(const char *s, size_t len)
{
    size_t scheme = len > 8 && strncmp(s, "https://", 8) == 0 ? 8 : len > 7 && strncmp(s, "http://", 7) == 0 ? 7 : 0;
    if (scheme == 0)
        return 0;
    for (size_t i = scheme; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && strchr("-.:[]_", s[i]) == NULL)
            return 0;
    return 1;
}

static int check_origins(const char *list, char *err, size_t errlen)
{
    if (strcmp(list, "*") == 0)
        return 0;
    int count = 0;
    for (const char *p = list;; p++) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len > 0 && *p == ' ')
            p++, len--;
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (len > 0 && !origin_valid(p, len)) {
            snprintf(err, errlen,
                     "ALLOWED_ORIGINS is invalid: \"%.*s\" is not an origin; expected \"*\" or a comma-separated list "
                     "such as \"https://example.org,http://localhost:8000\"",
                     (int)(len > 200 ? 200 : len), p);
            return -1;
        }
        count += len > 0;
        if (end == NULL)
            break;
        p = end;
    }
    if (count == 0) {
        snprintf(err, errlen, "ALLOWED_ORIGINS is invalid: expected \"*\" or at least one origin");
        return -1;
    }
    return 0;
}

/* A path given relative to the working directory, made absolute once: tasks run in other folders. */
static int make_absolute(char *path, size_t cap, const char *name, char *err, size_t errlen)
{
    char abs[4096];
    if (fs_absolute(path, abs, sizeof(abs)) != 0 || strlen(abs) >= cap) {
        snprintf(err, errlen, "%s is invalid: its absolute path is too long", name);
        return -1;
    }
    strcpy(path, abs);
    return 0;
}

static int check_kube(const config_t *cfg, char *err, size_t errlen)
{
    const char *url = cfg->kube_api_url;
    if (url[0] != '\0' && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        snprintf(err, errlen, "KUBE_API_URL=\"%s\" is invalid: expected http://host:port or https://host:port", url);
        return -1;
    }
    const char *ns[] = {"KUBE_NAMESPACE", cfg->kube_namespace, "NEXTFLOW_NAMESPACE", cfg->nextflow_namespace};
    for (int i = 0; i < 4; i += 2)
        if (ns[i + 1][0] != '\0' && !text_is_dns_label(ns[i + 1])) {
            snprintf(err, errlen, "%s=\"%s\" is invalid: a namespace is a DNS-1123 label (a-z, 0-9, '-')", ns[i],
                     ns[i + 1]);
            return -1;
        }
    return 0;
}

/* The Job's settings end up in a Nextflow config file (single-quoted strings) and in object names. */
static int check_nextflow(const config_t *cfg, char *err, size_t errlen)
{
    const char *text[] = {"APP_IMAGE", cfg->app_image, "NEXTFLOW_IMAGE", cfg->nextflow_image};
    for (int i = 0; i < 4; i += 2)
        if (text[i + 1][0] == '\0' || strpbrk(text[i + 1], "'\\\" \t\r\n") != NULL) {
            snprintf(err, errlen, "%s=\"%s\" is invalid: expected an image reference (no spaces or quotes)", text[i],
                     text[i + 1]);
            return -1;
        }
    if (choice_index("IfNotPresent|Always|Never", cfg->image_pull_policy) < 0) {
        snprintf(err, errlen, "IMAGE_PULL_POLICY=\"%s\" is invalid: expected IfNotPresent, Always or Never",
                 cfg->image_pull_policy);
        return -1;
    }
    const char *names[] = {"NEXTFLOW_SERVICE_ACCOUNT", cfg->nextflow_service_account, "WORK_PVC", cfg->work_pvc};
    for (int i = 0; i < 4; i += 2)
        if (!text_is_dns_label(names[i + 1])) {
            snprintf(err, errlen, "%s=\"%s\" is invalid: a Kubernetes name (a-z, 0-9, '-')", names[i], names[i + 1]);
            return -1;
        }
    if (cfg->work_mount[0] != '\0' && cfg->work_mount[0] != '/') {
        snprintf(err, errlen, "WORK_MOUNT=\"%s\" is invalid: expected an absolute path (or empty)", cfg->work_mount);
        return -1;
    }
    return 0;
}

/* Cross-field rules and derived defaults, once every variable has its value. */
static int check_config(config_t *cfg, const char *self_dir, char *err, size_t errlen)
{
    if (cfg->default_batch_count > cfg->max_batch_count) {
        snprintf(err, errlen, "DEFAULT_BATCH_COUNT=%d is invalid: it must not exceed MAX_BATCH_COUNT=%d",
                 cfg->default_batch_count, cfg->max_batch_count);
        return -1;
    }
    if (cfg->data_dir[0] == '\0') {
        snprintf(err, errlen, "DATA_DIR is invalid: it must not be empty");
        return -1;
    }
    struct in6_addr addr;
    if (inet_pton(AF_INET, cfg->host, &addr) != 1 && inet_pton(AF_INET6, cfg->host, &addr) != 1) {
        snprintf(err, errlen, "HOST=\"%s\" is invalid: expected an IPv4 or IPv6 address such as 0.0.0.0 or ::",
                 cfg->host);
        return -1;
    }
    if (check_origins(cfg->allowed_origins, err, errlen) != 0)
        return -1;
    if (make_absolute(cfg->data_dir, sizeof(cfg->data_dir), "DATA_DIR", err, errlen) != 0)
        return -1;
    /* a bare name is looked up in PATH; a path with a slash is relative to the working directory */
    if (strchr(cfg->task_program, '/') &&
        make_absolute(cfg->task_program, sizeof(cfg->task_program), "TASK_PROGRAM", err, errlen) != 0)
        return -1;
    if (cfg->task_program[0] == '\0' && snprintf(cfg->task_program, sizeof(cfg->task_program), "%s/pipeline-task",
                                                 self_dir) >= (int)sizeof(cfg->task_program)) {
        snprintf(err, errlen, "TASK_PROGRAM is invalid: the default path is too long");
        return -1;
    }
    if (snprintf(cfg->task_launcher, sizeof(cfg->task_launcher), "%s/pipeline-task", self_dir) >=
        (int)sizeof(cfg->task_launcher)) {
        snprintf(err, errlen, "the service's folder path is too long");
        return -1;
    }
    char why[160];
    if (cidr_list_parse(cfg->trusted_proxies_str, &cfg->trusted_proxies, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "TRUSTED_PROXIES is invalid: %s (expected addresses or CIDR ranges)", why);
        return -1;
    }
    redis_url_t url;
    if (cfg->redis_url[0] != '\0' && redis_url_parse(cfg->redis_url, &url, err, errlen) != 0)
        return -1;
    if (cfg->redis_prefix[0] == '\0') {
        snprintf(err, errlen, "REDIS_PREFIX is invalid: it must not be empty");
        return -1;
    }
    for (const char *p = cfg->redis_prefix; *p; p++)
        if (isspace((unsigned char)*p) || !isprint((unsigned char)*p) || *p == '{' || *p == '}') {
            snprintf(err, errlen, "REDIS_PREFIX is invalid: printable characters without spaces or braces only");
            return -1;
        }
    return check_kube(cfg, err, errlen) == 0 ? check_nextflow(cfg, err, errlen) : -1;
}

void config_print_variables(FILE *out)
{
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        const var_spec_t *v = &specs[i];
        char allowed[96];
        switch (v->type) {
        case VAR_INT: snprintf(allowed, sizeof(allowed), "integer %lld..%lld", v->min, v->max); break;
        case VAR_SECONDS: snprintf(allowed, sizeof(allowed), "seconds %lld..%lld", v->min, v->max); break;
        case VAR_CHOICE: snprintf(allowed, sizeof(allowed), "%s", v->choices); break;
        case VAR_CPU: snprintf(allowed, sizeof(allowed), "CPU quantity"); break;
        case VAR_MEMORY: snprintf(allowed, sizeof(allowed), "memory quantity"); break;
        default: snprintf(allowed, sizeof(allowed), "%s", v->choices ? v->choices : "text");
        }
        fprintf(out, "  %-26s default \"%s\"  (%s)\n", v->name, v->defval, allowed);
    }
}

int config_parse(config_t *cfg, config_lookup_fn lookup, void *ctx, const char *self_dir, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        const char *value = lookup(ctx, specs[i].name);
        if (value == NULL)
            value = specs[i].defval;
        if (apply_spec(cfg, &specs[i], value, err, errlen) != 0)
            return -1;
    }
    return check_config(cfg, self_dir, err, errlen);
}

/* ---- .env ---------------------------------------------------------------------------------------------------- */

#define DOTENV_MAX_VARS 128

typedef struct dotenv {
    char *names[DOTENV_MAX_VARS];
    char *values[DOTENV_MAX_VARS];
    size_t count;
} dotenv_t;

static void dotenv_free(dotenv_t *env)
{
    for (size_t i = 0; i < env->count; i++) {
        free(env->names[i]);
        free(env->values[i]);
    }
    env->count = 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* The value part of a line: a quoted value ends at its closing quote, an unquoted one at " #". Returns NULL when
 * a quote is not closed or something other than a comment follows it. */
static char *dotenv_value(char *v)
{
    if (*v == '"' || *v == '\'') {
        char *close = strchr(v + 1, *v);
        if (close == NULL)
            return NULL;
        char *rest = trim(close + 1);
        if (*rest != '\0' && *rest != '#')
            return NULL;
        *close = '\0';
        return v + 1;
    }
    char *hash = strstr(v, " #");
    if (hash)
        *hash = '\0';
    return trim(v);
}

/* Reads KEY=VALUE lines: '#' comments, blank lines, an optional "export ", values optionally quoted. */
static int dotenv_read(dotenv_t *env, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0; /* no .env: nothing to add */
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0;
    while (getline(&line, &cap, f) != -1) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        if (strncmp(s, "export ", 7) == 0)
            s = trim(s + 7);
        char *eq = strchr(s, '=');
        char *value = eq ? dotenv_value(trim(eq + 1)) : NULL;
        if (eq == NULL || eq == s || value == NULL || env->count == DOTENV_MAX_VARS) {
            snprintf(err, errlen, "%s line %d is invalid: expected NAME=value (at most %d variables)", path, lineno,
                     DOTENV_MAX_VARS);
            rc = -1;
            break;
        }
        *eq = '\0';
        env->names[env->count] = strdup(trim(s));
        env->values[env->count] = strdup(value);
        env->count++;
    }
    free(line);
    fclose(f);
    return rc;
}

static const char *env_then_dotenv(void *ctx, const char *name)
{
    const char *v = getenv(name);
    if (v != NULL)
        return v;
    dotenv_t *env = ctx;
    for (size_t i = env->count; i-- > 0;)
        if (strcmp(env->names[i], name) == 0)
            return env->values[i];
    return NULL;
}

int config_load(config_t *cfg, const char *dotenv_path, const char *self_dir, char *err, size_t errlen)
{
    dotenv_t env = {0};
    int rc = dotenv_read(&env, dotenv_path, err, errlen);
    if (rc == 0)
        rc = config_parse(cfg, env_then_dotenv, &env, self_dir, err, errlen);
    dotenv_free(&env);
    return rc;
}
