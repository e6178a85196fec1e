/* Unit tests for src/config.{h,c}: config_parse with a fake lookup, quantities, config_load with a .env file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fixture.h"

#define assert_contains(haystack, needle)                                                                              \
    do {                                                                                                               \
        const char *h_ = (haystack), *n_ = (needle);                                                                   \
        if (strstr(h_, n_) == NULL) {                                                                                  \
            print_error("\"%s\" does not contain \"%s\"\n", h_, n_);                                                   \
            fail();                                                                                                    \
        }                                                                                                              \
    } while (0)

/* ---- a fake environment ---------------------------------------------------------------------------------- */

static const char *const all_names[] = {
    "HOST", "PORT", "DATA_DIR", "EXECUTOR", "DEFAULT_BATCH_COUNT", "MAX_BATCH_COUNT", "GENERATE_SECONDS",
    "ANALYZE_SECONDS", "ROWS_PER_BATCH", "LOCAL_PARALLELISM", "TASK_PROGRAM", "CANCEL_GRACE_SECONDS",
    "RUN_HISTORY_LIMIT", "RUN_TTL_MINUTES", "RATE_LIMIT_PER_MINUTE", "ALLOWED_ORIGINS", "API_TOKEN", "LOG_FORMAT",
    "LOG_LEVEL", "MAX_WEBSOCKET_CONNECTIONS", "WS_SEND_QUEUE_BYTES", "WS_KEEPALIVE_SECONDS", "REDIS_URL",
    "REDIS_PREFIX", "WORKER_CPU", "WORKER_MEMORY", "TRUSTED_PROXIES", "RESULTS_KEEP",
    "CONTROLLER_CPU", "CONTROLLER_MEMORY", "QUOTA_CPU", "QUOTA_MEMORY",
};

static void clear_real_env(void)
{
    for (size_t i = 0; i < sizeof(all_names) / sizeof(all_names[0]); i++)
        unsetenv(all_names[i]);
}

/* ---- config_parse: defaults and good values ---------------------------------------------------------------- */

static void test_parse_defaults(void **state)
{
    (void)state;
    kv_t env[] = {{NULL, NULL}};
    config_t cfg;
    char err[256] = "";
    assert_int_equal(config_parse(&cfg, kv_lookup, env, "/opt/app/bin", err, sizeof(err)), 0);
    assert_string_equal(err, "");
    assert_string_equal(cfg.host, "0.0.0.0");
    assert_int_equal(cfg.port, 8000);
    /* ./var, made absolute once against the working directory (tasks run in other folders) */
    char cwd[1024], expected[1100];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    snprintf(expected, sizeof(expected), "%s/var", strcmp(cwd, "/") == 0 ? "" : cwd);
    assert_string_equal(cfg.data_dir, expected);
    assert_int_equal(cfg.executor, EXECUTOR_LOCAL);
    assert_string_equal(cfg.nextflow_image, "nextflow/nextflow:24.10.0");
    assert_string_equal(cfg.nextflow_service_account, "nextflow-runner");
    assert_string_equal(cfg.work_pvc, "nextflow-work-pvc");
    assert_string_equal(cfg.work_mount, "");
    assert_string_equal(cfg.image_pull_policy, "IfNotPresent");
    assert_int_equal(cfg.job_active_deadline_seconds, 900);
    assert_int_equal(cfg.job_ttl_seconds, 900);
    assert_int_equal(cfg.default_batch_count, 5);
    assert_int_equal(cfg.max_batch_count, 12);
    assert_near(cfg.generate_seconds, 5.0, 0);
    assert_near(cfg.analyze_seconds, 3.0, 0);
    assert_int_equal(cfg.rows_per_batch, 100);
    assert_int_equal(cfg.local_parallelism, 12);
    assert_int_equal(cfg.run_history_limit, 5);
    assert_int_equal(cfg.run_ttl_minutes, 30);
    assert_int_equal(cfg.rate_limit_per_minute, 60);
    assert_string_equal(cfg.allowed_origins, "*");
    assert_int_equal(cfg.log_json, 0); /* LOG_FORMAT text */
    assert_int_equal(cfg.max_websocket_connections, 100);
    assert_string_equal(cfg.task_program, "/opt/app/bin/pipeline-task");
    assert_string_equal(cfg.task_launcher, "/opt/app/bin/pipeline-task");
    assert_string_equal(cfg.api_token, "");
    assert_string_equal(cfg.redis_url, "");
    /* the resource model of API.md: worker 1 CPU / 4Gi, controller 2 CPU / 4Gi, quota 14 CPU / 50Gi */
    assert_near(cfg.worker_cpu, 1.0, 1e-12);
    assert_near(cfg.worker_memory_gi, 4.0, 1e-12);
    assert_near(cfg.controller_cpu, 2.0, 1e-12);
    assert_near(cfg.controller_memory_gi, 4.0, 1e-12);
    assert_near(cfg.quota_cpu, 14.0, 1e-12);
    assert_near(cfg.quota_memory_gi, 50.0, 1e-12);
    assert_string_equal(cfg.worker_cpu_str, "1");
    assert_string_equal(cfg.worker_memory_str, "4Gi");
    assert_string_equal(cfg.controller_cpu_str, "2");
    assert_string_equal(cfg.controller_memory_str, "4Gi");
    assert_string_equal(cfg.quota_cpu_str, "14");
    assert_string_equal(cfg.quota_memory_str, "50Gi");
}

