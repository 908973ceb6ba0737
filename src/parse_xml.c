/*
 * parse_xml.c: RSS 0.90/0.91/0.92/2.0, RSS 1.0 and Atom 0.3/1.0 -> struct
 * feed, on the events of xml_scan.c (no tree is built, so memory stays
 * proportional to one entry, not to the document).
 *
 * The input is already clean UTF-8 with its DTD removed (charset.c,
 * xmlfix.c). The scanner declares no entities and loads nothing, recovers
 * from broken markup, and what it complains about becomes a warning. Text
 * is asked for only while a field is being collected. Elements are
 * recognised by namespace URI, or by their usual prefix when a feed forgot
 * to declare it.
 */
#include "parse_xml.h"

#include "buf.h"
#include "feed.h"
#include "html.h"
#include "parse.h"
#include "parse_field.h"
#include "url.h"
#include "xml_scan.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum ns {
  NS_NONE,
  NS_OTHER,
  NS_RSS10,
  NS_RSS090,
  NS_ATOM10,
  NS_ATOM03,
  NS_CONTENT,
  NS_DC,
  NS_DCTERMS,
  NS_MEDIA,
  NS_SY,
  NS_ITUNES,
  NS_RDF,
  NS_XHTML,
  NS_XML,
};

static const struct {
  const char *uri;
  const char *prefix;
  enum ns ns;
} namespaces[] = {
    {"http://purl.org/rss/1.0/", NULL, NS_RSS10},
    {"http://my.netscape.com/rdf/simple/0.9/", NULL, NS_RSS090},
    {"http://www.w3.org/2005/Atom", "atom", NS_ATOM10},
    {"http://purl.org/atom/ns#", NULL, NS_ATOM03},
    {"http://purl.org/rss/1.0/modules/content/", "content", NS_CONTENT},
    {"http://purl.org/dc/elements/1.1/", "dc", NS_DC},
    {"http://purl.org/dc/terms/", "dcterms", NS_DCTERMS},
    {"http://search.yahoo.com/mrss/", "media", NS_MEDIA},
    {"http://search.yahoo.com/mrss", NULL, NS_MEDIA},
    {"http://purl.org/rss/1.0/modules/syndication/", "sy", NS_SY},
    {"http://www.itunes.com/dtds/podcast-1.0.dtd", "itunes", NS_ITUNES},
    {"http://www.w3.org/1999/02/22-rdf-syntax-ns#", "rdf", NS_RDF},
    {"http://www.w3.org/1999/xhtml", "xhtml", NS_XHTML},
    {"http://www.w3.org/XML/1998/namespace", "xml", NS_XML},
};

/* What the text of the element being collected becomes. */
enum field {
  F_NONE,
  F_TITLE,
  F_LINK,
  F_SUBTITLE,
  F_ID,
  F_GUID,
  F_PUBLISHED,
  F_UPDATED,
  F_LANGUAGE,
  F_AUTHOR,
  F_SUMMARY,
  F_CONTENT,
  F_MEDIA_DESCRIPTION,
  F_CATEGORY,
  F_TTL,
  F_SY_PERIOD,
  F_SY_FREQUENCY,
  F_PERSON_NAME,
  F_PERSON_EMAIL,
};

/* How that text is written. */
enum kind {
  K_TEXT,  /* plain text */
  K_HTML,  /* escaped HTML */
  K_XHTML, /* inline XHTML elements */
  K_GUESS, /* RSS: HTML when it looks like it */
  K_SKIP,  /* a content type freshet does not read (base64, media) */
};

#define IMAGE_FROM_CONTENT 1
#define IMAGE_FROM_ENCLOSURE 2
#define IMAGE_FROM_MEDIA 3
#define IMAGE_FROM_THUMBNAIL 4

struct reader {
  struct feed *feed;
  const char *doc_url;
  bool stopped;

  int depth; /* of the current element; the root is 1 */
  bool root_seen;
  enum ns root_ns;
  char root_name[32];

  /* xml:base in scope at each depth (base[0] is the document URL). */
  char *base[PARSE_MAX_DEPTH + 2];
  bool base_owned[PARSE_MAX_DEPTH + 2];
  bool base_explicit[PARSE_MAX_DEPTH + 2];

  int channel_depth; /* open <channel> or Atom <feed>, else 0 */
  int entry_depth;   /* open <item> or <entry>, else 0 */
  int skip_depth;    /* open subtree that is ignored, else 0 */
  int person_depth;  /* open Atom <author>, else 0 */
  struct feed_entry *entry;

  /* The element whose text is being collected. */
  int cap_depth;
  enum field cap_field;
  enum kind cap_kind;
  bool cap_permalink;   /* <guid isPermaLink> */
  int cap_unwrap_depth; /* the XHTML <div> wrapper, not part of the value */
  struct buf text;

