/*
 * test_bloom.c: tests of dedup/mcpu_bloom.c (mcpu-dedup's windowed Bloom
 * filter).
 *
 * Keys are 16 bytes: a counter and a per-set salt from MCPU_TEST_SEED, so
 * the sets "added" and "never added" are disjoint by construction and a
 * failing run can be repeated.  Loop counts scale with MCPU_TEST_SCALE
 * (e.g. 0.05 under valgrind); the statistical bounds hold at any scale
 * down to that (the false-positive test expects >= 500 hits there).
 */

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mcpu_bloom.h"
#include "mcpu_test.h"


#define ERR_SIZE  256

/* salts of disjoint key sets */
#define SET_ADDED    1
#define SET_UNSEEN   2
#define SET_OTHER    3


static void
seed_of(uint64_t seed[2], uint64_t extra)
{
    seed[0] = mcpu_test_seed() ^ 0x0123456789abcdefULL ^ extra;
    seed[1] = (mcpu_test_seed() + extra) * 0xff51afd7ed558ccdULL;
}


static int
bloom(mcpu_bloom_t *b, uint32_t generations, uint64_t keys, double fp)
{
    int       rc;
    char      err[ERR_SIZE] = "";
    uint64_t  seed[2];

    seed_of(seed, 0);
    rc = mcpu_bloom_init(b, generations, keys, fp, seed, err, sizeof(err));
    if (rc != MCPU_BLOOM_OK) {
        return FAIL_MSG("mcpu_bloom_init(%u, %" PRIu64 ", %g): %s",
                        generations, keys, fp, err);
    }

    return 1;
}


static uint64_t
add_set(mcpu_bloom_t *b, uint64_t count, uint64_t set)
{
    uint64_t  i, maybe = 0;
    mcpu_test_key_t  k;

    for (i = 0; i < count; i++) {
        k = mcpu_test_key(i, set);
        maybe += mcpu_bloom_check_and_add(b, &k, sizeof(k));
    }

    return maybe;
}


static uint64_t
count_contained(const mcpu_bloom_t *b, uint64_t count, uint64_t set)
{
    uint64_t  i, found = 0;
    mcpu_test_key_t  k;

    for (i = 0; i < count; i++) {
        k = mcpu_test_key(i, set);
        found += mcpu_bloom_contains(b, &k, sizeof(k));
    }

    return found;
}


/* ---- tests ---- */

static void
test_bloom_added_keys_are_always_found(const char *dir)
{
    uint64_t      n = mcpu_test_scaled(1000000), i;
    mcpu_test_key_t    k;
    mcpu_bloom_t  b;

    (void) dir;

    if (!bloom(&b, 4, n, 0.01)) {
        return;
    }

    add_set(&b, n, SET_ADDED);

    /* each one, by contains and by check_and_add */
    CHECK_EQ_U64(count_contained(&b, n, SET_ADDED), n);

    for (i = 0; i < n; i++) {
        k = mcpu_test_key(i, SET_ADDED);
        if (mcpu_bloom_check_and_add(&b, &k, sizeof(k)) != MCPU_BLOOM_MAYBE) {
            FAIL_MSG("key %" PRIu64 " answered new after it was added", i);
        }
    }

    /* and still in the oldest generation, after every rotation but the last */
    for (i = 1; i < b.generations; i++) {
        mcpu_bloom_rotate(&b);
    }

    CHECK_EQ_U64(count_contained(&b, n, SET_ADDED), n);

    mcpu_bloom_free(&b);
}