static void test_parse_values(void **state)
{
    (void)state;
    kv_t env[] = {{"HOST", "127.0.0.1"},
                  {"PORT", "65535"},
                  {"DATA_DIR", "/srv/data"},
                  {"EXECUTOR", "kubernetes"},
                  {"DEFAULT_BATCH_COUNT", "12"},
                  {"MAX_BATCH_COUNT", "12"},
                  {"GENERATE_SECONDS", "0.25"},
                  {"ANALYZE_SECONDS", "1.5"},
                  {"ROWS_PER_BATCH", "1000000"},
                  {"LOCAL_PARALLELISM", "1"},
                  {"TASK_PROGRAM", "/usr/local/bin/wrapper"},
                  {"RUN_HISTORY_LIMIT", "100"},
                  {"RUN_TTL_MINUTES", "1"},
                  {"RATE_LIMIT_PER_MINUTE", "0"},
                  {"ALLOWED_ORIGINS", "https://a.example,https://b.example"},
                  {"API_TOKEN", "s3cret"},
                  {"LOG_FORMAT", "json"},
                  {"MAX_WEBSOCKET_CONNECTIONS", "1"},
                  {"REDIS_URL", "redis://localhost:6379/0"},
                  {"WORKER_CPU", "500m"},
                  {"WORKER_MEMORY", "512Mi"},
                  {NULL, NULL}};
    config_t cfg;
    char err[256] = "";
    assert_int_equal(config_parse(&cfg, kv_lookup, env, "/opt/app/bin", err, sizeof(err)), 0);
    assert_string_equal(cfg.host, "127.0.0.1");
    assert_int_equal(cfg.port, 65535);
    assert_string_equal(cfg.data_dir, "/srv/data");
    assert_int_equal(cfg.executor, EXECUTOR_KUBERNETES);
    assert_int_equal(cfg.default_batch_count, 12);
    assert_int_equal(cfg.max_batch_count, 12);
    assert_near(cfg.generate_seconds, 0.25, 1e-12);
    assert_near(cfg.analyze_seconds, 1.5, 1e-12);
    assert_int_equal(cfg.rows_per_batch, 1000000);
    assert_int_equal(cfg.local_parallelism, 1);
    assert_string_equal(cfg.task_program, "/usr/local/bin/wrapper");
    /* the launcher is never configurable: always beside the binary */
    assert_string_equal(cfg.task_launcher, "/opt/app/bin/pipeline-task");
    assert_int_equal(cfg.run_history_limit, 100);
    assert_int_equal(cfg.run_ttl_minutes, 1);
    assert_int_equal(cfg.rate_limit_per_minute, 0);
    assert_string_equal(cfg.allowed_origins, "https://a.example,https://b.example");
    assert_string_equal(cfg.api_token, "s3cret");
    assert_int_equal(cfg.log_json, 1);
    assert_int_equal(cfg.max_websocket_connections, 1);
    assert_string_equal(cfg.redis_url, "redis://localhost:6379/0");
    assert_near(cfg.worker_cpu, 0.5, 1e-12);
    assert_string_equal(cfg.worker_cpu_str, "500m");
    assert_near(cfg.worker_memory_gi, 0.5, 1e-12);
    assert_string_equal(cfg.worker_memory_str, "512Mi");
}

static void test_parse_port_edges(void **state)
{
    (void)state;
    kv_t env[] = {{"PORT", "1"}, {NULL, NULL}};
    config_t cfg;
    char err[256];
    assert_int_equal(config_parse(&cfg, kv_lookup, env, ".", err, sizeof(err)), 0);
    assert_int_equal(cfg.port, 1);
    env[0].value = "65535";
    assert_int_equal(config_parse(&cfg, kv_lookup, env, ".", err, sizeof(err)), 0);
    assert_int_equal(cfg.port, 65535);
    env[0].value = "65536";
    assert_int_equal(config_parse(&cfg, kv_lookup, env, ".", err, sizeof(err)), -1);
}