  /* Per entry (or per feed while no entry is open). */
  struct buf person_name;
  struct buf person_email;
  struct buf authors;
  int link_rank;
  int image_rank;
  char *guid_link;
  char *about;
  char *media_description;

  int64_t sy_period;
  int64_t sy_frequency;
  int feed_link_rank;

  /* Whether the scanner should hand over text now (xml_scan.h). */
  bool text_wanted;
};

/* The namespace of a name with the binding b (NULL when there is none)
 * and the prefix (NULL when unprefixed). */
static enum ns ns_of(struct xml_ns *b, const char *prefix)
{
  enum ns ns = NS_OTHER;

  if(!b) {
    if(!prefix)
      return NS_NONE;
    /* An undeclared prefix: trust the conventional ones. */
    for(size_t i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++)
      if(namespaces[i].prefix && strcmp(prefix, namespaces[i].prefix) == 0)
        return namespaces[i].ns;
    return NS_OTHER;
  }
  /* The binding remembers what its URI was found to be. */
  if(b->user >= 0)
    return (enum ns)b->user;
  for(size_t i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++)
    if(strcmp(b->uri, namespaces[i].uri) == 0) {
      ns = namespaces[i].ns;
      break;
    }
  b->user = (int)ns;
  return ns;
}

/* strcmp(name, lit) == 0, but most element names differ from lit in the
 * first byte and need no call. */
static inline bool name_is(const char *name, const char *lit)
{
  return name[0] == lit[0] && strcmp(name, lit) == 0;
}

static bool is_rss(const struct reader *r)
{
  return r->feed->format >= FEED_FORMAT_RSS090 &&
         r->feed->format <= FEED_FORMAT_RSS10;
}

static bool is_atom(const struct reader *r)
{
  return r->feed->format == FEED_FORMAT_ATOM03 ||
         r->feed->format == FEED_FORMAT_ATOM10;
}

/* The namespace of the format's own elements. */
static bool is_core(const struct reader *r, enum ns ns)
{
  if(is_rss(r))
    return ns == NS_NONE || ns == NS_RSS10 || ns == NS_RSS090;
  if(r->feed->format == FEED_FORMAT_ATOM03)
    return ns == NS_ATOM03 || (ns == NS_NONE && r->root_ns == NS_NONE);
  return ns == NS_ATOM10 || (ns == NS_NONE && r->root_ns == NS_NONE);
}

static bool is_entry_element(struct reader *r, const char *name, enum ns ns)
{
  return is_core(r, ns) && ((is_rss(r) && name_is(name, "item")) ||
                            (is_atom(r) && name_is(name, "entry")));
}

static void out_of_memory(struct reader *r)
{
  r->stopped = true;
}

/* Returns attribute localname (in namespace ns, or any when ns is -1) of
 * el, or NULL. */
static const struct xml_attr *find_attr(const struct xml_element *el,
                                        const char *name, int ns)
{
  for(size_t i = 0; i < el->nattrs; i++) {
    const struct xml_attr *a = &el->attrs[i];

    if(strcmp(a->local, name) != 0)
      continue;
    if(ns >= 0 && ns_of(a->ns, a->prefix) != (enum ns)ns)
      continue;
    return a;
  }
  return NULL;
}

/* Copies attribute localname (in namespace ns, or any when ns is -1) of
 * el into a malloc'd string, or returns NULL. */
static char *attr(struct reader *r, const struct xml_element *el,
                  const char *name, int ns)
{
  const struct xml_attr *a = find_attr(el, name, ns);

  (void)r;
  return a ? strndup(a->value, a->value_len) : NULL;
}

/* The value of an unprefixed attribute, or NULL. */
static const char *attr_value(const struct xml_element *el, const char *name)
{
  const struct xml_attr *a = find_attr(el, name, NS_NONE);

  return a ? a->value : NULL;
}

static bool attr_is(const struct xml_element *el, const char *name,
                    const char *value)
{
  const char *v = attr_value(el, name);

  return v && strcasecmp(v, value) == 0;
}

/* The base for relative URLs in the current element: an explicit xml:base,
 * else for RSS the channel link, else the document URL. */
static const char *current_base(const struct reader *r)
{
  int d = r->depth < PARSE_MAX_DEPTH + 1 ? r->depth : PARSE_MAX_DEPTH + 1;

  if(!r->base_explicit[d] && is_rss(r) && r->feed->link)
    return r->feed->link;
  if(!r->base[d] && r->feed->link)
    return r->feed->link;
  return r->base[d];
}

static void push_base(struct reader *r, const struct xml_element *el)
{
  int d = r->depth;
  char *xb = attr(r, el, "base", NS_XML);

  r->base[d] = r->base[d - 1];
  r->base_owned[d] = false;
  r->base_explicit[d] = r->base_explicit[d - 1];
  if(!xb)
    return;
  r->base[d] = url_resolve(r->base[d - 1], xb);
  r->base_owned[d] = r->base[d] != NULL;
  r->base_explicit[d] = r->base[d] != NULL;
  if(!r->base[d])
    r->base[d] = r->base[d - 1];
  free(xb);
}

