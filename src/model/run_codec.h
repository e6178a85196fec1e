/*
 * The whole state of a run as one JSON record, for the shared store: enough for any replica to answer status,
 * runs/{id} and history exactly as the owner would. Records come back from outside the process, so reading one
 * checks every field.
 */
#ifndef MODEL_RUN_CODEC_H
#define MODEL_RUN_CODEC_H

#include <jansson.h>

#include "model/run.h"

/** A new record of `run`; `owner` names the replica that runs it (or NULL). */
json_t *run_to_record(const run_t *run, const char *owner);
/** A record as compact text; free() it. */
char *run_record_dumps(const run_t *run, const char *owner);

/** Rebuilds a run from a record. Returns a new run, or NULL with `err` saying what is wrong. */
run_t *run_from_record(const json_t *rec, char *err, size_t errlen);
/** Same, from text. */
run_t *run_from_record_text(const char *text, size_t len, char *err, size_t errlen);

#endif
