/* Service log: one line per event on stderr, as text or as JSON (LOG_FORMAT). */
#ifndef UTIL_LOG_H
#define UTIL_LOG_H

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

/** Chooses the output form (json != 0: one JSON object per line) and the lowest level written. */
void log_setup(int json, log_level_t min_level);

/** Writes one line: time, level, area (a module name such as "orch" or "http") and the message. */
void log_msg(log_level_t level, const char *area, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_debug(area, ...) log_msg(LOG_DEBUG, area, __VA_ARGS__)
#define log_info(area, ...)  log_msg(LOG_INFO, area, __VA_ARGS__)
#define log_warn(area, ...)  log_msg(LOG_WARN, area, __VA_ARGS__)
#define log_error(area, ...) log_msg(LOG_ERROR, area, __VA_ARGS__)

#endif
