/*
 * render_model.c: store items and configuration -> the values every
 * published format shows. The decisions that must agree across formats
 * live here: entry ids, the effective dates, which links may be shown,
 * the author and source fallbacks.
 *
 * Entry ids: the entry's own id when it is an absolute IRI (Atom requires
 * one); else, for an entry without an id, its link; else a tag URI stable
 * for the entry: "tag:freshet,2024:NAME:HASH", NAME the subscription's
 * name and HASH the FNV-1a hash of the entry's own id (or, without one, of
 * its store key). The merged document is one feed, so ids must be unique
 * in it: an id already used by a newer entry (two feeds sharing ids) is
 * replaced by the tag URI of the entry's store key.
 */
#include "render_model.h"

#include "config.h"
#include "date.h"
#include "feed.h"
#include "hash.h"
#include "render_text.h"
#include "store.h"
#include "url.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TAG_PREFIX "tag:freshet,2024:"

/* The range of xsd:dateTime years freshet writes: 0001-9999. */
#define DATE_MIN INT64_C(-62135596800)
#define DATE_MAX INT64_C(253402300799)

static bool is_alpha(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
  return c >= '0' && c <= '9';
}

static bool is_http(const char *s)
{
  return strncasecmp(s, "http://", 7) == 0 ||
         strncasecmp(s, "https://", 8) == 0;
}

bool render_is_iri(const char *s)
{
  const unsigned char *p = (const unsigned char *)s;

  if(s == NULL || !is_alpha(*p))
    return false;
  while(is_alpha(*p) || is_digit(*p) || *p == '+' || *p == '-' || *p == '.')
    p++;
  if(*p != ':' || p[1] == '\0')
    return false;
  for(; *p; p++)
    if(*p <= 0x20 || *p == 0x7f || strchr("<>\"{}|\\^`", *p))
      return false;
  return true;
}

/* The clean text of s, or NULL when s is NULL or ends up empty. Returns 0
 * or -ENOMEM. */
static int text(const char *s, char **out)
{
  *out = NULL;
  if(s == NULL || *s == '\0')
    return 0;
  *out = render_text_clean(s);
  if(*out == NULL)
    return -ENOMEM;
  if(**out == '\0') {
    free(*out);
    *out = NULL;
  }
  return 0;
}

/* A copy of url when it can be linked to: absolute, an allowed scheme, no
 * characters that would need escaping; else NULL. The user:password@ of
 * http(s) URLs is left out (subscription URLs may carry credentials).
 * Returns 0 or -ENOMEM. */
static int link_url(const char *url, bool image, char **out)
{
  const char *host, *end, *at;
  int rc = text(url, out);
  size_t n;

  if(rc < 0 || *out == NULL)
    return rc;
  if(!render_is_iri(*out) || !url_is_safe(*out, image)) {
    free(*out);
    *out = NULL;
    return 0;
  }
  host = strstr(*out, "://");
  if(host == NULL)
    return 0;
  host += 3;
  end = host + strcspn(host, "/?#");
  at = NULL;
  for(const char *p = host; p < end; p++)
    if(*p == '@')
      at = p;
  if(at) {
    n = strlen(at + 1);
    memmove((char *)host, at + 1, n + 1);
  }
  return 0;
}

static bool media_type(const char *s)
{
  const char *slash = strchr(s, '/');

  if(slash == NULL || slash == s || slash[1] == '\0')
    return false;
  for(const unsigned char *p = (const unsigned char *)s; *p; p++)
    if(*p <= 0x20 || *p >= 0x7f)
      return false;
  return true;
}

static bool date_ok(int64_t t)
{
  return t != FEED_NO_DATE && t >= DATE_MIN && t <= DATE_MAX;
}

/* A subscription name as it may appear in a tag URI. */
static char *tag_name(const char *name)
{
  char *out = strdup(name && *name ? name : "feed");

  if(out == NULL)
    return NULL;
  for(unsigned char *p = (unsigned char *)out; *p; p++)
    if(!is_alpha(*p) && !is_digit(*p) && *p != '.' && *p != '_' && *p != '-')
      *p = '-';
  return out;
}

/* TAG_PREFIX NAME ":" hex(hash(salt, basis)). */
static char *tag_id(const char *name, const char *salt, const char *basis)
{
  char hex[17], *clean, *out;
  uint64_t h = HASH_SEED;
  size_t size;

  h = hash_bytes(h, salt, strlen(salt));
  h = hash_bytes(h, basis, strlen(basis));
  hash_hex(h, hex);
  clean = tag_name(name);
  if(clean == NULL)
    return NULL;
  size = sizeof(TAG_PREFIX) + strlen(clean) + 1 + sizeof(hex);
  out = malloc(size);
  if(out)
    snprintf(out, size, TAG_PREFIX "%s:%s", clean, hex);
  free(clean);
  return out;
}

/* The fallback basis when an entry has neither id nor key: its row. */
static const char *key_of(const struct store_item *s, char *buf, size_t size)
{
  if(s->key && *s->key)
    return s->key;
  snprintf(buf, size, "row:%lld", (long long)s->id);
  return buf;
}

