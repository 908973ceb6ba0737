/*
 * html.c: the HTML sanitizer and the HTML -> plain text functions.
 *
 * Both run libxml2's HTML parser in SAX mode and never build a tree. The
 * sanitizer writes its output straight from the parser's events: elements
 * on the allowlist below are re-serialized with their allowlisted
 * attributes, everything else is unwrapped (children kept), and elements
 * that hold code or never-rendered content are dropped with everything
 * inside them. Every text and attribute value is escaped again on output,
 * so what comes out is exactly what the parser understood.
 *
 * Decisions worth knowing:
 * - class, id, style, data-* and on* attributes are never kept: they tie
 *   the content to someone else's stylesheet or scripts.
 * - Links get no rel and no target. Without target="_blank" rel=noopener
 *   has nothing to do, and the referrer policy is the publishing site's.
 * - <noscript> is unwrapped, not dropped: readers do not run scripts, and
 *   lazy-loading pages keep the real <img> there.
 * - An <img> without a usable src or srcset is dropped.
 * - Output is valid UTF-8 that XML accepts: no controls but tab, LF and
 *   CR (form feed becomes a space, the rest and DEL go); invalid sequences
 *   and U+FFFE/U+FFFF become U+FFFD; C1 controls (what "&#146;" decodes
 *   to in libxml2) become the Windows-1252 characters that browsers show
 *   for them. The plain text functions do the same.
 * - Kept elements nest at most SAN_MAX_DEPTH deep; deeper ones are
 *   unwrapped. Output stops growing after 4 * input + 1 MiB (only closing
 *   tags follow), so a hostile base URL cannot multiply memory use.
 * - Against libxml2 2.9's quadratic paths (see MAX_ATTRS): a start tag
 *   keeps its first 100 attributes, and parsing ends once 256 elements
 *   are open. Real content reaches neither.
 * - Plain text leaves out what the sanitizer drops, and the fallback text
 *   of <audio> and <video>; block elements and <br> separate words.
 * - html_excerpt counts the ellipsis: the result, U+2026 included, is at
 *   most max_chars code points. Before the ellipsis it trims spaces and
 *   punctuation that leads on (, ; : . ! ? - / ( [ { &, en and em dashes,
 *   an ellipsis), unless that would leave nothing.
 *
 * libxml2 puts an implied <p> around text that has no parent element, so
 * the fragment is parsed inside a wrapper element the allowlist does not
 * know. The wrapper is unwrapped like any unknown element.
 */
#include "html.h"

#include "url.h"

#include <errno.h>
#include <libxml/HTMLparser.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PARSE_OPTIONS                                                          \
  (HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |              \
   HTML_PARSE_NOIMPLIED)
#define WRAPPER "<freshet-fragment>"
#define WRAPPER_LEN (sizeof(WRAPPER) - 1)
#define SAN_MAX_DEPTH 128
#define DBUF_MAX ((size_t)1 << 30)

/* ------------------------------------------------------------------ */
/* Growable output buffer (curl's dynbuf): a hard size cap, and it frees
 * itself on failure so later appends are no-ops. */

struct dbuf {
  char *p;
  size_t len;
  size_t cap;
  bool failed;
};

static void dbuf_fail(struct dbuf *b)
{
  free(b->p);
  b->p = NULL;
  b->len = 0;
  b->cap = 0;
  b->failed = true;
}

/* Makes room for add more bytes plus a NUL; false when it cannot. */
static bool dbuf_reserve(struct dbuf *b, size_t add)
{
  size_t need, cap;
  char *p;

  if(b->failed)
    return false;
  if(add > DBUF_MAX - b->len) {
    dbuf_fail(b);
    return false;
  }
  need = b->len + add + 1;
  if(need <= b->cap)
    return true;
  cap = b->cap > 0 ? b->cap : 256;
  while(cap < need)
    cap *= 2;
  p = realloc(b->p, cap);
  if(p == NULL) {
    dbuf_fail(b);
    return false;
  }
  b->p = p;
  b->cap = cap;
  return true;
}

