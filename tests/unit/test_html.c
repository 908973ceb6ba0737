/*
 * test_html.c: the sanitizer, plain text, escaping and excerpts, each case
 * an input and the exact output.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"

#define BASE "https://ex.com/blog/post.html"

struct san_case {
  const char *in;
  const char *want;
};

static void check_sanitize(const struct san_case *c, size_t n)
{
  for(size_t i = 0; i < n; i++) {
    char *got = html_sanitize(c[i].in, strlen(c[i].in), BASE, NULL);

    if(got == NULL || strcmp(got, c[i].want) != 0)
      fail_msg("html_sanitize(%s)\n  got  %s\n  want %s", c[i].in,
               got != NULL ? got : "NULL", c[i].want);
    free(got);
  }
}

static void test_basics(void **state)
{
  static const struct san_case c[] = {
      {"", ""},
      {"plain text", "plain text"},
      {"a > b \"q\"", "a &gt; b \"q\""},
      {"Hello <b>world</b> again", "Hello <b>world</b> again"},
      {"<b>Hello</b> world", "<b>Hello</b> world"},
      {"  <p>  spaced\n text  </p>\n", "  <p>  spaced\n text  </p>\n"},
      {"<P CLASS=x ID=y STYLE='color:red'>X</P>", "<p>X</p>"},
      {"<p>x<!-- comment -->y</p>", "<p>xy</p>"},
      {"<p>a<![CDATA[b]]>c</p>", "<p>a&lt;![CDATA[b]]&gt;c</p>"},
      {"<font color=red><center>c</center></font>", "c"},
      {"<html><head><title>T</title><meta charset=latin1></head>"
       "<body><p>b</p></body></html>",
       "<p>b</p>"},
      {"<!DOCTYPE html><?php echo 1; ?>text", "text"},
  };

  (void)state;
  check_sanitize(c, sizeof(c) / sizeof(c[0]));
}

static void test_dropped_elements(void **state)
{
  static const struct san_case c[] = {
      {"a<script>alert(1)</script>b", "ab"},
      {"a<script src=//evil.js></script>b", "ab"},
      {"a<style>p{color:red}</style>b", "ab"},
      {"a<iframe src=https://ex.com/>fallback <b>x</b></iframe>b", "ab"},
      {"a<object data=x.swf><param name=a value=b>alt</object>b", "ab"},
      {"a<embed src=x.swf>b", "ab"},
      {"a<form action=/x><p>f<input name=q><button>Go</button></form>b", "ab"},
      {"a<select><option>o</option></select><textarea>t</textarea>b", "ab"},
      {"a<template><b>t</b></template>b", "ab"},
      {"a<svg><circle r=1 /><text>s</text></svg>b", "ab"},
      {"a<math><mi>x</mi></math>b", "ab"},
      {"a<applet code=x>j</applet><frameset><frame src=x></frameset>b", "ab"},
      {"a<base href=//evil/><link rel=stylesheet href=x>b", "ab"},
      {"a<noembed>n</noembed><noframes>f</noframes><canvas>c</canvas>b", "ab"},
      /* noscript is unwrapped: feed readers run no scripts */
      {"<noscript><img src=real.jpg></noscript>",
       "<img src=\"https://ex.com/blog/real.jpg\">"},
  };

  (void)state;
  check_sanitize(c, sizeof(c) / sizeof(c[0]));
}

