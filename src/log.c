/*
 * log.c: logfmt lines on stderr: time, level, msg, then the caller's
 * key=value pairs.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level current = LOG_LEVEL_INFO;
static const char *const names[] = {"error", "warn", "info", "debug"};

void log_set_level(enum log_level level)
{
  current = level;
}

int log_level_parse(const char *s, enum log_level *out)
{
  for(size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if(strcmp(s, names[i]) == 0) {
      *out = (enum log_level)i;
      return 0;
    }
  return -EINVAL;
}

static void emit(enum log_level level, const char *msg, const char *fmt,
                 va_list ap)
{
  char line[2048];
  char stamp[32];
  struct tm tm;
  time_t now = time(NULL);
  int n;

  if(level > current)
    return;
  gmtime_r(&now, &tm);
  strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
  n = snprintf(line, sizeof(line), "time=%s level=%s msg=\"", stamp,
               names[level]);
  for(const char *p = msg; *p && n < (int)sizeof(line) - 4; p++) {
    if(*p == '"' || *p == '\\')
      line[n++] = '\\';
    line[n++] = *p == '\n' ? ' ' : *p;
  }
  line[n++] = '"';
  line[n] = '\0';
  if(fmt && n < (int)sizeof(line) - 2) {
    line[n++] = ' ';
    vsnprintf(line + n, sizeof(line) - n, fmt, ap);
  }
  fprintf(stderr, "%s\n", line);
}

#define LOG_FN(fn, level)                                                      \
  void fn(const char *msg, const char *fmt, ...)                               \
  {                                                                            \
    va_list ap;                                                                \
    va_start(ap, fmt);                                                         \
    emit(level, msg, fmt, ap);                                                 \
    va_end(ap);                                                                \
  }

LOG_FN(log_errorx, LOG_LEVEL_ERROR)
LOG_FN(log_warnx, LOG_LEVEL_WARN)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_debug, LOG_LEVEL_DEBUG)
