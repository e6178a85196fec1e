/* Small text helpers for untrusted bytes (task output, request fields). */
#ifndef UTIL_TEXT_H
#define UTIL_TEXT_H

#include <stddef.h>

/**
 * Copies `len` bytes of `src` into `dst` (capacity `cap`, NUL-terminated) as valid UTF-8: invalid sequences become
 * U+FFFD, control characters other than tab become spaces, a trailing '\r' is dropped. Never splits a character;
 * returns the number of bytes written (without the NUL).
 */
size_t text_sanitize_utf8(char *dst, size_t cap, const char *src, size_t len);

/** Cuts `s` (NUL-terminated, valid UTF-8 but for its end) before a trailing incomplete UTF-8 sequence, as left
 *  by a cut at a byte count. */
void text_trim_partial_utf8(char *s);

/** Removes every occurrence of `prefix` from `s` in place (server folders out of messages for anonymous readers).
 *  Returns the new length. */
size_t text_remove_all(char *s, const char *prefix);

/** Whether `s` is a DNS-1123 label, as Kubernetes names namespaces: 1-63 of a-z, 0-9 and '-', starting and ending
 *  with a letter or digit. */
int text_is_dns_label(const char *s);

/** Writes a number of seconds as a plain decimal ("0.00001", "3600", never "1e-05"), rounded to nanoseconds.
 *  Returns what snprintf returns. */
int text_format_seconds(char *dst, size_t cap, double seconds);

#endif