static void test_parse_decimal_seconds(void **state)
{
    (void)state;
    kv_t env[] = {
        {"GENERATE_SECONDS", "0.5"}, {"ANALYZE_SECONDS", "0"}, {"CANCEL_GRACE_SECONDS", "2.75"}, {NULL, NULL}};
    config_t cfg;
    char err[256];
    assert_int_equal(config_parse(&cfg, kv_lookup, env, ".", err, sizeof(err)), 0);
    assert_near(cfg.generate_seconds, 0.5, 1e-12);
    assert_near(cfg.analyze_seconds, 0.0, 0);
    assert_near(cfg.cancel_grace_seconds, 2.75, 1e-12);
    env[0].value = "3600";
    assert_int_equal(config_parse(&cfg, kv_lookup, env, ".", err, sizeof(err)), 0);
    assert_near(cfg.generate_seconds, 3600.0, 0);
}

/* ---- config_parse: bad values ------------------------------------------------------------------------------ */

typedef struct bad_case {
    const char *name, *value;
    const char *other_name, *other_value; /* a second variable, or NULL */
    const char *named;                    /* the variable the error must name */
} bad_case_t;

static const bad_case_t bad_cases[] = {
    {"PORT", "0", NULL, NULL, "PORT"},
    {"PORT", "70000", NULL, NULL, "PORT"},
    {"PORT", "abc", NULL, NULL, "PORT"},
    {"PORT", "", NULL, NULL, "PORT"},
    {"PORT", "-1", NULL, NULL, "PORT"},
    {"PORT", "80x", NULL, NULL, "PORT"},
    {"PORT", " 80", NULL, NULL, "PORT"},
    {"PORT", "8000.5", NULL, NULL, "PORT"},
    {"PORT", "99999999999999999999999", NULL, NULL, "PORT"},
    {"MAX_BATCH_COUNT", "13", NULL, NULL, "MAX_BATCH_COUNT"},
    {"MAX_BATCH_COUNT", "0", NULL, NULL, "MAX_BATCH_COUNT"},
    {"DEFAULT_BATCH_COUNT", "13", NULL, NULL, "DEFAULT_BATCH_COUNT"},
    {"DEFAULT_BATCH_COUNT", "0", NULL, NULL, "DEFAULT_BATCH_COUNT"},
    {"DEFAULT_BATCH_COUNT", "8", "MAX_BATCH_COUNT", "6", "DEFAULT_BATCH_COUNT"},
    {"GENERATE_SECONDS", "-1", NULL, NULL, "GENERATE_SECONDS"},
    {"GENERATE_SECONDS", "nan", NULL, NULL, "GENERATE_SECONDS"},
    {"GENERATE_SECONDS", "inf", NULL, NULL, "GENERATE_SECONDS"},
    {"GENERATE_SECONDS", "", NULL, NULL, "GENERATE_SECONDS"},
    {"GENERATE_SECONDS", "5s", NULL, NULL, "GENERATE_SECONDS"},
    {"GENERATE_SECONDS", "3601", NULL, NULL, "GENERATE_SECONDS"},
    {"GENERATE_SECONDS", "1e-5", NULL, NULL, "GENERATE_SECONDS"}, /* pipeline-task takes plain decimals only */
    {"GENERATE_SECONDS", "0x10", NULL, NULL, "GENERATE_SECONDS"},
    {"GENERATE_SECONDS", "1.", NULL, NULL, "GENERATE_SECONDS"},
    {"GENERATE_SECONDS", " 1", NULL, NULL, "GENERATE_SECONDS"},
    {"HOST", "not-an-ip", NULL, NULL, "HOST"},
    {"HOST", "", NULL, NULL, "HOST"},
    {"HOST", "localhost", NULL, NULL, "HOST"},
    {"HOST", "1.2.3.4 ", NULL, NULL, "HOST"},
    {"ALLOWED_ORIGINS", "", NULL, NULL, "ALLOWED_ORIGINS"},
    {"ALLOWED_ORIGINS", "example.org", NULL, NULL, "ALLOWED_ORIGINS"},
    {"ALLOWED_ORIGINS", "https://a.org/path", NULL, NULL, "ALLOWED_ORIGINS"},
    {"ALLOWED_ORIGINS", "https://a.org,*", NULL, NULL, "ALLOWED_ORIGINS"},
    {"ALLOWED_ORIGINS", " , ", NULL, NULL, "ALLOWED_ORIGINS"},
    {"ANALYZE_SECONDS", "abc", NULL, NULL, "ANALYZE_SECONDS"},
    {"ROWS_PER_BATCH", "0", NULL, NULL, "ROWS_PER_BATCH"},
    {"LOCAL_PARALLELISM", "0", NULL, NULL, "LOCAL_PARALLELISM"},
    {"RUN_HISTORY_LIMIT", "0", NULL, NULL, "RUN_HISTORY_LIMIT"},
    {"RATE_LIMIT_PER_MINUTE", "-1", NULL, NULL, "RATE_LIMIT_PER_MINUTE"},
    {"MAX_WEBSOCKET_CONNECTIONS", "0", NULL, NULL, "MAX_WEBSOCKET_CONNECTIONS"},
    {"LOG_FORMAT", "xml", NULL, NULL, "LOG_FORMAT"},
    {"LOG_FORMAT", "", NULL, NULL, "LOG_FORMAT"},
    {"LOG_LEVEL", "verbose", NULL, NULL, "LOG_LEVEL"},
    {"EXECUTOR", "docker", NULL, NULL, "EXECUTOR"},
    {"EXECUTOR", "local|kubernetes", NULL, NULL, "EXECUTOR"},
    {"REDIS_URL", "http://x", NULL, NULL, "REDIS_URL"},
    {"REDIS_PREFIX", "a b", NULL, NULL, "REDIS_PREFIX"},
    {"DATA_DIR", "", NULL, NULL, "DATA_DIR"},
    {"WORKER_MEMORY", "4Gb", NULL, NULL, "WORKER_MEMORY"},
    {"WORKER_MEMORY", "0", NULL, NULL, "WORKER_MEMORY"},
    {"WORKER_CPU", "-1", NULL, NULL, "WORKER_CPU"},
    {"WORKER_CPU", "0", NULL, NULL, "WORKER_CPU"},
    {"CONTROLLER_CPU", "2x", NULL, NULL, "CONTROLLER_CPU"},
    {"CONTROLLER_MEMORY", "lots", NULL, NULL, "CONTROLLER_MEMORY"},
    {"APP_IMAGE", "my image", NULL, NULL, "APP_IMAGE"},
    {"APP_IMAGE", "", NULL, NULL, "APP_IMAGE"},
    {"NEXTFLOW_IMAGE", "nextflow'x", NULL, NULL, "NEXTFLOW_IMAGE"},
    {"IMAGE_PULL_POLICY", "always", NULL, NULL, "IMAGE_PULL_POLICY"},
    {"IMAGE_PULL_POLICY", "", NULL, NULL, "IMAGE_PULL_POLICY"},
    {"NEXTFLOW_SERVICE_ACCOUNT", "Runner", NULL, NULL, "NEXTFLOW_SERVICE_ACCOUNT"},
    {"WORK_PVC", "work_pvc", NULL, NULL, "WORK_PVC"},
    {"WORK_MOUNT", "workspace", NULL, NULL, "WORK_MOUNT"},
    {"JOB_ACTIVE_DEADLINE_SECONDS", "0", NULL, NULL, "JOB_ACTIVE_DEADLINE_SECONDS"},
    {"JOB_TTL_SECONDS", "-1", NULL, NULL, "JOB_TTL_SECONDS"},
    {"POD_START_TIMEOUT_SECONDS", "0", NULL, NULL, "POD_START_TIMEOUT_SECONDS"},
    {"QUOTA_CPU", "", NULL, NULL, "QUOTA_CPU"},
    {"QUOTA_MEMORY", "50 Gi", NULL, NULL, "QUOTA_MEMORY"},
    {"QUOTA_CPU", "1K", NULL, NULL, "QUOTA_CPU"},
    {"QUOTA_CPU", "0x10", NULL, NULL, "QUOTA_CPU"},
    {"QUOTA_MEMORY", "0x1p4", NULL, NULL, "QUOTA_MEMORY"},
    {"WORKER_MEMORY", "1K", NULL, NULL, "WORKER_MEMORY"},
    {"TRUSTED_PROXIES", "10.0.0.0/33", NULL, NULL, "TRUSTED_PROXIES"},
    {"TRUSTED_PROXIES", "proxy.local", NULL, NULL, "TRUSTED_PROXIES"},
    {"RESULTS_KEEP", "-1", NULL, NULL, "RESULTS_KEEP"},
};

