/*
 * test_schedule.c: intervals, backoff, first-start spread, due-time heap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "schedule.h"

#include <errno.h>
#include <stdio.h>

static const struct schedule_limits lim = {
    .interval = 1800, .min_interval = 300, .max_interval = 86400};

static void test_adaptive_interval_follows_posting_rate(void **state)
{
  (void)state;
  /* No posts last week: the default. */
  assert_int_equal(schedule_interval(&lim, 0, 0, 0), 1800);
  /* 7 posts a week: daily. */
  assert_int_equal(schedule_interval(&lim, 0, 7, 0), 86400);
  /* 168 a week: hourly. */
  assert_int_equal(schedule_interval(&lim, 0, 168, 0), 3600);
  /* Very busy: never below min. */
  assert_int_equal(schedule_interval(&lim, 0, 100000, 0), 300);
  /* One a week: capped at max. */
  assert_int_equal(schedule_interval(&lim, 0, 1, 0), 86400);
}

static void test_configured_interval_wins_within_limits(void **state)
{
  (void)state;
  assert_int_equal(schedule_interval(&lim, 600, 100000, 0), 600);
  assert_int_equal(schedule_interval(&lim, 60, 0, 0), 300);
  assert_int_equal(schedule_interval(&lim, 999999, 0, 0), 86400);
}

static void test_publisher_hint_is_a_floor(void **state)
{
  (void)state;
  /* Busy feed, but <ttl>60</ttl> asks for an hour. */
  assert_int_equal(schedule_interval(&lim, 0, 100000, 3600), 3600);
  /* A hint below the computed interval changes nothing. */
  assert_int_equal(schedule_interval(&lim, 0, 0, 600), 1800);
  /* A hint of a year is still capped at max. */
  assert_int_equal(schedule_interval(&lim, 0, 0, 31536000), 86400);
}

static void test_backoff_doubles_with_jitter_and_cap(void **state)
{
  uint64_t rng = 42;

  (void)state;
  for (int errors = 1; errors <= 20; errors++) {
    int64_t base = 300;

    for (int i = 1; i < errors && base < 86400; i++)
      base *= 2;
    if (base > 86400)
      base = 86400;
    for (int k = 0; k < 50; k++) {
      int64_t v = schedule_backoff(&lim, errors, 0, &rng);

      if (v < base - base / 10 || v > base + base / 10)
        fail_msg("errors=%d: %lld outside %lld +-10%%", errors, (long long)v,
                 (long long)base);
    }
  }
}

static void test_backoff_jitter_varies(void **state)
{
  uint64_t rng = 7;
  int64_t first = schedule_backoff(&lim, 3, 0, &rng);
  int differs = 0;

  (void)state;
  for (int i = 0; i < 20; i++)
    differs |= schedule_backoff(&lim, 3, 0, &rng) != first;
  assert_true(differs);
}

static void test_retry_after_is_a_floor(void **state)
{
  uint64_t rng = 1;

  (void)state;
  assert_int_equal(schedule_backoff(&lim, 1, 7200, &rng), 7200);
}

static void test_first_due_spreads_and_is_stable(void **state)
{
  int buckets[10] = {0};
  char name[32];

  (void)state;
  for (int i = 0; i < 1000; i++) {
    int64_t due;

    snprintf(name, sizeof(name), "feed-%d", i);
    due = schedule_first_due(1000000, 1800, name);
    assert_true(due >= 1000000 && due < 1000000 + 1800);
    assert_int_equal(due, schedule_first_due(1000000, 1800, name));
    buckets[(due - 1000000) / 180]++;
  }
  /* Roughly uniform: no tenth of the interval gets over twice its share. */
  for (int b = 0; b < 10; b++)
    assert_true(buckets[b] > 50 && buckets[b] < 200);
}

static void test_heap_pops_in_due_order(void **state)
{
  struct schedule_heap h = {0};
  struct schedule_slot s;
  int64_t last = -1;
  uint64_t rng = 3;

  (void)state;
  assert_null(schedule_peek(&h));
  for (int64_t i = 0; i < 1000; i++) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    assert_int_equal(schedule_push(&h, (int64_t)(rng % 5000), i), 0);
  }
  assert_int_equal(h.n, 1000);
  for (int i = 0; i < 1000; i++) {
    int64_t peeked = schedule_peek(&h)->due;

    assert_int_equal(schedule_pop(&h, &s), 0);
    assert_int_equal(s.due, peeked);
    assert_true(s.due >= last);
    last = s.due;
  }
  assert_int_equal(schedule_pop(&h, &s), -ENOENT);
  schedule_heap_free(&h);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_adaptive_interval_follows_posting_rate),
      cmocka_unit_test(test_configured_interval_wins_within_limits),
      cmocka_unit_test(test_publisher_hint_is_a_floor),
      cmocka_unit_test(test_backoff_doubles_with_jitter_and_cap),
      cmocka_unit_test(test_backoff_jitter_varies),
      cmocka_unit_test(test_retry_after_is_a_floor),
      cmocka_unit_test(test_first_due_spreads_and_is_stable),
      cmocka_unit_test(test_heap_pops_in_due_order),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
