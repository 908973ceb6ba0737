/*
 * render_json.h: jansson helpers the JSON renderers share: setting members
 * with a sticky error, and dumping a document.
 */
#ifndef FRESHET_RENDER_JSON_H
#define FRESHET_RENDER_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Sets o[key] to value (stealing it); a NULL value (a failed json_*()
 * call) sets *err to -ENOMEM. Nothing happens once *err is set, except
 * that value is released. */
void render_json_set(json_t *o, const char *key, json_t *value, int *err);

/* Sets o[key] to the string s, or to null when s is NULL. */
void render_json_str(json_t *o, const char *key, const char *s, int *err);

/* Sets o[key] to the RFC 3339 spelling of t (null when it has none). */
void render_json_date(json_t *o, const char *key, int64_t t, int *err);

/* Appends value (stealing it) to the array a; as render_json_set. */
void render_json_append(json_t *a, json_t *value, int *err);

/* Dumps root compactly with a final newline and releases it. Returns 0
 * with *out (malloc'd) and *len, or err when it is set, or -ENOMEM. */
int render_json_end(json_t *root, int err, char **out, size_t *len);

#endif
