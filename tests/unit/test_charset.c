/*
 * test_charset.c: charset_to_utf8 and charset_decode. Each case is raw
 * bytes plus the HTTP Content-Type they came with, and the exact UTF-8 and
 * warnings that must come out of both.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charset.h"
#include "feed.h"

/* A byte-string literal and its length (it may hold NULs). */
#define B(s) s, sizeof(s) - 1

struct tcase {
  const char *name;
  const char *in;
  size_t len;
  const char *content_type;
  const char *want;
  size_t want_len;
  const char *warnings[3]; /* exactly these, in any order */
};

/* charset_decode gives what charset_to_utf8 gives; when it does not copy,
 * that is a span of the input. */
static void run_decode(const struct tcase *c, size_t nwarnings)
{
  struct feed *feed = feed_new();
  const char *out;
  char *copy;
  size_t out_len;
  int rc;

  assert_non_null(feed);
  rc = charset_decode(c->in, c->len, c->content_type, feed, &out, &out_len,
                      &copy);
  if(rc != 0)
    fail_msg("%s: charset_decode returned %d", c->name, rc);
  if(out_len != c->want_len || memcmp(out, c->want, out_len) != 0)
    fail_msg("%s: charset_decode got \"%.*s\"", c->name, (int)out_len, out);
  if(feed->nwarnings != nwarnings)
    fail_msg("%s: charset_decode warned %zu times, not %zu", c->name,
             feed->nwarnings, nwarnings);
  if(copy) {
    assert_ptr_equal(out, copy);
    assert_int_equal(copy[out_len], '\0');
  } else if(out < c->in || out + out_len > c->in + c->len) {
    fail_msg("%s: not copied, yet not a span of the input", c->name);
  }
  free(copy);
  feed_free(feed);
}

static void run(const struct tcase *c)
{
  struct feed *feed = feed_new();
  char *out = NULL;
  size_t out_len = 0, nwant = 0;
  int rc;

  assert_non_null(feed);
  rc = charset_to_utf8(c->in, c->len, c->content_type, feed, &out, &out_len);
  if(rc != 0)
    fail_msg("%s: returned %d", c->name, rc);
  if(out_len != c->want_len || memcmp(out, c->want, out_len) != 0)
    fail_msg("%s: got \"%.*s\" (%zu bytes), want \"%s\"", c->name, (int)out_len,
             out, out_len, c->want);
  assert_int_equal(out[out_len], '\0');
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
  free(out);
  feed_free(feed);
  run_decode(c, nwant);
}

static void run_all(const struct tcase *cases, size_t n)
{
  for(size_t i = 0; i < n; i++)
    run(&cases[i]);
}

#define RUN_ALL(cases) run_all(cases, sizeof(cases) / sizeof(cases[0]))

static void test_utf8(void **state)
{
  static const struct tcase cases[] = {
      {"empty", B(""), NULL, B(""), {NULL}},
      {"ascii",
       B("<?xml version=\"1.0\"?><rss/>"),
       NULL,
       B("<?xml version=\"1.0\"?><rss/>"),
       {NULL}},
      {"multibyte kept",
       B("<a>caf\xC3\xA9 \xE2\x80\x93 \xE6\x97\xA5 \xF0\x9F\x98\x80 "
         "\xEF\xBF\xBD \xEF\xBB\xBF</a>"),
       NULL,
       B("<a>caf\xC3\xA9 \xE2\x80\x93 \xE6\x97\xA5 \xF0\x9F\x98\x80 "
         "\xEF\xBF\xBD \xEF\xBB\xBF</a>"),
       {NULL}},
      {"BOM removed", B("\xEF\xBB\xBF<a/>"), NULL, B("<a/>"), {NULL}},
      {"declared utf8",
       B("<?xml version='1.0' encoding='utf8'?>\xC3\xA9"),
       NULL,
       B("<?xml version='1.0' encoding='utf8'?>\xC3\xA9"),
       {NULL}},
  };

  (void)state;
  RUN_ALL(cases);
}

