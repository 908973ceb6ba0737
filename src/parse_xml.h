/*
 * parse_xml.h: the RSS and Atom reader behind parse_feed.
 */
#ifndef FRESHET_PARSE_XML_H
#define FRESHET_PARSE_XML_H

#include <stddef.h>

struct feed;

/* Reads clean UTF-8 XML (after charset_to_utf8 and xmlfix_repair) into
 * feed, which must be new. Returns 0; -EINVAL with a reason in err when
 * the document is not RSS or Atom; -ENOMEM. */
int parse_xml(const char *doc, size_t len, const char *url, struct feed *feed,
              char *err, size_t errlen);

#endif
