/*
 * html.c: the HTML sanitizer and the HTML -> plain text functions.
 *
 * Both read HTML with the small tokenizer and tree builder below and never
 * build a tree. The sanitizer writes its output straight from their
 * events: elements on the allowlist below are re-serialized with their
 * allowlisted attributes, everything else is unwrapped (children kept),
 * and elements that hold code or never-rendered content are dropped with
 * everything inside them. Every text and attribute value is escaped again
 * on output, so what comes out is exactly what the tokenizer understood: a
 * tokenizer that disagrees with a browser can only turn markup into
 * escaped text, never make live markup of text.
 *
 * Why not libxml2's HTML parser, which DESIGN.md prefers: speed. On the
 * benchmark corpus (gen_corpus.py, 1000 feeds) it took ~55% of all feed
 * parsing time: html_sanitize ran at ~85 MB/s, the HTML parser alone at
 * ~105 MB/s. It decodes every character, interns every name, copies
 * every attribute, and needed a wrapper element (against its implied <p>)
 * and two pre-passes and a depth stop (against its quadratic paths). On
 * the same 30,524 fragments html_sanitize now runs at ~530 MB/s with
 * byte-identical output, and the whole feed parse at ~130 MB/s instead of
 * ~65 MB/s. The HTML 4 entity table below is the one libxml2 has.
 *
 * The tokenizer follows the WHATWG HTML tokenizer where that is cheap:
 * tag and attribute names are lower-cased ASCII, values may be quoted or
 * not, the first of duplicate attributes wins, comments, doctypes, "<?"
 * and "<!" declarations are dropped, "<![CDATA[...]]>" is text, and the
 * content of script, style, xmp, iframe, noembed, noframes, textarea and
 * title runs to the matching end tag (plaintext: to the end). Character
 * references: the HTML 4 names, numeric ones with HTML's Windows-1252
 * remapping, and the common names browsers accept without ';'. NUL bytes
 * are removed. Known simplifications: no script "double escape" states,
 * no HTML5-only entity names, and in the tree builder below no adoption
 * agency (a formatting element's end tag just closes what is open inside
 * it), no foster parenting and no breaking out of svg or math.
 *
 * The tree builder keeps only the elements that matter for the output on
 * its stack: kept (re-serialized) ones, and the one whose dropped subtree
 * is being skipped. Unwrapped elements are never on it, so their end tags
 * close nothing and they bound no scope. It applies browsers' implied end
 * tags (a block closes an open <p>, <li> closes <li>, <dd>/<dt> close each
 * other, table cells and rows close their siblings, <a> closes <a>),
 * ignores table parts outside a table, as browsers do, and ignores end
 * tags that match nothing open. Because the stack holds just what is
 * written out, sanitizing the output again gives the same output (the
 * fuzz target checks that).
 *
 * Decisions worth knowing:
 * - class, id, style, data-* and on* attributes are never kept: they tie
 *   the content to someone else's stylesheet or scripts.
 * - Links get no rel and no target. Without target="_blank" rel=noopener
 *   has nothing to do, and the referrer policy is the publishing site's.
 * - <noscript> is unwrapped, not dropped: readers do not run scripts, and
 *   lazy-loading pages keep the real <img> there.
 * - <html>, <head> and <body> tags are ignored (as browsers do inside a
 *   body); what is inside them is not, and title, meta and the like are
 *   dropped on their own.
 * - An <img> without a usable src or srcset is dropped.
 * - Output is valid UTF-8 that XML accepts: no controls but tab, LF and
 *   CR (form feed becomes a space, the rest and DEL go); invalid sequences
 *   and U+FFFE/U+FFFF become U+FFFD; C1 controls become the Windows-1252
 *   characters that browsers show for them. The plain text functions do
 *   the same.
 * - Limits that keep hostile input linear: kept elements nest at most
 *   SAN_MAX_DEPTH deep (deeper ones are unwrapped, their content kept),
 *   so the stack and every search of it are bounded; a tag keeps at most
 *   MAX_ATTRS of its attributes; a character reference is looked for in
 *   at most REF_NAME_MAX bytes; every other scan moves forward. Output
 *   stops growing after 4 * input + 1 MiB (only closing tags follow), so
 *   a hostile base URL cannot multiply memory use.
 * - Plain text leaves out what the sanitizer drops, and the fallback text
 *   of <audio> and <video>; block elements and <br> separate words.
 * - html_excerpt counts the ellipsis: the result, U+2026 included, is at
 *   most max_chars code points. Before the ellipsis it trims spaces and
 *   punctuation that leads on (, ; : . ! ? - / ( [ { &, en and em dashes,
 *   an ellipsis), unless that would leave nothing.
 */
#include "html.h"

#include "url.h"
#include "utf8.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
  C_SPACE = 1,   /* ASCII whitespace as HTML knows it */
  C_CTRL = 2,    /* C0 controls but tab, LF, CR; and DEL: never written */
  C_MARKUP = 4,  /* & < > */
  C_QUOT = 8,    /* " */
  C_HIGH = 16,   /* start of a non-ASCII character */
  C_TAGEND = 32, /* / > : end a tag or attribute name */
  C_EQ = 64,     /* = : ends an attribute name */
  C_ALNUM = 128, /* ASCII letters and digits */
};

static const unsigned char cclass[256] = {
    [0x00 ... 0x08] = C_CTRL,
    ['\t'] = C_SPACE,
    ['\n'] = C_SPACE,
    [0x0b] = C_CTRL,
    ['\f'] = C_SPACE | C_CTRL,
    ['\r'] = C_SPACE,
    [0x0e ... 0x1f] = C_CTRL,
    [' '] = C_SPACE,
    ['"'] = C_QUOT,
    ['&'] = C_MARKUP,
    ['/'] = C_TAGEND,
    ['0' ... '9'] = C_ALNUM,
    ['<'] = C_MARKUP,
    ['='] = C_EQ,
    ['>'] = C_MARKUP | C_TAGEND,
    ['A' ... 'Z'] = C_ALNUM,
    ['a' ... 'z'] = C_ALNUM,
    [0x7f] = C_CTRL,
    [0x80 ... 0xff] = C_HIGH,
};

static bool is_space(char c)
{
  return (cclass[(unsigned char)c] & C_SPACE) != 0;
}

static bool is_alnum(char c)
{
  return (cclass[(unsigned char)c] & C_ALNUM) != 0;
}

