/*
 * charset.c: raw document bytes -> clean UTF-8.
 *
 * The encoding is chosen the RFC 7303 way: BOM, then the charset parameter
 * of the HTTP Content-Type, then the XML declaration, then UTF-8. Labels
 * resolve as in the WHATWG Encoding Standard, so "latin1", "iso-8859-1" and
 * "us-ascii" all mean windows-1252. UTF-8 (nearly every feed) is checked
 * in one pass, plain ASCII 8 bytes at a time, and handed back as it is when
 * it is clean (charset_decode), else cleaned into a copy from the first
 * byte that needs it; windows-1252 is decoded here too; every other
 * encoding goes through iconv into a small buffer and from there through
 * the same UTF-8 cleaner.
 *
 * Decisions beyond the header's contract:
 * - Bytes that can only be UTF-16 or UTF-32 without a BOM ("<\0?\0",
 *   "\0<\0?", ...) count like a BOM; a label naming UTF-16 or UTF-32 on a
 *   document that is neither is ignored (it was readable as ASCII).
 * - When the HTTP charset and the declaration disagree and one of them is
 *   UTF-8, the bytes decide: a valid UTF-8 document declared UTF-8 stays
 *   UTF-8 under "charset=iso-8859-1" (a common server default), and a
 *   document served as UTF-8 that is not valid UTF-8 is read as declared.
 *   Otherwise the HTTP charset wins, as RFC 7303 says.
 * - DEL is removed along with the C0 controls. C1 controls (U+0080-U+009F)
 *   are in practice windows-1252 text that went through an ISO-8859-1
 *   decoder: they become the windows-1252 character (U+0092 -> U+2019), or
 *   are removed where windows-1252 has none.
 * - Invalid input is replaced per maximal subpart for UTF-8 (WHATWG) and per
 *   code unit for iconv decoders (one byte, or 2 / 4 for UTF-16 / UTF-32).
 */
#include "charset.h"

#include "feed.h"
#include "utf8.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* How far into the document the XML declaration is looked for (junk such as
 * PHP warnings may come first); the same in xmlfix.c. */
#define CHARSET_DECL_WINDOW 16384
/* Room for a label; longer values are never valid labels. */
#define CHARSET_LABEL_MAX 64

enum {
  BAD_INPUT = 1 << 0, /* invalid byte sequences replaced */
  CONTROLS = 1 << 1,  /* forbidden characters removed */
  C1_MAPPED = 1 << 2, /* C1 controls read as windows-1252 */
};

struct encoding {
  const char *name;  /* WHATWG name, for messages */
  const char *iconv; /* glibc name; NULL: decoded here */
  unsigned unit;     /* bytes per code unit: 1, 2 (UTF-16) or 4 (UTF-32) */
};

enum {
  E_UTF8,
  E_1252,
  E_UTF16LE,
  E_UTF16BE,
  E_UTF32LE,
  E_UTF32BE,
  E_IBM866,
  E_8859_2,
  E_8859_3,
  E_8859_4,
  E_8859_5,
  E_8859_6,
  E_8859_7,
  E_8859_8,
  E_8859_10,
  E_8859_13,
  E_8859_14,
  E_8859_15,
  E_8859_16,
  E_KOI8R,
  E_KOI8U,
  E_MAC,
  E_MACCYR,
  E_874,
  E_1250,
  E_1251,
  E_1253,
  E_1254,
  E_1255,
  E_1256,
  E_1257,
  E_1258,
  E_GBK,
  E_GB18030,
  E_BIG5,
  E_EUCJP,
  E_2022JP,
  E_SJIS,
  E_EUCKR,
};

/* WHATWG decoders mapped onto the glibc converters that match them best
 * (GBK decodes as gb18030, Big5 as Big5-HKSCS, Shift_JIS as windows-31j,
 * EUC-KR as windows-949, as the standard specifies). */
