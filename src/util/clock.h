/* Wall and monotonic clocks, RFC 3339 formatting and ISO 8601 prefix parsing. */
#ifndef UTIL_CLOCK_H
#define UTIL_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/** Length of "2026-11-29T12:00:00.123Z" without the terminating NUL. */
#define CLOCK_RFC3339_LEN 24

/** Milliseconds since the Unix epoch (wall clock). */
int64_t clock_now_ms(void);

/** Milliseconds of a clock that never jumps (for timeouts and durations inside one process). */
int64_t clock_mono_ms(void);

/** Writes `ms` as RFC 3339 in UTC with millisecond precision and a Z suffix into `out` (NUL-terminated). */
void clock_format_rfc3339(int64_t ms, char out[CLOCK_RFC3339_LEN + 1]);

/**
 * Reads an ISO 8601 date-time at the start of `s` ("YYYY-MM-DDTHH:MM:SS" with a 'T' or a space, optional
 * fraction, optional "Z" or "+hh:mm"/"-hh:mm"; no zone means UTC). On success stores the time in `*ms`, the
 * number of bytes it spans in `*used` and returns 0; otherwise returns -1 and leaves both untouched.
 */
int clock_parse_iso8601_prefix(const char *s, size_t len, int64_t *ms, size_t *used);

#endif
