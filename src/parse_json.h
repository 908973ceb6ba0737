/*
 * parse_json.h: the JSON Feed 1.0 / 1.1 reader behind parse_feed.
 */
#ifndef FRESHET_PARSE_JSON_H
#define FRESHET_PARSE_JSON_H

#include <stddef.h>

struct feed;

/* Reads a clean UTF-8 JSON document into feed, which must be new. Returns
 * 0; -EINVAL with a reason in err when it is not a JSON Feed; -ENOMEM. */
int parse_json(const char *doc, size_t len, const char *url, struct feed *feed,
               char *err, size_t errlen);

#endif
