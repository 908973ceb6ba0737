/*
 * test_opml.c: OPML in and out.
 *
 * Data-driven part: every fixtures/config/opml/NAME.opml has beside it
 * either NAME.expected (one line per feed, in document order: name, url,
 * title or "-", tags joined by ",", interval, enabled; tab-separated) or
 * NAME.error (the exact "file:line: reason"). Each good fixture must also
 * survive opml_write -> opml_read unchanged. The rest: names, hostile
 * documents, writing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "config.h"
#include "opml.h"

#include <dirent.h>
#include <errno.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURES "fixtures/config/opml"

static char *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  char *data;
  long n;

  if(!f)
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

/* The feeds as the .expected files have them. */
static char *describe(const struct config_feed *feeds, size_t n)
{
  size_t cap = 4096, len = 0;
  char *s = malloc(cap);

  assert_non_null(s);
  s[0] = '\0';
  for(size_t i = 0; i < n; i++) {
    const struct config_feed *f = &feeds[i];
    char line[4096];
    int o = snprintf(line, sizeof(line), "%s\t%s\t%s\t", f->name, f->url,
                     f->title ? f->title : "-");

    for(size_t t = 0; t < f->ntags; t++)
      o += snprintf(line + o, sizeof(line) - (size_t)o, "%s%s", t ? "," : "",
                    f->tags[t]);
    o += snprintf(line + o, sizeof(line) - (size_t)o, "\t%lld\t%d\n",
                  (long long)f->interval, f->enabled ? 1 : 0);
    while(len + (size_t)o + 1 > cap) {
      cap *= 2;
      s = realloc(s, cap);
      assert_non_null(s);
    }
    memcpy(s + len, line, (size_t)o + 1);
    len += (size_t)o;
  }
  return s;
}

/* The expected text without its '#' comment lines. */
static char *expected_text(const char *path)
{
  char *raw = slurp(path, NULL);
  char *out, *o;

  if(!raw)
    return NULL;
  out = malloc(strlen(raw) + 1);
  assert_non_null(out);
  o = out;
  for(char *line = raw; *line;) {
    char *nl = strchr(line, '\n');
    size_t l = nl ? (size_t)(nl - line) + 1 : strlen(line);

    if(line[0] != '#') {
      memcpy(o, line, l);
      o += l;
    }
    line += l;
  }
  *o = '\0';
  free(raw);
  return out;
}

static const struct config_feed *by_name(const struct config_feed *feeds,
                                         size_t n, const char *name)
{
  for(size_t i = 0; i < n; i++)
    if(strcmp(feeds[i].name, name) == 0)
      return &feeds[i];
  return NULL;
}

/* opml_write -> opml_read gives the same feeds (in any order). */
static void check_round_trip(const struct config_feed *a, size_t na)
{
  struct config_feed *b = NULL;
  size_t nb = 0;
  char err[256];
  char *doc = opml_write(a, na, "round trip");

  assert_non_null(doc);
  assert_int_equal(
      opml_read(doc, strlen(doc), "rt.opml", &b, &nb, err, sizeof(err)), 0);
  assert_int_equal(nb, na);
  for(size_t i = 0; i < na; i++) {
    const struct config_feed *x = &a[i];
    const struct config_feed *y = by_name(b, nb, x->name);

    assert_non_null(y);
    assert_string_equal(y->url, x->url);
    if(x->title)
      assert_string_equal(y->title, x->title);
    else
      assert_null(y->title);
    assert_int_equal(y->ntags, x->ntags);
    for(size_t t = 0; t < x->ntags; t++)
      assert_string_equal(y->tags[t], x->tags[t]);
    assert_int_equal(y->interval, x->interval);
    assert_int_equal(y->enabled, x->enabled);
  }
  opml_feeds_free(b, nb);
  free(doc);
}

