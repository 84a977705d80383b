/*
 * test_dedup_state.c: tests of dedup/mcpu_dedup_state.c (mcpu-dedup's exact
 * state in LMDB).
 *
 * Each test keeps its state in "state" under the test's own scratch
 * directory.  Keys are 16 bytes: a counter and a salt from MCPU_TEST_SEED,
 * so a failing run can be repeated.  Few commits (each syncs), so the file
 * runs in well under 2 s.
 */

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include "mcpu_dedup_state.h"
#include "mcpu_test.h"


#define ERR_SIZE     512
#define MAP_BYTES    ((size_t) 16 << 20)
#define PERIOD_MS    60000

#define SET_A        1
#define SET_B        2
#define SET_C        3


static void
state_path(char *path, size_t size, const char *dir)
{
    snprintf(path, size, "%s/state", dir);
}


static int
state_open(mcpu_dedup_state_t *st, const char *dir, size_t map_bytes,
    int32_t partitions, uint32_t generations, int64_t period_ms)
{
    char  path[4096], err[ERR_SIZE] = "";

    state_path(path, sizeof(path), dir);

    if (mcpu_dedup_state_open(st, path, map_bytes, partitions, generations,
                              period_ms, err, sizeof(err))
        != MCPU_DEDUP_STATE_OK)
    {
        return FAIL_MSG("mcpu_dedup_state_open(\"%s\"): %s", path, err);
    }

    return 1;
}


static int
begin(mcpu_dedup_state_t *st)
{
    char  err[ERR_SIZE] = "";

    if (mcpu_dedup_state_begin(st, err, sizeof(err)) != MCPU_DEDUP_STATE_OK) {
        return FAIL_MSG("mcpu_dedup_state_begin: %s", err);
    }

    return 1;
}


static int
commit(mcpu_dedup_state_t *st)
{
    char  err[ERR_SIZE] = "";

    if (mcpu_dedup_state_commit(st, err, sizeof(err)) != MCPU_DEDUP_STATE_OK)
    {
        return FAIL_MSG("mcpu_dedup_state_commit: %s", err);
    }

    return 1;
}


/* 1 seen, 0 not, -1 error (reported) */
static int
seen(mcpu_dedup_state_t *st, int32_t p, uint64_t n, uint64_t set)
{
    int         rc;
    char        err[ERR_SIZE] = "";
    mcpu_test_key_t  k = mcpu_test_key(n, set);

    rc = mcpu_dedup_state_seen(st, p, &k, sizeof(k), err, sizeof(err));
    if (rc != 0 && rc != 1) {
        FAIL_MSG("mcpu_dedup_state_seen(p %d, key %" PRIu64 "): rc %d: %s",
                 (int) p, n, rc, err);
        return -1;
    }

    return rc;
}


static int
add(mcpu_dedup_state_t *st, int32_t p, int64_t gen, uint64_t n, uint64_t set)
{
    char        err[ERR_SIZE] = "";
    mcpu_test_key_t  k = mcpu_test_key(n, set);

    if (mcpu_dedup_state_add(st, p, gen, &k, sizeof(k), err, sizeof(err))
        != MCPU_DEDUP_STATE_OK)
    {
        return FAIL_MSG("mcpu_dedup_state_add(p %d, gen %" PRId64 ", key %"
                        PRIu64 "): %s", (int) p, gen, n, err);
    }

    return 1;
}


/* keys [from, to) of set into p's generation gen */
static int
add_range(mcpu_dedup_state_t *st, int32_t p, int64_t gen, uint64_t from,
    uint64_t to, uint64_t set)
{
    uint64_t  i;

    for (i = from; i < to; i++) {
        if (!add(st, p, gen, i, set)) {
            return 0;
        }
    }

    return 1;
}


/* how many of keys [from, to) of set p sees */
static uint64_t
count_seen(mcpu_dedup_state_t *st, int32_t p, uint64_t from, uint64_t to,
    uint64_t set)
{
    uint64_t  i, n = 0;

    for (i = from; i < to; i++) {
        n += seen(st, p, i, set) == 1;
    }

    return n;
}


static mcpu_dedup_meta_t
meta_get(mcpu_dedup_state_t *st, int32_t p)
{
    char               err[ERR_SIZE] = "";
    mcpu_dedup_meta_t  m = { -2, -2 };

    if (mcpu_dedup_state_meta_get(st, p, &m, err, sizeof(err))
        != MCPU_DEDUP_STATE_OK)
    {
        FAIL_MSG("mcpu_dedup_state_meta_get(p %d): %s", (int) p, err);
    }

    return m;
}


static int
meta_put(mcpu_dedup_state_t *st, int32_t p, int64_t raw_next,
    int64_t clean_next)
{
    char               err[ERR_SIZE] = "";
    mcpu_dedup_meta_t  m;

    m.raw_next = raw_next;
    m.clean_next = clean_next;

    if (mcpu_dedup_state_meta_put(st, p, &m, err, sizeof(err))
        != MCPU_DEDUP_STATE_OK)
    {
        return FAIL_MSG("mcpu_dedup_state_meta_put(p %d): %s", (int) p, err);
    }

    return 1;
}


