/*
 * hash.h - the hash functions shared by pertop's hash tables, header-only.
 *
 *   hash_mix64(x)        splitmix64's finaliser: every input bit affects
 *                        every output bit, so module ids, nearby addresses
 *                        and interned pointers spread evenly over a
 *                        power-of-two table (mask the low bits).
 *   hash_combine(h, v)   h (a hash) extended by one more value v, order
 *                        dependent: stacks and paths hashed frame by frame.
 *   hash_fib64(x)        Fibonacci hashing, one multiply by 2^64 / phi: for
 *                        the hot tables keyed by aligned addresses; its top
 *                        bits are the well-mixed ones (hash_fib_top).
 *   hash_fnv1a(h, p, n)  FNV-1a over bytes, from h (HASH_FNV64_OFFSET to
 *                        start): strings; hash_fnv1a_str stops at a NUL or
 *                        max bytes.  Its low bits are weak: hash_bytes and
 *                        hash_str put it through hash_mix64 for a table.
 *   hash_fnv1a32(s)      32-bit FNV-1a of a string, for a value that must
 *                        stay the same across runs and builds (SVG colours).
 * None is keyed or meant to resist chosen inputs: tables only.
 */
#ifndef PERTOP_HASH_H
#define PERTOP_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FIB64        0x9e3779b97f4a7c15ull /* 2^64 / golden ratio */
#define HASH_FNV64_OFFSET 0xcbf29ce484222325ull
#define HASH_FNV64_PRIME  0x100000001b3ull
#define HASH_FNV32_OFFSET 2166136261u
#define HASH_FNV32_PRIME  16777619u

static inline uint64_t hash_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static inline uint64_t hash_combine(uint64_t h, uint64_t v)
{
    return hash_mix64(h ^ v);
}

static inline uint64_t hash_fib64(uint64_t x)
{
    return x * HASH_FIB64;
}

/* The top bits (1..32) of hash_fib64(x): an index into a 2^bits table. */
static inline uint32_t hash_fib_top(uint64_t x, unsigned bits)
{
    return (uint32_t)(hash_fib64(x) >> (64 - bits));
}

static inline uint64_t hash_fnv1a(uint64_t h, const void *p, size_t len)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < len; i++)
        h = (h ^ b[i]) * HASH_FNV64_PRIME;
    return h;
}

static inline uint64_t hash_fnv1a_str(uint64_t h, const char *s, size_t max)
{
    for (size_t i = 0; i < max && s[i]; i++)
        h = (h ^ (unsigned char)s[i]) * HASH_FNV64_PRIME;
    return h;
}

static inline uint64_t hash_bytes(const void *p, size_t len)
{
    return hash_mix64(hash_fnv1a(HASH_FNV64_OFFSET, p, len));
}

static inline uint64_t hash_str(const char *s)
{
    return hash_mix64(hash_fnv1a_str(HASH_FNV64_OFFSET, s, SIZE_MAX));
}

static inline uint32_t hash_fnv1a32(const char *s)
{
    uint32_t h = HASH_FNV32_OFFSET;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * HASH_FNV32_PRIME;
    return h;
}

#endif
