/*
 * test_publish.c: the published documents from a real store
 * (publish_sample.c's data): all five written and parsed back, feed.atom
 * valid against RFC 4287's schema, the same entries in the same
 * (effective-date) order in every format, the hostile entry harmless, ids
 * unique IRIs, limits, recent.json's fields, atomic replacement when a
 * write fails, the in-memory copies; and the render helpers' edge cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define SAMPLE_NO_MAIN
#include "publish_sample.c"

#include "ago.h"
#include "date.h"
#include "opml.h"
#include "render_doc.h"
#include "render_model.h"
#include "render_rss.h"
#include "render_text.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define ATOM_NS "http://www.w3.org/2005/Atom"
#define SCHEMA "schema/atom.rng" /* tests run in tests/ */
#define ELLIPSIS "\xe2\x80\xa6"

static const char *const outputs[] = {"feed.atom", "feed.rss", "feed.json",
                                      "feeds.opml", "recent.json"};
#define NOUTPUTS (sizeof(outputs) / sizeof(outputs[0]))

struct fixture {
  struct sample s;
  struct publish *p;
  char out[160];
};

/* ---- helpers ----------------------------------------------------------- */

static char *slurp(const char *dir, const char *name, size_t *len)
{
  char path[256];
  FILE *f;
  char *data;
  long n;

  snprintf(path, sizeof(path), "%s/%s", dir, name);
  f = fopen(path, "rb");
  if(f == NULL)
    return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  data = malloc((size_t)n + 1);
  assert_non_null(data);
  assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
  data[n] = '\0';
  fclose(f);
  if(len)
    *len = (size_t)n;
  return data;
}

static xmlDocPtr load_xml(const char *dir, const char *name)
{
  size_t len;
  char *data = slurp(dir, name, &len);
  xmlDocPtr doc;

  assert_non_null(data);
  /* Strict: no recovery, no network, no entity expansion. */
  doc = xmlReadMemory(data, (int)len, name, NULL, XML_PARSE_NONET);
  if(doc == NULL)
    fail_msg("%s is not well-formed", name);
  free(data);
  return doc;
}

static json_t *load_json(const char *dir, const char *name)
{
  char path[256];
  json_error_t err;
  json_t *j;

  snprintf(path, sizeof(path), "%s/%s", dir, name);
  j = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
  if(j == NULL)
    fail_msg("%s: %s (line %d)", name, err.text, err.line);
  return j;
}

static xmlXPathObjectPtr eval(xmlDocPtr doc, const char *expr)
{
  xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
  xmlXPathObjectPtr obj;

  assert_non_null(ctx);
  xmlXPathRegisterNs(ctx, BAD_CAST "a", BAD_CAST ATOM_NS);
  xmlXPathRegisterNs(ctx, BAD_CAST "atom", BAD_CAST ATOM_NS);
  xmlXPathRegisterNs(ctx, BAD_CAST "dc",
                     BAD_CAST "http://purl.org/dc/elements/1.1/");
  xmlXPathRegisterNs(ctx, BAD_CAST "content",
                     BAD_CAST "http://purl.org/rss/1.0/modules/content/");
  obj = xmlXPathEvalExpression(BAD_CAST expr, ctx);
  xmlXPathFreeContext(ctx);
  if(obj == NULL)
    fail_msg("bad XPath %s", expr);
  return obj;
}