static void test_parse_bad_values(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const bad_case_t *c = &bad_cases[i];
        kv_t env[] = {{c->name, c->value}, {c->other_name, c->other_value}, {NULL, NULL}};
        config_t cfg;
        char err[512] = "";
        int rc = config_parse(&cfg, kv_lookup, env, "/opt/app/bin", err, sizeof(err));
        if (rc != -1) {
            print_error("%s=\"%s\" was accepted (rc %d)\n", c->name, c->value, rc);
            fail();
        }
        assert_contains(err, c->named);
    }
}

static void test_parse_too_long_string(void **state)
{
    (void)state;
    char token[600];
    memset(token, 't', sizeof(token) - 1);
    token[sizeof(token) - 1] = '\0';
    kv_t env[] = {{"API_TOKEN", token}, {NULL, NULL}};
    config_t cfg;
    char err[256] = "";
    assert_int_equal(config_parse(&cfg, kv_lookup, env, ".", err, sizeof(err)), -1);
    assert_contains(err, "API_TOKEN");
    /* exactly at capacity - 1 it fits */
    token[sizeof(cfg.api_token) - 1] = '\0';
    assert_int_equal(config_parse(&cfg, kv_lookup, env, ".", err, sizeof(err)), 0);
    assert_int_equal(strlen(cfg.api_token), sizeof(cfg.api_token) - 1);
}

