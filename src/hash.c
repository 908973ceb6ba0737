/*
 * hash.c: FNV-1a, 64-bit.
 */
#include "hash.h"

uint64_t hash_bytes(uint64_t h, const void *data, size_t len)
{
  const unsigned char *p = data;

  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= UINT64_C(0x100000001b3);
  }
  return h;
}

void hash_hex(uint64_t h, char buf[17])
{
  static const char digits[] = "0123456789abcdef";

  for (int i = 15; i >= 0; i--) {
    buf[i] = digits[h & 0xf];
    h >>= 4;
  }
  buf[16] = '\0';
}