static void test_invalid_utf8(void **state)
{
  static const struct tcase cases[] = {
      {"truncated at the end",
       B("a\xE2\x82"),
       NULL,
       B("a\xEF\xBF\xBD"),
       {"invalid UTF-8 replaced"}},
      {"truncated 4-byte at the end",
       B("a\xF0\x9F\x98"),
       NULL,
       B("a\xEF\xBF\xBD"),
       {"invalid UTF-8 replaced"}},
      {"truncated in the middle",
       B("\xE2\x82"
         "a\xF0\x9F\x98x"),
       NULL,
       B("\xEF\xBF\xBD"
         "a\xEF\xBF\xBDx"),
       {"invalid UTF-8 replaced"}},
      {"overlong 2-byte",
       B("<\xC0\xAF>"),
       NULL,
       B("<\xEF\xBF\xBD\xEF\xBF\xBD>"),
       {"invalid UTF-8 replaced"}},
      {"overlong 3-byte",
       B("\xE0\x80\xAF"),
       NULL,
       B("\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"),
       {"invalid UTF-8 replaced"}},
      {"overlong 4-byte",
       B("\xF0\x8F\xBF\xBF"),
       NULL,
       B("\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"),
       {"invalid UTF-8 replaced"}},
      {"surrogate",
       B("\xED\xA0\x80z"),
       NULL,
       B("\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDz"),
       {"invalid UTF-8 replaced"}},
      {"above U+10FFFF",
       B("\xF4\x90\x80\x80"),
       NULL,
       B("\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"),
       {"invalid UTF-8 replaced"}},
      {"0xFF and 0xFE",
       B("a\xFF\xFE"
         "b"),
       NULL,
       B("a\xEF\xBF\xBD\xEF\xBF\xBD"
         "b"),
       {"invalid UTF-8 replaced"}},
      {"lone continuation",
       B("\x80\xBF"),
       NULL,
       B("\xEF\xBF\xBD\xEF\xBF\xBD"),
       {"invalid UTF-8 replaced"}},
      {"latin1 read as UTF-8",
       B("caf\xE9!"),
       NULL,
       B("caf\xEF\xBF\xBD!"),
       {"invalid UTF-8 replaced"}},
  };

  (void)state;
  RUN_ALL(cases);
}

static void test_controls(void **state)
{
  static const struct tcase cases[] = {
      {"C0 and DEL",
       B("a\x00"
         "b\x01"
         "c\x7F\x1B\td\ne\rf\x0C"),
       NULL,
       B("abc\td\ne\rf"),
       {"control characters removed"}},
      {"U+FFFE and U+FFFF",
       B("a\xEF\xBF\xBE"
         "b\xEF\xBF\xBF"),
       NULL,
       B("ab"),
       {"control characters removed"}},
      {"C1 read as windows-1252",
       B("it\xC2\x92s \xC2\x96 \xC2\x80"),
       NULL,
       B("it\xE2\x80\x99s \xE2\x80\x93 \xE2\x82\xAC"),
       {"C1 control characters read as windows-1252"}},
      {"C1 windows-1252 leaves empty",
       B("a\xC2\x81"
         "b\xC2\x9D"),
       NULL,
       B("ab"),
       {"control characters removed"}},
      {"windows-1252 undefined byte",
       B("a\x81"
         "b"),
       "text/xml; charset=cp1252",
       B("ab"),
       {"control characters removed"}},
  };

  (void)state;
  RUN_ALL(cases);
}

/* Every position of a control character and of a multibyte character in
 * and around the 8-byte fast path. */