#define CHECK_META(st, p, raw, clean)                                         \
    do {                                                                      \
        mcpu_dedup_meta_t  m_ = meta_get(st, p);                              \
        CHECK_EQ_INT(m_.raw_next, raw);                                       \
        CHECK_EQ_INT(m_.clean_next, clean);                                   \
    } while (0)


/* what mcpu_dedup_state_each() reported */
typedef struct {
    uint64_t   set;
    uint64_t   n;           /* keys of set expected: 0 .. n - 1 */
    int64_t    gen_base;    /* key i is in gen_base + i % gen_mod */
    int64_t    gen_mod;
    unsigned  *visits;
    uint64_t   calls;
    uint64_t   strangers;   /* not one of the expected keys */
    uint64_t   wrong_gen;
} visits_t;


static void
visit(void *arg, int64_t gen, const void *key, size_t len)
{
    visits_t    *v = arg;
    mcpu_test_key_t   k;

    v->calls++;

    if (len != sizeof(k)) {
        v->strangers++;
        return;
    }

    memcpy(&k, key, sizeof(k));

    if (k.salt != mcpu_test_key(0, v->set).salt || k.n >= v->n) {
        v->strangers++;
        return;
    }

    v->visits[k.n]++;

    if (gen != v->gen_base + (int64_t) (k.n % (uint64_t) v->gen_mod)) {
        v->wrong_gen++;
    }
}


/* each() of p visits keys 0 .. n - 1 of set once, key i in its gen */
static void
check_each(mcpu_dedup_state_t *st, int32_t p, uint64_t set, uint64_t n,
    int64_t gen_base, int64_t gen_mod)
{
    char      err[ERR_SIZE] = "";
    int64_t   rc;
    uint64_t  i, never = 0, twice = 0;
    visits_t  v;

    memset(&v, 0, sizeof(v));
    v.set = set;
    v.n = n;
    v.gen_base = gen_base;
    v.gen_mod = gen_mod;
    v.visits = calloc(n ? n : 1, sizeof(unsigned));

    if (!CHECK(v.visits != NULL)) {
        return;
    }

    rc = mcpu_dedup_state_each(st, p, visit, &v, err, sizeof(err));

    if (CHECK_EQ_INT(rc, (int64_t) n) || FAIL_MSG("each: %s", err)) {
        CHECK_EQ_U64(v.calls, n);
    }

    for (i = 0; i < n; i++) {
        never += v.visits[i] == 0;
        twice += v.visits[i] > 1;
    }

    CHECK_EQ_U64(never, 0);
    CHECK_EQ_U64(twice, 0);
    CHECK_EQ_U64(v.strangers, 0);
    CHECK_EQ_U64(v.wrong_gen, 0);

    free(v.visits);
}


static int
count_fds(void)
{
    int             n = 0;
    DIR            *d;
    struct dirent  *e;

    d = opendir("/proc/self/fd");
    if (d == NULL) {
        return -1;
    }

    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }

    closedir(d);

    /* opendir's own descriptor */
    return n - 1;
}


/* the names of the environment's databases, besides "meta", read with
 * LMDB directly: what the state leaves on disk */
static int
list_databases(const char *dir, char *names, size_t size)
{
    int          rc, n = 0;
    char         path[4096];
    size_t       used = 0;
    MDB_env     *env;
    MDB_txn     *txn;
    MDB_dbi      dbi;
    MDB_val      k, v;
    MDB_cursor  *c;

    state_path(path, sizeof(path), dir);
    names[0] = '\0';

    rc = mdb_env_create(&env);
    if (rc == 0) {
        rc = mdb_env_set_maxdbs(env, 4);
    }
    if (rc == 0) {
        rc = mdb_env_open(env, path, MDB_RDONLY, 0640);
    }
    if (rc == 0) {
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
        if (rc == 0) {
            rc = mdb_dbi_open(txn, NULL, 0, &dbi);
            if (rc == 0) {
                rc = mdb_cursor_open(txn, dbi, &c);
            }
            if (rc == 0) {
                for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
                     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
                {
                    if (k.mv_size == 4 && memcmp(k.mv_data, "meta", 4) == 0) {
                        continue;
                    }

                    n++;
                    if (used + k.mv_size + 2 < size) {
                        memcpy(names + used, k.mv_data, k.mv_size);
                        used += k.mv_size;
                        names[used++] = ' ';
                        names[used] = '\0';
                    }
                }
                mdb_cursor_close(c);
                if (rc == MDB_NOTFOUND) {
                    rc = 0;
                }
            }
            mdb_txn_abort(txn);
        }
    }

    mdb_env_close(env);

    if (rc != 0) {
        FAIL_MSG("listing the databases of \"%s\": %s", path,
                 mdb_strerror(rc));
        return -1;
    }

    return n;
}


/* ---- tests ---- */

