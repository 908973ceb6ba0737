/*
 * test_url.c: url_resolve (RFC 3986 section 5.4 examples and what feeds
 * really carry), url_is_absolute and url_is_safe.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libxml/parser.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

struct resolve_case {
  const char *base;
  const char *ref;
  const char *want; /* NULL: url_resolve returns NULL */
};

static void check_resolve(const struct resolve_case *c, size_t n)
{
  for(size_t i = 0; i < n; i++) {
    char *got = url_resolve(c[i].base, c[i].ref);

    if(c[i].want == NULL) {
      if(got != NULL)
        fail_msg("url_resolve(%s, %s) = %s, want NULL", c[i].base, c[i].ref,
                 got);
    } else if(got == NULL || strcmp(got, c[i].want) != 0) {
      fail_msg("url_resolve(%s, %s) = %s, want %s", c[i].base, c[i].ref,
               got != NULL ? got : "NULL", c[i].want);
    }
    free(got);
  }
}

#define RFC_BASE "http://a/b/c/d;p?q"

/* RFC 3986 5.4.1 normal examples. */
static void test_rfc_normal(void **state)
{
  static const struct resolve_case c[] = {
      {RFC_BASE, "g:h", "g:h"},
      {RFC_BASE, "g", "http://a/b/c/g"},
      {RFC_BASE, "./g", "http://a/b/c/g"},
      {RFC_BASE, "g/", "http://a/b/c/g/"},
      {RFC_BASE, "/g", "http://a/g"},
      {RFC_BASE, "//g", "http://g"},
      {RFC_BASE, "?y", "http://a/b/c/d;p?y"},
      {RFC_BASE, "g?y", "http://a/b/c/g?y"},
      {RFC_BASE, "#s", "http://a/b/c/d;p?q#s"},
      {RFC_BASE, "g#s", "http://a/b/c/g#s"},
      {RFC_BASE, "g?y#s", "http://a/b/c/g?y#s"},
      {RFC_BASE, ";x", "http://a/b/c/;x"},
      {RFC_BASE, "g;x", "http://a/b/c/g;x"},
      {RFC_BASE, "g;x?y#s", "http://a/b/c/g;x?y#s"},
      {RFC_BASE, ".", "http://a/b/c/"},
      {RFC_BASE, "./", "http://a/b/c/"},
      {RFC_BASE, "..", "http://a/b/"},
      {RFC_BASE, "../", "http://a/b/"},
      {RFC_BASE, "../g", "http://a/b/g"},
      {RFC_BASE, "../..", "http://a/"},
      {RFC_BASE, "../../", "http://a/"},
      {RFC_BASE, "../../g", "http://a/g"},
  };

  (void)state;
  check_resolve(c, sizeof(c) / sizeof(c[0]));
}

/* RFC 3986 5.4.2 abnormal examples. */
static void test_rfc_abnormal(void **state)
{
  static const struct resolve_case c[] = {
      {RFC_BASE, "../../../g", "http://a/g"},
      {RFC_BASE, "../../../../g", "http://a/g"},
      {RFC_BASE, "/./g", "http://a/g"},
      {RFC_BASE, "/../g", "http://a/g"},
      {RFC_BASE, "g.", "http://a/b/c/g."},
      {RFC_BASE, ".g", "http://a/b/c/.g"},
      {RFC_BASE, "g..", "http://a/b/c/g.."},
      {RFC_BASE, "..g", "http://a/b/c/..g"},
      {RFC_BASE, "./../g", "http://a/b/g"},
      {RFC_BASE, "./g/.", "http://a/b/c/g/"},
      {RFC_BASE, "g/./h", "http://a/b/c/g/h"},
      {RFC_BASE, "g/../h", "http://a/b/c/h"},
      {RFC_BASE, "g;x=1/./y", "http://a/b/c/g;x=1/y"},
      {RFC_BASE, "g;x=1/../y", "http://a/b/c/y"},
      {RFC_BASE, "g?y/./x", "http://a/b/c/g?y/./x"},
      {RFC_BASE, "g?y/../x", "http://a/b/c/g?y/../x"},
      {RFC_BASE, "g#s/./x", "http://a/b/c/g#s/./x"},
      {RFC_BASE, "g#s/../x", "http://a/b/c/g#s/../x"},
      {RFC_BASE, "http:g", "http:g"},
  };

  (void)state;
  check_resolve(c, sizeof(c) / sizeof(c[0]));
}

