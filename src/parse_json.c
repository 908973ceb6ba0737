/*
 * parse_json.c: JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1)
 * -> struct feed, through jansson. Fields are normalized exactly like the
 * XML ones (parse_field.c).
 */
#include "parse_json.h"

#include "feed.h"
#include "parse.h"
#include "parse_field.h"
#include "url.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSONFEED_PREFIX "https://jsonfeed.org/version/"

static const char *get_str(json_t *o, const char *key)
{
  json_t *v = json_object_get(o, key);

  return json_is_string(v) ? json_string_value(v) : NULL;
}

static char *text_of(json_t *o, const char *key)
{
  const char *s = get_str(o, key);

  return s ? field_text(s, strlen(s), false) : NULL;
}

static char *url_of(json_t *o, const char *key, const char *base)
{
  const char *s = get_str(o, key);
  char *abs = s ? url_resolve(base, s) : NULL;

  if(abs && url_is_absolute(abs) && !url_is_safe(abs, false)) {
    free(abs);
    return NULL;
  }
  return abs;
}

/* "authors": [{"name"}] in 1.1, "author": {"name"} in 1.0; names joined. */
static char *authors_of(json_t *o)
{
  json_t *list = json_object_get(o, "authors");
  json_t *one = json_object_get(o, "author");
  char *joined = NULL;
  size_t i;
  json_t *a;

  if(!json_is_array(list) || json_array_size(list) == 0) {
    if(!json_is_object(one))
      return NULL;
    return text_of(one, "name");
  }
  json_array_foreach(list, i, a)
  {
    char *name = json_is_object(a) ? text_of(a, "name") : NULL;
    char *next;

    if(!name)
      continue;
    if(!joined) {
      joined = name;
      continue;
    }
    if(asprintf(&next, "%s, %s", joined, name) < 0)
      next = NULL;
    free(joined);
    free(name);
    joined = next;
    if(!joined)
      return NULL;
  }
  return joined;
}

static int64_t date_of(struct feed *feed, json_t *o, const char *key)
{
  return field_date(feed, get_str(o, key));
}

static int read_item(struct feed *feed, json_t *item, const char *base)
{
  struct feed_entry *e;
  json_t *v;
  const char *s;
  char *img = NULL;
  size_t i;

  if(!json_is_object(item)) {
    feed_warn(feed, "item that is not an object ignored");
    return 0;
  }
  e = feed_add_entry(feed);
  if(!e)
    return -ENOMEM;
  v = json_object_get(item, "id");
  if(json_is_string(v))
    e->id = field_text(json_string_value(v), json_string_length(v), false);
  else if(json_is_integer(v) &&
          asprintf(&e->id, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0)
    e->id = NULL;
  e->link = url_of(item, "url", base);
  if(!e->link)
    e->link = url_of(item, "external_url", base);
  e->title = text_of(item, "title");
  s = get_str(item, "content_html");
  if(s)
    e->content = field_html(s, strlen(s), true, e->link ? e->link : base, &img);
  s = get_str(item, "content_text");
  if(s && !e->content)
    e->content = field_html(s, strlen(s), false, NULL, NULL);
  s = get_str(item, "summary");
  if(s)
    e->summary = field_html(s, strlen(s), false, NULL, NULL);
  e->published = date_of(feed, item, "date_published");
  e->updated = date_of(feed, item, "date_modified");
  e->author = authors_of(item);
  e->image = url_of(item, "image", base);
  if(!e->image)
    e->image = url_of(item, "banner_image", base);
  if(e->image && !url_is_safe(e->image, true)) {
    free(e->image);
    e->image = NULL;
  }
  if(!e->image) {
    e->image = img;
    img = NULL;
  }
  free(img);
  v = json_object_get(item, "tags");
  if(json_is_array(v)) {
    json_t *tag;

    json_array_foreach(v, i, tag)
    {
      char *t = json_is_string(tag) ? field_text(json_string_value(tag),
                                                 json_string_length(tag), false)
                                    : NULL;

      if(t && feed_entry_add_category(e, t) != 0) {
        free(t);
        return -ENOMEM;
      }
      free(t);
    }
  }
  v = json_object_get(item, "attachments");
  if(json_is_array(v)) {
    json_t *att;

    json_array_foreach(v, i, att)
    {
      json_t *size;
      char *type;

      if(!json_is_object(att))
        continue;
      size = json_object_get(att, "size_in_bytes");
      type =
          get_str(att, "mime_type") ? strdup(get_str(att, "mime_type")) : NULL;
      if(feed_entry_add_enclosure(e, url_of(att, "url", base), type,
                                  json_is_integer(size) &&
                                          json_integer_value(size) >= 0
                                      ? json_integer_value(size)
                                      : -1) != 0)
        return -ENOMEM;
    }
  }
  return 0;
}

int parse_json(const char *doc, size_t len, const char *url, struct feed *feed,
               char *err, size_t errlen)
{
  json_error_t jerr;
  json_t *root = json_loadb(doc, len, 0, &jerr);
  const char *version;
  const char *base = url;
  json_t *items;
  json_t *item;
  size_t i;
  int rc = 0;

  if(!root) {
    snprintf(err, errlen, "found broken JSON (line %d: %s), not a feed",
             jerr.line, jerr.text);
    return -EINVAL;
  }
  version = json_is_object(root) ? get_str(root, "version") : NULL;
  if(!version ||
     strncmp(version, JSONFEED_PREFIX, strlen(JSONFEED_PREFIX)) != 0) {
    snprintf(err, errlen,
             "found JSON that is not a JSON Feed (no "
             "\"version\": \"" JSONFEED_PREFIX "...\")");
    json_decref(root);
    return -EINVAL;
  }
  feed->format = strcmp(version + strlen(JSONFEED_PREFIX), "1") == 0
                     ? FEED_FORMAT_JSON10
                     : FEED_FORMAT_JSON11;
  feed->title = text_of(root, "title");
  feed->link = url_of(root, "home_page_url", base);
  feed->subtitle = text_of(root, "description");
  feed->id = url_of(root, "feed_url", base);
  feed->language = text_of(root, "language");
  feed->author = authors_of(root);
  items = json_object_get(root, "items");
  if(!json_is_array(items)) {
    feed_warn(feed, "JSON Feed without an \"items\" array");
    items = NULL;
  }
  json_array_foreach(items, i, item)
  {
    if(i >= PARSE_MAX_ENTRIES) {
      feed_warn(feed, "more than %d entries; the rest were ignored",
                PARSE_MAX_ENTRIES);
      break;
    }
    rc = read_item(feed, item, base);
    if(rc != 0)
      break;
  }
  json_decref(root);
  return rc;
}