static void pop_base(struct reader *r)
{
  int d = r->depth;

  if(r->base_owned[d])
    free(r->base[d]);
  r->base[d] = NULL;
  r->base_owned[d] = false;
  r->base_explicit[d] = false;
}

static bool blank(const char *s, size_t len)
{
  for(size_t i = 0; i < len; i++)
    if(s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
      return false;
  return true;
}

/* Resolves a link and keeps it only when it is safe to publish. */
static char *safe_link(const char *base, const char *ref)
{
  char *abs = url_resolve(base, ref);

  if(abs && url_is_absolute(abs) && !url_is_safe(abs, false)) {
    free(abs);
    return NULL;
  }
  return abs;
}

static bool is_http_url(const char *s)
{
  return strncasecmp(s, "http://", 7) == 0 ||
         strncasecmp(s, "https://", 8) == 0;
}

static void start_capture(struct reader *r, enum field field, enum kind kind)
{
  r->cap_depth = r->depth;
  r->cap_field = field;
  r->cap_kind = kind;
  r->cap_unwrap_depth = 0;
  buf_reset(&r->text);
}

/* Atom text constructs: type="text" | "html" | "xhtml" (1.0), or a MIME
 * type with mode="escaped" | "xml" | "base64" (0.3). */
static enum kind atom_kind(const struct xml_element *el)
{
  const char *type = attr_value(el, "type");
  const char *mode = attr_value(el, "mode");
  enum kind kind = K_TEXT;

  if(mode && strcasecmp(mode, "base64") == 0)
    kind = K_SKIP;
  else if(!type || strcasecmp(type, "text") == 0 ||
          strcasecmp(type, "text/plain") == 0)
    kind = K_TEXT;
  else if(strcasecmp(type, "html") == 0 || strcasecmp(type, "text/html") == 0)
    kind = mode && strcasecmp(mode, "xml") == 0 ? K_XHTML : K_HTML;
  else if(strcasecmp(type, "xhtml") == 0 ||
          strcasecmp(type, "application/xhtml+xml") == 0)
    kind = mode && strcasecmp(mode, "escaped") == 0 ? K_HTML : K_XHTML;
  else if(strncasecmp(type, "text/", 5) == 0)
    kind = K_TEXT;
  else
    kind = K_SKIP;
  return kind;
}

/* The kind of a title or content element: what an Atom type says, a
 * guess for RSS. */
static enum kind text_kind(const struct reader *r, const struct xml_element *el)
{
  return is_atom(r) ? atom_kind(el) : K_GUESS;
}

static void offer_image(struct reader *r, char *url, int rank)
{
  struct feed_entry *e = r->entry;
  char *abs;

  if(!e || !url || rank <= r->image_rank) {
    free(url);
    return;
  }
  abs = url_resolve(current_base(r), url);
  free(url);
  if(!abs || !url_is_absolute(abs) || !url_is_safe(abs, true)) {
    free(abs);
    return;
  }
  free(e->image);
  e->image = abs;
  r->image_rank = rank;
}

static void add_enclosure(struct reader *r, char *url, char *type, char *length)
{
  char *abs = url ? url_resolve(current_base(r), url) : NULL;
  int64_t len = -1;

  free(url);
  if(length) {
    char *end;
    long long v = strtoll(length, &end, 10);

    if(end != length && *end == '\0' && v >= 0)
      len = v;
    free(length);
  }
  if(!abs || !url_is_safe(abs, false)) {
    free(abs);
    free(type);
    return;
  }
  if(type && strncasecmp(type, "image/", 6) == 0)
    offer_image(r, strdup(abs), IMAGE_FROM_ENCLOSURE);
  if(feed_entry_add_enclosure(r->entry, abs, type, len) != 0)
    out_of_memory(r);
}

/* <link rel href type> of Atom, or atom:link inside RSS. */
static void atom_link(struct reader *r, const struct xml_element *el)
{
  const char *rel = attr_value(el, "rel");
  const char *href = attr_value(el, "href");
  const char *type = attr_value(el, "type");
  bool alternate = !rel || strcasecmp(rel, "alternate") == 0;
  int rank;

  if(!href)
    return;
  if(rel && strcasecmp(rel, "enclosure") == 0 && r->entry) {
    add_enclosure(r, attr(r, el, "href", NS_NONE), attr(r, el, "type", NS_NONE),
                  attr(r, el, "length", NS_NONE));
    return;
  }
  if(!alternate)
    return;
  rank = !type || strcasecmp(type, "text/html") == 0 ||
                 strcasecmp(type, "application/xhtml+xml") == 0
             ? 2
             : 1;
  if(r->entry) {
    if(rank > r->link_rank) {
      char *abs = safe_link(current_base(r), href);

      if(abs) {
        free(r->entry->link);
        r->entry->link = abs;
        r->link_rank = rank;
      }
    }
  } else if(r->channel_depth && rank > r->feed_link_rank) {
    char *abs = safe_link(r->base[r->depth], href);

    if(abs) {
      free(r->feed->link);
      r->feed->link = abs;
      r->feed_link_rank = rank;
    }
  }
}

static void media_element(struct reader *r, const char *name,
                          const struct xml_element *el)
{
  if(name_is(name, "thumbnail")) {
    offer_image(r, attr(r, el, "url", NS_NONE), IMAGE_FROM_THUMBNAIL);
  } else if(name_is(name, "content")) {
    const char *type = attr_value(el, "type");
    const char *medium = attr_value(el, "medium");

    if((medium && strcasecmp(medium, "image") == 0) ||
       (type && strncasecmp(type, "image/", 6) == 0))
      offer_image(r, attr(r, el, "url", NS_NONE), IMAGE_FROM_MEDIA);
  } else if(name_is(name, "description")) {
    start_capture(r, F_MEDIA_DESCRIPTION,
                  attr_is(el, "type", "html") ? K_HTML : K_TEXT);
  }
}

static void start_entry(struct reader *r, const struct xml_element *el)
{
  if(r->feed->nentries >= PARSE_MAX_ENTRIES) {
    feed_warn(r->feed, "more than %d entries; the rest were ignored",
              PARSE_MAX_ENTRIES);
    r->stopped = true;
    return;
  }
  r->entry = feed_add_entry(r->feed);
  if(!r->entry) {
    out_of_memory(r);
    return;
  }
  r->entry_depth = r->depth;
  r->link_rank = 0;
  r->image_rank = 0;
  buf_reset(&r->authors);
  /* RSS 1.0 names each item with rdf:about: its id unless a guid comes. */
  free(r->about);
  r->about = attr(r, el, "about", NS_RDF);
}

/* Appends one author name to the comma-separated list being built. */
static void add_author(struct reader *r, const char *name)
{
  if(r->authors.len)
    buf_adds(&r->authors, ", ");
  buf_adds(&r->authors, name);
}

static void end_entry(struct reader *r)
{
  struct feed_entry *e = r->entry;

  if(!e->id && r->about) {
    e->id = r->about;
    r->about = NULL;
  }
  if(!e->link && r->guid_link)
    e->link = safe_link(current_base(r), r->guid_link);
  if(!e->summary && r->media_description) {
    e->summary = r->media_description;
    r->media_description = NULL;
  }
  if(!e->author && r->authors.len)
    e->author = strdup(r->authors.data);
  if(!e->title && !e->link && !e->id && !e->summary && !e->content &&
     !e->nenclosures) {
    feed_warn(r->feed, "empty entry dropped");
    feed_remove_entry(r->feed, r->feed->nentries - 1);
  }
  free(r->guid_link);
  r->guid_link = NULL;
  free(r->media_description);
  r->media_description = NULL;
  buf_reset(&r->authors);
  r->entry = NULL;
  r->entry_depth = 0;
}

/* xml:lang on the root or the channel names the feed's language. */
static void feed_language_from(struct reader *r, const struct xml_element *el)
{
  char *lang = attr(r, el, "lang", NS_XML);

  if(lang && !r->feed->language)
    r->feed->language = field_text(lang, strlen(lang), false);
  free(lang);
}

static enum feed_format rss_version(struct reader *r,
                                    const struct xml_element *el)
{
  char *v = attr(r, el, "version", NS_NONE);
  enum feed_format f = FEED_FORMAT_RSS20;

  if(v && strcmp(v, "0.91") == 0)
    f = FEED_FORMAT_RSS091;
  else if(v && strcmp(v, "0.92") == 0)
    f = FEED_FORMAT_RSS092;
  else if(v && strcmp(v, "0.90") == 0)
    f = FEED_FORMAT_RSS090;
  free(v);
  return f;
}

static void start_root(struct reader *r, const char *name, enum ns ns,
                       const struct xml_element *el)
{
  struct feed *f = r->feed;

  r->root_seen = true;
  r->root_ns = ns;
  snprintf(r->root_name, sizeof(r->root_name), "%s", name);
  if(name_is(name, "rss") && ns == NS_NONE)
    f->format = rss_version(r, el);
  else if(name_is(name, "RDF") && ns == NS_RDF)
    f->format = FEED_FORMAT_RSS10;
  else if(name_is(name, "feed") && ns == NS_ATOM03)
    f->format = FEED_FORMAT_ATOM03;
  else if(name_is(name, "feed") && (ns == NS_ATOM10 || ns == NS_NONE))
    f->format = FEED_FORMAT_ATOM10;
  else if(name_is(name, "channel") && ns == NS_NONE)
    f->format = FEED_FORMAT_RSS20;
  if(f->format == FEED_FORMAT_UNKNOWN) {
    r->stopped = true;
    return;
  }
  if(name_is(name, "feed") || name_is(name, "channel"))
    r->channel_depth = r->depth;
  feed_language_from(r, el);
  if(f->format == FEED_FORMAT_ATOM10 && ns == NS_NONE)
    feed_warn(f, "Atom feed without the Atom namespace");
}

/* Starts collecting a field of the feed or of an entry, for an element
 * that is a direct child of the channel or entry. */
static void start_field(struct reader *r, const char *name, enum ns ns,
                        const struct xml_element *el)
{
  bool core = is_core(r, ns);
  bool in_entry = r->entry != NULL;

  if(core && name_is(name, "title")) {
    start_capture(r, F_TITLE, text_kind(r, el));
  } else if(core && name_is(name, "link")) {
    if(is_atom(r))
      atom_link(r, el);
    else
      start_capture(r, F_LINK, K_TEXT);
  } else if(ns == NS_ATOM10 && name_is(name, "link")) {
    atom_link(r, el);
  } else if(core && is_atom(r) && name_is(name, "author")) {
    r->person_depth = r->depth;
    buf_reset(&r->person_name);
    buf_reset(&r->person_email);
  } else if((core && (name_is(name, "published") || name_is(name, "issued") ||
                      name_is(name, "pubDate"))) ||
            (ns == NS_DC && name_is(name, "date")) ||
            (ns == NS_DCTERMS &&
             (name_is(name, "issued") || name_is(name, "created")))) {
    start_capture(r, F_PUBLISHED, K_TEXT);
  } else if((core && (name_is(name, "updated") || name_is(name, "modified") ||
                      name_is(name, "lastBuildDate"))) ||
            (ns == NS_DCTERMS && name_is(name, "modified")) ||
            (ns == NS_ATOM10 && name_is(name, "updated"))) {
    start_capture(r, F_UPDATED, K_TEXT);
  } else if((core && name_is(name, "language")) ||
            (ns == NS_DC && name_is(name, "language"))) {
    start_capture(r, F_LANGUAGE, K_TEXT);
  } else if((core && !is_atom(r) &&
             (name_is(name, "author") ||
              (!in_entry && name_is(name, "managingEditor")))) ||
            (ns == NS_DC && name_is(name, "creator")) ||
            (ns == NS_ITUNES && name_is(name, "author"))) {
    start_capture(r, F_AUTHOR, K_GUESS);
  } else if((core && name_is(name, "category")) ||
            (ns == NS_DC && name_is(name, "subject"))) {
    const char *term =
        is_atom(r) && ns != NS_DC ? attr_value(el, "term") : NULL;

    if(term) {
      const char *label = attr_value(el, "label");
      const char *t = label ? label : term;
      char *text = in_entry ? field_text(t, strlen(t), false) : NULL;

      if(text && feed_entry_take_category(r->entry, text) != 0)
        out_of_memory(r);
    } else if(in_entry && (!is_atom(r) || ns == NS_DC)) {
      start_capture(r, F_CATEGORY, K_GUESS);
    }
  } else if(in_entry && core && name_is(name, "guid")) {
    r->cap_permalink = !attr_is(el, "isPermaLink", "false");
    start_capture(r, F_GUID, K_TEXT);
  } else if(core && is_atom(r) && name_is(name, "id")) {
    start_capture(r, F_ID, K_TEXT);
  } else if(in_entry && ns == NS_DC && name_is(name, "identifier")) {
    start_capture(r, F_GUID, K_TEXT);
    r->cap_permalink = false;
  } else if(core && (name_is(name, "description") || name_is(name, "summary") ||
                     name_is(name, "subtitle") || name_is(name, "tagline"))) {
    start_capture(r, in_entry ? F_SUMMARY : F_SUBTITLE,
                  is_atom(r) ? atom_kind(el) : K_HTML);
  } else if(in_entry && ((core && is_atom(r) && name_is(name, "content")) ||
                         (ns == NS_CONTENT && name_is(name, "encoded")))) {
    start_capture(r, F_CONTENT, ns == NS_CONTENT ? K_HTML : text_kind(r, el));
  } else if(in_entry && core && name_is(name, "enclosure")) {
    add_enclosure(r, attr(r, el, "url", NS_NONE), attr(r, el, "type", NS_NONE),
                  attr(r, el, "length", NS_NONE));
  } else if(!in_entry && core && name_is(name, "ttl")) {
    start_capture(r, F_TTL, K_TEXT);
  } else if(!in_entry && ns == NS_SY && name_is(name, "updatePeriod")) {
    start_capture(r, F_SY_PERIOD, K_TEXT);
  } else if(!in_entry && ns == NS_SY && name_is(name, "updateFrequency")) {
    start_capture(r, F_SY_FREQUENCY, K_TEXT);
  } else if(in_entry && ns == NS_ITUNES && name_is(name, "image")) {
    offer_image(r, attr(r, el, "href", NS_NONE), IMAGE_FROM_MEDIA);
  } else if(core && is_atom(r) && name_is(name, "source")) {
    r->skip_depth = r->depth;
  } else if(core && !in_entry &&
            (name_is(name, "image") || name_is(name, "textinput") ||
             name_is(name, "textInput"))) {
    r->skip_depth = r->depth;
  }
}

/* Writes a start tag of inline markup inside a collected HTML field. */
static void copy_start_tag(struct reader *r, const char *name,
                           const struct xml_element *el)
{
  buf_addc(&r->text, '<');
  buf_adds(&r->text, name);
  for(size_t i = 0; i < el->nattrs; i++) {
    const struct xml_attr *a = &el->attrs[i];
    char *esc = html_escape_text(a->value, a->value_len);

    buf_addc(&r->text, ' ');
    buf_adds(&r->text, a->local);
    buf_adds(&r->text, "=\"");
    if(esc)
      buf_adds(&r->text, esc);
    buf_addc(&r->text, '"');
    free(esc);
  }
  buf_addc(&r->text, '>');
}

static void start_element(struct reader *r, const struct xml_element *el)
{
  const char *name = el->local;
  enum ns ns;

  if(r->stopped)
    return;
  if(r->depth >= PARSE_MAX_DEPTH) {
    feed_warn(r->feed, "elements nested deeper than %d; the rest was ignored",
              PARSE_MAX_DEPTH);
    r->stopped = true;
    return;
  }
  r->depth++;
  push_base(r, el);
  ns = ns_of(el->ns, el->prefix);
  if(!r->root_seen) {
    start_root(r, name, ns, el);
    return;
  }
  if(r->skip_depth)
    return;
  if(r->cap_depth) {
    /* Markup inside a field: kept for HTML, flattened for text. */
    if(r->cap_kind == K_XHTML && r->depth == r->cap_depth + 1 &&
       name_is(name, "div") && ns == NS_XHTML &&
       blank(r->text.data, r->text.len)) {
      r->cap_unwrap_depth = r->depth;
      buf_reset(&r->text);
      return;
    }
    if(r->cap_kind == K_HTML || r->cap_kind == K_XHTML ||
       r->cap_kind == K_GUESS)
      copy_start_tag(r, name, el);
    return;
  }
  if(r->person_depth) {
    if(r->depth == r->person_depth + 1 && is_core(r, ns)) {
      if(name_is(name, "name"))
        start_capture(r, F_PERSON_NAME, K_TEXT);
      else if(name_is(name, "email"))
        start_capture(r, F_PERSON_EMAIL, K_TEXT);
    }
    return;
  }
  if(r->entry && is_entry_element(r, name, ns)) {
    /* An entry inside an entry: the previous one lost its end tag (an
     * unclosed element in it swallowed it). It ends here. */
    end_entry(r);
    start_entry(r, el);
    return;
  }
  if(r->entry) {
    if(ns == NS_MEDIA)
      media_element(r, name, el);
    else if(r->depth == r->entry_depth + 1)
      start_field(r, name, ns, el);
    return;
  }
  if(is_entry_element(r, name, ns)) {
    start_entry(r, el);
    return;
  }
  if(is_core(r, ns) && name_is(name, "channel") && !r->channel_depth) {
    r->channel_depth = r->depth;
    feed_language_from(r, el);
    if(ns == NS_RSS090)
      r->feed->format = FEED_FORMAT_RSS090;
    return;
  }
  if(r->channel_depth && r->depth == r->channel_depth + 1)
    start_field(r, name, ns, el);
}

static void set_once(char **slot, char *value)
{
  if(!value)
    return;
  if(*slot) {
    free(value);
    return;
  }
  *slot = value;
}

static int64_t sy_period_seconds(const char *s)
{
  static const struct {
    const char *name;
    int64_t seconds;
  } periods[] = {{"hourly", 3600},
                 {"daily", 86400},
                 {"weekly", 604800},
                 {"monthly", 2592000},
                 {"yearly", 31536000}};
  char *t = field_text(s, strlen(s), false);
  int64_t v = 0;

  for(size_t i = 0; t && i < sizeof(periods) / sizeof(periods[0]); i++)
    if(strcasecmp(t, periods[i].name) == 0)
      v = periods[i].seconds;
  free(t);
  return v;
}

static bool kind_is_html(enum kind kind, const char *s)
{
  if(kind == K_GUESS)
    return strchr(s, '<') || strchr(s, '&');
  return kind == K_HTML || kind == K_XHTML;
}

/* Stores the collected text of the element that just ended. */
static void end_capture(struct reader *r)
{
  struct feed *f = r->feed;
  struct feed_entry *e = r->entry;
  const char *s = r->text.data ? r->text.data : "";
  size_t len = r->text.len;
  bool html = kind_is_html(r->cap_kind, s);
  const char *base = current_base(r);
  char *img = NULL;
  char *v;

  if(r->cap_kind == K_SKIP)
    goto out;
  switch(r->cap_field) {
  case F_TITLE:
    set_once(e ? &e->title : &f->title, field_text(s, len, html));
    break;
  case F_LINK:
    v = field_text(s, len, false);
    if(v && e && r->link_rank < 3) {
      free(e->link);
      e->link = safe_link(base, v);
      r->link_rank = 3;
    } else if(v && !e && r->feed_link_rank < 3) {
      free(f->link);
      f->link = safe_link(r->base[r->depth], v);
      r->feed_link_rank = 3;
    }
    free(v);
    break;
  case F_SUBTITLE:
    set_once(&f->subtitle, field_text(s, len, html));
    break;
  case F_ID:
    set_once(e ? &e->id : &f->id, field_text(s, len, false));
    break;
  case F_GUID:
    v = field_text(s, len, false);
    if(v && r->cap_permalink && !r->guid_link && is_http_url(v))
      r->guid_link = strdup(v);
    set_once(&e->id, v);
    break;
  case F_PUBLISHED:
    /* A feed's own Atom <published> is when it began: not an update. */
    if(e && e->published == FEED_NO_DATE)
      e->published = field_date(f, s);
    else if(!e && !is_atom(r) && f->updated == FEED_NO_DATE)
      f->updated = field_date(f, s);
    break;
  case F_UPDATED:
    if(e && e->updated == FEED_NO_DATE)
      e->updated = field_date(f, s);
    else if(!e) {
      int64_t t = field_date(f, s);

      if(t != FEED_NO_DATE)
        f->updated = t;
    }
    break;
  case F_LANGUAGE:
    if(!e)
      set_once(&f->language, field_text(s, len, false));
    break;
  case F_AUTHOR:
    v = field_author(field_text(s, len, html));
    if(v && e)
      add_author(r, v);
    else if(v)
      set_once(&f->author, strdup(v));
    free(v);
    break;
  case F_PERSON_NAME:
    buf_add(&r->person_name, s, len);
    break;
  case F_PERSON_EMAIL:
    buf_add(&r->person_email, s, len);
    break;
  case F_SUMMARY:
    set_once(&e->summary, field_html(s, len, html, base, &img));
    offer_image(r, img, IMAGE_FROM_CONTENT);
    break;
  case F_CONTENT:
    set_once(&e->content, field_html(s, len, html, base, &img));
    offer_image(r, img, IMAGE_FROM_CONTENT);
    break;
  case F_MEDIA_DESCRIPTION:
    set_once(&r->media_description, field_html(s, len, html, base, NULL));
    break;
  case F_CATEGORY:
    v = field_text(s, len, html);
    if(v && feed_entry_take_category(e, v) != 0)
      out_of_memory(r);
    break;
  case F_TTL: {
    char *end;
    long long minutes = strtoll(s, &end, 10);

    if(end != s && minutes > 0 && minutes < 525600)
      f->ttl = minutes * 60;
    break;
  }
  case F_SY_PERIOD:
    r->sy_period = sy_period_seconds(s);
    break;
  case F_SY_FREQUENCY: {
    char *end;
    long long n = strtoll(s, &end, 10);

    if(end != s && n > 0 && n < 1000000)
      r->sy_frequency = n;
    break;
  }
  case F_NONE:
    break;
  }
out:
  r->cap_depth = 0;
  r->cap_field = F_NONE;
  buf_reset(&r->text);
}

static void end_person(struct reader *r)
{
  char *name = field_text(r->person_name.data, r->person_name.len, false);

  if(!name)
    name = field_text(r->person_email.data, r->person_email.len, false);
  if(name && r->entry)
    add_author(r, name);
  else if(name)
    set_once(&r->feed->author, strdup(name));
  free(name);
  r->person_depth = 0;
}

static void end_element(struct reader *r, const char *localname)
{
  if(r->depth == 0)
    return;
  if(r->cap_depth && r->depth > r->cap_depth) {
    if(r->depth != r->cap_unwrap_depth &&
       (r->cap_kind == K_HTML || r->cap_kind == K_XHTML ||
        r->cap_kind == K_GUESS)) {
      buf_adds(&r->text, "</");
      buf_adds(&r->text, localname);
      buf_addc(&r->text, '>');
    }
  } else if(r->cap_depth == r->depth) {
    end_capture(r);
  } else if(r->skip_depth == r->depth) {
    r->skip_depth = 0;
  } else if(r->person_depth == r->depth) {
    end_person(r);
  } else if(r->entry_depth == r->depth) {
    end_entry(r);
  } else if(r->channel_depth == r->depth) {
    r->channel_depth = 0;
  }
  pop_base(r);
  r->depth--;
}

static void add_text(struct reader *r, const char *s, size_t len)
{
  bool escape;

  if(!r->cap_depth || r->skip_depth)
    return;
  /* Around the XHTML wrapper <div> there is only indentation. */
  if(r->cap_unwrap_depth && r->depth == r->cap_depth)
    return;
  /* Text directly in an escaped-HTML field is HTML source; text inside
   * inline elements was unescaped by the XML parser and is escaped back. */
  escape = r->cap_kind == K_XHTML ||
           ((r->cap_kind == K_HTML || r->cap_kind == K_GUESS) &&
            r->depth > r->cap_depth);
  if(!escape) {
    if(buf_add(&r->text, s, len) != 0)
      out_of_memory(r);
    return;
  }
  for(size_t i = 0; i < len;) {
    size_t run = i;

    /* Copy what needs no escaping in one piece. */
    while(run < len && s[run] != '&' && s[run] != '<' && s[run] != '>')
      run++;
    if(run > i && buf_add(&r->text, s + i, run - i) != 0) {
      out_of_memory(r);
      return;
    }
    if(run == len)
      break;
    buf_adds(&r->text, s[run] == '&'   ? "&amp;"
                       : s[run] == '<' ? "&lt;"
                                       : "&gt;");
    i = run + 1;
  }
}

/* Text matters only inside a field being collected. */
static void update_text_wanted(struct reader *r)
{
  r->text_wanted = r->cap_depth && !r->skip_depth && !r->stopped;
}

static int on_start(void *ctx, const struct xml_element *el)
{
  struct reader *r = ctx;

  start_element(r, el);
  update_text_wanted(r);
  return r->stopped;
}

static int on_end(void *ctx, const struct xml_element *el)
{
  struct reader *r = ctx;

  end_element(r, el->local);
  update_text_wanted(r);
  return r->stopped;
}

static int on_text(void *ctx, const char *s, size_t len)
{
  struct reader *r = ctx;

  add_text(r, s, len);
  return r->stopped;
}

static void on_error(void *ctx, int line, const char *msg)
{
  struct reader *r = ctx;

  feed_warn(r->feed, "XML error at line %d: %s", line, msg);
}

static void finish(struct reader *r)
{
  struct feed *f = r->feed;

  /* A document that ends early leaves elements open: close them as if
   * their end tags had been there, so no entry read so far is lost. */
  bool cut = r->entry && !r->stopped;
  size_t n = f->nentries;

  if(r->depth > 0 && !r->stopped)
    feed_warn(f, "document ended inside <%s>; open elements closed",
              r->entry ? (is_atom(r) ? "entry" : "item") : r->root_name);
  while(r->depth > 0)
    end_element(r, "");
  /* The entry open at the end is kept (unless it was empty): say so. */
  f->truncated = cut && f->nentries == n;
  if(r->sy_period)
    f->update_period = r->sy_period / (r->sy_frequency ? r->sy_frequency : 1);
}

int parse_xml(const char *doc, size_t len, const char *url, struct feed *feed,
              char *err, size_t errlen)
{
  struct reader *r = calloc(1, sizeof(*r));
  struct xml_scan_handler h = {
      .start = on_start,
      .end = on_end,
      .text = on_text,
      .error = on_error,
  };
  int rc = 0;

  if(!r)
    return -ENOMEM;
  h.text_wanted = &r->text_wanted;
  r->feed = feed;
  r->doc_url = url;
  r->base[0] = url ? strdup(url) : NULL;
  r->base_owned[0] = r->base[0] != NULL;
  buf_init(&r->text, PARSE_MAX_INPUT);
  buf_init(&r->person_name, 4096);
  buf_init(&r->person_email, 4096);
  buf_init(&r->authors, 4096);

  rc = xml_scan(doc, len, &h, r);
  finish(r);

  feed_utf8_clean(r->root_name);
  if(rc == 0 && feed->format == FEED_FORMAT_UNKNOWN) {
    if(!r->root_seen)
      snprintf(err, errlen, "found no XML elements, not a feed");
    else if(strcasecmp(r->root_name, "html") == 0)
      snprintf(err, errlen, "found an HTML page, not a feed");
    else
      snprintf(err, errlen, "found XML with root element <%s>, not a feed",
               r->root_name);
    rc = -EINVAL;
  }
  for(int d = 0; d <= PARSE_MAX_DEPTH + 1; d++)
    if(r->base_owned[d])
      free(r->base[d]);
  buf_free(&r->text);
  buf_free(&r->person_name);
  buf_free(&r->person_email);
  buf_free(&r->authors);
  free(r->guid_link);
  free(r->about);
  free(r->media_description);
  free(r);
  return rc;
}
