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

/* Also checks that the output sanitized again stays the same. */
static void check_sanitize(const struct san_case *c, size_t n)
{
  for(size_t i = 0; i < n; i++) {
    char *got = html_sanitize(c[i].in, strlen(c[i].in), BASE, NULL), *again;

    if(got == NULL || strcmp(got, c[i].want) != 0)
      fail_msg("html_sanitize(%s)\n  got  %s\n  want %s", c[i].in,
               got != NULL ? got : "NULL", c[i].want);
    again = html_sanitize(got, strlen(got), BASE, NULL);
    if(again == NULL || strcmp(again, got) != 0)
      fail_msg("html_sanitize(%s) not stable\n  once  %s\n  twice %s", c[i].in,
               got, again != NULL ? again : "NULL");
    free(again);
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
      /* CDATA content is text (libxml2 kept the markup as text) */
      {"<p>a<![CDATA[b]]>c</p>", "<p>abc</p>"},
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
      {"<table><tr><td colspan=2 rowspan=3 width=9>x</td></tr></table>",
       "<table><tr><td colspan=\"2\" rowspan=\"3\">x</td></tr></table>"},
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
      /* a URL ending in ',' must not end its candidate on reading back, or
       * the descriptor becomes an unchecked URL */
      {"<img srcset=\"x,\x01 javascript:alert(1)\">",
       "<img srcset=\"https://ex.com/blog/x%2C javascript:alert(1)\">"},
      /* descriptors as they read back: controls and outer space go */
      {"<img srcset=\"a.png \x01 2x \x01, b.png \x01\">",
       "<img srcset=\"https://ex.com/blog/a.png 2x, "
       "https://ex.com/blog/b.png\">"},
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
      /* an end tag of nothing open is ignored */
      {"<p>a</freshet-fragment><b>b", "<p>a<b>b</b></p>"},
      {"<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>"
       "<object data=\"javascript:alert(1)\"></object>ok",
       "ok"},
  };

  (void)state;
  check_sanitize(c, sizeof(c) / sizeof(c[0]));
}

/* The tokenizer: what is markup, what is text, and what is dropped. */
static void test_tokenizer(void **state)
{
  static const struct san_case c[] = {
      /* comments: complete, abrupt, "--!>", and unterminated */
      {"a<!-->b<!--->c<!--x--!>d<!-- e -- >f-->g", "abcdg"},
      {"a<!--unterminated <b>x", "a"},
      /* declarations, processing instructions, bogus end tags */
      {"a<!DOCTYPE html>b<?xml x?>c<!x>d</ x>e</>f", "abcdef"},
      /* '<' that starts no tag is text */
      {"a<1b c< d <= e", "a&lt;1b c&lt; d &lt;= e"},
      {"a</", "a&lt;/"},
      {"a<", "a&lt;"},
      /* a tag cut off by the end of the input is dropped */
      {"text <b", "text "},
      {"more <a href=\"x", "more "},
      /* names in any case; first of duplicates wins; quoting styles */
      {"<A HREF=/x TITLE=\"t\" Href=/y>x</A>",
       "<a href=\"https://ex.com/x\" title=\"t\">x</a>"},
      {"<a title='s' href=/u>x</a>",
       "<a title=\"s\" href=\"https://ex.com/u\">x</a>"},
      {"<a title=a\"b>x</a>", "<a title=\"a&quot;b\">x</a>"},
      {"<a =x title=t>x</a>", "<a title=\"t\">x</a>"},
      {"<a\ntitle\t=\f'x'/href=/y>z</a>",
       "<a title=\"x\" href=\"https://ex.com/y\">z</a>"},
      /* "/>" closes nothing but void and foreign elements */
      {"<b/>x", "<b>x</b>"},
      {"<div/>x", "<div>x</div>"},
      {"<svg/>x", "x"},
      /* raw text: only its own end tag ends it */
      {"<script>a</scriptx>b</SCRIPT >c", "c"},
      {"<style>a</style\n>b", "b"},
      {"<xmp><b>&amp;</b></xmp>z", "&lt;b&gt;&amp;amp;&lt;/b&gt;z"},
      {"<plaintext><b>x</b></plaintext>z",
       "&lt;b&gt;x&lt;/b&gt;&lt;/plaintext&gt;z"},
      {"<textarea><b>&lt;</b></textarea>z<title><p>x</title>y", "zy"},
      /* in svg and math, style holds markup (dropped with them) */
      {"<svg><style><b>x</b></style></svg>y", "y"},
      /* CDATA is text, to its end or the end of the input */
      {"<p>a<![CDATA[<b>x", "<p>a&lt;b&gt;x</p>"},
  };

  (void)state;
  check_sanitize(c, sizeof(c) / sizeof(c[0]));
}

