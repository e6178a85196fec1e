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

#endif
