/*
 * fuzz_html.c: libFuzzer target for html_sanitize, html_to_text and
 * html_excerpt. abort() marks a broken promise:
 * - sanitized HTML that is not valid UTF-8 or has a control character
 *   other than tab, LF and CR; a tag outside the allowlist, a "<script"
 *   anywhere; an on*, style, class or id attribute, an unquoted or
 *   unterminated value; a URL attribute that url_is_safe refuses or that
 *   says "javascript:", an unsafe srcset; tags that do not nest, or a
 *   first_image that is not a safe URL;
 * - sanitized HTML that changes when it is sanitized again (the tokenizer
 *   and tree builder must read their own output the way they wrote it);
 * - plain text with controls, NBSP, leading, trailing or double spaces;
 * - an excerpt longer than asked or not valid UTF-8.
 * Text and titles may say "javascript:" (escaped text, not a link), so that
 * check is limited to URL attributes.
 */
#include <libxml/parser.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "url.h"

/* Bigger inputs only make each run slower. */
#define FUZZ_MAX_INPUT 65536
#define MAX_DEPTH 256

static void die(const char *what, const char *out)
{
  fprintf(stderr, "fuzz_html: %s\noutput: %s\n", what, out);
  abort();
}

/* Returns the number of code points of a valid UTF-8 string without C0
 * controls (other than those allowed) and DEL, or -1. */
