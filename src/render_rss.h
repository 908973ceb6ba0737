/*
 * render_rss.h: the merged feed as RSS 2.0, feed.rss.
 */
#ifndef FRESHET_RENDER_RSS_H
#define FRESHET_RENDER_RSS_H

#include <stddef.h>
#include <stdint.h>

struct render_channel;
struct render_item;

/* Renders ch with items[0..n), newest first. Returns 0 and *out (malloc'd,
 * NUL-terminated UTF-8) with its length in *len; or -ENOMEM / -EIO. */
int render_rss(const struct render_channel *ch, const struct render_item *items,
               size_t n, char **out, size_t *len);

/* Writes t as an RFC 822 date, "Wed, 25 Nov 2026 11:22:00 +0000", into buf
 * (at least 32 bytes). Returns 0, or -EINVAL when t cannot be spelled
 * (buf is then ""). */
int render_rss_date(int64_t t, char *buf, size_t size);

#endif