static void
test_bloom_fp_rate_within_1_5x_at_designed_fill(const char *dir)
{
    double        rates[] = { 0.01, 0.001 }, measured, estimate;
    uint64_t      n = mcpu_test_scaled(100000), q, hits;
    unsigned      r;
    mcpu_bloom_t  b;

    (void) dir;

    for (r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
        if (!bloom(&b, 2, n, rates[r])) {
            return;
        }

        add_set(&b, n, SET_ADDED);

        /* 2000 expected false positives, 100 at MCPU_TEST_SCALE=0.05 */
        q = mcpu_test_scaled((uint64_t) (2000.0 / rates[r]));
        hits = count_contained(&b, q, SET_UNSEEN);
        measured = (double) hits / (double) q;
        estimate = mcpu_bloom_fp_estimate(&b);

        printf("# fp %g: measured %.5f over %" PRIu64 " unseen keys, estimate "
               "%.5f, k %u, %.2f bits per key, fill %.3f\n", rates[r],
               measured, q, estimate, b.hashes,
               (double) b.gen_bits / (double) n, mcpu_bloom_fill_ratio(&b));

        CHECK(measured <= 1.5 * rates[r]);
        /* sized, not oversized: a filter far better than asked wastes memory */
        CHECK(measured >= 0.5 * rates[r]);
        /* the estimate is the expectation given the fill: 5 sigma */
        CHECK(fabs(estimate - measured) <= 5.0 * sqrt(estimate / (double) q));

        mcpu_bloom_free(&b);
    }
}


static void
test_bloom_rotation_forgets_after_g_rotations_not_before(const char *dir)
{
    uint64_t      n = 1000, rot;
    uint32_t      g;
    mcpu_bloom_t  b;

    (void) dir;

    for (g = MCPU_BLOOM_MIN_GENERATIONS; g <= MCPU_BLOOM_MAX_GENERATIONS; g++) {
        if (!bloom(&b, g, n, 0.001)) {
            return;
        }

        add_set(&b, n, SET_ADDED);

        for (rot = 1; rot < g; rot++) {
            mcpu_bloom_rotate(&b);
            if (!CHECK_EQ_U64(count_contained(&b, n, SET_ADDED), n)) {
                FAIL_MSG("forgotten after %" PRIu64 " of %u rotations",
                         rot, g);
            }
        }

        /* the G-th drops the generation they were in: every bit is 0 */
        mcpu_bloom_rotate(&b);
        CHECK_EQ_U64(count_contained(&b, n, SET_ADDED), 0);
        CHECK(mcpu_bloom_fp_estimate(&b) == 0.0);
        CHECK_EQ_U64(b.rotations, g);

        mcpu_bloom_free(&b);
    }
}


static void
test_bloom_add_at_age_is_forgotten_after_g_minus_age_rotations(
    const char *dir)
{
    uint64_t      i, n = 1000, before;
    uint32_t      age, rot, g = 4;
    mcpu_test_key_t    k;
    mcpu_bloom_t  b;

    (void) dir;

    for (age = 0; age <= g; age++) {
        if (!bloom(&b, g, n, 0.001)) {
            return;
        }

        before = b.checks;

        for (i = 0; i < n; i++) {
            k = mcpu_test_key(i, SET_ADDED);
            mcpu_bloom_add_at(&b, age, &k, sizeof(k));
        }

        /* restored state is not traffic: nothing counted */
        CHECK_EQ_U64(b.checks, before);

        if (age == g) {
            /* older than the window: nothing to remember */
            CHECK_EQ_U64(count_contained(&b, n, SET_ADDED), 0);
            mcpu_bloom_free(&b);
            continue;
        }

        for (rot = 0; rot < g - age; rot++) {
            if (!CHECK_EQ_U64(count_contained(&b, n, SET_ADDED), n)) {
                FAIL_MSG("age %u: forgotten after %u rotations", age, rot);
            }
            mcpu_bloom_rotate(&b);
        }

        CHECK_EQ_U64(count_contained(&b, n, SET_ADDED), 0);
        mcpu_bloom_free(&b);
    }
}


