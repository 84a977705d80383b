/*
 * mcpu_bloom.h: the windowed Bloom filter, mcpu-dedup's fast path.
 *
 * mcpu-dedup keeps one filter per Kafka partition.  For each event it asks
 * mcpu_bloom_check_and_add(): 0 means the event is certainly new (the
 * common case: no exact lookup), 1 means "maybe seen", which the caller
 * confirms against exact state before dropping anything.  A Bloom filter
 * has no false negatives, so 0 is never wrong; 1 is wrong with about the
 * configured probability (mcpu_bloom_fp_estimate() gives the current one,
 * checks/maybe count how often the exact check runs).
 *
 * GENERATIONS AND THE WINDOW
 *   The filter is G generations (MCPU_BLOOM_MIN_GENERATIONS to
 *   MCPU_BLOOM_MAX_GENERATIONS), each a bit array sized for
 *   keys_per_generation keys at fp_rate.  Inserts go to the newest; a key
 *   is "maybe seen" if any generation says so.  mcpu_bloom_rotate() drops
 *   the oldest generation and starts an empty one.  The caller rotates by
 *   time, every period P, so a key is remembered for between (G - 1) x P
 *   and G x P after it was last added: the window is G x P, and at least
 *   (G - 1) x P is guaranteed.  A key seen again (check_and_add answering
 *   1) is added to the newest generation too, so its window restarts.
 *   P must be short enough that one generation receives no more than
 *   keys_per_generation keys; beyond that the false-positive rate grows
 *   (never the false-negative rate, which stays 0).
 *
 * HASHING
 *   Two SipHash-2-4 values of the key (mcpu_siphash.h), under the caller's
 *   seed and under the seed xor a fixed constant, give the k bit indexes
 *   by enhanced double hashing (Kirsch and Mitzenmacher; Dillinger):
 *   x = h1, y = h2; for each i: index = x mapped to [0, m), x += y,
 *   y += i.  The seed should be random (getrandom) so that clients cannot
 *   choose keys that collide; the same seed gives the same bits.
 *
 * SIZING (per generation, n = keys_per_generation, p = fp_rate)
 *   m = n x -ln(p) / ln(2)^2 bits, rounded up to a cache line (512 bits);
 *   k = round(m / n x ln 2) = round(-log2(p)), at least 1 (30 at
 *   MCPU_BLOOM_MIN_FP_RATE).  At p = 1% that is 9.59 bits (1.2 bytes) per
 *   key and generation, and k = 7.
 *
 * MEMORY AND THREADS
 *   One allocation, in mcpu_bloom_init(), 64-byte aligned, each generation
 *   starting on a cache line; nothing allocates after it.  No locks: a
 *   filter belongs to one thread (the partition's consumer).
 */

#ifndef MCPU_BLOOM_H
#define MCPU_BLOOM_H

#include <stddef.h>
#include <stdint.h>


#define MCPU_BLOOM_MIN_GENERATIONS  2
#define MCPU_BLOOM_MAX_GENERATIONS  8
#define MCPU_BLOOM_MAX_KEYS         (1ULL << 32)   /* per generation */
#define MCPU_BLOOM_MIN_FP_RATE      1e-9           /* k = 30 */
#define MCPU_BLOOM_MAX_HASHES       32             /* array bound */
#define MCPU_BLOOM_MAX_BYTES        (1ULL << 32)   /* all generations: 4 GiB */

/* return codes */
#define MCPU_BLOOM_OK      0
#define MCPU_BLOOM_ERROR  -1     /* init: with a sentence in err */
#define MCPU_BLOOM_NEW     0     /* certainly not seen in the window */
#define MCPU_BLOOM_MAYBE   1     /* maybe seen: confirm before dropping */