static void test_attributes(void **state)
{
  static const struct san_case c[] = {
      {"<a href=\"/x\" title=\"T\" class=c id=i style=s target=_blank "
       "rel=opener onclick=\"e()\" data-x=1>t</a>",
       "<a href=\"https://ex.com/x\" title=\"T\">t</a>"},
      {"<div onmouseover=alert(1) OnLoad=x lang=fr dir=rtl>d</div>",
       "<div lang=\"fr\" dir=\"rtl\">d</div>"},
      {"<img src=a.png alt=\"A &amp; B\" width=10 height=20 loading=lazy "
       "onerror=x>",
       "<img src=\"https://ex.com/blog/a.png\" alt=\"A &amp; B\" width=\"10\" "
       "height=\"20\">"},
      {"<img src=a.png alt>",
       "<img src=\"https://ex.com/blog/a.png\" alt=\"\">"},
      {"<td colspan=2 rowspan=3 width=9>x</td>",
       "<td colspan=\"2\" rowspan=\"3\">x</td>"},
      {"<table><tr><th scope=col colspan=2>h</th></tr></table>",
       "<table><tr><th scope=\"col\" colspan=\"2\">h</th></tr></table>"},
      {"<ol start=3 reversed type=a><li value=5>x</li></ol>",
       "<ol start=\"3\" reversed type=\"a\"><li value=\"5\">x</li></ol>"},
      {"<details open><summary>s</summary>d</details>",
       "<details open><summary>s</summary>d</details>"},
      {"<time datetime=\"2024-05-01\">May</time>",
       "<time datetime=\"2024-05-01\">May</time>"},
      {"<del cite=why.html datetime=2024>x</del><ins>y</ins>",
       "<del cite=\"https://ex.com/blog/why.html\" datetime=\"2024\">x</del>"
       "<ins>y</ins>"},
      {"<blockquote cite=\"../q\">q</blockquote><q cite=javascript:x>i</q>",
       "<blockquote cite=\"https://ex.com/q\">q</blockquote><q>i</q>"},
      {"<video src=v.mp4 controls autoplay poster=p.jpg width=640 "
       "onplay=x>fallback</video>",
       "<video src=\"https://ex.com/blog/v.mp4\" controls "
       "poster=\"https://ex.com/blog/p.jpg\" width=\"640\">fallback</video>"},
      {"<audio controls loop muted preload=none><source src=a.ogg "
       "type=audio/ogg><track src=s.vtt kind=captions srclang=en default>"
       "</audio>",
       "<audio controls loop muted preload=\"none\"><source "
       "src=\"https://ex.com/blog/a.ogg\" type=\"audio/ogg\"><track "
       "src=\"https://ex.com/blog/s.vtt\" kind=\"captions\" srclang=\"en\" "
       "default></audio>"},
      /* one of each attribute */
      {"<a href=/1 href=/2 title=a title=b>x</a>",
       "<a href=\"https://ex.com/1\" title=\"a\">x</a>"},
  };

  (void)state;
  check_sanitize(c, sizeof(c) / sizeof(c[0]));
}

static void test_urls(void **state)
{
  static const struct san_case c[] = {
      {"<a href=\"../about\">a</a>", "<a href=\"https://ex.com/about\">a</a>"},
      {"<a href=\"#top\">t</a>",
       "<a href=\"https://ex.com/blog/post.html#top\">t</a>"},
      {"<a href=\"?page=2\">q</a>",
       "<a href=\"https://ex.com/blog/post.html?page=2\">q</a>"},
      {"<a href=\"//cdn.ex.net/x\">p</a>",
       "<a href=\"https://cdn.ex.net/x\">p</a>"},
      {"<a href=\" http://o.org/a b \">s</a>",
       "<a href=\"http://o.org/a%20b\">s</a>"},
      {"<a href=\"mailto:me@ex.com\">m</a>",
       "<a href=\"mailto:me@ex.com\">m</a>"},
      {"<a href=\"\">e</a>", "<a>e</a>"},
      {"<a href=\"javascript:alert(1)\">j</a>", "<a>j</a>"},
      {"<a href=\"JaVaScRiPt:alert(1)\">j</a>", "<a>j</a>"},
      {"<a href=\"jav&#x09;ascript:alert(1)\">j</a>", "<a>j</a>"},
      {"<a href=\"jav&#x0A;ascript:alert(1)\">j</a>", "<a>j</a>"},
      {"<a href=\"&#106;avascript:alert(1)\">j</a>", "<a>j</a>"},
      {"<a href=\" &#14; javascript:alert(1)\">j</a>", "<a>j</a>"},
      {"<a href=\"vbscript:x\">v</a><a href=\"data:text/html,x\">d</a>",
       "<a>v</a><a>d</a>"},
      {"<a href=\"data:image/png;base64,AA\">d</a>", "<a>d</a>"},
      {"<img src=\"data:image/png;base64,AA\">",
       "<img src=\"data:image/png;base64,AA\">"},
      {"<img src=\"data:image/svg+xml,<svg onload=alert(1)>\">", ""},
      {"<img src=\"javascript:alert(1)\" alt=x>", ""},
      {"<img alt=\"no source\">", ""},
      {"<a href=\"http://ex.com/?a=1&amp;b=2\">q</a>",
       "<a href=\"http://ex.com/?a=1&amp;b=2\">q</a>"},
      {"<a href='x\"onclick=\"alert(1)'>q</a>",
       "<a href=\"https://ex.com/blog/x%22onclick=%22alert(1)\">q</a>"},
  };

  (void)state;
  check_sanitize(c, sizeof(c) / sizeof(c[0]));
}

