/*
 * html.h: HTML from feeds made safe to republish (an allowlist sanitizer on
 * libxml2's HTML parser), and HTML or text made into clean plain text.
 */
#ifndef FRESHET_HTML_H
#define FRESHET_HTML_H

#include <stddef.h>

/* Sanitizes an HTML fragment: allowlisted elements and attributes only; no
 * script/style/iframe/object/embed/form (their contents dropped where they
 * are code); no event handler attributes; href/src resolved against base
 * (may be NULL) and dropped unless url_is_safe. Output is UTF-8 with every
 * element closed. When first_image is not NULL it receives a malloc'd copy
 * of the first kept <img src> (or NULL). Returns a malloc'd string ("" for
 * empty input), or NULL on out of memory. */
char *html_sanitize(const char *html, size_t len, const char *base,
                    char **first_image);

/* HTML fragment -> plain text: tags removed, entities decoded, whitespace
 * collapsed to single spaces, trimmed. Returns a malloc'd string, or NULL
 * on out of memory. */
char *html_to_text(const char *html, size_t len);

/* Plain text -> plain text with whitespace runs collapsed to one space and
 * trimmed. Returns a malloc'd string, or NULL on out of memory. */
char *html_collapse_space(const char *text, size_t len);

/* Plain text -> HTML with &, <, >, " escaped (for text constructs that end
 * up as HTML). Returns a malloc'd string, or NULL on out of memory. */
char *html_escape_text(const char *text, size_t len);

/* Plain-text excerpt of an HTML fragment: at most max_chars characters
 * (code points), cut at a word boundary and ended with "…" when shortened.
 * Returns a malloc'd string, or NULL on out of memory. */
char *html_excerpt(const char *html, size_t len, size_t max_chars);

#endif