/* string(expr), malloc'd. */
static char *xstr(xmlDocPtr doc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static char *xstr(xmlDocPtr doc, const char *fmt, ...)
{
  char expr[512], wrapped[600];
  xmlXPathObjectPtr obj;
  char *s;
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(expr, sizeof(expr), fmt, ap);
  va_end(ap);
  snprintf(wrapped, sizeof(wrapped), "string(%s)", expr);
  obj = eval(doc, wrapped);
  s = strdup((const char *)obj->stringval);
  xmlXPathFreeObject(obj);
  return s;
}

static long xnum(xmlDocPtr doc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static long xnum(xmlDocPtr doc, const char *fmt, ...)
{
  char expr[512];
  xmlXPathObjectPtr obj;
  long n;
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(expr, sizeof(expr), fmt, ap);
  va_end(ap);
  obj = eval(doc, expr);
  n = (long)xmlXPathCastToNumber(obj);
  xmlXPathFreeObject(obj);
  return n;
}

static int64_t parse_date(const char *s)
{
  int64_t t;

  if(date_parse(s, &t) != 0)
    fail_msg("not a date: '%s'", s);
  return t;
}

static void assert_relaxng_valid(xmlDocPtr doc)
{
  xmlRelaxNGParserCtxtPtr pc = xmlRelaxNGNewParserCtxt(SCHEMA);
  xmlRelaxNGPtr schema;
  xmlRelaxNGValidCtxtPtr vc;
  int rc;

  assert_non_null(pc);
  schema = xmlRelaxNGParse(pc);
  assert_non_null(schema);
  vc = xmlRelaxNGNewValidCtxt(schema);
  rc = xmlRelaxNGValidateDoc(vc, doc);
  xmlRelaxNGFreeValidCtxt(vc);
  xmlRelaxNGFree(schema);
  xmlRelaxNGFreeParserCtxt(pc);
  assert_int_equal(rc, 0);
  /* RFC 4287's Schematron rules. */
  assert_int_equal(xnum(doc, "count(/a:feed/a:entry[not(a:author)])") == 0 ||
                       xnum(doc, "count(/a:feed/a:author)") > 0,
                   1);
  assert_int_equal(xnum(doc, "count(/a:feed/a:entry[not(a:content) and "
                             "not(a:link[@rel='alternate' or not(@rel)])])"),
                   0);
}

static bool contains(const char *hay, const char *needle)
{
  return strstr(hay, needle) != NULL;
}

static void assert_no_temp_files(const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *e;

  assert_non_null(d);
  while((e = readdir(d)) != NULL)
    if(contains(e->d_name, ".tmp"))
      fail_msg("temporary file left: %s", e->d_name);
  closedir(d);
}

static void republish(struct fixture *f)
{
  publish_set_config(f->p, &f->s.cfg);
  assert_int_equal(publish_all(f->p, f->s.store), 0);
}

/* ---- fixtures ---------------------------------------------------------- */

static int setup_with(void **state, bool fill)
{
  struct fixture *f = calloc(1, sizeof(*f));

  assert_non_null(f);
  assert_int_equal(sample_open(&f->s, "public", fill), 0);
  snprintf(f->out, sizeof(f->out), "%s/public", f->s.dir);
  assert_int_equal(publish_new(&f->s.cfg, &f->p), 0);
  assert_int_equal(publish_all(f->p, f->s.store), 0);
  *state = f;
  return 0;
}

static int setup(void **state)
{
  return setup_with(state, true);
}

static int setup_empty(void **state)
{
  return setup_with(state, false);
}

static int teardown(void **state)
{
  struct fixture *f = *state;

  publish_free(f->p);
  sample_close(&f->s, "public");
  free(f);
  return 0;
}

/* ---- the documents ----------------------------------------------------- */

static void test_writes_every_document(void **state)
{
  struct fixture *f = *state;
  struct stat st;
  xmlDocPtr doc;
  json_t *j;

  for(size_t i = 0; i < NOUTPUTS; i++) {
    char path[256];

    snprintf(path, sizeof(path), "%s/%s", f->out, outputs[i]);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode) && st.st_size > 0);
    assert_int_equal(st.st_mode & 0777, 0644);
  }
  assert_no_temp_files(f->out);
  doc = load_xml(f->out, "feed.atom");
  xmlFreeDoc(doc);
  doc = load_xml(f->out, "feed.rss");
  xmlFreeDoc(doc);
  doc = load_xml(f->out, "feeds.opml");
  xmlFreeDoc(doc);
  j = load_json(f->out, "feed.json");
  json_decref(j);
  j = load_json(f->out, "recent.json");
  json_decref(j);
  /* Nothing unsafe or secret anywhere. (The JSON documents may hold
   * "<script>" as plain text in a title; the XML ones escape it.) */
  for(size_t i = 0; i < NOUTPUTS; i++) {
    char *data = slurp(f->out, outputs[i], NULL);

    assert_false(contains(data, "secret"));
    assert_false(contains(data, "javascript:"));
    assert_false(contains(data, "onerror"));
    if(!contains(outputs[i], ".json"))
      assert_false(contains(data, "<script"));
    assert_false(contains(data, "\x01"));
    assert_false(contains(data, "\x1b"));
    assert_true(render_text_is_clean(data));
    free(data);
  }
}

static void test_atom_is_valid(void **state)
{
  struct fixture *f = *state;
  xmlDocPtr doc = load_xml(f->out, "feed.atom");

  assert_relaxng_valid(doc);
  xmlFreeDoc(doc);
}

static void test_atom_feed_metadata(void **state)
{
  struct fixture *f = *state;
  xmlDocPtr doc = load_xml(f->out, "feed.atom");
  char *s;
  int64_t updated, newest = INT64_MIN;

  s = xstr(doc, "/a:feed/a:id");
  assert_string_equal(s, "https://planet.example.org/feed.atom");
  free(s);
  s = xstr(doc, "/a:feed/a:link[@rel='self']/@href");
  assert_string_equal(s, "https://planet.example.org/feed.atom");
  free(s);
  s = xstr(doc, "/a:feed/a:link[@rel='alternate']/@href");
  assert_string_equal(s, "https://planet.example.org/");
  free(s);
  s = xstr(doc, "/a:feed/a:title");
  assert_string_equal(s, "Planet Test");
  free(s);
  s = xstr(doc, "/a:feed/a:author/a:name");
  assert_string_equal(s, "Planet Editors");
  free(s);
  s = xstr(doc, "/a:feed/a:updated");
  updated = parse_date(s);
  free(s);
  for(long i = 1; i <= SAMPLE_UNIQUE; i++) {
    int64_t t;

    s = xstr(doc, "/a:feed/a:entry[%ld]/a:updated", i);
    t = parse_date(s);
    free(s);
    if(t > newest)
      newest = t;
  }
  assert_int_equal(updated, newest);
  xmlFreeDoc(doc);
}

