/*
 * render_atom.h: the merged feed as Atom 1.0 (RFC 4287), feed.atom.
 */
#ifndef FRESHET_RENDER_ATOM_H
#define FRESHET_RENDER_ATOM_H

#include <stddef.h>

struct render_channel;
struct render_item;

/* Renders ch with items[0..n), newest first. Returns 0 and *out (malloc'd,
 * NUL-terminated UTF-8) with its length in *len; or -ENOMEM / -EIO. */
int render_atom(const struct render_channel *ch,
                const struct render_item *items, size_t n, char **out,
                size_t *len);

#endif
