/* Configuration: the environment (and an optional .env file) turned into one validated struct. */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "util/cidr.h"

#define CONFIG_MAX_BATCH_COUNT 12

typedef enum { EXECUTOR_LOCAL, EXECUTOR_KUBERNETES, EXECUTOR_NEXTFLOW } executor_kind_t;

typedef struct config {
    char host[256];
    int port;
    char data_dir[1024];
    executor_kind_t executor;
    int default_batch_count;
    int max_batch_count;
    double generate_seconds;
    double analyze_seconds;
    int rows_per_batch;
    int local_parallelism;
    int task_retries; /* TASK_RETRIES: more starts of a task that ended for a reason outside its own code */
    char task_program[1024];
    char task_launcher[1024]; /* pipeline-task beside the service binary (not configurable) */
    double cancel_grace_seconds;
    int run_history_limit;
    int run_ttl_minutes;
    int rate_limit_per_minute; /* 0: no limit */
    char trusted_proxies_str[1024];
    cidr_list_t trusted_proxies; /* peers whose X-Forwarded-For names the client */
    int results_keep;            /* results folders kept on disk; 0: those of the runs in the history */
    char allowed_origins[1024];
    char api_token[256]; /* empty: no auth */
    int log_json;
    int log_level; /* a log_level_t */
    int max_websocket_connections;
    int max_websocket_connections_per_ip;
    int ws_send_queue_bytes; /* per-client bound before a slow client is dropped */
    double ws_keepalive_seconds;
    int bench_events;    /* POST /bench/burst (bench/ only) */
    char redis_url[512]; /* empty: memory store */
    char redis_prefix[64];
    int redis_required;        /* REDIS_URL set: never serve from a private memory store (replicas) */
    double lock_lease_seconds; /* the run lock's lease in Redis; a dead owner blocks new runs this long at most */
    /* Resource model used by the preview (Kubernetes quantities, parsed). */
    double worker_cpu, worker_memory_gi, controller_cpu, controller_memory_gi, quota_cpu, quota_memory_gi;
    char worker_cpu_str[32], worker_memory_str[32], controller_cpu_str[32], controller_memory_str[32];
    char quota_cpu_str[32], quota_memory_str[32];
    /* Kubernetes API access (src/kube/kube_config.c resolves them: URL, else kubeconfig, else in-cluster). */
    char kube_api_url[512], kube_token[8192], kube_ca_file[1024];
    int kube_insecure;
    char kubeconfig[1024], kube_context[256], kube_serviceaccount_dir[1024];
    char kube_namespace[64], nextflow_namespace[64]; /* empty: the context's or service account's, else nextflow */
    char kubernetes_service_host[256], kubernetes_service_port[16]; /* set by Kubernetes inside a pod */
    double kube_timeout_seconds;
    /* EXECUTOR=nextflow: the Job of each run (src/exec/nextflow_job.c builds it) */
    char app_image[256], nextflow_image[256], nextflow_service_account[64], work_pvc[64];
    /* imagePullPolicy of every container the service or Nextflow creates: "IfNotPresent" (default), "Always" or
       "Never"; validated, so it can go into pod specs and nextflow.config (k8s.pullPolicy) as it is */
    char image_pull_policy[16];
    char work_mount[1024]; /* where this service sees the work volume; empty: not mounted (no demo_metrics) */
    int job_active_deadline_seconds, job_ttl_seconds;
    double pod_start_timeout_seconds; /* a pod Pending longer than this fails the run */
} config_t;

/** Looks a variable up; returns NULL when it is not set. */
typedef const char *(*config_lookup_fn)(void *ctx, const char *name);

/**
 * Fills `cfg` from `lookup`. On a bad value returns -1 and writes into `err` a sentence naming the variable and
 * what is allowed; `cfg` is then partly filled and must not be used. `self_dir` is the folder of the running
 * binary (the default TASK_PROGRAM lives there).
 */
int config_parse(config_t *cfg, config_lookup_fn lookup, void *ctx, const char *self_dir, char *err, size_t errlen);

/**
 * Reads the process environment, with `dotenv_path` (if it exists) as a fallback source: a variable set in the
 * real environment wins. Returns 0, or -1 with `err` filled (a bad value or an unreadable .env line).
 */
int config_load(config_t *cfg, const char *dotenv_path, const char *self_dir, char *err, size_t errlen);

/** Writes every variable with its default and what it allows, one per line (for --help). */
void config_print_variables(FILE *out);

/** Parses a Kubernetes quantity ("500m", "2", "4Gi", "512Mi", "1G") as cores or as GiB. Returns 0 or -1. */
int config_parse_cpu(const char *s, double *cores);
int config_parse_memory_gi(const char *s, double *gi);

#endif
