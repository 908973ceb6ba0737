/*
 * render_doc.h: one published document held in memory: immutable bytes
 * with what an HTTP server needs to serve them (type, modification time,
 * ETag), shared by reference count so that a reader on another thread
 * keeps its copy while the publisher swaps in a new one.
 */
#ifndef FRESHET_RENDER_DOC_H
#define FRESHET_RENDER_DOC_H

#include <stddef.h>
#include <stdint.h>

struct render_doc {
  const char *name;         /* "feed.atom", static */
  const char *content_type; /* with charset, static */
  char *data;               /* NUL-terminated; never changes */
  size_t len;
  int64_t modified; /* when these bytes were first rendered, UTC seconds */
  char etag[19];    /* "\"" + 16 hex digits of the FNV-1a hash + "\"" */
  unsigned refs;    /* atomic */
};

/* Returns a document holding data (taken over: malloc'd, len bytes plus a
 * NUL) with one reference, or NULL on out of memory (data is then
 * freed). */
struct render_doc *render_doc_new(const char *name, const char *content_type,
                                  char *data, size_t len, int64_t modified);

/* Takes one more reference; returns doc. NULL is fine. */
struct render_doc *render_doc_ref(struct render_doc *doc);

/* Drops one reference, freeing the document with the last; NULL is fine.
 * Safe from any thread. */
void render_doc_unref(struct render_doc *doc);

#endif