/* Relative DATA_DIR and TASK_PROGRAM paths are made absolute once; a bare TASK_PROGRAM stays a PATH lookup. */
static void test_parse_relative_paths(void **state)
{
    (void)state;
    char cwd[1024], want[1200];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    kv_t env[] = {{"DATA_DIR", "rel//./dir/../data"}, {"TASK_PROGRAM", "./bin/wrapper.sh"}, {NULL, NULL}};
    config_t cfg;
    char err[256] = "";
    assert_int_equal(config_parse(&cfg, kv_lookup, env, "/opt/app/bin", err, sizeof(err)), 0);
    snprintf(want, sizeof(want), "%s/rel/data", strcmp(cwd, "/") == 0 ? "" : cwd);
    assert_string_equal(cfg.data_dir, want);
    snprintf(want, sizeof(want), "%s/bin/wrapper.sh", strcmp(cwd, "/") == 0 ? "" : cwd);
    assert_string_equal(cfg.task_program, want);
    kv_t env2[] = {{"DATA_DIR", "/srv/../data/"}, {"TASK_PROGRAM", "pipeline-task"}, {NULL, NULL}};
    assert_int_equal(config_parse(&cfg, kv_lookup, env2, "/opt/app/bin", err, sizeof(err)), 0);
    assert_string_equal(cfg.data_dir, "/data");
    assert_string_equal(cfg.task_program, "pipeline-task");
}

/* HOST takes IPv4 and IPv6 addresses; ALLOWED_ORIGINS "*" or a list of origins. */
static void test_parse_host_and_origins(void **state)
{
    (void)state;
    const char *hosts[] = {"127.0.0.1", "::", "::1", "0.0.0.0", "fe80::1"};
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        kv_t env[] = {{"HOST", hosts[i]}, {"ALLOWED_ORIGINS", "https://a.org, http://localhost:8000,http://[::1]:80"},
                      {NULL, NULL}};
        config_t cfg;
        char err[256] = "";
        assert_int_equal(config_parse(&cfg, kv_lookup, env, "/opt/app/bin", err, sizeof(err)), 0);
    }
}

static void test_parse_small_error_buffer(void **state)
{
    (void)state;
    kv_t env[] = {{"PORT", "not-a-port-at-all-and-quite-long"}, {NULL, NULL}};
    config_t cfg;
    char err[8];
    memset(err, 'x', sizeof(err));
    assert_int_equal(config_parse(&cfg, kv_lookup, env, ".", err, sizeof(err)), -1);
    assert_true(memchr(err, '\0', sizeof(err)) != NULL); /* truncated, terminated, no overflow (ASan) */
    assert_memory_equal(err, "PORT", 4);
}

/* ---- quantities ---------------------------------------------------------------------------------------------- */

/* Every quantity the API server accepts is accepted from the environment, and kept as written for the pods. */
static void test_parse_quantities_env(void **state)
{
    (void)state;
    kv_t env[] = {{"WORKER_CPU", "250000000n"}, {"WORKER_MEMORY", "128974848000m"}, {"CONTROLLER_CPU", "1Ki"},
                  {"CONTROLLER_MEMORY", "1Ei"},     {"QUOTA_CPU", "1k"},                {"QUOTA_MEMORY", "1P"},
                  {NULL, NULL}};
    config_t cfg;
    char err[256] = "";
    assert_int_equal(config_parse(&cfg, kv_lookup, env, "/opt/app/bin", err, sizeof(err)), 0);
    assert_near(cfg.worker_cpu, 0.25, 1e-12);
    assert_string_equal(cfg.worker_cpu_str, "250000000n");
    assert_near(cfg.worker_memory_gi, 123.0 / 1024.0, 1e-15);
    assert_string_equal(cfg.worker_memory_str, "128974848000m");
    assert_near(cfg.controller_cpu, 1024, 0);
    assert_near(cfg.controller_memory_gi, 1073741824.0, 0);
    assert_near(cfg.quota_cpu, 1000, 0);
    assert_near(cfg.quota_memory_gi, 1e15 / 1073741824.0, 1e-6);
}