static bool is_alpha(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char to_lower(char c)
{
  return c >= 'A' && c <= 'Z' ? (char)(c | 0x20) : c;
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

  dbuf_add(b, u, utf8_encode(cp, u));
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

/* 16 bytes as one value: GCC's and clang's vector extension, which
 * compiles to SSE2 or NEON. A comparison gives -1 in each byte where it
 * holds; the bytes are signed, so all of 0x80-0xFF are below 0x20. */
typedef signed char bytes16 __attribute__((vector_size(16)));

/* Whether the 16 bytes at s are all printable ASCII, tab, LF or CR other
 * than & < > (and " when quot is true): text put_escaped copies as it is.
 * One test for all of them: a byte at a time was most of the sanitizer's
 * time on long entries. */
static bool plain16(const unsigned char *s, bool quot)
{
  bytes16 v, bad;
  uint64_t half[2];

  memcpy(&v, s, sizeof(v));
  /* controls and non-ASCII, DEL, & < > */
  bad = (v < 0x20) & ~((v == '\t') | (v == '\n') | (v == '\r'));
  bad |= (v == 0x7f) | (v == '&') | (v == '<') | (v == '>');
  if(quot)
    bad |= v == '"';
  memcpy(half, &bad, sizeof(half));
  return (half[0] | half[1]) == 0;
}

/* Appends s[0..n) with the characters in stop (C_MARKUP, C_QUOT) escaped,
 * controls dropped and non-ASCII made valid. */
static void put_escaped(struct dbuf *b, const char *str, size_t n,
                        unsigned stop)
{
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0, run = 0, len;
  bool quot = (stop & C_QUOT) != 0;

  stop |= C_CTRL | C_HIGH;
  while(i < n) {
    unsigned k = 0;
    uint32_t cp;

    /* most text is plain ASCII: skip it 16 bytes at a time, then a byte
     * at a time to what stopped that */
    while(n - i >= 16 && plain16(s + i, quot))
      i += 16;
    while(i < n && (k = cclass[s[i]] & stop) == 0)
      i++;
    if(i == n)
      break;
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

/* Whether put_collapsed's stretch takes all the 16 bytes at s, with s[16]
 * readable: each is printable ASCII other than space, or a space that
 * one of those follows. */
static bool prose16(const unsigned char *s)
{
  bytes16 v, next, ok;
  uint64_t half[2];

  memcpy(&v, s, sizeof(v));
  memcpy(&next, s + 1, sizeof(next));
  ok = (v > 0x20) & (v != 0x7f);
  ok |= (v == ' ') & (next > 0x20) & (next != 0x7f);
  memcpy(half, &ok, sizeof(half));
  return (half[0] & half[1]) == UINT64_MAX;
}

static void put_collapsed(struct text *t, const char *str, size_t n)
{
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;

  while(i < n) {
    size_t run = i, len;
    unsigned k;
    uint32_t cp;

    /* The longest stretch that is copied as it is: single spaces between
     * other characters included, so prose is one copy. A space at its
     * start is not. */
    while(n - i > 16 && (i > run || s[i] != ' ') && prose16(s + i))
      i += 16;
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
/* The allowlist, and what the tree builder knows about elements */

enum {
  EL_KEEP = 1,   /* re-serialized */
  EL_VOID = 2,   /* never has a closing tag */
  EL_DROP = 4,   /* dropped, with its content unless it is void */
  EL_BLOCK = 8,  /* separates words in plain text */
  EL_NOTEXT = 16 /* its content is fallback, not text (media) */
};

/* How the tokenizer and the tree builder treat an element (WHATWG). */
enum {
  T_VOID = 1 << 0,      /* no content, never open */
  T_RAWTEXT = 1 << 1,   /* content is text up to its end tag */
  T_RCDATA = 1 << 2,    /* the same, with character references */
  T_PLAINTEXT = 1 << 3, /* content is text up to the end of the input */
  T_IGNORE = 1 << 4,    /* html, head, body: start and end tags ignored */
  T_CLOSEP = 1 << 5,    /* its start tag closes an open <p> */
  T_SPECIAL = 1 << 6,   /* stops end tags of formatting elements */
  T_ADP = 1 << 7,       /* address, div, p: do not stop <li>, <dd>, <dt> */
  T_SCOPE = 1 << 8,     /* bounds the default scope */
  T_BSCOPE = 1 << 9,    /* bounds button scope too (for <p>) */
  T_LSCOPE = 1 << 10,   /* bounds list item scope too (for <li>) */
  T_TSCOPE = 1 << 11,   /* bounds table scope (table parts) */
  T_HEADING = 1 << 12,  /* h1-h6: any closes any */
  T_DDDT = 1 << 13,     /* dd, dt */
  T_TPART = 1 << 14,    /* only inside a table */
  T_CELL = 1 << 15,     /* td, th */
  T_ROW = 1 << 16,      /* tr */
  T_SECTION = 1 << 17,  /* tbody, thead, tfoot */
  T_CAPTION = 1 << 18,  /* caption, colgroup */
  T_FOREIGN = 1 << 19,  /* svg, math: no raw text inside, "/>" counts */
  T_FORMAT = 1 << 20,   /* formatting: its end tag closes blocks inside */
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

#define T_RAW (T_RAWTEXT | T_RCDATA | T_PLAINTEXT)
#define T_BLOCK (T_CLOSEP | T_SPECIAL)
#define T_TBOX (T_TPART | T_SPECIAL | T_SCOPE) /* caption, td, th */

#define KEEP(a) EL_KEEP, (a)
#define KEEP_BLOCK(a) EL_KEEP | EL_BLOCK, (a)
#define VOID(a) EL_KEEP | EL_VOID, (a)
#define VOID_BLOCK(a) EL_KEEP | EL_VOID | EL_BLOCK, (a)
#define MEDIA(a) EL_KEEP | EL_NOTEXT, (a)
#define BLOCK_UNWRAP EL_BLOCK, 0
#define UNWRAP 0, 0
#define DROP EL_DROP, 0
#define DROP_VOID EL_DROP | EL_VOID, 0

/* Every element either side knows, sorted by name (elem_find relies on
 * the first name of each letter): X(name, tree flags, allowlist flags and
 * allowed A_ bits). Elements not listed are unwrapped inline. */
#define ELEMENTS(X)                                                            \
  X(a, T_FORMAT, KEEP(A_HREF))                                                 \
  X(abbr, 0, KEEP(0))                                                          \
  X(address, T_BLOCK | T_ADP, KEEP_BLOCK(0))                                   \
  X(applet, T_SPECIAL | T_SCOPE, DROP)                                         \
  X(area, T_VOID, UNWRAP)                                                      \
  X(article, T_BLOCK, KEEP_BLOCK(0))                                           \
  X(aside, T_BLOCK, KEEP_BLOCK(0))                                             \
  X(audio, 0, MEDIA(A_SRC | A_CONTROLS | A_LOOP | A_MUTED | A_PRELOAD))        \
  X(b, T_FORMAT, KEEP(0))                                                      \
  X(base, T_VOID, DROP_VOID)                                                   \
  X(basefont, T_VOID, UNWRAP)                                                  \
  X(bdi, 0, KEEP(0))                                                           \
  X(bdo, 0, KEEP(0))                                                           \
  X(bgsound, T_VOID, UNWRAP)                                                   \
  X(blockquote, T_BLOCK, KEEP_BLOCK(A_CITE))                                   \
  X(body, T_IGNORE, BLOCK_UNWRAP)                                              \
  X(br, T_VOID, VOID_BLOCK(0))                                                 \
  X(button, T_SPECIAL | T_BSCOPE, DROP)                                        \
  X(canvas, 0, DROP)                                                           \
  X(caption, T_TBOX | T_CAPTION, KEEP_BLOCK(0))                                \
  X(center, T_BLOCK, BLOCK_UNWRAP)                                             \
  X(cite, 0, KEEP(0))                                                          \
  X(code, T_FORMAT, KEEP(0))                                                   \
  X(col, T_VOID | T_TPART, VOID(A_SPAN))                                       \
  X(colgroup, T_TPART | T_SPECIAL | T_CAPTION, KEEP_BLOCK(A_SPAN))             \
  X(datalist, 0, DROP)                                                         \
  X(dd, T_BLOCK | T_DDDT, KEEP_BLOCK(0))                                       \
  X(del, 0, KEEP(A_CITE | A_DATETIME))                                         \
  X(details, T_BLOCK, KEEP_BLOCK(A_OPEN))                                      \
  X(dfn, 0, KEEP(0))                                                           \
  X(dialog, T_BLOCK, BLOCK_UNWRAP)                                             \
  X(dir, T_BLOCK, BLOCK_UNWRAP)                                                \
  X(div, T_BLOCK | T_ADP, KEEP_BLOCK(0))                                       \
  X(dl, T_BLOCK, KEEP_BLOCK(0))                                                \
  X(dt, T_BLOCK | T_DDDT, KEEP_BLOCK(0))                                       \
  X(em, T_FORMAT, KEEP(0))                                                     \
  X(embed, T_VOID, DROP_VOID)                                                  \
  X(fieldset, T_BLOCK, BLOCK_UNWRAP)                                           \
  X(figcaption, T_BLOCK, KEEP_BLOCK(0))                                        \
  X(figure, T_BLOCK, KEEP_BLOCK(0))                                            \
  X(footer, T_BLOCK, KEEP_BLOCK(0))                                            \
  X(form, T_BLOCK, DROP)                                                       \
  X(frame, T_VOID, DROP_VOID)                                                  \
  X(frameset, T_SPECIAL, DROP)                                                 \
  X(h1, T_BLOCK | T_HEADING, KEEP_BLOCK(0))                                    \
  X(h2, T_BLOCK | T_HEADING, KEEP_BLOCK(0))                                    \
  X(h3, T_BLOCK | T_HEADING, KEEP_BLOCK(0))                                    \
  X(h4, T_BLOCK | T_HEADING, KEEP_BLOCK(0))                                    \
  X(h5, T_BLOCK | T_HEADING, KEEP_BLOCK(0))                                    \
  X(h6, T_BLOCK | T_HEADING, KEEP_BLOCK(0))                                    \
  X(head, T_IGNORE, DROP)                                                      \
  X(header, T_BLOCK, KEEP_BLOCK(0))                                            \
  X(hgroup, T_BLOCK, BLOCK_UNWRAP)                                             \
  X(hr, T_VOID | T_CLOSEP, VOID_BLOCK(0))                                      \
  X(html, T_IGNORE, BLOCK_UNWRAP)                                              \
  X(i, T_FORMAT, KEEP(0))                                                      \
  X(iframe, T_RAWTEXT | T_SPECIAL, DROP)                                       \
  X(img, T_VOID,                                                               \
    VOID(A_SRC | A_SRCSET | A_SIZES | A_ALT | A_WIDTH | A_HEIGHT))             \
  X(input, T_VOID, DROP_VOID)                                                  \
  X(ins, 0, KEEP(A_CITE | A_DATETIME))                                         \
  X(kbd, 0, KEEP(0))                                                           \
  X(keygen, T_VOID, DROP_VOID)                                                 \
  X(legend, 0, BLOCK_UNWRAP)                                                   \
  X(li, T_BLOCK, KEEP_BLOCK(A_VALUE))                                          \
  X(link, T_VOID, DROP_VOID)                                                   \
  X(listing, T_BLOCK, BLOCK_UNWRAP)                                            \
  X(main, T_BLOCK, BLOCK_UNWRAP)                                               \
  X(mark, 0, KEEP(0))                                                          \
  X(math, T_FOREIGN, DROP)                                                     \
  X(menu, T_BLOCK, BLOCK_UNWRAP)                                               \
  X(meta, T_VOID, DROP_VOID)                                                   \
  X(nav, T_BLOCK, BLOCK_UNWRAP)                                                \
  X(noembed, T_RAWTEXT | T_SPECIAL, DROP)                                      \
  X(noframes, T_RAWTEXT | T_SPECIAL, DROP)                                     \
  X(object, T_SPECIAL | T_SCOPE, DROP)                                         \
  X(ol, T_BLOCK | T_LSCOPE, KEEP_BLOCK(A_START | A_REVERSED | A_TYPE))         \
  X(p, T_BLOCK | T_ADP, KEEP_BLOCK(0))                                         \
  X(param, T_VOID, DROP_VOID)                                                  \
  X(picture, 0, KEEP(0))                                                       \
  X(plaintext, T_PLAINTEXT | T_BLOCK, BLOCK_UNWRAP)                            \
  X(pre, T_BLOCK, KEEP_BLOCK(0))                                               \
  X(q, 0, KEEP(A_CITE))                                                        \
  X(rp, 0, KEEP(0))                                                            \
  X(rt, 0, KEEP(0))                                                            \
  X(ruby, 0, KEEP(0))                                                          \
  X(s, T_FORMAT, KEEP(0))                                                      \
  X(samp, 0, KEEP(0))                                                          \
  X(script, T_RAWTEXT | T_SPECIAL, DROP)                                       \
  X(search, T_BLOCK, UNWRAP)                                                   \
  X(section, T_BLOCK, KEEP_BLOCK(0))                                           \
  X(select, T_SPECIAL, DROP)                                                   \
  X(small, T_FORMAT, KEEP(0))                                                  \
  X(source, T_VOID, VOID(A_SRC | A_SRCSET | A_SIZES | A_TYPE | A_MEDIA))       \
  X(span, 0, KEEP(0))                                                          \
  X(strong, T_FORMAT, KEEP(0))                                                 \
  X(style, T_RAWTEXT | T_SPECIAL, DROP)                                        \
  X(sub, 0, KEEP(0))                                                           \
  X(summary, T_BLOCK, KEEP_BLOCK(0))                                           \
  X(sup, 0, KEEP(0))                                                           \
  X(svg, T_FOREIGN, DROP)                                                      \
  X(table, T_BLOCK | T_SCOPE | T_TSCOPE, KEEP_BLOCK(0))                        \
  X(tbody, T_TPART | T_SPECIAL | T_SECTION, KEEP_BLOCK(0))                     \
  X(td, T_TBOX | T_CELL, KEEP_BLOCK(A_COLSPAN | A_ROWSPAN))                    \
  X(template, T_SPECIAL | T_SCOPE | T_TSCOPE, DROP)                            \
  X(textarea, T_RCDATA | T_SPECIAL, DROP)                                      \
  X(tfoot, T_TPART | T_SPECIAL | T_SECTION, KEEP_BLOCK(0))                     \
  X(th, T_TBOX | T_CELL, KEEP_BLOCK(A_COLSPAN | A_ROWSPAN | A_SCOPE))          \
  X(thead, T_TPART | T_SPECIAL | T_SECTION, KEEP_BLOCK(0))                     \
  X(time, 0, KEEP(A_DATETIME))                                                 \
  X(title, T_RCDATA | T_SPECIAL, DROP)                                         \
  X(tr, T_TPART | T_SPECIAL | T_ROW, KEEP_BLOCK(0))                            \
  X(track, T_VOID, VOID(A_SRC | A_KIND | A_SRCLANG | A_LABEL | A_DEFAULT))     \
  X(u, T_FORMAT, KEEP(0))                                                      \
  X(ul, T_BLOCK | T_LSCOPE, KEEP_BLOCK(0))                                     \
  X(var, 0, KEEP(0))                                                           \
  X(video, 0,                                                                  \
    MEDIA(A_SRC | A_CONTROLS | A_LOOP | A_MUTED | A_PRELOAD | A_POSTER |       \
          A_WIDTH | A_HEIGHT))                                                 \
  X(wbr, T_VOID, VOID(0))                                                      \
  X(xmp, T_RAWTEXT | T_BLOCK, BLOCK_UNWRAP)

#define ELEM_ID(name, tree, ...) E_##name,
enum { E_UNKNOWN, ELEMENTS(ELEM_ID) E_COUNT };
#undef ELEM_ID

struct elemdef {
  const char *name;
  unsigned char len;
  unsigned char id;
  unsigned tree;  /* T_ bits */
  unsigned flags; /* EL_ bits */
  unsigned attrs; /* A_ bits allowed besides A_GLOBAL */
};

#define ELEM_DEF(name, tree, ...)                                              \
  {#name, sizeof(#name) - 1, E_##name, (tree), __VA_ARGS__},
static const struct elemdef elems[E_COUNT] = {{"", 0, E_UNKNOWN, 0, 0, 0},
                                              ELEMENTS(ELEM_DEF)};
#undef ELEM_DEF

/* Longest name in elems ("blockquote", "figcaption"). */
#define ELEM_NAME_MAX 10

/* Returns the element named s[0..len) (any case), or elems[E_UNKNOWN]. */
static const struct elemdef *elem_find(const char *s, size_t len)
{
  char low[ELEM_NAME_MAX];
  unsigned lo, hi;

  if(len == 0 || len > ELEM_NAME_MAX)
    return &elems[E_UNKNOWN];
  for(size_t i = 0; i < len; i++)
    low[i] = to_lower(s[i]);
  /* [lo, hi): the names with that first letter; each bound is the first
   * name of its letter in ELEMENTS */
  switch(low[0]) {
  case 'a':
    lo = E_a;
    hi = E_b;
    break;
  case 'b':
    lo = E_b;
    hi = E_canvas;
    break;
  case 'c':
    lo = E_canvas;
    hi = E_datalist;
    break;
  case 'd':
    lo = E_datalist;
    hi = E_em;
    break;
  case 'e':
    lo = E_em;
    hi = E_fieldset;
    break;
  case 'f':
    lo = E_fieldset;
    hi = E_h1;
    break;
  case 'h':
    lo = E_h1;
    hi = E_i;
    break;
  case 'i':
    lo = E_i;
    hi = E_kbd;
    break;
  case 'k':
    lo = E_kbd;
    hi = E_legend;
    break;
  case 'l':
    lo = E_legend;
    hi = E_main;
    break;
  case 'm':
    lo = E_main;
    hi = E_nav;
    break;
  case 'n':
    lo = E_nav;
    hi = E_object;
    break;
  case 'o':
    lo = E_object;
    hi = E_p;
    break;
  case 'p':
    lo = E_p;
    hi = E_q;
    break;
  case 'q':
    lo = E_q;
    hi = E_rp;
    break;
  case 'r':
    lo = E_rp;
    hi = E_s;
    break;
  case 's':
    lo = E_s;
    hi = E_table;
    break;
  case 't':
    lo = E_table;
    hi = E_u;
    break;
  case 'u':
    lo = E_u;
    hi = E_var;
    break;
  case 'v':
    lo = E_var;
    hi = E_wbr;
    break;
  case 'w':
    lo = E_wbr;
    hi = E_xmp;
    break;
  case 'x':
    lo = E_xmp;
    hi = E_COUNT;
    break;
  default:
    return &elems[E_UNKNOWN];
  }
  for(unsigned k = lo; k < hi; k++) {
    if(elems[k].len == len && memcmp(elems[k].name, low, len) == 0)
      return &elems[k];
  }
  return &elems[E_UNKNOWN];
}

#define IS(lit) (len == sizeof(lit) - 1 && memcmp(s, lit, sizeof(lit) - 1) == 0)

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
/* Tokenizer and tree builder */

/* A start tag keeps its first MAX_ATTRS attributes (duplicates count). */
#define MAX_ATTRS 100
/* Open elements at most; kept ones are fewer (SAN_MAX_DEPTH), so this only
 * guards the stack. One more slot holds a skipped subtree's root. */
#define MAX_OPEN 256
/* Longest name of a character reference ("thetasym"). */
#define REF_NAME_MAX 8
/* Longest attribute name on the allowlist ("controls", "datetime"). */
#define ATTR_NAME_MAX 8

/* What a handler's start callback asks for an element. */
enum {
  FR_UNWRAP, /* not opened: its content goes on, its end tag closes nothing */
  FR_KEEP,   /* opened; its end callback is due */
  FR_SKIP    /* opened, and no callbacks until it is closed */
};

/* An attribute of the current start tag that the handler reads: on the
 * allowlist, each name once. */
struct attr {
  const char *name;  /* lower-case, NUL-terminated */
  const char *value; /* decoded, NUL-terminated ("" when there is none) */
  unsigned bit;      /* its A_ bit */
  size_t name_off;   /* while the tag is read: offsets into scratch */
  size_t value_off;
};

struct parser;

struct handler {
  /* A start tag outside a skipped subtree (void ones too); p->attrs holds
   * its attributes when e->flags has a bit of attr_mask. can_open is false
   * when the stack is full: then only FR_UNWRAP or FR_SKIP. */
  int (*start)(struct parser *p, const struct elemdef *e, bool can_open);
  /* An element closed (kind is what start returned), or an end tag that
   * closed nothing (FR_UNWRAP). */
  void (*end)(struct parser *p, const struct elemdef *e, int kind);
  /* Text, decoded; UTF-8 unless the input was not. */
  void (*text)(struct parser *p, const char *s, size_t n);
  unsigned attr_mask;
};

struct frame {
  unsigned char id;
  unsigned char kind;
};

struct parser {
  const struct handler *h;
  void *ud;
  bool stop; /* set by a callback: no more tokens are read */
  bool skip; /* the top frame roots a skipped subtree */
  size_t depth;
  struct frame stack[MAX_OPEN + 1];
  unsigned short count[E_COUNT]; /* open elements by id */
  unsigned short headings;       /* open h1-h6 */
  unsigned short tparts;         /* open table parts */
  size_t ntokens;                /* attributes of the current tag */
  unsigned seen;                 /* their A_ bits */
  size_t nattrs;
  struct attr attrs[32]; /* one per A_ bit at most */
  struct dbuf scratch;   /* names and values of attrs */
};

static void emit_text(struct parser *p, const char *s, size_t n)
{
  if(n > 0 && !p->skip && !p->stop)
    p->h->text(p, s, n);
}

/* Maps a numeric character reference's value to the character HTML
 * reads. */
static uint32_t numeric_char(uint32_t v)
{
  if(v == 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
    return 0xfffd;
  if(v >= 0x80 && v <= 0x9f && cp1252[v - 0x80] != 0)
    return cp1252[v - 0x80];
  return v;
}

/* The HTML 4 named character references (and apos), sorted by name in
 * byte order; the same set libxml2's htmlEntityLookup knows. */
static const struct {
  char name[9];
  uint16_t cp;
} named_refs[] = {
    {"AElig", 0xc6},    {"Aacute", 0xc1},    {"Acirc", 0xc2},
    {"Agrave", 0xc0},   {"Alpha", 0x391},    {"Aring", 0xc5},
    {"Atilde", 0xc3},   {"Auml", 0xc4},      {"Beta", 0x392},
    {"Ccedil", 0xc7},   {"Chi", 0x3a7},      {"Dagger", 0x2021},
    {"Delta", 0x394},   {"ETH", 0xd0},       {"Eacute", 0xc9},
    {"Ecirc", 0xca},    {"Egrave", 0xc8},    {"Epsilon", 0x395},
    {"Eta", 0x397},     {"Euml", 0xcb},      {"Gamma", 0x393},
    {"Iacute", 0xcd},   {"Icirc", 0xce},     {"Igrave", 0xcc},
    {"Iota", 0x399},    {"Iuml", 0xcf},      {"Kappa", 0x39a},
    {"Lambda", 0x39b},  {"Mu", 0x39c},       {"Ntilde", 0xd1},
    {"Nu", 0x39d},      {"OElig", 0x152},    {"Oacute", 0xd3},
    {"Ocirc", 0xd4},    {"Ograve", 0xd2},    {"Omega", 0x3a9},
    {"Omicron", 0x39f}, {"Oslash", 0xd8},    {"Otilde", 0xd5},
    {"Ouml", 0xd6},     {"Phi", 0x3a6},      {"Pi", 0x3a0},
    {"Prime", 0x2033},  {"Psi", 0x3a8},      {"Rho", 0x3a1},
    {"Scaron", 0x160},  {"Sigma", 0x3a3},    {"THORN", 0xde},
    {"Tau", 0x3a4},     {"Theta", 0x398},    {"Uacute", 0xda},
    {"Ucirc", 0xdb},    {"Ugrave", 0xd9},    {"Upsilon", 0x3a5},
    {"Uuml", 0xdc},     {"Xi", 0x39e},       {"Yacute", 0xdd},
    {"Yuml", 0x178},    {"Zeta", 0x396},     {"aacute", 0xe1},
    {"acirc", 0xe2},    {"acute", 0xb4},     {"aelig", 0xe6},
    {"agrave", 0xe0},   {"alefsym", 0x2135}, {"alpha", 0x3b1},
    {"amp", 0x26},      {"and", 0x2227},     {"ang", 0x2220},
    {"apos", 0x27},     {"aring", 0xe5},     {"asymp", 0x2248},
    {"atilde", 0xe3},   {"auml", 0xe4},      {"bdquo", 0x201e},
    {"beta", 0x3b2},    {"brvbar", 0xa6},    {"bull", 0x2022},
    {"cap", 0x2229},    {"ccedil", 0xe7},    {"cedil", 0xb8},
    {"cent", 0xa2},     {"chi", 0x3c7},      {"circ", 0x2c6},
    {"clubs", 0x2663},  {"cong", 0x2245},    {"copy", 0xa9},
    {"crarr", 0x21b5},  {"cup", 0x222a},     {"curren", 0xa4},
    {"dArr", 0x21d3},   {"dagger", 0x2020},  {"darr", 0x2193},
    {"deg", 0xb0},      {"delta", 0x3b4},    {"diams", 0x2666},
    {"divide", 0xf7},   {"eacute", 0xe9},    {"ecirc", 0xea},
    {"egrave", 0xe8},   {"empty", 0x2205},   {"emsp", 0x2003},
    {"ensp", 0x2002},   {"epsilon", 0x3b5},  {"equiv", 0x2261},
    {"eta", 0x3b7},     {"eth", 0xf0},       {"euml", 0xeb},
    {"euro", 0x20ac},   {"exist", 0x2203},   {"fnof", 0x192},
    {"forall", 0x2200}, {"frac12", 0xbd},    {"frac14", 0xbc},
    {"frac34", 0xbe},   {"frasl", 0x2044},   {"gamma", 0x3b3},
    {"ge", 0x2265},     {"gt", 0x3e},        {"hArr", 0x21d4},
    {"harr", 0x2194},   {"hearts", 0x2665},  {"hellip", 0x2026},
    {"iacute", 0xed},   {"icirc", 0xee},     {"iexcl", 0xa1},
    {"igrave", 0xec},   {"image", 0x2111},   {"infin", 0x221e},
    {"int", 0x222b},    {"iota", 0x3b9},     {"iquest", 0xbf},
    {"isin", 0x2208},   {"iuml", 0xef},      {"kappa", 0x3ba},
    {"lArr", 0x21d0},   {"lambda", 0x3bb},   {"lang", 0x2329},
    {"laquo", 0xab},    {"larr", 0x2190},    {"lceil", 0x2308},
    {"ldquo", 0x201c},  {"le", 0x2264},      {"lfloor", 0x230a},
    {"lowast", 0x2217}, {"loz", 0x25ca},     {"lrm", 0x200e},
    {"lsaquo", 0x2039}, {"lsquo", 0x2018},   {"lt", 0x3c},
    {"macr", 0xaf},     {"mdash", 0x2014},   {"micro", 0xb5},
    {"middot", 0xb7},   {"minus", 0x2212},   {"mu", 0x3bc},
    {"nabla", 0x2207},  {"nbsp", 0xa0},      {"ndash", 0x2013},
    {"ne", 0x2260},     {"ni", 0x220b},      {"not", 0xac},
    {"notin", 0x2209},  {"nsub", 0x2284},    {"ntilde", 0xf1},
    {"nu", 0x3bd},      {"oacute", 0xf3},    {"ocirc", 0xf4},
    {"oelig", 0x153},   {"ograve", 0xf2},    {"oline", 0x203e},
    {"omega", 0x3c9},   {"omicron", 0x3bf},  {"oplus", 0x2295},
    {"or", 0x2228},     {"ordf", 0xaa},      {"ordm", 0xba},
    {"oslash", 0xf8},   {"otilde", 0xf5},    {"otimes", 0x2297},
    {"ouml", 0xf6},     {"para", 0xb6},      {"part", 0x2202},
    {"permil", 0x2030}, {"perp", 0x22a5},    {"phi", 0x3c6},
    {"pi", 0x3c0},      {"piv", 0x3d6},      {"plusmn", 0xb1},
    {"pound", 0xa3},    {"prime", 0x2032},   {"prod", 0x220f},
    {"prop", 0x221d},   {"psi", 0x3c8},      {"quot", 0x22},
    {"rArr", 0x21d2},   {"radic", 0x221a},   {"rang", 0x232a},
    {"raquo", 0xbb},    {"rarr", 0x2192},    {"rceil", 0x2309},
    {"rdquo", 0x201d},  {"real", 0x211c},    {"reg", 0xae},
    {"rfloor", 0x230b}, {"rho", 0x3c1},      {"rlm", 0x200f},
    {"rsaquo", 0x203a}, {"rsquo", 0x2019},   {"sbquo", 0x201a},
    {"scaron", 0x161},  {"sdot", 0x22c5},    {"sect", 0xa7},
    {"shy", 0xad},      {"sigma", 0x3c3},    {"sigmaf", 0x3c2},
    {"sim", 0x223c},    {"spades", 0x2660},  {"sub", 0x2282},
    {"sube", 0x2286},   {"sum", 0x2211},     {"sup", 0x2283},
    {"sup1", 0xb9},     {"sup2", 0xb2},      {"sup3", 0xb3},
    {"supe", 0x2287},   {"szlig", 0xdf},     {"tau", 0x3c4},
    {"there4", 0x2234}, {"theta", 0x3b8},    {"thetasym", 0x3d1},
    {"thinsp", 0x2009}, {"thorn", 0xfe},     {"tilde", 0x2dc},
    {"times", 0xd7},    {"trade", 0x2122},   {"uArr", 0x21d1},
    {"uacute", 0xfa},   {"uarr", 0x2191},    {"ucirc", 0xfb},
    {"ugrave", 0xf9},   {"uml", 0xa8},       {"upsih", 0x3d2},
    {"upsilon", 0x3c5}, {"uuml", 0xfc},      {"weierp", 0x2118},
    {"xi", 0x3be},      {"yacute", 0xfd},    {"yen", 0xa5},
    {"yuml", 0xff},     {"zeta", 0x3b6},     {"zwj", 0x200d},
    {"zwnj", 0x200c},
};

/* Returns the character of a named reference, or 0 for an unknown name. */
static uint32_t named_char(const char *name, size_t len)
{
  size_t lo = 0, hi = sizeof(named_refs) / sizeof(named_refs[0]);

  /* the most common ones first */
  switch(len) {
  case 2:
    if(name[0] == 'l' && name[1] == 't')
      return '<';
    if(name[0] == 'g' && name[1] == 't')
      return '>';
    break;
  case 3:
    if(memcmp(name, "amp", 3) == 0)
      return '&';
    break;
  case 4:
    if(memcmp(name, "nbsp", 4) == 0)
      return 0xa0;
    if(memcmp(name, "quot", 4) == 0)
      return '"';
    break;
  default:
    if(len > REF_NAME_MAX)
      return 0;
    break;
  }
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strncmp(named_refs[mid].name, name, len);

    if(c == 0 && named_refs[mid].name[len] != '\0')
      c = 1;
    if(c == 0)
      return named_refs[mid].cp;
    if(c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return 0;
}

/* The references browsers also read without ';' that are worth it. */
static const struct {
  char name[5];
  unsigned char len;
  uint16_t cp;
} legacy_refs[] = {
    {"amp", 3, '&'},   {"lt", 2, '<'},    {"gt", 2, '>'},   {"quot", 4, '"'},
    {"nbsp", 4, 0xa0}, {"copy", 4, 0xa9}, {"reg", 3, 0xae},
};

/* Reads the character reference at s[0] == '&' of s[0..n). Returns the
 * bytes it takes, with its UTF-8 in u[0..*ulen), or 0 when the '&' is
 * just text. In an attribute value a name without ';' followed by a
 * letter, digit or '=' is text (query strings). */
static size_t char_ref(const char *s, size_t n, bool in_attr, char *u,
                       size_t *ulen)
{
  uint32_t cp;
  size_t i = 1, len = 0;

  if(i < n && s[i] == '#') {
    uint32_t v = 0;
    bool hex = false;
    size_t start;

    i++;
    if(i < n && (s[i] | 0x20) == 'x') {
      hex = true;
      i++;
    }
    for(start = i; i < n; i++) {
      char c = s[i], lc = (char)(c | 0x20);
      uint32_t d;

      if(c >= '0' && c <= '9')
        d = (uint32_t)(c - '0');
      else if(hex && lc >= 'a' && lc <= 'f')
        d = (uint32_t)(lc - 'a' + 10);
      else
        break;
      /* past 0x10FFFF the value no longer matters; stop growing it */
      if(v <= 0x10ffff)
        v = v * (hex ? 16 : 10) + d;
    }
    if(i == start)
      return 0;
    if(i < n && s[i] == ';')
      i++;
    *ulen = utf8_encode(numeric_char(v), u);
    return i;
  }
  while(1 + len < n && len <= REF_NAME_MAX && is_alnum(s[1 + len]))
    len++;
  if(len == 0)
    return 0;
  if(len <= REF_NAME_MAX && 1 + len < n && s[1 + len] == ';') {
    cp = named_char(s + 1, len);
    if(cp != 0) {
      *ulen = utf8_encode(cp, u);
      return len + 2;
    }
  }
  for(size_t k = 0; k < sizeof(legacy_refs) / sizeof(legacy_refs[0]); k++) {
    size_t l = legacy_refs[k].len;

    if(len < l || memcmp(s + 1, legacy_refs[k].name, l) != 0)
      continue;
    if(in_attr && 1 + l < n && (is_alnum(s[1 + l]) || s[1 + l] == '='))
      return 0;
    *ulen = utf8_encode(legacy_refs[k].cp, u);
    return 1 + l;
  }
  return 0;
}

/* Text with character references, as the handler's text (or into b when
 * b is not NULL: an attribute value). */
static void decode_text(struct parser *p, struct dbuf *b, const char *s,
                        size_t n)
{
  size_t run = 0, i = 0;

  while(i < n && !p->stop) {
    const char *amp = memchr(s + i, '&', n - i);
    char u[4];
    size_t used, ulen;

    if(amp == NULL)
      break;
    i = (size_t)(amp - s);
    used = char_ref(s + i, n - i, b != NULL, u, &ulen);
    if(used == 0) {
      i++;
      continue;
    }
    if(b != NULL) {
      dbuf_add(b, s + run, i - run);
      dbuf_add(b, u, ulen);
    } else {
      emit_text(p, s + run, i - run);
      emit_text(p, u, ulen);
    }
    i += used;
    run = i;
  }
  if(b != NULL)
    dbuf_add(b, s + run, n - run);
  else
    emit_text(p, s + run, n - run);
}

static void push(struct parser *p, const struct elemdef *e, int kind)
{
  p->stack[p->depth].id = e->id;
  p->stack[p->depth].kind = (unsigned char)kind;
  p->depth++;
  p->count[e->id]++;
  if(e->tree & T_HEADING)
    p->headings++;
  if(e->tree & T_TPART)
    p->tparts++;
  if(kind == FR_SKIP)
    p->skip = true;
}

static void pop(struct parser *p)
{
  struct frame f = p->stack[--p->depth];
  const struct elemdef *e = &elems[f.id];

  p->count[f.id]--;
  if(e->tree & T_HEADING)
    p->headings--;
  if(e->tree & T_TPART)
    p->tparts--;
  /* A skipped subtree's root is always the top frame. */
  if(f.kind == FR_SKIP)
    p->skip = false;
  else
    p->h->end(p, e, f.kind);
}

/* Closes the frame at index i - 1 and everything above it (i == 0: none). */
static void pop_to(struct parser *p, size_t i)
{
  while(i > 0 && p->depth >= i)
    pop(p);
}

static unsigned top_tree(const struct parser *p)
{
  return p->depth > 0 ? elems[p->stack[p->depth - 1].id].tree : 0;
}

/* Returns the index + 1 of the topmost open element that is id or has a
 * T_ bit of match, looking no further down than the first one with a bit
 * of stop; 0 when there is none. */
static size_t find_open(const struct parser *p, unsigned id, unsigned match,
                        unsigned stop)
{
  for(size_t i = p->depth; i > 0; i--) {
    const struct frame *f = &p->stack[i - 1];
    unsigned t = elems[f->id].tree;

    if(f->id == id || (t & match) != 0)
      return i;
    if(t & stop)
      return 0;
  }
  return 0;
}

/* <li>, <dd>, <dt>: close the open one unless a special element other
 * than address, div and p comes first. */
static void close_item(struct parser *p, unsigned id, unsigned match)
{
  for(size_t i = p->depth; i > 0; i--) {
    const struct frame *f = &p->stack[i - 1];
    unsigned t = elems[f->id].tree;

    if(f->id == id || (t & match) != 0) {
      pop_to(p, i);
      return;
    }
    if((t & (T_SPECIAL | T_ADP)) == T_SPECIAL)
      return;
  }
}

/* A table part closes the parts of its table that cannot hold it: the
 * lowest open one with a bit of match above the table. */
static void close_table_parts(struct parser *p, unsigned match)
{
  size_t found = 0;

  if(p->tparts == 0)
    return;
  for(size_t i = p->depth; i > 0; i--) {
    unsigned t = elems[p->stack[i - 1].id].tree;

    if(t & match)
      found = i;
    else if(t & T_TSCOPE)
      break;
  }
  pop_to(p, found);
}

/* A start tag, once its attributes are in p->attrs. */
static void tree_start(struct parser *p, const struct elemdef *e,
                       bool self_closing)
{
  unsigned t = e->tree;
  bool can_open;
  int kind;

  if(p->skip || (t & T_IGNORE))
    return;
  /* implied end tags (WHATWG "in body" and the table modes, simplified) */
  if(t & T_TPART) {
    /* browsers ignore table parts outside a table */
    if(p->count[E_table] == 0)
      return;
    if(t & T_CELL)
      close_table_parts(p, T_CELL);
    else if(e->id == E_tr)
      close_table_parts(p, T_CELL | T_ROW);
    else if(e->id == E_col)
      close_table_parts(p, T_CELL | T_ROW | T_SECTION);
    else
      close_table_parts(p, T_CELL | T_ROW | T_SECTION | T_CAPTION);
  }
  if(e->id == E_li && p->count[E_li] > 0)
    close_item(p, E_li, 0);
  else if((t & T_DDDT) && p->count[E_dd] + p->count[E_dt] > 0)
    close_item(p, E_UNKNOWN, T_DDDT);
  else if(e->id == E_a && p->count[E_a] > 0)
    pop_to(p, find_open(p, E_a, 0, T_SCOPE));
  else if((e->id == E_rp || e->id == E_rt) && p->depth > 0 &&
          (p->stack[p->depth - 1].id == E_rp ||
           p->stack[p->depth - 1].id == E_rt))
    pop(p);
  if((t & T_CLOSEP) && p->count[E_p] > 0)
    pop_to(p, find_open(p, E_p, 0, T_SCOPE | T_BSCOPE));
  if((t & T_HEADING) && (top_tree(p) & T_HEADING))
    pop(p);
  can_open = p->depth < MAX_OPEN;
  kind = p->h->start(p, e, can_open);
  if((t & T_VOID) || kind == FR_UNWRAP || (kind == FR_KEEP && !can_open))
    return;
  /* "<svg/>" is complete: foreign elements honour the slash */
  if((t & T_FOREIGN) && self_closing)
    return;
  push(p, e, kind);
}

/* An end tag. */
static void tree_end(struct parser *p, const struct elemdef *e)
{
  unsigned t = e->tree;
  size_t i = 0;

  if(e->id != E_UNKNOWN && !(t & T_IGNORE)) {
    if(t & T_HEADING) {
      if(p->headings > 0)
        i = find_open(p, E_UNKNOWN, T_HEADING, T_SCOPE);
    } else if(p->count[e->id] > 0) {
      unsigned stop;

      /* formatting elements end where their end tag is (browsers' adoption
       * agency, simplified); other phrasing ones do not close blocks */
      if(t & T_FORMAT)
        stop = T_SCOPE;
      else if(!(t & T_SPECIAL))
        stop = T_SPECIAL;
      else if(t & (T_TPART | T_TSCOPE))
        stop = T_TSCOPE;
      else if(e->id == E_p)
        stop = T_SCOPE | T_BSCOPE;
      else if(e->id == E_li)
        stop = T_SCOPE | T_LSCOPE;
      else
        stop = T_SCOPE;
      i = find_open(p, e->id, 0, stop);
    }
  }
  if(i > 0)
    pop_to(p, i);
  else if(!p->skip)
    p->h->end(p, e, FR_UNWRAP);
}

/* Returns the end of the tag or attribute name that starts at s[i]. */
static size_t name_end(const char *s, size_t n, size_t i, unsigned stop)
{
  while(i < n && (cclass[(unsigned char)s[i]] & stop) == 0)
    i++;
  return i;
}

static size_t skip_space(const char *s, size_t n, size_t i)
{
  while(i < n && is_space(s[i]))
    i++;
  return i;
}

/* Keeps an attribute of the current start tag when the handler reads it. */
static void add_attr(struct parser *p, const char *name, size_t nlen,
                     const char *value, size_t vlen)
{
  char low[ATTR_NAME_MAX];
  struct attr *a;
  unsigned bit;

  if(nlen == 0 || nlen > ATTR_NAME_MAX)
    return;
  for(size_t k = 0; k < nlen; k++)
    low[k] = to_lower(name[k]);
  bit = attr_lookup(low, nlen);
  if(bit == 0 || (p->seen & bit) != 0)
    return;
  p->seen |= bit;
  a = &p->attrs[p->nattrs++];
  a->bit = bit;
  a->name_off = p->scratch.len;
  dbuf_add(&p->scratch, low, nlen);
  dbuf_addc(&p->scratch, '\0');
  a->value_off = p->scratch.len;
  decode_text(p, &p->scratch, value, vlen);
  dbuf_addc(&p->scratch, '\0');
}

/* Reads the attributes of a tag from s[i] through its '>', keeping them
 * in p->attrs when store is true. Returns the position after the '>', or
 * 0 when the input ends first (browsers drop such a tag). */
static size_t read_attributes(struct parser *p, const char *s, size_t n,
                              size_t i, bool store, bool *self_closing)
{
  p->ntokens = 0;
  p->seen = 0;
  p->nattrs = 0;
  if(!p->scratch.failed)
    p->scratch.len = 0;
  *self_closing = false;
  for(;;) {
    size_t ns, ne, vs = 0, ve = 0;

    i = skip_space(s, n, i);
    if(i == n)
      return 0;
    if(s[i] == '>')
      return i + 1;
    if(s[i] == '/') {
      i++;
      if(i < n && s[i] == '>') {
        *self_closing = true;
        return i + 1;
      }
      continue;
    }
    /* a name may start with '=' (WHATWG: a parse error, kept) */
    ns = i;
    ne = name_end(s, n, i + 1, C_SPACE | C_TAGEND | C_EQ);
    i = skip_space(s, n, ne);
    if(i < n && s[i] == '=') {
      i = skip_space(s, n, i + 1);
      if(i == n)
        return 0;
      if(s[i] == '"' || s[i] == '\'') {
        const char *q = memchr(s + i + 1, s[i], n - i - 1);

        if(q == NULL)
          return 0;
        vs = i + 1;
        ve = (size_t)(q - s);
        i = ve + 1;
      } else {
        vs = i;
        while(i < n && s[i] != '>' && !is_space(s[i]))
          i++;
        ve = i;
      }
    }
    if(++p->ntokens <= MAX_ATTRS && store)
      add_attr(p, s + ns, ne - ns, s + vs, ve - vs);
  }
}

/* The content of a raw text element from s[i]: text up to its end tag (or
 * the end). Returns the position of that end tag. */
static size_t raw_text(struct parser *p, const char *s, size_t n, size_t i,
                       const struct elemdef *e)
{
  size_t len = e->len, j = i, end = n;

  if(!(e->tree & T_PLAINTEXT)) {
    for(;;) {
      const char *lt = memchr(s + j, '<', n - j);
      size_t k, m;

      if(lt == NULL)
        break;
      k = (size_t)(lt - s);
      m = k + 2;
      if(m + len < n && s[k + 1] == '/' &&
         (cclass[(unsigned char)s[m + len]] & (C_SPACE | C_TAGEND))) {
        size_t c = 0;

        while(c < len && to_lower(s[m + c]) == e->name[c])
          c++;
        if(c == len) {
          end = k;
          break;
        }
      }
      j = k + 1;
    }
  }
  if(e->tree & T_RCDATA)
    decode_text(p, NULL, s + i, end - i);
  else
    emit_text(p, s + i, end - i);
  return end;
}

/* A start tag whose name starts at s[i]. Returns where to go on. */
static size_t start_tag(struct parser *p, const char *s, size_t n, size_t i)
{
  size_t ne = name_end(s, n, i, C_SPACE | C_TAGEND), end;
  const struct elemdef *e = elem_find(s + i, ne - i);
  bool self_closing, foreign;

  end = read_attributes(p, s, n, ne, !p->skip && (e->flags & p->h->attr_mask),
                        &self_closing);
  if(end == 0)
    return n;
  if(p->scratch.failed) {
    p->stop = true;
    return n;
  }
  for(size_t k = 0; k < p->nattrs; k++) {
    p->attrs[k].name = p->scratch.p + p->attrs[k].name_off;
    p->attrs[k].value = p->scratch.p + p->attrs[k].value_off;
  }
  /* inside svg and math, style and the like hold markup */
  foreign = p->skip && (top_tree(p) & T_FOREIGN);
  tree_start(p, e, self_closing);
  if((e->tree & T_RAW) && !foreign)
    return raw_text(p, s, n, end, e);
  return end;
}

/* An end tag whose name starts at s[i]. Returns where to go on. */
static size_t end_tag(struct parser *p, const char *s, size_t n, size_t i)
{
  size_t ne = name_end(s, n, i, C_SPACE | C_TAGEND), end;
  bool self_closing;

  end = read_attributes(p, s, n, ne, false, &self_closing);
  if(end == 0)
    return n;
  tree_end(p, elem_find(s + i, ne - i));
  return end;
}

/* Returns the position after the '>' that ends a declaration or bogus
 * comment from s[i], or n. */
static size_t skip_to_gt(const char *s, size_t n, size_t i)
{
  const char *gt = i < n ? memchr(s + i, '>', n - i) : NULL;

  return gt != NULL ? (size_t)(gt - s) + 1 : n;
}

/* Returns the position after the comment whose text starts at s[i]:
 * after "-->" or "--!>", at once for "<!-->" and "<!--->", or n. */
static size_t comment_end(const char *s, size_t n, size_t i)
{
  size_t j = i;

  if(i < n && s[i] == '>')
    return i + 1;
  if(i + 1 < n && s[i] == '-' && s[i + 1] == '>')
    return i + 2;
  for(;;) {
    const char *gt = j < n ? memchr(s + j, '>', n - j) : NULL;
    size_t k;

    if(gt == NULL)
      return n;
    k = (size_t)(gt - s);
    if(k >= i + 2 && s[k - 1] == '-' && s[k - 2] == '-')
      return k + 1;
    if(k >= i + 3 && s[k - 1] == '!' && s[k - 2] == '-' && s[k - 3] == '-')
      return k + 1;
    j = k + 1;
  }
}

/* "<![CDATA[" ... "]]>" from s[i] (after the "["): its content is text,
 * up to the end of the input when "]]>" never comes. */
static size_t cdata(struct parser *p, const char *s, size_t n, size_t i)
{
  size_t j = i;

  for(;;) {
    const char *gt = j < n ? memchr(s + j, '>', n - j) : NULL;
    size_t k;

    if(gt == NULL) {
      emit_text(p, s + i, n - i);
      return n;
    }
    k = (size_t)(gt - s);
    if(k >= i + 2 && s[k - 1] == ']' && s[k - 2] == ']') {
      emit_text(p, s + i, k - 2 - i);
      return k + 1;
    }
    j = k + 1;
  }
}

/* Markup at s[lt] == '<' that is not text. Returns where to go on. */
static size_t markup(struct parser *p, const char *s, size_t n, size_t lt)
{
  size_t i = lt + 1;

  if(is_alpha(s[i]))
    return start_tag(p, s, n, i);
  if(s[i] == '/') {
    if(is_alpha(s[i + 1]))
      return end_tag(p, s, n, i + 1);
    if(s[i + 1] == '>')
      return i + 2;
    return skip_to_gt(s, n, i + 1);
  }
  if(s[i] == '!') {
    if(n - i >= 3 && s[i + 1] == '-' && s[i + 2] == '-')
      return comment_end(s, n, i + 3);
    if(n - i >= 8 && memcmp(s + i + 1, "[CDATA[", 7) == 0)
      return cdata(p, s, n, i + 8);
  }
  /* "<!..." and "<?...": bogus comments */
  return skip_to_gt(s, n, i + 1);
}

/* Whether '<' at s[lt] starts markup rather than being text. */
static bool starts_markup(const char *s, size_t n, size_t lt)
{
  char c;

  if(lt + 1 >= n)
    return false;
  c = s[lt + 1];
  if(c == '/')
    return lt + 2 < n; /* "</" at the very end is text */
  return is_alpha(c) || c == '!' || c == '?';
}

/* Reads html[0..len) and calls h's callbacks with ud; everything open is
 * closed at the end. Returns 0, or -ENOMEM. */
static int html_parse(const char *html, size_t len, const struct handler *h,
                      void *ud)
{
  struct parser parser, *p = &parser;
  char *copy = NULL;
  size_t i = 0, text = 0;
  int rc = 0;

  /* HTML ignores NUL bytes (WHATWG: dropped in body text, U+FFFD
   * elsewhere); take them out once, which keeps the tokenizer simple. */
  if(memchr(html, '\0', len) != NULL) {
    size_t j = 0;

    copy = malloc(len);
    if(copy == NULL)
      return -ENOMEM;
    for(size_t k = 0; k < len; k++) {
      if(html[k] != '\0')
        copy[j++] = html[k];
    }
    html = copy;
    len = j;
  }
  /* the stack and attrs need no clearing: a short title is common */
  p->h = h;
  p->ud = ud;
  p->stop = false;
  p->skip = false;
  p->depth = 0;
  memset(p->count, 0, sizeof(p->count));
  p->headings = 0;
  p->tparts = 0;
  p->nattrs = 0;
  memset(&p->scratch, 0, sizeof(p->scratch));
  while(i < len && !p->stop) {
    const char *lt = memchr(html + i, '<', len - i);
    size_t j;

    if(lt == NULL)
      break;
    j = (size_t)(lt - html);
    if(!starts_markup(html, len, j)) {
      i = j + 1;
      continue;
    }
    if(!p->skip)
      decode_text(p, NULL, html + text, j - text);
    i = text = markup(p, html, len, j);
  }
  if(!p->skip && !p->stop)
    decode_text(p, NULL, html + text, len - text);
  while(p->depth > 0)
    pop(p);
  if(p->scratch.failed)
    rc = -ENOMEM;
  free(p->scratch.p);
  free(copy);
  return rc;
}

static bool has_markup(const char *s, size_t len)
{
  return memchr(s, '<', len) != NULL || memchr(s, '&', len) != NULL;
}

/* ------------------------------------------------------------------ */
/* Sanitizer */

struct san {
  struct dbuf out;
  size_t limit; /* no new content once out.len reaches it */
  const char *base;
  bool want_image;
  char *image;
  size_t kept; /* kept elements open */
};

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

/* Appends " " and the descriptors d[0..n) of a srcset candidate the way
 * they read back: without the controls put_escaped leaves out and without
 * space around them; nothing when that leaves nothing. */
static void put_descriptors(struct dbuf *b, const char *d, size_t n)
{
  size_t at = b->len, from;

  dbuf_addc(b, ' ');
  put_escaped(b, d, n, C_MARKUP | C_QUOT);
  if(b->failed)
    return;
  for(from = at + 1; from < b->len && is_space(b->p[from]); from++)
    ;
  while(b->len > from && is_space(b->p[b->len - 1]))
    b->len--;
  if(b->len == from) {
    b->len = at;
    return;
  }
  memmove(b->p + at + 1, b->p + from, b->len - from);
  b->len -= from - (at + 1);
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
    size_t n;

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
    /* a comma at the end of the URL would end the candidate there */
    for(n = strlen(abs); n > 0 && abs[n - 1] == ',';)
      n--;
    put_escaped(&s->out, abs, n, C_MARKUP | C_QUOT);
    for(size_t k = n; abs[k] != '\0'; k++)
      dbuf_add(&s->out, "%2C", 3);
    free(abs);
    if(de > d)
      put_descriptors(&s->out, d, (size_t)(de - d));
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
static bool representative(const struct parser *p, const char *url)
{
  if(strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
    return false;
  for(size_t i = 0; i < p->nattrs; i++) {
    const char *v = p->attrs[i].value;

    if((p->attrs[i].bit & (A_WIDTH | A_HEIGHT)) &&
       (strcmp(v, "0") == 0 || strcmp(v, "1") == 0))
      return false;
  }
  return true;
}

/* Writes the start tag of a kept element with its allowed attributes.
 * Returns false when the element is left out after all (an <img> with
 * nothing to show). */
static bool put_start_tag(struct san *s, const struct parser *p,
                          const struct elemdef *e)
{
  bool img = e->id == E_img;
  bool has_src = false;
  size_t mark = s->out.len;

  dbuf_addc(&s->out, '<');
  dbuf_add(&s->out, e->name, e->len);
  for(size_t i = 0; i < p->nattrs; i++) {
    const struct attr *a = &p->attrs[i];
    unsigned bit = a->bit;

    if(((e->attrs | A_GLOBAL) & bit) == 0)
      continue;
    if(bit & A_BOOLEAN) {
      dbuf_addc(&s->out, ' ');
      dbuf_adds(&s->out, a->name);
    } else if(bit & A_URL) {
      char *url = safe_url(s, a->value, img || bit == A_POSTER);

      if(url == NULL)
        continue;
      put_attr(&s->out, a->name, url);
      if(img && bit == A_SRC) {
        has_src = true;
        if(s->want_image && s->image == NULL && representative(p, url)) {
          s->image = url;
          url = NULL;
        }
      }
      free(url);
    } else if(bit == A_SRCSET) {
      if(put_srcset(s, a->value))
        has_src = true;
    } else {
      put_attr(&s->out, a->name, a->value);
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

static int san_start(struct parser *p, const struct elemdef *e, bool can_open)
{
  struct san *s = p->ud;
  unsigned f = e->flags;

  if((f & (EL_DROP | EL_VOID)) == EL_DROP)
    return FR_SKIP;
  if(!(f & EL_KEEP) || (!(f & EL_VOID) && !can_open) ||
     s->out.len >= s->limit || s->kept >= SAN_MAX_DEPTH)
    return FR_UNWRAP;
  if(!put_start_tag(s, p, e)) {
    if(s->out.failed)
      p->stop = true;
    return FR_UNWRAP;
  }
  if(f & EL_VOID)
    return FR_UNWRAP;
  s->kept++;
  return FR_KEEP;
}

static void san_end(struct parser *p, const struct elemdef *e, int kind)
{
  struct san *s = p->ud;

  if(kind != FR_KEEP)
    return;
  dbuf_add(&s->out, "</", 2);
  dbuf_add(&s->out, e->name, e->len);
  dbuf_addc(&s->out, '>');
  s->kept--;
}

static void san_text(struct parser *p, const char *text, size_t n)
{
  struct san *s = p->ud;

  if(s->out.failed) {
    p->stop = true;
    return;
  }
  if(s->out.len < s->limit)
    put_escaped(&s->out, text, n, C_MARKUP);
}

static const struct handler san_handler = {
    san_start,
    san_end,
    san_text,
    EL_KEEP,
};

char *html_sanitize(const char *html, size_t len, const char *base,
                    char **first_image)
{
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
    if(html_parse(html, len, &san_handler, &s) < 0)
      dbuf_fail(&s.out);
  }
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
  struct text t;
  size_t stop_at; /* stop once the text has this many bytes (0: never) */
  size_t kept;    /* elements open that the sanitizer would keep */
};

static int text_start(struct parser *p, const struct elemdef *e, bool can_open)
{
  struct totext *x = p->ud;
  unsigned f = e->flags;

  if((f & (EL_DROP | EL_VOID)) == EL_DROP || (f & EL_NOTEXT))
    return FR_SKIP;
  if(f & EL_BLOCK)
    x->t.space = true;
  /* the sanitizer's structure, so that end tags close the same things */
  if((f & (EL_KEEP | EL_VOID)) == EL_KEEP && can_open &&
     x->kept < SAN_MAX_DEPTH) {
    x->kept++;
    return FR_KEEP;
  }
  return FR_UNWRAP;
}

static void text_end(struct parser *p, const struct elemdef *e, int kind)
{
  struct totext *x = p->ud;

  if(kind == FR_KEEP)
    x->kept--;
  if(e->flags & EL_BLOCK)
    x->t.space = true;
}

static void text_chars(struct parser *p, const char *s, size_t n)
{
  struct totext *x = p->ud;

  put_collapsed(&x->t, s, n);
  if(x->t.out.failed || (x->stop_at != 0 && x->t.out.len >= x->stop_at))
    p->stop = true;
}

static const struct handler text_handler = {
    text_start,
    text_end,
    text_chars,
    0,
};

/* html_to_text that may stop once the text has stop_at bytes (0: all). */
static char *to_text(const char *html, size_t len, size_t stop_at)
{
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
  if(html_parse(html, len, &text_handler, &x) < 0)
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
