/*
 * test_xml_scan.c: xml_scan. Each case is a document and the exact trace
 * of events and errors that must come out. In a trace "(name a=v)" is a
 * start tag, "(/name)" an end tag and anything else text (adjacent pieces
 * joined); a name in a namespace is written "{uri}local", one with an
 * undeclared prefix "p:local". Errors are "line: message", joined by
 * " | ".
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xml_scan.h"

struct rec {
  struct buf trace;
  struct buf errors;
  int starts;
  int max_depth;
  int depth;
  const char *stop_at; /* start tag whose callback stops the scan */
  bool want;
};

static void put_name(struct buf *b, const char *prefix, const char *local,
                     const struct xml_ns *ns)
{
  if(ns) {
    buf_addc(b, '{');
    buf_adds(b, ns->uri);
    buf_addc(b, '}');
  } else if(prefix) {
    buf_adds(b, prefix);
    buf_addc(b, ':');
  }
  buf_adds(b, local);
}

static int on_start(void *ctx, const struct xml_element *el)
{
  struct rec *r = ctx;

  r->starts++;
  if(++r->depth > r->max_depth)
    r->max_depth = r->depth;
  buf_addc(&r->trace, '(');
  put_name(&r->trace, el->prefix, el->local, el->ns);
  for(size_t i = 0; i < el->nattrs; i++) {
    const struct xml_attr *a = &el->attrs[i];

    assert_int_equal(strlen(a->value), a->value_len);
    buf_addc(&r->trace, ' ');
    put_name(&r->trace, a->prefix, a->local, a->ns);
    buf_addc(&r->trace, '=');
    buf_adds(&r->trace, a->value);
  }
  buf_addc(&r->trace, ')');
  return r->stop_at && strcmp(el->local, r->stop_at) == 0;
}

static int on_end(void *ctx, const struct xml_element *el)
{
  struct rec *r = ctx;

  r->depth--;
  assert_int_equal(el->nattrs, 0);
  buf_adds(&r->trace, "(/");
  put_name(&r->trace, el->prefix, el->local, el->ns);
  buf_addc(&r->trace, ')');
  return 0;
}

static int on_text(void *ctx, const char *s, size_t len)
{
  struct rec *r = ctx;

  assert_true(len > 0);
  buf_add(&r->trace, s, len);
  return 0;
}

static void on_error(void *ctx, int line, const char *msg)
{
  struct rec *r = ctx;
  char head[32];

  if(r->errors.len)
    buf_adds(&r->errors, " | ");
  snprintf(head, sizeof(head), "%d: ", line);
  buf_adds(&r->errors, head);
  buf_adds(&r->errors, msg);
}

/* Scans doc (len bytes) into r; the caller frees with rec_free. */
static void scan(struct rec *r, const char *doc, size_t len)
{
  struct xml_scan_handler h = {
      .start = on_start,
      .end = on_end,
      .text = on_text,
      .error = on_error,
      .text_wanted = &r->want,
  };

  buf_init(&r->trace, 1 << 24);
  buf_init(&r->errors, 1 << 24);
  r->want = true;
  assert_int_equal(xml_scan(doc, len, &h, r), 0);
}

static void rec_free(struct rec *r)
{
  buf_free(&r->trace);
  buf_free(&r->errors);
}

struct tcase {
  const char *name;
  const char *in;
  const char *trace;
  const char *errors;
};

static void run_all(const struct tcase *cases, size_t n)
{
  for(size_t i = 0; i < n; i++) {
    const struct tcase *c = &cases[i];
    struct rec r = {0};
    const char *trace;
    const char *errors;

    scan(&r, c->in, strlen(c->in));
    trace = r.trace.data ? r.trace.data : "";
    errors = r.errors.data ? r.errors.data : "";
    if(strcmp(trace, c->trace) != 0)
      fail_msg("%s:\n got  \"%s\"\n want \"%s\"", c->name, trace, c->trace);
    if(strcmp(errors, c->errors ? c->errors : "") != 0)
      fail_msg("%s: errors\n got  \"%s\"\n want \"%s\"", c->name, errors,
               c->errors ? c->errors : "");
    rec_free(&r);
  }
}

#define RUN(cases) run_all(cases, sizeof(cases) / sizeof(cases[0]))