static void
test_dedup_state_key_is_seen_in_its_batch_and_after_commit(const char *dir)
{
    mcpu_dedup_state_t  st;

    if (!state_open(&st, dir, MAP_BYTES, 2, 3, PERIOD_MS)) {
        return;
    }

    if (!begin(&st)) {
        goto done;
    }

    CHECK_EQ_INT(seen(&st, 0, 1, SET_A), 0);
    CHECK_EQ_INT(mcpu_dedup_state_keys(&st, 0), 0);

    /* a duplicate inside one batch is found in the batch itself */
    add(&st, 0, 5, 1, SET_A);
    CHECK_EQ_INT(seen(&st, 0, 1, SET_A), 1);
    CHECK_EQ_INT(seen(&st, 0, 2, SET_A), 0);
    CHECK_EQ_INT(seen(&st, 0, 1, SET_B), 0);

    /* adding it again is no error and no second key */
    add(&st, 0, 5, 1, SET_A);
    CHECK_EQ_INT(mcpu_dedup_state_keys(&st, 0), 1);

    if (!commit(&st) || !begin(&st)) {
        goto done;
    }

    CHECK_EQ_INT(seen(&st, 0, 1, SET_A), 1);
    CHECK_EQ_INT(seen(&st, 0, 2, SET_A), 0);
    CHECK_EQ_INT(mcpu_dedup_state_keys(&st, 0), 1);
    CHECK(mcpu_dedup_state_bytes(&st) > 0);

    mcpu_dedup_state_abort(&st);

done:

    mcpu_dedup_state_close(&st);
}


static void
test_dedup_state_aborted_batch_leaves_no_trace(const char *dir)
{
    char                err[ERR_SIZE] = "";
    mcpu_dedup_state_t  st;

    if (!state_open(&st, dir, MAP_BYTES, 2, 3, PERIOD_MS)) {
        return;
    }

    if (!begin(&st) || !add_range(&st, 0, 5, 0, 10, SET_A) || !commit(&st)) {
        goto done;
    }

    /* a batch Kafka refused: new keys, a new generation, offsets */
    if (!begin(&st)) {
        goto done;
    }

    add_range(&st, 0, 5, 10, 20, SET_A);
    add_range(&st, 0, 6, 0, 10, SET_B);
    add_range(&st, 1, 6, 0, 10, SET_C);
    meta_put(&st, 0, 1000, 500);
    CHECK_EQ_U64(count_seen(&st, 0, 10, 20, SET_A), 10);
    CHECK_EQ_U64(count_seen(&st, 0, 0, 10, SET_B), 10);
    CHECK_EQ_INT(mcpu_dedup_state_keys(&st, 0), 30);

    mcpu_dedup_state_abort(&st);

    if (!begin(&st)) {
        goto done;
    }

    CHECK_EQ_U64(count_seen(&st, 0, 0, 10, SET_A), 10);
    CHECK_EQ_U64(count_seen(&st, 0, 10, 20, SET_A), 0);
    CHECK_EQ_U64(count_seen(&st, 0, 0, 10, SET_B), 0);
    CHECK_EQ_U64(count_seen(&st, 1, 0, 10, SET_C), 0);
    CHECK_EQ_INT(mcpu_dedup_state_keys(&st, 0), 10);
    CHECK_EQ_INT(mcpu_dedup_state_keys(&st, 1), 0);
    CHECK_META(&st, 0, -1, -1);
    check_each(&st, 0, SET_A, 10, 5, 1);

    /* an expiry in a refused batch is undone too */
    CHECK_EQ_INT(mcpu_dedup_state_expire(&st, 0, 100, err, sizeof(err)), 10);
    CHECK_EQ_U64(count_seen(&st, 0, 0, 10, SET_A), 0);
    mcpu_dedup_state_abort(&st);

    /* and the generation the refused batch created can be created again */
    if (!begin(&st)) {
        goto done;
    }

    CHECK_EQ_U64(count_seen(&st, 0, 0, 10, SET_A), 10);
    add_range(&st, 0, 6, 0, 10, SET_B);

    if (!commit(&st)) {
        goto done;
    }

    mcpu_dedup_state_close(&st);

    if (!state_open(&st, dir, MAP_BYTES, 2, 3, PERIOD_MS) || !begin(&st)) {
        goto done;
    }

    CHECK_EQ_U64(count_seen(&st, 0, 0, 10, SET_A), 10);
    CHECK_EQ_U64(count_seen(&st, 0, 10, 20, SET_A), 0);
    CHECK_EQ_U64(count_seen(&st, 0, 0, 10, SET_B), 10);
    CHECK_EQ_INT(mcpu_dedup_state_keys(&st, 0), 20);

    mcpu_dedup_state_abort(&st);

done:

    mcpu_dedup_state_close(&st);
}