static void
test_bloom_seen_again_restarts_the_window(const char *dir)
{
    uint32_t      i;
    mcpu_test_key_t    k = mcpu_test_key(7, SET_ADDED);
    mcpu_bloom_t  b;

    (void) dir;

    if (!bloom(&b, 3, 1000, 0.001)) {
        return;
    }

    CHECK_EQ_INT(mcpu_bloom_check_and_add(&b, &k, sizeof(k)), MCPU_BLOOM_NEW);

    /* seen again in the last generation that still holds it */
    mcpu_bloom_rotate(&b);
    mcpu_bloom_rotate(&b);
    CHECK_EQ_INT(mcpu_bloom_check_and_add(&b, &k, sizeof(k)), MCPU_BLOOM_MAYBE);

    for (i = 1; i < b.generations; i++) {
        mcpu_bloom_rotate(&b);
        CHECK_EQ_INT(mcpu_bloom_contains(&b, &k, sizeof(k)), 1);
    }

    mcpu_bloom_rotate(&b);
    CHECK_EQ_INT(mcpu_bloom_contains(&b, &k, sizeof(k)), 0);

    mcpu_bloom_free(&b);
}


static void
test_bloom_check_and_add_new_then_repeated(const char *dir)
{
    uint64_t      n = mcpu_test_scaled(10000);
    mcpu_bloom_t  b;

    (void) dir;

    /* 1e-9: a false "maybe" among n new keys has odds of about 1e-5 */
    if (!bloom(&b, 2, n, MCPU_BLOOM_MIN_FP_RATE)) {
        return;
    }

    CHECK_EQ_INT(b.hashes, 30);

    CHECK_EQ_U64(add_set(&b, n, SET_ADDED), 0);
    CHECK_EQ_U64(b.checks, n);
    CHECK_EQ_U64(b.maybe, 0);

    CHECK_EQ_U64(add_set(&b, n, SET_ADDED), n);
    CHECK_EQ_U64(b.checks, 2 * n);
    CHECK_EQ_U64(b.maybe, n);

    /* a repeat found only in an older generation is "maybe" too */
    mcpu_bloom_rotate(&b);
    CHECK_EQ_U64(add_set(&b, n, SET_ADDED), n);

    /* contains counts nothing */
    CHECK_EQ_U64(count_contained(&b, n, SET_OTHER), 0);
    CHECK_EQ_U64(b.checks, 3 * n);

    mcpu_bloom_free(&b);
}


static void
test_bloom_init_refuses_bad_parameters(const char *dir)
{
    char          err[ERR_SIZE];
    uint64_t      seed[2] = { 1, 2 };
    unsigned      i;
    mcpu_bloom_t  b;

    static const struct {
        uint32_t     generations;
        uint64_t     keys;
        double       fp;
        const char  *says;
    } bad[] = {
        { 0, 1000, 0.01, "generations" },
        { 1, 1000, 0.01, "generations" },
        { MCPU_BLOOM_MAX_GENERATIONS + 1, 1000, 0.01, "generations" },
        { UINT32_MAX, 1000, 0.01, "generations" },
        { 2, 0, 0.01, "keys per generation" },
        { 2, MCPU_BLOOM_MAX_KEYS + 1, 0.01, "keys per generation" },
        { 2, UINT64_MAX, 0.01, "keys per generation" },
        { 2, 1000, 0.0, "false-positive rate" },
        { 2, 1000, 1.0, "false-positive rate" },
        { 2, 1000, -0.01, "false-positive rate" },
        { 2, 1000, 1.5, "false-positive rate" },
        { 2, 1000, MCPU_BLOOM_MIN_FP_RATE / 2, "false-positive rate" },
        { 2, 1000, NAN, "false-positive rate" },
        { 2, 1000, INFINITY, "false-positive rate" },
        /* each parameter allowed, the product too large */
        { 2, MCPU_BLOOM_MAX_KEYS, 0.01, "over the maximum" },
        { 8, 1ULL << 31, 0.01, "over the maximum" },
        { 2, MCPU_BLOOM_MAX_KEYS, MCPU_BLOOM_MIN_FP_RATE, "over the maximum" },
    };

    (void) dir;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        memset(&b, 0xa5, sizeof(b));

        if (!CHECK_EQ_INT(mcpu_bloom_init(&b, bad[i].generations, bad[i].keys,
                                          bad[i].fp, seed, err, sizeof(err)),
                          MCPU_BLOOM_ERROR))
        {
            FAIL_MSG("case %u accepted", i);
            mcpu_bloom_free(&b);
            continue;
        }

        CHECK_STR_CONTAINS(err, bad[i].says);
        CHECK(b.bits == NULL);
        mcpu_bloom_free(&b);
    }

    err[0] = '\0';
    CHECK_EQ_INT(mcpu_bloom_init(&b, 2, 1000, 0.01, NULL, err, sizeof(err)),
                 MCPU_BLOOM_ERROR);
    CHECK_STR_CONTAINS(err, "seed");

    /* the bounds themselves are accepted */
    CHECK_EQ_INT(mcpu_bloom_init(&b, MCPU_BLOOM_MIN_GENERATIONS, 1, 0.999,
                                 seed, err, sizeof(err)), MCPU_BLOOM_OK);
    CHECK_EQ_INT(b.hashes, 1);
    CHECK_EQ_U64(mcpu_bloom_memory(&b), 2 * 64);
    mcpu_bloom_free(&b);
    mcpu_bloom_free(&b);

    CHECK_EQ_INT(mcpu_bloom_init(&b, MCPU_BLOOM_MAX_GENERATIONS, 1,
                                 MCPU_BLOOM_MIN_FP_RATE, seed, err,
                                 sizeof(err)), MCPU_BLOOM_OK);
    CHECK_EQ_INT(b.hashes, 30);
    mcpu_bloom_free(&b);
}


