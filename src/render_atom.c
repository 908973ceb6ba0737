/*
 * render_atom.c: feed.atom. Valid against RFC 4287's schema and its two
 * extra rules: every entry has an author (its own, else its source
 * feed's title), and every entry without an alternate link has content.
 * Content and summary are the stored sanitized HTML, as type="html".
 * atom:source names the origin feed: title, site, feed URL and, as its
 * id, the feed URL (the store keeps no feed-level id).
 */
#include "render_atom.h"

#include "date.h"
#include "render_model.h"
#include "render_xml.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define ATOM_NS "http://www.w3.org/2005/Atom"

static void date_element(struct render_xml *x, const char *name, int64_t t)
{
  char buf[DATE_RFC3339_SIZE];

  /* The model keeps dates within what RFC 3339 can spell. */
  if(date_format_rfc3339(t, buf) == 0)
    render_xml_element(x, name, buf);
}

static void link_element(struct render_xml *x, const char *rel,
                         const char *type, const char *href)
{
  if(href == NULL)
    return;
  render_xml_open(x, "link");
  render_xml_attr(x, "rel", rel);
  render_xml_attr(x, "type", type);
  render_xml_attr(x, "href", href);
  render_xml_close(x);
}

static void text_element(struct render_xml *x, const char *name,
                         const char *type, const char *text)
{
  render_xml_open(x, name);
  render_xml_attr(x, "type", type);
  render_xml_text(x, text);
  render_xml_close(x);
}

static void person(struct render_xml *x, const char *name)
{
  render_xml_open(x, "author");
  render_xml_element(x, "name", name);
  render_xml_close(x);
}

static void source(struct render_xml *x, const struct render_item *it)
{
  render_xml_open(x, "source");
  if(it->source_url)
    render_xml_element(x, "id", it->source_url);
  else
    render_xml_element(x, "id", it->source_link);
  text_element(x, "title", "text", it->source_title);
  link_element(x, "alternate", "text/html", it->source_link);
  link_element(x, "self", NULL, it->source_url);
  render_xml_close(x);
}

static void entry(struct render_xml *x, const struct render_item *it)
{
  char length[24];

  render_xml_open(x, "entry");
  render_xml_element(x, "id", it->id);
  text_element(x, "title", "text", it->title);
  link_element(x, "alternate", NULL, it->link);
  date_element(x, "published", it->published);
  date_element(x, "updated", it->updated);
  person(x, it->author ? it->author : it->source_title);
  for(size_t i = 0; i < it->ncategories; i++) {
    render_xml_open(x, "category");
    render_xml_attr(x, "term", it->categories[i]);
    render_xml_close(x);
  }
  for(size_t i = 0; i < it->nenclosures; i++) {
    const struct render_enclosure *e = &it->enclosures[i];

    render_xml_open(x, "link");
    render_xml_attr(x, "rel", "enclosure");
    render_xml_attr(x, "type", e->type);
    if(e->length >= 0) {
      snprintf(length, sizeof(length), "%" PRId64, e->length);
      render_xml_attr(x, "length", length);
    }
    render_xml_attr(x, "href", e->url);
    render_xml_close(x);
  }
  /* RFC 4287 4.1.1: without an alternate link, content is required; the
   * summary then serves as the content. */
  if(it->content || it->link) {
    if(it->summary)
      text_element(x, "summary", "html", it->summary);
    if(it->content)
      text_element(x, "content", "html", it->content);
  } else {
    text_element(x, "content", "html", it->summary ? it->summary : "");
  }
  source(x, it);
  render_xml_close(x);
}

int render_atom(const struct render_channel *ch,
                const struct render_item *items, size_t n, char **out,
                size_t *len)
{
  struct render_xml x;
  char *self = render_model_url(ch, "feed.atom");

  render_xml_begin(&x);
  if(self == NULL && x.err == 0)
    x.err = -ENOMEM;
  render_xml_open(&x, "feed");
  render_xml_attr(&x, "xmlns", ATOM_NS);
  render_xml_element(&x, "id", ch->id);
  text_element(&x, "title", "text", ch->title);
  link_element(&x, "alternate", "text/html", ch->link);
  link_element(&x, "self", "application/atom+xml", self);
  date_element(&x, "updated", render_items_updated(items, n, ch->generated));
  if(ch->author)
    person(&x, ch->author);
  render_xml_open(&x, "generator");
  render_xml_attr(&x, "uri", FRESHET_URL);
  render_xml_attr(&x, "version", FRESHET_VERSION);
  render_xml_text(&x, "freshet");
  render_xml_close(&x);
  for(size_t i = 0; i < n; i++)
    entry(&x, &items[i]);
  render_xml_close(&x);
  free(self);
  return render_xml_end(&x, out, len);
}