static void test_parse_cpu(void **state)
{
    (void)state;
    double v = -7;
    assert_int_equal(config_parse_cpu("500m", &v), 0);
    assert_near(v, 0.5, 1e-12);
    assert_int_equal(config_parse_cpu("2", &v), 0);
    assert_near(v, 2.0, 0);
    assert_int_equal(config_parse_cpu("1.5", &v), 0);
    assert_near(v, 1.5, 0);
    assert_int_equal(config_parse_cpu("250m", &v), 0);
    assert_near(v, 0.25, 1e-12);
    assert_int_equal(config_parse_cpu("0", &v), 0);
    assert_near(v, 0.0, 0);

    /* the API server's grammar (resource.Quantity): every suffix, exponents, a sign */
    static const struct {
        const char *s;
        double cores;
    } good[] = {{"100u", 0.001 /* 0.1m: rounded up to 1m */}, {"250000n", 0.001}, {"250000000n", 0.25},
                {"1k", 1000}, {"1M", 1e6}, {"1Ki", 1024}, {"+1", 1}, {"1e3", 1000}, {"1.5E1", 15}, {".5", 0.5},
                {"2.", 2}};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (config_parse_cpu(good[i].s, &v) != 0) {
            print_error("config_parse_cpu(\"%s\") refused\n", good[i].s);
            fail();
        }
        assert_near(v, good[i].cores, 1e-12);
    }

    static const char *const bad[] = {"", "m", "2x", "-1", " 1", "1 ", "2mm", "nan", "inf", "1K", "0x10", "0x1p4",
                                      "1e", "1E+", "1Kib", "1e30"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (config_parse_cpu(bad[i], &v) != -1) {
            print_error("config_parse_cpu(\"%s\") accepted\n", bad[i]);
            fail();
        }
    }
}

static void test_parse_memory(void **state)
{
    (void)state;
    double v = -7;
    assert_int_equal(config_parse_memory_gi("4Gi", &v), 0);
    assert_near(v, 4.0, 1e-12);
    assert_int_equal(config_parse_memory_gi("512Mi", &v), 0);
    assert_near(v, 0.5, 1e-12);
    assert_int_equal(config_parse_memory_gi("1G", &v), 0);
    assert_near(v, 1e9 / 1073741824.0, 1e-12);
    assert_int_equal(config_parse_memory_gi("1Ti", &v), 0);
    assert_near(v, 1024.0, 1e-9);
    assert_int_equal(config_parse_memory_gi("1024Ki", &v), 0);
    assert_near(v, 1.0 / 1024.0, 1e-15);
    assert_int_equal(config_parse_memory_gi("1073741824", &v), 0); /* plain bytes */
    assert_near(v, 1.0, 1e-12);
    assert_int_equal(config_parse_memory_gi("1.5Gi", &v), 0);
    assert_near(v, 1.5, 1e-12);
    assert_int_equal(config_parse_memory_gi("500M", &v), 0);
    assert_near(v, 5e8 / 1073741824.0, 1e-12);

    /* what the API server itself writes (0.3Gi summed up is 322122547200m), and the largest suffixes */
    assert_int_equal(config_parse_memory_gi("322122547200m", &v), 0);
    assert_near(v, 322122548.0 / 1073741824.0, 1e-15); /* rounded up to a whole byte */
    assert_int_equal(config_parse_memory_gi("128974848000m", &v), 0);
    assert_near(v, 123.0 / 1024.0, 1e-15);
    assert_int_equal(config_parse_memory_gi("1Pi", &v), 0);
    assert_near(v, 1048576.0, 0);
    assert_int_equal(config_parse_memory_gi("1Ei", &v), 0);
    assert_near(v, 1073741824.0, 0);
    assert_int_equal(config_parse_memory_gi("1P", &v), 0);
    assert_near(v, 1e15 / 1073741824.0, 1e-6);
    assert_int_equal(config_parse_memory_gi("1E", &v), 0);
    assert_near(v, 1e18 / 1073741824.0, 1e-3);
    assert_int_equal(config_parse_memory_gi("129e6", &v), 0);
    assert_near(v, 129e6 / 1073741824.0, 1e-12);

    static const char *const bad[] = {"", "Gi", "4Gb", "4gi", "4GiB", "-1Gi", " 4Gi", "4 Gi", "4Gi ", "nan", "1K",
                                      "0x10", "0x1p4", "4KB", "8Ei" /* past 2^63-1 bytes */};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (config_parse_memory_gi(bad[i], &v) != -1) {
            print_error("config_parse_memory_gi(\"%s\") accepted\n", bad[i]);
            fail();
        }
    }
}

/* ---- config_load with a .env file ----------------------------------------------------------------------------- */

