/*
 * hash.h: a fast non-cryptographic 64-bit hash (FNV-1a) for derived entry
 * ids and content fingerprints.
 */
#ifndef FRESHET_HASH_H
#define FRESHET_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_SEED UINT64_C(0xcbf29ce484222325)

/* Returns the FNV-1a hash of len bytes, continuing from h (HASH_SEED to
 * start). */
uint64_t hash_bytes(uint64_t h, const void *data, size_t len);

/* Writes h as 16 lowercase hex digits plus NUL into buf. */
void hash_hex(uint64_t h, char buf[17]);

#endif