static void test_atom_entries(void **state)
{
  struct fixture *f = *state;
  xmlDocPtr doc = load_xml(f->out, "feed.atom");
  int64_t prev = INT64_MAX, now = (int64_t)time(NULL);
  char *s, *t;

  /* One entry per stored entry, the cross-feed duplicate once. */
  assert_int_equal(xnum(doc, "count(/a:feed/a:entry)"), SAMPLE_UNIQUE);
  assert_int_equal(
      xnum(doc, "count(//a:entry[contains(a:link/@href, 'shared.example')])"),
      1);
  s = xstr(doc, "//a:entry[contains(a:link/@href, 'shared.example')]"
                "/a:source/a:title");
  assert_string_equal(s, "Alpha Blog"); /* the earliest-seen source */
  free(s);

  for(long i = 1; i <= SAMPLE_UNIQUE; i++) {
    int64_t pub, upd;

    /* Effective-date order, newest first, never in the future. */
    s = xstr(doc, "/a:feed/a:entry[%ld]/a:published", i);
    pub = parse_date(s);
    free(s);
    s = xstr(doc, "/a:feed/a:entry[%ld]/a:updated", i);
    upd = parse_date(s);
    free(s);
    assert_true(pub <= prev);
    assert_true(pub <= now && upd >= pub && upd <= now);
    prev = pub;
    /* Ids are IRIs, unique in the document. */
    s = xstr(doc, "/a:feed/a:entry[%ld]/a:id", i);
    assert_true(render_is_iri(s));
    assert_int_equal(xnum(doc, "count(//a:entry[a:id = '%s'])", s), 1);
    free(s);
    /* Every entry names an author and its source. */
    s = xstr(doc, "/a:feed/a:entry[%ld]/a:author/a:name", i);
    assert_true(*s != '\0');
    free(s);
    s = xstr(doc, "/a:feed/a:entry[%ld]/a:source/a:title", i);
    assert_true(*s != '\0');
    free(s);
    s = xstr(doc, "/a:feed/a:entry[%ld]/a:source/a:id", i);
    assert_true(render_is_iri(s));
    free(s);
  }

  /* The hostile entry: non-IRI guid, no dates, dirty title. */
  s = xstr(doc, "//a:entry[a:link/@href = "
                "'https://alpha.example.com/posts/42']/a:id");
  assert_true(strncmp(s, "tag:freshet,2024:alpha:", 23) == 0);
  free(s);
  s = xstr(doc, "//a:entry[a:link/@href = "
                "'https://alpha.example.com/posts/42']/a:title");
  assert_string_equal(s, "Bad title \xef\xbf\xbd\xef\xbf\xbd<script>alert(1)"
                         "</script> \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd end");
  free(s);
  s = xstr(doc, "//a:entry[a:link/@href = "
                "'https://alpha.example.com/posts/42']/a:content");
  assert_false(contains(s, "<script"));
  assert_false(contains(s, "onerror"));
  assert_false(contains(s, "javascript:"));
  assert_true(contains(s, "after"));
  free(s);
  s = xstr(doc, "//a:entry[a:link/@href = "
                "'https://alpha.example.com/posts/42']/a:published");
  assert_int_equal(parse_date(s), f->s.seen[0]); /* first seen */
  free(s);
  s = xstr(doc, "//a:entry[a:link/@href = "
                "'https://alpha.example.com/posts/42']/a:author/a:name");
  assert_string_equal(s, "Eve [31mred[0m");
  free(s);

  /* The future entry counts as published when first seen. */
  s = xstr(doc, "//a:entry[a:title = 'From the future']/a:published");
  assert_int_equal(parse_date(s), f->s.seen[0]);
  free(s);

  /* Two feeds with one id: the newer entry keeps it (it stays when the
   * older one leaves the window), the older gets its own. */
  s = xstr(doc, "//a:entry[a:title = 'Mirror of alpha one']/a:id");
  assert_string_equal(s, "https://alpha.example.com/posts/1");
  free(s);
  s = xstr(doc, "//a:entry[a:title = 'Alpha one']/a:id");
  assert_true(strncmp(s, "tag:freshet,2024:alpha:", 23) == 0);
  free(s);

  /* Full entry: author, categories, enclosure, summary and content,
   * source with its links (credentials never shown). */
  s = xstr(doc, "//a:entry[a:title = 'Alpha one']/a:author/a:name");
  assert_string_equal(s, "Ann Author");
  free(s);
  assert_int_equal(xnum(doc, "count(//a:entry[a:title = 'Alpha one']"
                             "/a:category)"),
                   2);
  s = xstr(doc, "//a:entry[a:title = 'Alpha one']/a:category[2]/@term");
  assert_string_equal(s, "c&d <e>");
  free(s);
  s = xstr(doc, "//a:entry[a:title = 'Alpha one']"
                "/a:link[@rel = 'enclosure']/@length");
  assert_string_equal(s, "1234");
  free(s);
  s = xstr(doc, "//a:entry[a:title = 'Alpha one']/a:content/@type");
  assert_string_equal(s, "html");
  free(s);
  s = xstr(doc, "//a:entry[a:title = 'Alpha one']/a:summary");
  assert_string_equal(s, "<p>Hello world.</p>");
  free(s);
  s = xstr(doc, "//a:entry[a:title = 'Alpha one']/a:source"
                "/a:link[@rel = 'self']/@href");
  assert_string_equal(s, "https://alpha.example.com/feed.xml");
  free(s);
  s = xstr(doc, "//a:entry[a:title = 'Mirror of alpha one']/a:source"
                "/a:link[@rel = 'self']/@href");
  assert_string_equal(s, "https://beta.example.net/rss");
  free(s);
  s = xstr(doc, "//a:entry[a:title = 'Mirror of alpha one']/a:source"
                "/a:title");
  assert_string_equal(s, "Beta & Co <News>");
  free(s);
  /* No author of its own: the source feed's title. */
  s = xstr(doc, "//a:entry[a:title = 'Gamma 0']/a:author/a:name");
  assert_string_equal(s, "gamma");
  free(s);

  /* The javascript: link dropped; its enclosures kept (without a bad
   * type). Without a link it needs content: its summary. */
  s = xstr(doc, "//a:entry[a:title = 'Episode 1']/a:content");
  assert_string_equal(s, "<p>An episode.</p>");
  free(s);
  assert_int_equal(
      xnum(doc, "count(//a:entry[a:title = 'Episode 1']/a:summary)"), 0);
  assert_int_equal(xnum(doc, "count(//a:entry[a:title = 'Episode 1']"
                             "/a:link[@rel = 'alternate'])"),
                   0);
  assert_int_equal(xnum(doc, "count(//a:entry[a:title = 'Episode 1']"
                             "/a:link[@rel = 'enclosure'])"),
                   2);
  assert_int_equal(xnum(doc, "count(//a:entry[a:title = 'Episode 1']"
                             "/a:link[@rel = 'enclosure'][@type])"),
                   0);
  /* No link: content is required. */
  s = xstr(doc, "//a:entry[a:title = 'Only a title']/a:id");
  assert_string_equal(s, "freshet:82cbbd8351be43aa");
  free(s);
  assert_int_equal(
      xnum(doc, "count(//a:entry[a:title = 'Only a title']/a:content)"), 1);
  t = xstr(doc, "//a:entry[a:title = 'Only a title']/a:published");
  assert_int_equal(parse_date(t), f->s.now - 100000);
  free(t);
  xmlFreeDoc(doc);
}

