/*
 * schedule.h: when each feed is fetched next. Pure arithmetic on times and
 * counts (no I/O), so every rule is unit-tested: adaptive intervals from
 * the posting rate, publisher hints as a floor, exponential backoff with
 * jitter, Retry-After, and the spread of first polls; plus the min-heap of
 * due times that drives the daemon's single timer.
 */
#ifndef FRESHET_SCHEDULE_H
#define FRESHET_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

struct schedule_limits {
  int64_t interval; /* configured default, seconds */
  int64_t min_interval;
  int64_t max_interval;
};

/* The interval after a successful fetch. configured: the feed's own
 * interval (0: none); when set it is used as is, clamped to the limits.
 * Otherwise adaptive: a week divided by the entries published in the last
 * week (the default interval when there were none), clamped to [min, max];
 * hint (the largest of ttl, sy:updatePeriod and Cache-Control max-age, 0
 * none) is a floor, itself capped at max. */
int64_t schedule_interval(const struct schedule_limits *lim, int64_t configured,
                          long entries_last_week, int64_t hint);

/* The delay before retrying after error_count (>= 1) consecutive
 * failures: interval doubled per failure from the min interval, capped at
 * max, with +-10% jitter from *rng (xorshift state, never 0);
 * retry_after (seconds, 0 none) is a floor. */
int64_t schedule_backoff(const struct schedule_limits *lim, int error_count,
                         int64_t retry_after, uint64_t *rng);

/* Where a never-fetched feed goes on first start: spread over
 * [now, now + interval) by a hash of its name, so a thousand new feeds do
 * not all start at once and a restart keeps the same order. */
int64_t schedule_first_due(int64_t now, int64_t interval, const char *name);

/* A min-heap of (due time, id) pairs. */
struct schedule_heap {
  struct schedule_slot {
    int64_t due;
    int64_t id;
  } * slots;
  size_t n;
  size_t cap;
};

/* Adds id due at due. Returns 0 or -ENOMEM. */
int schedule_push(struct schedule_heap *h, int64_t due, int64_t id);

/* Removes the earliest slot into *out. Returns 0, or -ENOENT when empty. */
int schedule_pop(struct schedule_heap *h, struct schedule_slot *out);

/* Returns the earliest slot without removing it, or NULL when empty. */
const struct schedule_slot *schedule_peek(const struct schedule_heap *h);

/* Frees the heap's memory; it stays usable, empty. */
void schedule_heap_free(struct schedule_heap *h);

#endif
