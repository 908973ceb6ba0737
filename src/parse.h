/*
 * parse.h: bytes of a feed document (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON
 * Feed 1.0/1.1) -> struct feed. Safe on hostile input and thread-safe
 * (call parse_init once first, on the main thread).
 */
#ifndef FRESHET_PARSE_H
#define FRESHET_PARSE_H

#include <stddef.h>

struct feed;

/* Hard limits, whatever the configuration says. */
#define PARSE_MAX_INPUT (64u << 20)
#define PARSE_MAX_ENTRIES 50000
#define PARSE_MAX_DEPTH 128

/* Initializes the libraries the parser uses; call once before threads. */
void parse_init(void);

/* Parses a document that came from url (may be NULL) with the HTTP
 * Content-Type content_type (may be NULL). Returns 0 and sets *out (free
 * with feed_free), or a negative code with *out NULL and a one-line reason
 * in err: -EINVAL not a feed (what was found instead), -EFBIG larger than
 * PARSE_MAX_INPUT, -ENOMEM. */
int parse_feed(const char *data, size_t len, const char *url,
               const char *content_type, struct feed **out, char *err,
               size_t errlen);

#endif
