#include "core/report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int report_parse_metrics(const char *text, size_t len, run_metrics_t *m, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    json_int_t batches, records, sum;
    double average;
    int rc = -1;
    if (doc == NULL) {
        snprintf(err, errlen, "report.json is not valid JSON: %s (line %d)", jerr.text, jerr.line);
    } else if (json_unpack_ex(doc, &jerr, 0, "{s:I,s:I,s:I,s:F}", "total_batches", &batches, "total_records", &records,
                              "total_sum", &sum, "average_value", &average) != 0) {
        snprintf(err, errlen, "report.json lacks its totals: %s", jerr.text);
    } else if (batches < 0 || records < 0 || sum < 0) {
        snprintf(err, errlen, "report.json has negative totals");
    } else {
        m->total_batches = (int)batches;
        m->total_records = records;
        m->total_sum = sum;
        m->average_value = average;
        rc = 0;
    }
    json_decref(doc);
    return rc;
}
