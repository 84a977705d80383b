/*
 * mcpu_bloom.c: the windowed Bloom filter: sizing, hashing, check, add and
 * rotation.  The contract (window, hashing, sizing): mcpu_bloom.h.
 * Pure C, libm for the sizing; linked into mcpu-dedup and tests.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcpu_bloom.h"
#include "mcpu_siphash.h"


/* h2's key is the seed xor this ("mcpu-bl2"), so h1 and h2 are independent */
#define MCPU_BLOOM_KEY2_XOR  0x326c622d7570636dULL

/* each generation starts on a 64-byte cache line */
#define MCPU_BLOOM_LINE_WORDS  8


static void mcpu_bloom_indexes(const mcpu_bloom_t *b, const void *key,
    size_t len, uint64_t *idx);
static int mcpu_bloom_gen_has(const mcpu_bloom_t *b, uint32_t g,
    const uint64_t *idx);
static uint64_t *mcpu_bloom_gen(const mcpu_bloom_t *b, uint32_t g);


int
mcpu_bloom_init(mcpu_bloom_t *b, uint32_t generations,
    uint64_t keys_per_generation, double fp_rate, const uint64_t seed[2],
    char *err, size_t err_size)
{
    double    bits, k;
    uint64_t  words, bytes;

    memset(b, 0, sizeof(*b));

    if (generations < MCPU_BLOOM_MIN_GENERATIONS
        || generations > MCPU_BLOOM_MAX_GENERATIONS)
    {
        snprintf(err, err_size, "bloom generations must be from %d to %d, "
                 "not %u", MCPU_BLOOM_MIN_GENERATIONS,
                 MCPU_BLOOM_MAX_GENERATIONS, generations);
        return MCPU_BLOOM_ERROR;
    }

    if (keys_per_generation == 0 || keys_per_generation > MCPU_BLOOM_MAX_KEYS) {
        snprintf(err, err_size, "bloom keys per generation must be from 1 to "
                 "%llu, not %llu", MCPU_BLOOM_MAX_KEYS,
                 (unsigned long long) keys_per_generation);
        return MCPU_BLOOM_ERROR;
    }

    /* written so that NaN fails too */
    if (!(fp_rate >= MCPU_BLOOM_MIN_FP_RATE && fp_rate < 1.0)) {
        snprintf(err, err_size, "bloom false-positive rate must be from %g "
                 "to below 1, not %g", MCPU_BLOOM_MIN_FP_RATE, fp_rate);
        return MCPU_BLOOM_ERROR;
    }

    if (seed == NULL) {
        snprintf(err, err_size, "bloom needs a seed");
        return MCPU_BLOOM_ERROR;
    }

    /* in doubles first: n <= 2^32 and -ln(p) <= 21, so no overflow here */
    bits = ceil((double) keys_per_generation * -log(fp_rate)
                / (M_LN2 * M_LN2));
    if (bits * generations > (double) MCPU_BLOOM_MAX_BYTES * 8) {
        snprintf(err, err_size, "bloom of %u generations of %llu keys at %g "
                 "would need %.0f bytes, over the maximum of %llu",
                 generations, (unsigned long long) keys_per_generation,
                 fp_rate, bits * generations / 8, MCPU_BLOOM_MAX_BYTES);
        return MCPU_BLOOM_ERROR;
    }

    words = ((uint64_t) bits + 63) / 64;
    words = (words + MCPU_BLOOM_LINE_WORDS - 1) / MCPU_BLOOM_LINE_WORDS
            * MCPU_BLOOM_LINE_WORDS;
    bytes = words * 8 * generations;

    if (bytes > MCPU_BLOOM_MAX_BYTES) {
        snprintf(err, err_size, "bloom would need %llu bytes, over the "
                 "maximum of %llu", (unsigned long long) bytes,
                 MCPU_BLOOM_MAX_BYTES);
        return MCPU_BLOOM_ERROR;
    }

    /* from the design, not the rounded m: the extra bits only help */
    k = round(-log(fp_rate) / M_LN2);
    if (k < 1) {
        k = 1;
    }

    if (k > MCPU_BLOOM_MAX_HASHES) {
        k = MCPU_BLOOM_MAX_HASHES;
    }

    b->bits = aligned_alloc(64, bytes);
    if (b->bits == NULL) {
        snprintf(err, err_size, "bloom: out of memory for %llu bytes",
                 (unsigned long long) bytes);
        return MCPU_BLOOM_ERROR;
    }

    memset(b->bits, 0, bytes);

    b->gen_words = words;
    b->gen_bits = words * 64;
    b->keys_per_generation = keys_per_generation;
    b->fp_rate = fp_rate;
    b->hash_key[0][0] = seed[0];
    b->hash_key[0][1] = seed[1];
    b->hash_key[1][0] = seed[0] ^ MCPU_BLOOM_KEY2_XOR;
    b->hash_key[1][1] = seed[1] ^ MCPU_BLOOM_KEY2_XOR;
    b->generations = generations;
    b->hashes = (uint32_t) k;
    b->newest = 0;

    return MCPU_BLOOM_OK;
}