static const struct encoding encodings[] = {
    [E_UTF8] = {"UTF-8", NULL, 1},
    [E_1252] = {"windows-1252", NULL, 1},
    [E_UTF16LE] = {"UTF-16LE", "UTF-16LE", 2},
    [E_UTF16BE] = {"UTF-16BE", "UTF-16BE", 2},
    [E_UTF32LE] = {"UTF-32LE", "UTF-32LE", 4},
    [E_UTF32BE] = {"UTF-32BE", "UTF-32BE", 4},
    [E_IBM866] = {"IBM866", "IBM866", 1},
    [E_8859_2] = {"ISO-8859-2", "ISO-8859-2", 1},
    [E_8859_3] = {"ISO-8859-3", "ISO-8859-3", 1},
    [E_8859_4] = {"ISO-8859-4", "ISO-8859-4", 1},
    [E_8859_5] = {"ISO-8859-5", "ISO-8859-5", 1},
    [E_8859_6] = {"ISO-8859-6", "ISO-8859-6", 1},
    [E_8859_7] = {"ISO-8859-7", "ISO-8859-7", 1},
    [E_8859_8] = {"ISO-8859-8", "ISO-8859-8", 1},
    [E_8859_10] = {"ISO-8859-10", "ISO-8859-10", 1},
    [E_8859_13] = {"ISO-8859-13", "ISO-8859-13", 1},
    [E_8859_14] = {"ISO-8859-14", "ISO-8859-14", 1},
    [E_8859_15] = {"ISO-8859-15", "ISO-8859-15", 1},
    [E_8859_16] = {"ISO-8859-16", "ISO-8859-16", 1},
    [E_KOI8R] = {"KOI8-R", "KOI8-R", 1},
    [E_KOI8U] = {"KOI8-U", "KOI8-U", 1},
    [E_MAC] = {"macintosh", "MACINTOSH", 1},
    [E_MACCYR] = {"x-mac-cyrillic", "MAC-CYRILLIC", 1},
    [E_874] = {"windows-874", "WINDOWS-874", 1},
    [E_1250] = {"windows-1250", "CP1250", 1},
    [E_1251] = {"windows-1251", "CP1251", 1},
    [E_1253] = {"windows-1253", "CP1253", 1},
    [E_1254] = {"windows-1254", "CP1254", 1},
    [E_1255] = {"windows-1255", "CP1255", 1},
    [E_1256] = {"windows-1256", "CP1256", 1},
    [E_1257] = {"windows-1257", "CP1257", 1},
    [E_1258] = {"windows-1258", "CP1258", 1},
    [E_GBK] = {"GBK", "GB18030", 1},
    [E_GB18030] = {"gb18030", "GB18030", 1},
    [E_BIG5] = {"Big5", "BIG5-HKSCS", 1},
    [E_EUCJP] = {"EUC-JP", "EUC-JP", 1},
    [E_2022JP] = {"ISO-2022-JP", "ISO-2022-JP", 1},
    [E_SJIS] = {"Shift_JIS", "CP932", 1},
    [E_EUCKR] = {"EUC-KR", "CP949", 1},
};

struct label {
  const char *label;
  unsigned char enc;
};

/* The WHATWG Encoding Standard's labels, plus UTF-32. The "replacement"
 * labels (ISO-2022-KR, HZ, ...) and x-user-defined are left out: such feeds
 * do not occur, and unknown labels read as UTF-8. */