static void
test_dedup_state_partitions_do_not_share_keys(const char *dir)
{
    int32_t             p;
    char                err[ERR_SIZE];
    mcpu_test_key_t          k = mcpu_test_key(0, SET_A);
    mcpu_dedup_state_t  st;

    /* 12: "p1.g..." sorts next to "p10.g..." and "p11.g..." */
    static const struct {
        int32_t  p;
        int64_t  gen;
    } adds[] = { { 0, 5 }, { 1, 5 }, { 1, 6 }, { 10, 5 }, { 11, 6 },
                 { 2, 7 } };

    if (!state_open(&st, dir, MAP_BYTES, 12, 3, PERIOD_MS) || !begin(&st)) {
        goto done;
    }

    /* the same key in partition 0 only */
    add(&st, 0, 5, 1000, SET_B);
    CHECK_EQ_INT(seen(&st, 0, 1000, SET_B), 1);
    CHECK_EQ_INT(seen(&st, 1, 1000, SET_B), 0);

    for (p = 0; p < (int32_t) (sizeof(adds) / sizeof(adds[0])); p++) {
        add(&st, adds[p].p, adds[p].gen, (uint64_t) adds[p].p, SET_A);
    }

    if (!commit(&st)) {
        goto done;
    }

    mcpu_dedup_state_close(&st);

    /* read back from the file: each partition finds its own generations */
    if (!state_open(&st, dir, MAP_BYTES, 12, 3, PERIOD_MS) || !begin(&st)) {
        goto done;
    }

    for (p = 0; p < 12; p++) {
        int  own = p == 0 || p == 1 || p == 2 || p == 10 || p == 11;

        if (!CHECK_EQ_U64(count_seen(&st, p, 0, 12, SET_A), own)
            || !CHECK_EQ_INT(seen(&st, p, (uint64_t) p, SET_A), own))
        {
            FAIL_MSG("partition %d", (int) p);
        }

        CHECK_EQ_INT(seen(&st, p, 1000, SET_B), p == 0);
        CHECK_EQ_INT(mcpu_dedup_state_keys(&st, p),
                     p == 0 ? 2 : (p == 1 ? 2 : own));
    }

    /* a partition the topic did not have at start */
    err[0] = '\0';
    CHECK_EQ_INT(mcpu_dedup_state_seen(&st, 12, &k, sizeof(k), err,
                                       sizeof(err)), MCPU_DEDUP_STATE_ERROR);
    CHECK_STR_CONTAINS(err, "partition 12");
    err[0] = '\0';
    CHECK_EQ_INT(mcpu_dedup_state_add(&st, -1, 5, &k, sizeof(k), err,
                                      sizeof(err)), MCPU_DEDUP_STATE_ERROR);
    CHECK_STR_CONTAINS(err, "beyond");

    mcpu_dedup_state_abort(&st);

done:

    mcpu_dedup_state_close(&st);
}


static void
test_dedup_state_survives_close_and_reopen(const char *dir)
{
    uint64_t            n = 1000;
    mcpu_dedup_state_t  st;

    if (!state_open(&st, dir, MAP_BYTES, 3, 3, PERIOD_MS) || !begin(&st)) {
        goto done;
    }

    /* nothing yet */
    CHECK_META(&st, 0, -1, -1);

    add_range(&st, 0, 3, 0, n / 2, SET_A);
    add_range(&st, 0, 4, n / 2, n, SET_A);
    add_range(&st, 1, 4, 0, 10, SET_B);
    meta_put(&st, 0, 100, 50);
    meta_put(&st, 1, 7, -1);

    if (!commit(&st)) {
        goto done;
    }

    mcpu_dedup_state_close(&st);

    if (!state_open(&st, dir, MAP_BYTES, 3, 3, PERIOD_MS) || !begin(&st)) {
        goto done;
    }

    CHECK_META(&st, 0, 100, 50);
    CHECK_META(&st, 1, 7, -1);
    /* a partition never written, and one the topic does not have */
    CHECK_META(&st, 2, -1, -1);
    CHECK_META(&st, 7, -1, -1);

    CHECK_EQ_U64(count_seen(&st, 0, 0, n, SET_A), n);
    CHECK_EQ_U64(count_seen(&st, 1, 0, 10, SET_B), 10);
    CHECK_EQ_U64(count_seen(&st, 0, n, n + 100, SET_A), 0);
    CHECK_EQ_INT(mcpu_dedup_state_keys(&st, 0), n);
    CHECK_EQ_INT(mcpu_dedup_state_keys(&st, 1), 10);
    CHECK_EQ_INT(mcpu_dedup_state_keys(&st, 2), 0);

    /* offsets move on */
    meta_put(&st, 0, 200, 80);

    if (!commit(&st)) {
        goto done;
    }

    mcpu_dedup_state_close(&st);

    if (!state_open(&st, dir, MAP_BYTES, 3, 3, PERIOD_MS) || !begin(&st)) {
        goto done;
    }

    CHECK_META(&st, 0, 200, 80);
    CHECK_EQ_INT(mcpu_dedup_state_keys(&st, 0), n);

    mcpu_dedup_state_abort(&st);

done:

    mcpu_dedup_state_close(&st);
}