static void test_namespaces(void **state)
{
  static const struct tcase cases[] = {
      {"default and prefixed",
       "<a xmlns=\"u1\" xmlns:p=\"u2\"><p:b p:x=\"1\" y=\"2\"/></a>",
       "({u1}a)({u2}b {u2}x=1 y=2)(/{u2}b)(/{u1}a)", NULL},
      {"undeclaring the default", "<a xmlns=\"u\"><b xmlns=\"\">t</b><c/></a>",
       "({u}a)(b)t(/b)({u}c)(/{u}c)(/{u}a)", NULL},
      {"scope ends with the element",
       "<a><b xmlns:p=\"u\"><p:c/></b><p:d/></a>",
       "(a)(b)({u}c)(/{u}c)(/b)(p:d)(/p:d)(/a)",
       "1: Namespace prefix p on d is not defined"},
      {"inner declaration shadows",
       "<p:a xmlns:p=\"u1\"><p:b xmlns:p=\"u2\"/><p:c/></p:a>",
       "({u1}a)({u2}b)(/{u2}b)({u1}c)(/{u1}c)(/{u1}a)", NULL},
      {"an end tag has its start tag's namespace",
       "<a xmlns=\"u1\"><b xmlns=\"u2\"><c/></b><d/></a>",
       "({u1}a)({u2}b)({u2}c)(/{u2}c)(/{u2}b)({u1}d)(/{u1}d)(/{u1}a)", NULL},
      {"names of open elements outlive their children",
       "<p:outer xmlns:p=\"u\"><long-inner-name><q:x/><y a=\"1\"/>"
       "</long-inner-name></p:outer>",
       "({u}outer)(long-inner-name)(q:x)(/q:x)(y a=1)(/y)(/long-inner-name)"
       "(/{u}outer)",
       "1: Namespace prefix q on x is not defined"},
      {"xml prefix is predeclared", "<a xml:lang=\"en\" xml:base=\"b/\"/>",
       "(a {http://www.w3.org/XML/1998/namespace}lang=en "
       "{http://www.w3.org/XML/1998/namespace}base=b/)(/a)",
       NULL},
      {"undeclared attribute prefix", "<a q:x=\"1\"/>", "(a q:x=1)(/a)",
       "1: Namespace prefix q for x on a is not defined"},
      {"declaration value is decoded", "<a xmlns=\"u?a=1&amp;b=2\"/>",
       "({u?a=1&b=2}a)(/{u?a=1&b=2}a)", NULL},
      {"repeated declaration", "<a xmlns:p=\"1\" xmlns:p=\"2\"><p:b/></a>",
       "(a)({1}b)(/{1}b)(/a)", "1: xmlns:p redefined"},
      {"reserved prefix", "<a xmlns:xmlns=\"u\"/>", "(a)(/a)",
       "1: xmlns:xmlns: reserved prefix"},
  };

  (void)state;
  RUN(cases);
}

static void test_references(void **state)
{
  static const struct tcase cases[] = {
      {"predefined and numeric",
       "<a>&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&#X43;&#x1F600;</a>",
       "(a)<>&\"'AB&#X43;\xf0\x9f\x98\x80(/a)", "1: Entity '#X43' not defined"},
      {"no character becomes U+FFFD",
       "<a>x&#0;&#xD800;&#x110000;&#99999999999999;y</a>",
       "(a)x\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdy(/a)",
       "1: xmlParseCharRef: invalid xmlChar value 0 | "
       "1: xmlParseCharRef: invalid xmlChar value 55296 | "
       "1: xmlParseCharRef: invalid xmlChar value 1114112 | "
       "1: xmlParseCharRef: invalid xmlChar value 1114112"},
      {"forbidden characters are dropped",
       "<a>x&#1;&#x7f;&#xFFFE;&#xffff;&#9;&#10;&#13;y</a>", "(a)x\t\n\ry(/a)",
       "1: xmlParseCharRef: invalid xmlChar value 1 | "
       "1: xmlParseCharRef: invalid xmlChar value 127 | "
       "1: xmlParseCharRef: invalid xmlChar value 65534 | "
       "1: xmlParseCharRef: invalid xmlChar value 65535"},
      {"unknown and broken references are text",
       "<a>&nbsp; & b &; &#; &#x; &#12a;</a>",
       "(a)&nbsp; & b &; &#; &#x; &#12a;(/a)",
       "1: Entity 'nbsp' not defined | 1: xmlParseEntityRef: no name | "
       "1: xmlParseEntityRef: no name | 1: Entity '#' not defined | "
       "1: Entity '#x' not defined | 1: Entity '#12a' not defined"},
      {"line ends", "<a>1\r\n2\r3\n</a>", "(a)1\n2\n3\n(/a)", NULL},
  };

  (void)state;
  RUN(cases);
}

