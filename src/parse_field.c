/*
 * parse_field.c: normalization of single field values.
 */
#include "parse_field.h"

#include "date.h"
#include "feed.h"
#include "html.h"

#include <stdlib.h>
#include <string.h>

#define FIELD_EARLIEST_DATE INT64_C(631152000) /* 1990-01-01T00:00:00Z */

static char *nonempty(char *s)
{
  if(s && !*s) {
    free(s);
    return NULL;
  }
  return s;
}

char *field_text(const char *s, size_t len, bool is_html)
{
  if(!s || !len)
    return NULL;
  return nonempty(is_html ? html_to_text(s, len) : html_collapse_space(s, len));
}

static bool blank(const char *s, size_t len)
{
  for(size_t i = 0; i < len; i++)
    if(s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
      return false;
  return true;
}

char *field_html(const char *s, size_t len, bool is_html, const char *base,
                 char **first_image)
{
  if(first_image)
    *first_image = NULL;
  if(!s || blank(s, len))
    return NULL;
  if(is_html)
    return nonempty(html_sanitize(s, len, base, first_image));
  return nonempty(html_escape_text(s, len));
}

int64_t field_date(struct feed *feed, const char *s)
{
  int64_t t;

  if(!s || blank(s, strlen(s)))
    return FEED_NO_DATE;
  /* Feeds did not exist before 1990; earlier dates are placeholders such
   * as Hugo's 0001-01-01 for "no date". */
  if(date_parse(s, &t) != 0) {
    feed_warn(feed, "unreadable date '%.60s' left empty", s);
    return FEED_NO_DATE;
  }
  if(t >= FIELD_EARLIEST_DATE)
    return t;
  feed_warn(feed, "date '%.60s' before 1990 left empty", s);
  return FEED_NO_DATE;
}

char *field_author(char *s)
{
  char *open;
  char *close;
  char *name;

  if(!s || !strchr(s, '@'))
    return s;
  open = strchr(s, '(');
  close = open ? strrchr(open, ')') : NULL;
  if(!close || close - open < 2)
    return s;
  name = field_text(open + 1, (size_t)(close - open - 1), false);
  if(!name)
    return s;
  free(s);
  return name;
}
