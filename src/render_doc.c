/*
 * render_doc.c: reference-counted published documents (GCC/Clang atomic
 * builtins: the publisher drops its reference while an HTTP thread may
 * still hold one).
 */
#include "render_doc.h"

#include "hash.h"

#include <stdlib.h>

struct render_doc *render_doc_new(const char *name, const char *content_type,
                                  char *data, size_t len, int64_t modified)
{
  struct render_doc *doc = calloc(1, sizeof(*doc));
  char hex[17];

  if(doc == NULL) {
    free(data);
    return NULL;
  }
  doc->name = name;
  doc->content_type = content_type;
  doc->data = data;
  doc->len = len;
  doc->modified = modified;
  hash_hex(hash_bytes(HASH_SEED, data, len), hex);
  doc->etag[0] = '"';
  for(int i = 0; i < 16; i++)
    doc->etag[i + 1] = hex[i];
  doc->etag[17] = '"';
  doc->etag[18] = '\0';
  doc->refs = 1;
  return doc;
}

struct render_doc *render_doc_ref(struct render_doc *doc)
{
  if(doc)
    __atomic_add_fetch(&doc->refs, 1, __ATOMIC_RELAXED);
  return doc;
}

void render_doc_unref(struct render_doc *doc)
{
  if(doc == NULL || __atomic_sub_fetch(&doc->refs, 1, __ATOMIC_ACQ_REL) > 0)
    return;
  free(doc->data);
  free(doc);
}