static void test_fast_path_boundaries(void **state)
{
  /* The edges of what the fast path copies: space and '~'. */
  const char *text = "0123456789 bcdefghijklmnopqrstuvwxyz~BCDEFGHIJKL";
  const char controls[] = {'\0', '\x01', '\x1F', '\x7F'};
  size_t n = strlen(text);

  (void)state;
  for(size_t pos = 0; pos <= n; pos++) {
    char in[64], want[64], *out;
    size_t out_len;

    /* a control character at pos is removed */
    memcpy(in, text, pos);
    in[pos] = controls[pos % sizeof(controls)];
    memcpy(in + pos + 1, text + pos, n - pos);
    assert_int_equal(charset_to_utf8(in, n + 1, NULL, NULL, &out, &out_len), 0);
    assert_int_equal(out_len, n);
    assert_memory_equal(out, text, n);
    free(out);

    /* "é" at pos is kept, a lone 0xE9 at pos becomes U+FFFD */
    memcpy(in + pos, "\xC3\xA9", 2);
    memcpy(in + pos + 2, text + pos, n - pos);
    assert_int_equal(charset_to_utf8(in, n + 2, NULL, NULL, &out, &out_len), 0);
    assert_int_equal(out_len, n + 2);
    assert_memory_equal(out, in, n + 2);
    free(out);
    memcpy(want, in, n + 2);
    in[pos] = '\xE9';
    memcpy(in + pos + 1, text + pos, n - pos);
    memcpy(want + pos, "\xEF\xBF\xBD", 3);
    memcpy(want + pos + 3, text + pos, n - pos);
    assert_int_equal(charset_to_utf8(in, n + 1, NULL, NULL, &out, &out_len), 0);
    assert_int_equal(out_len, n + 3);
    assert_memory_equal(out, want, n + 3);
    free(out);
  }
}

static void test_single_byte(void **state)
{
  static const struct tcase cases[] = {
      {"windows-1252 smart quotes",
       B("<?xml version=\"1.0\" encoding=\"windows-1252\"?>"
         "<a>\x93hi\x94 \x91x\x92 \x96 \x97 \x80 \x85 \x99</a>"),
       NULL,
       B("<?xml version=\"1.0\" encoding=\"windows-1252\"?><a>\xE2\x80\x9Chi"
         "\xE2\x80\x9D \xE2\x80\x98x\xE2\x80\x99 \xE2\x80\x93 \xE2\x80\x94 "
         "\xE2\x82\xAC \xE2\x80\xA6 \xE2\x84\xA2</a>"),
       {NULL}},
      {"ISO-8859-1 declared reads as windows-1252",
       B("<?xml version='1.0' encoding='ISO-8859-1'?><a>caf\xE9 \x92 \xFF</a>"),
       NULL,
       B("<?xml version='1.0' encoding='ISO-8859-1'?><a>caf\xC3\xA9 "
         "\xE2\x80\x99 \xC3\xBF</a>"),
       {NULL}},
      {"us-ascii declared reads as windows-1252",
       B("<?xml version=\"1.0\" encoding=\"US-ASCII\"?>\xE9"),
       NULL,
       B("<?xml version=\"1.0\" encoding=\"US-ASCII\"?>\xC3\xA9"),
       {NULL}},
      {"latin1 controls removed",
       B("a\x01"
         "b\xE9"),
       "text/xml; charset=latin1",
       B("ab\xC3\xA9"),
       {"control characters removed"}},
      {"ISO-8859-2",
       B("<?xml version=\"1.0\" encoding=\"iso-8859-2\"?>"
         "\xE8"
         "e\xB9tina \xB3\xF3"
         "d\xBC"),
       NULL,
       B("<?xml version=\"1.0\" encoding=\"iso-8859-2\"?>"
         "\xC4\x8D"
         "e\xC5\xA1tina \xC5\x82\xC3\xB3"
         "d\xC5\xBA"),
       {NULL}},
      {"ISO-8859-15",
       B("<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?>\xA4\xBD"),
       NULL,
       B("<?xml version=\"1.0\" "
         "encoding=\"ISO-8859-15\"?>\xE2\x82\xAC\xC5\x93"),
       {NULL}},
      {"KOI8-R",
       B("<?xml version=\"1.0\" encoding=\"KOI8-R\"?>\xF0\xD2\xC9\xD7"
         "\xC5\xD4"),
       NULL,
       B("<?xml version=\"1.0\" encoding=\"KOI8-R\"?>\xD0\x9F\xD1\x80\xD0\xB8"
         "\xD0\xB2\xD0\xB5\xD1\x82"),
       {NULL}},
      {"windows-1251 over HTTP",
       B("\xCF\xF0\xE8"),
       "text/xml; charset=cp1251",
       B("\xD0\x9F\xD1\x80\xD0\xB8"),
       {NULL}},
      {"C1 from ISO-8859-2 read as windows-1252",
       B("a\x96"
         "b"),
       "text/xml; charset=iso-8859-2",
       B("a\xE2\x80\x93"
         "b"),
       {"C1 control characters read as windows-1252"}},
  };

  (void)state;
  RUN_ALL(cases);
}

