/*
 * strmap.c: string -> index map with linear probing, kept at most half
 * full.
 */
#include "strmap.h"

#include "hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t map_slot(char **keys, size_t cap, const char *k)
{
  size_t i = (size_t)hash_bytes(HASH_SEED, k, strlen(k)) & (cap - 1);

  while(keys[i] && strcmp(keys[i], k) != 0)
    i = (i + 1) & (cap - 1);
  return i;
}

size_t *strmap_get(const struct strmap *m, const char *k)
{
  size_t i;

  if(!m->cap)
    return NULL;
  i = map_slot(m->keys, m->cap, k);
  return m->keys[i] ? &m->vals[i] : NULL;
}

int strmap_put(struct strmap *m, const char *k, size_t v)
{
  size_t i;

  if(2 * (m->len + 1) > m->cap) {
    size_t cap = m->cap ? 2 * m->cap : 64;
    char **keys = calloc(cap, sizeof(*keys));
    size_t *vals = calloc(cap, sizeof(*vals));

    if(!keys || !vals) {
      free(keys);
      free(vals);
      return -ENOMEM;
    }
    for(size_t j = 0; j < m->cap; j++)
      if(m->keys[j]) {
        i = map_slot(keys, cap, m->keys[j]);
        keys[i] = m->keys[j];
        vals[i] = m->vals[j];
      }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
  }
  i = map_slot(m->keys, m->cap, k);
  if(!m->keys[i]) {
    m->keys[i] = strdup(k);
    if(!m->keys[i])
      return -ENOMEM;
    m->len++;
  }
  m->vals[i] = v;
  return 0;
}

void strmap_free(struct strmap *m)
{
  for(size_t i = 0; i < m->cap; i++)
    free(m->keys[i]);
  free(m->keys);
  free(m->vals);
  memset(m, 0, sizeof(*m));
}
