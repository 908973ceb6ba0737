/*
 * http_doc.c: snapshots of the documents the HTTP server sends; see
 * http_doc.h. The ETag is the FNV-1a hash of the bytes (hash.h): strong,
 * and the gzip copy's differs by its "-gz" suffix, as RFC 9110 8.8.3
 * wants for a different content coding.
 */
#include "http_doc.h"

#include "hash.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* helgrind does not see an atomic decrement as ordering memory; tell it
 * that the last reference's owner frees after every other user. */
#if defined(__has_include)
#if __has_include(<valgrind/helgrind.h>)
#include <valgrind/helgrind.h>
#endif
#endif
#ifndef ANNOTATE_HAPPENS_BEFORE
#define ANNOTATE_HAPPENS_BEFORE(obj) ((void)(obj))
#define ANNOTATE_HAPPENS_AFTER(obj) ((void)(obj))
#endif

/* Formats t as an IMF-fixdate (RFC 9110) without the locale. */
static void http_date(time_t t, char *buf, size_t size)
{
  static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                     "Thu", "Fri", "Sat"};
  static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};
  struct tm tm;

  gmtime_r(&t, &tm);
  snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
           tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
           tm.tm_min, tm.tm_sec);
}

char *http_gzip(const char *in, size_t len, size_t *outlen)
{
  z_stream zs;
  char *out;
  uLong bound;

  if(len == 0 || len > UINT_MAX)
    return NULL;
  memset(&zs, 0, sizeof(zs));
  if(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return NULL;
  bound = deflateBound(&zs, (uLong)len);
  out = malloc(bound);
  if(out == NULL) {
    deflateEnd(&zs);
    return NULL;
  }
  zs.next_in = (Bytef *)(uintptr_t)in;
  zs.avail_in = (uInt)len;
  zs.next_out = (Bytef *)out;
  zs.avail_out = (uInt)bound;
  if(deflate(&zs, Z_FINISH) != Z_STREAM_END || zs.total_out >= len) {
    deflateEnd(&zs);
    free(out);
    return NULL;
  }
  *outlen = zs.total_out;
  deflateEnd(&zs);
  return out;
}

void http_recent_free(struct http_recent *r)
{
  if(r == NULL)
    return;
  for(size_t i = 0; i < r->n; i++) {
    free(r->items[i].source);
    free(r->items[i].json);
  }
  for(size_t i = 0; i < HTTP_RECENT_CACHE; i++) {
    free(r->cache[i].source);
    http_doc_unref(r->cache[i].doc);
  }
  pthread_mutex_destroy(&r->lock);
  free(r->items);
  free(r->head);
  free(r);
}

struct http_recent *http_recent_parse(const char *body, size_t len)
{
  json_error_t jerr;
  json_t *root, *items, *head = NULL;
  struct http_recent *r = NULL;
  size_t i;

  root = json_loadb(body, len, 0, &jerr);
  if(root == NULL) {
    log_warnx("http: recent.json does not parse", "line=%d error=\"%s\"",
              jerr.line, jerr.text);
    return NULL;
  }
  items = json_object_get(root, "items");
  if(!json_is_object(root) || !json_is_array(items)) {
    log_warnx("http: recent.json has no items array", NULL);
    goto fail;
  }
  r = calloc(1, sizeof(*r));
  if(r == NULL)
    goto fail;
  pthread_mutex_init(&r->lock, NULL);
  head = json_copy(root);
  if(head == NULL || json_object_del(head, "items") < 0)
    goto fail;
  r->head = json_dumps(head, JSON_COMPACT);
  if(r->head == NULL)
    goto fail;
  r->headlen = strlen(r->head);
  r->items = calloc(json_array_size(items) + 1, sizeof(*r->items));
  if(r->items == NULL)
    goto fail;
  for(i = 0; i < json_array_size(items); i++) {
    json_t *it = json_array_get(items, i);
    const char *src = json_string_value(
        json_object_get(json_object_get(it, "source"), "name"));
    struct http_recent_item *ri = &r->items[r->n++];

    ri->json = json_dumps(it, JSON_COMPACT | JSON_ENCODE_ANY);
    ri->source = src ? strdup(src) : NULL;
    if(ri->json == NULL || (src && ri->source == NULL))
      goto fail;
    ri->len = strlen(ri->json);
  }
  json_decref(head);
  json_decref(root);
  return r;
fail:
  json_decref(head);
  json_decref(root);
  http_recent_free(r);
  return NULL;
}

/* The body of recent.json with the first limit items from source (NULL:
 * any); malloc'd, or NULL on out of memory. */
static char *recent_build(const struct http_recent *r, const char *source,
                          size_t limit, size_t *len)
{
  size_t cap = r->headlen + 16, n = 0, off;
  char *out;

  for(size_t i = 0; i < r->n; i++)
    cap += r->items[i].len + 1;
  out = malloc(cap);
  if(out == NULL)
    return NULL;
  /* head is "{...}": keep all but its closing brace, then add the items. */
  off = r->headlen - 1;
  memcpy(out, r->head, off);
  if(off > 1)
    out[off++] = ',';
  memcpy(out + off, "\"items\":[", 9);
  off += 9;
  for(size_t i = 0; i < r->n && n < limit; i++) {
    const struct http_recent_item *it = &r->items[i];

    if(source && (it->source == NULL || strcmp(it->source, source) != 0))
      continue;
    if(n++ > 0)
      out[off++] = ',';
    memcpy(out + off, it->json, it->len);
    off += it->len;
  }
  memcpy(out + off, "]}", 2);
  off += 2;
  *len = off;
  return out;
}

static void doc_free(struct http_doc *d)
{
  if(d == NULL)
    return;
  free(d->ctype);
  free(d->body);
  free(d->gz);
  http_recent_free(d->recent);
  free(d);
}

struct http_doc *http_doc_ref(struct http_doc *d)
{
  if(d)
    atomic_fetch_add_explicit(&d->refs, 1, memory_order_relaxed);
  return d;
}

void http_doc_unref(struct http_doc *d)
{
  if(d == NULL)
    return;
  ANNOTATE_HAPPENS_BEFORE(&d->refs);
  if(atomic_fetch_sub_explicit(&d->refs, 1, memory_order_acq_rel) == 1) {
    ANNOTATE_HAPPENS_AFTER(&d->refs);
    doc_free(d);
  }
}

/* Whether ct is a textual type that needs a charset. */
static bool wants_charset(const char *ct)
{
  size_t n = strcspn(ct, ";");

  if(strncmp(ct, "text/", 5) == 0)
    return true;
  for(size_t i = 0; i < n; i++)
    if(strncmp(ct + i, "xml", 3) == 0 || strncmp(ct + i, "json", 4) == 0 ||
       strncmp(ct + i, "javascript", 10) == 0)
      return true;
  return false;
}

struct http_doc *http_doc_new(const char *ctype, const char *body, size_t len,
                              time_t mtime, const char *cache, bool cors)
{
  struct http_doc *d = calloc(1, sizeof(*d));
  char hex[17];

  if(d == NULL)
    return NULL;
  atomic_init(&d->refs, 1);
  if(wants_charset(ctype) && strstr(ctype, "charset=") == NULL) {
    size_t n = strlen(ctype) + sizeof("; charset=utf-8");

    d->ctype = malloc(n);
    if(d->ctype)
      snprintf(d->ctype, n, "%s; charset=utf-8", ctype);
  } else {
    d->ctype = strdup(ctype);
  }
  d->body = malloc(len + 1);
  if(d->ctype == NULL || d->body == NULL) {
    doc_free(d);
    return NULL;
  }
  if(len)
    memcpy(d->body, body, len);
  d->body[len] = '\0';
  d->len = len;
  /* A missing gzip copy only costs bandwidth; go on without it. */
  d->gz = http_gzip(body, len, &d->gzlen);
  hash_hex(hash_bytes(HASH_SEED, body, len), hex);
  snprintf(d->etag, sizeof(d->etag), "\"%s\"", hex);
  snprintf(d->etag_gz, sizeof(d->etag_gz), "\"%s-gz\"", hex);
  d->mtime = mtime;
  http_date(mtime, d->lastmod, sizeof(d->lastmod));
  d->cache = cache;
  d->cors = cors;
  return d;
}

struct http_doc *http_doc_load(const char *path, const char *ctype,
                               const char *cache, bool cors, size_t max)
{
  struct stat st;
  struct http_doc *d = NULL;
  char *data = NULL;
  size_t got = 0;
  int fd;

  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if(fd < 0) {
    log_warnx("http: file missing, its route answers 404",
              "path=\"%s\" error=\"%s\"", path, strerror(errno));
    return NULL;
  }
  if(fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
    log_warnx("http: file unusable, its route answers 404",
              "path=\"%s\" max=%zu", path, max);
    goto out;
  }
  data = malloc((size_t)st.st_size + 1);
  if(data == NULL)
    goto out;
  while(got < (size_t)st.st_size) {
    ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

    if(n < 0 && errno == EINTR)
      continue;
    if(n <= 0)
      break;
    got += (size_t)n;
  }
  d = http_doc_new(ctype, data, got, st.st_mtime, cache, cors);
out:
  free(data);
  close(fd);
  return d;
}

static bool same_key(const struct http_recent_variant *v, const char *source,
                     size_t limit)
{
  return v->doc && v->limit == limit &&
         (v->source == NULL ? source == NULL
                            : source && strcmp(v->source, source) == 0);
}

/* The cached variant for (source, limit) with a new reference, or NULL.
 * Called with r->lock held. */
static struct http_doc *cache_find(struct http_recent *r, const char *source,
                                   size_t limit)
{
  for(size_t i = 0; i < HTTP_RECENT_CACHE; i++)
    if(same_key(&r->cache[i], source, limit))
      return http_doc_ref(r->cache[i].doc);
  return NULL;
}

struct http_doc *http_recent_select(struct http_doc *d, const char *source,
                                    size_t limit)
{
  struct http_recent *r = d->recent;
  struct http_doc *v, *found, *evicted = NULL;
  char *body, *key = NULL;
  size_t len;

  /* More than there are is all of them: one cache entry for those. */
  if(limit > r->n)
    limit = r->n;
  pthread_mutex_lock(&r->lock);
  v = cache_find(r, source, limit);
  pthread_mutex_unlock(&r->lock);
  if(v)
    return v;

  /* Built outside the lock; if another thread built the same meanwhile,
   * its copy wins and this one is dropped. */
  body = recent_build(r, source, limit, &len);
  if(body == NULL)
    return NULL;
  v = http_doc_new(d->ctype, body, len, d->mtime, d->cache, d->cors);
  free(body);
  if(v == NULL)
    return NULL;
  if(source) {
    key = strdup(source);
    if(key == NULL)
      return v; /* served, just not kept */
  }
  pthread_mutex_lock(&r->lock);
  found = cache_find(r, source, limit);
  if(found == NULL) {
    struct http_recent_variant *slot = &r->cache[r->next];

    r->next = (r->next + 1) % HTTP_RECENT_CACHE;
    evicted = slot->doc;
    free(slot->source);
    slot->source = key;
    slot->limit = limit;
    slot->doc = http_doc_ref(v);
    key = NULL;
  }
  pthread_mutex_unlock(&r->lock);
  free(key);
  http_doc_unref(evicted);
  if(found) {
    http_doc_unref(v);
    return found;
  }
  return v;
}
