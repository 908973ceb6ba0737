/*
 * opml.c: OPML 1.0/2.0 subscription lists in and out.
 *
 * Reading uses libxml2's tree parser with no entity substitution, no DTD
 * loading and no network. A document that declares any entity is refused
 * outright: the SAX entityDecl hook stops the parser at the first
 * declaration, so "billion laughs" and external entities never get as far
 * as an attribute value. libxml2 itself caps element nesting at 256.
 *
 * Every outline with an xmlUrl (any case: xmlurl, XMLURL are seen in the
 * wild) is a feed; every other outline is a folder whose text (or title)
 * becomes a tag of the feeds inside it, outermost first. The OPML 2.0
 * category attribute ("a,b" or "/a/b") adds tags too. Tags are cleaned so
 * that they survive feeds.d and a round trip: no control characters, no
 * commas, runs of blanks made one space, no leading or trailing blanks or
 * slashes, at most 64 bytes.
 *
 * Names: freshet:name (in OPML_NS) when it is a valid feed name, else a
 * slug of the title ("Tokyo News" -> "tokyo-news"), else of the URL's
 * host, made unique in the document with -2, -3, ...
 *
 * opml_write puts each feed in a folder named by its first tag, writes
 * every tag in category when there are several, and carries the name,
 * and a non-default interval or enabled, in freshet: attributes, so that
 * opml_read gives back the same subscriptions.
 */
#include "opml.h"
#include "strmap.h"

#include "config.h"

#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The namespace of our own outline attributes. Never change it: exported
 * files carry it. */
#define OPML_NS "https://github.com/freshet/freshet/opml"
#define OPML_MAX_SIZE (64 * 1024 * 1024)
#define OPML_MAX_DEPTH 256
#define NAME_MAX_LEN 64
#define TAG_MAX_LEN 64
/* as for interval in feeds.d/ *.conf */
#define OPML_MAX_INTERVAL (365 * 86400)

/* Cleaning modes for attribute text. */
#define CLEAN_TAG 1 /* also: no commas, no edge slashes, capped */

