/*
 * render_model.h: what every renderer reads: the merged feed's own
 * description (from the configuration) and its entries (from the store),
 * each value cleaned, checked and completed once, so that the Atom, RSS,
 * JSON Feed and recent.json writers only choose how to spell them.
 */
#ifndef FRESHET_RENDER_MODEL_H
#define FRESHET_RENDER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct store_item;

/* The merged feed. Every string is clean text (render_text.h). */
struct render_channel {
  char *title;  /* never NULL */
  char *link;   /* the site link, an absolute http(s) URL; never NULL */
  char *id;     /* an absolute IRI; never NULL */
  char *author; /* NULL when not configured */
  int64_t generated;
};

struct render_enclosure {
  char *url;      /* an absolute, safe URL */
  char *type;     /* a media type ("x/y"), or NULL when unknown */
  int64_t length; /* bytes, or -1 when unknown */
};

/* One entry. Strings are clean text; URLs absolute and safe to link to
 * (url_is_safe); NULL means missing. */
struct render_item {
  char *id;    /* an absolute IRI, unique in the document; never NULL */
  char *title; /* plain text; never NULL, may be "" */
  char *link;
  char *author;  /* plain text */
  char *summary; /* sanitized HTML */
  char *content; /* sanitized HTML */
  char *image;
  char **categories; /* none empty */
  size_t ncategories;
  struct render_enclosure *enclosures;
  size_t nenclosures;
  int64_t published;  /* the effective date (DESIGN.md): always set */
  int64_t updated;    /* the last change, never before published */
  char *source_name;  /* the subscription's name; never NULL */
  char *source_title; /* the feed's title, else its name; never NULL */
  char *source_link;  /* the feed's site */
  char *source_url;   /* the feed's own URL, without user:password@ */
};

/* Fills ch from cfg at time now: title ("freshet" when empty); link (when
 * empty: http://LISTEN/ with a wildcard host as localhost, or
 * http://localhost/ without a server); id (when empty or not an IRI: the
 * Atom document's URL, render_model_url(ch, "feed.atom")); author (NULL
 * when empty). Returns 0, or -ENOMEM (ch is then cleared). */
int render_channel_init(struct render_channel *ch, const struct config *cfg,
                        int64_t now);

/* Frees the strings of ch and zeroes it; NULL is fine. */
void render_channel_clear(struct render_channel *ch);

/* Returns the malloc'd URL of the published document file ("feed.atom")
 * resolved against the channel link, or NULL on out of memory. */
char *render_model_url(const struct render_channel *ch, const char *file);

/* Makes n store items into render items, in the same order, at time now.
 * Returns 0 and a malloc'd array (free with render_items_free; NULL when n
 * is 0), or -ENOMEM. */
int render_items_new(const struct store_item *src, size_t n, int64_t now,
                     struct render_item **out);

void render_items_free(struct render_item *items, size_t n);

/* Returns the newest updated time of items[0..n), or fallback when n is
 * 0. */
int64_t render_items_updated(const struct render_item *items, size_t n,
                             int64_t fallback);

/* Returns the first of content, summary that is not NULL or "", or
 * NULL. */
const char *render_item_html(const struct render_item *it);

/* Returns true when s is an absolute IRI: a scheme, ':', and at least one
 * more character, without spaces, controls or <>"{}|\^`. */
bool render_is_iri(const char *s);

#endif