static void test_rss_matches_atom(void **state)
{
  struct fixture *f = *state;
  xmlDocPtr atom = load_xml(f->out, "feed.atom");
  xmlDocPtr rss = load_xml(f->out, "feed.rss");
  char *s, *t;

  assert_int_equal(xnum(rss, "count(/rss[@version = '2.0']/channel/item)"),
                   SAMPLE_UNIQUE);
  s = xstr(rss, "/rss/channel/atom:link[@rel = 'self']/@href");
  assert_string_equal(s, "https://planet.example.org/feed.rss");
  free(s);
  s = xstr(rss, "/rss/channel/lastBuildDate");
  t = xstr(atom, "/a:feed/a:updated");
  assert_int_equal(parse_date(s), parse_date(t));
  free(s);
  free(t);
  for(long i = 1; i <= SAMPLE_UNIQUE; i++) {
    char *perma;

    /* Same entries, same order, same ids and dates. */
    s = xstr(rss, "/rss/channel/item[%ld]/guid", i);
    t = xstr(atom, "/a:feed/a:entry[%ld]/a:id", i);
    assert_string_equal(s, t);
    perma = xstr(rss, "/rss/channel/item[%ld]/guid/@isPermaLink", i);
    if(strncmp(s, "https://", 8) == 0)
      assert_string_equal(perma, "");
    else
      assert_string_equal(perma, "false");
    free(perma);
    free(s);
    free(t);
    s = xstr(rss, "/rss/channel/item[%ld]/pubDate", i);
    assert_true(strlen(s) == 31 && contains(s, " +0000"));
    t = xstr(atom, "/a:feed/a:entry[%ld]/a:published", i);
    assert_int_equal(parse_date(s), parse_date(t));
    free(s);
    free(t);
    s = xstr(rss, "/rss/channel/item[%ld]/dc:creator", i);
    t = xstr(atom, "/a:feed/a:entry[%ld]/a:author/a:name", i);
    assert_string_equal(s, t);
    free(s);
    free(t);
    s = xstr(rss, "/rss/channel/item[%ld]/source", i);
    t = xstr(atom, "/a:feed/a:entry[%ld]/a:source/a:title", i);
    assert_string_equal(s, t);
    free(s);
    free(t);
    /* An item has a title or a description. */
    assert_true(xnum(rss,
                     "count(/rss/channel/item[%ld]/title | "
                     "/rss/channel/item[%ld]/description)",
                     i, i) > 0);
  }
  /* Enclosure attributes are all required in RSS. */
  s = xstr(rss, "//item[title = 'Episode 1']/enclosure[1]/@length");
  assert_string_equal(s, "0");
  free(s);
  s = xstr(rss, "//item[title = 'Episode 1']/enclosure[1]/@type");
  assert_string_equal(s, "application/octet-stream");
  free(s);
  s = xstr(rss, "//item[title = 'Mirror of alpha one']/source/@url");
  assert_string_equal(s, "https://beta.example.net/rss");
  free(s);
  /* description: the summary; content:encoded: the content. */
  s = xstr(rss, "//item[title = 'Alpha one']/description");
  assert_string_equal(s, "<p>Hello world.</p>");
  free(s);
  s = xstr(rss, "//item[title = 'Alpha one']/content:encoded");
  assert_true(strncmp(s, "<p>Hello <b>world</b>.", 22) == 0);
  free(s);
  s = xstr(rss, "//item[title = 'Gamma 0']/description");
  assert_string_equal(s, "<p>Gamma <em>content</em>.</p>");
  free(s);
  xmlFreeDoc(atom);
  xmlFreeDoc(rss);
}

static void test_jsonfeed_matches_atom(void **state)
{
  struct fixture *f = *state;
  xmlDocPtr atom = load_xml(f->out, "feed.atom");
  json_t *j = load_json(f->out, "feed.json");
  json_t *items = json_object_get(j, "items");
  json_t *it;
  size_t i;

  assert_string_equal(json_string_value(json_object_get(j, "version")),
                      "https://jsonfeed.org/version/1.1");
  assert_string_equal(json_string_value(json_object_get(j, "feed_url")),
                      "https://planet.example.org/feed.json");
  assert_string_equal(json_string_value(json_object_get(j, "home_page_url")),
                      "https://planet.example.org/");
  assert_int_equal(json_array_size(items), SAMPLE_UNIQUE);
  json_array_foreach(items, i, it)
  {
    json_t *src = json_object_get(json_object_get(it, "_freshet"), "source");
    char *id = xstr(atom, "/a:feed/a:entry[%zu]/a:id", i + 1);
    char *pub = xstr(atom, "/a:feed/a:entry[%zu]/a:published", i + 1);

    assert_string_equal(json_string_value(json_object_get(it, "id")), id);
    assert_string_equal(
        json_string_value(json_object_get(it, "date_published")), pub);
    assert_true(json_is_string(json_object_get(it, "content_html")));
    assert_true(json_is_string(json_object_get(src, "name")));
    assert_true(json_is_string(json_object_get(src, "title")));
    assert_true(json_array_size(json_object_get(it, "authors")) == 1);
    if(json_object_get(it, "summary"))
      assert_null(
          strchr(json_string_value(json_object_get(it, "summary")), '<'));
    free(id);
    free(pub);
  }
  it = json_array_get(items, 0); /* the title-less status, newest */
  assert_null(json_object_get(it, "title"));
  assert_string_equal(
      json_string_value(json_object_get(
          json_object_get(json_object_get(it, "_freshet"), "source"),
          "feed_url")),
      "https://beta.example.net/rss");
  xmlFreeDoc(atom);
  json_decref(j);
}

static size_t utf8_chars(const char *s)
{
  size_t n = 0;

  for(; *s; s++)
    n += ((unsigned char)*s & 0xc0) != 0x80;
  return n;
}

