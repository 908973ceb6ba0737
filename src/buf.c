/*
 * buf.c: growable buffer with a cap.
 */
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->max = max;
}

int buf_add(struct buf *b, const void *p, size_t n)
{
  if(n > b->max - b->len) {
    buf_free(b);
    return -EFBIG;
  }
  if(b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    char *d;

    while(cap < b->len + n + 1)
      cap *= 2;
    d = realloc(b->data, cap);
    if(!d) {
      buf_free(b);
      return -ENOMEM;
    }
    b->data = d;
    b->cap = cap;
  }
  if(n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int buf_adds(struct buf *b, const char *s)
{
  return buf_add(b, s, strlen(s));
}

int buf_addc(struct buf *b, char c)
{
  if(b->len + 1 < b->cap) {
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
    return 0;
  }
  return buf_add(b, &c, 1);
}

void buf_reset(struct buf *b)
{
  b->len = 0;
  if(b->data)
    b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
  free(b->data);
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
}

char *buf_steal(struct buf *b)
{
  char *s = b->data;

  if(!s)
    return strdup("");
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  return s;
}
