/*
 * render_rss.c: feed.rss, RSS 2.0 with the atom (self link), dc (creator)
 * and content (full HTML) namespaces. Each item: title, link, guid (the
 * same id as in feed.atom; isPermaLink="false" unless it is an http(s)
 * URL), pubDate (the effective date), dc:creator (the author, else the
 * source feed's title), categories, enclosures (length 0 and type
 * application/octet-stream when unknown: RSS requires both), description
 * (the summary, else the content) and content:encoded (the content), and
 * <source url> naming the origin feed.
 */
#include "render_rss.h"

#include "render_model.h"
#include "render_xml.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#define ATOM_NS "http://www.w3.org/2005/Atom"
#define DC_NS "http://purl.org/dc/elements/1.1/"
#define CONTENT_NS "http://purl.org/rss/1.0/modules/content/"

int render_rss_date(int64_t t, char *buf, size_t size)
{
  static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                  "Thu", "Fri", "Sat"};
  static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t tt = (time_t)t;
  struct tm tm;

  if(size > 0)
    buf[0] = '\0';
  if((int64_t)tt != t || gmtime_r(&tt, &tm) == NULL || tm.tm_year < -1899 ||
     tm.tm_year > 9999 - 1900)
    return -EINVAL;
  snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
           tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
           tm.tm_min, tm.tm_sec);
  return 0;
}

static void date_element(struct render_xml *x, const char *name, int64_t t)
{
  char buf[40];

  if(render_rss_date(t, buf, sizeof(buf)) == 0)
    render_xml_element(x, name, buf);
}

static bool is_http(const char *s)
{
  return strncasecmp(s, "http://", 7) == 0 ||
         strncasecmp(s, "https://", 8) == 0;
}

static void item(struct render_xml *x, const struct render_item *it)
{
  const char *html = render_item_html(it);
  char length[24];

  render_xml_open(x, "item");
  if(*it->title || html == NULL)
    render_xml_element(x, "title", it->title);
  render_xml_element(x, "link", it->link);
  render_xml_open(x, "guid");
  if(!is_http(it->id))
    render_xml_attr(x, "isPermaLink", "false");
  render_xml_text(x, it->id);
  render_xml_close(x);
  date_element(x, "pubDate", it->published);
  render_xml_element(x, "dc:creator",
                     it->author ? it->author : it->source_title);
  for(size_t i = 0; i < it->ncategories; i++)
    render_xml_element(x, "category", it->categories[i]);
  for(size_t i = 0; i < it->nenclosures; i++) {
    const struct render_enclosure *e = &it->enclosures[i];

    snprintf(length, sizeof(length), "%" PRId64,
             e->length >= 0 ? e->length : 0);
    render_xml_open(x, "enclosure");
    render_xml_attr(x, "url", e->url);
    render_xml_attr(x, "length", length);
    render_xml_attr(x, "type", e->type ? e->type : "application/octet-stream");
    render_xml_close(x);
  }
  if(html)
    render_xml_element(x, "description", it->summary ? it->summary : html);
  render_xml_element(x, "content:encoded", it->content);
  if(it->source_url) {
    render_xml_open(x, "source");
    render_xml_attr(x, "url", it->source_url);
    render_xml_text(x, it->source_title);
    render_xml_close(x);
  }
  render_xml_close(x);
}

int render_rss(const struct render_channel *ch, const struct render_item *items,
               size_t n, char **out, size_t *len)
{
  struct render_xml x;
  char *self = render_model_url(ch, "feed.rss");

  render_xml_begin(&x);
  if(self == NULL && x.err == 0)
    x.err = -ENOMEM;
  render_xml_open(&x, "rss");
  render_xml_attr(&x, "version", "2.0");
  render_xml_attr(&x, "xmlns:atom", ATOM_NS);
  render_xml_attr(&x, "xmlns:dc", DC_NS);
  render_xml_attr(&x, "xmlns:content", CONTENT_NS);
  render_xml_open(&x, "channel");
  render_xml_element(&x, "title", ch->title);
  render_xml_element(&x, "link", ch->link);
  render_xml_element(&x, "description", ch->title);
  render_xml_open(&x, "atom:link");
  render_xml_attr(&x, "href", self);
  render_xml_attr(&x, "rel", "self");
  render_xml_attr(&x, "type", "application/rss+xml");
  render_xml_close(&x);
  date_element(&x, "lastBuildDate",
               render_items_updated(items, n, ch->generated));
  render_xml_element(&x, "generator",
                     "freshet " FRESHET_VERSION " (" FRESHET_URL ")");
  render_xml_element(&x, "docs", "https://www.rssboard.org/rss-specification");
  for(size_t i = 0; i < n; i++)
    item(&x, &items[i]);
  render_xml_close(&x);
  render_xml_close(&x);
  free(self);
  return render_xml_end(&x, out, len);
}
