/*
 * url.c: URL resolution and scheme checks.
 *
 * Resolution is RFC 3986 through libxml2's xmlBuildURI. Feeds carry URLs
 * that xmlParseURI refuses (spaces, non-ASCII, "[" in paths, stray "%"),
 * so a reference is first cleaned the way browsers read it: surrounding
 * whitespace and control characters trimmed, tab/CR/LF removed, and the
 * bytes that cannot appear in a URI percent-encoded (non-ASCII too, hosts
 * included: browsers read "b%C3%BCcher.de" as the IDN). The "copy of ref"
 * that url_resolve returns without a usable base is cleaned the same way.
 * Dot segments are removed from the result, which xmlBuildURI skips for
 * absolute paths; "//host/x" takes only the base's scheme, without
 * xmlBuildURI, which would decode the host. An absolute reference with
 * nothing to clean and no dot segment, as most are, is copied after one
 * scan.
 *
 * The safety check reads the scheme the way a browser does: leading
 * spaces and control characters skipped, tab/CR/LF ignored, any case.
 */
#include "url.h"

#include <libxml/uri.h>
#include <stdlib.h>
#include <string.h>

#define SCHEME_MAX 16

static bool is_alpha(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
  return c >= '0' && c <= '9';
}

static bool is_hex(unsigned char c)
{
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_scheme_char(unsigned char c)
{
  return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
}

static unsigned char to_lower(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Tab, LF and CR are removed from anywhere in a URL by browsers. */
static bool is_tab_or_newline(unsigned char c)
{
  return c == '\t' || c == '\n' || c == '\r';
}

/* What clean_ref does with a byte: U_ESCAPE for those not allowed
 * anywhere in an RFC 3986 URI reference, U_DROP for tab/CR/LF, U_CHECK
 * for those allowed only in some places. U_DOT marks '.', which clean_ref
 * leaves alone but may start a dot segment. */
enum { U_ESCAPE = 1, U_DROP = 2, U_CHECK = 4, U_DOT = 8 };
#define U_CLEAN (U_ESCAPE | U_DROP | U_CHECK)

static const unsigned char uclass[256] = {
    [0x00 ... 0x08] = U_ESCAPE,
    ['\t'] = U_DROP,
    ['\n'] = U_DROP,
    [0x0b ... 0x0c] = U_ESCAPE,
    ['\r'] = U_DROP,
    [0x0e ... 0x20] = U_ESCAPE,
    ['"'] = U_ESCAPE,
    ['<'] = U_ESCAPE,
    ['>'] = U_ESCAPE,
    ['\\'] = U_ESCAPE,
    ['^'] = U_ESCAPE,
    ['`'] = U_ESCAPE,
    ['{'] = U_ESCAPE,
    ['|'] = U_ESCAPE,
    ['}'] = U_ESCAPE,
    ['.'] = U_DOT,
    ['%'] = U_CHECK,
    ['#'] = U_CHECK,
    ['['] = U_CHECK,
    [']'] = U_CHECK,
    [0x7f ... 0xff] = U_ESCAPE,
};

/* Length of the "//authority" part at s (0 when there is none). */
static size_t authority_len(const char *s, size_t n)
{
  size_t i;

  if(n < 2 || s[0] != '/' || s[1] != '/')
    return 0;
  for(i = 2; i < n; i++) {
    if(s[i] == '/' || s[i] == '?' || s[i] == '#')
      break;
  }
  return i;
}

/* Length of the "scheme:" prefix of s[0..n) (0 when there is none). */
static size_t scheme_len(const char *s, size_t n)
{
  size_t i;

  if(n == 0 || !is_alpha((unsigned char)s[0]))
    return 0;
  for(i = 1; i < n; i++) {
    if(s[i] == ':')
      return i + 1;
    if(!is_scheme_char((unsigned char)s[i]))
      return 0;
  }
  return 0;
}

/* Copies s[0..n) to a new string with tab/CR/LF removed and everything
 * xmlParseURI would refuse percent-encoded: bytes outside printable ASCII,
 * "%" not starting an escape, a second "#", and "[" "]" outside the
 * authority. Returns a malloc'd string or NULL on out of memory. */
static char *clean_ref(const char *s, size_t n)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t i, j, auth_start, auth_end;
  bool in_fragment = false;
  char *out;

  /* Most URLs need nothing. */
  for(i = 0; i < n && (uclass[(unsigned char)s[i]] & U_CLEAN) == 0; i++)
    ;
  if(i == n) {
    out = malloc(n + 1);
    if(out != NULL) {
      memcpy(out, s, n);
      out[n] = '\0';
    }
    return out;
  }
  /* Worst case every byte becomes %XX. */
  out = malloc(n * 3 + 1);
  if(out == NULL)
    return NULL;
  auth_start = scheme_len(s, n);
  auth_end = auth_start + authority_len(s + auth_start, n - auth_start);
  for(i = 0, j = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    bool esc = (uclass[c] & U_ESCAPE) != 0;

    if(uclass[c] & U_DROP)
      continue;
    if(c == '%') {
      esc = i + 2 >= n || !is_hex((unsigned char)s[i + 1]) ||
            !is_hex((unsigned char)s[i + 2]);
    } else if(c == '#') {
      esc = in_fragment;
      in_fragment = true;
    } else if(c == '[' || c == ']') {
      esc = i < auth_start || i >= auth_end;
    }
    if(esc) {
      out[j++] = '%';
      out[j++] = hex[c >> 4];
      out[j++] = hex[c & 15];
    } else {
      out[j++] = (char)c;
    }
  }
  out[j] = '\0';
  return out;
}

/* Removes "." and ".." segments from the path of a hierarchical absolute
 * URL in place (RFC 3986 5.2.4). */
static void remove_dot_segments(char *url)
{
  size_t n = strlen(url);
  size_t start, end, in, out;
  char *p;

  start = scheme_len(url, n);
  if(start == 0)
    return;
  start += authority_len(url + start, n - start);
  end = start + strcspn(url + start, "?#");
  if(end == start || url[start] != '/')
    return;
  p = url + start;
  /* Nothing to do unless a segment is "." or "..". */
  for(in = 0; in < end - start; in++) {
    if(p[in] == '/' && in + 1 < end - start && p[in + 1] == '.')
      break;
  }
  if(in == end - start)
    return;

  /* Output never grows, so it can overwrite the input as it goes. */
  in = 0;
  out = 0;
  while(in < end - start) {
    size_t seg = in + 1, seg_end;

    seg_end = seg;
    while(seg_end < end - start && p[seg_end] != '/')
      seg_end++;
    if(seg_end - seg == 1 && p[seg] == '.') {
      if(seg_end == end - start)
        p[out++] = '/';
    } else if(seg_end - seg == 2 && p[seg] == '.' && p[seg + 1] == '.') {
      while(out > 0 && p[out - 1] != '/')
        out--;
      if(out > 0)
        out--;
      if(seg_end == end - start)
        p[out++] = '/';
    } else {
      memmove(p + out, p + in, seg_end - in);
      out += seg_end - in;
    }
    in = seg_end;
  }
  if(out == 0)
    p[out++] = '/';
  memmove(p + out, url + end, n - end + 1);
}

/* Returns true when the reference s[0..n) is absolute and the full path
 * would return it unchanged: clean_ref finds no byte to touch, and
 * remove_dot_segments has nothing to remove, since every dot segment
 * starts with "/." and there is none anywhere. Most links in feeds are
 * like that. */
static bool is_plain_absolute(const char *s, size_t n)
{
  size_t i = scheme_len(s, n);

  if(i == 0)
    return false;
  /* The scheme itself is plain, and s[i - 1] is its colon. Four bytes at
   * a time: that halves the instructions of this hot loop. */
  for(; i + 4 <= n; i += 4) {
    const unsigned char *b = (const unsigned char *)s + i;
    unsigned k = uclass[b[0]] | uclass[b[1]] | uclass[b[2]] | uclass[b[3]];

    if(k == 0)
      continue;
    if(k != U_DOT)
      return false;
    for(size_t j = i; j < i + 4; j++) {
      if(s[j] == '.' && s[j - 1] == '/')
        return false;
    }
  }
  for(; i < n; i++) {
    unsigned char k = uclass[(unsigned char)s[i]];

    if(k != 0 && (k != U_DOT || s[i - 1] == '/'))
      return false;
  }
  return true;
}

char *url_resolve(const char *base, const char *ref)
{
  const unsigned char *s, *e;
  xmlChar *built;
  char *clean, *out;

  if(ref == NULL)
    return NULL;
  s = (const unsigned char *)ref;
  e = s + strlen(ref);
  while(s < e && *s <= 0x20)
    s++;
  while(e > s && e[-1] <= 0x20)
    e--;
  if(s == e)
    return NULL;
  if(is_plain_absolute((const char *)s, (size_t)(e - s)))
    return strndup((const char *)s, (size_t)(e - s));
  clean = clean_ref((const char *)s, (size_t)(e - s));
  if(clean == NULL)
    return NULL;

  /* Absolute references need no base; relative ones stay as they are
   * when there is no usable base. */
  if(url_is_absolute(clean) || base == NULL || !url_is_absolute(base)) {
    remove_dot_segments(clean);
    return clean;
  }

  /* A network-path reference only takes the base's scheme (RFC 3986
   * 5.2.2); xmlBuildURI would also decode its host. */
  if(clean[0] == '/' && clean[1] == '/') {
    size_t slen = scheme_len(base, strlen(base)), clen = strlen(clean);

    out = malloc(slen + clen + 1);
    if(out != NULL) {
      memcpy(out, base, slen);
      memcpy(out + slen, clean, clen + 1);
      remove_dot_segments(out);
    }
    free(clean);
    return out;
  }

  built = xmlBuildURI((const xmlChar *)clean, (const xmlChar *)base);
  if(built == NULL || !url_is_absolute((const char *)built)) {
    /* xmlBuildURI returns the reference when it cannot parse the base:
     * clean the base too. If that fails as well the reference stays
     * relative, and callers treat it as such. */
    char *cbase = clean_ref(base, strlen(base));

    xmlFree(built);
    if(cbase == NULL) {
      free(clean);
      return NULL;
    }
    built = xmlBuildURI((const xmlChar *)clean, (const xmlChar *)cbase);
    free(cbase);
    if(built == NULL || !url_is_absolute((const char *)built)) {
      xmlFree(built);
      return clean;
    }
  }
  free(clean);
  /* xmlBuildURI writes the host unescaped ("//%3E" gives ">"), so the
   * result is cleaned again; that also moves it from xmlMalloc'd memory
   * to memory the caller can free(). */
  out = clean_ref((const char *)built, strlen((const char *)built));
  xmlFree(built);
  if(out != NULL)
    remove_dot_segments(out);
  return out;
}

bool url_is_absolute(const char *url)
{
  return url != NULL && scheme_len(url, strlen(url)) > 0;
}

/* Reads the scheme of url as a browser would into buf (lower case, without
 * the colon). Returns a pointer just past the colon, or NULL when url has
 * no scheme. */
static const char *read_scheme(const char *url, char buf[SCHEME_MAX + 1])
{
  const unsigned char *p = (const unsigned char *)url;
  size_t n = 0;

  while(*p != '\0' && *p <= 0x20)
    p++;
  for(; *p != '\0'; p++) {
    if(is_tab_or_newline(*p))
      continue;
    if(*p == ':')
      break;
    if(n == 0 ? !is_alpha(*p) : !is_scheme_char(*p))
      return NULL;
    if(n == SCHEME_MAX)
      return NULL;
    buf[n++] = (char)to_lower(*p);
  }
  if(*p != ':' || n == 0)
    return NULL;
  buf[n] = '\0';
  return (const char *)p + 1;
}

/* Returns true when s, ignoring tab/CR/LF, starts with prefix (lower-case
 * ASCII) in any case; *rest receives the position after it. */
static bool skip_prefix(const char *s, const char *prefix, const char **rest)
{
  const unsigned char *p = (const unsigned char *)s;

  while(*prefix != '\0') {
    while(is_tab_or_newline(*p))
      p++;
    if(to_lower(*p) != (unsigned char)*prefix)
      return false;
    p++;
    prefix++;
  }
  *rest = (const char *)p;
  return true;
}

bool url_is_safe(const char *url, bool image)
{
  static const char *const safe[] = {"http", "https", "ftp", "mailto",
                                     "tel",  "news",  NULL};
  char scheme[SCHEME_MAX + 1];
  const char *rest;
  size_t i;

  if(url == NULL)
    return false;
  /* What nearly every link starts with, as read_scheme would read it. */
  if(strncmp(url, "https:", 6) == 0 || strncmp(url, "http:", 5) == 0)
    return true;
  rest = read_scheme(url, scheme);
  if(rest == NULL)
    return false;
  for(i = 0; safe[i] != NULL; i++) {
    if(strcmp(scheme, safe[i]) == 0)
      return true;
  }
  if(!image || strcmp(scheme, "data") != 0)
    return false;
  /* SVG can carry script; raster images cannot. */
  if(!skip_prefix(rest, "image/", &rest))
    return false;
  return !skip_prefix(rest, "svg", &rest);
}
