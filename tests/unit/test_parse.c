/*
 * test_parse.c: parse_feed as a whole: format detection, what is not a
 * feed, limits on hostile input, entry ids, and the feed-level fields.
 * Field-by-field output of real-world feeds is in test_fixtures.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "feed.h"
#include "parse.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct feed *parse_ok(const char *doc, const char *url)
{
  struct feed *feed = NULL;
  char err[256];
  int rc = parse_feed(doc, strlen(doc), url, NULL, &feed, err, sizeof(err));

  if(rc != 0)
    fail_msg("parse failed (%d): %s", rc, err);
  assert_non_null(feed);
  return feed;
}

static bool has_warning(const struct feed *feed, const char *part)
{
  for(size_t i = 0; i < feed->nwarnings; i++)
    if(strstr(feed->warnings[i], part))
      return true;
  return false;
}

static void test_format_detected_from_content(void **state)
{
  static const struct {
    const char *doc;
    enum feed_format format;
  } cases[] = {
      {"<rss version=\"2.0\"><channel><title>t</title></channel></rss>",
       FEED_FORMAT_RSS20},
      {"<rss version=\"0.91\"><channel><title>t</title></channel></rss>",
       FEED_FORMAT_RSS091},
      {"<rss version=\"0.92\"><channel><title>t</title></channel></rss>",
       FEED_FORMAT_RSS092},
      {"<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" "
       "xmlns=\"http://my.netscape.com/rdf/simple/0.9/\"><channel><title>t"
       "</title></channel></rdf:RDF>",
       FEED_FORMAT_RSS090},
      {"<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" "
       "xmlns=\"http://purl.org/rss/1.0/\"><channel><title>t</title>"
       "</channel></rdf:RDF>",
       FEED_FORMAT_RSS10},
      {"<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>t</title></feed>",
       FEED_FORMAT_ATOM10},
      {"<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><title>t"
       "</title></feed>",
       FEED_FORMAT_ATOM03},
      {"{\"version\": \"https://jsonfeed.org/version/1\", \"title\": \"t\", "
       "\"items\": []}",
       FEED_FORMAT_JSON10},
      {"{\"version\": \"https://jsonfeed.org/version/1.1\", \"title\": \"t\", "
       "\"items\": []}",
       FEED_FORMAT_JSON11},
  };

  (void)state;
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    /* The URL's extension says something else on purpose. */
    struct feed *feed = parse_ok(cases[i].doc, "http://example.com/x.atom");

    assert_int_equal(feed->format, cases[i].format);
    assert_string_equal(feed->title, "t");
    feed_free(feed);
  }
}

static void expect_not_a_feed(const char *doc, size_t len, const char *why)
{
  struct feed *feed = (struct feed *)1;
  char err[256];

  assert_int_equal(parse_feed(doc, len, NULL, NULL, &feed, err, sizeof(err)),
                   -EINVAL);
  assert_null(feed);
  if(!strstr(err, why))
    fail_msg("error '%s' does not mention '%s'", err, why);
  if(strpbrk(err, "\r\n\t"))
    fail_msg("error '%s' is not one line", err);
}

static void test_not_a_feed(void **state)
{
  static const char html[] =
      "<!DOCTYPE html>\n<html><head><title>Blog</title></head>"
      "<body><p>Hello</p></body></html>";
  static const char svg[] = "<svg xmlns=\"http://www.w3.org/2000/svg\"/>";
  static const char json[] = "{\"name\": \"not a feed\"}";

  (void)state;
  expect_not_a_feed(html, strlen(html), "HTML");
  expect_not_a_feed(svg, strlen(svg), "<svg>");
  expect_not_a_feed(json, strlen(json), "JSON Feed");
  expect_not_a_feed("", 0, "empty");
  expect_not_a_feed("just some words", 15, "plain text");
  expect_not_a_feed("{broken", 7, "JSON");
  /* jansson quotes the input near the error, line breaks and all. */
  expect_not_a_feed("{\"a\": \"x\\\n\"}", 12, "JSON");
}

static void test_input_over_the_cap_is_refused(void **state)
{
  struct feed *feed = NULL;
  char err[256];

  (void)state;
  /* The length alone decides; the bytes are never read. */
  assert_int_equal(parse_feed("", (size_t)PARSE_MAX_INPUT + 1, NULL, NULL,
                              &feed, err, sizeof(err)),
                   -EFBIG);
  assert_null(feed);
  assert_non_null(strstr(err, "limit"));
}