static void test_multi_byte(void **state)
{
  static const struct tcase cases[] = {
      {"Shift_JIS",
       B("<a>\x93\xFA\x96\x7B\x8C\xEA</a>"),
       "application/rss+xml; charset=Shift_JIS",
       B("<a>\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E</a>"),
       {NULL}},
      {"Shift_JIS declared",
       B("<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>\x93\xFA"),
       NULL,
       B("<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>\xE6\x97\xA5"),
       {NULL}},
      {"Shift_JIS invalid and truncated",
       B("\x93\xFA\xFF\x93"),
       "text/xml; charset=sjis",
       B("\xE6\x97\xA5\xEF\xBF\xBD\xEF\xBF\xBD"),
       {"invalid Shift_JIS replaced"}},
      {"EUC-JP",
       B("\xC6\xFC\xCB\xDC"),
       "text/xml; charset=euc-jp",
       B("\xE6\x97\xA5\xE6\x9C\xAC"),
       {NULL}},
      {"ISO-2022-JP",
       B("\x1B$BF|K\\\x1B(B!"),
       "text/xml; charset=iso-2022-jp",
       B("\xE6\x97\xA5\xE6\x9C\xAC!"),
       {NULL}},
      {"gb2312 reads as GBK",
       B("\xD6\xD0\xCE\xC4"),
       "text/xml; charset=gb2312",
       B("\xE4\xB8\xAD\xE6\x96\x87"),
       {NULL}},
      {"Big5",
       B("\xA4\xA4\xA4\xE5"),
       "text/xml; charset=big5",
       B("\xE4\xB8\xAD\xE6\x96\x87"),
       {NULL}},
      {"EUC-KR",
       B("\xC7\xD1\xB1\xB9"),
       "text/xml; charset=euc-kr",
       B("\xED\x95\x9C\xEA\xB5\xAD"),
       {NULL}},
  };

  (void)state;
  RUN_ALL(cases);
}