static void
test_dedup_state_expire_drops_old_generations_and_counts_their_keys(
    const char *dir)
{
    char                err[ERR_SIZE] = "";
    int64_t             g;
    mcpu_dedup_state_t  st;

    /* generation g holds keys [100 g, 100 g + g) */
    if (!state_open(&st, dir, MAP_BYTES, 2, 3, PERIOD_MS) || !begin(&st)) {
        goto done;
    }

    for (g = 10; g <= 14; g++) {
        add_range(&st, 0, g, (uint64_t) (100 * g), (uint64_t) (101 * g),
                  SET_A);
    }

    add_range(&st, 1, 10, 0, 5, SET_B);

    if (!commit(&st) || !begin(&st)) {
        goto done;
    }

    CHECK_EQ_INT(mcpu_dedup_state_keys(&st, 0), 10 + 11 + 12 + 13 + 14);

    /* current 14, 3 generations: 10 and 11 go, 12, 13 and 14 stay */
    CHECK_EQ_INT(mcpu_dedup_state_expire(&st, 0, 14, err, sizeof(err)),
                 10 + 11);
    CHECK_EQ_INT(mcpu_dedup_state_expire(&st, 0, 14, err, sizeof(err)), 0);

    for (g = 10; g <= 14; g++) {
        if (!CHECK_EQ_U64(count_seen(&st, 0, (uint64_t) (100 * g),
                                     (uint64_t) (101 * g), SET_A),
                          g >= 12 ? g : 0))
        {
            FAIL_MSG("generation %" PRId64, g);
        }
    }

    CHECK_EQ_INT(mcpu_dedup_state_keys(&st, 0), 12 + 13 + 14);

    /* another partition's generations are its own */
    CHECK_EQ_U64(count_seen(&st, 1, 0, 5, SET_B), 5);

    /* a new generation in the same batch as the expiry */
    add_range(&st, 0, 15, 1500, 1515, SET_A);

    if (!commit(&st)) {
        goto done;
    }

    mcpu_dedup_state_close(&st);

    if (!state_open(&st, dir, MAP_BYTES, 2, 3, PERIOD_MS) || !begin(&st)) {
        goto done;
    }

    for (g = 10; g <= 15; g++) {
        if (!CHECK_EQ_U64(count_seen(&st, 0, (uint64_t) (100 * g),
                                     (uint64_t) (101 * g), SET_A),
                          g >= 12 ? g : 0))
        {
            FAIL_MSG("generation %" PRId64 " after reopening", g);
        }
    }

    CHECK_EQ_INT(mcpu_dedup_state_keys(&st, 0), 12 + 13 + 14 + 15);
    CHECK_EQ_U64(count_seen(&st, 1, 0, 5, SET_B), 5);

    /* the boundary: current - generations goes, the next one stays */
    CHECK_EQ_INT(mcpu_dedup_state_expire(&st, 0, 15, err, sizeof(err)), 12);
    CHECK_EQ_INT(mcpu_dedup_state_keys(&st, 0), 13 + 14 + 15);

    if (!commit(&st)) {
        goto done;
    }

done:

    mcpu_dedup_state_close(&st);
}


static void
test_dedup_state_each_visits_every_key_once_with_its_generation(
    const char *dir)
{
    uint64_t            i, n = mcpu_test_scaled(5000);
    mcpu_dedup_state_t  st;

    if (!state_open(&st, dir, MAP_BYTES, 2, 4, PERIOD_MS) || !begin(&st)) {
        goto done;
    }

    for (i = 0; i < n; i++) {
        if (!add(&st, 0, 20 + (int64_t) (i % 4), i, SET_A)) {
            goto done;
        }
    }

    add_range(&st, 1, 20, 0, 7, SET_B);

    /* in the open batch, and after a restart (how the Bloom filter is
     * rebuilt) */
    check_each(&st, 0, SET_A, n, 20, 4);
    check_each(&st, 1, SET_B, 7, 20, 1);

    if (!commit(&st)) {
        goto done;
    }

    mcpu_dedup_state_close(&st);

    if (!state_open(&st, dir, MAP_BYTES, 2, 4, PERIOD_MS) || !begin(&st)) {
        goto done;
    }

    check_each(&st, 0, SET_A, n, 20, 4);
    check_each(&st, 1, SET_B, 7, 20, 1);

    mcpu_dedup_state_abort(&st);

done:

    mcpu_dedup_state_close(&st);
}


