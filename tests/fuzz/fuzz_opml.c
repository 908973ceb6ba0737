/*
 * fuzz_opml.c: libFuzzer target for opml_read and opml_write.
 *
 * Any input must be refused with -EINVAL and a "file:line: reason", or
 * give feeds with valid, distinct names; and then opml_write must give a
 * document that opml_read reads back to the same feeds: names, URLs,
 * titles, tags, intervals, enabled. abort() marks anything else.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "opml.h"

/* Longer inputs only make each run slower. */
#define FUZZ_MAX_INPUT (256 * 1024)

static bool same_str(const char *a, const char *b)
{
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static const struct config_feed *find(const struct config_feed *f, size_t n,
                                      const char *name)
{
  for(size_t i = 0; i < n; i++)
    if(strcmp(f[i].name, name) == 0)
      return &f[i];
  return NULL;
}

static void check_feeds(const struct config_feed *f, size_t n)
{
  for(size_t i = 0; i < n; i++) {
    if(!config_valid_name(f[i].name) || !f[i].url || !f[i].url[0] ||
       !f[i].file || f[i].line < 1 || find(f, i, f[i].name))
      abort();
    for(size_t t = 0; t < f[i].ntags; t++)
      if(!f[i].tags[t][0] || strchr(f[i].tags[t], ','))
        abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct config_feed *a = NULL, *b = NULL;
  size_t na = 0, nb = 0;
  char err[512];
  char *doc;
  int rc;

  if(size > FUZZ_MAX_INPUT)
    return 0;
  rc = opml_read((const char *)data, size, "fuzz.opml", &a, &na, err,
                 sizeof(err));
  if(rc == -EINVAL) {
    if(a || na || strncmp(err, "fuzz.opml:", 10) != 0)
      abort();
    return 0;
  }
  if(rc != 0)
    abort();
  check_feeds(a, na);

  doc = opml_write(a, na, "fuzz");
  if(!doc)
    abort();
  rc = opml_read(doc, strlen(doc), "again.opml", &b, &nb, err, sizeof(err));
  if(rc != 0 || nb != na)
    abort();
  check_feeds(b, nb);
  for(size_t i = 0; i < na; i++) {
    const struct config_feed *x = &a[i];
    const struct config_feed *y = find(b, nb, x->name);

    if(!y || !same_str(x->url, y->url) || !same_str(x->title, y->title) ||
       x->interval != y->interval || x->enabled != y->enabled ||
       x->ntags != y->ntags)
      abort();
    for(size_t t = 0; t < x->ntags; t++)
      if(strcmp(x->tags[t], y->tags[t]) != 0)
        abort();
  }
  free(doc);
  opml_feeds_free(a, na);
  opml_feeds_free(b, nb);
  return 0;
}
