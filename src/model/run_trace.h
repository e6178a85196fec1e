/*
 * A run's tasks as a Nextflow trace file (the `trace.txt` of `-with-trace`): tab-separated, a header line, then one
 * line per task attempt that ended (or was cached), in the order they were submitted. Columns task_id native_id
 * name status exit submit start complete duration realtime %cpu peak_rss rchar wchar, in Nextflow's units: dates
 * "2026-12-07 10:19:31.123" (UTC here), durations "310ms", "1.2s", "1m 5s", percentages "98.5%", sizes "12.3 MB"
 * (1024-based, "0" for none); "-" for a value not known.
 */
#ifndef MODEL_RUN_TRACE_H
#define MODEL_RUN_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "model/run.h"

/** The trace; a malloc'd NUL-terminated text, its length in `*len`. */
char *run_trace_tsv(const run_t *run, size_t *len);

/** Nextflow's units, each into `out` (at least 32 bytes): a duration in ms, a size in bytes. */
void run_trace_duration(int64_t ms, char *out, size_t cap);
void run_trace_size(int64_t bytes, char *out, size_t cap);

#endif
