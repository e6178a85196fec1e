/* Run ids: "r" followed by 11 lowercase hex digits. */
#ifndef UTIL_IDS_H
#define UTIL_IDS_H

#include <stddef.h>

#define RUN_ID_LEN 12

/** Writes a fresh random run id (from getrandom) into `out` (NUL-terminated). */
void run_id_generate(char out[RUN_ID_LEN + 1]);

/** 1 when the `len` bytes at `s` are exactly a run id, else 0. */
int run_id_valid(const char *s, size_t len);

#endif
