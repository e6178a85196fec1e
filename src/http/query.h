/* The query string of a request: finding a parameter and percent-decoding its value. */
#ifndef HTTP_QUERY_H
#define HTTP_QUERY_H

#include <stddef.h>

/**
 * Finds `name` in `query` ("a=1&b=2", without the '?'), decodes its value (percent escapes, '+' as space) into
 * `out` (capacity `cap`). Returns 1 when found and it fits, 0 when absent, -1 when present but malformed or
 * too long (NUL bytes or invalid escapes).
 */
int query_get(const char *query, size_t len, const char *name, char *out, size_t cap);

#endif
