/*
 * xml_scan.c: the XML tokenizer behind parse_xml.c.
 *
 * Why not libxml2's SAX2 parser, which DESIGN.md prefers: speed, as with
 * html.c. On the benchmark corpus (gen_corpus.py: 1000 feeds, 61.8 MB)
 * libxml2 executed 56% of all the instructions of feed parsing (3.15 of
 * 5.58 billion under callgrind; xmlParseCDSect, xmlCurrentChar, the name
 * dictionary), decoding and checking every character one at a time and
 * copying every attribute. Feeds reach the reader as clean UTF-8 with the
 * DTD removed and bare '&' and '<' escaped (charset.c, xmlfix.c), so none
 * of that is needed: this tokenizer finds markup with memchr, hands text
 * and CDATA over as pointers into the document when there is nothing to
 * decode, and skips text nobody asked for (text_wanted). When it replaced
 * libxml2, the whole parse went from 5.58 to 2.47 billion instructions
 * (the 20 MB big.rss: 1.94 to 0.72), with the same output for every
 * fixture and every corpus feed; later work took it to 1.90 (0.56).
 *
 * What it does: elements, attributes, namespace declarations and prefix
 * resolution (xml: is predeclared), the five predefined entities and
 * numeric character references, CDATA sections, line-end normalization
 * (CR LF and CR become LF) and attribute-value normalization (tab, LF and
 * CR become spaces; references are decoded after that, so "&#10;" stays a
 * line feed). Comments, processing instructions, the XML declaration and
 * any DOCTYPE are skipped. No DTD is read and no entity is declared.
 *
 * Recovery, in the spirit of libxml2's XML_PARSE_RECOVER; each case is
 * reported through the error callback, worded as libxml2 words it where
 * libxml2 has the same case:
 * - An end tag that does not match the innermost open element closes
 *   everything up to the open element it does match; one that matches no
 *   open element is ignored.
 * - '<' that starts no markup, and '&' that starts no known reference,
 *   are text. A character reference to no character (0, a surrogate,
 *   above U+10FFFF) becomes U+FFFD; one to a character XML forbids (C0
 *   controls but tab, LF and CR; DEL; U+FFFE, U+FFFF) is dropped. So what
 *   comes out is valid UTF-8 whenever the input is.
 * - Attributes: unquoted values are taken up to white space or '>'; an
 *   attribute without a value is dropped; of duplicates the first wins; a
 *   '<' inside a quoted value ends the value and the tag.
 * - An undeclared prefix stays on the name with no namespace (the reader
 *   can still go by the usual prefix).
 * - Text before the root element is ignored; anything but comments and
 *   processing instructions after it ends the scan.
 * - A document that ends inside markup or with elements open ends the
 *   scan; elements still open get no end event (the reader closes them).
 *
 * Limits that keep hostile input linear: at most XML_SCAN_MAX_DEPTH open
 * elements (then the scan stops), so an end tag searches at most that
 * many; XML_SCAN_MAX_ATTRS attributes per tag (the rest are dropped), so
 * the duplicate check is bounded; XML_SCAN_MAX_NS namespace declarations
 * in scope (the rest are ignored), so prefix lookup is bounded; a reference is
 * looked for in at most REF_MAX bytes. Line numbers are counted only when an
 * error is reported, and at most XML_SCAN_MAX_ERRORS are. Every other scan
 * moves forward.
 */
#include "xml_scan.h"

#include "buf.h"
#include "utf8.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest reference looked for: "&#x0000010FFFF;" and then some. */
#define REF_MAX 32
/* Bytes of a name quoted in an error message. */
#define QUOTE_MAX 60

#define XML_NS_URI "http://www.w3.org/XML/1998/namespace"

/* An open element: its qualified name is a span of the document. */
struct open_el {
  size_t name; /* offset of the name in the document */
  size_t name_len;
  size_t prefix_len; /* 0 when unprefixed */
  size_t copy;       /* offset of its NUL-terminated copy in scan.names */
  struct xml_ns *ns; /* as its start event saw it, the same at its end */
  size_t start;      /* offset of its '<' */
  size_t ns_mark;    /* bindings in scope before it */
};

struct binding {
  struct xml_ns pub;
  char *prefix;
  size_t prefix_len;
  char *uri;
};

/* An attribute while its tag is read. */
struct raw_attr {
  size_t qname; /* offset in the document, then in scan.tag */
  size_t qname_len;
  size_t prefix_len;
  size_t value; /* offset in scan.tag */
  size_t value_len;
};