static void
test_dedup_state_other_period_empties_generations_keeps_raw_next(
    const char *dir)
{
    int                 n;
    char                names[1024];
    int32_t             p;
    int64_t             g;
    mcpu_dedup_state_t  st;

    /* 3 partitions of 4 generations: 12 databases to drop */
    if (!state_open(&st, dir, MAP_BYTES, 3, 4, PERIOD_MS) || !begin(&st)) {
        goto done;
    }

    for (p = 0; p < 3; p++) {
        for (g = 1; g <= 4; g++) {
            add_range(&st, p, g, (uint64_t) (10 * g), (uint64_t) (10 * g + 5),
                      SET_A);
        }
    }

    meta_put(&st, 0, 100, 50);
    meta_put(&st, 1, 200, -1);

    if (!commit(&st)) {
        goto done;
    }

    mcpu_dedup_state_close(&st);

    /* the same period keeps everything */
    if (!state_open(&st, dir, MAP_BYTES, 3, 4, PERIOD_MS) || !begin(&st)) {
        goto done;
    }

    for (p = 0; p < 3; p++) {
        CHECK_EQ_INT(mcpu_dedup_state_keys(&st, p), 20);
    }

    CHECK_META(&st, 0, 100, 50);
    mcpu_dedup_state_abort(&st);
    mcpu_dedup_state_close(&st);

    CHECK_EQ_INT(list_databases(dir, names, sizeof(names)), 12);

    /* another period (window_s or generations changed) empties them */
    if (!state_open(&st, dir, MAP_BYTES, 3, 4, 2 * PERIOD_MS)
        || !begin(&st))
    {
        goto done;
    }

    for (p = 0; p < 3; p++) {
        CHECK_EQ_INT(mcpu_dedup_state_keys(&st, p), 0);
        CHECK_EQ_U64(count_seen(&st, p, 0, 50, SET_A), 0);
        check_each(&st, p, SET_A, 0, 0, 1);
    }

    CHECK_META(&st, 0, 100, -1);
    CHECK_META(&st, 1, 200, -1);
    CHECK_META(&st, 2, -1, -1);

    /* the clean topic refills it */
    add_range(&st, 0, 1, 0, 3, SET_B);
    meta_put(&st, 0, 100, 60);

    if (!commit(&st)) {
        goto done;
    }

    mcpu_dedup_state_close(&st);

    n = list_databases(dir, names, sizeof(names));
    if (!CHECK_EQ_INT(n, 1)) {
        FAIL_MSG("left: %s", names);
    }

    /* and the new period is now the state's own */
    if (!state_open(&st, dir, MAP_BYTES, 3, 4, 2 * PERIOD_MS)
        || !begin(&st))
    {
        goto done;
    }

    CHECK_EQ_U64(count_seen(&st, 0, 0, 3, SET_B), 3);
    CHECK_META(&st, 0, 100, 60);
    mcpu_dedup_state_abort(&st);

done:

    mcpu_dedup_state_close(&st);
}


static void
test_dedup_state_second_open_is_refused_naming_the_holder(const char *dir)
{
    int                 to_child[2], from_child[2], status;
    char                path[4096], err[ERR_SIZE], pid[32], c;
    FILE               *f;
    pid_t               child;
    mcpu_dedup_state_t  a, b;

    state_path(path, sizeof(path), dir);

    if (!state_open(&a, dir, MAP_BYTES, 1, 3, PERIOD_MS)) {
        return;
    }

    /* the lock file holds the pid */
    snprintf(pid, sizeof(pid), "%ld", (long) getpid());
    {
        char  lock[4200], text[64] = "";

        snprintf(lock, sizeof(lock), "%s/mcpu-dedup.pid", path);
        f = fopen(lock, "r");
        if (CHECK(f != NULL)) {
            if (fgets(text, sizeof(text), f) == NULL) {
                text[0] = '\0';
            }
            fclose(f);
            text[strcspn(text, "\n")] = '\0';
            CHECK_STR_EQ(text, pid);
        }
    }

    /* flock is per open file description: this process conflicts too */
    err[0] = '\0';
    if (!CHECK_EQ_INT(mcpu_dedup_state_open(&b, path, MAP_BYTES, 1, 3,
                                            PERIOD_MS, err, sizeof(err)),
                      MCPU_DEDUP_STATE_ERROR))
    {
        mcpu_dedup_state_close(&b);
    }

    printf("# %s\n", err);
    CHECK_STR_CONTAINS(err, "in use");
    CHECK_STR_CONTAINS(err, pid);

    /* the first goes on as if nothing happened */
    if (begin(&a)) {
        add(&a, 0, 1, 1, SET_A);
        commit(&a);
    }

    mcpu_dedup_state_close(&a);

    /* another process holding it is named */
    if (!CHECK(pipe(to_child) == 0 && pipe(from_child) == 0)) {
        return;
    }

    child = fork();
    if (!CHECK(child != -1)) {
        return;
    }

    if (child == 0) {
        mcpu_dedup_state_t  s;

        close(to_child[1]);
        close(from_child[0]);

        if (mcpu_dedup_state_open(&s, path, MAP_BYTES, 1, 3, PERIOD_MS, err,
                                  sizeof(err)) != MCPU_DEDUP_STATE_OK)
        {
            child_fail("open: %s", err);
            _exit(1);
        }

        c = 'o';
        if (write(from_child[1], &c, 1) != 1 || read(to_child[0], &c, 1) < 0)
        {
            _exit(1);
        }

        mcpu_dedup_state_close(&s);
        _exit(0);
    }

    close(to_child[0]);
    close(from_child[1]);

    if (CHECK_EQ_INT(read(from_child[0], &c, 1), 1)) {
        snprintf(pid, sizeof(pid), "(pid %ld)", (long) child);
        err[0] = '\0';

        if (!CHECK_EQ_INT(mcpu_dedup_state_open(&b, path, MAP_BYTES, 1, 3,
                                                PERIOD_MS, err, sizeof(err)),
                          MCPU_DEDUP_STATE_ERROR))
        {
            mcpu_dedup_state_close(&b);
        }

        CHECK_STR_CONTAINS(err, "in use");
        CHECK_STR_CONTAINS(err, pid);
        CHECK_STR_CONTAINS(err, path);
    }

    close(to_child[1]);
    close(from_child[0]);
    status = reap(child);
    exited_ok(status, "the child holding the state");

    /* free again once the holder is gone, and the key is still there */
    if (state_open(&b, dir, MAP_BYTES, 1, 3, PERIOD_MS)) {
        if (begin(&b)) {
            CHECK_EQ_INT(seen(&b, 0, 1, SET_A), 1);
            mcpu_dedup_state_abort(&b);
        }
        mcpu_dedup_state_close(&b);
    }
}


