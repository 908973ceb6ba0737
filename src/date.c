/*
 * date.c: every date format seen in feeds -> seconds since the epoch, UTC;
 * and the RFC 3339 form freshet writes.
 *
 * Why not curl_getdate (DESIGN.md suggests it): it reads RFC 822 / RFC 850
 * / asctime only, not RFC 3339 (no 'T', no fractional seconds, no "+02:00"),
 * which is what Atom and JSON Feed use. It is lenient where we must not be:
 * tokens may come in any order (so "2024 03 Jun" and day/month swaps pass),
 * unknown words are skipped, a day is only checked against 31 ("Feb 30"
 * passes and rolls into March), and a missing time silently becomes
 * midnight. Its two-digit year rule (< 70 -> 20xx) is not RFC 2822's (< 50),
 * it returns -1 both for errors and for 1969-12-31T23:59:59, and it goes
 * through time_t. So this file is a small strict parser of its own, one
 * grammar per family (RFC 3339 / ISO 8601, RFC 822 and kin with the month
 * named, Unix timestamps), with ASCII-only character classes, no locale,
 * no TZ, no allocation, and days-from-civil computed here (after Howard
 * Hinnant's algorithms).
 *
 * Decisions, so they are not rediscovered:
 * - No zone means UTC (RFC 3339 local time, RFC 822 without a zone).
 * - Two-digit years follow RFC 2822: 00-49 -> 20xx, 50-99 -> 19xx. Three
 *   digits get 1900 added (RFC 2822 4.3, the getYear() "year - 1900" bug),
 *   but only 100-199: "024" or "202" is no known bug's output. A year is
 *   never defaulted: without one the string is rejected.
 * - Numeric day/month forms ("03/06/2024") are rejected: they swap. Dates
 *   with the month named may put the day first or second; with the month
 *   first ("June 3, 2024", asctime, JavaScript's Date) the year needs four
 *   digits.
 * - Military zones (RFC 822 A-I, K-Z) are read as -0000, i.e. UTC, as RFC
 *   1123 5.2.14 and RFC 2822 4.3 say, because RFC 822 had their signs
 *   backwards; Z is UTC anyway.
 * - Named zones: those of RFC 822 (UT GMT EST EDT CST CDT MST MDT PST PDT,
 *   CST being US Central), UTC, and a few that mean one thing: AKST AKDT HST
 *   WET WEST CET CEST MET MEST MEZ MESZ EET EEST MSK JST KST HKT SGT AWST
 *   ACST ACDT AEST AEDT NZST NZDT. Ambiguous ones (BST, IST, AST, ...) and
 *   unknown words are rejected rather than guessed. "GMT+2", "UTC-05:00"
 *   mean what they say (east of UTC is +), unlike POSIX TZ.
 * - Hour 24 is accepted only as ISO 8601's "24:00:00" (end of day). In the
 *   RFC 822 family it is rejected: it comes from Java's "kk" pattern, where
 *   it means 00 of the same day.
 * - A leap second ":60" reads as ":59". Fractional seconds are truncated.
 * - All digits: 8 = ISO basic date YYYYMMDD, 9-10 = Unix seconds (an
 *   optional ".fraction" is dropped), 13 = Unix milliseconds; other lengths
 *   are rejected.
 * - "YYYY-MM" alone is the first of that month, 00:00 UTC.
 * - A trailing "(comment)" is ignored, except that it gives the zone when
 *   the date has none and the comment is exactly a zone name ("(PST)").
 */
#include "date.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* The fields of a date as read, before validation. */
struct when {
  int year, month, day;
  int hour, min, sec;
  bool frac_nonzero; /* digits after the seconds, other than zeros */
  int zone;          /* minutes east of UTC */
  bool have_zone;
};

/* Seconds at 0000-01-01T00:00:00Z and at 9999-12-31T23:59:59Z. */
#define MIN_FORMATTABLE (-62167219200LL)
#define MAX_FORMATTABLE 253402300799LL
/* Zone offsets beyond +-14:00 do not exist. */
#define MAX_ZONE_MINUTES (14 * 60)

static bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

static char to_lower(char c)
{
  if (c >= 'A' && c <= 'Z')
    return (char)(c - 'A' + 'a');
  return c;
}

static const char *skip_space(const char *p)
{
  while (is_space(*p))
    p++;
  return p;
}

/* Skips spaces and commas, and at most one of the extra separators. */
static const char *skip_sep(const char *p, const char *extra)
{
  bool seen = false;

  for (;;) {
    if (is_space(*p) || *p == ',') {
      p++;
    } else if (!seen && *p != '\0' && strchr(extra, *p) != NULL) {
      seen = true;
      p++;
    } else {
      return p;
    }
  }
}

static size_t digit_run(const char *p)
{
  size_t n = 0;

  while (is_digit(p[n]))
    n++;
  return n;
}

static size_t alpha_run(const char *p)
{
  size_t n = 0;

  while (is_alpha(p[n]))
    n++;
  return n;
}

/* The value of the n digits at p; the caller has checked they are there. */
static int fixed_num(const char *p, size_t n)
{
  int v = 0;

  for (size_t i = 0; i < n; i++)
    v = v * 10 + (p[i] - '0');
  return v;
}

/* Whether the n letters at w spell lit (lowercase), ignoring case. */
static bool word_is(const char *w, size_t n, const char *lit)
{
  for (size_t i = 0; i < n; i++) {
    if (lit[i] == '\0' || to_lower(w[i]) != lit[i])
      return false;
  }
  return lit[n] == '\0';
}

/* Whether the n letters at w are full itself or its first three or more
 * letters ("Jun", "June", "Sept", "Thurs"). */
static bool word_abbreviates(const char *w, size_t n, const char *full)
{
  if (n < 3)
    return false;
  for (size_t i = 0; i < n; i++) {
    if (full[i] == '\0' || to_lower(w[i]) != full[i])
      return false;
  }
  return true;
}

/* 1-12, or 0 when the word is not a month. */
static int month_of(const char *w, size_t n)
{
  static const char *const months[] = {
      "january", "february", "march",     "april",   "may",      "june",
      "july",    "august",   "september", "october", "november", "december",
  };

  for (int i = 0; i < 12; i++) {
    if (word_abbreviates(w, n, months[i]))
      return i + 1;
  }
  return 0;
}

static bool is_weekday(const char *w, size_t n)
{
  static const char *const days[] = {
      "monday", "tuesday",  "wednesday", "thursday",
      "friday", "saturday", "sunday",
  };

  for (int i = 0; i < 7; i++) {
    if (word_abbreviates(w, n, days[i]))
      return true;
  }
  return false;
}

/* Sets *minutes east of UTC for a zone name. Returns false when it is not
 * one we read. */
static bool named_zone(const char *w, size_t n, int *minutes)
{
  static const struct {
    const char *name;
    int minutes;
  } zones[] = {
      {"ut", 0},         {"utc", 0},        {"gmt", 0},        {"z", 0},
      {"est", -5 * 60},  {"edt", -4 * 60},  {"cst", -6 * 60},  {"cdt", -5 * 60},
      {"mst", -7 * 60},  {"mdt", -6 * 60},  {"pst", -8 * 60},  {"pdt", -7 * 60},
      {"akst", -9 * 60}, {"akdt", -8 * 60}, {"hst", -10 * 60}, {"wet", 0},
      {"west", 60},      {"cet", 60},       {"cest", 120},     {"met", 60},
      {"mest", 120},     {"mez", 60},       {"mesz", 120},     {"eet", 120},
      {"eest", 180},     {"msk", 180},      {"jst", 540},      {"kst", 540},
      {"hkt", 480},      {"sgt", 480},      {"awst", 480},     {"acst", 570},
      {"acdt", 630},     {"aest", 600},     {"aedt", 660},     {"nzst", 720},
      {"nzdt", 780},
  };

  for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
    if (word_is(w, n, zones[i].name)) {
      *minutes = zones[i].minutes;
      return true;
    }
  }
  /* RFC 822 military zones; see the top of the file for why 0. */
  if (n == 1 && to_lower(*w) != 'j') {
    *minutes = 0;
    return true;
  }
  return false;
}