static void test_srcset(void **state)
{
  static const struct san_case c[] = {
      {"<img src=a.png srcset=\"a.png 1x, /b.png 2x,https://o.org/c.png "
       "640w\">",
       "<img src=\"https://ex.com/blog/a.png\" "
       "srcset=\"https://ex.com/blog/a.png 1x, https://ex.com/b.png 2x, "
       "https://o.org/c.png 640w\">"},
      {"<img srcset=\"javascript:alert(1) 1x, ok.png 2x\">",
       "<img srcset=\"https://ex.com/blog/ok.png 2x\">"},
      {"<img src=a.png srcset=\"javascript:x 1x, data:text/html,y 2x\">",
       "<img src=\"https://ex.com/blog/a.png\">"},
      /* a comma inside a URL does not split it (HTML's srcset rules) */
      {"<img srcset=\"a.png,b.png 2x\">",
       "<img srcset=\"https://ex.com/blog/a.png,b.png 2x\">"},
      {"<img srcset=\"a.png, b.png 2x\">",
       "<img srcset=\"https://ex.com/blog/a.png, https://ex.com/blog/b.png "
       "2x\">"},
      {"<picture><source srcset=\"a.webp\" type=\"image/webp\"><img "
       "src=\"a.jpg\"></picture>",
       "<picture><source srcset=\"https://ex.com/blog/a.webp\" "
       "type=\"image/webp\"><img src=\"https://ex.com/blog/a.jpg\"></picture>"},
  };

  (void)state;
  check_sanitize(c, sizeof(c) / sizeof(c[0]));
}

static void test_structure(void **state)
{
  static const struct san_case c[] = {
      /* unclosed tags are closed */
      {"<p>unclosed <b>bold <i>both",
       "<p>unclosed <b>bold <i>both</i></b></p>"},
      {"<p>a<p>b", "<p>a</p><p>b</p>"},
      /* stray and misnested end tags */
      {"</p></b>stray</div>", "stray"},
      {"<b>x</i>y</b>z", "<b>xy</b>z"},
      {"<div><p>a</div>b", "<div><p>a</p></div>b"},
      /* nested lists */
      {"<ul><li>a<ul><li>b</ul><li>c</ul>",
       "<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>"},
      {"<ol><li>1<ol><li>1.1<li>1.2</ol></li></ol>",
       "<ol><li>1<ol><li>1.1</li><li>1.2</li></ol></li></ol>"},
      {"<dl><dt>t<dd>d</dl>", "<dl><dt>t</dt><dd>d</dd></dl>"},
      /* tables */
      {"<table><thead><tr><th>h</th></tr></thead><tbody><tr><td>1<td>2"
       "</tbody><tfoot><tr><td>f</td></tr></tfoot></table>",
       "<table><thead><tr><th>h</th></tr></thead><tbody><tr><td>1</td><td>2"
       "</td></tr></tbody><tfoot><tr><td>f</td></tr></tfoot></table>"},
      {"<table><caption>c</caption><colgroup><col span=2></colgroup><tr><td>x"
       "</table>",
       "<table><caption>c</caption><colgroup><col span=\"2\"></colgroup><tr>"
       "<td>x</td></tr></table>"},
      /* void elements have no end tag */
      {"a<br>b<br/>c<hr>d<wbr>e", "a<br>b<br>c<hr>d<wbr>e"},
      {"<p>a<wbr>b</p>c", "<p>a<wbr>b</p>c"},
      {"<figure><img src=f.png><figcaption>cap</figcaption></figure>",
       "<figure><img src=\"https://ex.com/blog/f.png\"><figcaption>cap"
       "</figcaption></figure>"},
      {"<pre><code>int x = a &lt; b;\n  return;</code></pre>",
       "<pre><code>int x = a &lt; b;\n  return;</code></pre>"},
      {"<h1>1</h1><h2>2</h2><h3>3</h3><h4>4</h4><h5>5</h5><h6>6</h6>",
       "<h1>1</h1><h2>2</h2><h3>3</h3><h4>4</h4><h5>5</h5><h6>6</h6>"},
      {"<section><article><header>h</header><aside>a</aside><footer>f"
       "</footer></article></section><main><nav>n</nav></main>",
       "<section><article><header>h</header><aside>a</aside><footer>f"
       "</footer></article></section>n"},
  };

  (void)state;
  check_sanitize(c, sizeof(c) / sizeof(c[0]));
}