/* Character references in text and attribute values. */
static void test_char_refs(void **state)
{
  static const struct san_case c[] = {
      /* NUL, surrogates, beyond Unicode, overflow: U+FFFD; Windows-1252 */
      {"&#0;&#xD800;&#x110000;&#99999999999999999;&#128;&#x81;",
       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xe2\x82\xac"
       "\xef\xbf\xbd"},
      /* ';' is optional after digits; no digits, no reference */
      {"&#65&#X41;&#x;&#;", "AA&amp;#x;&amp;#;"},
      /* the common names work without ';' in text, HTML 4 names with */
      {"&amp &lt3 &copy2 &nbspx &reg; &apos; &notin; &bogus; &",
       "&amp; &lt;3 \xc2\xa9"
       "2 \xc2\xa0x \xc2\xae ' \xe2\x88\x89 &amp;bogus; &amp;"},
      /* in values not before a letter, digit or '=' (query strings) */
      {"<a href=\"/?a=1&copy=2&amp=3&lt;\">x</a>",
       "<a href=\"https://ex.com/?a=1&amp;copy=2&amp;amp=3%3C\">x</a>"},
      {"<a title=\"&copy &copyx &amp;\">x</a>",
       "<a title=\"\xc2\xa9 &amp;copyx &amp;\">x</a>"},
      /* a name too long for any reference */
      {"&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;",
       "&amp;aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;"},
  };

  (void)state;
  check_sanitize(c, sizeof(c) / sizeof(c[0]));
}

/* Implied end tags as browsers apply them, and end tags that close
 * nothing. */