static void
test_bloom_fill_ratio_grows_and_resets_on_rotation(const char *dir)
{
    double        prev, f, est_full;
    uint64_t      n = mcpu_test_scaled(100000), step, i;
    mcpu_bloom_t  b;

    (void) dir;

    if (!bloom(&b, 3, n, 0.01)) {
        return;
    }

    CHECK(mcpu_bloom_fill_ratio(&b) == 0.0);
    CHECK(mcpu_bloom_fp_estimate(&b) == 0.0);

    prev = 0.0;
    step = n / 10 ? n / 10 : 1;

    for (i = 0; i < n; i += step) {
        add_set(&b, i + step < n ? i + step : n, SET_ADDED);
        f = mcpu_bloom_fill_ratio(&b);
        CHECK(f > prev);
        prev = f;
    }

    /* about half the bits at the designed fill: 1 - e^(-kn/m) */
    f = 1.0 - exp(-(double) b.hashes * (double) n / (double) b.gen_bits);
    printf("# fill at %" PRIu64 " keys: %.4f, expected %.4f\n", n, prev, f);
    CHECK(fabs(prev - f) < 0.02);

    /* the newest is empty after a rotation; the estimate keeps the older */
    mcpu_bloom_rotate(&b);
    CHECK(mcpu_bloom_fill_ratio(&b) == 0.0);
    est_full = mcpu_bloom_fp_estimate(&b);
    CHECK(est_full > 0.005);

    add_set(&b, n / 2, SET_OTHER);
    CHECK(mcpu_bloom_fill_ratio(&b) > 0.0);
    CHECK(mcpu_bloom_fill_ratio(&b) < prev);

    mcpu_bloom_rotate(&b);
    mcpu_bloom_rotate(&b);
    CHECK(mcpu_bloom_fill_ratio(&b) == 0.0);
    /* left: the generation of n / 2 keys */
    CHECK(mcpu_bloom_fp_estimate(&b) > 0.0);
    CHECK(mcpu_bloom_fp_estimate(&b) < est_full);

    mcpu_bloom_free(&b);
}