static void test_entities_and_text(void **state)
{
  static const struct san_case c[] = {
      {"caf&eacute; &amp; &lt;tag&gt; &quot;q&quot; &#x1F600; &#8230;",
       "caf\xc3\xa9 &amp; &lt;tag&gt; \"q\" \xf0\x9f\x98\x80 \xe2\x80\xa6"},
      {"&bogus; AT&T & done", "&amp;bogus; AT&amp;T &amp; done"},
      {"a&nbsp;b", "a\xc2\xa0"
                   "b"},
      {"<abbr title=\"&lt;x&gt; &amp; &quot;y&quot;\">z</abbr>",
       "<abbr title=\"&lt;x&gt; &amp; &quot;y&quot;\">z</abbr>"},
      /* Windows-1252 numeric references, as browsers read them */
      {"&#147;quoted&#148; &#150; it&#146;s", "\xe2\x80\x9cquoted\xe2\x80\x9d "
                                              "\xe2\x80\x93 it\xe2\x80\x99s"},
      /* non-ASCII passes through; invalid UTF-8 and controls do not */
      {"<p>\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 "
       "\xe4\xb8\x96\xe7\x95"
       "\x8c \xf0\x9f\x8e\x89</p>",
       "<p>\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 "
       "\xe4\xb8\x96\xe7\x95"
       "\x8c \xf0\x9f\x8e\x89</p>"},
      {"<b>a\x01"
       "b\xff"
       "c\xc3</b>",
       "<b>ab\xef\xbf\xbd"
       "c\xef\xbf\xbd</b>"},
      {"x\x01y\xfe", "xy\xef\xbf\xbd"},
      {"\xed\xa0\x80 \xef\xbf\xbe", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
                                    "\xef\xbf\xbd"},
  };

  (void)state;
  check_sanitize(c, sizeof(c) / sizeof(c[0]));
}

static void test_malicious(void **state)
{
  static const struct san_case c[] = {
      {"<img src=x onerror=alert(1)>", "<img src=\"https://ex.com/blog/x\">"},
      {"<IMG SRC=\"javascript:alert(1)\">", ""},
      {"<svg><script>alert(1)</script></svg>x", "x"},
      {"<scr<script>ipt>alert(1)</script>", "ipt&gt;alert(1)"},
      {"<<script>script>alert(1)</script>", "&lt;"},
      {"<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">"
       "</noscript>",
       "<p title=\"&lt;/noscript&gt;&lt;img src=x onerror=alert(1)&gt;\"></p>"},
      {"<a href=\"javascript&colon;alert(1)\">x</a>",
       "<a href=\"https://ex.com/blog/javascript&amp;colon;alert(1)\">x</a>"},
      {"<div style=\"background:url(javascript:alert(1))\">x</div>",
       "<div>x</div>"},
      {"<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", ""},
      {"<a href=\"x\" onmouseover=\"alert(1)\">x</a><body onload=alert(1)>",
       "<a href=\"https://ex.com/blog/x\">x</a>"},
      /* closing the parser's wrapper element changes nothing that matters */
      {"<p>a</freshet-fragment><b>b", "<p>a</p><b>b</b>"},
      {"<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>"
       "<object data=\"javascript:alert(1)\"></object>ok",
       "ok"},
  };

  (void)state;
  check_sanitize(c, sizeof(c) / sizeof(c[0]));
}

