/*
 * render_jsonfeed.c: feed.json, JSON Feed 1.1. Items carry the same ids
 * and dates as feed.atom; content_html is the stored sanitized HTML (the
 * content, else the summary; "" when there is neither, since an item must
 * have content); summary is plain text, as the spec asks; the origin feed
 * is in the "_freshet" extension object:
 * "_freshet": {"source": {"title", "url", "feed_url", "name"}}.
 */
#include "render_jsonfeed.h"

#include "html.h"
#include "render_json.h"
#include "render_model.h"
#include "render_text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define JSONFEED_VERSION "https://jsonfeed.org/version/1.1"

static json_t *authors(const char *name, int *err)
{
  json_t *a = json_array();
  json_t *o = json_object();

  render_json_str(o, "name", name, err);
  render_json_append(a, o, err);
  return a;
}

/* The summary as the plain text JSON Feed wants. */
static void summary(json_t *o, const struct render_item *it, int *err)
{
  char *text, *clean;

  if(it->summary == NULL || *err)
    return;
  text = html_to_text(it->summary, strlen(it->summary));
  clean = render_text_clean(text);
  if(clean == NULL)
    *err = -ENOMEM;
  else if(*clean)
    render_json_str(o, "summary", clean, err);
  free(text);
  free(clean);
}

static json_t *item(const struct render_item *it, int *err)
{
  const char *html = render_item_html(it);
  json_t *o = json_object();
  json_t *x, *src;

  render_json_str(o, "id", it->id, err);
  if(it->link)
    render_json_str(o, "url", it->link, err);
  if(*it->title)
    render_json_str(o, "title", it->title, err);
  render_json_str(o, "content_html", html ? html : "", err);
  summary(o, it, err);
  if(it->image)
    render_json_str(o, "image", it->image, err);
  render_json_date(o, "date_published", it->published, err);
  render_json_date(o, "date_modified", it->updated, err);
  render_json_set(o, "authors",
                  authors(it->author ? it->author : it->source_title, err),
                  err);
  if(it->ncategories) {
    json_t *tags = json_array();

    for(size_t i = 0; i < it->ncategories; i++)
      render_json_append(tags, json_string(it->categories[i]), err);
    render_json_set(o, "tags", tags, err);
  }
  if(it->nenclosures) {
    json_t *list = json_array();

    for(size_t i = 0; i < it->nenclosures; i++) {
      const struct render_enclosure *e = &it->enclosures[i];
      json_t *a = json_object();

      render_json_str(a, "url", e->url, err);
      render_json_str(a, "mime_type",
                      e->type ? e->type : "application/octet-stream", err);
      if(e->length >= 0)
        render_json_set(a, "size_in_bytes", json_integer(e->length), err);
      render_json_append(list, a, err);
    }
    render_json_set(o, "attachments", list, err);
  }
  src = json_object();
  render_json_str(src, "title", it->source_title, err);
  render_json_str(src, "url", it->source_link, err);
  render_json_str(src, "feed_url", it->source_url, err);
  render_json_str(src, "name", it->source_name, err);
  x = json_object();
  render_json_set(x, "source", src, err);
  render_json_set(o, "_freshet", x, err);
  return o;
}

int render_jsonfeed(const struct render_channel *ch,
                    const struct render_item *items, size_t n, char **out,
                    size_t *len)
{
  json_t *root = json_object();
  json_t *list = json_array();
  char *self = render_model_url(ch, "feed.json");
  int err = self ? 0 : -ENOMEM;

  render_json_str(root, "version", JSONFEED_VERSION, &err);
  render_json_str(root, "title", ch->title, &err);
  render_json_str(root, "home_page_url", ch->link, &err);
  render_json_str(root, "feed_url", self, &err);
  if(ch->author)
    render_json_set(root, "authors", authors(ch->author, &err), &err);
  for(size_t i = 0; i < n; i++)
    render_json_append(list, item(&items[i], &err), &err);
  render_json_set(root, "items", list, &err);
  free(self);
  return render_json_end(root, err, out, len);
}
