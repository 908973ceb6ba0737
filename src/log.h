/*
 * log.h: leveled logfmt lines on stderr, OpenBSD style names.
 */
#ifndef FRESHET_LOG_H
#define FRESHET_LOG_H

enum log_level {
  LOG_LEVEL_ERROR,
  LOG_LEVEL_WARN,
  LOG_LEVEL_INFO,
  LOG_LEVEL_DEBUG
};

/* Sets the lowest level that is printed (default info). */
void log_set_level(enum log_level level);

/* Parses "error", "warn", "info", "debug"; returns 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);

/* Each prints "level=L msg=\"...\"" plus the formatted key=value pairs
 * (fmt may be NULL). */
void log_warnx(const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_info(const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_debug(const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_errorx(const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