struct scan {
  const char *doc;
  size_t len;
  size_t pos;
  const struct xml_scan_handler *h;
  void *ctx;
  bool stop;
  int rc;

  bool root_done; /* the root element has ended */
  int depth;

  size_t nbinds;
  /* 1 + the index of the innermost default namespace declaration, or 0. */
  size_t def;

  /* Line counting on demand: the line at line_pos. */
  size_t line_pos;
  int line;
  int nerrors;

  struct buf text;  /* decoded text */
  struct buf tag;   /* NUL-terminated attribute names and values of one tag */
  struct buf names; /* the open elements' names, split at the prefix */

  /* Not zeroed: each element is written before it is read. Clearing these
   * 40 KB would cost more than scanning a small feed. */
  struct open_el stack[XML_SCAN_MAX_DEPTH];
  /* binds[0] is the predeclared xml: prefix. */
  struct binding binds[XML_SCAN_MAX_NS + 1];
  struct raw_attr raw[XML_SCAN_MAX_ATTRS];
  struct xml_attr attrs[XML_SCAN_MAX_ATTRS];
};

static bool is_space(unsigned char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Name characters: 1 may start a name, 2 only continue one. Every
 * non-ASCII byte counts, so a name never ends inside a character. */
static const unsigned char name_class[256] = {
    ['A' ... 'Z'] = 1,   ['a' ... 'z'] = 1, ['_'] = 1, [':'] = 1,
    [0x80 ... 0xff] = 1, ['0' ... '9'] = 2, ['-'] = 2, ['.'] = 2,
};

static bool is_name_start(unsigned char c)
{
  return name_class[c] == 1;
}

static bool is_name_char(unsigned char c)
{
  return name_class[c] != 0;
}

static size_t count_lines(const char *p, size_t n)
{
  size_t lines = 0;
  const char *end = p + n;

  while(p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));

    if(!nl)
      break;
    lines++;
    p = nl + 1;
  }
  return lines;
}

/* The 1-based line of byte offset pos. */
static int line_at(struct scan *s, size_t pos)
{
  if(pos >= s->line_pos) {
    s->line += (int)count_lines(s->doc + s->line_pos, pos - s->line_pos);
    s->line_pos = pos;
    return s->line;
  }
  return s->line - (int)count_lines(s->doc + pos, s->line_pos - pos);
}

static void fail(struct scan *s, int rc)
{
  s->stop = true;
  if(!s->rc)
    s->rc = rc;
}

/* Reports a problem found at byte offset pos. */
__attribute__((format(printf, 3, 4))) static void
report(struct scan *s, size_t pos, const char *fmt, ...)
{
  char msg[256];
  va_list ap;

  if(!s->h->error || s->nerrors >= XML_SCAN_MAX_ERRORS)
    return;
  s->nerrors++;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  s->h->error(s->ctx, line_at(s, pos), msg);
}

/* How many bytes of a name to quote: at most QUOTE_MAX, whole characters. */
static int quote_len(const char *p, size_t n)
{
  if(n <= QUOTE_MAX)
    return (int)n;
  n = QUOTE_MAX;
  while(n > 0 && ((unsigned char)p[n] & 0xc0) == 0x80)
    n--;
  return (int)n;
}

#define QUOTE(p, n) quote_len((p), (n)), (p)

static size_t name_end(const struct scan *s, size_t i)
{
  while(i < s->len && is_name_char((unsigned char)s->doc[i]))
    i++;
  return i;
}

/* The prefix length of a qualified name: 0 unless a ':' splits it into
 * two non-empty parts. */
static size_t prefix_of(const char *name, size_t len)
{
  const char *colon = memchr(name, ':', len);

  if(!colon || colon == name || colon == name + len - 1)
    return 0;
  return (size_t)(colon - name);
}

/* Decodes the reference at p ('&', n bytes available) into out (room for
 * 4 bytes; *outlen may be 0 when the character is dropped). Returns the
 * bytes it spans, or 0 when p starts no reference (the '&' is text). */