static void test_recent_fields(void **state)
{
  struct fixture *f = *state;
  xmlDocPtr atom = load_xml(f->out, "feed.atom");
  json_t *j = load_json(f->out, "recent.json");
  json_t *items = json_object_get(j, "items");
  json_t *it;
  int64_t generated;
  size_t i;

  assert_string_equal(json_string_value(json_object_get(j, "title")),
                      "Planet Test");
  assert_string_equal(json_string_value(json_object_get(j, "link")),
                      "https://planet.example.org/");
  generated = parse_date(json_string_value(json_object_get(j, "generated")));
  assert_true(generated >= f->s.now && generated <= (int64_t)time(NULL));
  assert_int_equal(json_array_size(items), f->s.cfg.recent);
  json_array_foreach(items, i, it)
  {
    static const char *const keys[] = {"title",     "url",         "excerpt",
                                       "image",     "source",      "author",
                                       "published", "age_seconds", "ago"};
    json_t *src = json_object_get(it, "source");
    const char *excerpt = json_string_value(json_object_get(it, "excerpt"));
    char *pub = xstr(atom, "/a:feed/a:entry[%zu]/a:published", i + 1);
    int64_t published;
    char ago[64];

    for(size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
      if(json_object_get(it, keys[k]) == NULL)
        fail_msg("item %zu has no %s", i, keys[k]);
    assert_int_equal(json_object_size(it), sizeof(keys) / sizeof(keys[0]));
    assert_int_equal(json_object_size(src), 3);
    assert_true(json_is_string(json_object_get(src, "title")));
    assert_true(json_is_string(json_object_get(src, "url")));
    assert_true(json_is_string(json_object_get(src, "name")));
    assert_true(*json_string_value(json_object_get(it, "title")) != '\0');
    /* The same order and dates as the feeds. */
    assert_string_equal(json_string_value(json_object_get(it, "published")),
                        pub);
    published = parse_date(pub);
    free(pub);
    assert_int_equal(json_integer_value(json_object_get(it, "age_seconds")),
                     generated > published ? generated - published : 0);
    assert_string_equal(json_string_value(json_object_get(it, "ago")),
                        ago_format(published, generated, ago, sizeof(ago)));
    if(excerpt) {
      assert_true(utf8_chars(excerpt) <= (size_t)f->s.cfg.excerpt);
      assert_null(strchr(excerpt, '<'));
    }
  }
  /* The title-less status is titled with the start of its text. */
  it = json_array_get(items, 0);
  assert_true(strncmp(json_string_value(json_object_get(it, "title")),
                      "A short status update", 21) == 0);
  assert_true(json_is_null(json_object_get(it, "author")));
  assert_string_equal(json_string_value(json_object_get(it, "ago")),
                      "10 mins ago");
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(it, "source"), "url")),
      "https://beta.example.net/");
  /* The long post is cut at a word with an ellipsis. */
  json_array_foreach(items, i, it)
  {
    const char *title = json_string_value(json_object_get(it, "title"));
    const char *excerpt;

    if(strcmp(title, "Alpha one") != 0)
      continue;
    excerpt = json_string_value(json_object_get(it, "excerpt"));
    assert_true(strncmp(excerpt, "Hello world. This first post", 28) == 0);
    assert_string_equal(excerpt + strlen(excerpt) - 3, ELLIPSIS);
    assert_true(excerpt[strlen(excerpt) - 4] != ' ');
    assert_string_equal(json_string_value(json_object_get(it, "image")),
                        "https://alpha.example.com/a.png");
    assert_string_equal(json_string_value(json_object_get(it, "author")),
                        "Ann Author");
    assert_string_equal(json_string_value(json_object_get(it, "ago")),
                        "2 hours ago");
    break;
  }
  assert_true(i < json_array_size(items));
  xmlFreeDoc(atom);
  json_decref(j);
}

static void test_opml_lists_subscriptions(void **state)
{
  struct fixture *f = *state;
  size_t len, n;
  char *data = slurp(f->out, "feeds.opml", &len);
  struct config_feed *feeds;
  char err[256];

  assert_int_equal(
      opml_read(data, len, "feeds.opml", &feeds, &n, err, sizeof(err)), 0);
  assert_int_equal(n, 3);
  assert_string_equal(feeds[1].url, "https://beta.example.net/rss");
  opml_feeds_free(feeds, n);
  free(data);
}

static void test_limits(void **state)
{
  struct fixture *f = *state;
  xmlDocPtr doc;
  json_t *j;
  char *first;

  doc = load_xml(f->out, "feed.atom");
  first = xstr(doc, "/a:feed/a:entry[1]/a:id");
  xmlFreeDoc(doc);
  f->s.cfg.items = 3;
  f->s.cfg.recent = 2;
  republish(f);
  doc = load_xml(f->out, "feed.atom");
  assert_int_equal(xnum(doc, "count(/a:feed/a:entry)"), 3);
  {
    char *s = xstr(doc, "/a:feed/a:entry[1]/a:id");

    assert_string_equal(s, first);
    free(s);
  }
  assert_relaxng_valid(doc);
  xmlFreeDoc(doc);
  doc = load_xml(f->out, "feed.rss");
  assert_int_equal(xnum(doc, "count(//item)"), 3);
  xmlFreeDoc(doc);
  j = load_json(f->out, "feed.json");
  assert_int_equal(json_array_size(json_object_get(j, "items")), 3);
  json_decref(j);
  j = load_json(f->out, "recent.json");
  assert_int_equal(json_array_size(json_object_get(j, "items")), 2);
  json_decref(j);
  /* More recent items than feed items: one query serves both. */
  f->s.cfg.items = 1;
  f->s.cfg.recent = 5;
  republish(f);
  doc = load_xml(f->out, "feed.atom");
  assert_int_equal(xnum(doc, "count(/a:feed/a:entry)"), 1);
  xmlFreeDoc(doc);
  j = load_json(f->out, "recent.json");
  assert_int_equal(json_array_size(json_object_get(j, "items")), 5);
  json_decref(j);
  free(first);
}

/* ---- atomic replacement ----------------------------------------------- */