static void dbuf_add(struct dbuf *b, const void *s, size_t n)
{
  if(n == 0 || !dbuf_reserve(b, n))
    return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

static void dbuf_addc(struct dbuf *b, char c)
{
  if(b->len + 1 < b->cap) {
    b->p[b->len++] = c;
    return;
  }
  dbuf_add(b, &c, 1);
}

static void dbuf_adds(struct dbuf *b, const char *s)
{
  dbuf_add(b, s, strlen(s));
}

/* Returns the NUL-terminated contents (the caller frees them), or NULL
 * when an append failed. */
static char *dbuf_finish(struct dbuf *b)
{
  if(!dbuf_reserve(b, 0))
    return NULL;
  b->p[b->len] = '\0';
  return b->p;
}

/* ------------------------------------------------------------------ */
/* Characters */

enum {
  C_SPACE = 1,  /* ASCII whitespace as HTML knows it */
  C_CTRL = 2,   /* C0 controls but tab, LF, CR; and DEL: never written */
  C_MARKUP = 4, /* & < > */
  C_QUOT = 8,   /* " */
  C_HIGH = 16,  /* start of a non-ASCII character */
};

static const unsigned char cclass[256] = {
    [0x00 ... 0x08] = C_CTRL, ['\t'] = C_SPACE,          ['\n'] = C_SPACE,
    [0x0b] = C_CTRL,          ['\f'] = C_SPACE | C_CTRL, ['\r'] = C_SPACE,
    [0x0e ... 0x1f] = C_CTRL, [' '] = C_SPACE,           ['"'] = C_QUOT,
    ['&'] = C_MARKUP,         ['<'] = C_MARKUP,          ['>'] = C_MARKUP,
    [0x7f] = C_CTRL,          [0x80 ... 0xff] = C_HIGH,
};

static bool is_space(char c)
{
  return (cclass[(unsigned char)c] & C_SPACE) != 0;
}

/* Windows-1252 for 0x80..0x9F; 0 where it has no character. */
static const uint16_t cp1252[32] = {
    0x20ac, 0,      0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
    0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017d, 0,
    0,      0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
    0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,      0x017e, 0x0178,
};

/* Decodes the non-ASCII character at s[0..n). Returns the bytes it used
 * (at least 1) and sets *cp to the character to write: U+FFFD for an
 * invalid sequence, U+FFFE/U+FFFF or a C1 control Windows-1252 does not
 * define, else the Windows-1252 character for a C1 control. */
static size_t decode_high(const unsigned char *s, size_t n, uint32_t *cp)
{
  unsigned char c = s[0];
  uint32_t v;
  size_t len;

  *cp = 0xfffd;
  if(c < 0xc2 || c > 0xf4)
    return 1;
  len = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
  if(n < len)
    return 1;
  v = c & (0x7f >> len);
  for(size_t i = 1; i < len; i++) {
    if((s[i] & 0xc0) != 0x80)
      return 1;
    v = (v << 6) | (s[i] & 0x3f);
  }
  if((len == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
     (len == 4 && (v < 0x10000 || v > 0x10ffff)))
    return 1;
  if(v == 0xfffe || v == 0xffff)
    return len;
  if(v >= 0x80 && v <= 0x9f)
    v = cp1252[v - 0x80] != 0 ? cp1252[v - 0x80] : 0xfffd;
  *cp = v;
  return len;
}

static void put_utf8(struct dbuf *b, uint32_t cp)
{
  char u[4];
  size_t n;

  if(cp < 0x80) {
    u[0] = (char)cp;
    n = 1;
  } else if(cp < 0x800) {
    u[0] = (char)(0xc0 | (cp >> 6));
    u[1] = (char)(0x80 | (cp & 0x3f));
    n = 2;
  } else if(cp < 0x10000) {
    u[0] = (char)(0xe0 | (cp >> 12));
    u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    u[2] = (char)(0x80 | (cp & 0x3f));
    n = 3;
  } else {
    u[0] = (char)(0xf0 | (cp >> 18));
    u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    u[3] = (char)(0x80 | (cp & 0x3f));
    n = 4;
  }
  dbuf_add(b, u, n);
}

/* Returns the length of the valid UTF-8 character at s[0..n) when it is
 * written as it is (not U+FFFE/U+FFFF, not a C1 control, and not NBSP
 * when nbsp is false), else 0. */
static size_t verbatim_high(const unsigned char *s, size_t n, bool nbsp)
{
  unsigned char c = s[0];

  if(c >= 0xc2 && c < 0xe0) {
    if(n < 2 || (s[1] & 0xc0) != 0x80 || (c == 0xc2 && s[1] < 0xa0) ||
       (!nbsp && c == 0xc2 && s[1] == 0xa0))
      return 0;
    return 2;
  }
  if(c >= 0xe0 && c < 0xf0) {
    if(n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
       (c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0) ||
       (c == 0xef && s[1] == 0xbf && s[2] >= 0xbe))
      return 0;
    return 3;
  }
  if(c >= 0xf0 && c < 0xf5) {
    if(n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
       (s[3] & 0xc0) != 0x80 || (c == 0xf0 && s[1] < 0x90) ||
       (c == 0xf4 && s[1] >= 0x90))
      return 0;
    return 4;
  }
  return 0;
}

/* Appends s[0..n) with the characters in stop (C_MARKUP, C_QUOT) escaped,
 * controls dropped and non-ASCII made valid. */
static void put_escaped(struct dbuf *b, const char *str, size_t n,
                        unsigned stop)
{
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0, run = 0, len;

  stop |= C_CTRL | C_HIGH;
  while(i < n) {
    unsigned k = cclass[s[i]] & stop;
    uint32_t cp;

    if(k == 0) {
      i++;
      continue;
    }
    if(k == C_HIGH && (len = verbatim_high(s + i, n - i, true)) > 0) {
      i += len;
      continue;
    }
    dbuf_add(b, s + run, i - run);
    if(k & C_HIGH) {
      i += decode_high(s + i, n - i, &cp);
      put_utf8(b, cp);
    } else {
      switch(s[i]) {
      case '&':
        dbuf_add(b, "&amp;", 5);
        break;
      case '<':
        dbuf_add(b, "&lt;", 4);
        break;
      case '>':
        dbuf_add(b, "&gt;", 4);
        break;
      case '"':
        dbuf_add(b, "&quot;", 6);
        break;
      case '\f':
        /* HTML whitespace, but not a character XML allows */
        dbuf_addc(b, ' ');
        break;
      default:
        break;
      }
      i++;
    }
    run = i;
  }
  dbuf_add(b, s + run, i - run);
}

/* Plain text with whitespace collapsed as it is appended. */
struct text {
  struct dbuf out;
  bool space; /* a space is due before the next character */
};

#define C_NOT_PLAIN (C_SPACE | C_CTRL | C_HIGH)

static void put_collapsed(struct text *t, const char *str, size_t n)
{
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;

  while(i < n) {
    size_t run = i, len;
    unsigned k;
    uint32_t cp;

    /* The longest stretch that is copied as it is: single spaces between
     * other characters included, so prose is one copy. */
    while(i < n) {
      k = cclass[s[i]] & C_NOT_PLAIN;
      if(k == 0) {
        i++;
      } else if(s[i] == ' ' && i > run && i + 1 < n &&
                (cclass[s[i + 1]] & C_NOT_PLAIN) == 0) {
        i += 2;
      } else if(k == C_HIGH && (len = verbatim_high(s + i, n - i, false)) > 0) {
        i += len;
      } else {
        break;
      }
    }
    if(i > run) {
      if(t->space && t->out.len > 0)
        dbuf_addc(&t->out, ' ');
      t->space = false;
      dbuf_add(&t->out, s + run, i - run);
      continue;
    }
    k = cclass[s[i]];
    if(k & C_SPACE) {
      t->space = true;
      i++;
      continue;
    }
    if(k & C_CTRL) {
      i++;
      continue;
    }
    i += decode_high(s + i, n - i, &cp);
    if(cp == 0xa0) {
      t->space = true;
      continue;
    }
    if(t->space && t->out.len > 0)
      dbuf_addc(&t->out, ' ');
    t->space = false;
    put_utf8(&t->out, cp);
  }
}

/* ------------------------------------------------------------------ */
/* The allowlist */

enum {
  EL_KEEP = 1,   /* re-serialized */
  EL_VOID = 2,   /* never has a closing tag */
  EL_DROP = 4,   /* dropped, with its content unless it is void */
  EL_BLOCK = 8,  /* separates words in plain text */
  EL_NOTEXT = 16 /* its content is fallback, not text (media) */
};

struct elem {
  unsigned flags;
  unsigned attrs; /* A_ bits allowed besides A_GLOBAL */
};

#define A_ALT (1u << 0)
#define A_CITE (1u << 1)
#define A_COLSPAN (1u << 2)
#define A_CONTROLS (1u << 3)
#define A_DATETIME (1u << 4)
#define A_DEFAULT (1u << 5)
#define A_DIR (1u << 6)
#define A_HEIGHT (1u << 7)
#define A_HREF (1u << 8)
#define A_KIND (1u << 9)
#define A_LABEL (1u << 10)
#define A_LANG (1u << 11)
#define A_LOOP (1u << 12)
#define A_MEDIA (1u << 13)
#define A_MUTED (1u << 14)
#define A_OPEN (1u << 15)
#define A_POSTER (1u << 16)
#define A_PRELOAD (1u << 17)
#define A_REVERSED (1u << 18)
#define A_ROWSPAN (1u << 19)
#define A_SCOPE (1u << 20)
#define A_SIZES (1u << 21)
#define A_SPAN (1u << 22)
#define A_SRC (1u << 23)
#define A_SRCLANG (1u << 24)
#define A_SRCSET (1u << 25)
#define A_START (1u << 26)
#define A_TITLE (1u << 27)
#define A_TYPE (1u << 28)
#define A_VALUE (1u << 29)
#define A_WIDTH (1u << 30)

#define A_GLOBAL (A_TITLE | A_LANG | A_DIR)
#define A_URL (A_HREF | A_SRC | A_CITE | A_POSTER)
#define A_BOOLEAN                                                              \
  (A_CONTROLS | A_LOOP | A_MUTED | A_REVERSED | A_OPEN | A_DEFAULT)

#define KEEP(a) ((struct elem){EL_KEEP, (a)})
#define KEEP_BLOCK(a) ((struct elem){EL_KEEP | EL_BLOCK, (a)})
#define VOID(a) ((struct elem){EL_KEEP | EL_VOID, (a)})
#define VOID_BLOCK(a) ((struct elem){EL_KEEP | EL_VOID | EL_BLOCK, (a)})
#define MEDIA(a) ((struct elem){EL_KEEP | EL_NOTEXT, (a)})
#define BLOCK_UNWRAP ((struct elem){EL_BLOCK, 0})
#define DROP ((struct elem){EL_DROP, 0})
#define DROP_VOID ((struct elem){EL_DROP | EL_VOID, 0})
#define IS(lit) (len == sizeof(lit) - 1 && memcmp(s, lit, sizeof(lit) - 1) == 0)

/* Returns how an element (lower-case name, as libxml2 reports it) is
 * treated; unknown elements are unwrapped inline. */
static struct elem elem_lookup(const char *s, size_t len)
{
  switch(s[0]) {
  case 'a':
    if(IS("a"))
      return KEEP(A_HREF);
    if(IS("abbr"))
      return KEEP(0);
    if(IS("address"))
      return KEEP_BLOCK(0);
    if(IS("applet"))
      return DROP;
    if(IS("article"))
      return KEEP_BLOCK(0);
    if(IS("aside"))
      return KEEP_BLOCK(0);
    if(IS("audio"))
      return MEDIA(A_SRC | A_CONTROLS | A_LOOP | A_MUTED | A_PRELOAD);
    break;
  case 'b':
    if(IS("b"))
      return KEEP(0);
    if(IS("base"))
      return DROP_VOID;
    if(IS("bdi"))
      return KEEP(0);
    if(IS("bdo"))
      return KEEP(0);
    if(IS("blockquote"))
      return KEEP_BLOCK(A_CITE);
    if(IS("body"))
      return BLOCK_UNWRAP;
    if(IS("br"))
      return VOID_BLOCK(0);
    if(IS("button"))
      return DROP;
    break;
  case 'c':
    if(IS("canvas"))
      return DROP;
    if(IS("caption"))
      return KEEP_BLOCK(0);
    if(IS("center"))
      return BLOCK_UNWRAP;
    if(IS("cite"))
      return KEEP(0);
    if(IS("code"))
      return KEEP(0);
    if(IS("col"))
      return VOID(A_SPAN);
    if(IS("colgroup"))
      return KEEP_BLOCK(A_SPAN);
    break;
  case 'd':
    if(IS("datalist"))
      return DROP;
    if(IS("dd"))
      return KEEP_BLOCK(0);
    if(IS("del"))
      return KEEP(A_CITE | A_DATETIME);
    if(IS("details"))
      return KEEP_BLOCK(A_OPEN);
    if(IS("dfn"))
      return KEEP(0);
    if(IS("dialog"))
      return BLOCK_UNWRAP;
    if(IS("dir"))
      return BLOCK_UNWRAP;
    if(IS("div"))
      return KEEP_BLOCK(0);
    if(IS("dl"))
      return KEEP_BLOCK(0);
    if(IS("dt"))
      return KEEP_BLOCK(0);
    break;
  case 'e':
    if(IS("em"))
      return KEEP(0);
    if(IS("embed"))
      return DROP_VOID;
    break;
  case 'f':
    if(IS("fieldset"))
      return BLOCK_UNWRAP;
    if(IS("figcaption"))
      return KEEP_BLOCK(0);
    if(IS("figure"))
      return KEEP_BLOCK(0);
    if(IS("footer"))
      return KEEP_BLOCK(0);
    if(IS("form"))
      return DROP;
    if(IS("frame"))
      return DROP_VOID;
    if(IS("frameset"))
      return DROP;
    break;
  case 'h':
    if(IS("h1"))
      return KEEP_BLOCK(0);
    if(IS("h2"))
      return KEEP_BLOCK(0);
    if(IS("h3"))
      return KEEP_BLOCK(0);
    if(IS("h4"))
      return KEEP_BLOCK(0);
    if(IS("h5"))
      return KEEP_BLOCK(0);
    if(IS("h6"))
      return KEEP_BLOCK(0);
    if(IS("head"))
      return DROP;
    if(IS("header"))
      return KEEP_BLOCK(0);
    if(IS("hgroup"))
      return BLOCK_UNWRAP;
    if(IS("hr"))
      return VOID_BLOCK(0);
    if(IS("html"))
      return BLOCK_UNWRAP;
    break;
  case 'i':
    if(IS("i"))
      return KEEP(0);
    if(IS("iframe"))
      return DROP;
    if(IS("img"))
      return VOID(A_SRC | A_SRCSET | A_SIZES | A_ALT | A_WIDTH | A_HEIGHT);
    if(IS("input"))
      return DROP_VOID;
    if(IS("ins"))
      return KEEP(A_CITE | A_DATETIME);
    break;
  case 'k':
    if(IS("kbd"))
      return KEEP(0);
    if(IS("keygen"))
      return DROP_VOID;
    break;
  case 'l':
    if(IS("legend"))
      return BLOCK_UNWRAP;
    if(IS("li"))
      return KEEP_BLOCK(A_VALUE);
    if(IS("link"))
      return DROP_VOID;
    if(IS("listing"))
      return BLOCK_UNWRAP;
    break;
  case 'm':
    if(IS("main"))
      return BLOCK_UNWRAP;
    if(IS("mark"))
      return KEEP(0);
    if(IS("math"))
      return DROP;
    if(IS("menu"))
      return BLOCK_UNWRAP;
    if(IS("meta"))
      return DROP_VOID;
    break;
  case 'n':
    if(IS("nav"))
      return BLOCK_UNWRAP;
    if(IS("noembed"))
      return DROP;
    if(IS("noframes"))
      return DROP;
    break;
  case 'o':
    if(IS("object"))
      return DROP;
    if(IS("ol"))
      return KEEP_BLOCK(A_START | A_REVERSED | A_TYPE);
    break;
  case 'p':
    if(IS("p"))
      return KEEP_BLOCK(0);
    if(IS("param"))
      return DROP_VOID;
    if(IS("picture"))
      return KEEP(0);
    if(IS("plaintext"))
      return BLOCK_UNWRAP;
    if(IS("pre"))
      return KEEP_BLOCK(0);
    break;
  case 'q':
    if(IS("q"))
      return KEEP(A_CITE);
    break;
  case 'r':
    if(IS("rp"))
      return KEEP(0);
    if(IS("rt"))
      return KEEP(0);
    if(IS("ruby"))
      return KEEP(0);
    break;
  case 's':
    if(IS("s"))
      return KEEP(0);
    if(IS("samp"))
      return KEEP(0);
    if(IS("script"))
      return DROP;
    if(IS("section"))
      return KEEP_BLOCK(0);
    if(IS("select"))
      return DROP;
    if(IS("small"))
      return KEEP(0);
    if(IS("source"))
      return VOID(A_SRC | A_SRCSET | A_SIZES | A_TYPE | A_MEDIA);
    if(IS("span"))
      return KEEP(0);
    if(IS("strong"))
      return KEEP(0);
    if(IS("style"))
      return DROP;
    if(IS("sub"))
      return KEEP(0);
    if(IS("summary"))
      return KEEP_BLOCK(0);
    if(IS("sup"))
      return KEEP(0);
    if(IS("svg"))
      return DROP;
    break;
  case 't':
    if(IS("table"))
      return KEEP_BLOCK(0);
    if(IS("tbody"))
      return KEEP_BLOCK(0);
    if(IS("td"))
      return KEEP_BLOCK(A_COLSPAN | A_ROWSPAN);
    if(IS("template"))
      return DROP;
    if(IS("textarea"))
      return DROP;
    if(IS("tfoot"))
      return KEEP_BLOCK(0);
    if(IS("th"))
      return KEEP_BLOCK(A_COLSPAN | A_ROWSPAN | A_SCOPE);
    if(IS("thead"))
      return KEEP_BLOCK(0);
    if(IS("time"))
      return KEEP(A_DATETIME);
    if(IS("title"))
      return DROP;
    if(IS("tr"))
      return KEEP_BLOCK(0);
    if(IS("track"))
      return VOID(A_SRC | A_KIND | A_SRCLANG | A_LABEL | A_DEFAULT);
    break;
  case 'u':
    if(IS("u"))
      return KEEP(0);
    if(IS("ul"))
      return KEEP_BLOCK(0);
    break;
  case 'v':
    if(IS("var"))
      return KEEP(0);
    if(IS("video"))
      return MEDIA(A_SRC | A_CONTROLS | A_LOOP | A_MUTED | A_PRELOAD |
                   A_POSTER | A_WIDTH | A_HEIGHT);
    break;
  case 'w':
    if(IS("wbr"))
      return VOID(0);
    break;
  case 'x':
    if(IS("xmp"))
      return BLOCK_UNWRAP;
    break;
  }
  return (struct elem){0, 0};
}

/* Returns the A_ bit of an attribute name, or 0 for any other. */
static unsigned attr_lookup(const char *s, size_t len)
{
  switch(s[0]) {
  case 'a':
    if(IS("alt"))
      return A_ALT;
    break;
  case 'c':
    if(IS("cite"))
      return A_CITE;
    if(IS("colspan"))
      return A_COLSPAN;
    if(IS("controls"))
      return A_CONTROLS;
    break;
  case 'd':
    if(IS("datetime"))
      return A_DATETIME;
    if(IS("default"))
      return A_DEFAULT;
    if(IS("dir"))
      return A_DIR;
    break;
  case 'h':
    if(IS("height"))
      return A_HEIGHT;
    if(IS("href"))
      return A_HREF;
    break;
  case 'k':
    if(IS("kind"))
      return A_KIND;
    break;
  case 'l':
    if(IS("label"))
      return A_LABEL;
    if(IS("lang"))
      return A_LANG;
    if(IS("loop"))
      return A_LOOP;
    break;
  case 'm':
    if(IS("media"))
      return A_MEDIA;
    if(IS("muted"))
      return A_MUTED;
    break;
  case 'o':
    if(IS("open"))
      return A_OPEN;
    break;
  case 'p':
    if(IS("poster"))
      return A_POSTER;
    if(IS("preload"))
      return A_PRELOAD;
    break;
  case 'r':
    if(IS("reversed"))
      return A_REVERSED;
    if(IS("rowspan"))
      return A_ROWSPAN;
    break;
  case 's':
    if(IS("scope"))
      return A_SCOPE;
    if(IS("sizes"))
      return A_SIZES;
    if(IS("span"))
      return A_SPAN;
    if(IS("src"))
      return A_SRC;
    if(IS("srclang"))
      return A_SRCLANG;
    if(IS("srcset"))
      return A_SRCSET;
    if(IS("start"))
      return A_START;
    break;
  case 't':
    if(IS("title"))
      return A_TITLE;
    if(IS("type"))
      return A_TYPE;
    break;
  case 'v':
    if(IS("value"))
      return A_VALUE;
    break;
  case 'w':
    if(IS("width"))
      return A_WIDTH;
    break;
  }
  return 0;
}

#undef IS

/* ------------------------------------------------------------------ */
/* Parsing */

/* libxml2 2.9 has two quadratic paths: each attribute of a start tag is
 * compared with all earlier ones, and each end tag with every element
 * open. Start tags keep at most MAX_ATTRS attributes, and parsing stops
 * once PARSE_MAX_DEPTH elements are open, which real content never
 * reaches. That bounds the work per byte. */
#define MAX_ATTRS 100
#define PARSE_MAX_DEPTH 256

static bool starts_tag_name(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         c == ':' || c == '.';
}

static bool has_prefix_ci(const char *s, size_t n, const char *prefix)
{
  size_t i;

  for(i = 0; prefix[i] != '\0'; i++) {
    if(i == n || (s[i] | 0x20) != prefix[i])
      return false;
  }
  return i == n || is_space(s[i]) || s[i] == '>' || s[i] == '/';
}

/* Appends s[from..to) at s[*w] (a no-op until something was left out). */
static void keep_span(char *s, size_t *w, size_t from, size_t to)
{
  if(*w != from)
    memmove(s + *w, s + from, to - from);
  *w += to - from;
}

/* Reads the start tag whose name begins at s[r] the way libxml2 does,
 * copying it to s[*w] without the attributes past MAX_ATTRS. Returns the
 * position of its '>' (or n). */
static size_t limit_tag(char *s, size_t n, size_t r, size_t *w)
{
  size_t attrs = 0, from = r, cut = n;
  bool blank = false, eq = false;

  while(r < n && s[r] != '>') {
    char c = s[r];

    if(eq && (c == '"' || c == '\'')) {
      const char *q = memchr(s + r + 1, c, n - r - 1);

      r = q != NULL ? (size_t)(q - s) + 1 : n;
      eq = false;
      blank = false;
      continue;
    }
    if(is_space(c)) {
      blank = true;
    } else if(c == '=') {
      eq = true;
      blank = false;
    } else {
      if(blank && !eq && ++attrs == MAX_ATTRS + 1)
        cut = r;
      blank = false;
      eq = false;
    }
    r++;
  }
  keep_span(s, w, from, cut < r ? cut : r);
  return r;
}

/* Returns the position after the "-->" that ends a comment whose text
 * starts at s[r], or n. */
static size_t comment_end(const char *s, size_t n, size_t r)
{
  while(r + 3 <= n) {
    const char *gt = memchr(s + r + 2, '>', n - r - 2);

    if(gt == NULL)
      break;
    r = (size_t)(gt - s) - 2;
    if(s[r] == '-' && s[r + 1] == '-')
      return r + 3;
    r++;
  }
  return n;
}

/* Applies MAX_ATTRS to s[0..n) in place; returns the new length. Comments
 * and script or style content are copied as they are, as libxml2 reads
 * no tags there. */
static size_t limit_attributes(char *s, size_t n)
{
  size_t r = 0, w = 0;

  while(r < n) {
    const char *lt = memchr(s + r, '<', n - r);
    size_t next = lt != NULL ? (size_t)(lt - s) + 1 : n, skip = 0;

    keep_span(s, &w, r, next);
    r = next;
    if(lt == NULL || r == n)
      continue;
    if(n - r >= 3 && memcmp(s + r, "!--", 3) == 0) {
      skip = comment_end(s, n, r + 3);
    } else if(starts_tag_name(s[r])) {
      bool raw = has_prefix_ci(s + r, n - r, "script") ||
                 has_prefix_ci(s + r, n - r, "style");

      r = limit_tag(s, n, r, &w);
      if(!raw || r == n)
        continue;
      /* Raw text ends at the first "</" and a letter (libxml2 without
       * HTML_PARSE_RECOVER). */
      for(skip = r; skip + 2 < n; skip++) {
        if(s[skip] == '<' && s[skip + 1] == '/' &&
           ((s[skip + 2] | 0x20) >= 'a' && (s[skip + 2] | 0x20) <= 'z'))
          break;
      }
      if(skip + 2 >= n)
        skip = n;
    }
    if(skip > r) {
      keep_span(s, &w, r, skip);
      r = skip;
    }
  }
  return w;
}

/* Runs libxml2's HTML parser over html[0..len) inside the wrapper element,
 * sending events to sax with ud; *ctxt_out holds the parser meanwhile so
 * that callbacks can stop it. Returns 0, or -ENOMEM. */
static int parse_fragment(const char *html, size_t len,
                          const htmlSAXHandler *sax, void *ud,
                          htmlParserCtxtPtr *ctxt_out)
{
  htmlParserCtxtPtr ctxt;
  char *buf;
  int rc = 0;

  if(len > (size_t)INT_MAX - WRAPPER_LEN)
    return -ENOMEM;
  buf = malloc(WRAPPER_LEN + len);
  if(buf == NULL)
    return -ENOMEM;
  memcpy(buf, WRAPPER, WRAPPER_LEN);
  memcpy(buf + WRAPPER_LEN, html, len);
  /* libxml2 stops at a NUL byte; HTML ignores them. */
  if(memchr(html, '\0', len) != NULL) {
    size_t j = WRAPPER_LEN;

    for(size_t i = 0; i < len; i++) {
      if(html[i] != '\0')
        buf[j++] = html[i];
    }
    len = j - WRAPPER_LEN;
  }
  len = limit_attributes(buf + WRAPPER_LEN, len);
  ctxt = htmlNewParserCtxt();
  if(ctxt == NULL) {
    free(buf);
    return -ENOMEM;
  }
  memcpy(ctxt->sax, sax, sizeof(*sax));
  ctxt->userData = ud;
  *ctxt_out = ctxt;
  /* Declaring the encoding also stops <meta charset> from switching it. */
  htmlCtxtReadMemory(ctxt, buf, (int)(WRAPPER_LEN + len), NULL, "UTF-8",
                     PARSE_OPTIONS);
  if(ctxt->errNo == XML_ERR_NO_MEMORY)
    rc = -ENOMEM;
  *ctxt_out = NULL;
  htmlFreeParserCtxt(ctxt);
  free(buf);
  return rc;
}

static bool has_markup(const char *s, size_t len)
{
  return memchr(s, '<', len) != NULL || memchr(s, '&', len) != NULL;
}

/* ------------------------------------------------------------------ */
/* Sanitizer */

enum frame_kind {
  FR_UNWRAP, /* not written, children are */
  FR_KEEP,   /* written; its closing tag is due */
  FR_VOID,   /* written, no closing tag */
  FR_DROP    /* starts a dropped subtree */
};

/* Longest name on the allowlist ("blockquote", "figcaption") and a NUL. */
#define TAG_MAX 11

struct frame {
  const char *name; /* libxml2's, valid only while the parser lives */
  enum frame_kind kind;
  char tag[TAG_MAX]; /* FR_KEEP: the name for the closing tag */
};

struct san {
  htmlParserCtxtPtr ctxt;
  bool stopped; /* PARSE_MAX_DEPTH reached */
  struct dbuf out;
  size_t limit; /* no new content once out.len reaches it */
  const char *base;
  bool want_image;
  char *image;
  struct frame *stack;
  size_t depth;
  size_t cap;
  size_t drop; /* depth of the frame that started a dropped subtree */
  size_t kept; /* FR_KEEP frames on the stack */
};

static bool san_push(struct san *s, const char *name, enum frame_kind kind)
{
  if(s->depth == s->cap) {
    size_t cap = s->cap > 0 ? s->cap * 2 : 32;
    struct frame *p = realloc(s->stack, cap * sizeof(*p));

    if(p == NULL) {
      dbuf_fail(&s->out);
      return false;
    }
    s->stack = p;
    s->cap = cap;
  }
  s->stack[s->depth].name = name;
  s->stack[s->depth].kind = kind;
  if(kind == FR_KEEP) {
    size_t n = strlen(name);

    /* Kept names come from the allowlist, so they always fit. */
    if(n >= TAG_MAX)
      n = 0;
    memcpy(s->stack[s->depth].tag, name, n);
    s->stack[s->depth].tag[n] = '\0';
  }
  s->depth++;
  return true;
}

static void san_pop(struct san *s)
{
  struct frame *f = &s->stack[--s->depth];

  if(f->kind == FR_KEEP) {
    /* f->name may be gone: libxml2 does not close everything when it
     * stops early, and the rest is closed after its dictionary is freed */
    dbuf_add(&s->out, "</", 2);
    dbuf_adds(&s->out, f->tag);
    dbuf_addc(&s->out, '>');
    s->kept--;
  }
  if(s->drop > s->depth)
    s->drop = 0;
}

static void put_attr(struct dbuf *b, const char *name, const char *value)
{
  dbuf_addc(b, ' ');
  dbuf_adds(b, name);
  dbuf_add(b, "=\"", 2);
  put_escaped(b, value, strlen(value), C_MARKUP | C_QUOT);
  dbuf_addc(b, '"');
}

/* Returns the resolved URL when it is safe to publish, else NULL. */
static char *safe_url(const struct san *s, const char *value, bool image)
{
  char *url = url_resolve(s->base, value);

  if(url != NULL && !url_is_safe(url, image)) {
    free(url);
    url = NULL;
  }
  return url;
}

/* Appends a srcset attribute with every candidate URL resolved and the
 * unsafe ones left out (HTML's srcset parsing, simplified: descriptors
 * are copied, not checked). Returns false when no candidate is left. */
static bool put_srcset(struct san *s, const char *v)
{
  size_t mark = s->out.len;
  bool any = false;

  dbuf_adds(&s->out, " srcset=\"");
  while(*v != '\0') {
    const char *u, *ue, *d, *de;
    char *url, *abs;

    while(is_space(*v) || *v == ',')
      v++;
    if(*v == '\0')
      break;
    u = v;
    while(*v != '\0' && !is_space(*v))
      v++;
    ue = v;
    d = de = v;
    if(ue[-1] == ',') {
      while(ue > u && ue[-1] == ',')
        ue--;
    } else {
      while(is_space(*v))
        v++;
      d = v;
      while(*v != '\0' && *v != ',')
        v++;
      de = v;
      while(de > d && is_space(de[-1]))
        de--;
    }
    if(ue == u)
      continue;
    url = malloc((size_t)(ue - u) + 1);
    if(url == NULL) {
      dbuf_fail(&s->out);
      return false;
    }
    memcpy(url, u, (size_t)(ue - u));
    url[ue - u] = '\0';
    abs = safe_url(s, url, true);
    free(url);
    if(abs == NULL)
      continue;
    if(any)
      dbuf_add(&s->out, ", ", 2);
    put_escaped(&s->out, abs, strlen(abs), C_MARKUP | C_QUOT);
    free(abs);
    if(de > d) {
      dbuf_addc(&s->out, ' ');
      put_escaped(&s->out, d, (size_t)(de - d), C_MARKUP | C_QUOT);
    }
    any = true;
  }
  if(!any) {
    if(!s->out.failed)
      s->out.len = mark;
    return false;
  }
  dbuf_addc(&s->out, '"');
  return true;
}

/* Whether an <img> can stand for its entry in a widget: not a 1x1
 * tracking pixel, not an inline data: image. */
static bool representative(const xmlChar **atts, const char *url)
{
  if(strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
    return false;
  for(size_t i = 0; atts[i] != NULL; i += 2) {
    const char *an = (const char *)atts[i];
    const char *av = (const char *)atts[i + 1];

    if(av != NULL && (strcmp(an, "width") == 0 || strcmp(an, "height") == 0) &&
       (strcmp(av, "0") == 0 || strcmp(av, "1") == 0))
      return false;
  }
  return true;
}

/* Writes the start tag of a kept element with its allowed attributes.
 * Returns false when the element is left out after all (an <img> with
 * nothing to show). */
static bool put_start_tag(struct san *s, const char *name, struct elem e,
                          const xmlChar **atts)
{
  bool img = strcmp(name, "img") == 0;
  bool has_src = false;
  size_t mark = s->out.len;
  unsigned seen = 0;

  dbuf_addc(&s->out, '<');
  dbuf_adds(&s->out, name);
  for(size_t i = 0; atts != NULL && atts[i] != NULL; i += 2) {
    const char *an = (const char *)atts[i];
    const char *av = (const char *)atts[i + 1];
    unsigned bit = attr_lookup(an, strlen(an));

    if(bit == 0 || ((e.attrs | A_GLOBAL) & bit) == 0 || (seen & bit) != 0)
      continue;
    seen |= bit;
    if(bit & A_BOOLEAN) {
      dbuf_addc(&s->out, ' ');
      dbuf_adds(&s->out, an);
    } else if(bit & A_URL) {
      char *url = av != NULL ? safe_url(s, av, img || bit == A_POSTER) : NULL;

      if(url == NULL)
        continue;
      put_attr(&s->out, an, url);
      if(img && bit == A_SRC) {
        has_src = true;
        if(s->want_image && s->image == NULL && representative(atts, url)) {
          s->image = url;
          url = NULL;
        }
      }
      free(url);
    } else if(bit == A_SRCSET) {
      if(av != NULL && put_srcset(s, av))
        has_src = true;
    } else {
      put_attr(&s->out, an, av != NULL ? av : "");
    }
  }
  if(img && !has_src) {
    if(!s->out.failed)
      s->out.len = mark;
    return false;
  }
  dbuf_addc(&s->out, '>');
  return !s->out.failed;
}

static void san_start(void *ctx, const xmlChar *xname, const xmlChar **atts)
{
  struct san *s = ctx;
  const char *name = (const char *)xname;
  enum frame_kind kind = FR_UNWRAP;

  if(s->out.failed)
    return;
  if(s->depth >= PARSE_MAX_DEPTH && !s->stopped) {
    xmlStopParser(s->ctxt);
    s->stopped = true;
  }
  if(s->drop == 0 && !s->stopped) {
    struct elem e = elem_lookup(name, strlen(name));

    /* libxml2 lets void elements it does not know (embed, source, ...)
     * swallow what follows; that content is their siblings' in HTML. */
    if((e.flags & (EL_DROP | EL_VOID)) == EL_DROP) {
      kind = FR_DROP;
    } else if((e.flags & EL_KEEP) && s->out.len < s->limit &&
              s->kept < SAN_MAX_DEPTH && put_start_tag(s, name, e, atts)) {
      kind = (e.flags & EL_VOID) ? FR_VOID : FR_KEEP;
    }
  }
  if(!san_push(s, name, kind))
    return;
  if(kind == FR_DROP)
    s->drop = s->depth;
  else if(kind == FR_KEEP)
    s->kept++;
}

static void san_end(void *ctx, const xmlChar *xname)
{
  struct san *s = ctx;
  const char *name = (const char *)xname;
  size_t i = s->depth;

  if(s->out.failed)
    return;
  /* libxml2 balances its events; a name that is not open is ignored. */
  while(i > 0 && s->stack[i - 1].name != name &&
        strcmp(s->stack[i - 1].name, name) != 0)
    i--;
  if(i == 0)
    return;
  while(s->depth >= i)
    san_pop(s);
}

static void san_text(void *ctx, const xmlChar *ch, int len)
{
  struct san *s = ctx;

  if(s->drop != 0 || s->stopped || s->out.failed || s->out.len >= s->limit)
    return;
  put_escaped(&s->out, (const char *)ch, (size_t)len, C_MARKUP);
}

char *html_sanitize(const char *html, size_t len, const char *base,
                    char **first_image)
{
  htmlSAXHandler sax;
  struct san s;
  char *out;

  if(first_image != NULL)
    *first_image = NULL;
  if(html == NULL)
    len = 0;
  memset(&s, 0, sizeof(s));
  s.base = base;
  s.want_image = first_image != NULL;
  s.limit = len > (DBUF_MAX - (1 << 20)) / 4 ? DBUF_MAX : len * 4 + (1 << 20);
  if(!dbuf_reserve(&s.out, len + len / 8 + 64))
    return NULL;
  if(len > 0 && !has_markup(html, len)) {
    put_escaped(&s.out, html, len, C_MARKUP);
  } else if(len > 0) {
    memset(&sax, 0, sizeof(sax));
    sax.startElement = san_start;
    sax.endElement = san_end;
    sax.characters = san_text;
    sax.ignorableWhitespace = san_text;
    sax.cdataBlock = san_text;
    if(parse_fragment(html, len, &sax, &s, &s.ctxt) < 0)
      dbuf_fail(&s.out);
    while(s.depth > 0)
      san_pop(&s);
  }
  free(s.stack);
  out = dbuf_finish(&s.out);
  if(out == NULL) {
    free(s.image);
    return NULL;
  }
  if(first_image != NULL)
    *first_image = s.image;
  return out;
}

/* ------------------------------------------------------------------ */
/* Plain text */

struct totext {
  htmlParserCtxtPtr ctxt;
  bool stopped;   /* PARSE_MAX_DEPTH or stop_at reached */
  size_t stop_at; /* stop once the text has this many bytes (0: never) */
  struct text t;
  size_t depth;
  size_t skip; /* depth of the element whose content is skipped */
};

static void text_start(void *ctx, const xmlChar *xname, const xmlChar **atts)
{
  struct totext *x = ctx;
  const char *name = (const char *)xname;
  struct elem e;

  (void)atts;
  if(x->depth >= PARSE_MAX_DEPTH && !x->stopped) {
    xmlStopParser(x->ctxt);
    x->stopped = true;
  }
  x->depth++;
  if(x->skip != 0 || x->stopped)
    return;
  e = elem_lookup(name, strlen(name));
  if((e.flags & (EL_DROP | EL_VOID)) == EL_DROP || (e.flags & EL_NOTEXT))
    x->skip = x->depth;
  else if(e.flags & EL_BLOCK)
    x->t.space = true;
}

static void text_end(void *ctx, const xmlChar *xname)
{
  struct totext *x = ctx;
  const char *name = (const char *)xname;

  if(x->depth == 0)
    return;
  if(x->skip == x->depth)
    x->skip = 0;
  else if(x->skip == 0 && (elem_lookup(name, strlen(name)).flags & EL_BLOCK))
    x->t.space = true;
  x->depth--;
}

static void text_chars(void *ctx, const xmlChar *ch, int len)
{
  struct totext *x = ctx;

  if(x->skip != 0 || x->stopped)
    return;
  put_collapsed(&x->t, (const char *)ch, (size_t)len);
  if(x->stop_at != 0 && x->t.out.len >= x->stop_at) {
    xmlStopParser(x->ctxt);
    x->stopped = true;
  }
}

/* html_to_text that may stop once the text has stop_at bytes (0: all). */
static char *to_text(const char *html, size_t len, size_t stop_at)
{
  htmlSAXHandler sax;
  struct totext x;

  if(html == NULL)
    len = 0;
  if(len == 0 || !has_markup(html, len))
    return html_collapse_space(html, len);
  memset(&x, 0, sizeof(x));
  x.stop_at = stop_at;
  if(!dbuf_reserve(&x.t.out,
                   stop_at != 0 && stop_at < len ? stop_at + 64 : len))
    return NULL;
  memset(&sax, 0, sizeof(sax));
  sax.startElement = text_start;
  sax.endElement = text_end;
  sax.characters = text_chars;
  sax.ignorableWhitespace = text_chars;
  if(parse_fragment(html, len, &sax, &x, &x.ctxt) < 0)
    dbuf_fail(&x.t.out);
  return dbuf_finish(&x.t.out);
}

char *html_to_text(const char *html, size_t len)
{
  return to_text(html, len, 0);
}

char *html_collapse_space(const char *text, size_t len)
{
  struct text t;

  if(text == NULL)
    len = 0;
  memset(&t, 0, sizeof(t));
  if(!dbuf_reserve(&t.out, len))
    return NULL;
  put_collapsed(&t, text, len);
  return dbuf_finish(&t.out);
}

char *html_escape_text(const char *text, size_t len)
{
  struct dbuf b;

  if(text == NULL)
    len = 0;
  memset(&b, 0, sizeof(b));
  if(!dbuf_reserve(&b, len + len / 8))
    return NULL;
  put_escaped(&b, text, len, C_MARKUP | C_QUOT);
  return dbuf_finish(&b);
}

/* ------------------------------------------------------------------ */
/* Excerpts */

static bool is_cont(char c)
{
  return ((unsigned char)c & 0xc0) == 0x80;
}

/* Length of the trailing character of s[0..end) when an excerpt should
 * not end with it (space, punctuation that leads on), else 0. */
static size_t trailing_trim(const char *s, size_t end)
{
  static const char *const wide[] = {"\u2013", "\u2014", "\u2026"};

  if(end == 0)
    return 0;
  if(strchr(" ,;:.!?-/\\([{&", s[end - 1]) != NULL && s[end - 1] != '\0')
    return 1;
  for(size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++) {
    size_t n = strlen(wide[i]);

    if(end >= n && memcmp(s + end - n, wide[i], n) == 0)
      return n;
  }
  return 0;
}

char *html_excerpt(const char *html, size_t len, size_t max_chars)
{
  static const char ellipsis[] = "\u2026";
  size_t chars = 0, cut = 0, end, n, i;
  char *text, *out;

  /* Text of max_chars + 2 characters is enough to decide the cut, and a
   * character has at most 4 bytes: long entries are not parsed to the
   * end. */
  text = to_text(html, len, max_chars < SIZE_MAX / 8 ? (max_chars + 2) * 4 : 0);
  if(text == NULL)
    return NULL;
  n = strlen(text);
  /* cut: byte offset after max_chars - 1 characters, which leaves room
   * for the ellipsis; chars: characters counted up to max_chars + 1. */
  for(i = 0; i < n && chars <= max_chars; i++) {
    if(!is_cont(text[i])) {
      if(chars + 1 == max_chars)
        cut = i;
      chars++;
    }
  }
  if(chars <= max_chars)
    return text;
  if(max_chars == 0) {
    text[0] = '\0';
    return text;
  }
  /* Prefer the end of the last whole word; a first word longer than the
   * room gets cut inside (at a character boundary). */
  end = cut;
  if(text[cut] != ' ') {
    for(i = cut; i > 0 && text[i - 1] != ' '; i--)
      ;
    if(i > 0)
      end = i - 1;
  }
  i = end;
  while((n = trailing_trim(text, i)) > 0)
    i -= n;
  if(i > 0)
    end = i;
  out = realloc(text, end + sizeof(ellipsis));
  if(out == NULL) {
    free(text);
    return NULL;
  }
  memcpy(out + end, ellipsis, sizeof(ellipsis));
  return out;
}
