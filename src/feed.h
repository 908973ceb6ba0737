/*
 * feed.h: the feed/entry model shared by the parser, the store and the
 * publisher. Every string is NUL-terminated UTF-8 owned by the struct that
 * holds it; NULL means "missing". Dates are seconds since the epoch, UTC,
 * with FEED_NO_DATE for "missing".
 */
#ifndef FRESHET_FEED_H
#define FRESHET_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FEED_NO_DATE INT64_MIN
/* Warnings kept per parse; further ones are only counted. */
#define FEED_MAX_WARNINGS 32

enum feed_format {
  FEED_FORMAT_UNKNOWN = 0,
  FEED_FORMAT_RSS090,
  FEED_FORMAT_RSS091,
  FEED_FORMAT_RSS092,
  FEED_FORMAT_RSS20,
  FEED_FORMAT_RSS10,
  FEED_FORMAT_ATOM03,
  FEED_FORMAT_ATOM10,
  FEED_FORMAT_JSON10,
  FEED_FORMAT_JSON11,
};

struct feed_enclosure {
  char *url;
  char *type;
  int64_t length; /* bytes; -1 when not given */
};

struct feed_entry {
  char *id;
  char *title; /* plain text */
  char *link;  /* absolute */
  int64_t published;
  int64_t updated;
  char *author;  /* plain text */
  char *summary; /* sanitized HTML */
  char *content; /* sanitized HTML */
  char *image;   /* absolute URL of one representative image */
  char **categories;
  size_t ncategories;
  struct feed_enclosure *enclosures;
  size_t nenclosures;
};

struct feed {
  enum feed_format format;
  char *title; /* plain text */
  char *link;  /* absolute site link */
  char *subtitle;
  char *id;
  int64_t updated;
  char *language;
  char *author;
  /* Publisher hints for the scheduler, in seconds; 0 when not given. */
  int64_t ttl;           /* RSS <ttl> */
  int64_t update_period; /* sy:updatePeriod / sy:updateFrequency */

  struct feed_entry *entries;
  size_t nentries;
  size_t entries_cap;

  /* The document ended inside an entry (cut short in transfer, or never
   * finished): its last entry may be incomplete. */
  bool truncated;

  /* What was wrong with the document ("bozo" list), oldest first. */
  char *warnings[FEED_MAX_WARNINGS];
  size_t nwarnings;
  size_t warnings_dropped;
};

/* Returns a new empty feed, or NULL when out of memory. Free with
 * feed_free. */
struct feed *feed_new(void);

/* Frees the feed and everything it owns; NULL is fine. */
void feed_free(struct feed *feed);

/* Appends a zeroed entry (dates FEED_NO_DATE); returns it, or NULL when out
 * of memory. The pointer is valid until the next feed_add_entry. */
struct feed_entry *feed_add_entry(struct feed *feed);

/* Removes entry i, keeping the order of the others. */
void feed_remove_entry(struct feed *feed, size_t i);

/* Frees the contents of one entry and zeroes it. */
void feed_entry_clear(struct feed_entry *entry);

/* Adds a printf-style warning unless the same text is already listed.
 * Returns 0, or -ENOMEM. */
int feed_warn(struct feed *feed, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Drops every byte of s that is not part of a valid UTF-8 sequence (text
 * cut by byte count, for messages). */
void feed_utf8_clean(char *s);

/* Appends a copy of s to the entry's categories unless already present.
 * Returns 0, or -ENOMEM. */
int feed_entry_add_category(struct feed_entry *entry, const char *s);

/* As feed_entry_add_category, but takes ownership of the malloc'd s: the
 * entry keeps it, or it is freed (a duplicate, or out of memory). */
int feed_entry_take_category(struct feed_entry *entry, char *s);

/* Appends an enclosure, taking ownership of url and type (either may be
 * NULL on entry; url NULL is ignored). Returns 0, or -ENOMEM. */
int feed_entry_add_enclosure(struct feed_entry *entry, char *url, char *type,
                             int64_t length);

/* Returns the stable name of a format ("rss20", "atom10", ...). */
const char *feed_format_name(enum feed_format format);

#endif
