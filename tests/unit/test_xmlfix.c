/*
 * test_xmlfix.c: xmlfix_repair. Each case is a broken document and the
 * exact document and warnings that must come out; the repaired documents
 * must then be well-formed for libxml2 without its recover mode.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libxml/parser.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed.h"
#include "xmlfix.h"

struct tcase {
  const char *name;
  const char *in;
  const char *want;
  const char *warnings[3]; /* exactly these, in any order */
};

/* Returns the repaired in (malloc'd, NUL-terminated), checked against want
 * and warnings. */
static char *repair(const struct tcase *c, size_t *out_len)
{
  struct feed *feed = feed_new();
  size_t in_len = strlen(c->in), nwant = 0;
  const char *view = NULL;
  char *copy = NULL, *out;
  int rc;

  assert_non_null(feed);
  rc = xmlfix_repair(c->in, in_len, feed, &view, out_len, &copy);
  if(rc != 0)
    fail_msg("%s: returned %d", c->name, rc);
  /* Not copied: then the output is a span of the input. */
  if(!copy && (view < c->in || *out_len > in_len - (size_t)(view - c->in)))
    fail_msg("%s: not copied, yet not a span of the input", c->name);
  if(copy && (view != copy || copy[*out_len] != '\0'))
    fail_msg("%s: copy is not the output", c->name);
  out = strndup(view, *out_len);
  assert_non_null(out);
  free(copy);
  if(*out_len != strlen(out) || strcmp(out, c->want))
    fail_msg("%s:\n got  \"%s\"\n want \"%s\"", c->name, out, c->want);
  for(; nwant < 3 && c->warnings[nwant]; nwant++) {
    size_t k = 0;

    while(k < feed->nwarnings && strcmp(feed->warnings[k], c->warnings[nwant]))
      k++;
    if(k == feed->nwarnings)
      fail_msg("%s: no warning \"%s\" (first: \"%s\")", c->name,
               c->warnings[nwant],
               feed->nwarnings ? feed->warnings[0] : "none");
  }
  if(feed->nwarnings != nwant)
    fail_msg("%s: %zu warnings, want %zu (first: \"%s\")", c->name,
             feed->nwarnings, nwant, feed->warnings[0]);
  feed_free(feed);
  return out;
}

static void run_all(const struct tcase *cases, size_t n)
{
  for(size_t i = 0; i < n; i++) {
    size_t len;

    free(repair(&cases[i], &len));
  }
}

#define RUN_ALL(cases) run_all(cases, sizeof(cases) / sizeof(cases[0]))

static void test_clean_unchanged(void **state)
{
  static const struct tcase cases[] = {
      {"empty", "", "", {NULL}},
      {"only whitespace", " \n", "", {NULL}},
      {"clean document",
       "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<?xml-stylesheet "
       "href=\"a.xsl\"?>\n<rss version=\"2.0\"><channel><title a='1' b=\"&amp;"
       "\">A &amp; B &lt; C &gt; &quot;&apos; &#233; &#x1F600; &#10;</title>"
       "<x:y xmlns:x=\"u\"/></channel></rss>\n",
       "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<?xml-stylesheet "
       "href=\"a.xsl\"?>\n<rss version=\"2.0\"><channel><title a='1' b=\"&amp;"
       "\">A &amp; B &lt; C &gt; &quot;&apos; &#233; &#x1F600; &#10;</title>"
       "<x:y xmlns:x=\"u\"/></channel></rss>\n",
       {NULL}},
      {"names starting beyond ASCII",
       "<\xC3\xA9t\xC3\xA9>x</\xC3\xA9t\xC3\xA9>",
       "<\xC3\xA9t\xC3\xA9>x</\xC3\xA9t\xC3\xA9>",
       {NULL}},
  };

  (void)state;
  RUN_ALL(cases);
}

