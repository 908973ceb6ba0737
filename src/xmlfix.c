/*
 * xmlfix.c: repairs the XML mistakes real feeds make, in one pass over the
 * clean UTF-8 that charset_decode produced, before the XML reader
 * (xml_scan.c) sees it.
 *
 * Text is skipped with memchr to the next '&' or '<'; tags are walked byte
 * by byte (they are short) so that quoted attribute values are respected;
 * comments, CDATA sections and processing instructions are kept as they
 * are. Tag nesting is left to the reader's recovery. The output stays a
 * span of the input until the first repair (most documents need none), and
 * only then is copied: a 20 MB feed is not written out again for nothing.
 *
 * Decisions beyond the header's contract:
 * - Markup is '<' followed by a name ("<a", "</a", "<?xml"), "<!--",
 *   "<![CDATA[" or, before the root element, "<!DOCTYPE". Any other '<' is
 *   escaped, "<!ENTITY" outside a DOCTYPE included, so no declaration
 *   survives.
 * - The DOCTYPE is removed; its entities then count as unknown names, so
 *   "&lol9;" becomes the text "&lol9;". After the root element has started
 *   a DOCTYPE is no markup: its '<' is escaped like any other.
 * - Entity names are taken only with their ';' (no legacy "&copy" forms):
 *   "?a=1&copy=2" in a URL must stay as it is.
 * - Character references: those to C1 controls are windows-1252 mistakes
 *   and become the windows-1252 character (&#150; -> &#8211;), as browsers
 *   do; those to characters XML forbids or charset.c removes (C0 controls
 *   but tab, LF and CR; DEL; U+FFFE, U+FFFF; C1 slots windows-1252 leaves
 *   empty) are removed; those to no character at all (0, surrogates, above
 *   U+10FFFF) become U+FFFD, as in HTML. "&#X41;" is written "&#x41;".
 * - Junk before the XML declaration (PHP error messages, blank lines) is
 *   dropped when the declaration is in the first XMLFIX_JUNK_WINDOW bytes
 *   and no comment, CDATA section, DOCTYPE or feed's root element comes
 *   before it (after those, "<?xml" is content). It is reported even when
 *   it is only whitespace: a declaration not at the start makes the
 *   document ill-formed for strict readers.
 * - Before the root element (the prolog) only whitespace, comments and
 *   PIs are kept: strict readers (libxml2 even in recover mode) give up
 *   on a document with text there. HTML tags shortly before a feed's root
 *   element (rss, feed, RDF, opml) are junk as well.
 */
#include "xmlfix.h"

#include "feed.h"

#include <errno.h>
#include <libxml/HTMLparser.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* How much junk may come before the XML declaration or the root element
 * (PHP error messages); the same in charset.c. */
#define XMLFIX_JUNK_WINDOW 16384
/* Longest entity name there is (HTML 4's "thetasym"). */
#define XMLFIX_NAME_MAX 8
/* Slots of the per-document memo of entity lookups. */
#define XMLFIX_MEMO 32
/* Room for the first offending reference quoted in a warning. */
#define XMLFIX_QUOTE_MAX 24

enum {
  FIX_JUNK_DECL = 1 << 0, /* before the XML declaration */
  FIX_JUNK = 1 << 1,      /* before the root element */
  FIX_AMP = 1 << 2,
  FIX_LT = 1 << 3,
  FIX_DOCTYPE = 1 << 4,
  FIX_HTML = 1 << 5,
  FIX_BADREF = 1 << 6,
  FIX_C1REF = 1 << 7,
  FIX_RAW = 1 << 8,
  FIX_UNCLOSED = 1 << 9,
};

enum markup {
  M_NONE,
  M_TAG, /* start or end tag */
  M_PI,
  M_COMMENT,
  M_CDATA,
  M_DOCTYPE,
};

/* One remembered lookup: libxml2 scans its 253 names each time. */
struct memo {
  char name[XMLFIX_NAME_MAX + 1];
  uint32_t value; /* 0: not an HTML entity */
};