static bool is_space(unsigned char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

static unsigned char to_lower(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static bool is_alnum(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

static bool ascii_caseeq(const char *a, const char *b)
{
  while(*a && to_lower((unsigned char)*a) == to_lower((unsigned char)*b)) {
    a++;
    b++;
  }
  return *a == '\0' && *b == '\0';
}

/* Length of the valid UTF-8 sequence at s (n bytes left) that XML 1.0
 * allows, or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
  unsigned c = s[0];

  if(c < 0x80)
    return 1;
  if(c < 0xc2 || c > 0xf4)
    return 0;
  if(c < 0xe0)
    return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
  if(c < 0xf0) {
    if(n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
      return 0;
    if(c == 0xe0 && s[1] < 0xa0)
      return 0; /* overlong */
    if(c == 0xed && s[1] >= 0xa0)
      return 0; /* surrogate */
    if(c == 0xef && s[1] == 0xbf && s[2] >= 0xbe)
      return 0; /* U+FFFE, U+FFFF */
    return 3;
  }
  if(n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
     (s[3] & 0xc0) != 0x80)
    return 0;
  if(c == 0xf0 && s[1] < 0x90)
    return 0;
  if(c == 0xf4 && s[1] >= 0x90)
    return 0;
  return 4;
}

/* Returns a malloc'd copy of s that XML can carry: invalid UTF-8 becomes
 * U+FFFD and control characters spaces; NULL on out of memory. */
static char *xml_safe(const char *s)
{
  size_t n = strlen(s);
  char *out = malloc(3 * n + 1);
  size_t o = 0;

  if(!out)
    return NULL;
  for(size_t i = 0; i < n;) {
    const unsigned char *p = (const unsigned char *)s + i;
    size_t l = utf8_len(p, n - i);

    if(l == 0) {
      memcpy(out + o, "\xef\xbf\xbd", 3);
      o += 3;
      i++;
    } else if(l == 1 && p[0] < 0x20) {
      out[o++] = ' ';
      i++;
    } else {
      memcpy(out + o, p, l);
      o += l;
      i += l;
    }
  }
  out[o] = '\0';
  return out;
}

/* Cuts s to at most max bytes without splitting a UTF-8 sequence. */
static void utf8_cut(char *s, size_t max)
{
  size_t n = strlen(s);

  if(n <= max)
    return;
  n = max;
  while(n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
    n--;
  s[n] = '\0';
}

/* Cleans attribute text in place: control characters and (for tags)
 * commas become spaces, runs of blanks one space, edges trimmed (for tags
 * also of '/', and capped at TAG_MAX_LEN). Returns s, or NULL (freeing s)
 * when nothing is left. */
static char *clean_text(char *s, int mode)
{
  size_t o = 0;
  bool space = true; /* drops leading blanks */

  for(size_t i = 0; s[i]; i++) {
    unsigned char c = (unsigned char)s[i];

    if(c < 0x20 || c == 0x7f || is_space(c) ||
       (mode == CLEAN_TAG && c == ',')) {
      if(!space)
        s[o++] = ' ';
      space = true;
    } else {
      s[o++] = (char)c;
      space = false;
    }
  }
  s[o] = '\0';
  if(mode == CLEAN_TAG) {
    for(int pass = 0; pass < 2; pass++) {
      size_t start = 0;

      o = strlen(s);
      while(o > 0 && (s[o - 1] == ' ' || s[o - 1] == '/'))
        o--;
      s[o] = '\0';
      while(s[start] == ' ' || s[start] == '/')
        start++;
      memmove(s, s + start, o - start + 1);
      utf8_cut(s, TAG_MAX_LEN);
    }
  } else {
    while(o > 0 && s[o - 1] == ' ')
      o--;
    s[o] = '\0';
  }
  if(!s[0]) {
    free(s);
    return NULL;
  }
  return s;
}

/* What one opml_read call is building. */
struct reader {
  const char *file;
  struct config_feed *feeds;
  size_t n;
  size_t cap;
  struct strmap names;
  char **folders; /* the tags of the enclosing folders, outermost first */
  size_t nfolders;
  size_t folders_cap;
  char *err;
  size_t errlen;
  /* set from libxml2 callbacks */
  bool denied;
  long denied_line;
  bool failed;
  bool fail_fatal;
  long fail_line;
  char fail_msg[256];
};

static int fail(struct reader *r, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct reader *r, long line, const char *fmt, ...)
{
  va_list ap;
  int n;

  if(!r->err || r->errlen == 0)
    return -EINVAL;
  n = snprintf(r->err, r->errlen, "%s:%ld: ", r->file, line);
  if(n >= 0 && (size_t)n < r->errlen) {
    va_start(ap, fmt);
    vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return -EINVAL;
}

static void on_entity_decl(void *ctx, const xmlChar *name, int type,
                           const xmlChar *public_id, const xmlChar *system_id,
                           xmlChar *content)
{
  xmlParserCtxtPtr ctxt = ctx;
  struct reader *r = ctxt->_private;

  (void)name;
  (void)type;
  (void)public_id;
  (void)system_id;
  (void)content;
  if(!r->denied) {
    r->denied = true;
    r->denied_line = xmlSAX2GetLineNumber(ctxt);
  }
  xmlStopParser(ctxt);
}

static void on_unparsed_entity_decl(void *ctx, const xmlChar *name,
                                    const xmlChar *public_id,
                                    const xmlChar *system_id,
                                    const xmlChar *notation)
{
  (void)notation;
  on_entity_decl(ctx, name, 0, public_id, system_id, NULL);
}

/* Keeps the first error, which names the cause; later ones are echoes. */
static void on_error(void *ctx, xmlErrorPtr e)
{
  xmlParserCtxtPtr ctxt = ctx;
  struct reader *r = ctxt ? ctxt->_private : NULL;
  size_t n;

  if(!r || !e || e->level < XML_ERR_ERROR)
    return;
  /* the first fatal error; a namespace error leaves the document usable */
  if(r->failed && (r->fail_fatal || e->level != XML_ERR_FATAL))
    return;
  r->failed = true;
  r->fail_fatal = e->level == XML_ERR_FATAL;
  r->fail_line = e->line;
  snprintf(r->fail_msg, sizeof(r->fail_msg), "%s",
           e->message ? e->message : "not well-formed");
  n = strlen(r->fail_msg);
  while(n > 0 && is_space((unsigned char)r->fail_msg[n - 1]))
    r->fail_msg[--n] = '\0';
}

/* Returns the cleaned value of node's attribute name (ASCII case ignored;
 * in namespace ns, or in none when ns is NULL), malloc'd, or NULL when it
 * is missing, empty, or out of memory (*oom set). */
static char *attr(xmlNodePtr node, const char *name, const char *ns, int mode,
                  bool *oom)
{
  for(xmlAttrPtr a = node->properties; a; a = a->next) {
    xmlChar *v;
    char *s;

    if(!ascii_caseeq((const char *)a->name, name))
      continue;
    if(ns ? !a->ns || strcmp((const char *)a->ns->href, ns) != 0 : !!a->ns)
      continue;
    v = xmlNodeListGetString(node->doc, a->children, 1);
    if(!v)
      return NULL;
    s = strdup((const char *)v);
    xmlFree(v);
    if(!s) {
      *oom = true;
      return NULL;
    }
    return clean_text(s, mode);
  }
  return NULL;
}

static bool is_element(xmlNodePtr n, const char *name)
{
  return n->type == XML_ELEMENT_NODE &&
         ascii_caseeq((const char *)n->name, name);
}

/* ASCII for the letters of U+00C0..U+00FF ('-': not a letter), so that
 * "Café" gives "cafe". */
static const char latin1[] =
    "AAAAAAACEEEEIIIIDNOOOOO-OUUUUYTsaaaaaaaceeeeiiiidnooooo-ouuuuyty";

/* Writes a slug of s into out (NAME_MAX_LEN + 1 bytes): lowercase ASCII
 * letters and digits ('.' too when dots is set), '-' for every run of
 * anything else, no '-' or '.' at the edges. */
static void slug(const char *s, bool dots, char *out)
{
  size_t o = 0;
  bool dash = false;

  for(; *s && o < NAME_MAX_LEN; s++) {
    unsigned char c = (unsigned char)*s;

    if(c == 0xc3 && ((unsigned char)s[1] & 0xc0) == 0x80) {
      c = (unsigned char)latin1[(unsigned char)s[1] - 0x80];
      s++;
    }
    if(is_alnum(c) || (dots && c == '.')) {
      if(dash && o > 0)
        out[o++] = '-';
      dash = false;
      if(o < NAME_MAX_LEN)
        out[o++] = (char)to_lower(c);
    } else {
      dash = true;
    }
  }
  while(o > 0 && (out[o - 1] == '-' || out[o - 1] == '.'))
    o--;
  out[o] = '\0';
  while(out[0] == '.' || out[0] == '-')
    memmove(out, out + 1, strlen(out));
}

/* The host of an absolute URL as a name: "www." dropped, "[v6]" read. */
static void host_slug(const char *url, char *out)
{
  char host[256];
  const char *p = strstr(url, "://");
  const char *end;
  size_t n;

  out[0] = '\0';
  if(!p)
    return;
  p += 3;
  end = p + strcspn(p, "/?#");
  for(const char *q = p; q < end; q++)
    if(*q == '@')
      p = q + 1;
  if(*p == '[')
    n = strcspn(p, "]/?#");
  else
    n = strcspn(p, ":/?#");
  if(n >= sizeof(host))
    n = sizeof(host) - 1;
  memcpy(host, p, n);
  host[n] = '\0';
  if(n > 4 && to_lower((unsigned char)host[0]) == 'w' &&
     to_lower((unsigned char)host[1]) == 'w' &&
     to_lower((unsigned char)host[2]) == 'w' && host[3] == '.')
    slug(host + 4, true, out);
  else
    slug(host, true, out);
}

/* Picks a name for a feed not yet in r->names; returns it malloc'd. */
static char *unique_name(struct reader *r, const char *explicit_name,
                         const char *title, const char *url)
{
  char base[NAME_MAX_LEN + 1];
  char cand[NAME_MAX_LEN + 1];

  if(explicit_name && config_valid_name(explicit_name)) {
    snprintf(base, sizeof(base), "%s", explicit_name);
  } else {
    base[0] = '\0';
    if(title)
      slug(title, false, base);
    if(!base[0])
      host_slug(url, base);
    if(!base[0])
      snprintf(base, sizeof(base), "feed");
  }
  snprintf(cand, sizeof(cand), "%s", base);
  for(unsigned i = 2; strmap_get(&r->names, cand); i++) {
    char suffix[16];
    int sl = snprintf(suffix, sizeof(suffix), "-%u", i);
    size_t bl = strlen(base);

    if(bl + (size_t)sl > NAME_MAX_LEN)
      bl = NAME_MAX_LEN - (size_t)sl;
    snprintf(cand, sizeof(cand), "%.*s%s", (int)bl, base, suffix);
  }
  return strdup(cand);
}

static int tags_add(struct config_feed *f, size_t *cap, const char *tag)
{
  char *copy;

  for(size_t i = 0; i < f->ntags; i++)
    if(strcmp(f->tags[i], tag) == 0)
      return 0;
  if(f->ntags == *cap) {
    size_t nc = *cap ? 2 * *cap : 4;
    char **t = realloc(f->tags, nc * sizeof(*t));

    if(!t)
      return -ENOMEM;
    f->tags = t;
    *cap = nc;
  }
  copy = strdup(tag);
  if(!copy)
    return -ENOMEM;
  f->tags[f->ntags++] = copy;
  return 0;
}

static void feed_clear(struct config_feed *f)
{
  free(f->name);
  free(f->url);
  free(f->title);
  for(size_t i = 0; i < f->ntags; i++)
    free(f->tags[i]);
  free(f->tags);
  free(f->file);
  memset(f, 0, sizeof(*f));
}

/* Turns the old "feed:" pseudo-scheme into http(s): "feed://h/p" and
 * "feed:https://h/p" (as often as it is repeated). */
static void unfeed(char *url)
{
  for(;;) {
    if(strncmp(url, "feed://", 7) == 0)
      memcpy(url, "http", 4);
    else if(strncmp(url, "feed:", 5) == 0 &&
            (strncmp(url + 5, "http", 4) == 0 ||
             strncmp(url + 5, "feed:", 5) == 0))
      memmove(url, url + 5, strlen(url + 5) + 1);
    else
      return;
  }
}

static int add_feed(struct reader *r, xmlNodePtr node, char *url)
{
  struct config_feed f = {0};
  size_t tagcap = 0;
  bool oom = false;
  char *text = attr(node, "text", NULL, 0, &oom);
  char *name = attr(node, "name", OPML_NS, 0, &oom);
  char *interval = attr(node, "interval", OPML_NS, 0, &oom);
  char *enabled = attr(node, "enabled", OPML_NS, 0, &oom);
  char *category = attr(node, "category", NULL, 0, &oom);
  long line = xmlGetLineNo(node);
  int rc = -ENOMEM;

  f.url = url;
  f.enabled = true;
  f.line = line > INT_MAX ? INT_MAX : (int)line;
  f.title = attr(node, "title", NULL, 0, &oom);
  if(oom)
    goto out;
  /* Our own export writes text=NAME and no title for a feed without one. */
  if(!f.title && text && !(name && strcmp(text, name) == 0)) {
    f.title = text;
    text = NULL;
  }
  if(interval && (config_parse_duration(interval, &f.interval) != 0 ||
                  f.interval < 1 || f.interval > OPML_MAX_INTERVAL)) {
    rc = fail(r, line, "bad freshet:interval '%s'", interval);
    goto out;
  }
  if(enabled) {
    if(strcmp(enabled, "false") == 0) {
      f.enabled = false;
    } else if(strcmp(enabled, "true") != 0) {
      rc = fail(r, line, "bad freshet:enabled '%s' (true or false)", enabled);
      goto out;
    }
  }
  f.name = unique_name(r, name, f.title ? f.title : text, url);
  f.file = strdup(r->file);
  if(!f.name || !f.file || strmap_put(&r->names, f.name, 0) != 0)
    goto out;
  for(size_t i = 0; i < r->nfolders; i++)
    if(tags_add(&f, &tagcap, r->folders[i]) != 0)
      goto out;
  if(category) {
    char *save = NULL;

    for(char *t = strtok_r(category, ",", &save); t;
        t = strtok_r(NULL, ",", &save)) {
      char *tag = strdup(t);

      if(!tag)
        goto out;
      tag = clean_text(tag, CLEAN_TAG);
      if(tag && tags_add(&f, &tagcap, tag) != 0) {
        free(tag);
        goto out;
      }
      free(tag);
    }
  }
  if(r->n == r->cap) {
    size_t nc = r->cap ? 2 * r->cap : 16;
    struct config_feed *nf = realloc(r->feeds, nc * sizeof(*nf));

    if(!nf)
      goto out;
    r->feeds = nf;
    r->cap = nc;
  }
  r->feeds[r->n++] = f;
  memset(&f, 0, sizeof(f));
  rc = 0;
out:
  feed_clear(&f);
  free(text);
  free(name);
  free(interval);
  free(enabled);
  free(category);
  return rc;
}

static int walk(struct reader *r, xmlNodePtr parent, int depth)
{
  if(depth > OPML_MAX_DEPTH)
    return fail(r, xmlGetLineNo(parent), "outlines nested too deeply");
  for(xmlNodePtr n = parent->children; n; n = n->next) {
    bool oom = false;
    char *url;
    char *folder = NULL;
    int rc;

    if(!is_element(n, "outline"))
      continue;
    url = attr(n, "xmlUrl", NULL, 0, &oom);
    if(!url && !oom) {
      folder = attr(n, "text", NULL, CLEAN_TAG, &oom);
      if(!folder && !oom)
        folder = attr(n, "title", NULL, CLEAN_TAG, &oom);
    }
    if(oom)
      return -ENOMEM;
    if(url) {
      unfeed(url);
      rc = add_feed(r, n, url); /* takes url */
      if(rc != 0)
        return rc;
    }
    if(folder) {
      if(r->nfolders == r->folders_cap) {
        size_t nc = r->folders_cap ? 2 * r->folders_cap : 8;
        char **f = realloc(r->folders, nc * sizeof(*f));

        if(!f) {
          free(folder);
          return -ENOMEM;
        }
        r->folders = f;
        r->folders_cap = nc;
      }
      r->folders[r->nfolders++] = folder;
    }
    rc = walk(r, n, depth + 1);
    if(folder)
      free(r->folders[--r->nfolders]);
    if(rc != 0)
      return rc;
  }
  return 0;
}

int opml_read(const char *data, size_t len, const char *file,
              struct config_feed **out, size_t *n, char *err, size_t errlen)
{
  struct reader r = {0};
  xmlParserCtxtPtr ctxt = NULL;
  xmlDocPtr doc = NULL;
  xmlNodePtr root, body = NULL;
  int rc;

  *out = NULL;
  *n = 0;
  if(err && errlen)
    err[0] = '\0';
  r.file = file ? file : "-";
  r.err = err;
  r.errlen = errlen;
  if(len > OPML_MAX_SIZE)
    return fail(&r, 1, "too large (more than %d MiB)",
                OPML_MAX_SIZE / (1024 * 1024));
  ctxt = xmlNewParserCtxt();
  if(!ctxt)
    return -ENOMEM;
  ctxt->_private = &r;
  ctxt->sax->entityDecl = on_entity_decl;
  ctxt->sax->unparsedEntityDecl = on_unparsed_entity_decl;
  ctxt->sax->serror = on_error;
  doc = xmlCtxtReadMemory(ctxt, data, (int)len, NULL, NULL,
                          XML_PARSE_NONET | XML_PARSE_NOERROR |
                              XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES);
  if(r.denied) {
    rc = fail(&r, r.denied_line, "entity declarations are not allowed");
    goto out;
  }
  if(!doc || !ctxt->wellFormed) {
    if(ctxt->errNo == XML_ERR_NO_MEMORY) {
      rc = -ENOMEM;
      goto out;
    }
    rc = fail(&r, r.failed ? r.fail_line : 1, "%s",
              r.failed ? r.fail_msg : "not well-formed XML");
    goto out;
  }
  root = xmlDocGetRootElement(doc);
  if(!root || !is_element(root, "opml")) {
    rc = fail(&r, root ? xmlGetLineNo(root) : 1,
              "not an OPML document (root element <%s>)",
              root ? (const char *)root->name : "");
    goto out;
  }
  for(xmlNodePtr c = root->children; c && !body; c = c->next)
    if(is_element(c, "body"))
      body = c;
  if(!body) {
    rc = fail(&r, xmlGetLineNo(root), "OPML document without <body>");
    goto out;
  }
  rc = walk(&r, body, 0);
  if(rc == 0) {
    *out = r.feeds;
    *n = r.n;
    r.feeds = NULL;
    r.n = 0;
  }
out:
  opml_feeds_free(r.feeds, r.n);
  for(size_t i = 0; i < r.nfolders; i++)
    free(r.folders[i]);
  free(r.folders);
  strmap_free(&r.names);
  xmlFreeDoc(doc);
  xmlFreeParserCtxt(ctxt);
  return rc;
}

void opml_feeds_free(struct config_feed *feeds, size_t n)
{
  if(!feeds)
    return;
  for(size_t i = 0; i < n; i++)
    feed_clear(&feeds[i]);
  free(feeds);
}

/* Writes attribute name = value made XML-safe; returns < 0 on failure. */
static int write_attr(xmlTextWriterPtr w, const char *name, const char *value)
{
  char *v = xml_safe(value);
  int rc;

  if(!v)
    return -1;
  rc = xmlTextWriterWriteAttribute(w, BAD_CAST name, BAD_CAST v);
  free(v);
  return rc;
}

static void format_duration(int64_t s, char *buf, size_t len)
{
  if(s % 86400 == 0)
    snprintf(buf, len, "%lldd", (long long)(s / 86400));
  else if(s % 3600 == 0)
    snprintf(buf, len, "%lldh", (long long)(s / 3600));
  else if(s % 60 == 0)
    snprintf(buf, len, "%lldm", (long long)(s / 60));
  else
    snprintf(buf, len, "%llds", (long long)s);
}

static int write_feed(xmlTextWriterPtr w, const struct config_feed *f)
{
  const char *label = f->title ? f->title : f->name ? f->name : "";
  int rc;

  if(xmlTextWriterStartElement(w, BAD_CAST "outline") < 0 ||
     write_attr(w, "type", "rss") < 0 || write_attr(w, "text", label) < 0)
    return -1;
  if(f->title && write_attr(w, "title", f->title) < 0)
    return -1;
  if(write_attr(w, "xmlUrl", f->url ? f->url : "") < 0)
    return -1;
  if(f->name && write_attr(w, "freshet:name", f->name) < 0)
    return -1;
  if(f->ntags > 1) {
    size_t len = 1;
    char *cat;
    char *p;

    for(size_t i = 0; i < f->ntags; i++)
      len += strlen(f->tags[i]) + 1;
    cat = malloc(len);
    if(!cat)
      return -1;
    p = cat;
    for(size_t i = 0; i < f->ntags; i++) {
      size_t l = strlen(f->tags[i]);

      if(i > 0)
        *p++ = ',';
      memcpy(p, f->tags[i], l);
      p += l;
    }
    *p = '\0';
    rc = write_attr(w, "category", cat);
    free(cat);
    if(rc < 0)
      return -1;
  }
  if(f->interval > 0) {
    char buf[32];

    format_duration(f->interval, buf, sizeof(buf));
    if(write_attr(w, "freshet:interval", buf) < 0)
      return -1;
  }
  if(!f->enabled && write_attr(w, "freshet:enabled", "false") < 0)
    return -1;
  return xmlTextWriterEndElement(w);
}

/* RFC 822 date of now, with English names whatever the locale. */
static void rfc822_now(char *buf, size_t len)
{
  static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                     "Thu", "Fri", "Sat"};
  static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};
  time_t now = time(NULL);
  struct tm tm;

  gmtime_r(&now, &tm);
  snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
           tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
           tm.tm_min, tm.tm_sec);
}