static void test_junk(void **state)
{
  static const struct tcase cases[] = {
      {"whitespace before the declaration",
       "\n\n  <?xml version=\"1.0\"?><a/>",
       "<?xml version=\"1.0\"?><a/>",
       {"junk before the XML declaration removed"}},
      {"PHP warning before the declaration",
       "<br />\n<b>Warning</b>:  Cannot modify header information in "
       "<b>/var/www/x.php</b> on line <b>3</b><br />\n"
       "<?xml version=\"1.0\"?>\n<rss/>",
       "<?xml version=\"1.0\"?>\n<rss/>",
       {"junk before the XML declaration removed"}},
      {"plain-text warning before the declaration",
       "Warning: x in /var/www/x.php on line 3\n<?xml version='1.0'?><rss/>",
       "<?xml version='1.0'?><rss/>",
       {"junk before the XML declaration removed"}},
      {"junk and no declaration",
       "Notice: x < y & z\n<rss/>",
       "<rss/>",
       {"junk before the root element removed"}},
      {"no markup at all",
       "Internal Server Error",
       "",
       {"junk before the root element removed"}},
      {"PHP notice after the declaration",
       "<?xml version=\"1.0\"?>\n<br />\n<b>Notice</b>:  Undefined index: x "
       "in <b>/var/www/feed.php</b> on line <b>12</b><br />\n"
       "<rss version=\"2.0\"><channel/></rss>",
       "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel/></rss>",
       {"junk before the root element removed"}},
      {"plain-text warning after the declaration, then a DOCTYPE",
       "<?xml version='1.0'?>\nWarning: x\n<!DOCTYPE rss>\n<rdf:RDF/>",
       "<?xml version='1.0'?>\n<rdf:RDF/>",
       {"junk before the root element removed"}},
      {"stray end tag and CDATA before the root",
       "</p><![CDATA[x]]>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"/>",
       "<feed xmlns=\"http://www.w3.org/2005/Atom\"/>",
       {"junk before the root element removed"}},
      {"a '<' ending the document before the root",
       "<br/>x<",
       "<br/>x&lt;",
       {"'<' not starting markup escaped"}},
      {"a feed's root name ends where names end",
       "<br/>\n<rss&#6; version=\"2.0\">x</rss>",
       "<rss version=\"2.0\">x</rss>",
       {"junk before the root element removed",
        "invalid character references fixed (first: &#6;)"}},
      {"a longer name is no feed's root",
       "<br/><rssx>x</rssx>",
       "<br/><rssx>x</rssx>",
       {NULL}},
      {"text left by the DOCTYPE's removal",
       "<!DOCTYPE x>R",
       "",
       {"junk before the root element removed"}},
      {"any element is the root when no feed's root follows",
       "<html><body><p>x</p></body></html>",
       "<html><body><p>x</p></body></html>",
       {NULL}},
      {"after the root element text is content",
       "<rss>Warning: x</rss>junk",
       "<rss>Warning: x</rss>junk",
       {NULL}},
      {"a declaration in an early CDATA section is content",
       "<rss><![CDATA[<?xml version=\"1.0\"?>]]></rss>",
       "<rss><![CDATA[<?xml version=\"1.0\"?>]]></rss>",
       {NULL}},
      {"a declaration after the root element is content",
       "<rss><channel><title>Using <?xml version=\"1.0\"?></title></channel>"
       "</rss>",
       "<rss><channel><title>Using <?xml version=\"1.0\"?></title></channel>"
       "</rss>",
       {NULL}},
      {"a comment first",
       "\n<!-- generator --><rss/>",
       "<!-- generator --><rss/>",
       {NULL}},
  };

  (void)state;
  RUN_ALL(cases);
}

static void test_doctype(void **state)
{
  static const struct tcase cases[] = {
      {"Netscape RSS 0.91 DOCTYPE, silently",
       "<?xml version=\"1.0\"?>\n<!DOCTYPE rss PUBLIC \"-//Netscape "
       "Communications//DTD RSS 0.91//EN\"\n \"http://my.netscape.com/publish/"
       "formats/rss-0.91.dtd\">\n<rss>&eacute;</rss>",
       "<?xml version=\"1.0\"?>\n\n<rss>&#233;</rss>",
       {"HTML entities replaced (first: &eacute;)"}},
      {"internal subset with tricky contents",
       "<!DOCTYPE x [\n <!ENTITY a \"]>\">\n <!-- it's ] > -->\n <?pi ]> ?>\n"
       " <!ENTITY b 'x>y\"'>\n %pe;\n]>\n<x>&a;</x>",
       "<x>&amp;a;</x>",
       {"DOCTYPE removed", "bare '&' escaped"}},
      {"lower case", "<!doctype html><x/>", "<x/>", {NULL}},
      {"unterminated, the document survives",
       "<!DOCTYPE rss PUBLIC \"x\"\n<rss>a</rss>",
       "<rss>a</rss>",
       {NULL}},
      {"a DOCTYPE inside the document is text",
       "<x><!DOCTYPE y [<!ENTITY a 'b'>]>&a;</x>",
       "<x>&lt;!DOCTYPE y [&lt;!ENTITY a 'b'>]>&amp;a;</x>",
       {"'<' not starting markup escaped", "bare '&' escaped"}},
      {"a DOCTYPE does not end an unclosed tag",
       "<a b=\"1\" <!DOCTYPE x>",
       "<a b=\"1\" <!DOCTYPE x>",
       {NULL}},
      {"ENTITY outside a DOCTYPE is text",
       "<x><!ENTITY a 'b'></x>",
       "<x>&lt;!ENTITY a 'b'></x>",
       {"'<' not starting markup escaped"}},
  };

  (void)state;
  RUN_ALL(cases);
}

