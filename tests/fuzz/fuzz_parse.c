/*
 * fuzz_parse.c: libFuzzer target for the whole feed parser. Each input is
 * parsed as it would arrive from http://example.com/feed.xml, once without
 * a Content-Type and once with one chosen by the first byte, then dumped
 * as `freshet parse` JSON and freed. Besides crashes, leaks and timeouts it
 * aborts when the parser breaks a promise of parse.h or feed.h: a result
 * and an error at once, an undocumented error code, a reason that is not
 * one line, more entries than PARSE_MAX_ENTRIES, invalid UTF-8 or control
 * characters in any string of the feed (warnings included: they are in
 * the JSON), two entries with one id, or JSON that does not read back.
 *
 * Build and run: tests/fuzz/run.sh (see tests/fuzz/README).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "feed.h"
#include "feed_json.h"
#include "parse.h"

#define FEED_URL "http://example.com/feed.xml"

/* Indexed by the first byte modulo the count; '<' and '{' land on 4. */
static const char *const content_types[] = {
    NULL,
    "text/xml; charset=utf-16",
    "application/atom+xml",
    "application/json",
    "application/rss+xml; charset=windows-1252",
    "text/html; charset=iso-8859-1",
    "text/xml; charset=x-no-such-charset",
};

static void fail(const char *what, const char *detail)
{
  fprintf(stderr, "fuzz_parse: %s%s%s\n", what, detail ? ": " : "",
          detail ? detail : "");
  abort();
}

/* Returns 1 if s is well-formed UTF-8 without C0 controls other than tab,
 * newline and carriage return, and without DEL. */
static int clean_utf8(const char *str)
{
  const unsigned char *s = (const unsigned char *)str;

  while(*s) {
    unsigned c = *s;
    unsigned cp;
    int n;

    if(c < 0x80) {
      if((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
        return 0;
      s++;
      continue;
    }
    if(c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
    } else if(c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
    } else if(c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return 0;
    }
    for(int i = 1; i <= n; i++) {
      if((s[i] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (s[i] & 0x3f);
    }
    if((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
       (cp >= 0xd800 && cp <= 0xdfff))
      return 0;
    s += n + 1;
  }
  return 1;
}

static void check_str(const char *s, const char *field)
{
  if(s && !clean_utf8(s)) {
    fprintf(stderr, "fuzz_parse: invalid UTF-8 or control character in %s: \"",
            field);
    for(const unsigned char *p = (const unsigned char *)s; *p; p++) {
      if(p - (const unsigned char *)s >= 400) {
        fputs("...", stderr);
        break;
      }
      if(*p >= 0x20 && *p < 0x7f && *p != '\\' && *p != '"')
        fputc(*p, stderr);
      else
        fprintf(stderr, "\\x%02x", *p);
    }
    fputs("\"\n", stderr);
    abort();
  }
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void check_feed(const struct feed *feed)
{
  const char **ids;
  size_t nids = 0;

  if(feed->nentries > PARSE_MAX_ENTRIES)
    fail("more entries than PARSE_MAX_ENTRIES", NULL);
  if(feed->nwarnings > FEED_MAX_WARNINGS)
    fail("more warnings than FEED_MAX_WARNINGS", NULL);
  check_str(feed->title, "feed title");
  check_str(feed->link, "feed link");
  check_str(feed->subtitle, "feed subtitle");
  check_str(feed->id, "feed id");
  check_str(feed->language, "feed language");
  check_str(feed->author, "feed author");
  for(size_t i = 0; i < feed->nwarnings; i++)
    check_str(feed->warnings[i], "warning");

  ids = malloc((feed->nentries + 1) * sizeof(*ids));
  if(!ids)
    return;
  for(size_t i = 0; i < feed->nentries; i++) {
    const struct feed_entry *e = &feed->entries[i];

    check_str(e->id, "entry id");
    check_str(e->title, "entry title");
    check_str(e->link, "entry link");
    check_str(e->author, "entry author");
    check_str(e->summary, "entry summary");
    check_str(e->content, "entry content");
    check_str(e->image, "entry image");
    for(size_t j = 0; j < e->ncategories; j++)
      check_str(e->categories[j], "entry category");
    for(size_t j = 0; j < e->nenclosures; j++) {
      check_str(e->enclosures[j].url, "enclosure url");
      check_str(e->enclosures[j].type, "enclosure type");
    }
    if(e->id)
      ids[nids++] = e->id;
  }
  qsort(ids, nids, sizeof(*ids), cmp_str);
  for(size_t i = 1; i < nids; i++) {
    if(strcmp(ids[i - 1], ids[i]) == 0) {
      fprintf(stderr, "fuzz_parse: duplicate entry id \"%s\"\n", ids[i]);
      abort();
    }
  }
  free(ids);
}

static void parse_one(const uint8_t *data, size_t size, const char *ctype)
{
  struct feed *feed = (struct feed *)1; /* must be set on every path */
  char err[256];
  char *json;
  json_t *back;
  json_error_t jerr;
  int rc;

  memset(err, 'x', sizeof(err));
  rc = parse_feed((const char *)data, size, FEED_URL, ctype, &feed, err,
                  sizeof(err));
  if(rc < 0) {
    if(feed != NULL)
      fail("parse_feed failed but set *out", NULL);
    if(rc != -EINVAL && rc != -EFBIG && rc != -ENOMEM)
      fail("parse_feed returned an undocumented code", NULL);
    if(memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
      fail("parse_feed failed without a NUL-terminated reason", NULL);
    /* The reason goes to a terminal, cut to the caller's buffer: it must
     * be one line, but may end inside a character. */
    if(strpbrk(err, "\r\n"))
      fail("parse_feed's reason is not one line", err);
    return;
  }
  if(rc != 0 || feed == NULL)
    fail("parse_feed succeeded without a feed", NULL);
  check_feed(feed);

  json = feed_json_dump(feed);
  if(json) {
    back = json_loads(json, 0, &jerr);
    if(!back)
      fail("feed_json_dump wrote JSON that does not read back", jerr.text);
    json_decref(back);
    free(json);
  }
  feed_free(feed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static int initialized;
  const char *ctype = NULL;

  if(!initialized) {
    parse_init();
    initialized = 1;
  }
  parse_one(data, size, NULL);
  if(size > 0) {
    size_t n = sizeof(content_types) / sizeof(content_types[0]);

    ctype = content_types[data[0] % n];
  }
  if(ctype)
    parse_one(data, size, ctype);
  return 0;
}