struct fix {
  const char *s;
  size_t n;
  /* The output: while out is NULL it is s[start..start + len), unchanged
   * input; the first change copies it into out. */
  char *out;
  size_t start;
  size_t len;
  size_t cap; /* counts the byte kept for the final NUL */
  int rc;     /* -ENOMEM once an append failed; appends then do nothing */
  int prolog; /* before the root element */
  int rss;    /* the root is <rss> or <rdf:RDF> */
  /* An unclosed RSS text element gets its end tag before this '<'. */
  size_t close_at;
  char close_name[XMLFIX_QUOTE_MAX];
  char unclosed[XMLFIX_QUOTE_MAX]; /* the first, for the warning */
  unsigned flags;
  /* The first of each kind of repair, for the warnings. */
  char html[XMLFIX_QUOTE_MAX];
  char badref[XMLFIX_QUOTE_MAX];
  char c1ref[XMLFIX_QUOTE_MAX];
  struct memo memo[XMLFIX_MEMO];
};

/* windows-1252 bytes 0x80-0x9F; 0 where it defines no character. */
static const uint16_t cp1252_c1[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,
    0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,
};

/* Moves the output from the input into its own buffer, for a change. On
 * failure sets f->rc. */
static void own(struct fix *f)
{
  /* Repairs rarely add much: one allocation in the common case. */
  if(f->n > SIZE_MAX / 4) {
    f->rc = -ENOMEM;
    return;
  }
  f->cap = f->n + f->n / 16 + 64;
  f->out = malloc(f->cap);
  if(!f->out) {
    f->rc = -ENOMEM;
    return;
  }
  memcpy(f->out, f->s + f->start, f->len);
}

/* Appends len bytes; on failure sets f->rc and drops this and later
 * appends. */
static void put(struct fix *f, const char *p, size_t len)
{
  if(f->rc < 0)
    return;
  if(!f->out) {
    own(f);
    if(f->rc < 0)
      return;
  }
  if(f->cap - f->len <= len) {
    size_t cap = f->cap + f->cap / 2;
    char *n;

    if(len > SIZE_MAX / 4 - f->len) {
      f->rc = -ENOMEM;
      return;
    }
    if(cap < f->len + len + 1)
      cap = f->len + len + 1;
    n = realloc(f->out, cap);
    if(!n) {
      f->rc = -ENOMEM;
      return;
    }
    f->out = n;
    f->cap = cap;
  }
  memcpy(f->out + f->len, p, len);
  f->len += len;
}

/* Appends the input from i to j: while the output is still unchanged input
 * and this continues it, without copying. */
static void keep(struct fix *f, size_t i, size_t j)
{
  if(!f->out && f->len == 0)
    f->start = i;
  if(!f->out && f->start + f->len == i)
    f->len += j - i;
  else
    put(f, f->s + i, j - i);
}

/* Keeps the first len bytes of p, an ASCII reference, in dst for a
 * warning. */
static void quote(char *dst, const char *p, size_t len)
{
  if(len >= XMLFIX_QUOTE_MAX)
    len = XMLFIX_QUOTE_MAX - 1;
  memcpy(dst, p, len);
  dst[len] = '\0';
}