static void test_billion_laughs(void **state)
{
  static const struct tcase c = {
      "billion laughs",
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE lolz [\n"
      " <!ENTITY lol \"lol\">\n"
      " <!ELEMENT lolz (#PCDATA)>\n"
      " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
      " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
      " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
      " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
      " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
      " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
      " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
      " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
      " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
      "]>\n"
      "<lolz>&lol9;</lolz>\n",
      "<?xml version=\"1.0\"?>\n\n<lolz>&amp;lol9;</lolz>\n",
      {"DOCTYPE removed", "bare '&' escaped"},
  };
  size_t len;
  char *out = repair(&c, &len);

  (void)state;
  assert_null(strstr(out, "<!ENTITY"));
  assert_null(strstr(out, "<!DOCTYPE"));
  free(out);
}

static void test_entities(void **state)
{
  static const struct tcase cases[] = {
      {"HTML entities",
       "<a>&nbsp;&hellip;&mdash;&rsquo;&eacute;&Eacute;&copy;&euro;</a>",
       "<a>&#160;&#8230;&#8212;&#8217;&#233;&#201;&#169;&#8364;</a>",
       {"HTML entities replaced (first: &nbsp;)"}},
      {"bare ampersands",
       "<a>AT&T a=1&b=2 & && &foo; &; &#; &#x; &#12a; &#65 &x-y; &Nbsp;</a>",
       "<a>AT&amp;T a=1&amp;b=2 &amp; &amp;&amp; &amp;foo; &amp;; &amp;#; "
       "&amp;#x; &amp;#12a; &amp;#65 &amp;x-y; &amp;Nbsp;</a>",
       {"bare '&' escaped"}},
      {"no entity without its semicolon",
       "<a href=\"/?a=1&copy=2&lang=en\">&nbsp &copy 2024</a>",
       "<a href=\"/?a=1&amp;copy=2&amp;lang=en\">&amp;nbsp &amp;copy 2024</a>",
       {"bare '&' escaped"}},
      {"ampersand at the very end",
       "<a>x</a>&",
       "<a>x</a>&amp;",
       {"bare '&' escaped"}},
      {"a name too long to be an entity",
       "<a>&abcdefghijklmnopqrstuvwxyzabcdefghij;</a>",
       "<a>&amp;abcdefghijklmnopqrstuvwxyzabcdefghij;</a>",
       {"bare '&' escaped"}},
  };

  (void)state;
  RUN_ALL(cases);
}

static void test_char_refs(void **state)
{
  static const struct tcase cases[] = {
      {"valid references kept",
       "<a>&#9;&#x0A;&#13;&#32;&#0065;&#xD7FF;&#xE000;&#xFFFD;&#x10000;"
       "&#1114111;&#xa0;</a>",
       "<a>&#9;&#x0A;&#13;&#32;&#0065;&#xD7FF;&#xE000;&#xFFFD;&#x10000;"
       "&#1114111;&#xa0;</a>",
       {NULL}},
      {"C1 references read as windows-1252",
       "<a>&#150;&#x80;&#146;&#x9F;</a>",
       "<a>&#8211;&#8364;&#8217;&#376;</a>",
       {"windows-1252 character references mapped (first: &#150;)"}},
      {"references to no character become U+FFFD",
       "<a>&#0;&#xD800;&#xDFFF;&#x110000;&#99999999999999999999;</a>",
       "<a>&#xFFFD;&#xFFFD;&#xFFFD;&#xFFFD;&#xFFFD;</a>",
       {"invalid character references fixed (first: &#0;)"}},
      {"references to forbidden characters removed",
       "<a>x&#1;&#x1F;&#127;&#x81;&#xFFFE;&#65535;&#11;y</a>",
       "<a>xy</a>",
       {"invalid character references fixed (first: &#1;)"}},
      {"upper-case X",
       "<a>&#X41;</a>",
       "<a>&#x41;</a>",
       {"invalid character references fixed (first: &#X41;)"}},
  };

  (void)state;
  RUN_ALL(cases);
}

static void test_lt(void **state)
{
  static const struct tcase cases[] = {
      {"'<' not starting markup",
       "<a>a < b, <3, <=, << x, </ a>, <?>, <!x>, <-</a>",
       "<a>a &lt; b, &lt;3, &lt;=, &lt;&lt; x, &lt;/ a>, &lt;?>, &lt;!x>, "
       "&lt;-</a>",
       {"'<' not starting markup escaped"}},
      {"'<' at the very end",
       "<a/><",
       "<a/>&lt;",
       {"'<' not starting markup escaped"}},
      {"a punctuation character is no name",
       "<a>\xC2\xAB<\xC2\xAB</a>",
       "<a>\xC2\xAB&lt;\xC2\xAB</a>",
       {"'<' not starting markup escaped"}},
  };

  (void)state;
  RUN_ALL(cases);
}

static void test_tags(void **state)
{
  static const struct tcase cases[] = {
      {"bare '&' in attributes",
       "<link href=\"http://x/?a=1&b=2&amp;c=3&eacute;\" t='&'/>",
       "<link href=\"http://x/?a=1&amp;b=2&amp;c=3&#233;\" t='&amp;'/>",
       {"bare '&' escaped", "HTML entities replaced (first: &eacute;)"}},
      {"'>' and the other quote inside quotes",
       "<a title='x > \"y\" & z' b=\"it's > 1\">t & u</a>",
       "<a title='x > \"y\" &amp; z' b=\"it's > 1\">t &amp; u</a>",
       {"bare '&' escaped"}},
      {"no '<' repair inside attribute values",
       "<a title=\"1 < 2\">x</a>",
       "<a title=\"1 < 2\">x</a>",
       {NULL}},
      {"an unclosed tag ends at the next '<'",
       "<br\n<p>a&b</p>",
       "<br\n<p>a&amp;b</p>",
       {"bare '&' escaped"}},
      {"an unclosed tag keeps a '<' that starts no markup",
       "<a b=1 <3 c=\"<\"\n<p>x</p>",
       "<a b=1 <3 c=\"<\"\n<p>x</p>",
       {NULL}},
      {"unquoted attribute value",
       "<a href=/?a=1&b=2>x</a>",
       "<a href=/?a=1&amp;b=2>x</a>",
       {"bare '&' escaped"}},
  };

  (void)state;
  RUN_ALL(cases);
}

static void test_copied_untouched(void **state)
{
  static const struct tcase cases[] = {
      {"CDATA",
       "<d><![CDATA[a & b < c &nbsp; <!DOCTYPE x> ]]></d>",
       "<d><![CDATA[a & b < c &nbsp; <!DOCTYPE x> ]]></d>",
       {NULL}},
      {"comment",
       "<d><!-- a & b < c &nbsp; --></d>",
       "<d><!-- a & b < c &nbsp; --></d>",
       {NULL}},
      {"processing instruction",
       "<d><?php echo 1 & 2 < 3; ?></d>",
       "<d><?php echo 1 & 2 < 3; ?></d>",
       {NULL}},
      {"unterminated CDATA runs to the end",
       "<d><![CDATA[a & b",
       "<d><![CDATA[a & b",
       {NULL}},
      {"unterminated comment runs to the end",
       "<d><!-- a & b",
       "<d><!-- a & b",
       {NULL}},
      {"text after CDATA is repaired",
       "<d><![CDATA[&]]>&</d>",
       "<d><![CDATA[&]]>&amp;</d>",
       {"bare '&' escaped"}},
  };

  (void)state;
  RUN_ALL(cases);
}

/* RSS elements hold text: unescaped HTML in them is kept as one field, an
 * unclosed one ends where the next element starts. Atom is left alone. */
static void test_rss_text_elements(void **state)
{
  static const struct tcase cases[] = {
      {"raw HTML in description",
       "<rss><channel><item><description><p>a <b>b</p> ]]> c"
       "</description></item></channel></rss>",
       "<rss><channel><item><description><![CDATA[<p>a <b>b</p> ]]]]>"
       "<![CDATA[> c]]></description></item></channel></rss>",
       {"unescaped HTML inside an RSS element read as text"}},
      {"unclosed title",
       "<rss><channel><item><title>Antenna day\n<link>http://x/</link>"
       "</item></channel></rss>",
       "<rss><channel><item><title>Antenna day\n</title><link>http://x/"
       "</link></item></channel></rss>",
       {"unclosed RSS element closed (first: <title>)"}},
      {"escaped HTML and CDATA are normal",
       "<rss><channel><item><description>&lt;p&gt;x</description>"
       "<content:encoded><![CDATA[<p>y</p>]]></content:encoded>"
       "<title>a < b</title></item></channel></rss>",
       "<rss><channel><item><description>&lt;p&gt;x</description>"
       "<content:encoded><![CDATA[<p>y</p>]]></content:encoded>"
       "<title>a &lt; b</title></item></channel></rss>",
       {"'<' not starting markup escaped"}},
      {"Atom titles may hold XHTML",
       "<feed><entry><title type=\"xhtml\"><div>x</div></title></entry>"
       "</feed>",
       "<feed><entry><title type=\"xhtml\"><div>x</div></title></entry>"
       "</feed>",
       {NULL}},
  };

  (void)state;
  run_all(cases, sizeof(cases) / sizeof(cases[0]));
}

/* A document is copied only from its first repair on; until then the
 * output is the input itself, or a span of it when only its start is left
 * out. */
static void test_pass_through(void **state)
{
  static const struct {
    const char *in;
    const char *want;
    size_t skip; /* where want starts in in; SIZE_MAX: copied */
  } cases[] = {
      {"<?xml version=\"1.0\"?>\n<rss><channel><title>A &amp; B</title>"
       "<item><description><![CDATA[<p>x & y</p>]]></description></item>"
       "</channel></rss>\n",
       "<?xml version=\"1.0\"?>\n<rss><channel><title>A &amp; B</title>"
       "<item><description><![CDATA[<p>x & y</p>]]></description></item>"
       "</channel></rss>\n",
       0},
      {" \n<rss/>", "<rss/>", 2},
      {"<!DOCTYPE rss><rss>x</rss>", "<rss>x</rss>", 14},
      {"junk\n<?xml version=\"1.0\"?><rss/>", "<?xml version=\"1.0\"?><rss/>",
       5},
      {"<rss><title>A & B</title></rss>", "<rss><title>A &amp; B</title></rss>",
       SIZE_MAX},
      {"<rss><title>A</title></rss>&", "<rss><title>A</title></rss>&amp;",
       SIZE_MAX},
      {"<?xml version=\"1.0\"?><!DOCTYPE rss><rss>x</rss>",
       "<?xml version=\"1.0\"?><rss>x</rss>", SIZE_MAX},
  };

  (void)state;
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *out;
    char *copy;
    size_t len;

    assert_int_equal(xmlfix_repair(cases[i].in, strlen(cases[i].in), NULL, &out,
                                   &len, &copy),
                     0);
    assert_int_equal(len, strlen(cases[i].want));
    assert_memory_equal(out, cases[i].want, len);
    if(cases[i].skip == SIZE_MAX) {
      assert_ptr_equal(out, copy);
      assert_int_equal(copy[len], '\0');
    } else {
      assert_null(copy);
      assert_ptr_equal(out, cases[i].in + cases[i].skip);
    }
    free(copy);
  }
}

