/*
 * charset.h: raw document bytes -> clean UTF-8, choosing the encoding the
 * way RFC 7303 says (BOM, then the HTTP charset, then the XML declaration).
 */
#ifndef FRESHET_CHARSET_H
#define FRESHET_CHARSET_H

#include <stddef.h>

struct feed;

/* Decodes data to UTF-8. The encoding comes from the BOM, else the charset
 * parameter of content_type (may be NULL), else the XML declaration's
 * encoding, else UTF-8. ISO-8859-1 and US-ASCII labels decode as
 * windows-1252, as browsers do. Invalid sequences become U+FFFD; characters
 * XML 1.0 does not allow (C0 controls but tab, LF, CR; U+FFFE, U+FFFF) and
 * the BOM are removed. Unknown labels fall back to UTF-8. Each kind of
 * problem is reported once through feed_warn (feed may be NULL). Returns 0
 * and sets *out (malloc'd, NUL-terminated) and *out_len, or -ENOMEM. */
int charset_to_utf8(const char *data, size_t len, const char *content_type,
                    struct feed *feed, char **out, size_t *out_len);

/* Decodes data like charset_to_utf8, but copies only when it has to: when
 * data is clean UTF-8 already (nearly every feed), *out points into data
 * (past a BOM), is not NUL-terminated, and *copy is NULL. Otherwise *out
 * is a malloc'd, NUL-terminated copy that *copy points at too; the caller
 * frees *copy. Returns 0, or -ENOMEM with *out and *copy NULL. */
int charset_decode(const char *data, size_t len, const char *content_type,
                   struct feed *feed, const char **out, size_t *out_len,
                   char **copy);

#endif
