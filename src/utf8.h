/*
 * utf8.h: writing one code point as UTF-8, for the decoders that turn
 * references and legacy encodings into text (charset.c, html.c,
 * xml_scan.c). Inline: it sits in their inner loops.
 */
#ifndef FRESHET_UTF8_H
#define FRESHET_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Writes cp (at most U+10FFFF) to out, which has room for 4 bytes;
 * returns the number of bytes written (1 to 4). */
static inline size_t utf8_encode(uint32_t cp, char *out)
{
  if(cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if(cp < 0x800) {
    out[0] = (char)(0xc0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if(cp < 0x10000) {
    out[0] = (char)(0xe0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  out[0] = (char)(0xf0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
  out[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

#endif
