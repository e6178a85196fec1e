/* GET /runs/{id}/trace: the run's tasks as a Nextflow trace file (model/run_trace.c), from the active run, the
 * history, or the shared store. */
#include <stdlib.h>

#include "core/orch_internal.h"
#include "model/run_trace.h"

static void trace_found(orch_waiter_t *w, int status, const run_t *run)
{
    if (status != 200) {
        w->text(w, status, NULL, 0);
        return;
    }
    size_t len = 0;
    char *text = run_trace_tsv(run, &len);
    w->text(w, 200, text, len);
    free(text);
}

void orch_run_trace(orch_t *orch, const char *run_id, orch_waiter_t *w, orch_text_cb cb)
{
    w->reply = NULL;
    w->text = cb;
    orch_find_run(orch, run_id, w, trace_found);
}