static long check_utf8(const char *str, bool allow_space_ctrl)
{
  const unsigned char *s = (const unsigned char *)str;
  long n = 0;

  while(*s != '\0') {
    unsigned char c = *s;
    size_t len;
    uint32_t v;

    if(c < 0x80) {
      if(c == 0x7f || (c < 0x20 && !(allow_space_ctrl &&
                                     (c == '\t' || c == '\n' || c == '\r'))))
        return -1;
      s++;
      n++;
      continue;
    }
    if(c < 0xc2 || c > 0xf4)
      return -1;
    len = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    v = c & (0x7f >> len);
    for(size_t i = 1; i < len; i++) {
      if((s[i] & 0xc0) != 0x80)
        return -1;
      v = (v << 6) | (s[i] & 0x3f);
    }
    if((len == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
       (len == 4 && (v < 0x10000 || v > 0x10ffff)) || v == 0xfffe ||
       v == 0xffff || (v >= 0x80 && v <= 0x9f))
      return -1;
    s += len;
    n++;
  }
  return n;
}

static bool name_in(const char *name, size_t len, const char *const *list)
{
  for(; *list != NULL; list++) {
    if(strlen(*list) == len && memcmp(*list, name, len) == 0)
      return true;
  }
  return false;
}

static const char *const kept[] = {
    "a",      "abbr",     "address", "article",    "aside",      "audio",
    "b",      "bdi",      "bdo",     "blockquote", "caption",    "cite",
    "code",   "colgroup", "dd",      "del",        "details",    "dfn",
    "div",    "dl",       "dt",      "em",         "figcaption", "figure",
    "footer", "h1",       "h2",      "h3",         "h4",         "h5",
    "h6",     "header",   "i",       "ins",        "kbd",        "li",
    "mark",   "ol",       "p",       "picture",    "pre",        "q",
    "rp",     "rt",       "ruby",    "s",          "samp",       "section",
    "small",  "span",     "strong",  "sub",        "summary",    "sup",
    "table",  "tbody",    "td",      "tfoot",      "th",         "thead",
    "time",   "tr",       "u",       "ul",         "var",        "video",
    NULL};
static const char *const voids[] = {"br",     "hr",    "img", "wbr",
                                    "source", "track", "col", NULL};

static bool has_ci(const char *s, size_t n, const char *needle)
{
  size_t m = strlen(needle);

  for(size_t i = 0; i + m <= n; i++) {
    size_t j = 0;

    while(j < m && (s[i + j] | 0x20) == needle[j])
      j++;
    if(j == m)
      return true;
  }
  return false;
}

static bool is_url_attr(const char *an, size_t alen)
{
  static const char *const names[] = {"href", "src", "cite", "poster", NULL};

  return name_in(an, alen, names);
}

/* data:image/ is allowed in <img src> and <video poster> only. */
static bool image_context(const char *el, size_t elen, const char *an,
                          size_t alen)
{
  return (alen == 6 && memcmp(an, "poster", 6) == 0) ||
         (elen == 3 && memcmp(el, "img", 3) == 0);
}

/* Every URL in a tag must pass url_is_safe as written (the only escape a
 * URL can carry is &amp;, which changes no scheme). */
static void check_url(const char *out, const char *v, size_t n, bool image)
{
  char *u = malloc(n + 1);

  if(u == NULL)
    abort();
  memcpy(u, v, n);
  u[n] = '\0';
  if(!url_is_safe(u, image))
    die("unsafe URL in a tag", out);
  free(u);
}

/* Reads a srcset as HTML does: a URL, then descriptors up to a comma. */
static void check_srcset(const char *out, const char *v, size_t n)
{
  size_t i = 0;

  while(i < n) {
    size_t start, end;

    while(i < n && (v[i] == ' ' || v[i] == ','))
      i++;
    if(i == n)
      break;
    start = i;
    while(i < n && v[i] != ' ')
      i++;
    end = i;
    if(v[end - 1] == ',') {
      while(end > start && v[end - 1] == ',')
        end--;
    } else {
      while(i < n && v[i] != ',')
        i++;
    }
    if(end > start)
      check_url(out, v + start, end - start, true);
  }
}

/* Checks every tag of the sanitizer's output: only '<' that starts a tag
 * may appear, since text and values are escaped. */
static void check_sanitized(const char *out)
{
  const char *stack[MAX_DEPTH];
  size_t depth = 0;
  const char *p = out;

  if(check_utf8(out, true) < 0)
    die("invalid UTF-8 or control character", out);
  if(has_ci(out, strlen(out), "<script"))
    die("<script", out);
  while((p = strchr(p, '<')) != NULL) {
    const char *end = strchr(p, '>'), *name;
    size_t nlen;
    bool closing = p[1] == '/';

    if(end == NULL)
      die("unterminated tag", out);
    name = p + 1 + closing;
    nlen = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789");
    if(nlen == 0)
      die("bad tag name", out);
    if(closing) {
      if(name[nlen] != '>' || depth == 0 || strlen(stack[depth - 1]) != nlen ||
         memcmp(stack[depth - 1], name, nlen) != 0)
        die("closing tag does not match", out);
      depth--;
      p = end + 1;
      continue;
    }
    if(name_in(name, nlen, voids)) {
      /* no content */
    } else if(name_in(name, nlen, kept)) {
      if(depth == MAX_DEPTH)
        die("nesting too deep", out);
      for(const char *const *k = kept; *k != NULL; k++) {
        if(strlen(*k) == nlen && memcmp(*k, name, nlen) == 0)
          stack[depth++] = *k;
      }
    } else {
      die("tag not on the allowlist", out);
    }
    /* attributes: ' name' or ' name="value"', value without " < > */
    for(p = name + nlen; *p == ' ';) {
      const char *an = ++p;
      size_t alen = strspn(an, "abcdefghijklmnopqrstuvwxyz");

      if(alen == 0)
        die("bad attribute name", out);
      if((alen >= 2 && an[0] == 'o' && an[1] == 'n') ||
         (alen == 5 && memcmp(an, "style", 5) == 0) ||
         (alen == 5 && memcmp(an, "class", 5) == 0) ||
         (alen == 2 && memcmp(an, "id", 2) == 0))
        die("forbidden attribute", out);
      p = an + alen;
      if(*p == '=') {
        const char *v;
        size_t vlen;

        if(p[1] != '"')
          die("unquoted value", out);
        v = p + 2;
        vlen = strcspn(v, "\"<>");
        if(v[vlen] != '"')
          die("unterminated value", out);
        if(is_url_attr(an, alen))
          check_url(out, v, vlen, image_context(name, nlen, an, alen));
        if(alen == 6 && memcmp(an, "srcset", 6) == 0)
          check_srcset(out, v, vlen);
        p = v + vlen + 1;
      }
    }
    if(p != end)
      die("junk in tag", out);
    p = end + 1;
  }
  if(depth != 0)
    die("unclosed element", out);
}

/* Sanitizing the output again must give the output. */
static void check_stable(const char *out, const char *base)
{
  char *again = html_sanitize(out, strlen(out), base, NULL);

  if(again == NULL)
    abort();
  if(strcmp(again, out) != 0) {
    fprintf(stderr, "fuzz_html: sanitized again: %s\n", again);
    die("output not stable", out);
  }
  free(again);
}

static void check_text(const char *t)
{
  size_t n = strlen(t);

  if(check_utf8(t, false) < 0)
    die("text: invalid UTF-8 or control character", t);
  if(n > 0 && (t[0] == ' ' || t[n - 1] == ' '))
    die("text: not trimmed", t);
  if(strstr(t, "  ") != NULL || strstr(t, "\xc2\xa0") != NULL)
    die("text: whitespace not collapsed", t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static bool init;
  char *in, *out, *image = NULL, *text, *ex;
  size_t max;
  long chars;

  if(!init) {
    xmlInitParser();
    init = true;
  }
  if(size > FUZZ_MAX_INPUT)
    return 0;
  in = malloc(size + 1);
  if(in == NULL)
    return 0;
  memcpy(in, data, size);
  in[size] = '\0';

  out = html_sanitize(in, size, "https://example.com/dir/page.html", &image);
  if(out == NULL)
    abort();
  check_sanitized(out);
  check_stable(out, "https://example.com/dir/page.html");
  if(image != NULL) {
    if(!url_is_safe(image, true) || check_utf8(image, false) < 0)
      die("first_image not safe", image);
    if(strpbrk(image, "&\"") == NULL && strstr(out, image) == NULL)
      die("first_image not in the output", image);
  }
  free(image);
  free(out);

  out = html_sanitize(in, size, NULL, NULL);
  if(out == NULL)
    abort();
  check_sanitized(out);
  check_stable(out, NULL);
  free(out);

  text = html_to_text(in, size);
  if(text == NULL)
    abort();
  check_text(text);

  /* The first byte picks the excerpt length, so short ones get tried. */
  max = size > 0 ? data[0] % 64 : 10;
  ex = html_excerpt(in, size, max);
  if(ex == NULL)
    abort();
  chars = check_utf8(ex, false);
  if(chars < 0 || (size_t)chars > max)
    die("excerpt too long or invalid", ex);
  if((size_t)check_utf8(text, false) <= max && strcmp(ex, text) != 0)
    die("excerpt changed a text that fits", ex);
  /* Stopping the parser early must not change the excerpt. */
  if(strpbrk(text, "<&") == NULL) {
    char *again = html_excerpt(text, strlen(text), max);

    if(again == NULL || strcmp(again, ex) != 0)
      die("excerpt differs from the excerpt of the text", ex);
    free(again);
  }
  free(ex);
  free(text);
  free(in);
  return 0;
}