void
mcpu_bloom_free(mcpu_bloom_t *b)
{
    free(b->bits);
    memset(b, 0, sizeof(*b));
}


int
mcpu_bloom_check_and_add(mcpu_bloom_t *b, const void *key, size_t len)
{
    int        seen;
    uint32_t   i, g;
    uint64_t   idx[MCPU_BLOOM_MAX_HASHES], *w, mask;

    mcpu_bloom_indexes(b, key, len, idx);

    /* the newest generation: test and set in one pass */
    w = mcpu_bloom_gen(b, b->newest);
    seen = 1;

    for (i = 0; i < b->hashes; i++) {
        mask = 1ULL << (idx[i] & 63);

        if ((w[idx[i] >> 6] & mask) == 0) {
            w[idx[i] >> 6] |= mask;
            b->ones[b->newest]++;
            seen = 0;
        }
    }

    /* then the older ones, newest first */
    for (g = 1; !seen && g < b->generations; g++) {
        seen = mcpu_bloom_gen_has(b, (b->newest + b->generations - g)
                                     % b->generations, idx);
    }

    b->checks++;
    b->maybe += seen;

    return seen ? MCPU_BLOOM_MAYBE : MCPU_BLOOM_NEW;
}


void
mcpu_bloom_add_at(mcpu_bloom_t *b, uint32_t age, const void *key, size_t len)
{
    uint32_t   i, g;
    uint64_t   idx[MCPU_BLOOM_MAX_HASHES], *w, mask;

    if (age >= b->generations) {
        return;
    }

    mcpu_bloom_indexes(b, key, len, idx);

    g = (b->newest + b->generations - age) % b->generations;
    w = mcpu_bloom_gen(b, g);

    for (i = 0; i < b->hashes; i++) {
        mask = 1ULL << (idx[i] & 63);

        if ((w[idx[i] >> 6] & mask) == 0) {
            w[idx[i] >> 6] |= mask;
            b->ones[g]++;
        }
    }
}


int
mcpu_bloom_contains(const mcpu_bloom_t *b, const void *key, size_t len)
{
    uint32_t  g;
    uint64_t  idx[MCPU_BLOOM_MAX_HASHES];

    mcpu_bloom_indexes(b, key, len, idx);

    for (g = 0; g < b->generations; g++) {
        if (mcpu_bloom_gen_has(b, (b->newest + b->generations - g)
                                  % b->generations, idx))
        {
            return 1;
        }
    }

    return 0;
}


void
mcpu_bloom_rotate(mcpu_bloom_t *b)
{
    /* the oldest is the one after the newest; it becomes the newest */
    b->newest = (b->newest + 1) % b->generations;
    memset(mcpu_bloom_gen(b, b->newest), 0, b->gen_words * 8);
    b->ones[b->newest] = 0;
    b->rotations++;
}


double
mcpu_bloom_fill_ratio(const mcpu_bloom_t *b)
{
    if (b->bits == NULL) {
        return 0.0;
    }

    return (double) b->ones[b->newest] / (double) b->gen_bits;
}


double
mcpu_bloom_fp_estimate(const mcpu_bloom_t *b)
{
    double    none, f, p;
    uint32_t  g, i;

    if (b->bits == NULL) {
        return 0.0;
    }

    none = 1.0;

    for (g = 0; g < b->generations; g++) {
        f = (double) b->ones[g] / (double) b->gen_bits;
        p = 1.0;

        for (i = 0; i < b->hashes; i++) {
            p *= f;
        }

        none *= 1.0 - p;
    }

    return 1.0 - none;
}


size_t
mcpu_bloom_memory(const mcpu_bloom_t *b)
{
    return (size_t) (b->gen_words * 8 * b->generations);
}


/* the k bit indexes of key, each in [0, gen_bits) */
static void
mcpu_bloom_indexes(const mcpu_bloom_t *b, const void *key, size_t len,
    uint64_t *idx)
{
    uint32_t  i;
    uint64_t  x, y;

    x = mcpu_siphash(b->hash_key[0], key, len);
    y = mcpu_siphash(b->hash_key[1], key, len);

    for (i = 0; i < b->hashes; i++) {
        /* x scaled to [0, m) by its high bits (Lemire): no division */
        idx[i] = (uint64_t) (((unsigned __int128) x * b->gen_bits) >> 64);
        x += y;
        y += i;
    }
}


static int
mcpu_bloom_gen_has(const mcpu_bloom_t *b, uint32_t g, const uint64_t *idx)
{
    uint32_t         i;
    const uint64_t  *w;

    if (b->ones[g] == 0) {
        return 0;
    }

    w = mcpu_bloom_gen(b, g);

    for (i = 0; i < b->hashes; i++) {
        if ((w[idx[i] >> 6] & (1ULL << (idx[i] & 63))) == 0) {
            return 0;
        }
    }

    return 1;
}


static uint64_t *
mcpu_bloom_gen(const mcpu_bloom_t *b, uint32_t g)
{
    return b->bits + (uint64_t) g * b->gen_words;
}