static void test_wide(void **state)
{
  static const struct tcase cases[] = {
      {"UTF-16LE with BOM",
       B("\xFF\xFE<\0a\0>\0\xE9\0\x3D\xD8\x00\xDE<\0/\0a\0>\0"),
       NULL,
       B("<a>\xC3\xA9\xF0\x9F\x98\x80</a>"),
       {NULL}},
      {"UTF-16BE with BOM", B("\xFE\xFF\0<\0a\0/\0>"), NULL, B("<a/>"), {NULL}},
      {"UTF-16BE without BOM",
       B("\0<\0?\0x\0m\0l\0 \0?\0>\0<\0a\0>\0\xE9\0<\0/\0a\0>"),
       NULL,
       B("<?xml ?><a>\xC3\xA9</a>"),
       {NULL}},
      {"UTF-16LE without BOM",
       B("<\0?\0x\0m\0l\0 \0?\0>\0"),
       NULL,
       B("<?xml ?>"),
       {NULL}},
      {"UTF-16 bytes win over the HTTP charset",
       B("\0<\0a\0/\0>"),
       "text/xml; charset=iso-8859-1",
       B("<a/>"),
       {NULL}},
      {"UTF-16LE lone surrogate",
       B("\xFF\xFE<\0\x00\xD8"
         "a\0"),
       NULL,
       B("<\xEF\xBF\xBD"
         "a"),
       {"invalid UTF-16LE replaced"}},
      {"UTF-16LE odd length",
       B("\xFF\xFE<\0a"),
       NULL,
       B("<\xEF\xBF\xBD"),
       {"invalid UTF-16LE replaced"}},
      {"UTF-16 controls removed",
       B("\xFF\xFE<\0\x01\0>\0"),
       NULL,
       B("<>"),
       {"control characters removed"}},
      {"UTF-32LE with BOM",
       B("\xFF\xFE\0\0<\0\0\0\xE9\0\0\0"),
       NULL,
       B("<\xC3\xA9"),
       {NULL}},
      {"UTF-32BE without BOM",
       B("\0\0\0<\0\0\0a\0\x11\0\0"),
       NULL,
       B("<a\xEF\xBF\xBD"),
       {"invalid UTF-32BE replaced"}},
      {"declared UTF-16 but ASCII",
       B("<?xml version=\"1.0\" encoding=\"UTF-16\"?><a>\xC3\xA9</a>"),
       NULL,
       B("<?xml version=\"1.0\" encoding=\"UTF-16\"?><a>\xC3\xA9</a>"),
       {"declared encoding 'UTF-16' ignored: document is not UTF-16"}},
      {"HTTP UTF-16 but ASCII",
       B("<a>\xC3\xA9</a>"),
       "text/xml; charset=utf-16",
       B("<a>\xC3\xA9</a>"),
       {"HTTP charset 'utf-16' ignored: document is not UTF-16"}},
  };

  (void)state;
  RUN_ALL(cases);
}

