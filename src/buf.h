/*
 * buf.h: a growable byte buffer with a hard size cap that frees itself on
 * failure (curl's dynbuf idea). The data is always NUL-terminated.
 */
#ifndef FRESHET_BUF_H
#define FRESHET_BUF_H

#include <stddef.h>

struct buf {
  char *data; /* NULL until the first byte is added */
  size_t len;
  size_t cap;
  size_t max; /* the length may never exceed this */
};

/* Starts an empty buffer that may hold up to max bytes. */
void buf_init(struct buf *b, size_t max);

/* Appends n bytes. Returns 0; or -ENOMEM / -EFBIG, after which the buffer
 * is freed and empty. */
int buf_add(struct buf *b, const void *p, size_t n);

/* Appends a NUL-terminated string; returns as buf_add. */
int buf_adds(struct buf *b, const char *s);

/* Appends one byte; returns as buf_add. */
int buf_addc(struct buf *b, char c);

/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);

/* Frees the memory; the buffer is empty and reusable. */
void buf_free(struct buf *b);

/* Returns the contents as a malloc'd NUL-terminated string (an empty one
 * when nothing was added) and empties the buffer; NULL on out of memory. */
char *buf_steal(struct buf *b);

#endif
