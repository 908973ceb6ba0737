/*
 * parse_field.h: raw text of one feed field -> the form the model keeps
 * (plain text, sanitized HTML, a UTC date). Shared by the XML and JSON
 * readers so both normalize the same way.
 */
#ifndef FRESHET_PARSE_FIELD_H
#define FRESHET_PARSE_FIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct feed;

/* Plain text from s: tags stripped and entities decoded when is_html,
 * whitespace collapsed. Returns a malloc'd string, or NULL when the result
 * is empty or memory ran out. */
char *field_text(const char *s, size_t len, bool is_html);

/* HTML for a summary or content: sanitized against base when is_html,
 * else s escaped as text. first_image (may be NULL) receives the first
 * image of sanitized HTML. Returns a malloc'd string, or NULL when empty or
 * out of memory. */
char *field_html(const char *s, size_t len, bool is_html, const char *base,
                 char **first_image);

/* Parses a date, warning on feed when s is not empty but unreadable.
 * Returns UTC seconds or FEED_NO_DATE. */
int64_t field_date(struct feed *feed, const char *s);

/* RSS <author> is an e-mail address with the name in parentheses:
 * "jane@example.com (Jane Doe)" -> "Jane Doe". Returns s itself, or a
 * malloc'd replacement after freeing s. */
char *field_author(char *s);

#endif