static void test_tree_builder(void **state)
{
  static const struct san_case c[] = {
      {"<h1>a<h2>b</h1>c", "<h1>a</h1><h2>b</h2>c"},
      {"<h3>a</h5>b", "<h3>a</h3>b"},
      {"<li>a<div><li>b", "<li>a<div></div></li><li>b</li>"},
      {"<dl><dt>a<dd>b<dt>c</dl>", "<dl><dt>a</dt><dd>b</dd><dt>c</dt></dl>"},
      {"<a href=1>x<a href=2>y", "<a href=\"https://ex.com/blog/1\">x</a><a "
                                 "href=\"https://ex.com/blog/2\">y</a>"},
      {"<ruby>a<rt>b<rt>c</ruby>", "<ruby>a<rt>b</rt><rt>c</rt></ruby>"},
      {"<p>a<center>b</center>c", "<p>a</p>bc"},
      {"<p>a<b>b<p>c", "<p>a<b>b</b></p><p>c</p>"},
      {"<div>a</p>b</div>", "<div>ab</div>"},
      /* end tags of formatting elements close blocks inside them, those
       * of other phrasing elements do not */
      {"<b><div>x</b>y</div>", "<b><div>x</div></b>y"},
      {"<a href=/x>one<p>two</a>three",
       "<a href=\"https://ex.com/x\">one<p>two</p></a>three"},
      {"<span><div>x</span>y</div>", "<span><div>xy</div></span>"},
      /* unwrapped elements close nothing: nav does not stop the <li> */
      {"<font><b>x</font>y", "<b>xy</b>"},
      {"<ul><li>a<nav><li>b</ul>", "<ul><li>a</li><li>b</li></ul>"},
      /* table parts need a table; cells and rows close their siblings */
      {"<td>x</td>y<tr><th>z", "xyz"},
      {"<table><tr><td>1<tr><td>2<tbody><tr><td>3</table>",
       "<table><tr><td>1</td></tr><tr><td>2</td></tr><tbody><tr><td>3</td>"
       "</tr></tbody></table>"},
      {"<table><tr><td>a<table><tr><td>b</table>c</table>d",
       "<table><tr><td>a<table><tr><td>b</td></tr></table>c</td></tr>"
       "</table>d"},
      {"<p>x<table><tr><td>y</table>",
       "<p>x</p><table><tr><td>y</td></tr></table>"},
      /* a dropped subtree ends with what closes it in a browser */
      {"<table><tr><td><object>x</td></tr></table>after",
       "<table><tr><td></td></tr></table>after"},
      {"<p><button>x</p>y</button>z", "<p>z</p>"},
      {"<select><option>a<b>b</select>c", "c"},
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

/* Shapes that could make a parser take quadratic time, or its output
 * grow without bound, are cut short, and nothing else is touched. */
static void test_hostile_shapes(void **state)
{
  static const char nul_attrs[] = "<a hr\0ef=/x tit\0le='\0t'>x</a>";
  char *in, *out, *open, *want;

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
  /* elements nested deeper than 128 kept ones are unwrapped, their text
   * kept; what is open is closed */
  in = repeat("", "<span>", 300, "<b>deep</b>");
  open = repeat("", "<span>", 128, "deep");
  want = repeat(open, "</span>", 128, "");
  check_one(in, want);
  free(want);
  free(open);
  free(in);
  in = repeat("<p>kept</p>", "<em>", 300, "deep");
  open = repeat("<p>kept</p>", "<em>", 128, "deep");
  want = repeat(open, "</em>", 128, "");
  check_one(in, want);
  out = html_to_text(in, strlen(in));
  assert_string_equal(out, "kept deep");
  free(out);
  free(want);
  free(open);
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
  out = html_sanitize(nul_attrs, sizeof(nul_attrs) - 1, BASE, NULL);
  assert_string_equal(out, "<a href=\"https://ex.com/x\" title=\"t\">x</a>");
  free(out);
}

/* Counts the start tags and end tags of the sanitizer's output and checks
 * that they nest. */
static void check_nesting(const char *out)
{
  size_t depth = 0;

  for(const char *p = out; (p = strchr(p, '<')) != NULL; p++) {
    if(p[1] == '/') {
      assert_true(depth > 0);
      depth--;
    } else if(strncmp(p, "<br>", 4) != 0 && strncmp(p, "<img ", 5) != 0) {
      depth++;
      assert_true(depth <= 128);
    }
  }
  assert_int_equal(depth, 0);
}

/* 16 MB of the shapes that hurt tokenizers and tree builders, one after
 * the other, each followed by a marker that must come out: the work is
 * bounded (time is measured outside the tests) and every shape ends where
 * it should. */
static void test_hostile_16mb(void **state)
{
  static const struct {
    const char *head, *unit;
    size_t n;
    const char *tail;
  } parts[] = {
      /* many attributes, a few kept */
      {"", "<a href=/x title=t a b=1 c='2' d=\"3\" e f g h i j k>x</a>", 20000,
       ""},
      {"<a href=/x", " a=1", 200000, ">y</a>"},
      /* deep nesting, kept and unwrapped, then stray end tags */
      {"", "<div><span><font>", 100000, ""},
      {"", "</i></q></font>", 100000, ""},
      /* implied end tags searching a deep stack */
      {"<p><table><tr><td>", "<span>", 120, ""},
      {"", "<center></center><li></li><dd><td>", 50000, "</table></p>"},
      /* open elements closed by a far away end tag, again and again */
      {"", "<ul><li><b><i><em>x</ul>", 50000, ""},
      /* character references that are not */
      {"", "&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa &#xxx &#99999999999999 ",
       20000, ""},
      /* near misses of a raw text end tag */
      {"<script>", "</scrip</scriptx<//script", 100000, "</script>"},
      /* a huge comment, bogus comments, CDATA */
      {"<!--", "- -> --!-", 200000, "-->"},
      {"", "<!x><?y></ z>", 100000, ""},
      {"<![CDATA[", "]]", 400000, "]]>"},
      /* quotes that never close take the rest: last */
      {"<a title='", "x", 1500000, ""},
  };
  size_t cap = 18 << 20, len = 0, nmark = sizeof(parts) / sizeof(parts[0]);
  char *in = malloc(cap), *out, *text, *p;

  (void)state;
  assert_non_null(in);
  for(size_t i = 0; i < nmark; i++) {
    size_t hl = strlen(parts[i].head), ul = strlen(parts[i].unit);
    size_t tl = strlen(parts[i].tail);

    assert_true(len + hl + ul * parts[i].n + tl + 16 < cap);
    memcpy(in + len, parts[i].head, hl);
    len += hl;
    for(size_t k = 0; k < parts[i].n; k++, len += ul)
      memcpy(in + len, parts[i].unit, ul);
    memcpy(in + len, parts[i].tail, tl);
    len += tl;
    len += (size_t)sprintf(in + len, " MARK%02zu ", i);
  }
  assert_true(len >= 16 << 20);
  out = html_sanitize(in, len, BASE, NULL);
  assert_non_null(out);
  assert_true(strlen(out) <= len * 4 + (1 << 20));
  check_nesting(out);
  /* every marker but the one swallowed by the unclosed quote, in order */
  p = out;
  for(size_t i = 0; i + 1 < nmark; i++) {
    char mark[16];

    snprintf(mark, sizeof(mark), "MARK%02zu", i);
    p = strstr(p, mark);
    if(p == NULL)
      fail_msg("%s missing", mark);
  }
  assert_null(strstr(out, "MARK12"));
  text = html_to_text(in, len);
  assert_non_null(text);
  assert_non_null(strstr(text, "MARK11"));
  free(text);
  free(out);
  free(in);
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

/* Plain text is skipped 16 bytes at a time: every special character at
 * every position in and around those blocks comes out as on its own. */
static void test_block_boundaries(void **state)
{
  static const char plain[] =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL";
  static const char prose[] =
      "ab cd efg h ij klm no p qr stu vw x yz AB CDE FG";
  static const struct {
    const char *in;
    const char *escaped;   /* by html_escape_text */
    const char *collapsed; /* by html_collapse_space, NULL: a space */
  } specials[] = {
      {"&", "&amp;", "&"},
      {"<", "&lt;", "<"},
      {">", "&gt;", ">"},
      {"\"", "&quot;", "\""},
      {"\x01", "", ""},
      {"\x7f", "", ""},
      {"\f", " ", NULL},
      {"\n", "\n", NULL},
      {" ", " ", NULL},
      {"\xc3\xa9", "\xc3\xa9", "\xc3\xa9"},
      {"\xff", "\xef\xbf\xbd", "\xef\xbf\xbd"},
      {"\xc2\xa0", "\xc2\xa0", NULL},
  };
  size_t n = strlen(plain);

  (void)state;
  assert_int_equal(strlen(prose), n);
  for(size_t k = 0; k < sizeof(specials) / sizeof(specials[0]); k++) {
    for(size_t pos = 0; pos <= n; pos++) {
      char in[80], want[96], words[96], *got;
      size_t len, w = 0;
      int space = 0;

      /* html_escape_text on plain text */
      snprintf(in, sizeof(in), "%.*s%s%s", (int)pos, plain, specials[k].in,
               plain + pos);
      snprintf(want, sizeof(want), "%.*s%s%s", (int)pos, plain,
               specials[k].escaped, plain + pos);
      len = strlen(in);
      got = html_escape_text(in, len);
      if(got == NULL || strcmp(got, want) != 0)
        fail_msg("html_escape_text(\"%s\") = \"%s\"", in,
                 got != NULL ? got : "NULL");
      free(got);
      /* text outside attributes keeps its quotes */
      if(strcmp(specials[k].in, "\"") == 0) {
        got = html_sanitize(in, len, NULL, NULL);
        if(got == NULL || strcmp(got, in) != 0)
          fail_msg("html_sanitize(\"%s\") = \"%s\"", in,
                   got != NULL ? got : "NULL");
        free(got);
      }

      /* html_collapse_space on prose: the words joined by single spaces */
      snprintf(in, sizeof(in), "%.*s%s%s", (int)pos, prose, specials[k].in,
               prose + pos);
      snprintf(words, sizeof(words), "%.*s%s%s", (int)pos, prose,
               specials[k].collapsed ? specials[k].collapsed : " ",
               prose + pos);
      for(const char *c = words; *c != '\0'; c++) {
        if(*c == ' ') {
          space = w > 0;
          continue;
        }
        if(space)
          want[w++] = ' ';
        space = 0;
        want[w++] = *c;
      }
      want[w] = '\0';
      got = html_collapse_space(in, strlen(in));
      if(got == NULL || strcmp(got, want) != 0)
        fail_msg("html_collapse_space(\"%s\") = \"%s\", want \"%s\"", in,
                 got != NULL ? got : "NULL", want);
      free(got);
    }
  }
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
      cmocka_unit_test(test_tokenizer),
      cmocka_unit_test(test_char_refs),
      cmocka_unit_test(test_tree_builder),
      cmocka_unit_test(test_first_image),
      cmocka_unit_test(test_allowlist),
      cmocka_unit_test(test_deep_nesting),
      cmocka_unit_test(test_hostile_shapes),
      cmocka_unit_test(test_hostile_16mb),
      cmocka_unit_test(test_to_text),
      cmocka_unit_test(test_collapse_space),
      cmocka_unit_test(test_escape_text),
      cmocka_unit_test(test_block_boundaries),
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