static void test_fixtures(void **state)
{
  DIR *d = opendir(FIXTURES);
  struct dirent *e;
  int good = 0, bad = 0;

  (void)state;
  assert_non_null(d);
  while((e = readdir(d)) != NULL) {
    char path[512], exp_path[512], base[256];
    size_t n = strlen(e->d_name), len = 0, nfeeds = 0;
    struct config_feed *feeds = NULL;
    char err[512];
    char *data, *want;
    int rc;

    if(n < 6 || strcmp(e->d_name + n - 5, ".opml") != 0)
      continue;
    snprintf(base, sizeof(base), "%.*s", (int)(n - 5), e->d_name);
    snprintf(path, sizeof(path), "%s/%s", FIXTURES, e->d_name);
    data = slurp(path, &len);
    assert_non_null(data);
    rc = opml_read(data, len, e->d_name, &feeds, &nfeeds, err, sizeof(err));
    snprintf(exp_path, sizeof(exp_path), "%s/%s.expected", FIXTURES, base);
    want = expected_text(exp_path);
    if(want) {
      char *got;

      if(rc != 0)
        fail_msg("%s: %s", e->d_name, err);
      got = describe(feeds, nfeeds);
      if(strcmp(got, want) != 0)
        fail_msg("%s:\n--- got\n%s--- want\n%s", e->d_name, got, want);
      check_round_trip(feeds, nfeeds);
      free(got);
      good++;
    } else {
      snprintf(exp_path, sizeof(exp_path), "%s/%s.error", FIXTURES, base);
      want = slurp(exp_path, NULL);
      if(!want)
        fail_msg("%s: no .expected or .error beside it", e->d_name);
      want[strcspn(want, "\n")] = '\0';
      assert_int_equal(rc, -EINVAL);
      assert_null(feeds);
      assert_int_equal(nfeeds, 0);
      if(strcmp(err, want) != 0)
        fail_msg("%s: got '%s', want '%s'", e->d_name, err, want);
      bad++;
    }
    opml_feeds_free(feeds, nfeeds);
    free(want);
    free(data);
  }
  closedir(d);
  assert_true(good >= 5);
  assert_true(bad >= 4);
}

static int read_str(const char *doc, struct config_feed **feeds, size_t *n,
                    char *err, size_t errlen)
{
  return opml_read(doc, strlen(doc), "t.opml", feeds, n, err, errlen);
}

static void test_names(void **state)
{
  const char *doc =
      "<opml version=\"2.0\"><body>\n"
      "<outline text=\"Tokyo News\" xmlUrl=\"https://a.example/1\"/>\n"
      "<outline text=\"Tokyo  News!\" xmlUrl=\"https://a.example/2\"/>\n"
      "<outline text=\"tokyo-news-2\" xmlUrl=\"https://a.example/3\"/>\n"
      "<outline xmlUrl=\"https://WWW.Example.COM:8080/x\"/>\n"
      "<outline text=\"???\" xmlUrl=\"https://example.com/y\"/>\n"
      "<outline text=\"\" xmlUrl=\"not a url\"/>\n"
      "<outline text=\"" /* 70 x */
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "\" xmlUrl=\"https://b.example/1\"/>\n"
      "<outline text=\""
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "\" xmlUrl=\"https://b.example/2\"/>\n"
      "</body></opml>\n";
  struct config_feed *f = NULL;
  size_t n = 0;
  char err[256];

  (void)state;
  assert_int_equal(read_str(doc, &f, &n, err, sizeof(err)), 0);
  assert_int_equal(n, 8);
  assert_string_equal(f[0].name, "tokyo-news");
  assert_string_equal(f[1].name, "tokyo-news-2");
  /* derived from its own title, and taken: suffixed again */
  assert_string_equal(f[2].name, "tokyo-news-2-2");
  assert_string_equal(f[3].name, "example.com");
  assert_string_equal(f[4].name, "example.com-2");
  /* no title, no host: still a valid name (config reports the URL) */
  assert_string_equal(f[5].name, "feed");
  assert_string_equal(f[5].url, "not a url");
  assert_int_equal(strlen(f[6].name), 64);
  assert_int_equal(strlen(f[7].name), 64);
  assert_string_equal(f[7].name + 62, "-2");
  for(size_t i = 0; i < n; i++) {
    assert_true(config_valid_name(f[i].name));
    assert_string_equal(f[i].file, "t.opml");
    assert_int_equal(f[i].line, (int)i + 2);
    assert_true(f[i].enabled);
  }
  opml_feeds_free(f, n);
}