/* Reads "+hh", "+h", "+hh:mm", "+hhmm" (or '-') at p. Returns the end, or
 * NULL when it is malformed or beyond +-14:00. */
static const char *parse_offset(const char *p, int *minutes)
{
  int sign = *p == '-' ? -1 : 1;
  size_t n;
  int h, m = 0;

  p++;
  n = digit_run(p);
  if (n == 1 || n == 2) {
    h = fixed_num(p, n);
    p += n;
    if (*p == ':') {
      if (digit_run(p + 1) != 2)
        return NULL;
      m = fixed_num(p + 1, 2);
      p += 3;
    }
  } else if (n == 4) {
    h = fixed_num(p, 2);
    m = fixed_num(p + 2, 2);
    p += 4;
  } else {
    return NULL;
  }
  if (m > 59 || h * 60 + m > MAX_ZONE_MINUTES)
    return NULL;
  *minutes = sign * (h * 60 + m);
  return p;
}

/* Reads a zone at p, if there is one: a numeric offset, a name, or
 * "GMT+2" / "UTC-05:00". Returns the end (p itself when there is no zone),
 * or NULL when something zone-like is not a zone we read. */
static const char *parse_zone(const char *p, struct when *w)
{
  size_t n;
  int minutes;

  if (*p == '+' || *p == '-') {
    p = parse_offset(p, &w->zone);
    w->have_zone = p != NULL;
    return p;
  }
  n = alpha_run(p);
  if (n == 0)
    return p;
  if (!named_zone(p, n, &minutes))
    return NULL;
  if ((word_is(p, n, "gmt") || word_is(p, n, "utc") || word_is(p, n, "ut")) &&
      (p[n] == '+' || p[n] == '-')) {
    p = parse_offset(p + n, &w->zone);
    w->have_zone = p != NULL;
    return p;
  }
  w->zone = minutes;
  w->have_zone = true;
  return p + n;
}

/* Reads "h:mm", "hh:mm:ss", "hh:mm:ss.fff..." at p. Returns the end or
 * NULL. */
static const char *parse_time(const char *p, struct when *w)
{
  size_t n = digit_run(p);

  if (n < 1 || n > 2 || p[n] != ':' || digit_run(p + n + 1) != 2)
    return NULL;
  w->hour = fixed_num(p, n);
  w->min = fixed_num(p + n + 1, 2);
  p += n + 3;
  w->sec = 0;
  w->frac_nonzero = false;
  if (*p != ':')
    return p;
  if (digit_run(p + 1) != 2)
    return NULL;
  w->sec = fixed_num(p + 1, 2);
  p += 3;
  if ((*p == '.' || *p == ',') && is_digit(p[1])) {
    for (p++; is_digit(*p); p++) {
      if (*p != '0')
        w->frac_nonzero = true;
    }
  }
  return p;
}

/* Reads an optional " AM" / " PM" after a time. Returns the end or NULL. */
static const char *parse_ampm(const char *p, struct when *w)
{
  const char *q = skip_space(p);
  size_t n = alpha_run(q);
  bool pm;

  if (word_is(q, n, "pm"))
    pm = true;
  else if (word_is(q, n, "am"))
    pm = false;
  else
    return p;
  if (w->hour < 1 || w->hour > 12)
    return NULL;
  w->hour = w->hour % 12 + (pm ? 12 : 0);
  return q + n;
}

/* Reads the end of the string: spaces and an optional "(comment)". Returns
 * whether nothing else follows. */