static void test_first_image(void **state)
{
  const char *in = "<p>text</p><img src=\"javascript:x\"><img alt=none>"
                   "<img src=\"/img/one.jpg\"><img src=two.jpg>";
  char *img = (char *)1;
  char *out;

  (void)state;
  out = html_sanitize(in, strlen(in), BASE, &img);
  assert_string_equal(out, "<p>text</p><img src=\"https://ex.com/img/one.jpg\">"
                           "<img src=\"https://ex.com/blog/two.jpg\">");
  assert_string_equal(img, "https://ex.com/img/one.jpg");
  free(out);
  free(img);

  /* Tracking pixels and inline data: images stay in the HTML but do not
   * stand for the entry. */
  img = (char *)1;
  in = "<img src=\"/px.gif\" width=\"1\" height=\"1\">"
       "<img src=\"data:image/png;base64,iVBORw0KGgo=\">"
       "<img src=\"/photo.jpg\" width=\"640\">";
  out = html_sanitize(in, strlen(in), BASE, &img);
  assert_non_null(strstr(out, "px.gif"));
  assert_string_equal(img, "https://ex.com/photo.jpg");
  free(out);
  free(img);

  img = (char *)1;
  out = html_sanitize("<p>no image</p>", 15, BASE, &img);
  assert_string_equal(out, "<p>no image</p>");
  assert_null(img);
  free(out);

  img = (char *)1;
  out = html_sanitize("", 0, BASE, &img);
  assert_string_equal(out, "");
  assert_null(img);
  free(out);

  /* no base: relative URLs cannot be published */
  img = (char *)1;
  in = "<img src=a.png><a href=b.html>b</a><img src=https://ex.com/c.png>";
  out = html_sanitize(in, strlen(in), NULL, &img);
  assert_string_equal(out, "<a>b</a><img src=\"https://ex.com/c.png\">");
  assert_string_equal(img, "https://ex.com/c.png");
  free(out);
  free(img);
}

/* Every element on the allowlist comes out, with its closing tag unless
 * it is void. */
static void test_allowlist(void **state)
{
  static const char *const kept[] = {
      "a",       "abbr",    "address", "article",    "aside",     "b",
      "bdi",     "bdo",     "cite",    "code",       "dd",        "del",
      "details", "dfn",     "div",     "dl",         "dt",        "em",
      "figure",  "footer",  "header",  "i",          "ins",       "kbd",
      "mark",    "p",       "pre",     "q",          "rp",        "rt",
      "ruby",    "s",       "samp",    "section",    "small",     "span",
      "strong",  "sub",     "summary", "sup",        "time",      "u",
      "var",     "picture", "audio",   "blockquote", "figcaption"};
  static const char *const unwrapped[] = {"font",  "center",    "main",  "nav",
                                          "blink", "custom-el", "label", "o:p",
                                          "body",  "html",      "dialog"};
  char in[128], want[128];

  (void)state;
  for(size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
    char *out;

    snprintf(in, sizeof(in), "<%s>x</%s>", kept[i], kept[i]);
    out = html_sanitize(in, strlen(in), BASE, NULL);
    if(strcmp(out, in) != 0)
      fail_msg("%s -> %s", in, out);
    free(out);
  }
  for(size_t i = 0; i < sizeof(unwrapped) / sizeof(unwrapped[0]); i++) {
    char *out;

    snprintf(in, sizeof(in), "<%s>x</%s>y", unwrapped[i], unwrapped[i]);
    out = html_sanitize(in, strlen(in), BASE, NULL);
    if(strcmp(out, "xy") != 0)
      fail_msg("%s -> %s", in, out);
    free(out);
  }
  snprintf(in, sizeof(in),
           "<table><tbody><tr><td>x</td></tr></tbody>"
           "</table>");
  snprintf(want, sizeof(want), "%s", in);
  {
    char *out = html_sanitize(in, strlen(in), BASE, NULL);

    assert_string_equal(out, want);
    free(out);
  }
}

/* Deep nesting stays within SAN_MAX_DEPTH kept elements and balanced. */
static void test_deep_nesting(void **state)
{
  size_t n = 5000, opened = 0, closed = 0;
  char *in = malloc(n * 5 + 1), *out, *p;

  (void)state;
  assert_non_null(in);
  for(size_t i = 0; i < n; i++)
    memcpy(in + i * 5, "<div>", 5);
  in[n * 5] = '\0';
  out = html_sanitize(in, n * 5, NULL, NULL);
  assert_non_null(out);
  for(p = out; (p = strstr(p, "<div>")) != NULL; p++)
    opened++;
  for(p = out; (p = strstr(p, "</div>")) != NULL; p++)
    closed++;
  assert_int_equal(opened, 128);
  assert_int_equal(closed, 128);
  free(out);
  free(in);
}

