/*
 * render_text.c: making stored text publishable. The parser already
 * produces clean UTF-8; this is the last line of defence, so that one bad
 * row (an old database, a parser bug) can never make a published
 * document ill-formed or make jansson refuse a string.
 */
#include "render_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/* Decodes one character at p (n bytes left). Returns its length and sets
 * *cp; returns 0 when p does not start a well-formed sequence. */
static size_t decode(const unsigned char *p, size_t n, uint32_t *cp)
{
  uint32_t c = p[0], min;
  size_t len;

  if(c < 0x80) {
    *cp = c;
    return 1;
  }
  if(c >= 0xc2 && c <= 0xdf) {
    len = 2;
    c &= 0x1f;
    min = 0x80;
  } else if(c >= 0xe0 && c <= 0xef) {
    len = 3;
    c &= 0x0f;
    min = 0x800;
  } else if(c >= 0xf0 && c <= 0xf4) {
    len = 4;
    c &= 0x07;
    min = 0x10000;
  } else {
    return 0;
  }
  if(n < len)
    return 0;
  for(size_t i = 1; i < len; i++) {
    if((p[i] & 0xc0) != 0x80)
      return 0;
    c = (c << 6) | (p[i] & 0x3f);
  }
  if(c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
    return 0;
  *cp = c;
  return len;
}

/* Characters that are dropped even though they are well-formed. */
static bool unwanted(uint32_t c)
{
  if(c < 0x20)
    return c != '\t' && c != '\n' && c != '\r';
  return (c >= 0x7f && c <= 0x9f) || c == 0xfffe || c == 0xffff;
}

bool render_text_is_clean(const char *s)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t n = strlen(s), len;
  uint32_t c;

  while(n > 0) {
    len = decode(p, n, &c);
    if(len == 0 || unwanted(c))
      return false;
    p += len;
    n -= len;
  }
  return true;
}

char *render_text_clean(const char *s)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t n, len;
  uint32_t c;
  char *out, *q;

  if(s == NULL)
    return NULL;
  n = strlen(s);
  if(render_text_is_clean(s))
    return strdup(s);
  /* Each bad byte grows to at most three. */
  if(n > (SIZE_MAX - 1) / 3)
    return NULL;
  out = malloc(n * 3 + 1);
  if(out == NULL)
    return NULL;
  q = out;
  while(n > 0) {
    len = decode(p, n, &c);
    if(len == 0) {
      memcpy(q, REPLACEMENT, 3);
      q += 3;
      len = 1;
    } else if(!unwanted(c)) {
      memcpy(q, p, len);
      q += len;
    }
    p += len;
    n -= len;
  }
  *q = '\0';
  return out;
}