/* Fills order with the feed indexes: untagged feeds first, then one run
 * per first tag, tags in order of first appearance; (*starts)[g] is where
 * run g begins (g = 0: untagged; (*starts)[ngroups] = n). Returns ngroups
 * (at least 1), or 0 on out of memory. */
static size_t group_feeds(const struct config_feed *feeds, size_t n,
                          size_t *order, size_t **starts)
{
  struct strmap groups = {0};
  size_t *group = malloc((n ? n : 1) * sizeof(*group));
  size_t *count = NULL;
  size_t ngroups = 1, rc = 0;

  *starts = NULL;
  if(!group)
    goto out;
  for(size_t i = 0; i < n; i++) {
    const char *t = feeds[i].ntags ? feeds[i].tags[0] : NULL;
    size_t *g;

    group[i] = 0;
    if(!t)
      continue;
    g = strmap_get(&groups, t);
    if(g) {
      group[i] = *g;
      continue;
    }
    if(strmap_put(&groups, t, ngroups) != 0)
      goto out;
    group[i] = ngroups++;
  }
  count = calloc(ngroups + 1, sizeof(*count));
  *starts = malloc((ngroups + 1) * sizeof(**starts));
  if(!count || !*starts)
    goto out;
  for(size_t i = 0; i < n; i++)
    count[group[i] + 1]++;
  for(size_t g = 1; g <= ngroups; g++)
    count[g] += count[g - 1];
  memcpy(*starts, count, (ngroups + 1) * sizeof(*count));
  for(size_t i = 0; i < n; i++)
    order[count[group[i]]++] = i;
  rc = ngroups;
out:
  strmap_free(&groups);
  free(group);
  free(count);
  return rc;
}

