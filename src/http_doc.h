/*
 * http_doc.h: the immutable snapshots the HTTP server sends (internal to
 * http.c): the bytes, a gzip copy, strong validators, and for recent.json
 * an index for ?limit and ?source. Everything is built here, off the
 * request path; threads share a snapshot by reference count and never
 * change it.
 */
#ifndef FRESHET_HTTP_DOC_H
#define FRESHET_HTTP_DOC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* One item of recent.json, serialized once so that requests never touch
 * jansson. */
struct http_recent_item {
  char *source; /* source.name, or NULL */
  char *json;   /* the item, compact */
  size_t len;
};

#define HTTP_RECENT_CACHE 8 /* filtered variants kept per recent.json */

/* A filtered recent.json kept for the next request that asks the same. */
struct http_recent_variant {
  char *source; /* NULL: any */
  size_t limit;
  struct http_doc *doc;
};

/* recent.json split for ?limit and ?source. */
struct http_recent {
  char *head; /* the root object without "items", compact: {...} */
  size_t headlen;
  struct http_recent_item *items;
  size_t n;
  pthread_mutex_t lock; /* guards cache and next */
  struct http_recent_variant cache[HTTP_RECENT_CACHE];
  unsigned next; /* the entry replaced next */
};

/* An immutable snapshot of one document. */
struct http_doc {
  atomic_long refs;
  char *ctype;
  char *body; /* never NULL; NUL-terminated */
  size_t len;
  char *gz; /* gzip copy, NULL when not smaller */
  size_t gzlen;
  char etag[24];    /* "<16 hex>" with the quotes */
  char etag_gz[28]; /* "<16 hex>-gz", the gzip copy's */
  time_t mtime;
  char lastmod[32];  /* mtime as an IMF-fixdate */
  const char *cache; /* Cache-Control; a static string */
  bool cors;
  struct http_recent *recent; /* see http_recent_parse; may be NULL */
};

/* Makes a snapshot of len bytes (copied) with one reference; a textual
 * ctype without a charset gets "; charset=utf-8". cache must be a static
 * string. Returns NULL on out of memory. */
struct http_doc *http_doc_new(const char *ctype, const char *body, size_t len,
                              time_t mtime, const char *cache, bool cors);

/* Reads the regular file path (at most max bytes) into a snapshot dated by
 * its mtime. Returns NULL, logged, when it is missing or unusable. */
struct http_doc *http_doc_load(const char *path, const char *ctype,
                               const char *cache, bool cors, size_t max);

/* Takes a reference; returns d (NULL is fine). */
struct http_doc *http_doc_ref(struct http_doc *d);

/* Drops a reference, freeing d with the last; NULL is fine. Any thread. */
void http_doc_unref(struct http_doc *d);

/* Indexes a recent.json body. Returns NULL (logged) when it is not an
 * object with an "items" array, or on out of memory. */
struct http_recent *http_recent_parse(const char *body, size_t len);

/* Frees r; NULL is fine. */
void http_recent_free(struct http_recent *r);

/* Returns recent.json d (d->recent set) cut to the first limit items
 * whose source.name is source (NULL: any), as a snapshot of its own with
 * the same Last-Modified, a reference for the caller. Repeated questions
 * are answered from a small cache. Thread-safe. NULL on out of memory. */
struct http_doc *http_recent_select(struct http_doc *d, const char *source,
                                    size_t limit);

/* Gzips len bytes. Returns a malloc'd copy and *outlen, or NULL when that
 * fails or would not be smaller. */
char *http_gzip(const char *in, size_t len, size_t *outlen);

#endif
