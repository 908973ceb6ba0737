/*
 * url.h: URL resolution (RFC 3986, through libxml2's xmlBuildURI) and the
 * scheme checks the sanitizer and the parser share.
 */
#ifndef FRESHET_URL_H
#define FRESHET_URL_H

#include <stdbool.h>

/* Resolves ref against base after trimming ASCII whitespace from ref.
 * Returns a malloc'd absolute URL when it can be made absolute; a malloc'd
 * copy of ref when base is NULL or not absolute and ref is relative; NULL
 * when ref is NULL or empty, or on out of memory. */
char *url_resolve(const char *base, const char *ref);

/* Returns true when url starts with a scheme ("http:", "mailto:", ...). */
bool url_is_absolute(const char *url);

/* Returns true when an absolute URL may be used as a link target or image
 * source in published HTML: http, https, ftp, mailto, tel, news, and
 * (only when image is true) data:image/ other than SVG. javascript:,
 * vbscript:, data: otherwise, and unknown schemes are refused. */
bool url_is_safe(const char *url, bool image);

#endif
