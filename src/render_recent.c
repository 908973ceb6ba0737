/*
 * render_recent.c: recent.json:
 * {"title", "link", "generated",
 *  "items": [{"title", "url", "excerpt", "image", "source": {"title",
 *             "url", "name"}, "author", "published", "age_seconds", "ago"}]}
 * Missing values are null. source.name (the subscription's name, beyond
 * DESIGN.md's shape) is what the HTTP server's ?source=NAME matches. published
 * is the effective date; age_seconds and ago are counted from "generated"
 * (never negative). The excerpt is plain text from the content, else the
 * summary. An entry without a title (a status update) is titled with the start
 * of its text, so the widget never shows an empty link. The source's url is its
 * site, else its feed.
 */
#include "render_recent.h"

#include "ago.h"
#include "html.h"
#include "render_json.h"
#include "render_model.h"
#include "render_text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Characters of text that stand in for a missing title. */
#define TITLE_FROM_TEXT 80

/* A clean plain-text excerpt of html, or NULL when it has no text. */
static int make_excerpt(const char *html, size_t max, char **out)
{
  char *text, *clean;

  *out = NULL;
  if(html == NULL)
    return 0;
  text = html_excerpt(html, strlen(html), max);
  clean = render_text_clean(text);
  free(text);
  if(clean == NULL)
    return -ENOMEM;
  if(*clean == '\0')
    free(clean);
  else
    *out = clean;
  return 0;
}

static json_t *item(const struct render_channel *ch,
                    const struct render_item *it, size_t max, int *err)
{
  const char *html = render_item_html(it);
  int64_t age =
      ch->generated > it->published ? ch->generated - it->published : 0;
  json_t *o = json_object();
  json_t *src = json_object();
  char *text = NULL, *title = NULL;
  char ago[64];

  if(make_excerpt(html, max, &text) < 0 ||
     (*it->title == '\0' && make_excerpt(html, TITLE_FROM_TEXT, &title) < 0))
    *err = -ENOMEM;
  render_json_str(o, "title",
                  *it->title ? it->title
                  : title    ? title
                             : it->source_title,
                  err);
  render_json_str(o, "url", it->link, err);
  render_json_str(o, "excerpt", text, err);
  render_json_str(o, "image", it->image, err);
  render_json_str(src, "title", it->source_title, err);
  render_json_str(src, "url",
                  it->source_link ? it->source_link : it->source_url, err);
  render_json_str(src, "name", it->source_name, err);
  render_json_set(o, "source", src, err);
  render_json_str(o, "author", it->author, err);
  render_json_date(o, "published", it->published, err);
  render_json_set(o, "age_seconds", json_integer(age), err);
  render_json_str(o, "ago",
                  ago_format(it->published, ch->generated, ago, sizeof(ago)),
                  err);
  free(text);
  free(title);
  return o;
}

int render_recent(const struct render_channel *ch,
                  const struct render_item *items, size_t n, size_t excerpt,
                  char **out, size_t *len)
{
  json_t *root = json_object();
  json_t *list = json_array();
  int err = 0;

  render_json_str(root, "title", ch->title, &err);
  render_json_str(root, "link", ch->link, &err);
  render_json_date(root, "generated", ch->generated, &err);
  for(size_t i = 0; i < n; i++)
    render_json_append(list, item(ch, &items[i], excerpt, &err), &err);
  render_json_set(root, "items", list, &err);
  return render_json_end(root, err, out, len);
}
