/*
 * opml.h: OPML subscription lists in (feeds.d/ *.opml, freshet import) and
 * out (freshet export, the published blogroll).
 */
#ifndef FRESHET_OPML_H
#define FRESHET_OPML_H

#include <stddef.h>

struct config_feed;

/* Reads an OPML document: every outline with an xmlUrl is a feed; the
 * titles of the folders (outlines without xmlUrl) around it become its
 * tags; its name comes from its title (or its URL's host), made a valid,
 * unique feed name. file names the document in messages and in
 * config_feed.file/line. Returns 0 and a malloc'd array (free each with
 * opml_feeds_free), or -EINVAL with "file:line: reason" in err, or
 * -ENOMEM. No DTD, entity or network access. */
int opml_read(const char *data, size_t len, const char *file,
              struct config_feed **out, size_t *n, char *err, size_t errlen);

/* Frees what opml_read returned. */
void opml_feeds_free(struct config_feed *feeds, size_t n);

/* Returns an OPML 2.0 document (malloc'd, UTF-8) listing feeds, grouped in
 * folders by their first tag, with title as the document title; NULL on
 * out of memory. Reading it back with opml_read gives the same URLs, names
 * and tags. */
char *opml_write(const struct config_feed *feeds, size_t n, const char *title);

#endif
