/*
 * strmap.h: a map from strings to indexes (open addressing; the map owns
 * copies of its keys), for name and URL lookups over many feeds.
 */
#ifndef FRESHET_STRMAP_H
#define FRESHET_STRMAP_H

#include <stddef.h>

struct strmap {
  char **keys;
  size_t *vals;
  size_t cap;
  size_t len;
};

/* Returns a pointer to the value of k, or NULL when k is not in m. */
size_t *strmap_get(const struct strmap *m, const char *k);

/* Sets k to v. Returns 0 or -ENOMEM (m unchanged). */
int strmap_put(struct strmap *m, const char *k, size_t v);

/* Frees the keys and the table; m is empty and reusable. */
void strmap_free(struct strmap *m);

#endif
