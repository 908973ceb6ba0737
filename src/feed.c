/*
 * feed.c: construction and destruction of the feed model.
 */
#include "feed.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct feed *feed_new(void)
{
  struct feed *feed = calloc(1, sizeof(*feed));

  if(!feed)
    return NULL;
  feed->updated = FEED_NO_DATE;
  return feed;
}

void feed_entry_clear(struct feed_entry *e)
{
  free(e->id);
  free(e->title);
  free(e->link);
  free(e->author);
  free(e->summary);
  free(e->content);
  free(e->image);
  for(size_t i = 0; i < e->ncategories; i++)
    free(e->categories[i]);
  free(e->categories);
  for(size_t i = 0; i < e->nenclosures; i++) {
    free(e->enclosures[i].url);
    free(e->enclosures[i].type);
  }
  free(e->enclosures);
  memset(e, 0, sizeof(*e));
}

void feed_free(struct feed *feed)
{
  if(!feed)
    return;
  free(feed->title);
  free(feed->link);
  free(feed->subtitle);
  free(feed->id);
  free(feed->language);
  free(feed->author);
  for(size_t i = 0; i < feed->nentries; i++)
    feed_entry_clear(&feed->entries[i]);
  free(feed->entries);
  for(size_t i = 0; i < feed->nwarnings; i++)
    free(feed->warnings[i]);
  free(feed);
}

struct feed_entry *feed_add_entry(struct feed *feed)
{
  struct feed_entry *e;

  if(feed->nentries == feed->entries_cap) {
    size_t cap = feed->entries_cap ? feed->entries_cap * 2 : 16;
    struct feed_entry *n = realloc(feed->entries, cap * sizeof(*n));

    if(!n)
      return NULL;
    feed->entries = n;
    feed->entries_cap = cap;
  }
  e = &feed->entries[feed->nentries++];
  memset(e, 0, sizeof(*e));
  e->published = FEED_NO_DATE;
  e->updated = FEED_NO_DATE;
  return e;
}

void feed_remove_entry(struct feed *feed, size_t i)
{
  feed_entry_clear(&feed->entries[i]);
  memmove(&feed->entries[i], &feed->entries[i + 1],
          (feed->nentries - i - 1) * sizeof(feed->entries[0]));
  feed->nentries--;
}

/* Length of the UTF-8 sequence starting at s, or 0 when it is invalid or
 * cut short. */
static size_t utf8_seq(const unsigned char *s)
{
  size_t n;
  unsigned min;
  unsigned cp;

  if(s[0] < 0x80)
    return 1;
  if(s[0] >= 0xc2 && s[0] <= 0xdf) {
    n = 2;
    min = 0x80;
    cp = s[0] & 0x1f;
  } else if(s[0] >= 0xe0 && s[0] <= 0xef) {
    n = 3;
    min = 0x800;
    cp = s[0] & 0x0f;
  } else if(s[0] >= 0xf0 && s[0] <= 0xf4) {
    n = 4;
    min = 0x10000;
    cp = s[0] & 0x07;
  } else {
    return 0;
  }
  for(size_t i = 1; i < n; i++) {
    if((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if(cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

void feed_utf8_clean(char *s)
{
  unsigned char *in = (unsigned char *)s;
  unsigned char *out = in;

  while(*in) {
    size_t n = utf8_seq(in);

    if(n == 0) {
      in++;
      continue;
    }
    memmove(out, in, n);
    out += n;
    in += n;
  }
  *out = '\0';
}

int feed_warn(struct feed *feed, const char *fmt, ...)
{
  char buf[256];
  va_list ap;
  char *copy;

  if(!feed)
    return 0;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  /* Quoted excerpts are cut by byte count ("%.60s"); keep whole
   * characters only. */
  feed_utf8_clean(buf);
  for(size_t i = 0; i < feed->nwarnings; i++)
    if(strcmp(feed->warnings[i], buf) == 0)
      return 0;
  if(feed->nwarnings == FEED_MAX_WARNINGS) {
    feed->warnings_dropped++;
    return 0;
  }
  copy = strdup(buf);
  if(!copy)
    return -ENOMEM;
  feed->warnings[feed->nwarnings++] = copy;
  return 0;
}

int feed_entry_add_category(struct feed_entry *e, const char *s)
{
  char *copy = strdup(s);

  if(!copy)
    return -ENOMEM;
  return feed_entry_take_category(e, copy);
}

int feed_entry_take_category(struct feed_entry *e, char *s)
{
  char **n;

  for(size_t i = 0; i < e->ncategories; i++)
    if(strcmp(e->categories[i], s) == 0) {
      free(s);
      return 0;
    }
  n = realloc(e->categories, (e->ncategories + 1) * sizeof(*n));
  if(!n) {
    free(s);
    return -ENOMEM;
  }
  e->categories = n;
  e->categories[e->ncategories++] = s;
  return 0;
}

int feed_entry_add_enclosure(struct feed_entry *e, char *url, char *type,
                             int64_t length)
{
  struct feed_enclosure *n;

  if(!url) {
    free(type);
    return 0;
  }
  for(size_t i = 0; i < e->nenclosures; i++)
    if(strcmp(e->enclosures[i].url, url) == 0) {
      free(url);
      free(type);
      return 0;
    }
  n = realloc(e->enclosures, (e->nenclosures + 1) * sizeof(*n));
  if(!n) {
    free(url);
    free(type);
    return -ENOMEM;
  }
  e->enclosures = n;
  e->enclosures[e->nenclosures].url = url;
  e->enclosures[e->nenclosures].type = type;
  e->enclosures[e->nenclosures].length = length;
  e->nenclosures++;
  return 0;
}

const char *feed_format_name(enum feed_format format)
{
  switch(format) {
  case FEED_FORMAT_RSS090:
    return "rss090";
  case FEED_FORMAT_RSS091:
    return "rss091";
  case FEED_FORMAT_RSS092:
    return "rss092";
  case FEED_FORMAT_RSS20:
    return "rss20";
  case FEED_FORMAT_RSS10:
    return "rss10";
  case FEED_FORMAT_ATOM03:
    return "atom03";
  case FEED_FORMAT_ATOM10:
    return "atom10";
  case FEED_FORMAT_JSON10:
    return "json10";
  case FEED_FORMAT_JSON11:
    return "json11";
  case FEED_FORMAT_UNKNOWN:
    break;
  }
  return "unknown";
}