static const struct label labels[] = {
    {"unicode-1-1-utf-8", E_UTF8},
    {"unicode11utf8", E_UTF8},
    {"unicode20utf8", E_UTF8},
    {"utf-8", E_UTF8},
    {"utf8", E_UTF8},
    {"x-unicode20utf8", E_UTF8},
    {"ansi_x3.4-1968", E_1252},
    {"ascii", E_1252},
    {"cp1252", E_1252},
    {"cp819", E_1252},
    {"csisolatin1", E_1252},
    {"ibm819", E_1252},
    {"iso-8859-1", E_1252},
    {"iso-ir-100", E_1252},
    {"iso8859-1", E_1252},
    {"iso88591", E_1252},
    {"iso_8859-1", E_1252},
    {"iso_8859-1:1987", E_1252},
    {"l1", E_1252},
    {"latin1", E_1252},
    {"us-ascii", E_1252},
    {"windows-1252", E_1252},
    {"x-cp1252", E_1252},
    {"csunicode", E_UTF16LE},
    {"iso-10646-ucs-2", E_UTF16LE},
    {"ucs-2", E_UTF16LE},
    {"unicode", E_UTF16LE},
    {"unicodefeff", E_UTF16LE},
    {"utf-16", E_UTF16LE},
    {"utf-16le", E_UTF16LE},
    {"unicodefffe", E_UTF16BE},
    {"utf-16be", E_UTF16BE},
    {"utf-32", E_UTF32LE},
    {"utf-32le", E_UTF32LE},
    {"utf-32be", E_UTF32BE},
    {"866", E_IBM866},
    {"cp866", E_IBM866},
    {"csibm866", E_IBM866},
    {"ibm866", E_IBM866},
    {"csisolatin2", E_8859_2},
    {"iso-8859-2", E_8859_2},
    {"iso-ir-101", E_8859_2},
    {"iso8859-2", E_8859_2},
    {"iso88592", E_8859_2},
    {"iso_8859-2", E_8859_2},
    {"iso_8859-2:1987", E_8859_2},
    {"l2", E_8859_2},
    {"latin2", E_8859_2},
    {"csisolatin3", E_8859_3},
    {"iso-8859-3", E_8859_3},
    {"iso-ir-109", E_8859_3},
    {"iso8859-3", E_8859_3},
    {"iso88593", E_8859_3},
    {"iso_8859-3", E_8859_3},
    {"iso_8859-3:1988", E_8859_3},
    {"l3", E_8859_3},
    {"latin3", E_8859_3},
    {"csisolatin4", E_8859_4},
    {"iso-8859-4", E_8859_4},
    {"iso-ir-110", E_8859_4},
    {"iso8859-4", E_8859_4},
    {"iso88594", E_8859_4},
    {"iso_8859-4", E_8859_4},
    {"iso_8859-4:1988", E_8859_4},
    {"l4", E_8859_4},
    {"latin4", E_8859_4},
    {"csisolatincyrillic", E_8859_5},
    {"cyrillic", E_8859_5},
    {"iso-8859-5", E_8859_5},
    {"iso-ir-144", E_8859_5},
    {"iso8859-5", E_8859_5},
    {"iso88595", E_8859_5},
    {"iso_8859-5", E_8859_5},
    {"iso_8859-5:1988", E_8859_5},
    {"arabic", E_8859_6},
    {"asmo-708", E_8859_6},
    {"csiso88596e", E_8859_6},
    {"csiso88596i", E_8859_6},
    {"csisolatinarabic", E_8859_6},
    {"ecma-114", E_8859_6},
    {"iso-8859-6", E_8859_6},
    {"iso-8859-6-e", E_8859_6},
    {"iso-8859-6-i", E_8859_6},
    {"iso-ir-127", E_8859_6},
    {"iso8859-6", E_8859_6},
    {"iso88596", E_8859_6},
    {"iso_8859-6", E_8859_6},
    {"iso_8859-6:1987", E_8859_6},
    {"csisolatingreek", E_8859_7},
    {"ecma-118", E_8859_7},
    {"elot_928", E_8859_7},
    {"greek", E_8859_7},
    {"greek8", E_8859_7},
    {"iso-8859-7", E_8859_7},
    {"iso-ir-126", E_8859_7},
    {"iso8859-7", E_8859_7},
    {"iso88597", E_8859_7},
    {"iso_8859-7", E_8859_7},
    {"iso_8859-7:1987", E_8859_7},
    {"sun_eu_greek", E_8859_7},
    {"csiso88598e", E_8859_8},
    {"csisolatinhebrew", E_8859_8},
    {"hebrew", E_8859_8},
    {"iso-8859-8", E_8859_8},
    {"iso-8859-8-e", E_8859_8},
    {"iso-ir-138", E_8859_8},
    {"iso8859-8", E_8859_8},
    {"iso88598", E_8859_8},
    {"iso_8859-8", E_8859_8},
    {"iso_8859-8:1988", E_8859_8},
    {"visual", E_8859_8},
    {"csiso88598i", E_8859_8},
    {"iso-8859-8-i", E_8859_8},
    {"logical", E_8859_8},
    {"csisolatin6", E_8859_10},
    {"iso-8859-10", E_8859_10},
    {"iso-ir-157", E_8859_10},
    {"iso8859-10", E_8859_10},
    {"iso885910", E_8859_10},
    {"l6", E_8859_10},
    {"latin6", E_8859_10},
    {"iso-8859-13", E_8859_13},
    {"iso8859-13", E_8859_13},
    {"iso885913", E_8859_13},
    {"iso-8859-14", E_8859_14},
    {"iso8859-14", E_8859_14},
    {"iso885914", E_8859_14},
    {"csisolatin9", E_8859_15},
    {"iso-8859-15", E_8859_15},
    {"iso8859-15", E_8859_15},
    {"iso885915", E_8859_15},
    {"iso_8859-15", E_8859_15},
    {"l9", E_8859_15},
    {"iso-8859-16", E_8859_16},
    {"cskoi8r", E_KOI8R},
    {"koi", E_KOI8R},
    {"koi8", E_KOI8R},
    {"koi8-r", E_KOI8R},
    {"koi8_r", E_KOI8R},
    {"koi8-ru", E_KOI8U},
    {"koi8-u", E_KOI8U},
    {"csmacintosh", E_MAC},
    {"mac", E_MAC},
    {"macintosh", E_MAC},
    {"x-mac-roman", E_MAC},
    {"x-mac-cyrillic", E_MACCYR},
    {"x-mac-ukrainian", E_MACCYR},
    {"dos-874", E_874},
    {"iso-8859-11", E_874},
    {"iso8859-11", E_874},
    {"iso885911", E_874},
    {"tis-620", E_874},
    {"windows-874", E_874},
    {"cp1250", E_1250},
    {"windows-1250", E_1250},
    {"x-cp1250", E_1250},
    {"cp1251", E_1251},
    {"windows-1251", E_1251},
    {"x-cp1251", E_1251},
    {"cp1253", E_1253},
    {"windows-1253", E_1253},
    {"x-cp1253", E_1253},
    {"cp1254", E_1254},
    {"csisolatin5", E_1254},
    {"iso-8859-9", E_1254},
    {"iso-ir-148", E_1254},
    {"iso8859-9", E_1254},
    {"iso88599", E_1254},
    {"iso_8859-9", E_1254},
    {"iso_8859-9:1989", E_1254},
    {"l5", E_1254},
    {"latin5", E_1254},
    {"windows-1254", E_1254},
    {"x-cp1254", E_1254},
    {"cp1255", E_1255},
    {"windows-1255", E_1255},
    {"x-cp1255", E_1255},
    {"cp1256", E_1256},
    {"windows-1256", E_1256},
    {"x-cp1256", E_1256},
    {"cp1257", E_1257},
    {"windows-1257", E_1257},
    {"x-cp1257", E_1257},
    {"cp1258", E_1258},
    {"windows-1258", E_1258},
    {"x-cp1258", E_1258},
    {"chinese", E_GBK},
    {"csgb2312", E_GBK},
    {"csiso58gb231280", E_GBK},
    {"gb2312", E_GBK},
    {"gb_2312", E_GBK},
    {"gb_2312-80", E_GBK},
    {"gbk", E_GBK},
    {"iso-ir-58", E_GBK},
    {"x-gbk", E_GBK},
    {"gb18030", E_GB18030},
    {"big5", E_BIG5},
    {"big5-hkscs", E_BIG5},
    {"cn-big5", E_BIG5},
    {"csbig5", E_BIG5},
    {"x-x-big5", E_BIG5},
    {"cseucpkdfmtjapanese", E_EUCJP},
    {"euc-jp", E_EUCJP},
    {"x-euc-jp", E_EUCJP},
    {"csiso2022jp", E_2022JP},
    {"iso-2022-jp", E_2022JP},
    {"csshiftjis", E_SJIS},
    {"ms932", E_SJIS},
    {"ms_kanji", E_SJIS},
    {"shift-jis", E_SJIS},
    {"shift_jis", E_SJIS},
    {"sjis", E_SJIS},
    {"windows-31j", E_SJIS},
    {"x-sjis", E_SJIS},
    {"cseuckr", E_EUCKR},
    {"csksc56011987", E_EUCKR},
    {"euc-kr", E_EUCKR},
    {"iso-ir-149", E_EUCKR},
    {"korean", E_EUCKR},
    {"ks_c_5601-1987", E_EUCKR},
    {"ks_c_5601-1989", E_EUCKR},
    {"ksc5601", E_EUCKR},
    {"ksc_5601", E_EUCKR},
    {"windows-949", E_EUCKR},
};