static void
test_bloom_different_seeds_give_different_bits(const char *dir)
{
    char          err[ERR_SIZE];
    size_t        bytes;
    uint64_t      s1[2], s2[2], n = 1000;
    mcpu_bloom_t  a, b, c;

    (void) dir;

    seed_of(s1, 1);
    seed_of(s2, 2);

    if (!CHECK_EQ_INT(mcpu_bloom_init(&a, 2, n, 0.01, s1, err, sizeof(err)), 0)
        || !CHECK_EQ_INT(mcpu_bloom_init(&b, 2, n, 0.01, s2, err, sizeof(err)),
                         0)
        || !CHECK_EQ_INT(mcpu_bloom_init(&c, 2, n, 0.01, s1, err, sizeof(err)),
                         0))
    {
        return;
    }

    add_set(&a, n, SET_ADDED);
    add_set(&b, n, SET_ADDED);
    add_set(&c, n, SET_ADDED);

    bytes = mcpu_bloom_memory(&a);
    CHECK_EQ_U64(mcpu_bloom_memory(&b), bytes);

    CHECK(memcmp(a.bits, b.bits, bytes) != 0);
    CHECK_MEM_EQ(a.bits, c.bits, bytes);

    /* and the keys are found under either seed */
    CHECK_EQ_U64(count_contained(&a, n, SET_ADDED), n);
    CHECK_EQ_U64(count_contained(&b, n, SET_ADDED), n);

    mcpu_bloom_free(&a);
    mcpu_bloom_free(&b);
    mcpu_bloom_free(&c);
}


static void
test_bloom_memory_is_about_1_2_bytes_per_key_at_1_percent(const char *dir)
{
    char          err[ERR_SIZE];
    size_t        bytes;
    uint64_t      seed[2] = { 3, 4 };
    mcpu_bloom_t  b;

    (void) dir;

    /* allocated, not filled: no scaling needed */
    if (!CHECK_EQ_INT(mcpu_bloom_init(&b, 2, 1000000, 0.01, seed, err,
                                      sizeof(err)), MCPU_BLOOM_OK))
    {
        return;
    }

    bytes = mcpu_bloom_memory(&b);
    printf("# 1,000,000 keys at 1%%: %zu bytes per generation, k %u\n",
           bytes / 2, b.hashes);

    /* 9.585 bits per key, rounded up to a cache line */
    CHECK(bytes / 2 >= 1198132 && bytes / 2 <= 1198132 + 64);
    CHECK_EQ_INT(b.hashes, 7);
    CHECK_EQ_U64((uintptr_t) b.bits % 64, 0);

    mcpu_bloom_free(&b);
}


TEST_LIST = {
    { "test_bloom_added_keys_are_always_found",
      test_bloom_added_keys_are_always_found },
    { "test_bloom_fp_rate_within_1_5x_at_designed_fill",
      test_bloom_fp_rate_within_1_5x_at_designed_fill },
    { "test_bloom_rotation_forgets_after_g_rotations_not_before",
      test_bloom_rotation_forgets_after_g_rotations_not_before },
    { "test_bloom_add_at_age_is_forgotten_after_g_minus_age_rotations",
      test_bloom_add_at_age_is_forgotten_after_g_minus_age_rotations },
    { "test_bloom_seen_again_restarts_the_window",
      test_bloom_seen_again_restarts_the_window },
    { "test_bloom_check_and_add_new_then_repeated",
      test_bloom_check_and_add_new_then_repeated },
    { "test_bloom_init_refuses_bad_parameters",
      test_bloom_init_refuses_bad_parameters },
    { "test_bloom_fill_ratio_grows_and_resets_on_rotation",
      test_bloom_fill_ratio_grows_and_resets_on_rotation },
    { "test_bloom_different_seeds_give_different_bits",
      test_bloom_different_seeds_give_different_bits },
    { "test_bloom_memory_is_about_1_2_bytes_per_key_at_1_percent",
      test_bloom_memory_is_about_1_2_bytes_per_key_at_1_percent },
    { NULL, NULL }
};

MCPU_TEST_MAIN()