static int entry_id(const struct store_item *s, const struct render_item *it,
                    char **out)
{
  char row[32];

  *out = NULL;
  if(s->guid && *s->guid) {
    if(render_is_iri(s->guid) && render_text_is_clean(s->guid))
      *out = strdup(s->guid);
    else
      *out = tag_id(s->feed_name, "", s->guid);
  } else if(it->link && render_is_iri(it->link)) {
    *out = strdup(it->link);
  } else {
    *out = tag_id(s->feed_name, "", key_of(s, row, sizeof(row)));
  }
  return *out ? 0 : -ENOMEM;
}

static int fill_lists(const struct store_item *s, struct render_item *it)
{
  if(s->ncategories) {
    it->categories = calloc(s->ncategories, sizeof(*it->categories));
    if(it->categories == NULL)
      return -ENOMEM;
  }
  for(size_t i = 0; i < s->ncategories; i++) {
    char *c;

    if(text(s->categories[i], &c) < 0)
      return -ENOMEM;
    if(c)
      it->categories[it->ncategories++] = c;
  }
  if(s->nenclosures) {
    it->enclosures = calloc(s->nenclosures, sizeof(*it->enclosures));
    if(it->enclosures == NULL)
      return -ENOMEM;
  }
  for(size_t i = 0; i < s->nenclosures; i++) {
    const struct feed_enclosure *e = &s->enclosures[i];
    struct render_enclosure *x = &it->enclosures[it->nenclosures];

    if(link_url(e->url, false, &x->url) < 0)
      return -ENOMEM;
    if(x->url == NULL)
      continue;
    it->nenclosures++;
    if(e->type && media_type(e->type)) {
      x->type = strdup(e->type);
      if(x->type == NULL)
        return -ENOMEM;
    }
    x->length = e->length >= 0 ? e->length : -1;
  }
  return 0;
}

/* The effective date (the store's), kept in range; and the last change:
 * the entry's updated time unless it is before that or in the future. */
static void fill_dates(const struct store_item *s, struct render_item *it,
                       int64_t now)
{
  if(date_ok(s->date))
    it->published = s->date;
  else if(date_ok(s->first_seen))
    it->published = s->first_seen;
  else
    it->published = now;
  it->updated = it->published;
  if(date_ok(s->updated) && s->updated > it->published && s->updated <= now)
    it->updated = s->updated;
}

static void item_clear(struct render_item *it)
{
  free(it->id);
  free(it->title);
  free(it->link);
  free(it->author);
  free(it->summary);
  free(it->content);
  free(it->image);
  for(size_t i = 0; i < it->ncategories; i++)
    free(it->categories[i]);
  free(it->categories);
  for(size_t i = 0; i < it->nenclosures; i++) {
    free(it->enclosures[i].url);
    free(it->enclosures[i].type);
  }
  free(it->enclosures);
  free(it->source_name);
  free(it->source_title);
  free(it->source_link);
  free(it->source_url);
  memset(it, 0, sizeof(*it));
}

static int item_init(struct render_item *it, const struct store_item *s,
                     int64_t now)
{
  int rc = 0;

  memset(it, 0, sizeof(*it));
  rc |= text(s->title, &it->title);
  if(rc == 0 && it->title == NULL) {
    it->title = strdup("");
    if(it->title == NULL)
      rc = -ENOMEM;
  }
  rc |= link_url(s->link, false, &it->link);
  rc |= text(s->author, &it->author);
  rc |= text(s->summary, &it->summary);
  rc |= text(s->content, &it->content);
  rc |= link_url(s->image, true, &it->image);
  rc |= text(s->feed_name, &it->source_name);
  if(rc == 0 && it->source_name == NULL) {
    it->source_name = strdup("feed");
    if(it->source_name == NULL)
      rc = -ENOMEM;
  }
  rc |= text(s->feed_title, &it->source_title);
  if(rc == 0 && it->source_title == NULL) {
    it->source_title = strdup(it->source_name);
    if(it->source_title == NULL)
      rc = -ENOMEM;
  }
  rc |= link_url(s->feed_link, false, &it->source_link);
  rc |= link_url(s->feed_url, false, &it->source_url);
  if(rc == 0)
    rc = fill_lists(s, it);
  if(rc == 0)
    rc = entry_id(s, it, &it->id);
  fill_dates(s, it, now);
  if(rc) {
    item_clear(it);
    return -ENOMEM;
  }
  return 0;
}

struct id_ref {
  const char *id;
  size_t index;
};

static int cmp_id(const void *a, const void *b)
{
  const struct id_ref *x = a, *y = b;
  int c = strcmp(x->id, y->id);

  if(c)
    return c;
  return x->index < y->index ? -1 : x->index > y->index;
}