/* windows-1252 bytes 0x80-0x9F; 0 where it defines no character. */
static const uint16_t cp1252_c1[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,
    0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,
};

/* The growing output; cap counts the byte kept for the final NUL. */
struct out {
  char *p;
  size_t len;
  size_t cap;
};

/* Makes room for need more bytes after len. Returns 0 or -ENOMEM (the
 * buffer stays as it was). */
static int out_reserve(struct out *b, size_t need)
{
  size_t cap;
  char *p;

  if(b->cap - b->len >= need)
    return 0;
  if(need > SIZE_MAX / 4 - b->len)
    return -ENOMEM;
  cap = b->cap + b->cap / 2;
  if(cap < b->len + need)
    cap = b->len + need;
  p = realloc(b->p, cap);
  if(!p)
    return -ENOMEM;
  b->p = p;
  b->cap = cap;
  return 0;
}

/* Returns the buffer with room for need bytes after its first o, or NULL
 * when out of memory. For the decoders' slow paths. */
static unsigned char *out_room(struct out *b, size_t o, size_t need)
{
  b->len = o;
  if(out_reserve(b, need) < 0)
    return NULL;
  return (unsigned char *)b->p;
}

/* Returns nonzero when c may be copied as it is: printable ASCII, tab, LF
 * or CR. */
static int ascii_ok(unsigned char c)
{
  return (c >= 0x20 && c < 0x7F) || c == '\t' || c == '\n' || c == '\r';
}

/* 16 bytes as one value: GCC's and clang's vector extension, which
 * compiles to SSE2 or NEON. A comparison gives -1 in each byte where it
 * holds; the bytes are signed, so all of 0x80-0xFF are below 0x20. */
typedef signed char bytes16 __attribute__((vector_size(16)));

/* Returns -1 in each of the 16 bytes at s that is ascii_ok, else 0. */
static bytes16 ascii_ok16(const unsigned char *s)
{
  bytes16 v;

  memcpy(&v, s, sizeof(v));
  return ((v >= 0x20) & (v < 0x7F)) | (v == '\t') | (v == '\n') | (v == '\r');
}

/* Returns nonzero when every byte of v is -1. */
static int all_set(bytes16 v)
{
  uint64_t half[2];

  memcpy(half, &v, sizeof(half));
  return (half[0] & half[1]) == UINT64_MAX;
}

/* Returns the length of the run of ascii_ok bytes at the start of s (at
 * most n bytes): 32 bytes at a time as long as it goes on, then 16, then
 * one. */
static size_t ascii_span(const unsigned char *s, size_t n)
{
  size_t i = 0;

  while(n - i >= 32 && all_set(ascii_ok16(s + i) & ascii_ok16(s + i + 16)))
    i += 32;
  while(n - i >= 16 && all_set(ascii_ok16(s + i)))
    i += 16;
  while(i < n && ascii_ok(s[i]))
    i++;
  return i;
}

/* Decodes the UTF-8 sequence at s (s[0] >= 0x80, n >= 1 bytes left) like
 * the WHATWG decoder: returns its length and sets *cp, or returns minus the
 * length of the maximal invalid subpart. */
static int utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
  unsigned char c = s[0];
  unsigned char lo = 0x80, hi = 0xBF;
  uint32_t v;
  int need;

  if(c >= 0xC2 && c <= 0xDF) {
    need = 1;
    v = c & 0x1F;
  } else if(c >= 0xE0 && c <= 0xEF) {
    need = 2;
    v = c & 0x0F;
    if(c == 0xE0)
      lo = 0xA0; /* overlong */
    else if(c == 0xED)
      hi = 0x9F; /* surrogates */
  } else if(c >= 0xF0 && c <= 0xF4) {
    need = 3;
    v = c & 0x07;
    if(c == 0xF0)
      lo = 0x90; /* overlong */
    else if(c == 0xF4)
      hi = 0x8F; /* above U+10FFFF */
  } else {
    return -1;
  }
  for(int k = 1; k <= need; k++) {
    if((size_t)k >= n || s[k] < lo || s[k] > hi)
      return -k;
    v = v << 6 | (s[k] & 0x3F);
    lo = 0x80;
    hi = 0xBF;
  }
  *cp = v;
  return need + 1;
}