static void
test_dedup_state_refused_open_leaves_no_descriptor_open(const char *dir)
{
    int                 before, after, i;
    char                path[4096], err[ERR_SIZE];
    mcpu_dedup_state_t  a, b;

    state_path(path, sizeof(path), dir);

    if (!state_open(&a, dir, MAP_BYTES, 1, 3, PERIOD_MS)) {
        return;
    }

    before = count_fds();

    /* as a supervisor retrying a start would */
    for (i = 0; i < 3; i++) {
        if (!CHECK_EQ_INT(mcpu_dedup_state_open(&b, path, MAP_BYTES, 1, 3,
                                                PERIOD_MS, err, sizeof(err)),
                          MCPU_DEDUP_STATE_ERROR))
        {
            mcpu_dedup_state_close(&b);
        }
    }

    after = count_fds();

    if (!CHECK_EQ_INT(after, before)) {
        FAIL_MSG("%d descriptors left open by 3 refused opens (lock file "
                 "not closed when flock fails)", after - before);
    }

    mcpu_dedup_state_close(&a);
}


static void
test_dedup_state_full_map_names_state_map_mb_and_keeps_committed_keys(
    const char *dir)
{
    int                 failed = 0;
    char                err[ERR_SIZE] = "";
    uint64_t            i, committed = 200, limit = 200000;
    unsigned char       big[200];
    mcpu_dedup_state_t  st;

    if (!state_open(&st, dir, (size_t) 1 << 20, 1, 3, PERIOD_MS)
        || !begin(&st))
    {
        goto done;
    }

    add_range(&st, 0, 1, 0, committed, SET_A);
    meta_put(&st, 0, 42, 21);

    if (!commit(&st) || !begin(&st)) {
        goto done;
    }

    /* 200-byte keys until 1 MiB is full */
    memset(big, 0x5a, sizeof(big));

    for (i = 0; i < limit; i++) {
        memcpy(big, &i, sizeof(i));

        if (mcpu_dedup_state_add(&st, 0, 2, big, sizeof(big), err,
                                 sizeof(err)) != MCPU_DEDUP_STATE_OK)
        {
            failed = 1;
            break;
        }
    }

    if (!failed) {
        failed = mcpu_dedup_state_commit(&st, err, sizeof(err))
                 != MCPU_DEDUP_STATE_OK;
        printf("# %" PRIu64 " keys added, the commit %s\n", i,
               failed ? "failed" : "succeeded");

    } else {
        printf("# the add failed after %" PRIu64 " keys\n", i);
        mcpu_dedup_state_abort(&st);
    }

    printf("# %s\n", err);

    if (CHECK(failed)) {
        CHECK_STR_CONTAINS(err, "state_map_mb");
        CHECK_STR_CONTAINS(err, "1 MiB");
    }

    /* still usable: the committed keys and offsets, room for a batch */
    if (!begin(&st)) {
        goto done;
    }

    CHECK_EQ_U64(count_seen(&st, 0, 0, committed, SET_A), committed);
    CHECK_EQ_INT(mcpu_dedup_state_keys(&st, 0), committed);
    CHECK_META(&st, 0, 42, 21);

    memset(big, 0x5a, sizeof(big));
    i = 0;
    memcpy(big, &i, sizeof(i));
    CHECK_EQ_INT(mcpu_dedup_state_seen(&st, 0, big, sizeof(big), err,
                                       sizeof(err)), 0);

    add_range(&st, 0, 1, committed, committed + 10, SET_A);

    if (!commit(&st)) {
        goto done;
    }

    mcpu_dedup_state_close(&st);

    if (!state_open(&st, dir, (size_t) 1 << 20, 1, 3, PERIOD_MS)
        || !begin(&st))
    {
        goto done;
    }

    CHECK_EQ_U64(count_seen(&st, 0, 0, committed + 10, SET_A),
                 committed + 10);
    CHECK_EQ_INT(mcpu_dedup_state_keys(&st, 0), committed + 10);
    CHECK_META(&st, 0, 42, 21);

    mcpu_dedup_state_abort(&st);

done:

    mcpu_dedup_state_close(&st);
}


static void
test_dedup_state_generation_beyond_the_slots_is_refused(const char *dir)
{
    char                err[ERR_SIZE] = "";
    int64_t             g;
    mcpu_test_key_t          k = mcpu_test_key(0, SET_A);
    mcpu_dedup_state_t  st;

    if (!state_open(&st, dir, MAP_BYTES, 1, 8, PERIOD_MS) || !begin(&st)) {
        goto done;
    }

    for (g = 1; g <= MCPU_DEDUP_STATE_GENS_MAX; g++) {
        add(&st, 0, g, (uint64_t) g, SET_A);
    }

    /* expiry not run: a tenth generation has no slot */
    CHECK_EQ_INT(mcpu_dedup_state_add(&st, 0, MCPU_DEDUP_STATE_GENS_MAX + 1,
                                      &k, sizeof(k), err, sizeof(err)),
                 MCPU_DEDUP_STATE_ERROR);
    CHECK_STR_CONTAINS(err, "not expired");

    /* once expired, it has */
    CHECK_EQ_INT(mcpu_dedup_state_expire(&st, 0,
                                         MCPU_DEDUP_STATE_GENS_MAX + 1, err,
                                         sizeof(err)), 2);
    add(&st, 0, MCPU_DEDUP_STATE_GENS_MAX + 1, 0, SET_A);
    CHECK_EQ_INT(seen(&st, 0, 0, SET_A), 1);

    commit(&st);

done:

    mcpu_dedup_state_close(&st);
}