struct snapshot {
  char *data[NOUTPUTS];
  size_t len[NOUTPUTS];
};

static void snapshot_take(struct snapshot *s, const char *dir)
{
  for(size_t i = 0; i < NOUTPUTS; i++) {
    s->data[i] = slurp(dir, outputs[i], &s->len[i]);
    assert_non_null(s->data[i]);
  }
}

static void snapshot_check_and_free(struct snapshot *s, const char *dir)
{
  for(size_t i = 0; i < NOUTPUTS; i++) {
    size_t len;
    char *now = slurp(dir, outputs[i], &len);

    assert_non_null(now);
    if(len != s->len[i] || memcmp(now, s->data[i], len) != 0)
      fail_msg("%s changed", outputs[i]);
    free(now);
    free(s->data[i]);
  }
}

static void test_failed_write_keeps_old_files(void **state)
{
  struct fixture *f = *state;
  struct snapshot snap;
  struct rlimit old, tiny = {1, 1};
  void (*old_handler)(int);

  snapshot_take(&snap, f->out);
  /* A new title changes every document. The write fails (file size
   * limit, which holds for root too): an error, the old files stay. */
  f->s.cfg.title = (char *)"Planet Changed";
  publish_set_config(f->p, &f->s.cfg);
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
  old_handler = signal(SIGXFSZ, SIG_IGN);
  tiny.rlim_max = old.rlim_max;
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &tiny), 0);
  assert_int_equal(publish_all(f->p, f->s.store), -EFBIG);
  assert_int_equal(publish_recent(f->p, f->s.store), -EFBIG);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, old_handler);
  snapshot_check_and_free(&snap, f->out);
  assert_no_temp_files(f->out);

  /* A read-only directory (permission bits do not stop root). */
  if(geteuid() != 0) {
    snapshot_take(&snap, f->out);
    f->s.cfg.title = (char *)"Planet Changed Again";
    publish_set_config(f->p, &f->s.cfg);
    assert_int_equal(chmod(f->out, 0555), 0);
    assert_int_equal(publish_all(f->p, f->s.store), -EACCES);
    assert_int_equal(chmod(f->out, 0755), 0);
    snapshot_check_and_free(&snap, f->out);
    assert_no_temp_files(f->out);
  }

  /* Once writes work again, everything is replaced. */
  assert_int_equal(publish_all(f->p, f->s.store), 0);
  for(size_t i = 0; i < NOUTPUTS; i++) {
    char *data = slurp(f->out, outputs[i], NULL);

    assert_true(contains(data, "Planet Changed"));
    free(data);
  }
}

static void test_output_dir_is_a_file(void **state)
{
  struct fixture *f = *state;
  struct publish *p = NULL;
  char path[256];
  int fd;

  /* publish_new refuses an output directory it cannot make. */
  snprintf(path, sizeof(path), "%s/notadir", f->s.dir);
  fd = open(path, O_CREAT | O_WRONLY, 0644);
  assert_true(fd >= 0);
  close(f->s.cfg.output_dir ? fd : fd);
  f->s.cfg.output_dir = (char *)"notadir/sub";
  assert_true(publish_new(&f->s.cfg, &p) < 0);
  assert_null(p);
  f->s.cfg.output_dir = (char *)"public";
  unlink(path);
}

static void test_unchanged_documents_not_rewritten(void **state)
{
  struct fixture *f = *state;
  char path[256];
  struct stat a, b;

  snprintf(path, sizeof(path), "%s/feed.atom", f->out);
  assert_int_equal(stat(path, &a), 0);
  assert_int_equal(publish_all(f->p, f->s.store), 0);
  assert_int_equal(stat(path, &b), 0);
  assert_int_equal(a.st_ino, b.st_ino); /* same file: not replaced */
  /* Deleted behind our back: written again. */
  assert_int_equal(unlink(path), 0);
  assert_int_equal(publish_all(f->p, f->s.store), 0);
  assert_int_equal(stat(path, &b), 0);
  /* Changed: replaced. */
  f->s.cfg.title = (char *)"Other";
  republish(f);
  assert_int_equal(stat(path, &a), 0);
  assert_true(a.st_ino != b.st_ino);
}

/* A second publisher (a later `freshet poll`) finds the documents an
 * earlier one wrote: unchanged ones are left as they are, a document that
 * differs on disk is replaced. */
static void test_new_publisher_keeps_identical_files(void **state)
{
  struct fixture *f = *state;
  struct publish *p = NULL;
  struct stat before[NOUTPUTS], after[NOUTPUTS];
  char path[256], *rss;

  for(size_t i = 0; i < NOUTPUTS; i++) {
    snprintf(path, sizeof(path), "%s/%s", f->out, outputs[i]);
    assert_int_equal(stat(path, &before[i]), 0);
  }
  /* Same size, other bytes: must be replaced. */
  snprintf(path, sizeof(path), "%s/feed.rss", f->out);
  {
    int fd = open(path, O_WRONLY);

    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "X", 1, 0), 1);
    close(fd);
  }
  assert_int_equal(publish_new(&f->s.cfg, &p), 0);
  assert_int_equal(publish_all(p, f->s.store), 0);
  publish_free(p);
  for(size_t i = 0; i < NOUTPUTS; i++) {
    snprintf(path, sizeof(path), "%s/%s", f->out, outputs[i]);
    assert_int_equal(stat(path, &after[i]), 0);
    if(strcmp(outputs[i], "feed.rss") == 0 ||
       strcmp(outputs[i], "recent.json") == 0) /* its "generated" moves */
      continue;
    if(before[i].st_ino != after[i].st_ino)
      fail_msg("%s was written again with the same bytes", outputs[i]);
  }
  assert_true(after[1].st_ino != before[1].st_ino);
  rss = slurp(f->out, "feed.rss", NULL);
  assert_non_null(rss);
  assert_int_equal(rss[0], '<');
  free(rss);
}