/* The input need not be NUL-terminated: every prefix of a document, in a
 * buffer of exactly its size (the address sanitizer sees any read past
 * it). */
static void test_unterminated(void **state)
{
  static const char doc[] =
      "<?xml version=\"1.0\"?><rss><channel><item><title>a &amp; b"
      "</title><description><p>x</p></description><title>t<link>l</link>"
      "<x a=\"&#150;\">&eacute;&#x41;</x><!-- c --><![CDATA[d]]>"
      "</item></channel></rss>";

  (void)state;
  for(size_t n = 0; n <= sizeof(doc) - 1; n++) {
    char *in = malloc(n ? n : 1);
    const char *out;
    char *copy;
    size_t len;

    assert_non_null(in);
    memcpy(in, doc, n);
    assert_int_equal(xmlfix_repair(in, n, NULL, &out, &len, &copy), 0);
    free(copy);
    free(in);
  }
}

/* A feed with every kind of breakage comes out well-formed for libxml2
 * without its recover mode. */
static void test_well_formed(void **state)
{
  static const struct tcase c = {
      "broken feed",
      "\n<br />\n<b>Warning</b>: x<br />\n"
      "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
      "<!DOCTYPE rss PUBLIC \"-//Netscape Communications//DTD RSS 0.91//EN\" "
      "\"http://my.netscape.com/publish/formats/rss-0.91.dtd\">\n"
      "<rss version=\"0.91\"><channel><title>AT&T &amp; friends &mdash; "
      "a < b &#150; &#0;</title>\n"
      "<link>http://x/?a=1&b=2</link>\n"
      "<item><description><![CDATA[<p>x & y</p>]]></description>"
      "<enclosure url=\"http://x/a.mp3?a=1&b=2\" length=\"1\" type=\"a/b\"/>"
      "</item></channel></rss>\n",
      "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n\n"
      "<rss version=\"0.91\"><channel><title>AT&amp;T &amp; friends &#8212; "
      "a &lt; b &#8211; &#xFFFD;</title>\n"
      "<link>http://x/?a=1&amp;b=2</link>\n"
      "<item><description><![CDATA[<p>x & y</p>]]></description>"
      "<enclosure url=\"http://x/a.mp3?a=1&amp;b=2\" length=\"1\" "
      "type=\"a/b\"/></item></channel></rss>\n",
      {NULL},
  };
  struct feed *feed = feed_new();
  const char *out;
  char *copy;
  size_t len;
  xmlDocPtr doc;

  (void)state;
  assert_int_equal(xmlfix_repair(c.in, strlen(c.in), feed, &out, &len, &copy),
                   0);
  assert_ptr_equal(out, copy);
  assert_string_equal(out, c.want);
  assert_int_equal(feed->nwarnings, 6);
  doc = xmlReadMemory(out, (int)len, NULL, NULL,
                      XML_PARSE_NONET | XML_PARSE_IGNORE_ENC |
                          XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  assert_non_null(doc);
  xmlFreeDoc(doc);
  free(copy);
  feed_free(feed);
}

/* 20 MB in one go: output allocated about once, nothing quadratic. */
static void test_large(void **state)
{
  static const char unit[] = "<item><title>A&B &mdash; x</title>"
                             "<link>http://x/?a=1&b=2</link>"
                             "<d><![CDATA[a & b]]></d></item>\n";
  static const char fixed[] = "<item><title>A&amp;B &#8212; x</title>"
                              "<link>http://x/?a=1&amp;b=2</link>"
                              "<d><![CDATA[a & b]]></d></item>\n";
  size_t ulen = sizeof(unit) - 1, flen = sizeof(fixed) - 1;
  size_t count = (20u << 20) / ulen, len = 0;
  char *in = malloc(count * ulen + 8), *copy;
  const char *out;
  size_t out_len;

  (void)state;
  assert_non_null(in);
  memcpy(in, "<rss>", 5);
  len = 5;
  for(size_t i = 0; i < count; i++, len += ulen)
    memcpy(in + len, unit, ulen);
  assert_int_equal(xmlfix_repair(in, len, NULL, &out, &out_len, &copy), 0);
  assert_int_equal(out_len, 5 + count * flen);
  for(size_t i = 0; i < count; i++)
    if(memcmp(out + 5 + i * flen, fixed, flen))
      fail_msg("item %zu differs", i);
  assert_true(malloc_usable_size(copy) < 2 * out_len);
  free(copy);

  free(in);

  /* The repaired document needs no repair: it is not copied at all. */
  in = malloc(5 + count * flen);
  assert_non_null(in);
  memcpy(in, "<rss>", 5);
  for(len = 5; len < 5 + count * flen; len += flen)
    memcpy(in + len, fixed, flen);
  assert_int_equal(xmlfix_repair(in, len, NULL, &out, &out_len, &copy), 0);
  assert_null(copy);
  assert_ptr_equal(out, in);
  assert_int_equal(out_len, len);
  free(in);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clean_unchanged),
      cmocka_unit_test(test_junk),
      cmocka_unit_test(test_doctype),
      cmocka_unit_test(test_billion_laughs),
      cmocka_unit_test(test_entities),
      cmocka_unit_test(test_char_refs),
      cmocka_unit_test(test_lt),
      cmocka_unit_test(test_tags),
      cmocka_unit_test(test_copied_untouched),
      cmocka_unit_test(test_rss_text_elements),
      cmocka_unit_test(test_pass_through),
      cmocka_unit_test(test_unterminated),
      cmocka_unit_test(test_well_formed),
      cmocka_unit_test(test_large),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);

  xmlCleanupParser();
  return rc;
}