static void
test_dedup_state_refused_batches_do_not_use_up_database_handles(
    const char *dir)
{
    char                err[ERR_SIZE] = "";
    int64_t             g;
    mcpu_dedup_state_t  st;

    /* 2 partitions: room for 30 handles; 200 batches create or drop one */
    if (!state_open(&st, dir, MAP_BYTES, 2, 3, PERIOD_MS) || !begin(&st)) {
        goto done;
    }

    add_range(&st, 0, 1, 0, 5, SET_A);

    if (!commit(&st)) {
        goto done;
    }

    for (g = 2; g < 202; g++) {
        if (!begin(&st)) {
            goto done;
        }

        if (g % 2) {
            if (!add(&st, g % 4 == 1, g, 0, SET_B)) {
                FAIL_MSG("batch %" PRId64, g);
                mcpu_dedup_state_abort(&st);
                break;
            }

        } else if (!CHECK_EQ_INT(mcpu_dedup_state_expire(&st, 0, 100, err,
                                                         sizeof(err)), 5))
        {
            FAIL_MSG("batch %" PRId64 ": %s", g, err);
            mcpu_dedup_state_abort(&st);
            break;
        }

        CHECK_EQ_U64(count_seen(&st, 0, 0, 5, SET_A), g % 2 ? 5 : 0);
        mcpu_dedup_state_abort(&st);
    }

    if (!begin(&st)) {
        goto done;
    }

    CHECK_EQ_U64(count_seen(&st, 0, 0, 5, SET_A), 5);
    CHECK_EQ_U64(count_seen(&st, 0, 0, 1, SET_B), 0);
    CHECK_EQ_U64(count_seen(&st, 1, 0, 1, SET_B), 0);
    CHECK_EQ_INT(mcpu_dedup_state_keys(&st, 0), 5);
    add(&st, 1, 300, 0, SET_B);
    commit(&st);

done:

    mcpu_dedup_state_close(&st);
}


static void
test_dedup_state_open_creates_state_dir(const char *dir)
{
    char                path[4096];
    struct stat         sb;
    mcpu_dedup_state_t  st;

    state_path(path, sizeof(path), dir);

    CHECK(stat(path, &sb) == -1 && errno == ENOENT);

    if (!state_open(&st, dir, MAP_BYTES, 1, 3, PERIOD_MS)) {
        return;
    }

    if (CHECK(stat(path, &sb) == 0)) {
        CHECK(S_ISDIR(sb.st_mode));
        /* 0750 under the umask: never readable by others */
        CHECK_EQ_INT(sb.st_mode & 0007, 0);
    }

    mcpu_dedup_state_close(&st);
}


TEST_LIST = {
    { "test_dedup_state_key_is_seen_in_its_batch_and_after_commit",
      test_dedup_state_key_is_seen_in_its_batch_and_after_commit },
    { "test_dedup_state_aborted_batch_leaves_no_trace",
      test_dedup_state_aborted_batch_leaves_no_trace },
    { "test_dedup_state_partitions_do_not_share_keys",
      test_dedup_state_partitions_do_not_share_keys },
    { "test_dedup_state_survives_close_and_reopen",
      test_dedup_state_survives_close_and_reopen },
    { "test_dedup_state_expire_drops_old_generations_and_counts_their_keys",
      test_dedup_state_expire_drops_old_generations_and_counts_their_keys },
    { "test_dedup_state_each_visits_every_key_once_with_its_generation",
      test_dedup_state_each_visits_every_key_once_with_its_generation },
    { "test_dedup_state_other_period_empties_generations_keeps_raw_next",
      test_dedup_state_other_period_empties_generations_keeps_raw_next },
    { "test_dedup_state_second_open_is_refused_naming_the_holder",
      test_dedup_state_second_open_is_refused_naming_the_holder },
    { "test_dedup_state_refused_open_leaves_no_descriptor_open",
      test_dedup_state_refused_open_leaves_no_descriptor_open },
    { "test_dedup_state_full_map_names_state_map_mb_and_keeps_committed_keys",
      test_dedup_state_full_map_names_state_map_mb_and_keeps_committed_keys },
    { "test_dedup_state_generation_beyond_the_slots_is_refused",
      test_dedup_state_generation_beyond_the_slots_is_refused },
    { "test_dedup_state_refused_batches_do_not_use_up_database_handles",
      test_dedup_state_refused_batches_do_not_use_up_database_handles },
    { "test_dedup_state_open_creates_state_dir",
      test_dedup_state_open_creates_state_dir },
    { NULL, NULL }
};

MCPU_TEST_MAIN()
