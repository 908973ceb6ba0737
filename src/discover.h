/*
 * discover.h: finds the feed an HTML page advertises with
 * <link rel="alternate" type="application/rss+xml" href="...">, for
 * `freshet add` given a site's address instead of its feed's.
 */
#ifndef FRESHET_DISCOVER_H
#define FRESHET_DISCOVER_H

#include <stddef.h>

/* Returns the absolute URL (resolved against base) of the first RSS, Atom
 * or JSON Feed alternate link in the page, malloc'd; NULL when there is
 * none or on out of memory. */
char *discover_feed_link(const char *html, size_t len, const char *base);

#endif
