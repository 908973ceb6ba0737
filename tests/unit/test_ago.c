/*
 * test_ago.c: "N mins ago" at every unit boundary, singular and plural,
 * the future, extreme inputs and small buffers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ago.h"

#include <string.h>

#define NOW INT64_C(1700000000)

struct ago_case {
  int64_t age; /* seconds before NOW; negative: in the future */
  const char *want;
};

static const struct ago_case cases[] = {
    {-86400, "just now"}, /* a day in the future */
    {-1, "just now"},
    {0, "just now"},
    {1, "just now"},
    {59, "just now"},
    {60, "1 min ago"},
    {119, "1 min ago"},
    {120, "2 mins ago"},
    {12 * 60, "12 mins ago"},
    {3599, "59 mins ago"},
    {3600, "1 hour ago"},
    {7199, "1 hour ago"},
    {7200, "2 hours ago"},
    {86399, "23 hours ago"},
    {86400, "1 day ago"},
    {172799, "1 day ago"},
    {172800, "2 days ago"},
    {604799, "6 days ago"},
    {604800, "1 week ago"},
    {1209599, "1 week ago"},
    {1209600, "2 weeks ago"},
    {21 * 86400, "3 weeks ago"},
    {28 * 86400, "4 weeks ago"},
    {2591999, "4 weeks ago"}, /* 29 days 23:59:59 */
    {2592000, "1 month ago"}, /* 30 days */
    {5183999, "1 month ago"},
    {5184000, "2 months ago"},
    {330 * 86400, "11 months ago"},
    {359 * 86400, "11 months ago"},
    {360 * 86400, "11 months ago"}, /* 12 30-day months, still capped */
    {31535999, "11 months ago"},    /* 364 days 23:59:59 */
    {31536000, "1 year ago"},
    {63071999, "1 year ago"},
    {63072000, "2 years ago"},
    {10 * 31536000, "10 years ago"},
};

static void test_boundaries(void **state)
{
  char buf[64];

  (void)state;
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *got = ago_format(NOW - cases[i].age, NOW, buf, sizeof(buf));

    assert_ptr_equal(got, buf);
    if(strcmp(got, cases[i].want) != 0)
      fail_msg("age %lld: got \"%s\", want \"%s\"", (long long)cases[i].age,
               got, cases[i].want);
  }
}

static void test_extremes(void **state)
{
  char buf[64];

  (void)state;
  /* No overflow at either end of the range. */
  assert_string_equal(ago_format(INT64_MAX, INT64_MIN, buf, sizeof(buf)),
                      "just now");
  assert_string_equal(ago_format(INT64_MIN, INT64_MAX, buf, sizeof(buf)),
                      "584942417355 years ago");
  assert_string_equal(ago_format(INT64_MIN, 0, buf, sizeof(buf)),
                      "292471208677 years ago");
  assert_string_equal(ago_format(0, 0, buf, sizeof(buf)), "just now");
}

static void test_small_buffers(void **state)
{
  char buf[8];

  (void)state;
  memset(buf, 'x', sizeof(buf));
  /* Cut, but always terminated; size 0 writes nothing. */
  assert_string_equal(ago_format(NOW - 720, NOW, buf, 5), "12 m");
  assert_ptr_equal(ago_format(NOW - 720, NOW, buf, 0), buf);
  assert_string_equal(buf, "12 m");
  assert_string_equal(ago_format(NOW, NOW, buf, 1), "");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_boundaries),
      cmocka_unit_test(test_extremes),
      cmocka_unit_test(test_small_buffers),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