static void test_precedence(void **state)
{
  static const struct tcase cases[] = {
      {"HTTP charset overrides the declaration",
       B("<?xml version=\"1.0\" encoding=\"ISO-8859-2\"?>\xE8"),
       "application/rss+xml; charset=windows-1252",
       B("<?xml version=\"1.0\" encoding=\"ISO-8859-2\"?>\xC3\xA8"),
       {"HTTP charset 'windows-1252' overrides declared 'ISO-8859-2'"}},
      {"same encoding under two labels",
       B("<?xml version=\"1.0\" encoding=\"windows-1252\"?>\xE8"),
       "text/xml; charset=ISO-8859-1",
       B("<?xml version=\"1.0\" encoding=\"windows-1252\"?>\xC3\xA8"),
       {NULL}},
      {"BOM overrides both",
       B("\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"koi8-r\"?>\xC3\xA9"),
       "text/xml; charset=iso-8859-2",
       B("<?xml version=\"1.0\" encoding=\"koi8-r\"?>\xC3\xA9"),
       {NULL}},
      {"HTTP latin1 on a valid UTF-8 document declared UTF-8",
       B("<?xml version=\"1.0\" encoding=\"UTF-8\"?>caf\xC3\xA9"),
       "text/xml; charset=iso-8859-1",
       B("<?xml version=\"1.0\" encoding=\"UTF-8\"?>caf\xC3\xA9"),
       {"HTTP charset 'iso-8859-1' ignored: document is UTF-8 as declared"}},
      {"HTTP latin1 on a UTF-8 declared document that is not UTF-8",
       B("<?xml version=\"1.0\" encoding=\"UTF-8\"?>caf\xE9"),
       "text/xml; charset=iso-8859-1",
       B("<?xml version=\"1.0\" encoding=\"UTF-8\"?>caf\xC3\xA9"),
       {"HTTP charset 'iso-8859-1' overrides declared 'UTF-8'"}},
      {"HTTP UTF-8 on a document that is not UTF-8",
       B("<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>caf\xE9"),
       "text/xml; charset=utf-8",
       B("<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>caf\xC3\xA9"),
       {"HTTP charset 'utf-8' ignored: document is not UTF-8, read as "
        "declared 'iso-8859-1'"}},
      {"HTTP UTF-8 on a valid UTF-8 document declared latin1",
       B("<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>caf\xC3\xA9"),
       "text/xml; charset=utf-8",
       B("<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>caf\xC3\xA9"),
       {"HTTP charset 'utf-8' overrides declared 'iso-8859-1'"}},
      {"HTTP UTF-8 on 7-bit ISO-2022-JP",
       B("<?xml version=\"1.0\" encoding=\"ISO-2022-JP\"?>\x1B$BF|\x1B(B"),
       "text/xml; charset=utf-8",
       B("<?xml version=\"1.0\" encoding=\"ISO-2022-JP\"?>\xE6\x97\xA5"),
       {"HTTP charset 'utf-8' ignored: document is not UTF-8, read as "
        "declared 'ISO-2022-JP'"}},
      {"disagreement on plain ASCII is silent",
       B("<?xml version=\"1.0\" encoding=\"UTF-8\"?><a/>"),
       "text/xml; charset=iso-8859-1",
       B("<?xml version=\"1.0\" encoding=\"UTF-8\"?><a/>"),
       {NULL}},
      {"text/xml without charset is not us-ascii",
       B("<?xml version=\"1.0\" encoding=\"koi8-r\"?>\xF0"),
       "text/xml",
       B("<?xml version=\"1.0\" encoding=\"koi8-r\"?>\xD0\x9F"),
       {NULL}},
      {"no label at all is UTF-8",
       B("<a>\xC3\xA9</a>"),
       "text/xml",
       B("<a>\xC3\xA9</a>"),
       {NULL}},
      {"declaration after PHP junk",
       B("Warning: x in /var/www/x.php on line 3<br />\n"
         "<?xml version=\"1.0\" encoding=\"koi8-r\"?>\xF0"),
       NULL,
       B("Warning: x in /var/www/x.php on line 3<br />\n"
         "<?xml version=\"1.0\" encoding=\"koi8-r\"?>\xD0\x9F"),
       {NULL}},
      {"declaration inside an early CDATA section is not the document's",
       B("<rss><![CDATA[<?xml version=\"1.0\" encoding=\"koi8-r\"?>]]>"
         "\xC3\xA9</rss>"),
       NULL,
       B("<rss><![CDATA[<?xml version=\"1.0\" encoding=\"koi8-r\"?>]]>"
         "\xC3\xA9</rss>"),
       {NULL}},
      {"declaration after the root element is not the document's",
       B("<rss><title><?xml version=\"1.0\" encoding=\"koi8-r\"?></title>"
         "\xC3\xA9</rss>"),
       NULL,
       B("<rss><title><?xml version=\"1.0\" encoding=\"koi8-r\"?></title>"
         "\xC3\xA9</rss>"),
       {NULL}},
      {"JSON is never sniffed for a declaration",
       B(" {\"title\": \"<?xml version='1.0' encoding='koi8-r'?>\xC3\xA9\"}"),
       NULL,
       B(" {\"title\": \"<?xml version='1.0' encoding='koi8-r'?>\xC3\xA9\"}"),
       {NULL}},
      {"declaration with spaces and single quotes",
       B("<?xml version = '1.0'\n  encoding = 'koi8-r' ?>\xF0"),
       NULL,
       B("<?xml version = '1.0'\n  encoding = 'koi8-r' ?>\xD0\x9F"),
       {NULL}},
      {"standalone's value is not the encoding",
       B("<?xml version=\"1.0\" standalone=\"yes\"?>\xC3\xA9"),
       NULL,
       B("<?xml version=\"1.0\" standalone=\"yes\"?>\xC3\xA9"),
       {NULL}},
  };

  (void)state;
  RUN_ALL(cases);
}

