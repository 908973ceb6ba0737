/*
 * discover.c: feed autodiscovery on libxml2's HTML parser (no network, no
 * DTD, errors silenced: pages are rarely valid).
 */
#include "discover.h"

#include "url.h"

#include <libxml/HTMLparser.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static const char *const feed_types[] = {
    "application/rss+xml", "application/atom+xml", "application/feed+json",
    "application/rdf+xml", "application/json",
};

static bool has_token(const char *list, const char *token)
{
  size_t n = strlen(token);

  for(const char *p = list; *p;) {
    size_t len;

    while(*p == ' ' || *p == '\t' || *p == '\n')
      p++;
    len = strcspn(p, " \t\n");
    if(len == n && strncasecmp(p, token, n) == 0)
      return true;
    p += len;
  }
  return false;
}

/* Lower is better: the order of feed_types; -1 when not a feed link. */
static int feed_rank(xmlNodePtr link)
{
  xmlChar *rel = xmlGetProp(link, BAD_CAST "rel");
  xmlChar *type = xmlGetProp(link, BAD_CAST "type");
  int rank = -1;

  if(rel && type && has_token((const char *)rel, "alternate")) {
    size_t tl = strcspn((const char *)type, "; ");

    for(size_t i = 0; i < sizeof(feed_types) / sizeof(feed_types[0]); i++)
      if(strlen(feed_types[i]) == tl &&
         strncasecmp((const char *)type, feed_types[i], tl) == 0) {
        rank = (int)i;
        break;
      }
  }
  xmlFree(rel);
  xmlFree(type);
  return rank;
}

static void walk(xmlNodePtr node, xmlNodePtr *best, int *best_rank)
{
  for(xmlNodePtr n = node; n; n = n->next) {
    if(n->type != XML_ELEMENT_NODE)
      continue;
    if(strcasecmp((const char *)n->name, "link") == 0 ||
       strcasecmp((const char *)n->name, "a") == 0) {
      int rank = feed_rank(n);

      if(rank >= 0 && (*best_rank < 0 || rank < *best_rank)) {
        *best = n;
        *best_rank = rank;
      }
    }
    walk(n->children, best, best_rank);
  }
}

char *discover_feed_link(const char *html, size_t len, const char *base)
{
  htmlDocPtr doc;
  xmlNodePtr best = NULL;
  int best_rank = -1;
  char *url = NULL;

  if(len > (size_t)INT32_MAX)
    return NULL;
  doc = htmlReadMemory(html, (int)len, base, "UTF-8",
                       HTML_PARSE_NONET | HTML_PARSE_NOERROR |
                           HTML_PARSE_NOWARNING | HTML_PARSE_RECOVER);
  if(!doc)
    return NULL;
  walk(xmlDocGetRootElement(doc), &best, &best_rank);
  if(best) {
    xmlChar *href = xmlGetProp(best, BAD_CAST "href");

    if(href) {
      url = url_resolve(base, (const char *)href);
      xmlFree(href);
    }
  }
  xmlFreeDoc(doc);
  return url;
}
