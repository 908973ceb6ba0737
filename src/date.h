/*
 * date.h: every date format seen in feeds -> seconds since the epoch, UTC;
 * and the RFC 3339 form freshet writes.
 */
#ifndef FRESHET_DATE_H
#define FRESHET_DATE_H

#include <stddef.h>
#include <stdint.h>

/* Length of "2026-11-25T11:22:00Z" plus the NUL. */
#define DATE_RFC3339_SIZE 21

/* Parses s (RFC 822/1123/2822 and their variants, RFC 3339 / ISO 8601,
 * asctime, Unix timestamps). Returns 0 and sets *out to UTC seconds, or
 * -EINVAL when s is not a date freshet can read without guessing (*out is
 * then FEED_NO_DATE's value, INT64_MIN). */
int date_parse(const char *s, int64_t *out);

/* Writes t as "YYYY-MM-DDTHH:MM:SSZ" into buf. Returns 0, or -EINVAL when
 * t is outside years 0000-9999 (buf is then ""). */
int date_format_rfc3339(int64_t t, char buf[DATE_RFC3339_SIZE]);

#endif