static void test_content_type(void **state)
{
  static const struct tcase cases[] = {
      {"quoted",
       B("\xF0"),
       "text/xml;charset=\"KOI8-R\"",
       B("\xD0\x9F"),
       {NULL}},
      {"case and spaces",
       B("\xF0"),
       "Text/XML ; Charset = koi8-r ; foo=bar",
       B("\xD0\x9F"),
       {NULL}},
      {"charset inside another parameter's quotes",
       B("\xF0"),
       "text/xml; foo=\"a;charset=utf-8\"; charset=koi8-r",
       B("\xD0\x9F"),
       {NULL}},
      {"quoted with an escape",
       B("\xF0"),
       "text/xml; charset=\"koi8\\-r\"",
       B("\xD0\x9F"),
       {NULL}},
      {"single quotes",
       B("\xF0"),
       "text/xml; charset='koi8-r'",
       B("\xD0\x9F"),
       {NULL}},
      {"parameter without a value first",
       B("\xF0"),
       "text/xml; foo; charset=koi8-r",
       B("\xD0\x9F"),
       {NULL}},
      {"empty charset",
       B("\xC3\xA9"),
       "text/xml; charset=",
       B("\xC3\xA9"),
       {NULL}},
      {"first charset wins",
       B("\xF0"),
       "text/xml; charset=koi8-r; charset=utf-8",
       B("\xD0\x9F"),
       {NULL}},
      {"a value ending the header",
       B("\xF0"),
       "text/xml; x",
       B("\xEF\xBF\xBD"),
       {"invalid UTF-8 replaced"}},
  };

  (void)state;
  RUN_ALL(cases);
}

static void test_unknown_labels(void **state)
{
  static const struct tcase cases[] = {
      {"unknown HTTP charset",
       B("\xC3\xA9"),
       "text/xml; charset=x-foo",
       B("\xC3\xA9"),
       {"unknown encoding 'x-foo', read as UTF-8"}},
      {"unknown declared encoding",
       B("<?xml version=\"1.0\" encoding=\"x-bar\"?>\xC3\xA9"),
       NULL,
       B("<?xml version=\"1.0\" encoding=\"x-bar\"?>\xC3\xA9"),
       {"unknown encoding 'x-bar', read as UTF-8"}},
      {"unknown HTTP charset, known declaration",
       B("<?xml version=\"1.0\" encoding=\"koi8-r\"?>\xF0"),
       "text/xml; charset=x-foo",
       B("<?xml version=\"1.0\" encoding=\"koi8-r\"?>\xD0\x9F"),
       {"unknown HTTP charset 'x-foo' ignored"}},
      {"known HTTP charset, unknown declaration",
       B("<?xml version=\"1.0\" encoding=\"x-bar\"?>\xF0"),
       "text/xml; charset=koi8-r",
       B("<?xml version=\"1.0\" encoding=\"x-bar\"?>\xD0\x9F"),
       {NULL}},
      {"label bytes that are not printable stay out of the message",
       B("<?xml version=\"1.0\" encoding=\"x\xE9\x01y\"?>"),
       NULL,
       B("<?xml version=\"1.0\" encoding=\"x\xEF\xBF\xBDy\"?>"),
       {"unknown encoding 'x??y', read as UTF-8", "invalid UTF-8 replaced",
        "control characters removed"}},
      {"replacement labels are unknown",
       B("a"),
       "text/xml; charset=iso-2022-kr",
       B("a"),
       {"unknown encoding 'iso-2022-kr', read as UTF-8"}},
      {"label with whitespace",
       B("\xF0"),
       "text/xml; charset=\" KOI8-r \"",
       B("\xD0\x9F"),
       {NULL}},
  };

  (void)state;
  RUN_ALL(cases);
}

/* Clean UTF-8 is handed back as it is; anything else is copied from the
 * first byte that needs it on. */