/* Returns the length of the clean UTF-8 at the start of s (n bytes): what
 * clean_utf8 keeps as it is, which is all of s for nearly every document. */
static size_t clean_span(const unsigned char *s, size_t n)
{
  size_t i = 0;

  while(i < n) {
    uint32_t cp;
    int len;

    i += ascii_span(s + i, n - i);
    if(i == n || s[i] < 0x80) /* the end, or a control */
      break;
    /* Well-formed 2- and 3-byte sequences that need no other check (most
     * non-Latin text) are taken at once. */
    if(s[i] >= 0xC3 && s[i] <= 0xDF && n - i >= 2 &&
       (s[i + 1] & 0xC0) == 0x80) {
      i += 2;
      continue;
    }
    if((s[i] & 0xF0) == 0xE0 && n - i >= 3 && (s[i + 1] & 0xC0) == 0x80 &&
       (s[i + 2] & 0xC0) == 0x80 && (s[i] != 0xE0 || s[i + 1] >= 0xA0) &&
       (s[i] != 0xED || s[i + 1] < 0xA0) &&
       (s[i] != 0xEF || s[i + 1] != 0xBF || s[i + 2] < 0xBE)) {
      i += 3;
      continue;
    }
    len = utf8_seq(s + i, n - i, &cp);
    if(len < 0 || (cp >= 0x80 && cp <= 0x9F) || cp == 0xFFFE || cp == 0xFFFF)
      break;
    i += (size_t)len;
  }
  return i;
}

/* Appends s, UTF-8 of unknown quality, to b: invalid sequences become
 * U+FFFD, forbidden characters go, C1 controls are read as windows-1252.
 * Sets bits of *flags for what it did. Returns 0 or -ENOMEM. */
static int clean_utf8(struct out *b, const unsigned char *s, size_t n,
                      unsigned *flags)
{
  size_t i = 0;

  /* Room for all of s at once: only replacements grow it. */
  if(out_reserve(b, n + 1) < 0)
    return -ENOMEM;
  while(i < n) {
    size_t run = clean_span(s + i, n - i);
    uint32_t cp;
    int len;

    if(out_reserve(b, run + 1) < 0)
      return -ENOMEM;
    memcpy(b->p + b->len, s + i, run);
    b->len += run;
    i += run;
    if(i == n)
      break;
    if(s[i] < 0x80) {
      *flags |= CONTROLS;
      i++;
      continue;
    }
    /* Room for a replacement: a 3-byte character and the NUL. */
    if(out_reserve(b, 3 + 1) < 0)
      return -ENOMEM;
    len = utf8_seq(s + i, n - i, &cp);
    if(len < 0) {
      i += (size_t)-len;
      *flags |= BAD_INPUT;
      memcpy(b->p + b->len, "\xEF\xBF\xBD", 3);
      b->len += 3;
      continue;
    }
    i += (size_t)len;
    /* clean_span stopped at a C1 control, U+FFFE or U+FFFF */
    if(cp >= 0x80 && cp <= 0x9F && cp1252_c1[cp - 0x80]) {
      *flags |= C1_MAPPED;
      b->len += utf8_encode(cp1252_c1[cp - 0x80], b->p + b->len);
    } else {
      *flags |= CONTROLS;
    }
  }
  return 0;
}

/* Appends s, windows-1252, to b as clean UTF-8. Returns 0 or -ENOMEM. */
static int decode_1252(struct out *b, const unsigned char *s, size_t n,
                       unsigned *flags)
{
  unsigned char *d;
  size_t i = 0, o;

  if(out_reserve(b, n + 1) < 0)
    return -ENOMEM;
  d = (unsigned char *)b->p;
  o = b->len;
  while(i < n) {
    size_t run = ascii_span(s + i, n - i);
    uint32_t cp;

    memcpy(d + o, s + i, run);
    i += run;
    o += run;
    if(i == n)
      break;
    cp = s[i++];
    if(cp < 0x80) { /* ascii_span stopped at a control */
      *flags |= CONTROLS;
      continue;
    }
    if(cp < 0xA0) {
      cp = cp1252_c1[cp - 0x80];
      if(!cp) {
        *flags |= CONTROLS;
        continue;
      }
    }
    if(b->cap - o < 3 + n - i + 1) {
      d = out_room(b, o, 3 + n - i + 1);
      if(!d)
        return -ENOMEM;
    }
    o += utf8_encode(cp, (char *)d + o);
  }
  b->len = o;
  return 0;
}

/* Appends s, in the encoding cd converts from, to b as clean UTF-8. An
 * invalid code unit of unit bytes becomes U+FFFD. Returns 0 or -ENOMEM. */
