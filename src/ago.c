/*
 * ago.c: "N mins ago". Whole units rounded down, singular for 1: minutes
 * under an hour, hours under a day, days under a week, weeks under 30
 * days, 30-day months under 365 days (at most 11, so 360-364 days never
 * say "12 months"), then 365-day years. Under a minute, or in the future,
 * is "just now".
 */
#include "ago.h"

#include <inttypes.h>
#include <stdio.h>

#define MINUTE INT64_C(60)
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)
#define WEEK (7 * DAY)
#define MONTH (30 * DAY)
#define YEAR (365 * DAY)

struct unit {
  uint64_t below; /* this unit applies to ages under this many seconds */
  uint64_t size;
  uint64_t max; /* the count never goes above this */
  const char *one;
  const char *many;
};

static const struct unit units[] = {
    {HOUR, MINUTE, UINT64_MAX, "min", "mins"},
    {DAY, HOUR, UINT64_MAX, "hour", "hours"},
    {WEEK, DAY, UINT64_MAX, "day", "days"},
    {MONTH, WEEK, UINT64_MAX, "week", "weeks"},
    {YEAR, MONTH, 11, "month", "months"},
    {UINT64_MAX, YEAR, UINT64_MAX, "year", "years"},
};

const char *ago_format(int64_t then, int64_t now, char *buf, size_t size)
{
  uint64_t age, count;
  const struct unit *u = units;

  if(size == 0)
    return buf;
  /* When now > then the difference fits in 64 unsigned bits whatever
   * they are (then may be INT64_MIN). */
  age = then < now ? (uint64_t)now - (uint64_t)then : 0;
  if(age < MINUTE) {
    snprintf(buf, size, "just now");
    return buf;
  }
  while(u + 1 < units + sizeof(units) / sizeof(units[0]) && age >= u->below)
    u++;
  count = age / u->size;
  if(count > u->max)
    count = u->max;
  snprintf(buf, size, "%" PRIu64 " %s ago", count,
           count == 1 ? u->one : u->many);
  return buf;
}