static char *repeat(const char *head, const char *unit, size_t n,
                    const char *tail)
{
  size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
  char *s = malloc(hl + ul * n + tl + 1), *p = s;

  assert_non_null(s);
  memcpy(p, head, hl);
  p += hl;
  for(size_t i = 0; i < n; i++, p += ul)
    memcpy(p, unit, ul);
  memcpy(p, tail, tl + 1);
  return s;
}

static void check_one(const char *in, const char *want)
{
  char *out = html_sanitize(in, strlen(in), BASE, NULL);

  assert_non_null(out);
  assert_string_equal(out, want);
  free(out);
}

/* Shapes that make libxml2 2.9 take quadratic time are cut short, and
 * nothing else is touched. */
static void test_hostile_shapes(void **state)
{
  char *in, *out;

  (void)state;
  /* attributes past the 100th are left out */
  in = repeat("<a href=/x", " a", 150, " title=t>x</a>");
  check_one(in, "<a href=\"https://ex.com/x\">x</a>");
  free(in);
  in = repeat("<a title=t", " a", 98, " href=/x>x</a>");
  check_one(in, "<a title=\"t\" href=\"https://ex.com/x\">x</a>");
  free(in);
  /* quoted values are one attribute however many spaces they hold */
  in = repeat("<img alt=\"", " w", 300, "\" src=a.png>");
  out = html_sanitize(in, strlen(in), BASE, NULL);
  assert_non_null(strstr(out, " src=\"https://ex.com/blog/a.png\">"));
  free(out);
  free(in);
  /* comments and script text are not tags */
  in = repeat("<!-- <a", " w", 300, " -->after");
  check_one(in, "after");
  free(in);
  in = repeat("<script>if (a<b", " w", 300, ") x();</script>after");
  check_one(in, "after");
  free(in);
  /* parsing stops once 256 elements are open; what is open is closed */
  in = repeat("", "<span>", 300, "<b>deep</b>");
  out = html_sanitize(in, strlen(in), BASE, NULL);
  assert_null(strstr(out, "deep"));
  assert_true(strlen(out) == 128 * strlen("<span></span>"));
  free(out);
  free(in);
  in = repeat("<p>kept</p>", "<em>", 300, "lost");
  out = html_sanitize(in, strlen(in), BASE, NULL);
  assert_true(strncmp(out, "<p>kept</p><em><em>", 19) == 0);
  assert_null(strstr(out, "lost"));
  assert_true(strlen(out) == strlen("<p>kept</p>") + 128 * 9);
  free(out);
  out = html_to_text(in, strlen(in));
  assert_string_equal(out, "kept");
  free(out);
  free(in);
  /* stray end tags under deep nesting stay linear (and harmless) */
  in = repeat("", "</span>", 100000, "");
  out = html_sanitize(in, strlen(in), BASE, NULL);
  assert_string_equal(out, "");
  free(out);
  free(in);
  /* NUL bytes are ignored, not the end of the input */
  out = html_sanitize("<b>a\0b</b>\0c", 13, BASE, NULL);
  assert_string_equal(out, "<b>ab</b>c");
  free(out);
}

struct text_case {
  const char *in;
  const char *want;
};

