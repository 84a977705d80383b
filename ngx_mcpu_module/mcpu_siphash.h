/*
 * mcpu_siphash.h: SipHash-2-4 (Aumasson and Bernstein), a keyed 64-bit
 * hash: tables indexed by client-chosen strings (token cache, last-seen
 * table) use it with a random key, so nobody can aim at one bucket.
 */

#ifndef MCPU_SIPHASH_H
#define MCPU_SIPHASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>


/* SipHash-2-4 (Aumasson and Bernstein): a keyed 64-bit hash */

#define mcpu_rotl(x, b)  (((x) << (b)) | ((x) >> (64 - (b))))

#define mcpu_sipround(v0, v1, v2, v3)                                     \
    do {                                                                      \
        v0 += v1; v1 = mcpu_rotl(v1, 13); v1 ^= v0;                       \
        v0 = mcpu_rotl(v0, 32);                                           \
        v2 += v3; v3 = mcpu_rotl(v3, 16); v3 ^= v2;                       \
        v0 += v3; v3 = mcpu_rotl(v3, 21); v3 ^= v0;                       \
        v2 += v1; v1 = mcpu_rotl(v1, 17); v1 ^= v2;                       \
        v2 = mcpu_rotl(v2, 32);                                           \
    } while (0)


static inline uint64_t
mcpu_siphash(const uint64_t seed[2], const unsigned char *p, size_t len)
{
    size_t    i, left;
    uint64_t  v0, v1, v2, v3, m, b;

    v0 = seed[0] ^ 0x736f6d6570736575ULL;
    v1 = seed[1] ^ 0x646f72616e646f6dULL;
    v2 = seed[0] ^ 0x6c7967656e657261ULL;
    v3 = seed[1] ^ 0x7465646279746573ULL;

    b = (uint64_t) len << 56;
    left = len & 7;

    for (i = 0; i + 8 <= len; i += 8) {
        memcpy(&m, p + i, 8);       /* little-endian hosts (x86-64, arm64) */
        v3 ^= m;
        mcpu_sipround(v0, v1, v2, v3);
        mcpu_sipround(v0, v1, v2, v3);
        v0 ^= m;
    }

    while (left > 0) {
        left--;
        b |= (uint64_t) p[i + left] << (8 * left);
    }

    v3 ^= b;
    mcpu_sipround(v0, v1, v2, v3);
    mcpu_sipround(v0, v1, v2, v3);
    v0 ^= b;

    v2 ^= 0xff;
    mcpu_sipround(v0, v1, v2, v3);
    mcpu_sipround(v0, v1, v2, v3);
    mcpu_sipround(v0, v1, v2, v3);
    mcpu_sipround(v0, v1, v2, v3);

    return v0 ^ v1 ^ v2 ^ v3;
}

#endif /* MCPU_SIPHASH_H */
