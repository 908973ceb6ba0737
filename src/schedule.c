/*
 * schedule.c: intervals, backoff and the due-time heap.
 */
#include "schedule.h"

#include "hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define WEEK (7 * 86400)

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
  return v < lo ? lo : v > hi ? hi : v;
}

int64_t schedule_interval(const struct schedule_limits *lim, int64_t configured,
                          long entries_last_week, int64_t hint)
{
  int64_t v;

  if(configured > 0)
    v = configured;
  else if(entries_last_week > 0)
    v = WEEK / entries_last_week;
  else
    v = lim->interval;
  v = clamp(v, lim->min_interval, lim->max_interval);
  if(hint > v)
    v = hint < lim->max_interval ? hint : lim->max_interval;
  return v;
}

static uint64_t xorshift(uint64_t *s)
{
  uint64_t x = *s ? *s : UINT64_C(0x9e3779b97f4a7c15);

  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *s = x;
  return x;
}

int64_t schedule_backoff(const struct schedule_limits *lim, int error_count,
                         int64_t retry_after, uint64_t *rng)
{
  int64_t v = lim->min_interval > 0 ? lim->min_interval : 60;
  int64_t jitter;

  for(int i = 1; i < error_count && v < lim->max_interval; i++)
    v *= 2;
  v = clamp(v, 1, lim->max_interval);
  /* +-10%, so feeds that failed together do not retry together. */
  jitter = v / 10;
  if(jitter > 0)
    v += (int64_t)(xorshift(rng) % (uint64_t)(2 * jitter + 1)) - jitter;
  if(retry_after > v)
    v = retry_after;
  return v;
}

int64_t schedule_first_due(int64_t now, int64_t interval, const char *name)
{
  uint64_t h = hash_bytes(HASH_SEED, name, strlen(name));

  if(interval <= 0)
    return now;
  return now + (int64_t)(h % (uint64_t)interval);
}

static int earlier(const struct schedule_slot *a, const struct schedule_slot *b)
{
  return a->due < b->due || (a->due == b->due && a->id < b->id);
}

static void swap(struct schedule_slot *a, struct schedule_slot *b)
{
  struct schedule_slot t = *a;

  *a = *b;
  *b = t;
}

int schedule_push(struct schedule_heap *h, int64_t due, int64_t id)
{
  size_t i;

  if(h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 64;
    struct schedule_slot *s = realloc(h->slots, cap * sizeof(*s));

    if(!s)
      return -ENOMEM;
    h->slots = s;
    h->cap = cap;
  }
  i = h->n++;
  h->slots[i].due = due;
  h->slots[i].id = id;
  while(i > 0 && earlier(&h->slots[i], &h->slots[(i - 1) / 2])) {
    swap(&h->slots[i], &h->slots[(i - 1) / 2]);
    i = (i - 1) / 2;
  }
  return 0;
}

int schedule_pop(struct schedule_heap *h, struct schedule_slot *out)
{
  size_t i = 0;

  if(h->n == 0)
    return -ENOENT;
  *out = h->slots[0];
  h->slots[0] = h->slots[--h->n];
  for(;;) {
    size_t l = 2 * i + 1;
    size_t r = l + 1;
    size_t m = i;

    if(l < h->n && earlier(&h->slots[l], &h->slots[m]))
      m = l;
    if(r < h->n && earlier(&h->slots[r], &h->slots[m]))
      m = r;
    if(m == i)
      break;
    swap(&h->slots[i], &h->slots[m]);
    i = m;
  }
  return 0;
}

const struct schedule_slot *schedule_peek(const struct schedule_heap *h)
{
  return h->n ? &h->slots[0] : NULL;
}

void schedule_heap_free(struct schedule_heap *h)
{
  free(h->slots);
  memset(h, 0, sizeof(*h));
}