static int decode_iconv(struct out *b, iconv_t cd, unsigned unit,
                        const unsigned char *s, size_t n, unsigned *flags)
{
  char chunk[8192];
  char *in = (char *)s;
  size_t inleft = n;
  int rc;

  /* A guess that fits most single- and double-byte text at once. */
  rc = out_reserve(b, n + n / 2 + 1);
  while(rc == 0) {
    char *op = chunk;
    size_t opleft = sizeof(chunk);
    size_t r;
    int err = 0;

    if(inleft > 0) {
      r = iconv(cd, &in, &inleft, &op, &opleft);
      if(r == (size_t)-1)
        err = errno;
    } else {
      iconv(cd, NULL, NULL, &op, &opleft); /* end a stateful encoding */
    }
    /* iconv writes whole characters only, so each chunk is complete. */
    rc = clean_utf8(b, (const unsigned char *)chunk, (size_t)(op - chunk),
                    flags);
    if(rc < 0 || (inleft == 0 && err == 0 && op == chunk))
      break;
    if(err == E2BIG || err == 0)
      continue;
    *flags |= BAD_INPUT;
    rc = out_reserve(b, 4);
    if(rc < 0)
      break;
    memcpy(b->p + b->len, "\xEF\xBF\xBD", 3);
    b->len += 3;
    if(err == EINVAL || inleft <= unit) {
      inleft = 0; /* truncated at the end */
    } else {
      in += unit;
      inleft -= unit;
    }
  }
  return rc;
}

/* Returns the encoding of the BOM at s and sets *bom to its length, or
 * returns NULL. */
static const struct encoding *sniff_bom(const unsigned char *s, size_t n,
                                        size_t *bom)
{
  if(n >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF) {
    *bom = 3;
    return &encodings[E_UTF8];
  }
  if(n >= 4 && !memcmp(s, "\xFF\xFE\0\0", 4)) {
    *bom = 4;
    return &encodings[E_UTF32LE];
  }
  if(n >= 4 && !memcmp(s, "\0\0\xFE\xFF", 4)) {
    *bom = 4;
    return &encodings[E_UTF32BE];
  }
  if(n >= 2 && s[0] == 0xFF && s[1] == 0xFE) {
    *bom = 2;
    return &encodings[E_UTF16LE];
  }
  if(n >= 2 && s[0] == 0xFE && s[1] == 0xFF) {
    *bom = 2;
    return &encodings[E_UTF16BE];
  }
  return NULL;
}

/* Returns the UTF-16 or UTF-32 encoding that the first four bytes can only
 * be (an ASCII character such as '<' with zero bytes around it, the XML
 * spec's appendix F), or NULL. */
static const struct encoding *sniff_wide(const unsigned char *s, size_t n)
{
  if(n < 4)
    return NULL;
  if(s[0] && !s[1] && !s[2] && !s[3] && s[0] < 0x80)
    return &encodings[E_UTF32LE];
  if(!s[0] && !s[1] && !s[2] && s[3] && s[3] < 0x80)
    return &encodings[E_UTF32BE];
  if(s[0] && !s[1] && s[2] && !s[3] && s[0] < 0x80 && s[2] < 0x80)
    return &encodings[E_UTF16LE];
  if(!s[0] && s[1] && !s[2] && s[3] && s[1] < 0x80 && s[3] < 0x80)
    return &encodings[E_UTF16BE];
  return NULL;
}

/* Returns the encoding a label names (WHATWG: surrounding whitespace
 * ignored, ASCII case-insensitive), or NULL. */
