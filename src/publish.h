/*
 * publish.h: renders what the store holds into the published documents:
 * feed.atom, feed.rss, feed.json, feeds.opml and recent.json, each written
 * to a temporary file and renamed into place, and kept in memory for the
 * built-in HTTP server.
 */
#ifndef FRESHET_PUBLISH_H
#define FRESHET_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct publish;
struct render_doc;
struct store;

/* Creates a publisher writing to cfg->output_dir (created when missing).
 * Returns 0 and *out (free with publish_free), or a negative code. */
int publish_new(const struct config *cfg, struct publish **out);

/* Uses cfg (titles, limits, subscriptions) from now on. */
void publish_set_config(struct publish *p, const struct config *cfg);

/* Renders and writes every document. Returns 0, or a negative code after
 * logging; files already in place stay as they were. */
int publish_all(struct publish *p, struct store *store);

/* Renders and writes recent.json only (its "N mins ago" age). */
int publish_recent(struct publish *p, struct store *store);

/* Returns a new reference to the document last rendered as name
 * ("feed.atom", ...), or NULL when there is none yet. Any thread; release
 * with render_doc_unref (render_doc.h). */
struct render_doc *publish_get(struct publish *p, const char *name);

/* Calls fn (NULL: none) with every document rendered anew from now on, and
 * at once with each one already rendered; on the publishing thread, after
 * the new bytes are in memory (even when writing the file failed). body is
 * valid during the call only. */
void publish_on_update(struct publish *p,
                       void (*fn)(void *arg, const char *name,
                                  const char *content_type, const char *body,
                                  size_t len),
                       void *arg);

/* Frees the publisher; NULL is fine. */
void publish_free(struct publish *p);

#endif