char *opml_write(const struct config_feed *feeds, size_t n, const char *title)
{
  xmlBufferPtr buf = xmlBufferCreate();
  xmlTextWriterPtr w = NULL;
  size_t *order = malloc((n ? n : 1) * sizeof(*order));
  size_t *starts = NULL;
  size_t ngroups = 0;
  char date[64];
  char *result = NULL;
  bool ok = false;

  if(!buf || !order)
    goto out;
  ngroups = group_feeds(feeds, n, order, &starts);
  if(ngroups == 0)
    goto out;
  w = xmlNewTextWriterMemory(buf, 0);
  if(!w)
    goto out;
  rfc822_now(date, sizeof(date));
  if(xmlTextWriterSetIndent(w, 1) < 0 ||
     xmlTextWriterSetIndentString(w, BAD_CAST "  ") < 0 ||
     xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL) < 0 ||
     xmlTextWriterStartElement(w, BAD_CAST "opml") < 0 ||
     write_attr(w, "version", "2.0") < 0 ||
     write_attr(w, "xmlns:freshet", OPML_NS) < 0 ||
     xmlTextWriterStartElement(w, BAD_CAST "head") < 0 ||
     xmlTextWriterStartElement(w, BAD_CAST "title") < 0)
    goto out;
  {
    char *t = xml_safe(title ? title : "freshet");

    if(!t || xmlTextWriterWriteString(w, BAD_CAST t) < 0) {
      free(t);
      goto out;
    }
    free(t);
  }
  if(xmlTextWriterEndElement(w) < 0 ||
     xmlTextWriterWriteElement(w, BAD_CAST "dateCreated", BAD_CAST date) < 0 ||
     xmlTextWriterEndElement(w) < 0 ||
     xmlTextWriterStartElement(w, BAD_CAST "body") < 0)
    goto out;
  for(size_t g = 0; g < ngroups; g++) {
    if(starts[g] == starts[g + 1])
      continue;
    if(g > 0) {
      const char *tag = feeds[order[starts[g]]].tags[0];

      if(xmlTextWriterStartElement(w, BAD_CAST "outline") < 0 ||
         write_attr(w, "text", tag) < 0 || write_attr(w, "title", tag) < 0)
        goto out;
    }
    for(size_t k = starts[g]; k < starts[g + 1]; k++)
      if(write_feed(w, &feeds[order[k]]) < 0)
        goto out;
    if(g > 0 && xmlTextWriterEndElement(w) < 0)
      goto out;
  }
  if(xmlTextWriterEndDocument(w) < 0)
    goto out;
  xmlFreeTextWriter(w);
  w = NULL;
  ok = true;
out:
  if(w)
    xmlFreeTextWriter(w);
  if(ok)
    result = strdup((const char *)xmlBufferContent(buf));
  if(buf)
    xmlBufferFree(buf);
  free(order);
  free(starts);
  return result;
}