/* Gives every entry after the first with an id its own (see the top). */
static int unique_ids(const struct store_item *src, struct render_item *items,
                      size_t n)
{
  struct id_ref *refs;
  size_t *dups;
  size_t ndups = 0;
  int rc = 0;

  if(n < 2)
    return 0;
  refs = calloc(n, sizeof(*refs));
  dups = calloc(n, sizeof(*dups));
  if(refs == NULL || dups == NULL) {
    rc = -ENOMEM;
    goto out;
  }
  for(size_t i = 0; i < n; i++) {
    refs[i].id = items[i].id;
    refs[i].index = i;
  }
  qsort(refs, n, sizeof(*refs), cmp_id);
  for(size_t i = 1; i < n; i++)
    if(strcmp(refs[i].id, refs[i - 1].id) == 0)
      dups[ndups++] = refs[i].index;
  for(size_t i = 0; i < ndups; i++) {
    const struct store_item *s = &src[dups[i]];
    char row[32], *id = tag_id(s->feed_name, "key:", key_of(s, row, 32));

    if(id == NULL) {
      rc = -ENOMEM;
      break;
    }
    free(items[dups[i]].id);
    items[dups[i]].id = id;
  }
out:
  free(refs);
  free(dups);
  return rc;
}

int render_items_new(const struct store_item *src, size_t n, int64_t now,
                     struct render_item **out)
{
  struct render_item *items;
  size_t done = 0;
  int rc = 0;

  *out = NULL;
  if(n == 0)
    return 0;
  items = calloc(n, sizeof(*items));
  if(items == NULL)
    return -ENOMEM;
  for(; done < n && rc == 0; done++)
    rc = item_init(&items[done], &src[done], now);
  if(rc == 0)
    rc = unique_ids(src, items, n);
  if(rc) {
    render_items_free(items, done);
    return rc;
  }
  *out = items;
  return 0;
}

void render_items_free(struct render_item *items, size_t n)
{
  for(size_t i = 0; items && i < n; i++)
    item_clear(&items[i]);
  free(items);
}

int64_t render_items_updated(const struct render_item *items, size_t n,
                             int64_t fallback)
{
  int64_t t;

  if(n == 0)
    return fallback;
  t = items[0].updated;
  for(size_t i = 1; i < n; i++)
    if(items[i].updated > t)
      t = items[i].updated;
  return t;
}

const char *render_item_html(const struct render_item *it)
{
  if(it->content && *it->content)
    return it->content;
  if(it->summary && *it->summary)
    return it->summary;
  return NULL;
}

/* ---- the channel ------------------------------------------------------ */

/* http://HOST:PORT/ for the listen address, or http://localhost/. */
static char *default_link(const char *listen)
{
  const char *host, *port;
  size_t hostlen, size;
  char *out;

  if(listen == NULL || *listen == '\0')
    return strdup("http://localhost/");
  if(*listen == '[') {
    port = strchr(listen, ']');
    port = port ? strchr(port, ':') : NULL;
  } else {
    port = strrchr(listen, ':');
  }
  if(port == NULL)
    return strdup("http://localhost/");
  host = listen;
  hostlen = (size_t)(port - listen);
  port++;
  if(hostlen == 0 || (hostlen == 7 && memcmp(host, "0.0.0.0", 7) == 0) ||
     (hostlen == 4 && memcmp(host, "[::]", 4) == 0)) {
    host = "localhost";
    hostlen = 9;
  }
  size = sizeof("http://:/") + hostlen + strlen(port);
  out = malloc(size);
  if(out)
    snprintf(out, size, "http://%.*s:%s/", (int)hostlen, host, port);
  return out;
}

char *render_model_url(const struct render_channel *ch, const char *file)
{
  char *url = url_resolve(ch->link, file);

  if(url && !render_is_iri(url)) {
    free(url);
    url = NULL;
  }
  if(url == NULL) {
    size_t size = strlen(ch->link) + strlen(file) + 2;

    url = malloc(size);
    if(url)
      snprintf(url, size, "%s%s%s", ch->link,
               ch->link[strlen(ch->link) - 1] == '/' ? "" : "/", file);
  }
  return url;
}

int render_channel_init(struct render_channel *ch, const struct config *cfg,
                        int64_t now)
{
  int rc = 0;

  memset(ch, 0, sizeof(*ch));
  ch->generated = now;
  rc |= text(cfg->title, &ch->title);
  if(rc == 0 && ch->title == NULL)
    ch->title = strdup("freshet");
  rc |= link_url(cfg->link, false, &ch->link);
  if(rc == 0 && (ch->link == NULL || !is_http(ch->link))) {
    free(ch->link);
    ch->link = default_link(cfg->listen);
  }
  rc |= text(cfg->id, &ch->id);
  if(rc == 0 && ch->id && !render_is_iri(ch->id)) {
    free(ch->id);
    ch->id = NULL;
  }
  rc |= text(cfg->author, &ch->author);
  if(rc == 0 && ch->title && ch->link && ch->id == NULL)
    ch->id = render_model_url(ch, "feed.atom");
  if(rc || !ch->title || !ch->link || !ch->id) {
    render_channel_clear(ch);
    return -ENOMEM;
  }
  return 0;
}

void render_channel_clear(struct render_channel *ch)
{
  if(ch == NULL)
    return;
  free(ch->title);
  free(ch->link);
  free(ch->id);
  free(ch->author);
  memset(ch, 0, sizeof(*ch));
}