static void test_cdata_comments_pis(void **state)
{
  static const struct tcase cases[] = {
      {"cdata is raw", "<a>x<![CDATA[<b>&amp;]]]]>y</a>", "(a)x<b>&amp;]]y(/a)",
       NULL},
      {"cdata line ends", "<a><![CDATA[1\r\n2\r3]]></a>", "(a)1\n2\n3(/a)",
       NULL},
      {"comments and PIs skipped",
       "<?xml version=\"1.0\"?>\n<!-- c -->\n<?pi?><a>x<!-- <b> -->y<?pi z?>"
       "</a><!-- end --><?pi?>\n",
       "(a)xy(/a)", NULL},
      {"doctype skipped", "<!DOCTYPE a [<!ENTITY e \"]>\">]><a>&e;</a>",
       "(a)&e;(/a)", "1: DOCTYPE ignored | 1: Entity 'e' not defined"},
  };

  (void)state;
  RUN(cases);
}

static void test_attributes(void **state)
{
  static const struct tcase cases[] = {
      {"both quotes", "<a x='1\"' y=\"2'\"/>", "(a x=1\" y=2')(/a)", NULL},
      {"normalization",
       "<a z=\" a\tb\r\nc\nd\re \" w=\"&#10;&#9;&lt;&amp;&#x20AC;\"/>",
       "(a z= a b c d e  w=\n\t<&\xe2\x82\xac)(/a)", NULL},
      {"white space around =", "<a x = \"1\"\n\ty\n=\n'2'></a>",
       "(a x=1 y=2)(/a)", NULL},
      {"duplicates: the first wins", "<a x=\"1\" x=\"2\" y=\"3\"/>",
       "(a x=1 y=3)(/a)", "1: Attribute x redefined"},
      {"unquoted and valueless", "<a y=3 z w=\"4\" v=5>t</a>",
       "(a y=3 w=4 v=5)t(/a)",
       "1: AttValue: \" or ' expected | "
       "1: Specification mandates value for attribute z | "
       "1: AttValue: \" or ' expected"},
      {"'<' ends the value and the tag", "<a x=\"1<b>2</b></a>",
       "(a x=1)(b)2(/b)(/a)",
       "1: Unescaped '<' not allowed in attributes values"},
      {"junk in the tag", "<a \"x\" y=\"1\">t</a>", "(a y=1)t(/a)",
       "1: attributes construct error | "
       "1: Specification mandates value for attribute x"},
      {"empty value", "<a x=\"\"/>", "(a x=)(/a)", NULL},
  };

  (void)state;
  RUN(cases);
}

static void test_recovery(void **state)
{
  static const struct tcase cases[] = {
      {"end tag closes up to its element", "<a><b><c>t</b>u</a>",
       "(a)(b)(c)t(/c)(/b)u(/a)",
       "1: Opening and ending tag mismatch: c line 1 and b"},
      {"unmatched end tag ignored", "<a>x</zz>y</a >", "(a)xy(/a)",
       "1: Unexpected end tag : zz"},
      {"end tag without '>'", "<a>x</a y<b/>", "(a)x(/a)",
       "1: expected '>' | 1: Extra content at the end of the document"},
      {"stray '<' is text", "<a>1 < 2 <= 3 </ 4</a>", "(a)1 < 2 <= 3 </ 4(/a)",
       "1: StartTag: invalid element name | "
       "1: StartTag: invalid element name | "
       "1: StartTag: invalid element name"},
      {"truncated in text", "<a><b>text", "(a)(b)text",
       "1: Premature end of data in tag b line 1"},
      {"truncated in a tag", "<a>\n<b x=\"1", "(a)\n",
       "2: Couldn't find end of Start Tag b | "
       "2: Premature end of data in tag a line 1"},
      {"truncated in an end tag", "<a><b></b", "(a)(b)(/b)",
       "1: expected '>' | 1: Premature end of data in tag a line 1"},
      {"truncated in a comment", "<a>x<!-- y", "(a)x",
       "1: Comment not terminated | 1: Premature end of data in tag a line 1"},
      {"truncated in CDATA", "<a><![CDATA[xy", "(a)xy",
       "1: CData section not finished | "
       "1: Premature end of data in tag a line 1"},
      {"truncated in a PI", "<a><?pi", "(a)",
       "1: PI not terminated | 1: Premature end of data in tag a line 1"},
      {"text before the root", "junk <a/>", "(a)(/a)",
       "1: Start tag expected, '<' not found; text ignored"},
      {"content after the root", "<a/>\n <b/><c/>", "(a)(/a)",
       "2: Extra content at the end of the document"},
      {"text after the root", "<a/> x", "(a)(/a)",
       "1: Extra content at the end of the document"},
      {"empty document", "", "", NULL},
      {"only a '<'", "<", "", "1: StartTag: invalid element name"},
  };

  (void)state;
  RUN(cases);
}