static void test_stale_temp_files_removed(void **state)
{
  struct fixture *f = *state;
  struct publish *p = NULL;
  char ours[256], theirs[256];
  int fd;

  snprintf(ours, sizeof(ours), "%s/.feed.atom.tmpAbC123", f->out);
  snprintf(theirs, sizeof(theirs), "%s/.other.tmpAbC123", f->out);
  fd = open(ours, O_CREAT | O_WRONLY, 0600);
  assert_true(fd >= 0);
  close(fd);
  fd = open(theirs, O_CREAT | O_WRONLY, 0600);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(publish_new(&f->s.cfg, &p), 0);
  assert_int_equal(access(ours, F_OK), -1);
  assert_int_equal(access(theirs, F_OK), 0);
  publish_free(p);
  unlink(theirs);
}

static void test_publish_recent_only(void **state)
{
  struct fixture *f = *state;
  char atom[256], recent[256];

  snprintf(atom, sizeof(atom), "%s/feed.atom", f->out);
  snprintf(recent, sizeof(recent), "%s/recent.json", f->out);
  assert_int_equal(unlink(atom), 0);
  assert_int_equal(unlink(recent), 0);
  assert_int_equal(publish_recent(f->p, f->s.store), 0);
  assert_int_equal(access(recent, F_OK), 0);
  assert_int_equal(access(atom, F_OK), -1);
}

static void test_documents_in_memory(void **state)
{
  struct fixture *f = *state;
  struct render_doc *old, *doc;
  char *data;
  size_t len;

  assert_null(publish_get(f->p, "nope.txt"));
  for(size_t i = 0; i < NOUTPUTS; i++) {
    doc = publish_get(f->p, outputs[i]);
    assert_non_null(doc);
    data = slurp(f->out, outputs[i], &len);
    assert_int_equal(doc->len, len);
    assert_memory_equal(doc->data, data, len);
    assert_string_equal(doc->name, outputs[i]);
    assert_true(contains(doc->content_type, "charset=utf-8"));
    assert_int_equal(strlen(doc->etag), 18);
    assert_true(doc->etag[0] == '"' && doc->etag[17] == '"');
    free(data);
    render_doc_unref(doc);
  }
  /* A reader's reference outlives the next publication. */
  old = publish_get(f->p, "feed.atom");
  f->s.cfg.title = (char *)"Renamed";
  republish(f);
  doc = publish_get(f->p, "feed.atom");
  assert_ptr_not_equal(old, doc);
  assert_true(contains(old->data, "Planet Test"));
  assert_true(contains(doc->data, "Renamed"));
  assert_string_not_equal(old->etag, doc->etag);
  render_doc_unref(old);
  render_doc_unref(doc);
}

struct updates {
  int count[NOUTPUTS];
  char *last[NOUTPUTS];
};

static void on_update(void *arg, const char *name, const char *content_type,
                      const char *body, size_t len)
{
  struct updates *u = arg;

  for(size_t i = 0; i < NOUTPUTS; i++)
    if(strcmp(name, outputs[i]) == 0) {
      assert_true(contains(content_type, "charset=utf-8"));
      assert_int_equal(strlen(body), len);
      u->count[i]++;
      free(u->last[i]);
      u->last[i] = strdup(body);
      return;
    }
  fail_msg("unknown document %s", name);
}

static void test_update_callback(void **state)
{
  struct fixture *f = *state;
  struct updates u = {0};
  size_t len;
  char *data;

  /* Set after the first publication: every document at once. */
  publish_on_update(f->p, on_update, &u);
  for(size_t i = 0; i < NOUTPUTS; i++)
    assert_int_equal(u.count[i], 1);
  /* Unchanged documents are not pushed again (recent.json and
   * feeds.opml carry the time, so only the feeds are known to stay). */
  republish(f);
  for(size_t i = 0; i < 3; i++)
    assert_int_equal(u.count[i], 1);
  /* Changed ones are. */
  f->s.cfg.items = 2;
  republish(f);
  for(size_t i = 0; i < 3; i++)
    assert_int_equal(u.count[i], 2);
  data = slurp(f->out, "feed.atom", &len);
  assert_string_equal(u.last[0], data);
  free(data);
  publish_on_update(f->p, NULL, NULL);
  f->s.cfg.items = 3;
  republish(f);
  assert_int_equal(u.count[0], 2);
  for(size_t i = 0; i < NOUTPUTS; i++)
    free(u.last[i]);
}

static void test_empty_store(void **state)
{
  struct fixture *f = *state;
  xmlDocPtr doc = load_xml(f->out, "feed.atom");
  json_t *j;
  char *s;

  assert_relaxng_valid(doc);
  assert_int_equal(xnum(doc, "count(/a:feed/a:entry)"), 0);
  s = xstr(doc, "/a:feed/a:updated");
  assert_true(parse_date(s) >= f->s.now);
  free(s);
  xmlFreeDoc(doc);
  doc = load_xml(f->out, "feed.rss");
  assert_int_equal(xnum(doc, "count(//item)"), 0);
  xmlFreeDoc(doc);
  j = load_json(f->out, "recent.json");
  assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
  json_decref(j);
  j = load_json(f->out, "feed.json");
  assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
  json_decref(j);
}

/* ---- helpers of the renderers ----------------------------------------- */

