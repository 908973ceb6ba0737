/*
 * test_canon.c: canon_link on a table of URLs and the canonical form each
 * must take (or NULL where links are not compared across feeds).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct canon_case {
  const char *in;
  const char *want; /* NULL: canon_link returns NULL */
};

static const struct canon_case cases[] = {
    /* Already canonical. */
    {"https://example.com/a/b", "https://example.com/a/b"},
    {"http://example.com/", "http://example.com/"},
    /* Scheme and host lower-cased, path case kept. */
    {"HTTPS://Example.COM/Path/To", "https://example.com/Path/To"},
    {"Http://WWW.Example.Org/X?Q=Y", "http://www.example.org/X?Q=Y"},
    /* Empty path. */
    {"https://example.com", "https://example.com/"},
    {"https://example.com?a=1", "https://example.com/?a=1"},
    {"https://example.com#top", "https://example.com/"},
    /* Default ports dropped, others kept (without leading zeros). */
    {"http://example.com:80/a", "http://example.com/a"},
    {"https://example.com:443/a", "https://example.com/a"},
    {"http://example.com:443/a", "http://example.com:443/a"},
    {"https://example.com:80/a", "https://example.com:80/a"},
    {"https://example.com:8443/a", "https://example.com:8443/a"},
    {"https://example.com:0443/a", "https://example.com/a"},
    {"http://example.com:/a", "http://example.com/a"},
    {"http://[2001:DB8::1]:8080/a", "http://[2001:db8::1]:8080/a"},
    {"http://[2001:db8::1]/a", "http://[2001:db8::1]/a"},
    {"http://[::1]:80/", "http://[::1]/"},
    /* Userinfo kept as is. */
    {"http://User:Pw@Example.com:80/", "http://User:Pw@example.com/"},
    /* Fragment dropped. */
    {"https://example.com/post#comments", "https://example.com/post"},
    {"https://example.com/post?id=3#c", "https://example.com/post?id=3"},
    /* Tracking parameters removed, the rest kept in order. */
    {"https://example.com/p?utm_source=rss&utm_medium=feed",
     "https://example.com/p"},
    {"https://example.com/p?id=7&utm_source=rss&page=2",
     "https://example.com/p?id=7&page=2"},
    {"https://example.com/p?utm_campaign=x&id=7", "https://example.com/p?id=7"},
    {"https://example.com/p?UTM_Source=x&id=7", "https://example.com/p?id=7"},
    {"https://example.com/p?utm_whatever_new=1", "https://example.com/p"},
    {"https://example.com/p?fbclid=IwAR0abc", "https://example.com/p"},
    {"https://example.com/p?gclid=x&dclid=y&msclkid=z&yclid=w",
     "https://example.com/p"},
    {"https://example.com/p?gbraid=1&wbraid=2&twclid=3&ttclid=4",
     "https://example.com/p"},
    {"https://example.com/p?mc_cid=1&mc_eid=2&igshid=3",
     "https://example.com/p"},
    {"https://example.com/p?_hsenc=1&_hsmi=2&__hstc=3&__hssc=4&__hsfp=5",
     "https://example.com/p"},
    {"https://example.com/p?ref_src=twsrc%5Etfw", "https://example.com/p"},
    {"https://example.com/p?mkt_tok=a&_ga=b&_gl=c&srsltid=d",
     "https://example.com/p"},
    {"https://example.com/p?utm_source", "https://example.com/p"},
    {"https://example.com/p?utm_source=", "https://example.com/p"},
    {"https://example.com/p?a=1&&b=2&", "https://example.com/p?a=1&b=2"},
    {"https://example.com/p?", "https://example.com/p"},
    {"https://example.com/p?#x", "https://example.com/p"},
    /* Names that merely look like tracking, or select content, stay. */
    {"https://example.com/p?ref=main", "https://example.com/p?ref=main"},
    {"https://example.com/p?ref_url=x", "https://example.com/p?ref_url=x"},
    {"https://example.com/p?utm=1", "https://example.com/p?utm=1"},
    {"https://example.com/p?xutm_source=1",
     "https://example.com/p?xutm_source=1"},
    {"https://example.com/p?fbclid2=1", "https://example.com/p?fbclid2=1"},
    {"https://example.com/p?source=rss", "https://example.com/p?source=rss"},
    /* Only "&" separates parameters. */
    {"https://example.com/p?id=1&fbclid=2;x=3", "https://example.com/p?id=1"},
    {"https://example.com/p?a=1;fbclid=2",
     "https://example.com/p?a=1;fbclid=2"},
    /* Percent-encoding kept exactly. */
    {"https://example.com/a%2Fb/%7Euser?q=%41%42",
     "https://example.com/a%2Fb/%7Euser?q=%41%42"},
    {"https://example.com/caf%C3%A9?utm_source=x",
     "https://example.com/caf%C3%A9"},
    {"https://example.com/p?q=a%26utm_source%3Db",
     "https://example.com/p?q=a%26utm_source%3Db"},
    /* Dot segments and trailing slashes are not touched. */
    {"https://example.com/a/", "https://example.com/a/"},
    {"https://example.com/a/./b", "https://example.com/a/./b"},
    /* Surrounding whitespace trimmed. */
    {"  https://example.com/x \n", "https://example.com/x"},
    /* Not compared across feeds. */
    {"", NULL},
    {"/relative/path", NULL},
    {"relative", NULL},
    {"//example.com/x", NULL},
    {"ftp://example.com/file", NULL},
    {"mailto:someone@example.com", NULL},
    {"javascript:alert(1)", NULL},
    {"tag:example.com,2024:post-1", NULL},
    {"urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a", NULL},
    {"http:example.com", NULL},
    {"https://", NULL},
    {"https:///path", NULL},
    {"https://:443/", NULL},
    {"https://example.com:http/", NULL},
    {"https://example.com:99999/", NULL},
};

static void test_table(void **state)
{
  (void)state;
  for(size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    char *got = canon_link(cases[i].in);

    if(!cases[i].want) {
      if(got)
        fail_msg("canon_link(\"%s\") = \"%s\", want NULL", cases[i].in, got);
      continue;
    }
    if(!got)
      fail_msg("canon_link(\"%s\") = NULL, want \"%s\"", cases[i].in,
               cases[i].want);
    if(strcmp(got, cases[i].want) != 0)
      fail_msg("canon_link(\"%s\") = \"%s\", want \"%s\"", cases[i].in, got,
               cases[i].want);
    free(got);
  }
}

static void test_null(void **state)
{
  (void)state;
  assert_null(canon_link(NULL));
}

/* Canonicalizing twice changes nothing. */
static void test_idempotent(void **state)
{
  (void)state;
  for(size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    char *once, *twice;

    if(!cases[i].want)
      continue;
    once = canon_link(cases[i].in);
    assert_non_null(once);
    twice = canon_link(once);
    assert_non_null(twice);
    assert_string_equal(once, twice);
    free(once);
    free(twice);
  }
}

/* The same article reached through two feeds is one canonical link. */
static void test_same_article(void **state)
{
  char *a, *b;

  (void)state;
  a = canon_link("HTTPS://News.Example.com:443/2024/06/story?utm_source=rss"
                 "&utm_medium=feed#more");
  b = canon_link("https://news.example.com/2024/06/story?fbclid=abc");
  assert_non_null(a);
  assert_non_null(b);
  assert_string_equal(a, b);
  assert_string_equal(a, "https://news.example.com/2024/06/story");
  free(a);
  free(b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table),
      cmocka_unit_test(test_null),
      cmocka_unit_test(test_idempotent),
      cmocka_unit_test(test_same_article),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
