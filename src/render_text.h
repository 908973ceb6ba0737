/*
 * render_text.h: text from the store made safe for every published
 * format: valid UTF-8 holding only characters XML 1.0 allows (which JSON
 * takes as well).
 */
#ifndef FRESHET_RENDER_TEXT_H
#define FRESHET_RENDER_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Returns a malloc'd copy of s in which every byte that does not start a
 * well-formed UTF-8 sequence (overlong forms, surrogates and code points
 * above U+10FFFF included) became U+FFFD, and the characters XML forbids
 * or discourages as text (C0 controls other than tab, LF and CR; DEL; C1
 * controls; U+FFFE, U+FFFF) were dropped. Returns NULL when s is NULL or
 * on out of memory. */
char *render_text_clean(const char *s);

/* Returns true when s is already what render_text_clean would make it. */
bool render_text_is_clean(const char *s);

#endif
