/*
 * render_recent.h: recent.json, the recent-posts widget's list
 * (DESIGN.md, "recent.json").
 */
#ifndef FRESHET_RENDER_RECENT_H
#define FRESHET_RENDER_RECENT_H

#include <stddef.h>

struct render_channel;
struct render_item;

/* Renders items[0..n), newest first, as of ch->generated, with excerpts of
 * at most excerpt characters. Returns 0 and *out (malloc'd,
 * NUL-terminated UTF-8 ending in a newline) with its length in *len; or
 * -ENOMEM. */
int render_recent(const struct render_channel *ch,
                  const struct render_item *items, size_t n, size_t excerpt,
                  char **out, size_t *len);

#endif
