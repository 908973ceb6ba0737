/*
 * render_jsonfeed.h: the merged feed as JSON Feed 1.1, feed.json.
 */
#ifndef FRESHET_RENDER_JSONFEED_H
#define FRESHET_RENDER_JSONFEED_H

#include <stddef.h>

struct render_channel;
struct render_item;

/* Renders ch with items[0..n), newest first. Returns 0 and *out (malloc'd,
 * NUL-terminated UTF-8 ending in a newline) with its length in *len; or
 * -ENOMEM. */
int render_jsonfeed(const struct render_channel *ch,
                    const struct render_item *items, size_t n, char **out,
                    size_t *len);

#endif