static void test_feed_cases(void **state)
{
  static const struct resolve_case c[] = {
      /* relative paths and parents */
      {"https://ex.com/blog/2024/post.html", "img/a.png",
       "https://ex.com/blog/2024/img/a.png"},
      {"https://ex.com/blog/2024/post.html", "../../a.png",
       "https://ex.com/a.png"},
      {"https://ex.com/blog/", "../../../../a", "https://ex.com/a"},
      /* query-only and fragment-only */
      {"https://ex.com/p?id=1#top", "?id=2", "https://ex.com/p?id=2"},
      {"https://ex.com/p?id=1#top", "#notes", "https://ex.com/p?id=1#notes"},
      /* protocol-relative */
      {"https://ex.com/a/b", "//cdn.ex.com/x.js", "https://cdn.ex.com/x.js"},
      {"http://ex.com/", "//cdn.ex.com", "http://cdn.ex.com"},
      {"https://ex.com/", "//h/./a/../b?x#y", "https://h/b?x#y"},
      {"https://ex.com/", "//><img src=x>", "https://%3E%3Cimg%20src=x%3E"},
      {"https://ex.com/", "//x%2Fy/z", "https://x%2Fy/z"},
      /* base without a path */
      {"https://ex.com", "a.html", "https://ex.com/a.html"},
      {"https://ex.com", "/a.html", "https://ex.com/a.html"},
      {"https://ex.com", "#f", "https://ex.com#f"},
      {"https://ex.com?x=1", "a", "https://ex.com/a"},
      /* absolute references win, dot segments removed */
      {"https://ex.com/a/", "HTTP://Other.org/./x/../y", "HTTP://Other.org/y"},
      {"https://ex.com/a/", "mailto:me@ex.com", "mailto:me@ex.com"},
      /* surrounding whitespace is trimmed, tab/CR/LF inside removed */
      {"https://ex.com/a/", "  \t\nb.html \r\n", "https://ex.com/a/b.html"},
      {"https://ex.com/a/", "b\n.\thtml", "https://ex.com/a/b.html"},
      /* what xmlParseURI refuses is percent-encoded */
      {"https://ex.com/a/", "my file.png", "https://ex.com/a/my%20file.png"},
      {"https://ex.com/a/", "caf\xc3\xa9.png",
       "https://ex.com/a/caf%C3%A9.png"},
      {"https://ex.com/a/", "x[1]|{2}", "https://ex.com/a/x%5B1%5D%7C%7B2%7D"},
      {"https://ex.com/a/", "100%", "https://ex.com/a/100%25"},
      {"https://ex.com/a/", "a%20b", "https://ex.com/a/a%20b"},
      {"https://ex.com/a/", "p#a#b", "https://ex.com/a/p#a%23b"},
      {"https://ex.com/a/", "http://[::1]:8080/x", "http://[::1]:8080/x"},
      {"https://ex.com/a b/", "c", "https://ex.com/a%20b/c"},
      /* no usable base: a copy of the reference */
      {NULL, "a/b.html", "a/b.html"},
      {"relative/base", "x", "x"},
      {"", "/x", "/x"},
      {NULL, " https://ex.com/ ", "https://ex.com/"},
      /* nothing to resolve */
      {"https://ex.com/", NULL, NULL},
      {"https://ex.com/", "", NULL},
      {"https://ex.com/", " \t\n", NULL},
  };

  (void)state;
  check_resolve(c, sizeof(c) / sizeof(c[0]));
}

/* Absolute references: those with nothing to clean and no dot segment
 * are copied after one scan, the rest take the full path. Each result is
 * what the full path returned before that shortcut existed. */