typedef struct {
    uint64_t  *bits;                 /* generations x gen_words words */
    uint64_t   gen_words;            /* per generation, a multiple of 8 */
    uint64_t   gen_bits;             /* m = gen_words x 64 */
    uint64_t   keys_per_generation;  /* n, as configured */
    double     fp_rate;              /* p, as configured */
    uint64_t   hash_key[2][2];       /* SipHash keys of h1 and h2 */
    uint32_t   generations;          /* G */
    uint32_t   hashes;               /* k */
    uint32_t   newest;               /* index of the newest generation */
    uint32_t   reserved0;

    uint64_t   ones[MCPU_BLOOM_MAX_GENERATIONS];  /* bits set, per generation */

    /* counters, for the exporter: only ever incremented */
    uint64_t   checks;               /* mcpu_bloom_check_and_add() calls */
    uint64_t   maybe;                /* of which answered MCPU_BLOOM_MAYBE:
                                        the exact checks the caller runs */
    uint64_t   rotations;
} mcpu_bloom_t;


/**
 * @brief Sizes and allocates an empty filter (see SIZING above).
 * @param generations  MCPU_BLOOM_MIN_GENERATIONS to
 *        MCPU_BLOOM_MAX_GENERATIONS.
 * @param keys_per_generation  1 to MCPU_BLOOM_MAX_KEYS.
 * @param fp_rate  MCPU_BLOOM_MIN_FP_RATE to below 1.
 * @param seed  the SipHash key, 128 random bits.
 * @returns MCPU_BLOOM_OK; MCPU_BLOOM_ERROR with a sentence naming the bad
 *          value in err (parameter out of bounds, total size over
 *          MCPU_BLOOM_MAX_BYTES, out of memory), b then zeroed, so that
 *          mcpu_bloom_free() is still safe.
 * @locality mcpu-dedup, when it is assigned a partition.
 */
int mcpu_bloom_init(mcpu_bloom_t *b, uint32_t generations,
    uint64_t keys_per_generation, double fp_rate, const uint64_t seed[2],
    char *err, size_t err_size);

/** @brief Frees the bit arrays and zeroes b; safe twice or after a failed
 *         init. */
void mcpu_bloom_free(mcpu_bloom_t *b);

/**
 * @brief Whether the key may have been added within the window, and adds
 *        it to the newest generation either way.  Counts checks and maybe.
 * @returns MCPU_BLOOM_NEW (0): certainly not added within the window;
 *          MCPU_BLOOM_MAYBE (1): added, or a false positive.
 * @locality the partition's thread; no allocation, no syscall.
 */
int mcpu_bloom_check_and_add(mcpu_bloom_t *b, const void *key, size_t len);

/**
 * @brief Adds the key to the generation age rotations older than the
 *        newest (0: the newest), as if it had been added then: how state
 *        read back from disk re-enters a fresh filter without extending
 *        its window.  An age of generations or more adds nothing (that key
 *        would already be forgotten).  Counts nothing.
 * @locality the partition's thread; no allocation, no syscall.
 */
void mcpu_bloom_add_at(mcpu_bloom_t *b, uint32_t age, const void *key,
    size_t len);

/**
 * @brief Whether the key may have been added within the window; changes
 *        nothing, counts nothing.
 * @returns 0 (certainly not) or 1 (maybe).
 * @locality the partition's thread; no allocation, no syscall.
 */
int mcpu_bloom_contains(const mcpu_bloom_t *b, const void *key, size_t len);

/**
 * @brief Drops the oldest generation and starts an empty newest one: what
 *        was added G rotations ago, and not since, is forgotten.
 * @locality the partition's thread, every window / G; clears
 *           gen_words x 8 bytes.
 */
void mcpu_bloom_rotate(mcpu_bloom_t *b);

/**
 * @brief The share of the newest generation's bits that are set, 0 to 1:
 *        about 0.5 at the designed fill (keys_per_generation keys).
 */
double mcpu_bloom_fill_ratio(const mcpu_bloom_t *b);

/**
 * @brief The probability that a key never added is answered "maybe" now:
 *        1 - product over the generations of (1 - fill^k).  With only the
 *        newest generation filled it is that generation's fill^k.
 */
double mcpu_bloom_fp_estimate(const mcpu_bloom_t *b);

/** @brief The bytes of the bit arrays (all generations). */
size_t mcpu_bloom_memory(const mcpu_bloom_t *b);

#endif /* MCPU_BLOOM_H */
