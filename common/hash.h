/*
 * hash.h - the integer mixer shared by pertop's hash tables.
 *
 * splitmix64's finaliser: every input bit affects every output bit, so
 * module ids, nearby addresses and interned pointers spread evenly over a
 * power-of-two table.
 */
#ifndef PERTOP_HASH_H
#define PERTOP_HASH_H

#include <stdint.h>

static inline uint64_t hash_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

#endif