static void test_absolute_refs(void **state)
{
#define B "https://base.example/dir/"
  static const struct resolve_case c[] = {
      /* copied as they are: no case or port normalization, no "/" added */
      {B, "https://ex.com/a/b?x=1&y=2#frag", "https://ex.com/a/b?x=1&y=2#frag"},
      {B, "HTTPS://Ex.COM/A/B", "HTTPS://Ex.COM/A/B"},
      {B, "https://ex.com", "https://ex.com"},
      {B, "https://ex.com?q", "https://ex.com?q"},
      {B, "https://ex.com:8080", "https://ex.com:8080"},
      {B, "https://user:pw@ex.com/p", "https://user:pw@ex.com/p"},
      {B, "https://ex.com/a.b/c.d", "https://ex.com/a.b/c.d"},
      {B, "https://ex.com/a/b/", "https://ex.com/a/b/"},
      {B, "urn:isbn:0451450523", "urn:isbn:0451450523"},
      {B, "x-y.z+1:opaque/./path", "x-y.z+1:opaque/./path"},
      {B, "a.b:/.x", "a.b:/.x"},
      {B, "http:g", "http:g"},
      {B, "http:./g", "http:./g"},
      {B, "data:image/png;base64,iVBORw0KGgo=",
       "data:image/png;base64,iVBORw0KGgo="},
      {B, "javascript:alert(1)", "javascript:alert(1)"},
      {NULL, "https://ex.com/x", "https://ex.com/x"},
      /* "/." somewhere: dot segments removed from the path only */
      {B, "https://ex.com/a/./b", "https://ex.com/a/b"},
      {B, "https://ex.com/a/../b", "https://ex.com/b"},
      {B, "https://ex.com/a/.", "https://ex.com/a/"},
      {B, "https://ex.com/..", "https://ex.com/"},
      {B, "https://ex.com/abc/./d", "https://ex.com/abc/d"},
      {B, "https://ex.com/a/b/..", "https://ex.com/a/"},
      {B, "https://e/.", "https://e/"},
      {B, "https://e/a.", "https://e/a."},
      {B, "http:/./g", "http:/g"},
      {B, "https://ex.com/.hidden/x", "https://ex.com/.hidden/x"},
      {B, "https://ex.com/a?b=/./c", "https://ex.com/a?b=/./c"},
      {B, "https://ex.com/a#/../c", "https://ex.com/a#/../c"},
      {B, "https://./x", "https://./x"},
      /* something to clean */
      {B, "https://ex.com/a%20b", "https://ex.com/a%20b"},
      {B, "https://ex.com/100%", "https://ex.com/100%25"},
      {B, "https://ex.com/a#b#c", "https://ex.com/a#b%23c"},
      {B, "https://[::1]:8080/x", "https://[::1]:8080/x"},
      {B, "https://ex.com/x[1]", "https://ex.com/x%5B1%5D"},
      {B, "https://ex.com/caf\xc3\xa9", "https://ex.com/caf%C3%A9"},
      {B, "https://ex.com/a b", "https://ex.com/a%20b"},
      {B, "https://ex.com/a\tb", "https://ex.com/ab"},
      {B, " https://ex.com/x\n", "https://ex.com/x"},
  };
#undef B

  (void)state;
  check_resolve(c, sizeof(c) / sizeof(c[0]));
}

/* xml:base on the feed, then on the entry, then the link itself. */
static void test_xml_base_chain(void **state)
{
  char *feed, *entry, *link;

  (void)state;
  feed = url_resolve("https://ex.com/feeds/atom.xml", "/blog/");
  assert_string_equal(feed, "https://ex.com/blog/");
  entry = url_resolve(feed, "2024/05/");
  assert_string_equal(entry, "https://ex.com/blog/2024/05/");
  link = url_resolve(entry, "../../about#me");
  assert_string_equal(link, "https://ex.com/blog/about#me");
  free(link);
  link = url_resolve(entry, "//mirror.ex.net/x");
  assert_string_equal(link, "https://mirror.ex.net/x");
  free(link);
  free(entry);
  free(feed);
}

static void test_is_absolute(void **state)
{
  (void)state;
  assert_true(url_is_absolute("http://ex.com/"));
  assert_true(url_is_absolute("mailto:a@b"));
  assert_true(url_is_absolute("x-my+scheme.1:foo"));
  assert_true(url_is_absolute("urn:isbn:123"));
  assert_false(url_is_absolute(NULL));
  assert_false(url_is_absolute(""));
  assert_false(url_is_absolute("/path"));
  assert_false(url_is_absolute("//host/x"));
  assert_false(url_is_absolute("page.html"));
  assert_false(url_is_absolute("1http://x"));
  assert_false(url_is_absolute(":x"));
  assert_false(url_is_absolute("a b:c"));
  assert_false(url_is_absolute(" http://ex.com/"));
  assert_false(url_is_absolute("?a:b"));
}