static void test_to_text(void **state)
{
  static const struct text_case c[] = {
      {"", ""},
      {"   ", ""},
      {"plain", "plain"},
      {"  lots \t of\r\n\n  space\f ", "lots of space"},
      {"a<b>b</b>c", "abc"},
      {"<p>one</p><p>two</p>", "one two"},
      {"x<br>y<br/>z", "x y z"},
      {"line<br><br>\n<br>next", "line next"},
      {"<div>a<div>b</div>c</div>", "a b c"},
      {"<ul><li>one<li>two</ul>after", "one two after"},
      {"<table><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr></table>",
       "1 2 3"},
      {"<h1>Title</h1>Body", "Title Body"},
      {"a&nbsp;&nbsp;b\xc2\xa0\xc2\xa0"
       "c",
       "a b c"},
      {"&nbsp;lead and trail&nbsp;", "lead and trail"},
      {"AT&amp;T &lt;tag&gt; caf&eacute; &#x263A; &quot;q&quot;",
       "AT&T <tag> caf\xc3\xa9 \xe2\x98\xba \"q\""},
      {"AT&T", "AT&T"},
      {"it&#146;s", "it\xe2\x80\x99s"},
      {"<script>var a = '<p>x</p>';</script>text<style>p{}</style>", "text"},
      {"<p>a<script>x</script>b</p>", "ab"},
      {"<head><title>t</title></head>body", "body"},
      {"<iframe>i</iframe><object>o</object><svg><text>s</text></svg>ok", "ok"},
      {"<video src=v.mp4>Your browser cannot play this.</video>after", "after"},
      {"<embed src=x>after", "after"},
      {"<img src=x alt=picture>word", "word"},
      {"<a href=x>link</a> and <em>em</em>.", "link and em."},
      {"<!-- comment -->visible", "visible"},
      {"bad\xff utf\x01"
       "8",
       "bad\xef\xbf\xbd utf8"},
      {"<b>\xe6\x97\xa5\xe6\x9c\xac</b>\xe8\xaa\x9e",
       "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"},
  };

  (void)state;
  for(size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
    char *got = html_to_text(c[i].in, strlen(c[i].in));

    if(got == NULL || strcmp(got, c[i].want) != 0)
      fail_msg("html_to_text(%s) = [%s], want [%s]", c[i].in,
               got != NULL ? got : "NULL", c[i].want);
    free(got);
  }
}

static void test_collapse_space(void **state)
{
  char *s;

  (void)state;
  s = html_collapse_space("  a \t\n b\r\n\fc  ", 15);
  assert_string_equal(s, "a b c");
  free(s);
  /* no entity decoding, no tag removal */
  s = html_collapse_space("x &amp; <b>", 11);
  assert_string_equal(s, "x &amp; <b>");
  free(s);
  s = html_collapse_space("\xc2\xa0nb\xc2\xa0\xc2\xa0sp\xc2\xa0", 12);
  assert_string_equal(s, "nb sp");
  free(s);
  s = html_collapse_space("", 0);
  assert_string_equal(s, "");
  free(s);
  s = html_collapse_space(NULL, 0);
  assert_string_equal(s, "");
  free(s);
  /* len, not the NUL, ends the text; controls go */
  s = html_collapse_space("a\0b", 3);
  assert_string_equal(s, "ab");
  free(s);
}

static void test_escape_text(void **state)
{
  char *s;

  (void)state;
  s = html_escape_text("a & b < c > d \"e\" 'f'", 21);
  assert_string_equal(s, "a &amp; b &lt; c &gt; d &quot;e&quot; 'f'");
  free(s);
  s = html_escape_text("  keep \n space  ", 16);
  assert_string_equal(s, "  keep \n space  ");
  free(s);
  s = html_escape_text("&amp;", 5);
  assert_string_equal(s, "&amp;amp;");
  free(s);
  s = html_escape_text("", 0);
  assert_string_equal(s, "");
  free(s);
  s = html_escape_text("caf\xc3\xa9\xff", 6);
  assert_string_equal(s, "caf\xc3\xa9\xef\xbf\xbd");
  free(s);
  /* what XML cannot carry: form feed becomes a space, DEL and C0 go */
  s = html_escape_text("a\fb\x7f"
                       "c\x01\td\r\n",
                       10);
  assert_string_equal(s, "a bc\td\r\n");
  free(s);
}

struct excerpt_case {
  const char *in;
  size_t max;
  const char *want;
};

static size_t count_chars(const char *s)
{
  size_t n = 0;

  for(; *s != '\0'; s++)
    n += ((unsigned char)*s & 0xc0) != 0x80;
  return n;
}

