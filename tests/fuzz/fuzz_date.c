/*
 * fuzz_date.c: libFuzzer target for date_parse and date_format_rfc3339.
 * Any input must either be refused with -EINVAL and INT64_MIN, or give an
 * instant that formats (or is outside years 0000-9999) and that parses back
 * to itself from its RFC 3339 form. abort() marks anything else.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"

/* Longer inputs teach the fuzzer nothing a date can hold. */
#define FUZZ_MAX_INPUT 4096

/* Whether buf looks like "YYYY-MM-DDTHH:MM:SSZ". */
static int looks_rfc3339(const char *buf)
{
  static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";

  for (size_t i = 0; i < sizeof(shape); i++) {
    if (shape[i] == 'd') {
      if (buf[i] < '0' || buf[i] > '9')
        return 0;
    } else if (buf[i] != shape[i]) {
      return 0;
    }
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char s[FUZZ_MAX_INPUT + 1];
  char buf[DATE_RFC3339_SIZE];
  int64_t t = 0, back = 0;
  int rc;

  if (size > FUZZ_MAX_INPUT)
    return 0;
  memcpy(s, data, size);
  s[size] = '\0';

  rc = date_parse(s, &t);
  if (rc == -EINVAL) {
    if (t != INT64_MIN)
      abort();
    return 0;
  }
  if (rc != 0 || t == INT64_MIN)
    abort();

  rc = date_format_rfc3339(t, buf);
  if (rc == -EINVAL) {
    if (buf[0] != '\0')
      abort();
    return 0;
  }
  if (rc != 0 || strlen(buf) != DATE_RFC3339_SIZE - 1 || !looks_rfc3339(buf))
    abort();
  if (date_parse(buf, &back) != 0 || back != t)
    abort();
  return 0;
}