static void test_ids_from_guid_link_or_title_and_date(void **state)
{
  static const char doc[] =
      "<rss version=\"2.0\"><channel><title>t</title>"
      "<item><guid isPermaLink=\"false\">tag:a,2024:1</guid><title>A</title>"
      "</item>"
      "<item><link>http://example.com/b</link><title>B</title></item>"
      "<item><title>C</title><pubDate>Mon, 03 Jun 2024 10:00:00 GMT</pubDate>"
      "</item>"
      "</channel></rss>";
  struct feed *a = parse_ok(doc, NULL);
  struct feed *b = parse_ok(doc, NULL);

  (void)state;
  assert_false(a->truncated);
  assert_int_equal(a->nentries, 3);
  assert_string_equal(a->entries[0].id, "tag:a,2024:1");
  assert_string_equal(a->entries[1].id, "http://example.com/b");
  assert_int_equal(strncmp(a->entries[2].id, "freshet:", 8), 0);
  /* Derived ids are stable from one parse to the next. */
  assert_string_equal(a->entries[2].id, b->entries[2].id);
  feed_free(a);
  feed_free(b);
}

static void test_repeated_guid_never_gives_two_equal_ids(void **state)
{
  static const char doc[] =
      "<rss version=\"2.0\"><channel><title>t</title>"
      "<item><guid>same</guid><title>First</title></item>"
      "<item><guid>same</guid><title>Second</title></item>"
      "<item><guid>same</guid><title>First</title></item>"
      "</channel></rss>";
  struct feed *feed = parse_ok(doc, NULL);

  (void)state;
  /* The exact repeat is dropped; the different entry is kept, renamed. */
  assert_int_equal(feed->nentries, 2);
  assert_string_equal(feed->entries[0].id, "same");
  assert_string_equal(feed->entries[0].title, "First");
  assert_string_equal(feed->entries[1].title, "Second");
  assert_int_equal(strncmp(feed->entries[1].id, "same#", 5), 0);
  assert_true(has_warning(feed, "same"));
  feed_free(feed);
}

