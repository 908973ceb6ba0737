/*
 * feed_json.c: the `freshet parse` document. Key order is the order of the
 * json_object_set_new calls below (jansson keeps insertion order).
 */
#include "feed_json.h"

#include "date.h"
#include "feed.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

/* The parser only stores valid UTF-8; anything else would be a bug, and
 * shows as null rather than as a missing key. */
static json_t *str_or_null(const char *s)
{
  json_t *j = s ? json_string(s) : NULL;

  return j ? j : json_null();
}

static json_t *date_or_null(int64_t t)
{
  char buf[DATE_RFC3339_SIZE];

  if(t == FEED_NO_DATE || date_format_rfc3339(t, buf) != 0)
    return json_null();
  return json_string(buf);
}

static json_t *seconds_or_null(int64_t s)
{
  return s > 0 ? json_integer(s) : json_null();
}

static json_t *feed_object(const struct feed *f)
{
  json_t *o = json_object();

  json_object_set_new(o, "format", json_string(feed_format_name(f->format)));
  json_object_set_new(o, "title", str_or_null(f->title));
  json_object_set_new(o, "link", str_or_null(f->link));
  json_object_set_new(o, "subtitle", str_or_null(f->subtitle));
  json_object_set_new(o, "id", str_or_null(f->id));
  json_object_set_new(o, "updated", date_or_null(f->updated));
  json_object_set_new(o, "language", str_or_null(f->language));
  json_object_set_new(o, "author", str_or_null(f->author));
  json_object_set_new(o, "ttl", seconds_or_null(f->ttl));
  json_object_set_new(o, "update_period", seconds_or_null(f->update_period));
  return o;
}

static json_t *entry_object(const struct feed_entry *e)
{
  json_t *o = json_object();
  json_t *cats = json_array();
  json_t *encs = json_array();

  json_object_set_new(o, "id", str_or_null(e->id));
  json_object_set_new(o, "title", str_or_null(e->title));
  json_object_set_new(o, "link", str_or_null(e->link));
  json_object_set_new(o, "published", date_or_null(e->published));
  json_object_set_new(o, "updated", date_or_null(e->updated));
  json_object_set_new(o, "author", str_or_null(e->author));
  json_object_set_new(o, "summary", str_or_null(e->summary));
  json_object_set_new(o, "content", str_or_null(e->content));
  json_object_set_new(o, "image", str_or_null(e->image));
  for(size_t i = 0; i < e->ncategories; i++)
    json_array_append_new(cats, json_string(e->categories[i]));
  json_object_set_new(o, "categories", cats);
  for(size_t i = 0; i < e->nenclosures; i++) {
    const struct feed_enclosure *en = &e->enclosures[i];
    json_t *eo = json_object();

    json_object_set_new(eo, "url", str_or_null(en->url));
    json_object_set_new(eo, "type", str_or_null(en->type));
    json_object_set_new(
        eo, "length", en->length >= 0 ? json_integer(en->length) : json_null());
    json_array_append_new(encs, eo);
  }
  json_object_set_new(o, "enclosures", encs);
  return o;
}

char *feed_json_dump(const struct feed *f)
{
  json_t *root = json_object();
  json_t *entries = json_array();
  json_t *warnings = json_array();
  char *out;
  char *text;

  json_object_set_new(root, "feed", feed_object(f));
  for(size_t i = 0; i < f->nentries; i++)
    json_array_append_new(entries, entry_object(&f->entries[i]));
  json_object_set_new(root, "entries", entries);
  for(size_t i = 0; i < f->nwarnings; i++)
    json_array_append_new(warnings, json_string(f->warnings[i]));
  if(f->warnings_dropped) {
    char more[64];

    snprintf(more, sizeof(more), "... and %zu more", f->warnings_dropped);
    json_array_append_new(warnings, json_string(more));
  }
  json_object_set_new(root, "warnings", warnings);
  text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(root);
  if(!text)
    return NULL;
  /* jansson allocates with malloc by default; append the final newline. */
  out = NULL;
  if(asprintf(&out, "%s\n", text) < 0)
    out = NULL;
  free(text);
  return out;
}