static void test_is_safe(void **state)
{
  (void)state;
  assert_true(url_is_safe("http://ex.com/", false));
  assert_true(url_is_safe("HTTPS://ex.com/", false));
  assert_true(url_is_safe("ftp://ex.com/f", false));
  assert_true(url_is_safe("mailto:me@ex.com", false));
  assert_true(url_is_safe("tel:+123", false));
  assert_true(url_is_safe("news:comp.lang.c", false));
  assert_true(url_is_safe("https://ex.com/a.png", true));

  assert_false(url_is_safe(NULL, false));
  assert_false(url_is_safe("", false));
  assert_false(url_is_safe("relative/x", false));
  assert_false(url_is_safe("javascript:alert(1)", false));
  assert_false(url_is_safe("JaVaScRiPt:alert(1)", false));
  assert_false(url_is_safe("java\nscript:alert(1)", false));
  assert_false(url_is_safe("java\tscript:alert(1)", true));
  assert_false(url_is_safe("  javascript:alert(1)", false));
  assert_false(url_is_safe("\x01javascript:alert(1)", false));
  assert_false(url_is_safe("vbscript:msgbox", false));
  assert_false(url_is_safe("file:///etc/passwd", false));
  assert_false(url_is_safe("unknown:x", false));
  assert_false(url_is_safe("httpx://ex.com", false));
  assert_false(url_is_safe("http", false));
  assert_false(url_is_safe("https", true));
  assert_true(url_is_safe("http:", false));
  assert_true(url_is_safe("https:x", true));
  assert_true(url_is_safe(" \thttps://ex.com/", false));
  assert_true(url_is_safe("ht\ntps://ex.com/", false));
  /* a colon after a path character is no scheme */
  assert_false(url_is_safe("/x:y", false));

  /* data: only for raster images */
  assert_true(url_is_safe("data:image/png;base64,iVBORw0KGgo=", true));
  assert_true(url_is_safe("DATA:IMAGE/GIF;base64,R0lGOD", true));
  assert_false(url_is_safe("data:image/png;base64,iVBORw0KGgo=", false));
  assert_false(url_is_safe("data:text/html,<script>alert(1)</script>", true));
  assert_false(url_is_safe("data:image/svg+xml,<svg onload=alert(1)>", true));
  assert_false(url_is_safe("data:image/SVG+xml;base64,PHN2Zz4=", true));
  assert_false(url_is_safe("data:image/sv\tg+xml,<svg/>", true));
  assert_false(url_is_safe("data:,hello", true));
}

/* What a sanitizer does: resolve, then check. */
static void test_resolve_then_check(void **state)
{
  static const char *const bad[] = {"javascript:alert(1)",
                                    " JaVaScRiPt:alert(1)",
                                    "java\nscript:alert(1)",
                                    "jav\tascript:alert(1)",
                                    "\n\tjavascript:x",
                                    "vbscript:x",
                                    "data:text/html;base64,PHNjcmlwdD4="};
  char *u;

  (void)state;
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    u = url_resolve("https://ex.com/", bad[i]);
    assert_non_null(u);
    assert_false(url_is_safe(u, true));
    free(u);
  }
  u = url_resolve("https://ex.com/", "javascript-guide.html");
  assert_string_equal(u, "https://ex.com/javascript-guide.html");
  assert_true(url_is_safe(u, false));
  free(u);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc_normal),
      cmocka_unit_test(test_rfc_abnormal),
      cmocka_unit_test(test_feed_cases),
      cmocka_unit_test(test_absolute_refs),
      cmocka_unit_test(test_xml_base_chain),
      cmocka_unit_test(test_is_absolute),
      cmocka_unit_test(test_is_safe),
      cmocka_unit_test(test_resolve_then_check),
  };
  int rc;

  xmlInitParser();
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  xmlCleanupParser();
  return rc;
}