static void test_line_numbers(void **state)
{
  static const struct tcase cases[] = {
      {"error lines", "<a>\n<b>\n</c>\n\r\n&x;</b></a>",
       "(a)\n(b)\n\n\n&x;(/b)(/a)",
       "3: Unexpected end tag : c | 5: Entity 'x' not defined"},
      {"line of the open element", "<a>\n<b>\n<c>\n</b></a>",
       "(a)\n(b)\n(c)\n(/c)(/b)(/a)",
       "4: Opening and ending tag mismatch: c line 3 and b"},
  };

  (void)state;
  RUN(cases);
}

static void test_depth_limit(void **state)
{
  struct buf doc;
  struct rec r = {0};

  (void)state;
  buf_init(&doc, 1 << 20);
  for(int i = 0; i < XML_SCAN_MAX_DEPTH + 50; i++)
    buf_adds(&doc, "<e>");
  scan(&r, doc.data, doc.len);
  assert_int_equal(r.starts, XML_SCAN_MAX_DEPTH);
  assert_int_equal(r.max_depth, XML_SCAN_MAX_DEPTH);
  assert_string_equal(r.errors.data, "1: Excessive depth in document: 256");
  rec_free(&r);
  buf_free(&doc);
}

static void test_stop_and_text_wanted(void **state)
{
  static const char doc[] = "<a>x<b>y</b><stop>z</stop><c/></a>";
  struct rec r = {0};
  struct xml_scan_handler h = {
      .start = on_start,
      .end = on_end,
      .text = on_text,
      .error = on_error,
      .text_wanted = &r.want,
  };

  (void)state;
  scan(&r, doc, strlen(doc));
  rec_free(&r);
  memset(&r, 0, sizeof(r));
  buf_init(&r.trace, 1 << 20);
  buf_init(&r.errors, 1 << 20);
  r.stop_at = "stop";
  r.want = false;
  assert_int_equal(xml_scan(doc, strlen(doc), &h, &r), 0);
  assert_string_equal(r.trace.data, "(a)(b)(/b)(stop)");
  assert_null(r.errors.data);
  rec_free(&r);
}

static void test_hostile_limits(void **state)
{
  struct buf doc;
  struct rec r = {0};
  char one[64];

  (void)state;
  /* More attributes and namespace declarations than are kept. */
  buf_init(&doc, 1 << 24);
  buf_adds(&doc, "<a");
  for(int i = 0; i < XML_SCAN_MAX_ATTRS + 10; i++) {
    snprintf(one, sizeof(one), " a%d=\"%d\" xmlns:p%d=\"u%d\"", i, i, i, i);
    buf_adds(&doc, one);
  }
  buf_adds(&doc, "><p0:b/><p299:c/></a>");
  scan(&r, doc.data, doc.len);
  assert_non_null(strstr(r.trace.data, " a255=255)({u0}b)(/{u0}b)(p299:c)"));
  assert_null(strstr(r.trace.data, "a256="));
  assert_non_null(strstr(r.errors.data, "more than 256 attributes"));
  assert_non_null(strstr(r.errors.data, "more than 256 namespace"));
  rec_free(&r);
  buf_free(&doc);

  /* Many unclosed elements under one another and a long name: the scan
   * stops at the depth limit; long names are fine. */
  buf_init(&doc, 1 << 24);
  buf_adds(&doc, "<r>");
  for(int i = 0; i < 100000; i++)
    buf_adds(&doc, "<x/></y>");
  buf_addc(&doc, '<');
  for(int i = 0; i < 100000; i++)
    buf_addc(&doc, 'n');
  buf_adds(&doc, "/></r>");
  memset(&r, 0, sizeof(r));
  scan(&r, doc.data, doc.len);
  assert_int_equal(r.starts, 100002);
  assert_int_equal(r.depth, 0);
  rec_free(&r);
  buf_free(&doc);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_namespaces),
      cmocka_unit_test(test_references),
      cmocka_unit_test(test_cdata_comments_pis),
      cmocka_unit_test(test_attributes),
      cmocka_unit_test(test_recovery),
      cmocka_unit_test(test_line_numbers),
      cmocka_unit_test(test_depth_limit),
      cmocka_unit_test(test_stop_and_text_wanted),
      cmocka_unit_test(test_hostile_limits),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