static int is_alpha(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_alnum(unsigned char c)
{
  return is_alpha(c) || (c >= '0' && c <= '9');
}

static int is_space(unsigned char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Returns nonzero when the rest bytes at p start with an XML NameStartChar.
 * The input is valid UTF-8; on anything else this only misjudges. */
static int name_start(const char *p, size_t rest)
{
  const unsigned char *s = (const unsigned char *)p;
  uint32_t cp;

  if(rest == 0)
    return 0;
  if(s[0] < 0x80)
    return is_alpha(s[0]) || s[0] == '_' || s[0] == ':';
  if(s[0] >= 0xC2 && s[0] < 0xE0 && rest >= 2)
    cp = (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
  else if(s[0] >= 0xE0 && s[0] < 0xF0 && rest >= 3)
    cp = (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 |
         (s[2] & 0x3F);
  else if(s[0] >= 0xF0 && s[0] < 0xF5 && rest >= 4)
    cp = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
         (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
  else
    return 0;
  return (cp >= 0xC0 && cp <= 0xD6) || (cp >= 0xD8 && cp <= 0xF6) ||
         (cp >= 0xF8 && cp <= 0x2FF) || (cp >= 0x370 && cp <= 0x37D) ||
         (cp >= 0x37F && cp <= 0x1FFF) || (cp >= 0x200C && cp <= 0x200D) ||
         (cp >= 0x2070 && cp <= 0x218F) || (cp >= 0x2C00 && cp <= 0x2FEF) ||
         (cp >= 0x3001 && cp <= 0xD7FF) || (cp >= 0xF900 && cp <= 0xFDCF) ||
         (cp >= 0xFDF0 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0xEFFFF);
}

/* Returns what the '<' at p (rest bytes left) starts. A DOCTYPE is markup
 * only in the prolog, the only place an XML reader takes one. */
static enum markup classify(const char *p, size_t rest, int prolog)
{
  if(rest >= 2 && p[1] == '!') {
    if(rest >= 4 && !memcmp(p, "<!--", 4))
      return M_COMMENT;
    if(rest >= 9 && !memcmp(p, "<![CDATA[", 9))
      return M_CDATA;
    if(prolog && rest >= 9 && !strncasecmp(p, "<!DOCTYPE", 9))
      return M_DOCTYPE;
    return M_NONE;
  }
  if(rest >= 2 && p[1] == '?')
    return name_start(p + 2, rest - 2) ? M_PI : M_NONE;
  if(rest >= 2 && p[1] == '/')
    return name_start(p + 2, rest - 2) ? M_TAG : M_NONE;
  return name_start(p + 1, rest - 1) ? M_TAG : M_NONE;
}

/* Returns the position just after the first end (len bytes) at or after
 * from, or n when there is none. */
static size_t after(const char *s, size_t n, size_t from, const char *end,
                    size_t len)
{
  /* memchr on the first byte, rare in text (']', '-', '?'), beats memmem */
  while(from < n && n - from >= len) {
    const char *p = memchr(s + from, end[0], n - from - len + 1);

    if(!p)
      break;
    if(!memcmp(p, end, len))
      return (size_t)(p - s) + len;
    from = (size_t)(p - s) + 1;
  }
  return n;
}

/* Copies from i to just after end, or to the end of the input; returns
 * where it stopped. For comments, CDATA sections and PIs. */
static size_t copy_through(struct fix *f, size_t i, size_t skip,
                           const char *end)
{
  size_t j = after(f->s, f->n, i + skip, end, strlen(end));

  keep(f, i, j);
  return j;
}

/* Returns the position after the quoted string opening at i. */
static size_t skip_quoted(const char *s, size_t n, size_t i)
{
  const char *q = memchr(s + i + 1, s[i], n - i - 1);

  return q ? (size_t)(q - s) + 1 : n;
}

/* Returns the position after the DOCTYPE at i, which is dropped. An
 * unterminated one ends before the next '<' outside its internal subset,
 * so that the document survives. */
static size_t skip_doctype(struct fix *f, size_t i)
{
  const char *s = f->s;
  size_t n = f->n, j = i + 9;

  while(j < n) {
    if(s[j] == '"' || s[j] == '\'') {
      j = skip_quoted(s, n, j);
    } else if(s[j] == '[') {
      f->flags |= FIX_DOCTYPE;
      for(j++; j < n && s[j] != ']';) {
        if(s[j] == '"' || s[j] == '\'')
          j = skip_quoted(s, n, j);
        else if(n - j >= 4 && !memcmp(s + j, "<!--", 4))
          j = after(s, n, j + 4, "-->", 3);
        else if(n - j >= 2 && !memcmp(s + j, "<?", 2))
          j = after(s, n, j + 2, "?>", 2);
        else
          j++;
      }
      if(j < n)
        j++;
    } else if(s[j] == '>') {
      return j + 1;
    } else if(s[j] == '<') {
      return j;
    } else {
      j++;
    }
  }
  return n;
}

/* Returns nonzero when the len bytes at name are one of XML's entities. */
static int xml_entity(const char *name, size_t len)
{
  switch(len) {
  case 2:
    return (name[0] == 'l' || name[0] == 'g') && name[1] == 't';
  case 3:
    return !memcmp(name, "amp", 3);
  case 4:
    return !memcmp(name, "quot", 4) || !memcmp(name, "apos", 4);
  default:
    return 0;
  }
}

/* Writes "&#N;". */
static void put_ref(struct fix *f, uint32_t cp)
{
  char ref[16];
  size_t k = sizeof(ref);

  ref[--k] = ';';
  do {
    ref[--k] = (char)('0' + cp % 10);
    cp /= 10;
  } while(cp);
  ref[--k] = '#';
  ref[--k] = '&';
  put(f, ref + k, sizeof(ref) - k);
}

/* Returns the value of hex or decimal digit c, or -1. */
static int digit(unsigned char c, int hex)
{
  if(c >= '0' && c <= '9')
    return c - '0';
  if(hex && c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if(hex && c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Handles the "&#" at i; returns where to go on. */
static size_t char_ref(struct fix *f, size_t i)
{
  const char *s = f->s;
  size_t n = f->n, j = i + 2, start;
  int hex = j < n && (s[j] == 'x' || s[j] == 'X');
  uint32_t cp = 0;

  j += (size_t)hex;
  start = j;
  for(; j < n; j++) {
    int d = digit((unsigned char)s[j], hex);

    if(d < 0)
      break;
    if(cp <= 0x10FFFF) /* stays above once above: no overflow */
      cp = cp * (hex ? 16 : 10) + (uint32_t)d;
  }
  if(j == start || j == n || s[j] != ';') {
    f->flags |= FIX_AMP;
    put(f, "&amp;", 5);
    return i + 1;
  }
  j++;
  if(cp >= 0x80 && cp <= 0x9F && cp1252_c1[cp - 0x80]) {
    if(!(f->flags & FIX_C1REF))
      quote(f->c1ref, s + i, j - i);
    f->flags |= FIX_C1REF;
    put_ref(f, cp1252_c1[cp - 0x80]);
    return j;
  }
  if((cp >= 0x20 && cp < 0x7F) || (cp >= 0xA0 && cp <= 0xD7FF) ||
     (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF) ||
     cp == '\t' || cp == '\n' || cp == '\r') {
    if(s[i + 2] != 'X') {
      keep(f, i, j);
      return j;
    }
    put(f, "&#x", 3);
    put(f, s + start, j - start);
  } else if(cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
    put(f, "&#xFFFD;", 8);
  }
  if(!(f->flags & FIX_BADREF))
    quote(f->badref, s + i, j - i);
  f->flags |= FIX_BADREF;
  return j;
}

/* Returns the code point of the HTML entity called name (len bytes, 1 to
 * XMLFIX_NAME_MAX), or 0. */
static uint32_t html_entity(struct fix *f, const char *name, size_t len)
{
  struct memo *m = &f->memo[(len * 7 + (unsigned char)name[0] * 3 +
                             (unsigned char)name[len - 1]) %
                            XMLFIX_MEMO];
  const htmlEntityDesc *e;

  if(!memcmp(m->name, name, len) && m->name[len] == '\0')
    return m->value;
  memcpy(m->name, name, len);
  m->name[len] = '\0';
  e = htmlEntityLookup((const xmlChar *)m->name);
  m->value = e ? e->value : 0;
  return m->value;
}

/* Handles the '&' at i; returns where to go on. */
static size_t amp(struct fix *f, size_t i)
{
  const char *s = f->s;
  size_t n = f->n, j = i + 1, len;
  uint32_t cp;

  if(j < n && s[j] == '#')
    return char_ref(f, i);
  while(j < n && j - i <= XMLFIX_NAME_MAX && is_alnum((unsigned char)s[j]))
    j++;
  len = j - i - 1;
  if(j < n && s[j] == ';' && len > 0 && len <= XMLFIX_NAME_MAX &&
     is_alpha((unsigned char)s[i + 1])) {
    if(xml_entity(s + i + 1, len)) {
      keep(f, i, j + 1);
      return j + 1;
    }
    cp = html_entity(f, s + i + 1, len);
    if(cp) {
      if(!(f->flags & FIX_HTML))
        quote(f->html, s + i, len + 2);
      f->flags |= FIX_HTML;
      put_ref(f, cp);
      return j + 1;
    }
  }
  f->flags |= FIX_AMP;
  put(f, "&amp;", 5);
  return i + 1;
}

/* The bytes tag() stops at. */
static const unsigned char tag_special[256] = {
    ['&'] = 1, ['"'] = 1, ['\''] = 1, ['>'] = 1, ['<'] = 1,
};

/* Copies the start or end tag at i, repairing '&' in it; returns where it
 * ended. A '>' inside quotes does not end it; markup outside them does
 * (the tag was never closed). A '<' that starts no markup stays in the
 * broken tag: escaped, it would not end the tag the next time. */
static size_t tag(struct fix *f, size_t i)
{
  const char *s = f->s;
  size_t n = f->n, from = i, j = i + 1;
  char quote_char = 0;

  while(j < n) {
    char c;

    /* Most bytes of a tag are none of the ones that matter here. */
    while(j < n && !tag_special[(unsigned char)s[j]])
      j++;
    if(j == n)
      break;
    c = s[j];
    if(c == '&') {
      keep(f, from, j);
      j = amp(f, j);
      from = j;
      continue;
    }
    if(quote_char) {
      if(c == quote_char)
        quote_char = 0;
    } else if(c == '"' || c == '\'') {
      quote_char = c;
    } else if(c == '>') {
      j++;
      break;
    } else if(c == '<' && classify(s + j, n - j, 0) != M_NONE) {
      break;
    }
    j++;
  }
  keep(f, from, j);
  return j;
}

/* Returns the position of the first c at or after i, or n. */
static size_t find(const char *s, size_t n, size_t i, char c)
{
  const char *p = memchr(s + i, c, n - i);

  return p ? (size_t)(p - s) : n;
}

/* RSS elements that hold only text, or HTML that should have been escaped
 * (description, content:encoded). */
static const struct {
  const char *name;
  size_t len;
} rss_text_elements[] = {
    {"title", 5},
    {"link", 4},
    {"description", 11},
    {"guid", 4},
    {"pubDate", 7},
    {"author", 6},
    {"category", 8},
    {"comments", 8},
    {"dc:date", 7},
    {"dc:creator", 10},
    {"content:encoded", 15},
    {"lastBuildDate", 13},
};

/* Returns the length of the element name of the start tag at p, when it is
 * one of rss_text_elements and not self-closing; else 0. */
static size_t rss_text_start(const char *p, size_t rest)
{
  size_t k = 1;
  const char *gt;

  while(k < rest && p[k] != '>' && p[k] != '/' &&
        !is_space((unsigned char)p[k]))
    k++;
  gt = memchr(p + k, '>', rest - k);
  if(!gt || gt[-1] == '/')
    return 0;
  for(size_t e = 0; e < sizeof(rss_text_elements) / sizeof(*rss_text_elements);
      e++)
    if(rss_text_elements[e].len == k - 1 &&
       memcmp(p + 1, rss_text_elements[e].name, k - 1) == 0)
      return k - 1;
  return 0;
}

/* Where the next item or the end of the channel starts after i: an RSS
 * text element never reaches past it. */
static size_t item_boundary(const char *s, size_t n, size_t i)
{
  static const char *const marks[] = {"<item", "</item", "</channel"};
  size_t end = n;

  for(size_t m = 0; m < sizeof(marks) / sizeof(*marks); m++) {
    const char *p = memmem(s + i, end - i, marks[m], strlen(marks[m]));

    if(p)
      end = (size_t)(p - s);
  }
  return end;
}

/* After the start tag of an RSS text element (name, nlen) ending at j: when
 * markup follows before its end tag, the publisher forgot to escape HTML
 * (wrapped here in CDATA, so it stays one field) or forgot the end tag
 * (inserted before the next markup). Returns where to go on. */
static size_t rss_text(struct fix *f, size_t j, const char *name, size_t nlen)
{
  const char *s = f->s;
  size_t n = f->n, lt_at = find(s, n, j, '<'), end, close;
  char endtag[XMLFIX_QUOTE_MAX];
  const char *p;

  if(lt_at == n || nlen + 4 > sizeof(endtag))
    return j;
  /* Built by hand: snprintf was a tenth of the repair time. */
  endtag[0] = '<';
  endtag[1] = '/';
  memcpy(endtag + 2, name, nlen);
  endtag[nlen + 2] = '>';
  endtag[nlen + 3] = '\0';
  /* The usual cases: text, then the end tag; CDATA; no tag at all. */
  if((n - lt_at >= nlen + 3 && !memcmp(s + lt_at, endtag, nlen + 3)) ||
     classify(s + lt_at, n - lt_at, 0) != M_TAG)
    return j;
  end = item_boundary(s, n, j);
  p = end > j ? memmem(s + j, end - j, endtag, nlen + 3) : NULL;
  if(!p) {
    f->close_at = lt_at;
    snprintf(f->close_name, sizeof(f->close_name), "%s", endtag);
    if(!(f->flags & FIX_UNCLOSED))
      snprintf(f->unclosed, sizeof(f->unclosed), "<%.*s>", (int)nlen, name);
    f->flags |= FIX_UNCLOSED;
    return j;
  }
  close = (size_t)(p - s);
  put(f, "<![CDATA[", 9);
  for(size_t k = j; k < close;) {
    const char *t = memmem(s + k, close - k, "]]>", 3);
    size_t stop = t ? (size_t)(t - s) : close;

    put(f, s + k, stop - k);
    if(!t)
      break;
    put(f, "]]]]><![CDATA[>", 15);
    k = stop + 3;
  }
  put(f, "]]>", 3);
  f->flags |= FIX_RAW;
  return close;
}

/* Handles the '<' at i; returns where to go on. */
static size_t lt(struct fix *f, size_t i)
{
  size_t nlen;
  size_t j;

  if(f->close_at == i && f->close_name[0]) {
    put(f, f->close_name, strlen(f->close_name));
    f->close_name[0] = '\0';
  }
  switch(classify(f->s + i, f->n - i, 0)) {
  case M_TAG:
    nlen =
        f->rss && f->s[i + 1] != '/' ? rss_text_start(f->s + i, f->n - i) : 0;
    j = tag(f, i);
    return nlen ? rss_text(f, j, f->s + i + 1, nlen) : j;
  case M_PI:
    return copy_through(f, i, 2, "?>");
  case M_COMMENT:
    return copy_through(f, i, 4, "-->");
  case M_CDATA:
    return copy_through(f, i, 9, "]]>");
  case M_DOCTYPE: /* only in the prolog */
  case M_NONE:
    break;
  }
  f->flags |= FIX_LT;
  put(f, "&lt;", 4);
  return i + 1;
}

/* Returns nonzero when the len bytes before an XML declaration may be junk
 * (blank lines, PHP warnings): no comment, CDATA section or DOCTYPE and no
 * feed's root element, after which "<?xml" is content, not the start. */
static int junk_only(const char *s, size_t len)
{
  static const char *const marks[] = {"<!--",      "<![CDATA[", "<!DOCTYPE",
                                      "<!doctype", "<rss",      "<feed",
                                      "<rdf:RDF",  "<opml"};

  for(size_t k = 0; k < sizeof(marks) / sizeof(marks[0]); k++)
    if(memmem(s, len, marks[k], strlen(marks[k])))
      return 0;
  return 1;
}

/* Returns where the XML declaration is when junk_only precedes it near the
 * start, else 0. */
static size_t decl_start(const char *s, size_t n)
{
  size_t window = n < XMLFIX_JUNK_WINDOW ? n : XMLFIX_JUNK_WINDOW;
  const char *p = memmem(s, window, "<?xml", 5);

  while(p && !(p + 5 < s + n && is_space((unsigned char)p[5])))
    p = memmem(p + 1, window - (size_t)(p + 1 - s), "<?xml", 5);
  return p && junk_only(s, (size_t)(p - s)) ? (size_t)(p - s) : 0;
}

/* Returns nonzero when the start tag at p (rest bytes) opens a feed's root
 * element: rss, feed, RDF or opml, with any prefix. */
static int feed_root(const char *p, size_t rest)
{
  static const char *const roots[] = {"rss", "feed", "RDF", "opml"};
  size_t k = 1, name = 1;

  /* the name's end: ASCII is enough, the roots are ASCII */
  for(; k < rest; k++) {
    unsigned char c = (unsigned char)p[k];

    if(c == ':')
      name = k + 1;
    else if(!is_alnum(c) && c != '-' && c != '.' && c != '_' && c < 0x80)
      break;
  }
  for(size_t r = 0; r < sizeof(roots) / sizeof(roots[0]); r++)
    if(k - name == strlen(roots[r]) && !memcmp(p + name, roots[r], k - name))
      return 1;
  return 0;
}

/* Returns where a feed's root element starts shortly after j, or n. */
static size_t root_ahead(const char *s, size_t n, size_t j)
{
  for(size_t k = find(s, n, j + 1, '<'); k < n && k - j < XMLFIX_JUNK_WINDOW;
      k = find(s, n, k + 1, '<'))
    if(classify(s + k, n - k, 0) == M_TAG && s[k + 1] != '/' &&
       feed_root(s + k, n - k))
      return k;
  return n;
}

/* Handles the '&' or '<' at j before the root element, where XML allows
 * only comments, PIs and the DOCTYPE: anything else is junk and dropped. A
 * start tag is the root element unless it is not a feed's root and one
 * follows shortly (PHP's "<br />\n<b>Notice</b>: ..." before "<rss>").
 * Returns where to go on; clears f->prolog at the root. */
static size_t prolog(struct fix *f, size_t j)
{
  const char *s = f->s;
  size_t n = f->n, root;
  enum markup m = s[j] == '<' ? classify(s + j, n - j, 1) : M_NONE;

  if(m == M_DOCTYPE)
    return skip_doctype(f, j);
  if(m == M_PI || m == M_COMMENT)
    return lt(f, j);
  if(m == M_TAG && s[j + 1] != '/') {
    root = feed_root(s + j, n - j) ? n : root_ahead(s, n, j);
    if(root == n) {
      f->prolog = 0;
      f->rss = (n - j >= 4 && !memcmp(s + j, "<rss", 4)) ||
               (n - j >= 8 && !memcmp(s + j, "<rdf:RDF", 8));
      return tag(f, j);
    }
    f->flags |= FIX_JUNK;
    return root;
  }
  f->flags |= FIX_JUNK;
  if(m == M_CDATA)
    return after(s, n, j + 9, "]]>", 3);
  if(m == M_TAG) /* an end tag */
    return after(s, n, j, ">", 1);
  return j + 1;
}

/* Returns nonzero when the len bytes at p are all whitespace. */
static int blank(const char *p, size_t len)
{
  for(size_t k = 0; k < len; k++)
    if(!is_space((unsigned char)p[k]))
      return 0;
  return 1;
}

/* Reports each kind of repair once. Returns 0 or -ENOMEM. */
static int warn(const struct fix *f, struct feed *feed)
{
  int rc = 0;

  if(rc == 0 && (f->flags & FIX_JUNK_DECL))
    rc = feed_warn(feed, "junk before the XML declaration removed");
  if(rc == 0 && (f->flags & FIX_JUNK))
    rc = feed_warn(feed, "junk before the root element removed");
  if(rc == 0 && (f->flags & FIX_DOCTYPE))
    rc = feed_warn(feed, "DOCTYPE removed");
  if(rc == 0 && (f->flags & FIX_AMP))
    rc = feed_warn(feed, "bare '&' escaped");
  if(rc == 0 && (f->flags & FIX_LT))
    rc = feed_warn(feed, "'<' not starting markup escaped");
  if(rc == 0 && (f->flags & FIX_HTML))
    rc = feed_warn(feed, "HTML entities replaced (first: %s)", f->html);
  if(rc == 0 && (f->flags & FIX_C1REF))
    rc = feed_warn(feed, "windows-1252 character references mapped (first: %s)",
                   f->c1ref);
  if(rc == 0 && (f->flags & FIX_RAW))
    rc = feed_warn(feed, "unescaped HTML inside an RSS element read as text");
  if(rc == 0 && (f->flags & FIX_UNCLOSED))
    rc =
        feed_warn(feed, "unclosed RSS element closed (first: %s)", f->unclosed);
  if(rc == 0 && (f->flags & FIX_BADREF))
    rc = feed_warn(feed, "invalid character references fixed (first: %s)",
                   f->badref);
  return rc;
}

int xmlfix_repair(const char *in, size_t len, struct feed *feed,
                  const char **out, size_t *out_len, char **copy)
{
  struct fix f;
  size_t i, next_amp, next_lt;

  *out = NULL;
  *out_len = 0;
  *copy = NULL;
  memset(&f, 0, sizeof(f));
  f.s = in;
  f.n = len;
  i = decl_start(in, len);
  if(i > 0) /* even whitespace: strict parsers reject the document */
    f.flags |= FIX_JUNK_DECL;
  f.prolog = 1;
  next_amp = find(in, len, i, '&');
  next_lt = find(in, len, i, '<');
  while(i < len && f.rc == 0) {
    size_t j;

    if(next_amp < i)
      next_amp = find(in, len, i, '&');
    if(next_lt < i)
      next_lt = find(in, len, i, '<');
    j = next_amp < next_lt ? next_amp : next_lt;
    if(!f.prolog)
      keep(&f, i, j);
    else if(!blank(in + i, j - i))
      f.flags |= FIX_JUNK;
    else if(f.len > 0) /* whitespace at the very start goes */
      keep(&f, i, j);
    if(j == len)
      break;
    if(f.prolog)
      i = prolog(&f, j);
    else
      i = in[j] == '&' ? amp(&f, j) : lt(&f, j);
  }
  if(f.rc == 0)
    f.rc = warn(&f, feed);
  if(f.rc < 0) {
    free(f.out);
    return f.rc;
  }
  *out_len = f.len;
  if(!f.out) {
    *out = in + f.start;
    return 0;
  }
  f.out[f.len] = '\0';
  *out = f.out;
  *copy = f.out;
  return 0;
}