static bool parse_tail(const char *p, struct when *w)
{
  p = skip_space(p);
  if (*p == '(') {
    const char *c = skip_space(p + 1);
    const char *end;
    struct when z = {.have_zone = false};

    end = parse_zone(c, &z);
    if (end != NULL && z.have_zone && !w->have_zone &&
        *skip_space(end) == ')') {
      w->zone = z.zone;
      w->have_zone = true;
    }
    while (*p != '\0' && *p != ')')
      p++;
    if (*p != ')')
      return false;
    p = skip_space(p + 1);
  }
  return *p == '\0';
}

static bool is_leap(int y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

  if (m == 2 && is_leap(y))
    return 29;
  return days[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. Eras
 * of 400 years starting on March 1st make the leap day the last day of a
 * year; y is 0-9999 here, so the era arithmetic never goes negative
 * past -1. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
  int64_t era, yoe, doy, doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil. */
static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
  int64_t era, doe, yoe, doy, mp;

  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = z - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* Validates w and turns it into UTC seconds. allow_24 admits ISO 8601's
 * "24:00:00". Returns 0 or -EINVAL. */
static int finish(struct when *w, bool allow_24, int64_t *out)
{
  int64_t t;

  if (w->year < 0 || w->year > 9999 || w->month < 1 || w->month > 12)
    return -EINVAL;
  if (w->day < 1 || w->day > days_in_month(w->year, w->month))
    return -EINVAL;
  if (w->min < 0 || w->min > 59 || w->sec < 0 || w->sec > 60)
    return -EINVAL;
  if (w->hour == 24) {
    if (!allow_24 || w->min != 0 || w->sec != 0 || w->frac_nonzero)
      return -EINVAL;
  } else if (w->hour < 0 || w->hour > 23) {
    return -EINVAL;
  }
  if (w->sec == 60)
    w->sec = 59;
  if (w->zone < -MAX_ZONE_MINUTES || w->zone > MAX_ZONE_MINUTES)
    return -EINVAL;
  t = days_from_civil(w->year, w->month, w->day) * 86400;
  t += w->hour * 3600 + w->min * 60 + w->sec;
  t -= (int64_t)w->zone * 60;
  *out = t;
  return 0;
}

/* The year a 2-, 3- or 4-digit year field means (see the top of the file),
 * or -1. Three digits are only read as 100-199: that is what getYear()
 * gives for 2000-2099; other three-digit years come from no known bug. */
static int full_year(const char *p, size_t n)
{
  int y;

  if (n < 2 || n > 4)
    return -1;
  y = fixed_num(p, n);
  if (n == 2)
    return y < 50 ? 2000 + y : 1900 + y;
  if (n == 3)
    return *p == '1' ? 1900 + y : -1;
  return y;
}

/* All digits: YYYYMMDD, Unix seconds (9-10 digits, optional fraction) or
 * Unix milliseconds (13 digits). */
static int parse_number(const char *p, int64_t *out)
{
  size_t n = digit_run(p);
  const char *end = p + n;
  int64_t v = 0;
  struct when w = {0};

  if (n == 8) {
    if (!parse_tail(end, &w))
      return -EINVAL;
    w.year = fixed_num(p, 4);
    w.month = fixed_num(p + 4, 2);
    w.day = fixed_num(p + 6, 2);
    return finish(&w, false, out);
  }
  if ((n == 9 || n == 10) && *end == '.' && is_digit(end[1]))
    end += 1 + digit_run(end + 1);
  if (*skip_space(end) != '\0')
    return -EINVAL;
  if (n != 9 && n != 10 && n != 13)
    return -EINVAL;
  for (size_t i = 0; i < n; i++)
    v = v * 10 + (p[i] - '0');
  *out = n == 13 ? v / 1000 : v;
  return 0;
}

/* ISO 8601 basic format: "20240601T101500Z", "20240601T1015+0200". */
static int parse_iso_basic(const char *p, int64_t *out)
{
  struct when w = {0};
  size_t n;

  w.year = fixed_num(p, 4);
  w.month = fixed_num(p + 4, 2);
  w.day = fixed_num(p + 6, 2);
  p += 9; /* the date and the 'T' */
  n = digit_run(p);
  if (n != 4 && n != 6)
    return -EINVAL;
  w.hour = fixed_num(p, 2);
  w.min = fixed_num(p + 2, 2);
  if (n == 6)
    w.sec = fixed_num(p + 4, 2);
  p += n;
  /* After "hhmm" a fraction would be of a minute; only read seconds'. */
  if (n == 6 && (*p == '.' || *p == ',') && is_digit(p[1])) {
    for (p++; is_digit(*p); p++) {
      if (*p != '0')
        w.frac_nonzero = true;
    }
  }
  p = parse_zone(p, &w);
  if (p == NULL || !parse_tail(p, &w))
    return -EINVAL;
  return finish(&w, true, out);
}

/* RFC 3339 / ISO 8601 extended: "2024-06-01", "2024-06", "2024-06-01T10:15Z",
 * "2024-06-01 10:15:00.5 +02:00", "2024/06/01 10:15:00 UTC". p is at four
 * digits followed by '-' or '/'. */
static int parse_iso(const char *p, int64_t *out)
{
  struct when w = {0};
  char sep = p[4];
  size_t n;

  w.year = fixed_num(p, 4);
  p += 5;
  n = digit_run(p);
  if (n < 1 || n > 2)
    return -EINVAL;
  w.month = fixed_num(p, n);
  p += n;
  w.day = 1;
  if (*p != sep) {
    /* "YYYY-MM" and nothing more. */
    if (!parse_tail(p, &w))
      return -EINVAL;
    return finish(&w, false, out);
  }
  p++;
  n = digit_run(p);
  if (n < 1 || n > 2)
    return -EINVAL;
  w.day = fixed_num(p, n);
  p += n;
  if (*p == 'T' || *p == 't') {
    p++;
  } else if (is_space(*p) && is_digit(*skip_space(p))) {
    p = skip_space(p);
  } else {
    if (!parse_tail(p, &w))
      return -EINVAL;
    return finish(&w, false, out);
  }
  p = parse_time(p, &w);
  if (p == NULL)
    return -EINVAL;
  p = parse_zone(skip_space(p), &w);
  if (p == NULL || !parse_tail(p, &w))
    return -EINVAL;
  return finish(&w, true, out);
}

/* After a date in the RFC 822 family: an optional time, AM/PM and zone.
 * Returns the end or NULL. */
static const char *parse_clock(const char *p, struct when *w)
{
  if (!is_digit(*p))
    return p;
  p = parse_time(p, w);
  if (p == NULL)
    return NULL;
  p = parse_ampm(p, w);
  if (p == NULL)
    return NULL;
  return parse_zone(skip_space(p), w);
}

/* Reads a day of the month and an optional "st", "nd", "rd", "th". */
static const char *parse_day(const char *p, struct when *w)
{
  size_t n = digit_run(p);
  size_t a;

  if (n < 1 || n > 2)
    return NULL;
  w->day = fixed_num(p, n);
  p += n;
  a = alpha_run(p);
  if (word_is(p, a, "st") || word_is(p, a, "nd") || word_is(p, a, "rd") ||
      word_is(p, a, "th"))
    p += a;
  return p;
}

/* Reads a month name and an optional '.' after it ("Aug."). */
static const char *parse_month(const char *p, struct when *w)
{
  size_t n = alpha_run(p);

  w->month = month_of(p, n);
  if (w->month == 0)
    return NULL;
  p += n;
  if (*p == '.')
    p++;
  return p;
}

/* Day first: "03 Jun 2024 10:00:00 +0000", "3-Jun-24 10:00 GMT",
 * "3rd June 2024". */
static int parse_day_first(const char *p, int64_t *out)
{
  struct when w = {0};
  size_t n;

  p = parse_day(p, &w);
  if (p == NULL)
    return -EINVAL;
  p = parse_month(skip_sep(p, "-./"), &w);
  if (p == NULL)
    return -EINVAL;
  p = skip_sep(p, "-./");
  n = digit_run(p);
  w.year = full_year(p, n);
  if (w.year < 0)
    return -EINVAL;
  p = parse_clock(skip_sep(p + n, ""), &w);
  if (p == NULL || !parse_tail(p, &w))
    return -EINVAL;
  return finish(&w, false, out);
}

/* Month first: "June 3, 2024", "Jun 03 2024 10:00:00 GMT+0200 (CEST)",
 * asctime "Nov  6 08:49:37 1994", date(1) "Jun  3 10:00:00 UTC 2024",
 * "Aug 27 13:08:45 +0000 2008". The year has four digits. */
static int parse_month_first(const char *p, int64_t *out)
{
  struct when w = {0};
  size_t n;

  p = parse_month(p, &w);
  if (p == NULL)
    return -EINVAL;
  p = parse_day(skip_sep(p, "-"), &w);
  if (p == NULL)
    return -EINVAL;
  p = skip_sep(p, "");
  n = digit_run(p);
  if (n == 4) {
    w.year = fixed_num(p, 4);
    p = parse_clock(skip_sep(p + n, ""), &w);
  } else {
    /* The time comes before the year. */
    if (!is_digit(*p))
      return -EINVAL;
    p = parse_clock(p, &w);
    if (p == NULL)
      return -EINVAL;
    p = skip_space(p);
    if (digit_run(p) != 4)
      return -EINVAL;
    w.year = fixed_num(p, 4);
    p += 4;
  }
  if (p == NULL || !parse_tail(p, &w))
    return -EINVAL;
  return finish(&w, false, out);
}

/* The RFC 822 family: an optional weekday, then day first or month
 * first. */
static int parse_named(const char *p, int64_t *out)
{
  size_t n = alpha_run(p);

  if (n > 0 && is_weekday(p, n)) {
    p += n;
    if (*p == '.')
      p++;
    else if (*p != ',' && !is_space(*p))
      return -EINVAL;
    p = skip_sep(p, "");
    n = alpha_run(p);
  }
  if (is_digit(*p))
    return parse_day_first(p, out);
  if (n > 0)
    return parse_month_first(p, out);
  return -EINVAL;
}

int date_parse(const char *s, int64_t *out)
{
  const char *p;
  size_t n;
  int64_t t = 0;
  int rc;

  if (out == NULL)
    return -EINVAL;
  *out = INT64_MIN;
  if (s == NULL)
    return -EINVAL;
  p = skip_space(s);
  n = digit_run(p);
  if (n == 4 && (p[4] == '-' || p[4] == '/'))
    rc = parse_iso(p, &t);
  else if (n == 8 && (p[8] == 'T' || p[8] == 't'))
    rc = parse_iso_basic(p, &t);
  else if (n > 2 && !is_alpha(p[n]))
    rc = parse_number(p, &t);
  else
    rc = parse_named(p, &t);
  if (rc == 0)
    *out = t;
  return rc;
}

/* Writes v as n digits, zero-padded. */
static char *put_digits(char *p, int v, int n)
{
  for (int i = n - 1; i >= 0; i--) {
    p[i] = (char)('0' + v % 10);
    v /= 10;
  }
  return p + n;
}

int date_format_rfc3339(int64_t t, char buf[DATE_RFC3339_SIZE])
{
  int64_t days, secs;
  int y, m, d;
  char *p = buf;

  if (t < MIN_FORMATTABLE || t > MAX_FORMATTABLE) {
    buf[0] = '\0';
    return -EINVAL;
  }
  days = t / 86400;
  secs = t % 86400;
  if (secs < 0) {
    secs += 86400;
    days--;
  }
  civil_from_days(days, &y, &m, &d);
  p = put_digits(p, y, 4);
  *p++ = '-';
  p = put_digits(p, m, 2);
  *p++ = '-';
  p = put_digits(p, d, 2);
  *p++ = 'T';
  p = put_digits(p, (int)(secs / 3600), 2);
  *p++ = ':';
  p = put_digits(p, (int)(secs / 60 % 60), 2);
  *p++ = ':';
  p = put_digits(p, (int)(secs % 60), 2);
  *p++ = 'Z';
  *p = '\0';
  return 0;
}
