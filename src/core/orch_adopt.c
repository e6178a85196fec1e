/* Taking over a run whose replica died (shared store): the executor follows what still runs from the point the
 * dead replica's record shows. */
#include <stdio.h>
#include <string.h>

#include "core/orch_internal.h"
#include "util/log.h"

/* ---- taking over a run whose replica died ---------------------------------------------------------------------- */

/* Where a source's output stops in the log tail: the time of its last line, and how many of its lines share
 * that millisecond (lines of one read share their timestamp; the one after them must not be taken as sent). */
static void source_resume(const run_t *run, const char *source, int64_t *since_ms, unsigned *count)
{
    for (int i = 0; i < run->log_count; i++) {
        const run_log_line_t *line = &run->log[(run->log_start + i) % RUN_LOG_TAIL];
        if (line->ts_ms <= 0 || line->source == NULL || strcmp(line->source, source) != 0)
            continue;
        if (line->ts_ms > *since_ms) {
            *since_ms = line->ts_ms;
            *count = 1;
        } else if (line->ts_ms == *since_ms && *count > 0)
            (*count)++;
    }
}

/* What of the run's output was sent already, from its log tail: per source, the time of its last line and the
 * lines in that millisecond; a source without a line in the tail sent nothing after the tail's oldest line
 * (count 0: none of that millisecond's lines is sent again). */
static void resume_point(const run_t *run, exec_resume_t *r)
{
    memset(r, 0, sizeof(*r));
    memcpy(r->states, run->tasks, sizeof(r->states));
    int64_t oldest = 0;
    for (int i = 0; i < run->log_count; i++) {
        const run_log_line_t *line = &run->log[(run->log_start + i) % RUN_LOG_TAIL];
        if (line->ts_ms > 0 && (oldest == 0 || line->ts_ms < oldest))
            oldest = line->ts_ms;
    }
    r->controller_log_since_ms = oldest;
    source_resume(run, "nextflow", &r->controller_log_since_ms, &r->controller_log_since_count);
    for (int t = 0; t < wf_task_count(run->batch_count); t++) {
        char label[32];
        wf_task_label(run->batch_count, t, label, sizeof(label));
        r->log_since_ms[t] = oldest;
        source_resume(run, label, &r->log_since_ms[t], &r->log_since_count[t]);
    }
}

int orch_adopt_orphan(orch_t *orch, run_t *run)
{
    if (orch->exec->ops->reattach == NULL || orch->active || orch->shutting_down || run->status != RUN_RUNNING)
        return -1;
    exec_resume_t resume;
    resume_point(run, &resume);
    orch->active = run;
    orch->cancel_requested = orch->failed = orch->error_sent = orch->lock_lost = orch->completing = 0;
    orch_results_dir(orch, run->id, orch->results_dir, sizeof(orch->results_dir));
    snprintf(orch->work_dir, sizeof(orch->work_dir), "%s/work/%s", orch->cfg->data_dir, run->id);
    exec_spec_t spec = {.run_id = run->id,
                        .batches = run->batch_count,
                        .rows_per_batch = run->rows_per_batch,
                        .seed = run->seed,
                        .generate_seconds = orch->cfg->generate_seconds,
                        .analyze_seconds = orch->cfg->analyze_seconds,
                        .work_dir = orch->work_dir,
                        .results_dir = orch->results_dir};
    if (orch->exec->ops->reattach(orch->exec, &spec, &resume) != 0) {
        orch->active = NULL;
        return -1;
    }
    int handed = strcmp(orch->handed_over, run->id) == 0;
    const char *why = handed ? "its replica handed it over as it shut down" : "its replica stopped renewing the lease";
    log_warn("orch", "run %s: %s; this replica takes it over", run->id, why);
    orch_shared_run_started(orch);
    orch_say(orch, "Run %s: taken over by replica %s (%s); following %s", run->id, orch->replica, why, run->job_name);
    orch->store->ops->save_active(orch->store, run);
    orch_sched_soon(orch);
    return 0;
}