static void test_hostile_billion_laughs(void **state)
{
  const char *doc =
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE opml [\n"
      " <!ENTITY lol \"lol\">\n"
      " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
      " <!ENTITY lol2 "
      "\"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
      " <!ENTITY lol3 "
      "\"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
      " <!ENTITY lol4 "
      "\"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
      " <!ENTITY lol5 "
      "\"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
      " <!ENTITY lol6 "
      "\"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
      " <!ENTITY lol7 "
      "\"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
      " <!ENTITY lol8 "
      "\"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
      " <!ENTITY lol9 "
      "\"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
      "]>\n"
      "<opml><body><outline text=\"&lol9;\" title=\"&lol9;\" "
      "xmlUrl=\"https://x.example/&lol9;\"/></body></opml>\n";
  struct config_feed *f = NULL;
  size_t n = 0;
  char err[256];

  (void)state;
  assert_int_equal(read_str(doc, &f, &n, err, sizeof(err)), -EINVAL);
  assert_string_equal(err, "t.opml:3: entity declarations are not allowed");
  assert_null(f);
  assert_int_equal(n, 0);
}

static void check_no_passwd(const char *doc)
{
  struct config_feed *f = NULL;
  size_t n = 0;
  char err[256] = "";
  int rc = read_str(doc, &f, &n, err, sizeof(err));

  assert_null(strstr(err, "root:"));
  for(size_t i = 0; rc == 0 && i < n; i++) {
    assert_null(strstr(f[i].url, "root:"));
    assert_true(!f[i].title || !strstr(f[i].title, "root:"));
    for(size_t t = 0; t < f[i].ntags; t++)
      assert_null(strstr(f[i].tags[t], "root:"));
  }
  opml_feeds_free(f, n);
}

static void test_hostile_external_entity(void **state)
{
  const char *general =
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE opml [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
      "<opml><body><outline text=\"&xxe;\" xmlUrl=\"https://x.example/\"/>"
      "</body></opml>\n";
  const char *parameter =
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE opml [<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p;]>\n"
      "<opml><body/></opml>\n";
  const char *external_dtd =
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE opml SYSTEM \"file:///etc/passwd\">\n"
      "<opml><body><outline text=\"&xxe;\" xmlUrl=\"https://x.example/\"/>"
      "</body></opml>\n";
  struct config_feed *f = NULL;
  size_t n = 0;
  char err[256];

  (void)state;
  assert_int_equal(read_str(general, &f, &n, err, sizeof(err)), -EINVAL);
  assert_string_equal(err, "t.opml:2: entity declarations are not allowed");
  assert_int_equal(read_str(parameter, &f, &n, err, sizeof(err)), -EINVAL);
  assert_string_equal(err, "t.opml:2: entity declarations are not allowed");
  check_no_passwd(general);
  check_no_passwd(parameter);
  /* The DTD is never loaded, so &xxe; stays undefined and empty. */
  check_no_passwd(external_dtd);
}

static void test_not_opml(void **state)
{
  struct config_feed *f = NULL;
  size_t n = 0;
  char err[256];

  (void)state;
  assert_int_equal(read_str("<?xml version=\"1.0\"?>\n\n<rss version=\"2.0\">"
                            "<channel/></rss>",
                            &f, &n, err, sizeof(err)),
                   -EINVAL);
  assert_string_equal(err, "t.opml:3: not an OPML document (root element "
                           "<rss>)");
  assert_int_equal(read_str("", &f, &n, err, sizeof(err)), -EINVAL);
  assert_string_equal(err, "t.opml:1: Document is empty");
  assert_int_equal(
      read_str("<opml>\n<head/>\n</opml>", &f, &n, err, sizeof(err)), -EINVAL);
  assert_string_equal(err, "t.opml:1: OPML document without <body>");
  assert_int_equal(read_str("<opml><body>\n<outline xmlUrl=\"http://x/\" "
                            "xmlns:f=\"https://github.com/freshet/freshet/"
                            "opml\" f:interval=\"soon\"/></body></opml>",
                            &f, &n, err, sizeof(err)),
                   -EINVAL);
  assert_string_equal(err, "t.opml:2: bad freshet:interval 'soon'");
  /* a small error buffer is never overrun and stays terminated */
  assert_int_equal(read_str("<rss/>", &f, &n, err, 8), -EINVAL);
  assert_string_equal(err, "t.opml:");
  assert_int_equal(read_str("<rss/>", &f, &n, NULL, 0), -EINVAL);
  assert_null(f);
}

static void test_deep_nesting(void **state)
{
  size_t depth = 2000;
  char *doc = malloc(depth * 40 + 100);
  char *p = doc;
  struct config_feed *f = NULL;
  size_t n = 0;
  char err[256];

  (void)state;
  assert_non_null(doc);
  p += sprintf(p, "<opml><body>");
  for(size_t i = 0; i < depth; i++)
    p += sprintf(p, "<outline text=\"f%zu\">", i);
  p += sprintf(p, "<outline xmlUrl=\"https://deep.example/\"/>");
  for(size_t i = 0; i < depth; i++)
    p += sprintf(p, "</outline>");
  sprintf(p, "</body></opml>");
  assert_int_equal(read_str(doc, &f, &n, err, sizeof(err)), -EINVAL);
  assert_non_null(strstr(err, "t.opml:1: "));
  free(doc);
}

static void test_write_round_trip(void **state)
{
  char *t_ab[] = {"a", "b"};
  char *t_b[] = {"b"};
  char *t_odd[] = {"x & <y>", "z\"q"};
  struct config_feed feeds[] = {
      {.name = "one",
       .url = "https://one.example/feed",
       .title = "One",
       .enabled = true,
       .tags = t_ab,
       .ntags = 2},
      {.name = "two",
       .url = "https://two.example/feed",
       .title = NULL,
       .enabled = false,
       .interval = 7200,
       .tags = t_b,
       .ntags = 1},
      {.name = "three",
       .url = "https://three.example/?a=1&b=2",
       .title = "Three & <more>",
       .enabled = true},
      {.name = "four",
       .url = "https://four.example/",
       .title = "Four",
       .enabled = true,
       .interval = 90,
       .tags = t_odd,
       .ntags = 2},
      {.name = "five",
       .url = "https://five.example/",
       .title = "five",
       .enabled = true,
       .tags = t_ab + 1,
       .ntags = 1},
  };

  (void)state;
  check_round_trip(feeds, sizeof(feeds) / sizeof(feeds[0]));
  check_round_trip(feeds, 0);
}

static void test_write_layout(void **state)
{
  char *t_news[] = {"news"};
  char *t_tech[] = {"tech", "news"};
  struct config_feed feeds[] = {
      {.name = "a",
       .url = "https://a.example/",
       .title = "A",
       .enabled = true,
       .tags = t_news,
       .ntags = 1},
      {.name = "b", .url = "https://b.example/", .enabled = true},
      {.name = "c",
       .url = "https://c.example/",
       .title = "C",
       .enabled = true,
       .tags = t_tech,
       .ntags = 2},
      {.name = "d",
       .url = "https://d.example/",
       .title = "D",
       .enabled = true,
       .tags = t_news,
       .ntags = 1},
  };
  char *doc = opml_write(feeds, 4, "My feeds");
  const char *want_body =
      "  <body>\n"
      "    <outline type=\"rss\" text=\"b\" xmlUrl=\"https://b.example/\" "
      "freshet:name=\"b\"/>\n"
      "    <outline text=\"news\" title=\"news\">\n"
      "      <outline type=\"rss\" text=\"A\" title=\"A\" "
      "xmlUrl=\"https://a.example/\" freshet:name=\"a\"/>\n"
      "      <outline type=\"rss\" text=\"D\" title=\"D\" "
      "xmlUrl=\"https://d.example/\" freshet:name=\"d\"/>\n"
      "    </outline>\n"
      "    <outline text=\"tech\" title=\"tech\">\n"
      "      <outline type=\"rss\" text=\"C\" title=\"C\" "
      "xmlUrl=\"https://c.example/\" freshet:name=\"c\" "
      "category=\"tech,news\"/>\n"
      "    </outline>\n"
      "  </body>\n"
      "</opml>\n";
  const char *date;

  (void)state;
  assert_non_null(doc);
  assert_non_null(strstr(doc, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                              "<opml version=\"2.0\" xmlns:freshet="
                              "\"https://github.com/freshet/freshet/opml\">\n"
                              "  <head>\n"
                              "    <title>My feeds</title>\n"));
  date = strstr(doc, "<dateCreated>");
  assert_non_null(date);
  /* "Wed, 25 Nov 2026 13:20:00 GMT" */
  assert_int_equal(strcspn(date + 13, "<"), 29);
  assert_memory_equal(date + 13 + 25, " GMT", 4);
  assert_non_null(strstr(doc, want_body));
  free(doc);
}

static void test_write_wellformed(void **state)
{
  char *tags[] = {"bad \x01 tag", "\xff\xfe"};
  struct config_feed feeds[] = {
      {.name = "x",
       .url = "https://x.example/\x02",
       .title = "bad \xc3 utf8",
       .enabled = true,
       .tags = tags,
       .ntags = 2},
  };
  char *doc = opml_write(feeds, 1, "t\x7f\x1f");
  xmlDocPtr x;

  (void)state;
  assert_non_null(doc);
  x = xmlReadMemory(doc, (int)strlen(doc), NULL, NULL,
                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  assert_non_null(x);
  xmlFreeDoc(x);
  free(doc);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fixtures),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_hostile_billion_laughs),
      cmocka_unit_test(test_hostile_external_entity),
      cmocka_unit_test(test_not_opml),
      cmocka_unit_test(test_deep_nesting),
      cmocka_unit_test(test_write_round_trip),
      cmocka_unit_test(test_write_layout),
      cmocka_unit_test(test_write_wellformed),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
