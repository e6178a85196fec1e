/* Reading a run's report.json back into its DemoResultMetrics. */
#ifndef CORE_REPORT_H
#define CORE_REPORT_H

#include <stddef.h>

#include "model/run.h"

#define REPORT_MAX_BYTES (1024 * 1024)

/**
 * Reads the totals of a report.json (`text`, `len` bytes) into `m` (total_batches, total_records, total_sum,
 * average_value). Returns 0, or -1 with `err` saying what is wrong with it.
 */
int report_parse_metrics(const char *text, size_t len, run_metrics_t *m, char *err, size_t errlen);

#endif
