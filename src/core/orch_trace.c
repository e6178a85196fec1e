/* GET /runs/{id}/trace: the run's tasks as a Nextflow trace file (model/run_trace.c), from the active run, the
 * history, or the shared store. */
#include <stdlib.h>
#include <string.h>

#include "core/orch_internal.h"
#include "model/run_trace.h"
#include "util/clock.h"

static void answer(orch_waiter_t *w, const run_t *run)
{
    size_t len = 0;
    char *text = run_trace_tsv(run, &len);
    w->text(w, 200, text, len);
    free(text);
}

static void on_run_loaded(void *data, int ok, run_t **runs, int count)
{
    orch_waiter_t *w = orch_call_done(data);
    if (w && !ok)
        w->text(w, 503, NULL, 0);
    else if (w && count == 0)
        w->text(w, 404, NULL, 0);
    else if (w)
        answer(w, runs[0]);
    for (int i = 0; i < count; i++)
        run_destroy(runs[i]);
}

void orch_run_trace(orch_t *orch, const char *run_id, orch_waiter_t *w, orch_text_cb cb)
{
    w->reply = NULL;
    w->text = cb;
    const run_t *active = orch_active(orch);
    if (active && strcmp(active->id, run_id) == 0) {
        answer(w, active);
        return;
    }
    if (orch->store->ops->shared) {
        orch->store->ops->load_run(orch->store, run_id, on_run_loaded, orch_call_new(orch, w));
        return;
    }
    history_expire(&orch->history, clock_now_ms());
    const run_t *run = history_find(&orch->history, run_id);
    if (run)
        answer(w, run);
    else
        cb(w, 404, NULL, 0);
}