static const struct encoding *lookup(const char *label)
{
  char key[CHARSET_LABEL_MAX];
  size_t start = 0, end = strlen(label), i;

  while(start < end && strchr(" \t\n\f\r", label[start]))
    start++;
  while(end > start && strchr(" \t\n\f\r", label[end - 1]))
    end--;
  if(end - start >= sizeof(key))
    return NULL;
  for(i = 0; start + i < end; i++) {
    char c = label[start + i];

    key[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
  }
  key[i] = '\0';
  for(i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
    if(!strcmp(key, labels[i].label))
      return &encodings[labels[i].enc];
  return NULL;
}

/* Returns nonzero for XML whitespace. */
static int is_space(unsigned char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Appends c to the label being collected in buf (size bytes), as '?' when
 * it is not printable ASCII so that messages stay clean. */
static void label_add(char *buf, size_t size, size_t *len, unsigned char c)
{
  if(*len + 1 < size)
    buf[(*len)++] = c >= 0x20 && c < 0x7F ? (char)c : '?';
  buf[*len] = '\0';
}

/* Copies the charset parameter of a Content-Type value into buf (size
 * bytes, at least 1). Returns its length; 0 when there is none. */
static size_t http_charset(const char *ct, char *buf, size_t size)
{
  const char *p = strchr(ct, ';');

  while(p) {
    const char *name, *name_end;
    size_t len = 0;

    p++;
    p += strspn(p, " \t");
    name = p;
    p += strcspn(p, "=;");
    name_end = p;
    while(name_end > name && (name_end[-1] == ' ' || name_end[-1] == '\t'))
      name_end--;
    if(*p != '=') {
      p = *p ? p : NULL; /* a parameter without a value */
      continue;
    }
    p++;
    p += strspn(p, " \t");
    buf[0] = '\0';
    if(*p == '"') {
      for(p++; *p && *p != '"'; p++) {
        if(*p == '\\' && p[1])
          p++;
        label_add(buf, size, &len, (unsigned char)*p);
      }
    } else {
      for(; *p && *p != ';'; p++)
        label_add(buf, size, &len, (unsigned char)*p);
      while(len > 0 && buf[len - 1] == ' ')
        buf[--len] = '\0';
      /* charset='utf-8' is a common mistake */
      if(len >= 2 && buf[0] == '\'' && buf[len - 1] == '\'') {
        memmove(buf, buf + 1, len - 2);
        len -= 2;
        buf[len] = '\0';
      }
    }
    if(name_end - name == 7 && !strncasecmp(name, "charset", 7))
      return len;
    p = strchr(p, ';');
  }
  return 0;
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

/* Finds an ASCII XML declaration near the start of s (junk_only may come
 * before it) and copies its encoding into buf (size bytes). Returns the label's
 * length; 0 when there is none. */
static size_t decl_encoding(const unsigned char *s, size_t n, char *buf,
                            size_t size)
{
  const unsigned char *p, *end, *q;
  size_t i = 0, len = 0;

  if(n > CHARSET_DECL_WINDOW)
    n = CHARSET_DECL_WINDOW;
  while(i < n && is_space(s[i]))
    i++;
  if(i < n && (s[i] == '{' || s[i] == '['))
    return 0; /* JSON */
  for(p = s;; p++) {
    p = memmem(p, n - (size_t)(p - s), "<?xml", 5);
    if(!p || p + 5 >= s + n)
      return 0;
    if(is_space(p[5]))
      break;
  }
  if(!junk_only((const char *)s, (size_t)(p - s)))
    return 0;
  end = memmem(p, n - (size_t)(p - s), "?>", 2);
  if(!end)
    end = s + n;
  for(q = p + 5;; q += 8) {
    q = memmem(q, (size_t)(end - q), "encoding", 8);
    if(!q)
      return 0;
    if(is_space(q[-1]))
      break;
  }
  q += 8;
  while(q < end && is_space(*q))
    q++;
  if(q == end || *q++ != '=')
    return 0;
  while(q < end && is_space(*q))
    q++;
  if(q == end || (*q != '"' && *q != '\''))
    return 0;
  buf[0] = '\0';
  for(p = q + 1; p < end && *p != *q; p++)
    label_add(buf, size, &len, *p);
  return len;
}

/* What the bytes say when the HTTP charset and the declaration disagree. */
enum text_kind {
  TEXT_ASCII,   /* printable ASCII: every candidate decodes it alike */
  TEXT_UTF8,    /* valid UTF-8 beyond ASCII */
  TEXT_NOTUTF8, /* not UTF-8 text (ESC marks ISO-2022-JP) */
};

static enum text_kind text_kind(const unsigned char *s, size_t n)
{
  enum text_kind kind = TEXT_ASCII;
  size_t i = 0;

  while(i < n) {
    uint32_t cp;
    int len;

    if(s[i] < 0x80) {
      if(s[i] == 0x1B)
        return TEXT_NOTUTF8;
      i++;
      continue;
    }
    len = utf8_seq(s + i, n - i, &cp);
    if(len < 0)
      return TEXT_NOTUTF8;
    kind = TEXT_UTF8;
    i += (size_t)len;
  }
  return kind;
}

/* Settles a disagreement between the HTTP charset and the declaration: the
 * HTTP one wins (RFC 7303) unless one of them is UTF-8 and the bytes say
 * otherwise. Returns the encoding to use; *rc gets feed_warn's result. */
static const struct encoding *
settle(const unsigned char *s, size_t n, const struct encoding *http,
       const char *hlabel, const struct encoding *decl, const char *dlabel,
       struct feed *feed, int *rc)
{
  const struct encoding *utf8 = &encodings[E_UTF8];

  switch(text_kind(s, n)) {
  case TEXT_ASCII:
    return http;
  case TEXT_NOTUTF8:
    if(http != utf8)
      break;
    *rc = feed_warn(feed,
                    "HTTP charset '%s' ignored: document is not UTF-8, "
                    "read as declared '%s'",
                    hlabel, dlabel);
    return decl;
  case TEXT_UTF8:
    if(decl != utf8)
      break;
    *rc = feed_warn(feed,
                    "HTTP charset '%s' ignored: document is UTF-8 as "
                    "declared",
                    hlabel);
    return decl;
  }
  *rc = feed_warn(feed, "HTTP charset '%s' overrides declared '%s'", hlabel,
                  dlabel);
  return http;
}

/* Resolves a label from the HTTP header or the declaration (what says
 * which). Returns its encoding, or NULL when the label is unknown (then
 * *unknown points at it, unless an earlier one is there already) or names
 * UTF-16 or UTF-32 (the document has already proved not to be; *rc gets
 * feed_warn's result). */
static const struct encoding *resolve(const char *label, const char *what,
                                      struct feed *feed, const char **unknown,
                                      int *rc)
{
  const struct encoding *enc = lookup(label);

  if(!enc) {
    if(!*unknown)
      *unknown = label;
    return NULL;
  }
  if(enc->unit == 1)
    return enc;
  *rc = feed_warn(feed, "%s '%s' ignored: document is not %s", what, label,
                  enc->unit == 2 ? "UTF-16" : "UTF-32");
  return NULL;
}

/* Chooses the encoding of s; sets *enc and *bom (bytes to skip). Returns 0
 * or -ENOMEM (from feed_warn). */
static int choose(const unsigned char *s, size_t n, const char *ct,
                  struct feed *feed, const struct encoding **enc, size_t *bom)
{
  char hlabel[CHARSET_LABEL_MAX], dlabel[CHARSET_LABEL_MAX];
  const struct encoding *http = NULL, *decl = NULL;
  const char *unknown = NULL;
  int rc = 0;

  *bom = 0;
  *enc = sniff_bom(s, n, bom);
  if(!*enc)
    *enc = sniff_wide(s, n);
  if(*enc)
    return 0;
  /* From here on the document is known not to be UTF-16 or UTF-32. */
  if(ct && http_charset(ct, hlabel, sizeof(hlabel)) > 0)
    http = resolve(hlabel, "HTTP charset", feed, &unknown, &rc);
  if(rc == 0 && decl_encoding(s, n, dlabel, sizeof(dlabel)) > 0)
    decl = resolve(dlabel, "declared encoding", feed, &unknown, &rc);
  if(rc < 0)
    return rc;
  if(!http && !decl) {
    *enc = &encodings[E_UTF8];
    if(unknown)
      rc = feed_warn(feed, "unknown encoding '%s', read as UTF-8", unknown);
    return rc;
  }
  if(!http) {
    *enc = decl;
    if(unknown == hlabel) /* the HTTP label was the unknown one */
      rc = feed_warn(feed, "unknown HTTP charset '%s' ignored", hlabel);
    return rc;
  }
  *enc = http;
  if(decl && decl != http)
    *enc = settle(s, n, http, hlabel, decl, dlabel, feed, &rc);
  return rc;
}

/* Decodes s with enc into b. Returns 0, -ENOMEM, or -EINVAL when iconv
 * cannot convert from enc. */
static int decode(struct out *b, const struct encoding *enc,
                  const unsigned char *s, size_t n, unsigned *flags)
{
  iconv_t cd;
  int rc;

  if(enc == &encodings[E_UTF8])
    return clean_utf8(b, s, n, flags);
  if(enc == &encodings[E_1252])
    return decode_1252(b, s, n, flags);
  cd = iconv_open("UTF-8", enc->iconv);
  if(cd == (iconv_t)-1)
    return errno == ENOMEM ? -ENOMEM : -EINVAL;
  rc = decode_iconv(b, cd, enc->unit, s, n, flags);
  iconv_close(cd);
  return rc;
}

int charset_decode(const char *data, size_t len, const char *content_type,
                   struct feed *feed, const char **out, size_t *out_len,
                   char **copy)
{
  const unsigned char *s = (const unsigned char *)data;
  const struct encoding *enc;
  struct out b = {NULL, 0, 0};
  unsigned flags = 0;
  size_t bom, clean;
  int rc;

  *out = NULL;
  *out_len = 0;
  *copy = NULL;
  rc = choose(s, len, content_type, feed, &enc, &bom);
  if(rc < 0)
    return rc;
  if(enc == &encodings[E_UTF8]) {
    clean = clean_span(s + bom, len - bom);
    if(clean == len - bom) {
      *out = data + bom;
      *out_len = clean;
      return 0;
    }
    /* The clean start is copied as it is; clean_utf8 goes on from there. */
    rc = out_reserve(&b, len - bom + 1);
    if(rc == 0) {
      memcpy(b.p, s + bom, clean);
      b.len = clean;
      rc = clean_utf8(&b, s + bom + clean, len - bom - clean, &flags);
    }
  } else {
    rc = decode(&b, enc, s + bom, len - bom, &flags);
  }
  if(rc == -EINVAL) {
    rc = feed_warn(feed, "encoding '%s' not supported, read as UTF-8",
                   enc->name);
    enc = &encodings[E_UTF8];
    if(rc == 0)
      rc = decode(&b, enc, s + bom, len - bom, &flags);
  }
  if(rc == 0 && (flags & BAD_INPUT))
    rc = feed_warn(feed, "invalid %s replaced", enc->name);
  if(rc == 0 && (flags & CONTROLS))
    rc = feed_warn(feed, "control characters removed");
  if(rc == 0 && (flags & C1_MAPPED))
    rc = feed_warn(feed, "C1 control characters read as windows-1252");
  if(rc == 0)
    rc = out_reserve(&b, 1);
  if(rc < 0) {
    free(b.p);
    return rc;
  }
  b.p[b.len] = '\0';
  *out = b.p;
  *out_len = b.len;
  *copy = b.p;
  return 0;
}

int charset_to_utf8(const char *data, size_t len, const char *content_type,
                    struct feed *feed, char **out, size_t *out_len)
{
  const char *utf8;
  char *copy;
  int rc;

  *out = NULL;
  *out_len = 0;
  rc = charset_decode(data, len, content_type, feed, &utf8, out_len, &copy);
  if(rc < 0)
    return rc;
  if(!copy) {
    copy = malloc(*out_len + 1);
    if(!copy) {
      *out_len = 0;
      return -ENOMEM;
    }
    memcpy(copy, utf8, *out_len);
    copy[*out_len] = '\0';
  }
  *out = copy;
  return 0;
}