static void test_billion_laughs_is_harmless(void **state)
{
  static const char doc[] =
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE rss [\n"
      "<!ENTITY a \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">\n"
      "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
      "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
      "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n"
      "<!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">\n"
      "<!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">\n"
      "<!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">\n"
      "<!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\">\n"
      "]>\n"
      "<rss version=\"2.0\"><channel><title>&h;</title>"
      "<item><title>kept</title><link>http://example.com/1</link></item>"
      "</channel></rss>";
  struct feed *feed = parse_ok(doc, NULL);

  (void)state;
  /* Nothing was expanded: the title is tiny and the entry is there. */
  assert_true(!feed->title || strlen(feed->title) < 100);
  assert_int_equal(feed->nentries, 1);
  assert_string_equal(feed->entries[0].title, "kept");
  feed_free(feed);
}

static void test_external_entity_is_never_read(void **state)
{
  static const char doc[] =
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE rss [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
      "<rss version=\"2.0\"><channel><title>t</title>"
      "<item><title>x&xxe;y</title><description>&xxe;</description></item>"
      "</channel></rss>";
  struct feed *feed = parse_ok(doc, NULL);

  (void)state;
  assert_int_equal(feed->nentries, 1);
  assert_null(strstr(feed->entries[0].title, "root:"));
  assert_true(!feed->entries[0].summary ||
              !strstr(feed->entries[0].summary, "root:"));
  feed_free(feed);
}

static char *repeat(const char *head, const char *unit, size_t n,
                    const char *tail)
{
  size_t len = strlen(head) + strlen(unit) * n + strlen(tail) + 1;
  char *s = malloc(len);
  char *p = s;

  assert_non_null(s);
  p = stpcpy(p, head);
  for(size_t i = 0; i < n; i++)
    p = stpcpy(p, unit);
  strcpy(p, tail);
  return s;
}

static void test_deep_nesting_is_refused_cleanly(void **state)
{
  /* Unknown elements: XML nesting (HTML inside a description is read as
   * text and has its own limit in the sanitizer). */
  char *doc = repeat("<rss version=\"2.0\"><channel><title>t</title>"
                     "<item><title>before</title></item><item>",
                     "<x>", 100000, "</item></channel></rss>");
  struct feed *feed = parse_ok(doc, NULL);

  (void)state;
  assert_true(feed->nentries >= 1);
  assert_string_equal(feed->entries[0].title, "before");
  assert_true(has_warning(feed, "nested deeper"));
  feed_free(feed);
  free(doc);
}

static void test_entry_count_is_capped(void **state)
{
  size_t cap = 64 + (size_t)(PARSE_MAX_ENTRIES + 5) * 64;
  char *doc = malloc(cap);
  char *p = doc;
  struct feed *feed;

  (void)state;
  assert_non_null(doc);
  p += sprintf(p, "<rss version=\"2.0\"><channel><title>t</title>");
  for(int i = 0; i < PARSE_MAX_ENTRIES + 5; i++)
    p += sprintf(p, "<item><guid>%d</guid></item>", i);
  strcpy(p, "</channel></rss>");
  feed = parse_ok(doc, NULL);
  assert_int_equal(feed->nentries, PARSE_MAX_ENTRIES);
  assert_string_equal(feed->entries[PARSE_MAX_ENTRIES - 1].id, "49999");
  assert_true(has_warning(feed, "more than"));
  feed_free(feed);
  free(doc);
}

static void test_truncated_document_keeps_its_entries(void **state)
{
  static const char doc[] =
      "<rss version=\"2.0\"><channel><title>t</title>"
      "<item><title>one</title><link>http://example.com/1</link></item>"
      "<item><title>two</title><link>http://example.com/2</link>";
  struct feed *feed = parse_ok(doc, NULL);

  (void)state;
  assert_int_equal(feed->nentries, 2);
  assert_string_equal(feed->entries[1].title, "two");
  assert_string_equal(feed->entries[1].link, "http://example.com/2");
  assert_true(feed->nwarnings > 0);
  /* The daemon stores no validators for it and drops the last entry. */
  assert_true(feed->truncated);
  feed_free(feed);
}

static void test_xml_base_stack_resolves_links(void **state)
{
  static const char doc[] =
      "<feed xmlns=\"http://www.w3.org/2005/Atom\" "
      "xml:base=\"http://example.org/blog/\"><title>t</title>"
      "<link href=\"./\"/>"
      "<entry xml:base=\"2024/\"><id>1</id><title>a</title>"
      "<link rel=\"alternate\" href=\"post.html\"/>"
      "<content type=\"html\" xml:base=\"/static/\">"
      "&lt;img src=\"i.png\"&gt;</content></entry>"
      "</feed>";
  struct feed *feed = parse_ok(doc, "http://feeds.example.net/atom");

  (void)state;
  assert_string_equal(feed->link, "http://example.org/blog/");
  assert_string_equal(feed->entries[0].link,
                      "http://example.org/blog/2024/post.html");
  assert_non_null(strstr(feed->entries[0].content,
                         "src=\"http://example.org/static/i.png\""));
  assert_string_equal(feed->entries[0].image,
                      "http://example.org/static/i.png");
  feed_free(feed);
}

static void test_rss_relative_links_use_the_channel_link(void **state)
{
  static const char doc[] =
      "<rss version=\"2.0\"><channel><title>t</title>"
      "<link>https://blog.example.com/</link>"
      "<item><title>a</title><link>/2024/06/a/</link></item>"
      "</channel></rss>";
  struct feed *feed = parse_ok(doc, "https://feeds.example.net/blog");

  (void)state;
  assert_string_equal(feed->entries[0].link,
                      "https://blog.example.com/2024/06/a/");
  feed_free(feed);
}

static void test_scheduler_hints(void **state)
{
  static const char doc[] =
      "<rss version=\"2.0\" "
      "xmlns:sy=\"http://purl.org/rss/1.0/modules/syndication/\">"
      "<channel><title>t</title><ttl>60</ttl>"
      "<sy:updatePeriod>hourly</sy:updatePeriod>"
      "<sy:updateFrequency>2</sy:updateFrequency>"
      "</channel></rss>";
  struct feed *feed = parse_ok(doc, NULL);

  (void)state;
  assert_int_equal(feed->ttl, 3600);
  assert_int_equal(feed->update_period, 1800);
  feed_free(feed);
}

static void test_one_image_per_entry_best_source_wins(void **state)
{
  static const char doc[] =
      "<rss version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\">"
      "<channel><title>t</title><link>http://example.com/</link>"
      "<item><title>a</title>"
      "<description>&lt;img src=\"/inline.png\"&gt;</description>"
      "<enclosure url=\"/enc.jpg\" type=\"image/jpeg\" length=\"10\"/>"
      "<media:thumbnail url=\"/thumb.jpg\"/>"
      "</item>"
      "<item><title>b</title>"
      "<description>&lt;p&gt;x&lt;img src=\"/inline.png\"&gt;</description>"
      "</item>"
      "</channel></rss>";
  struct feed *feed = parse_ok(doc, NULL);

  (void)state;
  assert_string_equal(feed->entries[0].image, "http://example.com/thumb.jpg");
  assert_string_equal(feed->entries[1].image, "http://example.com/inline.png");
  assert_int_equal(feed->entries[0].nenclosures, 1);
  assert_int_equal(feed->entries[0].enclosures[0].length, 10);
  feed_free(feed);
}

/* Categories: trimmed, each kept once, an Atom label before its term,
 * none at the feed level. */
static void test_categories_kept_once(void **state)
{
  static const char *const docs[] = {
      "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
      "<channel><title>t</title><category>feed</category><item><title>i"
      "</title><category>a</category><category> b </category><category>a"
      "</category><dc:subject>b</dc:subject><dc:subject>c &amp; d"
      "</dc:subject></item></channel></rss>",
      "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>t</title>"
      "<category term=\"feed\"/><entry><title>e</title><id>x</id>"
      "<category term=\"a\"/><category term=\"y\" label=\"b\"/>"
      "<category term=\"a\"/><category term=\" \"/>"
      "<category term=\"w\" label=\"c &amp; d\"/></entry></feed>",
  };

  (void)state;
  for(size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
    struct feed *feed = parse_ok(docs[i], "https://example.com/feed");

    assert_int_equal(feed->nentries, 1);
    assert_int_equal(feed->entries[0].ncategories, 3);
    assert_string_equal(feed->entries[0].categories[0], "a");
    assert_string_equal(feed->entries[0].categories[1], "b");
    assert_string_equal(feed->entries[0].categories[2], "c & d");
    feed_free(feed);
  }
}

static void test_undeclared_prefixes_still_read(void **state)
{
  /* WordPress plugins sometimes drop xmlns:content and xmlns:dc. */
  static const char doc[] =
      "<rss version=\"2.0\"><channel><title>t</title>"
      "<item><title>a</title><dc:creator>Jane</dc:creator>"
      "<content:encoded><![CDATA[<p>full</p>]]></content:encoded></item>"
      "</channel></rss>";
  struct feed *feed = parse_ok(doc, NULL);

  (void)state;
  assert_string_equal(feed->entries[0].author, "Jane");
  assert_string_equal(feed->entries[0].content, "<p>full</p>");
  feed_free(feed);
}

static void test_warnings_stay_valid_utf8(void **state)
{
  /* The quoted date is cut at 60 bytes, inside a three-byte character. */
  static const char doc[] =
      "<rss version=\"2.0\"><channel><title>t</title><item><title>a</title>"
      "<pubDate>aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "\xe2\x82\xac\xe2\x82\xac</pubDate></item></channel></rss>";
  struct feed *feed = parse_ok(doc, NULL);

  (void)state;
  assert_int_equal(feed->nwarnings, 1);
  assert_non_null(strstr(feed->warnings[0], "aaaa' left empty"));
  feed_free(feed);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_format_detected_from_content),
      cmocka_unit_test(test_not_a_feed),
      cmocka_unit_test(test_input_over_the_cap_is_refused),
      cmocka_unit_test(test_ids_from_guid_link_or_title_and_date),
      cmocka_unit_test(test_repeated_guid_never_gives_two_equal_ids),
      cmocka_unit_test(test_billion_laughs_is_harmless),
      cmocka_unit_test(test_external_entity_is_never_read),
      cmocka_unit_test(test_deep_nesting_is_refused_cleanly),
      cmocka_unit_test(test_entry_count_is_capped),
      cmocka_unit_test(test_truncated_document_keeps_its_entries),
      cmocka_unit_test(test_xml_base_stack_resolves_links),
      cmocka_unit_test(test_rss_relative_links_use_the_channel_link),
      cmocka_unit_test(test_scheduler_hints),
      cmocka_unit_test(test_one_image_per_entry_best_source_wins),
      cmocka_unit_test(test_categories_kept_once),
      cmocka_unit_test(test_undeclared_prefixes_still_read),
      cmocka_unit_test(test_warnings_stay_valid_utf8),
  };

  parse_init();
  return cmocka_run_group_tests(tests, NULL, NULL);
}