static size_t decode_ref(struct scan *s, size_t at, const char *p, size_t n,
                         char *out, size_t *outlen)
{
  size_t max = n < REF_MAX ? n : REF_MAX;
  const char *semi;
  size_t len;

  /* Escaped HTML is full of these: no need to look for the ';'. */
  if(n >= 4 && p[3] == ';' && p[2] == 't' && (p[1] == 'l' || p[1] == 'g')) {
    out[0] = p[1] == 'l' ? '<' : '>';
    *outlen = 1;
    return 4;
  }
  if(n >= 5 && memcmp(p, "&amp;", 5) == 0) {
    out[0] = '&';
    *outlen = 1;
    return 5;
  }
  semi = memchr(p, ';', max);
  *outlen = 0;
  if(!semi || (p[1] != '#' && !is_name_start((unsigned char)p[1]))) {
    report(s, at, "xmlParseEntityRef: no name");
    return 0;
  }
  len = (size_t)(semi - p) + 1;
  if(len >= 4 && p[1] == '#') {
    bool hex = p[2] == 'x';
    size_t i = hex ? 3 : 2;
    uint32_t c = 0;

    if(i == len - 1)
      goto bad;
    for(; i < len - 1; i++) {
      unsigned char d = (unsigned char)p[i];
      uint32_t v;

      if(d >= '0' && d <= '9')
        v = d - '0';
      else if(hex && d >= 'a' && d <= 'f')
        v = d - 'a' + 10;
      else if(hex && d >= 'A' && d <= 'F')
        v = d - 'A' + 10;
      else
        goto bad;
      c = c * (hex ? 16 : 10) + v;
      if(c > 0x10ffff)
        c = 0x110000; /* stays out of range, cannot overflow */
    }
    if(c == 0 || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff) {
      report(s, at, "xmlParseCharRef: invalid xmlChar value %u", c);
      *outlen = utf8_encode(0xfffd, out);
    } else if((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f ||
              c == 0xfffe || c == 0xffff) {
      report(s, at, "xmlParseCharRef: invalid xmlChar value %u", c);
    } else {
      *outlen = utf8_encode(c, out);
    }
    return len;
  }
  switch(len) {
  case 4:
    if(memcmp(p, "&lt;", 4) == 0)
      out[0] = '<';
    else if(memcmp(p, "&gt;", 4) == 0)
      out[0] = '>';
    else
      goto bad;
    break;
  case 5:
    if(memcmp(p, "&amp;", 5) != 0)
      goto bad;
    out[0] = '&';
    break;
  case 6:
    if(memcmp(p, "&quot;", 6) == 0)
      out[0] = '"';
    else if(memcmp(p, "&apos;", 6) == 0)
      out[0] = '\'';
    else
      goto bad;
    break;
  default:
    goto bad;
  }
  *outlen = 1;
  return len;
bad:
  report(s, at, "Entity '%.*s' not defined", QUOTE(p + 1, len - 2));
  return 0;
}

/* Decodes references in d[0, n), a copy of the document from offset at,
 * in place (the result is never longer), and normalizes line ends: to LF
 * in text, to spaces with tab and LF in attribute values. Returns the new
 * length. */
static size_t decode(struct scan *s, char *d, size_t n, size_t at, bool attr)
{
  size_t r = 0;
  size_t w = 0;

  if(!attr && !memchr(d, '\r', n)) {
    /* The usual text: runs between references move as blocks. */
    while(r < n) {
      const char *amp = memchr(d + r, '&', n - r);
      size_t run = amp ? (size_t)(amp - d) - r : n - r;
      char ch[4];
      size_t k;
      size_t used;

      if(w != r)
        memmove(d + w, d + r, run);
      w += run;
      r += run;
      if(r == n)
        break;
      used = decode_ref(s, at + r, d + r, n - r, ch, &k);
      if(!used) {
        d[w++] = '&';
        r++;
        continue;
      }
      if(k == 1)
        d[w] = ch[0]; /* the usual case, without a call */
      else
        memcpy(d + w, ch, k);
      w += k;
      r += used;
    }
    return w;
  }
  while(r < n) {
    char c = d[r];
    char ch[4];
    size_t k;
    size_t used;

    if(c == '&') {
      used = decode_ref(s, at + r, d + r, n - r, ch, &k);
      if(used) {
        memcpy(d + w, ch, k);
        w += k;
        r += used;
        continue;
      }
    } else if(c == '\r') {
      /* CR LF is one line end. */
      r += r + 1 < n && d[r + 1] == '\n' ? 1 : 0;
      c = attr ? ' ' : '\n';
    } else if(attr && (c == '\t' || c == '\n')) {
      c = ' ';
    }
    d[w++] = c;
    r++;
  }
  return w;
}

static bool want_text(const struct scan *s)
{
  return s->h->text && (!s->h->text_wanted || *s->h->text_wanted);
}

static void emit_text(struct scan *s, const char *p, size_t n)
{
  if(n && s->h->text(s->ctx, p, n) != 0)
    s->stop = true;
}

/* Character data in doc[from, to): handed over as it is when there is
 * nothing to decode (always when raw, as in CDATA but for line ends). */
static void text_span(struct scan *s, size_t from, size_t to, bool raw)
{
  const char *p = s->doc + from;
  size_t n = to - from;

  if(!want_text(s) || n == 0)
    return;
  if(!memchr(p, '\r', n) && (raw || !memchr(p, '&', n))) {
    emit_text(s, p, n);
    return;
  }
  buf_reset(&s->text);
  if(buf_add(&s->text, p, n) != 0) {
    fail(s, -ENOMEM);
    return;
  }
  if(raw) {
    char *d = s->text.data;
    size_t w = 0;

    for(size_t r = 0; r < n; r++) {
      if(d[r] == '\r') {
        if(r + 1 < n && d[r + 1] == '\n')
          continue;
        d[w++] = '\n';
      } else {
        d[w++] = d[r];
      }
    }
    s->text.len = w;
  } else {
    s->text.len = decode(s, s->text.data, n, from, false);
  }
  emit_text(s, s->text.data ? s->text.data : "", s->text.len);
}

/* Text outside the root element: white space is fine, the rest is not. */
static void outside_text(struct scan *s, size_t from, size_t to)
{
  for(size_t i = from; i < to; i++) {
    if(is_space((unsigned char)s->doc[i]))
      continue;
    if(s->root_done) {
      report(s, i, "Extra content at the end of the document");
      s->stop = true;
    } else {
      report(s, i, "Start tag expected, '<' not found; text ignored");
    }
    return;
  }
}

/* Whether b binds the prefix p (len bytes, no NUL among them). */
static bool binds_prefix(const struct binding *b, const char *p, size_t len)
{
  return b->prefix && b->prefix_len == len && memcmp(b->prefix, p, len) == 0;
}

static struct xml_ns *lookup(struct scan *s, const char *prefix, size_t len)
{
  if(!prefix) {
    struct binding *b = s->def ? &s->binds[s->def - 1] : NULL;

    return b && b->uri[0] ? &b->pub : NULL;
  }
  for(size_t i = s->nbinds; i-- > 0;) {
    struct binding *b = &s->binds[i];

    if(binds_prefix(b, prefix, len))
      return b->uri[0] ? &b->pub : NULL;
  }
  return NULL;
}

static void pop_bindings(struct scan *s, size_t mark)
{
  while(s->nbinds > mark) {
    struct binding *b = &s->binds[--s->nbinds];

    free(b->prefix);
    free(b->uri);
    b->prefix = NULL;
    b->uri = NULL;
  }
  /* The innermost default declaration left in scope (rarely searched). */
  while(s->def > s->nbinds || (s->def && s->binds[s->def - 1].prefix))
    s->def--;
}

/* Declares prefix (NULL: the default namespace) as uri for the element
 * being opened. An empty uri undeclares. */
static void declare(struct scan *s, size_t mark, size_t at, const char *prefix,
                    size_t prefix_len, const char *uri, size_t uri_len)
{
  struct binding *b;

  if(s->nbinds > XML_SCAN_MAX_NS) {
    report(s, at, "more than %d namespace declarations in scope; ignored",
           XML_SCAN_MAX_NS);
    return;
  }
  if(prefix && ((prefix_len == 3 && memcmp(prefix, "xml", 3) == 0) ||
                (prefix_len == 5 && memcmp(prefix, "xmlns", 5) == 0))) {
    if(!(prefix_len == 3 && strcmp(uri, XML_NS_URI) == 0))
      report(s, at, "xmlns:%.*s: reserved prefix", (int)prefix_len, prefix);
    return;
  }
  for(size_t i = mark; i < s->nbinds; i++) {
    const struct binding *d = &s->binds[i];

    if(prefix ? binds_prefix(d, prefix, prefix_len) : !d->prefix) {
      if(prefix)
        report(s, at, "xmlns:%.*s redefined", QUOTE(prefix, prefix_len));
      else
        report(s, at, "xmlns redefined");
      return;
    }
  }
  b = &s->binds[s->nbinds];
  b->prefix = prefix ? strndup(prefix, prefix_len) : NULL;
  b->prefix_len = prefix_len;
  b->uri = strndup(uri, uri_len);
  if((prefix && !b->prefix) || !b->uri) {
    free(b->prefix);
    free(b->uri);
    b->prefix = NULL;
    b->uri = NULL;
    fail(s, -ENOMEM);
    return;
  }
  b->pub.prefix = b->prefix;
  b->pub.uri = b->uri;
  b->pub.user = -1;
  s->nbinds++;
  if(!prefix)
    s->def = s->nbinds;
}

/* Copies n bytes and a NUL into b (s->tag or s->names); returns the
 * offset, or SIZE_MAX. */
static size_t put_string(struct scan *s, struct buf *b, const char *p, size_t n)
{
  size_t off = b->len;

  if(buf_add(b, p, n) != 0 || buf_addc(b, '\0') != 0) {
    fail(s, -ENOMEM);
    return SIZE_MAX;
  }
  return off;
}

/* The bytes that end a quoted attribute value or need decoding in it. */
static const unsigned char attr_special[256] = {
    ['"'] = 1,  ['\''] = 1, ['<'] = 1,  ['&'] = 1,
    ['\t'] = 1, ['\n'] = 1, ['\r'] = 1,
};

/* Reads an attribute value starting at its quote (or first byte when
 * unquoted) into s->tag, normalized and decoded. Returns the offset in
 * s->tag and sets *len, or SIZE_MAX when out of memory. */
static size_t attr_value(struct scan *s, size_t *len)
{
  const char *d = s->doc;
  size_t i = s->pos;
  size_t off = s->tag.len;
  char quote = d[i];
  size_t end;

  bool plain = true; /* nothing to decode or normalize */

  if(quote == '"' || quote == '\'') {
    i++;
    end = i;
    for(;;) {
      while(end < s->len && !attr_special[(unsigned char)d[end]])
        end++;
      if(end == s->len || d[end] == quote || d[end] == '<')
        break;
      plain = plain && (d[end] == '"' || d[end] == '\'');
      end++;
    }
    if(end < s->len && d[end] == '<')
      report(s, end, "Unescaped '<' not allowed in attributes values");
    s->pos = end < s->len && d[end] == quote ? end + 1 : end;
  } else {
    report(s, i, "AttValue: \" or ' expected");
    end = i;
    while(end < s->len && !is_space((unsigned char)d[end]) && d[end] != '>' &&
          d[end] != '<')
      end++;
    s->pos = end;
    plain = !memchr(d + i, '&', end - i);
  }
  if(buf_add(&s->tag, d + i, end - i) != 0)
    goto nomem;
  if(end > i && !plain)
    s->tag.len = off + decode(s, s->tag.data + off, end - i, i, true);
  *len = s->tag.len - off;
  if(buf_addc(&s->tag, '\0') != 0)
    goto nomem;
  return off;
nomem:
  fail(s, -ENOMEM);
  return SIZE_MAX;
}

static bool same_name(const struct scan *s, size_t a, size_t alen, size_t b,
                      size_t blen)
{
  return alen == blen && memcmp(s->doc + a, s->doc + b, alen) == 0;
}

/* Calls the end callback for the innermost open element and closes it.
 * Its namespace is the one its start event saw: the bindings declared
 * inside it are gone again. */
static void close_top(struct scan *s)
{
  struct open_el *el = &s->stack[s->depth - 1];

  if(s->h->end) {
    const char *copy = s->names.data + el->copy;
    struct xml_element ev = {.local = copy, .ns = el->ns};

    if(el->prefix_len) {
      ev.prefix = copy;
      ev.local = copy + el->prefix_len + 1;
    }
    if(s->h->end(s->ctx, &ev) != 0)
      s->stop = true;
  }
  s->names.len = el->copy;
  pop_bindings(s, el->ns_mark);
  s->depth--;
  if(s->depth == 0)
    s->root_done = true;
}

/* Resolves the prefixes of the tag just read and calls start (and end for
 * an empty element). */
static void open_element(struct scan *s, size_t lt, size_t name,
                         size_t name_len, size_t nraw, size_t mark, bool empty)
{
  struct xml_element ev = {0};
  size_t prefix_len = prefix_of(s->doc + name, name_len);
  size_t copy;

  if(s->depth == XML_SCAN_MAX_DEPTH) {
    report(s, lt, "Excessive depth in document: %d", XML_SCAN_MAX_DEPTH);
    pop_bindings(s, mark);
    s->stop = true;
    return;
  }
  copy = put_string(s, &s->names, s->doc + name, name_len);
  if(copy == SIZE_MAX)
    return;
  for(size_t i = 0; i < nraw; i++) {
    struct raw_attr *ra = &s->raw[i];
    size_t q = put_string(s, &s->tag, s->doc + ra->qname, ra->qname_len);

    if(q == SIZE_MAX)
      return;
    ra->qname = q; /* now an offset in s->tag */
  }
  /* s->tag and s->names do not move any more: take pointers. */
  if(prefix_len) {
    s->names.data[copy + prefix_len] = '\0';
    ev.prefix = s->names.data + copy;
    ev.local = ev.prefix + prefix_len + 1;
    ev.ns = lookup(s, ev.prefix, prefix_len);
    if(!ev.ns)
      report(s, lt, "Namespace prefix %.*s on %.*s is not defined",
             QUOTE(ev.prefix, prefix_len), QUOTE(ev.local, strlen(ev.local)));
  } else {
    ev.local = s->names.data + copy;
    ev.ns = lookup(s, NULL, 0);
  }
  for(size_t i = 0; i < nraw; i++) {
    struct raw_attr *ra = &s->raw[i];
    struct xml_attr *a = &s->attrs[i];
    char *q = s->tag.data + ra->qname;

    a->value = s->tag.data + ra->value;
    a->value_len = ra->value_len;
    a->prefix = NULL;
    a->ns = NULL;
    a->local = q;
    if(ra->prefix_len) {
      q[ra->prefix_len] = '\0';
      a->prefix = q;
      a->local = q + ra->prefix_len + 1;
      a->ns = lookup(s, q, ra->prefix_len);
      if(!a->ns)
        report(s, lt, "Namespace prefix %.*s for %.*s on %.*s is not defined",
               QUOTE(a->prefix, ra->prefix_len),
               QUOTE(a->local, strlen(a->local)),
               QUOTE(ev.local, strlen(ev.local)));
    }
  }
  ev.attrs = s->attrs;
  ev.nattrs = nraw;
  s->stack[s->depth] = (struct open_el){.name = name,
                                        .name_len = name_len,
                                        .prefix_len = prefix_len,
                                        .copy = copy,
                                        .ns = ev.ns,
                                        .start = lt,
                                        .ns_mark = mark};
  s->depth++;
  if(s->h->start && s->h->start(s->ctx, &ev) != 0) {
    s->stop = true;
    return;
  }
  if(empty)
    close_top(s);
}

/* A start tag; s->pos is at the '<', a name start follows. */
static void start_tag(struct scan *s)
{
  const char *d = s->doc;
  size_t lt = s->pos;
  size_t name = lt + 1;
  size_t name_len = name_end(s, name) - name;
  size_t nraw = 0;
  size_t mark = s->nbinds;
  bool empty = false;
  bool junk = false;
  bool dropped = false;

  buf_reset(&s->tag);
  s->pos = name + name_len;
  if(s->root_done) {
    report(s, lt, "Extra content at the end of the document");
    s->stop = true;
    return;
  }
  for(;;) {
    size_t an;
    size_t an_len;
    size_t voff;
    size_t vlen = 0;

    while(s->pos < s->len && is_space((unsigned char)d[s->pos]))
      s->pos++;
    if(s->pos >= s->len) {
      report(s, s->pos, "Couldn't find end of Start Tag %.*s",
             QUOTE(d + name, name_len));
      pop_bindings(s, mark);
      return;
    }
    if(d[s->pos] == '>') {
      s->pos++;
      break;
    }
    if(d[s->pos] == '/' && s->pos + 1 < s->len && d[s->pos + 1] == '>') {
      s->pos += 2;
      empty = true;
      break;
    }
    if(d[s->pos] == '<') {
      report(s, s->pos, "Couldn't find end of Start Tag %.*s",
             QUOTE(d + name, name_len));
      break;
    }
    if(!is_name_start((unsigned char)d[s->pos])) {
      if(!junk)
        report(s, s->pos, "attributes construct error");
      junk = true;
      s->pos++;
      continue;
    }
    an = s->pos;
    s->pos = name_end(s, an);
    an_len = s->pos - an;
    while(s->pos < s->len && is_space((unsigned char)d[s->pos]))
      s->pos++;
    if(s->pos >= s->len || d[s->pos] != '=') {
      report(s, an, "Specification mandates value for attribute %.*s",
             QUOTE(d + an, an_len));
      continue;
    }
    s->pos++;
    while(s->pos < s->len && is_space((unsigned char)d[s->pos]))
      s->pos++;
    if(s->pos >= s->len)
      continue; /* reported at the top of the loop */
    voff = attr_value(s, &vlen);
    if(voff == SIZE_MAX)
      return;
    if(an_len == 5 && memcmp(d + an, "xmlns", 5) == 0) {
      declare(s, mark, an, NULL, 0, s->tag.data + voff, vlen);
      s->tag.len = voff;
    } else if(an_len > 6 && memcmp(d + an, "xmlns:", 6) == 0) {
      declare(s, mark, an, d + an + 6, an_len - 6, s->tag.data + voff, vlen);
      s->tag.len = voff;
    } else {
      bool dup = false;

      for(size_t i = 0; i < nraw && !dup; i++)
        dup = same_name(s, s->raw[i].qname, s->raw[i].qname_len, an, an_len);
      if(dup || nraw == XML_SCAN_MAX_ATTRS) {
        if(dup)
          report(s, an, "Attribute %.*s redefined", QUOTE(d + an, an_len));
        else if(!dropped)
          report(s, an, "more than %d attributes; the rest ignored",
                 XML_SCAN_MAX_ATTRS);
        dropped = dropped || !dup;
        s->tag.len = voff;
      } else {
        s->raw[nraw++] = (struct raw_attr){
            .qname = an,
            .qname_len = an_len,
            .prefix_len = prefix_of(d + an, an_len),
            .value = voff,
            .value_len = vlen,
        };
      }
    }
    if(s->stop)
      return;
    if(s->pos < s->len && d[s->pos] == '<')
      break; /* the value ended at an unescaped '<' */
  }
  open_element(s, lt, name, name_len, nraw, mark, empty);
}

/* An end tag; s->pos is at "</". */
static void end_tag(struct scan *s)
{
  const char *d = s->doc;
  size_t lt = s->pos;
  size_t name = lt + 2;
  size_t name_len = name_end(s, name) - name;
  int match;

  s->pos = name + name_len;
  while(s->pos < s->len && is_space((unsigned char)d[s->pos]))
    s->pos++;
  if(s->pos < s->len && d[s->pos] == '>') {
    s->pos++;
  } else {
    report(s, s->pos, "expected '>'");
    while(s->pos < s->len && d[s->pos] != '>' && d[s->pos] != '<')
      s->pos++;
    if(s->pos < s->len && d[s->pos] == '>')
      s->pos++;
  }
  for(match = s->depth - 1; match >= 0; match--)
    if(same_name(s, s->stack[match].name, s->stack[match].name_len, name,
                 name_len))
      break;
  if(match < 0) {
    if(s->root_done)
      report(s, lt, "Extra content at the end of the document");
    else
      report(s, lt, "Unexpected end tag : %.*s", QUOTE(d + name, name_len));
    s->stop = s->root_done;
    return;
  }
  if(match != s->depth - 1) {
    const struct open_el *top = &s->stack[s->depth - 1];

    report(s, lt, "Opening and ending tag mismatch: %.*s line %d and %.*s",
           QUOTE(d + top->name, top->name_len), line_at(s, top->start),
           QUOTE(d + name, name_len));
  }
  while(!s->stop && s->depth > match)
    close_top(s);
}

/* Where the terminator term (n bytes) starts at or after from, or NULL.
 * memchr on its first byte, rare in text (']', '-', '?'), beats memmem. */
static const char *find(const struct scan *s, size_t from, const char *term,
                        size_t n)
{
  while(from < s->len && s->len - from >= n) {
    const char *p = memchr(s->doc + from, term[0], s->len - from - n + 1);

    if(!p)
      break;
    if(memcmp(p, term, n) == 0)
      return p;
    from = (size_t)(p - s->doc) + 1;
  }
  return NULL;
}

static bool starts(const struct scan *s, const char *lit, size_t n)
{
  return s->len - s->pos >= n && memcmp(s->doc + s->pos, lit, n) == 0;
}

/* Skips from s->pos past the terminator; false when it never comes. */
static bool skip_past(struct scan *s, size_t from, const char *term, size_t n)
{
  const char *end = find(s, from, term, n);

  if(!end) {
    s->pos = s->len;
    return false;
  }
  s->pos = (size_t)(end - s->doc) + n;
  return true;
}

/* A DOCTYPE (xmlfix.c removes them): skipped with its internal subset. */
static void doctype(struct scan *s)
{
  size_t i = s->pos + 9;
  char quote = 0;
  int bracket = 0;

  report(s, s->pos, "DOCTYPE ignored");
  for(; i < s->len; i++) {
    char c = s->doc[i];

    if(quote) {
      if(c == quote)
        quote = 0;
    } else if(c == '"' || c == '\'') {
      quote = c;
    } else if(c == '[') {
      bracket = 1;
    } else if(c == ']') {
      bracket = 0;
    } else if(c == '>' && !bracket) {
      s->pos = i + 1;
      return;
    }
  }
  s->pos = s->len;
}

/* Markup at s->pos, which is at a '<'. */
static void markup(struct scan *s)
{
  size_t lt = s->pos;
  unsigned char next = lt + 1 < s->len ? (unsigned char)s->doc[lt + 1] : 0;

  if(is_name_start(next)) {
    start_tag(s);
  } else if(next == '/' && lt + 2 < s->len &&
            is_name_start((unsigned char)s->doc[lt + 2])) {
    end_tag(s);
  } else if(starts(s, "<!--", 4)) {
    if(!skip_past(s, lt + 4, "-->", 3))
      report(s, lt, "Comment not terminated");
  } else if(starts(s, "<![CDATA[", 9)) {
    const char *end = find(s, lt + 9, "]]>", 3);
    size_t stop = end ? (size_t)(end - s->doc) : s->len;

    if(!end)
      report(s, lt, "CData section not finished");
    if(s->depth > 0)
      text_span(s, lt + 9, stop, true);
    else
      outside_text(s, lt + 9, stop);
    s->pos = end ? stop + 3 : s->len;
  } else if(next == '?') {
    if(!skip_past(s, lt + 2, "?>", 2))
      report(s, lt, "PI not terminated");
  } else if(starts(s, "<!DOCTYPE", 9)) {
    doctype(s);
  } else {
    /* Not markup: the '<' is text. */
    s->pos = lt + 1;
    if(s->depth == 0 && s->root_done) {
      outside_text(s, lt, lt + 1);
      return;
    }
    report(s, lt, "StartTag: invalid element name");
    if(s->depth > 0)
      text_span(s, lt, lt + 1, true);
  }
}

int xml_scan(const char *doc, size_t len, const struct xml_scan_handler *h,
             void *ctx)
{
  struct scan *s = malloc(sizeof(*s));
  int rc;

  if(!s)
    return -ENOMEM;
  memset(s, 0, offsetof(struct scan, stack));
  s->doc = doc;
  s->len = len;
  s->h = h;
  s->ctx = ctx;
  s->line = 1;
  buf_init(&s->text, len + 16);
  buf_init(&s->tag, 2 * len + 64);
  /* The open elements' names are disjoint spans of the document. */
  buf_init(&s->names, len + XML_SCAN_MAX_DEPTH);
  s->binds[0].pub.prefix = "xml";
  s->binds[0].pub.uri = XML_NS_URI;
  s->binds[0].pub.user = -1;
  s->binds[0].prefix = strdup("xml");
  s->binds[0].prefix_len = 3;
  s->binds[0].uri = strdup(XML_NS_URI);
  if(!s->binds[0].prefix || !s->binds[0].uri)
    fail(s, -ENOMEM);
  else
    s->nbinds = 1;
  while(!s->stop && s->pos < len) {
    /* Markup often follows markup at once: no search then. */
    const char *lt = doc[s->pos] == '<'
                         ? doc + s->pos
                         : memchr(doc + s->pos, '<', len - s->pos);
    size_t to = lt ? (size_t)(lt - doc) : len;

    if(to > s->pos) {
      if(s->depth > 0)
        text_span(s, s->pos, to, false);
      else
        outside_text(s, s->pos, to);
      s->pos = to;
      if(s->stop)
        break;
    }
    if(lt)
      markup(s);
  }
  if(!s->stop && s->depth > 0) {
    const struct open_el *top = &s->stack[s->depth - 1];

    report(s, len, "Premature end of data in tag %.*s line %d",
           QUOTE(doc + top->name, top->name_len), line_at(s, top->start));
  }
  pop_bindings(s, 0);
  buf_free(&s->text);
  buf_free(&s->tag);
  buf_free(&s->names);
  rc = s->rc;
  free(s);
  return rc;
}