/* Writes `content` to a fresh temporary file; its path goes into `path` (capacity 64). */
static void write_dotenv(char *path, const char *content)
{
    strcpy(path, "/tmp/test_config_envXXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(content);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
}

static void test_load_dotenv_values(void **state)
{
    (void)state;
    clear_real_env();
    char path[64];
    write_dotenv(path, "# a comment line\n"
                       "\n"
                       "   \n"
                       "PORT=9001\n"
                       "export HOST=127.0.0.1\n"
                       "DATA_DIR=\"/tmp/with space\"\n"
                       "ALLOWED_ORIGINS='https://a.example,https://b.example'\n"
                       "LOG_FORMAT=json # a trailing comment\n"
                       "  GENERATE_SECONDS = 0.5  \n"
                       "    # an indented comment\n"
                       "API_TOKEN=\"has # hash\"\n"
                       "ROWS_PER_BATCH=7\n"
                       "ROWS_PER_BATCH=8\n"
                       "REDIS_PREFIX=demo:");
    config_t cfg;
    char err[512] = "";
    int rc = config_load(&cfg, path, "/opt/app/bin", err, sizeof(err));
    unlink(path);
    if (rc != 0)
        print_error("config_load: %s\n", err);
    assert_int_equal(rc, 0);
    assert_int_equal(cfg.port, 9001);
    assert_string_equal(cfg.host, "127.0.0.1");
    assert_string_equal(cfg.data_dir, "/tmp/with space");
    assert_string_equal(cfg.allowed_origins, "https://a.example,https://b.example");
    assert_int_equal(cfg.log_json, 1);
    assert_near(cfg.generate_seconds, 0.5, 1e-12);
    assert_string_equal(cfg.api_token, "has # hash");
    assert_int_equal(cfg.rows_per_batch, 8);        /* the later line wins, as in a shell */
    assert_string_equal(cfg.redis_prefix, "demo:"); /* last line without '\n' */
    /* untouched variables keep their defaults */
    assert_int_equal(cfg.default_batch_count, 5);
    assert_string_equal(cfg.task_program, "/opt/app/bin/pipeline-task");
}

static void test_load_env_wins(void **state)
{
    (void)state;
    clear_real_env();
    char path[64];
    /* PORT in the file is even invalid: the real environment's value is the one used */
    write_dotenv(path, "PORT=abc\nHOST=10.0.0.1\nMAX_BATCH_COUNT=7\n");
    setenv("PORT", "9100", 1);
    setenv("MAX_BATCH_COUNT", "9", 1);
    config_t cfg;
    char err[512] = "";
    int rc = config_load(&cfg, path, ".", err, sizeof(err));
    unlink(path);
    clear_real_env();
    if (rc != 0)
        print_error("config_load: %s\n", err);
    assert_int_equal(rc, 0);
    assert_int_equal(cfg.port, 9100);
    assert_int_equal(cfg.max_batch_count, 9);
    assert_string_equal(cfg.host, "10.0.0.1");
}

static void test_load_env_only(void **state)
{
    (void)state;
    clear_real_env();
    setenv("EXECUTOR", "kubernetes", 1);
    config_t cfg;
    char err[512] = "";
    /* no .env file at all: not an error */
    int rc = config_load(&cfg, "/nonexistent/dir/.env", ".", err, sizeof(err));
    clear_real_env();
    assert_int_equal(rc, 0);
    assert_int_equal(cfg.executor, EXECUTOR_KUBERNETES);
    assert_int_equal(cfg.port, 8000);
}

static void test_load_bad_env_value(void **state)
{
    (void)state;
    clear_real_env();
    setenv("RATE_LIMIT_PER_MINUTE", "lots", 1);
    config_t cfg;
    char err[512] = "";
    int rc = config_load(&cfg, "/nonexistent/dir/.env", ".", err, sizeof(err));
    clear_real_env();
    assert_int_equal(rc, -1);
    assert_contains(err, "RATE_LIMIT_PER_MINUTE");
}

static void test_load_malformed_line(void **state)
{
    (void)state;
    clear_real_env();
    char path[64];
    write_dotenv(path, "# fine\nPORT=9000\nTHIS LINE HAS NO EQUALS SIGN\nHOST=1.2.3.4\n");
    config_t cfg;
    char err[512] = "";
    int rc = config_load(&cfg, path, ".", err, sizeof(err));
    unlink(path);
    assert_int_equal(rc, -1);
    assert_contains(err, path);
    assert_contains(err, "line 3");
}

static void test_load_missing_name(void **state)
{
    (void)state;
    clear_real_env();
    char path[64];
    write_dotenv(path, "=value\n");
    config_t cfg;
    char err[512] = "";
    int rc = config_load(&cfg, path, ".", err, sizeof(err));
    unlink(path);
    assert_int_equal(rc, -1);
    assert_contains(err, path);
    assert_contains(err, "line 1");
}

static void test_load_bad_value_in_file(void **state)
{
    (void)state;
    clear_real_env();
    char path[64];
    write_dotenv(path, "LOG_FORMAT=yaml\n");
    config_t cfg;
    char err[512] = "";
    int rc = config_load(&cfg, path, ".", err, sizeof(err));
    unlink(path);
    assert_int_equal(rc, -1);
    assert_contains(err, "LOG_FORMAT");
}

static void test_load_long_comment_line(void **state)
{
    (void)state;
    clear_real_env();
    /* a comment line longer than any line buffer is still a comment: the file is valid */
    size_t clen = 5000;
    char *content = malloc(clen + 64);
    assert_non_null(content);
    content[0] = '#';
    memset(content + 1, 'c', clen - 1);
    strcpy(content + clen, "\nPORT=9002\n");
    char path[64];
    write_dotenv(path, content);
    free(content);
    config_t cfg;
    char err[512] = "";
    int rc = config_load(&cfg, path, ".", err, sizeof(err));
    unlink(path);
    if (rc != 0)
        print_error("config_load: %s\n", err);
    assert_int_equal(rc, 0);
    assert_int_equal(cfg.port, 9002);
}

static void test_load_quoted_value_with_comment(void **state)
{
    (void)state;
    clear_real_env();
    /* a quoted value followed by a comment: the quotes delimit the value, the comment is dropped */
    char path[64];
    write_dotenv(path, "API_TOKEN=\"s3cret\" # the demo token\nLOG_FORMAT='json'   # machine-readable\n");
    config_t cfg;
    char err[512] = "";
    int rc = config_load(&cfg, path, ".", err, sizeof(err));
    unlink(path);
    if (rc != 0)
        print_error("config_load: %s\n", err);
    assert_int_equal(rc, 0);
    assert_string_equal(cfg.api_token, "s3cret");
    assert_int_equal(cfg.log_json, 1);
}

static void test_load_env_example_gives_defaults(void **state)
{
    (void)state;
    /* .env.example lists every variable with its default: loading it must give exactly the defaults */
    clear_real_env();
    FILE *f = fopen(".env.example", "r"); /* `make unit` runs from the repository root */
    if (f == NULL) {
        print_error(".env.example not found in the working directory\n");
        fail();
    }
    fclose(f);
    config_t from_file, defaults;
    char err[512] = "";
    int rc = config_load(&from_file, ".env.example", "/opt/app/bin", err, sizeof(err));
    if (rc != 0)
        print_error("config_load(.env.example): %s\n", err);
    assert_int_equal(rc, 0);
    kv_t none[] = {{NULL, NULL}};
    assert_int_equal(config_parse(&defaults, kv_lookup, none, "/opt/app/bin", err, sizeof(err)), 0);
    assert_string_equal(from_file.host, defaults.host);
    assert_int_equal(from_file.port, defaults.port);
    assert_string_equal(from_file.data_dir, defaults.data_dir);
    assert_string_equal(from_file.task_program, defaults.task_program);
    assert_int_equal(from_file.rate_limit_per_minute, defaults.rate_limit_per_minute);
    assert_string_equal(from_file.allowed_origins, defaults.allowed_origins);
    assert_string_equal(from_file.quota_memory_str, defaults.quota_memory_str);
    assert_memory_equal(&from_file, &defaults, sizeof(config_t));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_defaults),
        cmocka_unit_test(test_parse_values),
        cmocka_unit_test(test_parse_port_edges),
        cmocka_unit_test(test_parse_decimal_seconds),
        cmocka_unit_test(test_parse_bad_values),
        cmocka_unit_test(test_parse_too_long_string),
        cmocka_unit_test(test_parse_relative_paths),
        cmocka_unit_test(test_parse_host_and_origins),
        cmocka_unit_test(test_parse_small_error_buffer),
        cmocka_unit_test(test_parse_quantities_env),
        cmocka_unit_test(test_parse_cpu),
        cmocka_unit_test(test_parse_memory),
        cmocka_unit_test(test_load_dotenv_values),
        cmocka_unit_test(test_load_env_wins),
        cmocka_unit_test(test_load_env_only),
        cmocka_unit_test(test_load_bad_env_value),
        cmocka_unit_test(test_load_malformed_line),
        cmocka_unit_test(test_load_missing_name),
        cmocka_unit_test(test_load_bad_value_in_file),
        cmocka_unit_test(test_load_long_comment_line),
        cmocka_unit_test(test_load_quoted_value_with_comment),
        cmocka_unit_test(test_load_env_example_gives_defaults),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
