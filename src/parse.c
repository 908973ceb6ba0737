/*
 * parse.c: parse_feed: decode the bytes, tell JSON from XML, read the
 * document, then give every entry a unique, stable id.
 */
#include "parse.h"

#include "charset.h"
#include "feed.h"
#include "hash.h"
#include "parse_json.h"
#include "parse_xml.h"
#include "xmlfix.h"

#include <errno.h>
#include <libxml/parser.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void parse_init(void)
{
  xmlInitParser();
}

static uint64_t hash_str(uint64_t h, const char *s)
{
  /* The NUL separates fields, so ("ab","c") and ("a","bc") differ. */
  return s ? hash_bytes(h, s, strlen(s) + 1) : hash_bytes(h, "", 1);
}

static uint64_t entry_fingerprint(const struct feed_entry *e)
{
  uint64_t h = HASH_SEED;

  h = hash_str(h, e->link);
  h = hash_str(h, e->title);
  h = hash_str(h, e->summary);
  h = hash_str(h, e->content);
  return h;
}

/* An entry without guid or atom:id is named by its link, else by its title
 * and date (else its text), so the same post gets the same id every time
 * the feed is read. */
static int derive_id(struct feed_entry *e)
{
  char hex[17];
  uint64_t h = HASH_SEED;

  if(e->link) {
    e->id = strdup(e->link);
    return e->id ? 0 : -ENOMEM;
  }
  h = hash_str(h, e->title);
  h = hash_bytes(h, &e->published, sizeof(e->published));
  if(!e->title && e->published == FEED_NO_DATE) {
    h = hash_str(h, e->summary);
    h = hash_str(h, e->content);
  }
  hash_hex(h, hex);
  return asprintf(&e->id, "freshet:%s", hex) < 0 ? -ENOMEM : 0;
}

/* Open-addressing set of the ids seen so far (indexes into entries). */
struct id_set {
  size_t *slots; /* entry index + 1; 0 is empty */
  size_t mask;
};

static size_t *id_slot(struct id_set *set, const struct feed *feed,
                       const char *id)
{
  size_t i = hash_bytes(HASH_SEED, id, strlen(id)) & set->mask;

  while(set->slots[i] && strcmp(feed->entries[set->slots[i] - 1].id, id) != 0)
    i = (i + 1) & set->mask;
  return &set->slots[i];
}

/* Gives every entry an id and makes ids unique: an exact repeat of an
 * entry is dropped; a different entry that reuses an id gets the id plus a
 * fingerprint of its own text, which is stable across fetches. */
static int unique_ids(struct feed *feed)
{
  struct id_set set;
  size_t cap = 16;
  int rc = 0;

  while(cap < feed->nentries * 2)
    cap *= 2;
  set.slots = calloc(cap, sizeof(*set.slots));
  if(!set.slots)
    return -ENOMEM;
  set.mask = cap - 1;
  for(size_t i = 0; i < feed->nentries;) {
    struct feed_entry *e = &feed->entries[i];
    size_t *slot;

    if(!e->id && (rc = derive_id(e)) != 0)
      break;
    slot = id_slot(&set, feed, e->id);
    if(*slot) {
      const struct feed_entry *first = &feed->entries[*slot - 1];
      uint64_t fp = entry_fingerprint(e);
      char hex[17];
      char *renamed;

      if(fp == entry_fingerprint(first)) {
        feed_warn(feed, "entry '%.80s' repeated; the copy was dropped", e->id);
        feed_remove_entry(feed, i);
        continue;
      }
      feed_warn(feed,
                "id '%.80s' used by different entries; later ones "
                "renamed",
                e->id);
      hash_hex(fp, hex);
      if(asprintf(&renamed, "%s#%s", e->id, hex) < 0) {
        rc = -ENOMEM;
        break;
      }
      free(e->id);
      e->id = renamed;
      slot = id_slot(&set, feed, e->id);
      if(*slot) {
        /* Same text under the same id twice: a repeat after all. */
        feed_remove_entry(feed, i);
        continue;
      }
    }
    *slot = i + 1;
    i++;
  }
  free(set.slots);
  return rc;
}

/* Atom and JSON Feed say an entry without an author has the feed's. */
static int inherit_author(struct feed *feed)
{
  if(!feed->author ||
     (feed->format != FEED_FORMAT_ATOM03 &&
      feed->format != FEED_FORMAT_ATOM10 &&
      feed->format != FEED_FORMAT_JSON10 && feed->format != FEED_FORMAT_JSON11))
    return 0;
  for(size_t i = 0; i < feed->nentries; i++)
    if(!feed->entries[i].author) {
      feed->entries[i].author = strdup(feed->author);
      if(!feed->entries[i].author)
        return -ENOMEM;
    }
  return 0;
}

static bool looks_like_json(const char *s, size_t len)
{
  for(size_t i = 0; i < len; i++) {
    if(s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
      continue;
    return s[i] == '{' || s[i] == '[';
  }
  return false;
}

int parse_feed(const char *data, size_t len, const char *url,
               const char *content_type, struct feed **out, char *err,
               size_t errlen)
{
  struct feed *feed = NULL;
  const char *utf8, *fixed;
  /* What charset_decode and xmlfix_repair had to copy (NULL: nothing); the
   * document read is one of them or a span of data. */
  char *utf8_copy = NULL;
  char *fixed_copy = NULL;
  size_t utf8_len = 0;
  size_t fixed_len = 0;
  int rc;

  *out = NULL;
  if(errlen)
    err[0] = '\0';
  if(len > PARSE_MAX_INPUT) {
    snprintf(err, errlen, "document of %zu bytes is over the %u-byte limit",
             len, PARSE_MAX_INPUT);
    return -EFBIG;
  }
  feed = feed_new();
  if(!feed)
    return -ENOMEM;
  rc = charset_decode(data, len, content_type, feed, &utf8, &utf8_len,
                      &utf8_copy);
  if(rc != 0)
    goto out;
  if(looks_like_json(utf8, utf8_len)) {
    rc = parse_json(utf8, utf8_len, url, feed, err, errlen);
  } else {
    rc = xmlfix_repair(utf8, utf8_len, feed, &fixed, &fixed_len, &fixed_copy);
    if(rc != 0)
      goto out;
    if(fixed_copy) {
      /* Only the repaired copy is read from here on. */
      free(utf8_copy);
      utf8_copy = NULL;
    }
    if(fixed_len == 0) {
      snprintf(err, errlen, "found %s, not a feed",
               utf8_len ? "no markup (plain text)" : "an empty document");
      rc = -EINVAL;
      goto out;
    }
    rc = parse_xml(fixed, fixed_len, url, feed, err, errlen);
  }
  if(rc == 0)
    rc = inherit_author(feed);
  if(rc == 0)
    rc = unique_ids(feed);
out:
  free(utf8_copy);
  free(fixed_copy);
  if(errlen) {
    /* The reason quotes the document at times (jansson's "near '...'"):
     * it stays one line of valid UTF-8. */
    for(char *c = err; *c; c++)
      if((unsigned char)*c < 0x20 || *c == 0x7f)
        *c = ' ';
    feed_utf8_clean(err);
  }
  if(rc != 0) {
    if(rc == -ENOMEM && errlen)
      snprintf(err, errlen, "out of memory");
    feed_free(feed);
    return rc;
  }
  *out = feed;
  return 0;
}
