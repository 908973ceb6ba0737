/*
 * xmlfix.h: repairs the XML mistakes real feeds make, before the XML
 * reader (xml_scan.c) sees the document, and takes the DTD out so nothing
 * is ever loaded or expanded from it.
 */
#ifndef FRESHET_XMLFIX_H
#define FRESHET_XMLFIX_H

#include <stddef.h>

struct feed;

/* Rewrites clean UTF-8 XML (from charset_to_utf8): drops anything before
 * the first '<' that starts markup (junk, whitespace before the XML
 * declaration), removes the DOCTYPE with its internal subset, replaces HTML
 * named entities (&nbsp; &eacute; ...) with numeric references, escapes a
 * '&' that starts no valid reference and a '<' that starts no markup.
 * CDATA sections, comments and processing instructions are copied as they
 * are. Each kind of repair is reported once through feed_warn (feed may be
 * NULL). in need not be NUL-terminated. Returns 0 and sets *out and
 * *out_len, or -ENOMEM. A document that needs no repair (nearly every one)
 * is not copied: *out then points into in, is not NUL-terminated, and
 * *copy is NULL. Otherwise *out is a malloc'd, NUL-terminated copy that
 * *copy points at too; the caller frees *copy. */
int xmlfix_repair(const char *in, size_t len, struct feed *feed,
                  const char **out, size_t *out_len, char **copy);

#endif