static void test_pass_through(void **state)
{
  static const char clean[] = "<?xml version=\"1.0\"?><rss>Caf\xC3\xA9 "
                              "\xE2\x80\x93 \xF0\x9F\x98\x80\t\r\n</rss>";
  static const char bom[] = "\xEF\xBB\xBF<rss>x</rss>";
  static const struct {
    const char *in;
    size_t len;
    const char *content_type;
    const char *want;
  } copied[] = {
      {B("<rss>x\x01</rss>"), NULL, "<rss>x</rss>"},
      {B("<rss>\xC2\x92</rss>"), NULL, "<rss>\xE2\x80\x99</rss>"},
      {B("<rss>\xEF\xBF\xBE</rss>"), NULL, "<rss></rss>"},
      {B("<rss>x</rss>\xE9"), NULL, "<rss>x</rss>\xEF\xBF\xBD"},
      {B("<rss>x</rss>"), "text/xml; charset=latin1", "<rss>x</rss>"},
  };
  const char *out;
  char *copy;
  size_t len;

  (void)state;
  assert_int_equal(
      charset_decode(clean, sizeof(clean) - 1, NULL, NULL, &out, &len, &copy),
      0);
  assert_null(copy);
  assert_ptr_equal(out, clean);
  assert_int_equal(len, sizeof(clean) - 1);
  assert_int_equal(
      charset_decode(bom, sizeof(bom) - 1, NULL, NULL, &out, &len, &copy), 0);
  assert_null(copy);
  assert_ptr_equal(out, bom + 3);
  assert_int_equal(len, sizeof(bom) - 4);
  for(size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
    assert_int_equal(charset_decode(copied[i].in, copied[i].len,
                                    copied[i].content_type, NULL, &out, &len,
                                    &copy),
                     0);
    assert_non_null(copy);
    assert_ptr_equal(out, copy);
    assert_string_equal(copy, copied[i].want);
    assert_int_equal(len, strlen(copied[i].want));
    free(copy);
  }
}

/* 20 MB in one go: output allocated about once, nothing quadratic. */
static void test_large(void **state)
{
  static const char unit[] = "<item><title>Caf\xC3\xA9 \xE2\x80\x93 "
                             "\xE6\x97\xA5\xE6\x9C\xAC</title>\n\t</item>\n";
  size_t ulen = sizeof(unit) - 1, n = 20u << 20, len = 0;
  char *in = malloc(n), *out;
  size_t out_len;

  (void)state;
  assert_non_null(in);
  while(len + ulen <= n) {
    memcpy(in + len, unit, ulen);
    len += ulen;
  }
  assert_int_equal(charset_to_utf8(in, len, NULL, NULL, &out, &out_len), 0);
  assert_int_equal(out_len, len);
  assert_memory_equal(out, in, len);
  assert_true(malloc_usable_size(out) < len + len / 8 + 4096);
  free(out);

  /* a control character early on: cleaned into a copy, allocated once */
  in[1] = '\x01';
  assert_int_equal(charset_to_utf8(in, len, NULL, NULL, &out, &out_len), 0);
  assert_int_equal(out_len, len - 1);
  assert_memory_equal(out + 1, in + 2, len - 2);
  assert_true(malloc_usable_size(out) < len + len / 8 + 4096);
  free(out);

  /* windows-1252 grows: "caf\xE9 " is 5 bytes in, 6 out */
  for(size_t i = 0; i + 5 <= len; i += 5)
    memcpy(in + i, "caf\xE9 ", 5);
  len -= len % 5;
  assert_int_equal(charset_to_utf8(in, len, "text/xml; charset=latin1", NULL,
                                   &out, &out_len),
                   0);
  assert_int_equal(out_len, len / 5 * 6);
  for(size_t i = 0; i < out_len; i += 6)
    if(memcmp(out + i, "caf\xC3\xA9 ", 6))
      fail_msg("windows-1252 output differs at %zu", i);
  assert_true(malloc_usable_size(out) < 2 * out_len);
  free(out);
  free(in);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_utf8),
      cmocka_unit_test(test_invalid_utf8),
      cmocka_unit_test(test_controls),
      cmocka_unit_test(test_fast_path_boundaries),
      cmocka_unit_test(test_single_byte),
      cmocka_unit_test(test_multi_byte),
      cmocka_unit_test(test_wide),
      cmocka_unit_test(test_precedence),
      cmocka_unit_test(test_content_type),
      cmocka_unit_test(test_unknown_labels),
      cmocka_unit_test(test_pass_through),
      cmocka_unit_test(test_large),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
