/*
 * feed_json.h: struct feed -> the `freshet parse` JSON document (DESIGN.md),
 * keys in a stable order.
 */
#ifndef FRESHET_FEED_JSON_H
#define FRESHET_FEED_JSON_H

struct feed;

/* Returns the feed as an indented JSON document ending in a newline
 * (malloc'd, UTF-8), or NULL on out of memory. */
char *feed_json_dump(const struct feed *feed);

#endif