static void test_text_clean(void **state)
{
  static const struct {
    const char *in, *want;
  } cases[] = {
      {"", ""},
      {"plain", "plain"},
      {"tab\tnl\ncr\r", "tab\tnl\ncr\r"},
      {"a\x01\x08\x0b\x0c\x1f\x7f"
       "b",
       "ab"},
      {"\xc2\x80\xc2\x9f"
       "c1",
       "c1"},                                       /* C1 controls */
      {"\xef\xbf\xbe\xef\xbf\xbfz", "z"},           /* U+FFFE, U+FFFF */
      {"caf\xc3\xa9 \xe2\x80\xa6 \xf0\x9f\x98\x80", /* é … 😀 */
       "caf\xc3\xa9 \xe2\x80\xa6 \xf0\x9f\x98\x80"},
      {"caf\xe9!", "caf\xef\xbf\xbd!"},         /* Latin-1 */
      {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"}, /* overlong '/' */
      {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
      {"\xf4\x90\x80\x80", /* above U+10FFFF */
       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
      {"cut\xe2\x80", "cut\xef\xbf\xbd\xef\xbf\xbd"}, /* truncated */
  };

  (void)state;
  assert_null(render_text_clean(NULL));
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *got = render_text_clean(cases[i].in);

    assert_non_null(got);
    if(strcmp(got, cases[i].want) != 0)
      fail_msg("case %zu: got '%s'", i, got);
    assert_true(render_text_is_clean(got));
    assert_int_equal(render_text_is_clean(cases[i].in),
                     strcmp(cases[i].in, cases[i].want) == 0);
    free(got);
  }
}

static void test_iri(void **state)
{
  (void)state;
  assert_true(render_is_iri("https://ex.com/a"));
  assert_true(render_is_iri("urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a"));
  assert_true(render_is_iri("tag:ex.com,2024:x"));
  assert_true(render_is_iri("https://ex.com/caf\xc3\xa9"));
  assert_false(render_is_iri("42"));
  assert_false(render_is_iri("/relative/path"));
  assert_false(render_is_iri("1abc:x"));
  assert_false(render_is_iri("urn:"));
  assert_false(render_is_iri("https://ex.com/a b"));
  assert_false(render_is_iri("https://ex.com/<x>"));
  assert_false(render_is_iri(""));
  assert_false(render_is_iri(NULL));
}

static void check_channel(const char *link, const char *listen, const char *id,
                          const char *want_link, const char *want_id)
{
  struct config cfg = {0};
  struct render_channel ch;
  char *url;

  cfg.title = (char *)"";
  cfg.link = (char *)link;
  cfg.listen = (char *)listen;
  cfg.id = (char *)id;
  cfg.author = (char *)"";
  assert_int_equal(render_channel_init(&ch, &cfg, 1700000000), 0);
  assert_string_equal(ch.title, "freshet");
  assert_string_equal(ch.link, want_link);
  assert_string_equal(ch.id, want_id);
  assert_null(ch.author);
  url = render_model_url(&ch, "recent.json");
  assert_true(strncmp(url, "http", 4) == 0 && contains(url, "/recent.json"));
  free(url);
  render_channel_clear(&ch);
}

static void test_channel_defaults(void **state)
{
  (void)state;
  check_channel("", "", "", "http://localhost/", "http://localhost/feed.atom");
  check_channel(NULL, NULL, NULL, "http://localhost/",
                "http://localhost/feed.atom");
  check_channel("", "127.0.0.1:8080", "", "http://127.0.0.1:8080/",
                "http://127.0.0.1:8080/feed.atom");
  check_channel("", "0.0.0.0:8080", "", "http://localhost:8080/",
                "http://localhost:8080/feed.atom");
  check_channel("", "[::]:9000", "", "http://localhost:9000/",
                "http://localhost:9000/feed.atom");
  check_channel("", "[::1]:9000", "", "http://[::1]:9000/",
                "http://[::1]:9000/feed.atom");
  /* Feed URLs resolve against the link (RFC 3986). */
  check_channel("https://ex.com/planet/", "", "", "https://ex.com/planet/",
                "https://ex.com/planet/feed.atom");
  check_channel("https://ex.com", "", "", "https://ex.com",
                "https://ex.com/feed.atom");
  check_channel("https://ex.com/planet", "", "", "https://ex.com/planet",
                "https://ex.com/feed.atom");
  /* A configured id is kept when it is an IRI. */
  check_channel("https://ex.com/", "", "urn:uuid:60a76c80-d399-11d9",
                "https://ex.com/", "urn:uuid:60a76c80-d399-11d9");
  check_channel("https://ex.com/", "", "my planet", "https://ex.com/",
                "https://ex.com/feed.atom");
}

static void test_rss_date(void **state)
{
  char buf[40];

  (void)state;
  assert_int_equal(render_rss_date(0, buf, sizeof(buf)), 0);
  assert_string_equal(buf, "Thu, 01 Jan 1970 00:00:00 +0000");
  assert_int_equal(render_rss_date(1700000000, buf, sizeof(buf)), 0);
  assert_string_equal(buf, "Tue, 14 Nov 2023 22:13:20 +0000");
  assert_int_equal(render_rss_date(INT64_C(253402300799), buf, sizeof(buf)), 0);
  assert_string_equal(buf, "Fri, 31 Dec 9999 23:59:59 +0000");
  assert_int_equal(render_rss_date(INT64_C(253402300800), buf, sizeof(buf)),
                   -EINVAL);
  assert_string_equal(buf, "");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_writes_every_document, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_atom_is_valid, setup, teardown),
      cmocka_unit_test_setup_teardown(test_atom_feed_metadata, setup, teardown),
      cmocka_unit_test_setup_teardown(test_atom_entries, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rss_matches_atom, setup, teardown),
      cmocka_unit_test_setup_teardown(test_jsonfeed_matches_atom, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_recent_fields, setup, teardown),
      cmocka_unit_test_setup_teardown(test_opml_lists_subscriptions, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
      cmocka_unit_test_setup_teardown(test_failed_write_keeps_old_files, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_output_dir_is_a_file, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_new_publisher_keeps_identical_files,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_unchanged_documents_not_rewritten,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_stale_temp_files_removed, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_publish_recent_only, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_documents_in_memory, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_update_callback, setup, teardown),
      cmocka_unit_test_setup_teardown(test_empty_store, setup_empty, teardown),
      cmocka_unit_test(test_text_clean),
      cmocka_unit_test(test_iri),
      cmocka_unit_test(test_channel_defaults),
      cmocka_unit_test(test_rss_date),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