static void test_excerpt(void **state)
{
  static const struct excerpt_case c[] = {
      /* fits: unchanged, no ellipsis */
      {"Hello world", 11, "Hello world"},
      {"Hello world", 50, "Hello world"},
      {"<p>Hello</p><p>world</p>", 11, "Hello world"},
      /* one over: the last word goes */
      {"Hello world", 10, "Hello\xe2\x80\xa6"},
      {"Hello world again", 16, "Hello world\xe2\x80\xa6"},
      /* the cut falls right after a word */
      {"Hello world again", 12, "Hello world\xe2\x80\xa6"},
      /* trailing punctuation and space trimmed before the ellipsis */
      {"Hello, world again", 10, "Hello\xe2\x80\xa6"},
      {"One. Two; three", 10, "One. Two\xe2\x80\xa6"},
      {"Wait -- what is this", 12, "Wait\xe2\x80\xa6"},
      {"Look (here) now", 13, "Look (here)\xe2\x80\xa6"},
      /* first word longer than the room: hard cut */
      {"Supercalifragilistic word", 10, "Supercali\xe2\x80\xa6"},
      {"https://example.com/a/very/long/url", 8, "https\xe2\x80\xa6"},
      /* multibyte characters near the cut */
      {"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 \xc3\xa9\xc3\xa9", 7,
       "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xe2\x80\xa6"},
      {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82"
       "\xad\xe3\x82\xb9\xe3\x83\x88",
       5, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe2\x80\xa6"},
      {"ab \xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 5,
       "ab\xe2\x80\xa6"},
      {"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 2,
       "\xf0\x9f\x98\x80\xe2\x80\xa6"},
      /* tiny limits */
      {"ab", 1, "\xe2\x80\xa6"},
      {"a", 1, "a"},
      {"ab", 0, ""},
      {"", 0, ""},
      {"", 5, ""},
      /* only punctuation before the cut: kept rather than emptied */
      {"...... more", 4, "...\xe2\x80\xa6"},
      /* entities and tags count as the characters they make */
      {"<b>caf&eacute;</b> &amp; b", 8, "caf\xc3\xa9 & b"},
      {"<b>caf&eacute;</b> &amp; more", 8, "caf\xc3\xa9\xe2\x80\xa6"},
  };

  (void)state;
  for(size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
    char *got = html_excerpt(c[i].in, strlen(c[i].in), c[i].max);

    if(got == NULL || strcmp(got, c[i].want) != 0)
      fail_msg("html_excerpt(%s, %zu) = [%s], want [%s]", c[i].in, c[i].max,
               got != NULL ? got : "NULL", c[i].want);
    assert_true(count_chars(got) <= c[i].max);
    free(got);
  }
}

/* Whatever the cut, the excerpt is at most max characters and valid. */
static void test_excerpt_every_length(void **state)
{
  const char *in = "Der Fu\xc3\x9f"
                   "ball \xe2\x80\x94 ein Spiel, "
                   "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 end.";
  size_t total = count_chars(in);

  (void)state;
  for(size_t max = 0; max <= total + 1; max++) {
    char *got = html_excerpt(in, strlen(in), max);

    assert_non_null(got);
    assert_true(count_chars(got) <= max);
    if(max >= total)
      assert_string_equal(got, in);
    else if(max > 0)
      assert_non_null(strstr(got, "\xe2\x80\xa6"));
    free(got);
  }
}

/* Long entries stop being parsed once the excerpt is decided; the result
 * is the one the whole text gives. */
static void test_excerpt_long_entry(void **state)
{
  char *in = repeat("<h1>Title</h1>",
                    "<p>Some words, <b>bold</b> and "
                    "caf&eacute; &amp; more.</p>\n",
                    2000, "");
  char *text = html_to_text(in, strlen(in));

  (void)state;
  for(size_t max = 1; max < 300; max += 37) {
    char *a = html_excerpt(in, strlen(in), max);
    char *b = html_excerpt(text, strlen(text), max);

    assert_string_equal(a, b);
    assert_true(count_chars(a) <= max);
    free(a);
    free(b);
  }
  free(text);
  free(in);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_basics),
      cmocka_unit_test(test_dropped_elements),
      cmocka_unit_test(test_attributes),
      cmocka_unit_test(test_urls),
      cmocka_unit_test(test_srcset),
      cmocka_unit_test(test_structure),
      cmocka_unit_test(test_entities_and_text),
      cmocka_unit_test(test_malicious),
      cmocka_unit_test(test_first_image),
      cmocka_unit_test(test_allowlist),
      cmocka_unit_test(test_deep_nesting),
      cmocka_unit_test(test_hostile_shapes),
      cmocka_unit_test(test_to_text),
      cmocka_unit_test(test_collapse_space),
      cmocka_unit_test(test_escape_text),
      cmocka_unit_test(test_excerpt),
      cmocka_unit_test(test_excerpt_every_length),
      cmocka_unit_test(test_excerpt_long_entry),
  };
  int rc;

  xmlInitParser();
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  xmlCleanupParser();
  return rc;
}
