/*
 * mcpu_dedup_state.c: the exact state in LMDB (mcpu_dedup_state.h).
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mcpu_dedup_state.h"


#define MCPU_DEDUP_LOCK_FILE   "mcpu-dedup.pid"
#define MCPU_DEDUP_NAME_MAX    48
#define MCPU_DEDUP_PERIOD_KEY  "period_ms"


static int mcpu_dedup_state_lock(mcpu_dedup_state_t *st, const char *dir,
    char *errstr, size_t errstr_size);
static int mcpu_dedup_state_period(mcpu_dedup_state_t *st, char *errstr,
    size_t errstr_size);
static int mcpu_dedup_state_load(mcpu_dedup_state_t *st, int32_t p,
    char *errstr, size_t errstr_size);
static int mcpu_dedup_state_gen_dbi(mcpu_dedup_state_t *st, int32_t p,
    int64_t gen, MDB_dbi *dbi, char *errstr, size_t errstr_size);
static int mcpu_dedup_state_parse(const MDB_val *name, int32_t *p,
    int64_t *gen);
static void mcpu_dedup_state_unload(mcpu_dedup_state_t *st);
static int mcpu_dedup_state_fail(const char *what, int rc, char *errstr,
    size_t errstr_size);


int
mcpu_dedup_state_open(mcpu_dedup_state_t *st, const char *dir,
    size_t map_bytes, int32_t partitions, uint32_t generations,
    int64_t period_ms, char *errstr, size_t errstr_size)
{
    int       rc;
    MDB_txn  *txn;

    memset(st, 0, sizeof(*st));
    st->lock_fd = -1;
    st->partitions = partitions;
    st->generations = generations;
    st->period_ms = period_ms;
    st->map_bytes = map_bytes;

    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        snprintf(errstr, errstr_size, "state_dir \"%s\": mkdir: %s", dir,
                 strerror(errno));
        return MCPU_DEDUP_STATE_ERROR;
    }

    if (mcpu_dedup_state_lock(st, dir, errstr, errstr_size) != 0) {
        goto failed;
    }

    st->gens = malloc(sizeof(mcpu_dedup_gen_t) * (size_t) partitions
                      * MCPU_DEDUP_STATE_GENS_MAX);
    st->loaded = calloc((size_t) partitions, 1);
    if (st->gens == NULL || st->loaded == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        goto failed;
    }

    rc = mdb_env_create(&st->env);
    if (rc == 0) {
        rc = mdb_env_set_mapsize(st->env, map_bytes);
    }
    if (rc == 0) {
        /* every partition's live generations, the current, one expiring */
        rc = mdb_env_set_maxdbs(st->env, (MDB_dbi) partitions
                                         * (MCPU_DEDUP_STATE_GENS_MAX + 2) + 8);
    }
    if (rc == 0) {
        /*
         * NOMETASYNC: the data pages of a commit are synced, its meta page
         * at the next commit; a machine crash can undo the last commit,
         * never corrupt.  The undone batch's offsets go with it, so its
         * records are read again and the clean topic refills its keys.
         */
        rc = mdb_env_open(st->env, dir, MDB_NOMETASYNC | MDB_NOTLS, 0640);
    }
    if (rc != 0) {
        mcpu_dedup_state_fail("opening the LMDB environment in state_dir", rc,
                              errstr, errstr_size);
        goto failed;
    }

    rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &st->meta);
        if (rc == 0) {
            rc = mdb_txn_commit(txn);
        } else {
            mdb_txn_abort(txn);
        }
    }
    if (rc != 0) {
        mcpu_dedup_state_fail("opening the meta database", rc, errstr,
                              errstr_size);
        goto failed;
    }

    if (mcpu_dedup_state_period(st, errstr, errstr_size) != 0) {
        goto failed;
    }

    return MCPU_DEDUP_STATE_OK;

failed:

    mcpu_dedup_state_close(st);
    return MCPU_DEDUP_STATE_ERROR;
}


void
mcpu_dedup_state_close(mcpu_dedup_state_t *st)
{
    if (st->txn != NULL) {
        mdb_txn_abort(st->txn);
        st->txn = NULL;
    }

    if (st->env != NULL) {
        mdb_env_close(st->env);
        st->env = NULL;
    }

    if (st->lock_fd != -1) {
        close(st->lock_fd);
        st->lock_fd = -1;
    }

    free(st->gens);
    free(st->loaded);
    st->gens = NULL;
    st->loaded = NULL;
}


int
mcpu_dedup_state_begin(mcpu_dedup_state_t *st, char *errstr,
    size_t errstr_size)
{
    int  rc;

    rc = mdb_txn_begin(st->env, NULL, 0, &st->txn);
    if (rc != 0) {
        st->txn = NULL;
        return mcpu_dedup_state_fail("beginning a transaction", rc, errstr,
                                     errstr_size);
    }

    return MCPU_DEDUP_STATE_OK;
}


int
mcpu_dedup_state_commit(mcpu_dedup_state_t *st, char *errstr,
    size_t errstr_size)
{
    int  rc;

    rc = mdb_txn_commit(st->txn);
    st->txn = NULL;

    if (rc != 0) {
        /* a failed commit frees the transaction and its new handles */
        mcpu_dedup_state_unload(st);

        if (rc == MDB_MAP_FULL) {
            snprintf(errstr, errstr_size, "the state is full: raise "
                     "state_map_mb (now %zu MiB) or shorten window_s",
                     st->map_bytes >> 20);
            return MCPU_DEDUP_STATE_ERROR;
        }

        return mcpu_dedup_state_fail("committing", rc, errstr, errstr_size);
    }

    return MCPU_DEDUP_STATE_OK;
}


void
mcpu_dedup_state_abort(mcpu_dedup_state_t *st)
{
    if (st->txn == NULL) {
        return;
    }

    mdb_txn_abort(st->txn);
    st->txn = NULL;

    /* handles opened or dropped in it are void now: look them up again */
    mcpu_dedup_state_unload(st);
}


int
mcpu_dedup_state_seen(mcpu_dedup_state_t *st, int32_t p, const void *key,
    size_t len, char *errstr, size_t errstr_size)
{
    int                rc;
    uint32_t           i;
    MDB_val            k, v;
    mcpu_dedup_gen_t  *g;

    if (mcpu_dedup_state_load(st, p, errstr, errstr_size) != 0) {
        return MCPU_DEDUP_STATE_ERROR;
    }

    k.mv_data = (void *) key;
    k.mv_size = len;

    g = &st->gens[(size_t) p * MCPU_DEDUP_STATE_GENS_MAX];

    for (i = 0; i < MCPU_DEDUP_STATE_GENS_MAX; i++) {
        if (g[i].gen == -1) {
            continue;
        }

        rc = mdb_get(st->txn, g[i].dbi, &k, &v);
        if (rc == 0) {
            return 1;
        }

        if (rc != MDB_NOTFOUND) {
            return mcpu_dedup_state_fail("looking a key up", rc, errstr,
                                         errstr_size);
        }
    }

    return 0;
}


int
mcpu_dedup_state_add(mcpu_dedup_state_t *st, int32_t p, int64_t gen,
    const void *key, size_t len, char *errstr, size_t errstr_size)
{
    int      rc;
    MDB_val  k, v;
    MDB_dbi  dbi;

    if (mcpu_dedup_state_gen_dbi(st, p, gen, &dbi, errstr, errstr_size)
        != 0)
    {
        return MCPU_DEDUP_STATE_ERROR;
    }

    k.mv_data = (void *) key;
    k.mv_size = len;
    v.mv_data = "";
    v.mv_size = 0;

    rc = mdb_put(st->txn, dbi, &k, &v, 0);
    if (rc != 0) {
        if (rc == MDB_MAP_FULL) {
            snprintf(errstr, errstr_size, "the state is full: raise "
                     "state_map_mb (now %zu MiB) or shorten window_s",
                     st->map_bytes >> 20);
            return MCPU_DEDUP_STATE_ERROR;
        }

        return mcpu_dedup_state_fail("adding a key", rc, errstr, errstr_size);
    }

    return MCPU_DEDUP_STATE_OK;
}


int
mcpu_dedup_state_meta_get(mcpu_dedup_state_t *st, int32_t p,
    mcpu_dedup_meta_t *m, char *errstr, size_t errstr_size)
{
    int      rc;
    char     name[MCPU_DEDUP_NAME_MAX];
    MDB_val  k, v;

    m->raw_next = -1;
    m->clean_next = -1;

    k.mv_size = (size_t) snprintf(name, sizeof(name), "p%" PRId32, p);
    k.mv_data = name;

    rc = mdb_get(st->txn, st->meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        return MCPU_DEDUP_STATE_OK;
    }

    if (rc != 0) {
        return mcpu_dedup_state_fail("reading offsets", rc, errstr,
                                     errstr_size);
    }

    if (v.mv_size != sizeof(*m)) {
        snprintf(errstr, errstr_size, "the state's offsets of partition "
                 "%" PRId32 " are %zu bytes, not %zu: not mcpu-dedup's",
                 p, v.mv_size, sizeof(*m));
        return MCPU_DEDUP_STATE_ERROR;
    }

    memcpy(m, v.mv_data, sizeof(*m));
    return MCPU_DEDUP_STATE_OK;
}


int
mcpu_dedup_state_meta_put(mcpu_dedup_state_t *st, int32_t p,
    const mcpu_dedup_meta_t *m, char *errstr, size_t errstr_size)
{
    int      rc;
    char     name[MCPU_DEDUP_NAME_MAX];
    MDB_val  k, v;

    k.mv_size = (size_t) snprintf(name, sizeof(name), "p%" PRId32, p);
    k.mv_data = name;
    v.mv_data = (void *) m;
    v.mv_size = sizeof(*m);

    rc = mdb_put(st->txn, st->meta, &k, &v, 0);
    if (rc != 0) {
        return mcpu_dedup_state_fail("writing offsets", rc, errstr,
                                     errstr_size);
    }

    return MCPU_DEDUP_STATE_OK;
}


int64_t
mcpu_dedup_state_expire(mcpu_dedup_state_t *st, int32_t p, int64_t current,
    char *errstr, size_t errstr_size)
{
    int                rc;
    uint32_t           i;
    int64_t            dropped = 0;
    MDB_stat           s;
    mcpu_dedup_gen_t  *g;

    if (mcpu_dedup_state_load(st, p, errstr, errstr_size) != 0) {
        return MCPU_DEDUP_STATE_ERROR;
    }

    g = &st->gens[(size_t) p * MCPU_DEDUP_STATE_GENS_MAX];

    for (i = 0; i < MCPU_DEDUP_STATE_GENS_MAX; i++) {
        if (g[i].gen == -1 || g[i].gen > current - st->generations) {
            continue;
        }

        if (mdb_stat(st->txn, g[i].dbi, &s) == 0) {
            dropped += (int64_t) s.ms_entries;
        }

        rc = mdb_drop(st->txn, g[i].dbi, 1);
        if (rc != 0) {
            return mcpu_dedup_state_fail("dropping an old generation", rc,
                                         errstr, errstr_size);
        }

        g[i].gen = -1;
    }

    return dropped;
}


int64_t
mcpu_dedup_state_each(mcpu_dedup_state_t *st, int32_t p,
    mcpu_dedup_state_key_pt fn, void *arg, char *errstr, size_t errstr_size)
{
    int                rc;
    uint32_t           i;
    int64_t            n = 0;
    MDB_val            k, v;
    MDB_cursor        *c;
    mcpu_dedup_gen_t  *g;

    if (mcpu_dedup_state_load(st, p, errstr, errstr_size) != 0) {
        return MCPU_DEDUP_STATE_ERROR;
    }

    g = &st->gens[(size_t) p * MCPU_DEDUP_STATE_GENS_MAX];

    for (i = 0; i < MCPU_DEDUP_STATE_GENS_MAX; i++) {
        if (g[i].gen == -1) {
            continue;
        }

        rc = mdb_cursor_open(st->txn, g[i].dbi, &c);
        if (rc != 0) {
            return mcpu_dedup_state_fail("reading keys", rc, errstr,
                                         errstr_size);
        }

        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        {
            fn(arg, g[i].gen, k.mv_data, k.mv_size);
            n++;
        }

        mdb_cursor_close(c);

        if (rc != MDB_NOTFOUND) {
            return mcpu_dedup_state_fail("reading keys", rc, errstr,
                                         errstr_size);
        }
    }

    return n;
}


int64_t
mcpu_dedup_state_keys(mcpu_dedup_state_t *st, int32_t p)
{
    char               err[8];
    uint32_t           i;
    int64_t            n = 0;
    MDB_stat           s;
    mcpu_dedup_gen_t  *g;

    if (mcpu_dedup_state_load(st, p, err, sizeof(err)) != 0) {
        return -1;
    }

    g = &st->gens[(size_t) p * MCPU_DEDUP_STATE_GENS_MAX];

    for (i = 0; i < MCPU_DEDUP_STATE_GENS_MAX; i++) {
        if (g[i].gen != -1 && mdb_stat(st->txn, g[i].dbi, &s) == 0) {
            n += (int64_t) s.ms_entries;
        }
    }

    return n;
}


uint64_t
mcpu_dedup_state_bytes(mcpu_dedup_state_t *st)
{
    MDB_envinfo  info;
    MDB_stat     s;

    if (mdb_env_info(st->env, &info) != 0 || mdb_env_stat(st->env, &s) != 0)
    {
        return 0;
    }

    return (uint64_t) (info.me_last_pgno + 1) * s.ms_psize;
}


/*
 * One mcpu-dedup per state: LMDB itself would let two processes share it,
 * but each keeps the handles of its generations, which the other's drops
 * would invalidate.
 */
static int
mcpu_dedup_state_lock(mcpu_dedup_state_t *st, const char *dir, char *errstr,
    size_t errstr_size)
{
    int      n;
    char     path[4096], pid[32];
    ssize_t  r;

    if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir,
                          MCPU_DEDUP_LOCK_FILE) >= sizeof(path))
    {
        snprintf(errstr, errstr_size, "state_dir is too long");
        return -1;
    }

    st->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (st->lock_fd == -1) {
        snprintf(errstr, errstr_size, "state_dir: open \"%s\": %s", path,
                 strerror(errno));
        return -1;
    }

    if (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        r = pread(st->lock_fd, pid, sizeof(pid) - 1, 0);
        pid[r > 0 ? r : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        snprintf(errstr, errstr_size, "state_dir \"%s\" is in use by another "
                 "mcpu-dedup (pid %s); each instance needs its own",
                 dir, pid[0] != '\0' ? pid : "unknown");
        return -1;
    }

    n = snprintf(pid, sizeof(pid), "%ld\n", (long) getpid());
    if (ftruncate(st->lock_fd, 0) != 0
        || pwrite(st->lock_fd, pid, (size_t) n, 0) != n)
    {
        snprintf(errstr, errstr_size, "state_dir: writing \"%s\": %s", path,
                 strerror(errno));
        return -1;
    }

    return 0;
}


/*
 * Generation numbers are times divided by the period: under another
 * period they would name other times, so such a state is emptied (the
 * clean topic refills it) rather than trusted.
 */
static int
mcpu_dedup_state_period(mcpu_dedup_state_t *st, char *errstr,
    size_t errstr_size)
{
    int          rc;
    int32_t      p;
    int64_t      gen, stored;
    MDB_val      k, v;
    MDB_dbi      main_dbi, dbi;
    MDB_cursor  *c;
    char         name[MCPU_DEDUP_NAME_MAX];

    if (mcpu_dedup_state_begin(st, errstr, errstr_size) != 0) {
        return -1;
    }

    k.mv_data = MCPU_DEDUP_PERIOD_KEY;
    k.mv_size = sizeof(MCPU_DEDUP_PERIOD_KEY) - 1;

    rc = mdb_get(st->txn, st->meta, &k, &v);
    if (rc == 0 && v.mv_size == sizeof(stored)) {
        memcpy(&stored, v.mv_data, sizeof(stored));
        if (stored == st->period_ms) {
            mcpu_dedup_state_abort(st);
            return 0;
        }
    }

    /* new, or another period: drop every generation and every offset of
     * the clean topic (the raw offsets stay: those records were handled) */
    rc = mdb_dbi_open(st->txn, NULL, 0, &main_dbi);
    if (rc == 0) {
        rc = mdb_cursor_open(st->txn, main_dbi, &c);
    }
    if (rc != 0) {
        mcpu_dedup_state_abort(st);
        return mcpu_dedup_state_fail("listing generations", rc, errstr,
                                     errstr_size);
    }

    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
    {
        if (mcpu_dedup_state_parse(&k, &p, &gen) != 0
            || k.mv_size >= sizeof(name))
        {
            continue;
        }

        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = '\0';

        if (mdb_dbi_open(st->txn, name, 0, &dbi) == 0) {
            mdb_drop(st->txn, dbi, 1);
        }
    }

    mdb_cursor_close(c);

    for (p = 0; p < st->partitions; p++) {
        mcpu_dedup_meta_t  m;

        if (mcpu_dedup_state_meta_get(st, p, &m, errstr, errstr_size) != 0) {
            mcpu_dedup_state_abort(st);
            return -1;
        }

        if (m.clean_next != -1) {
            m.clean_next = -1;
            if (mcpu_dedup_state_meta_put(st, p, &m, errstr, errstr_size)
                != 0)
            {
                mcpu_dedup_state_abort(st);
                return -1;
            }
        }
    }

    k.mv_data = MCPU_DEDUP_PERIOD_KEY;
    k.mv_size = sizeof(MCPU_DEDUP_PERIOD_KEY) - 1;
    v.mv_data = &st->period_ms;
    v.mv_size = sizeof(st->period_ms);

    rc = mdb_put(st->txn, st->meta, &k, &v, 0);
    if (rc != 0) {
        mcpu_dedup_state_abort(st);
        return mcpu_dedup_state_fail("writing the period", rc, errstr,
                                     errstr_size);
    }

    return mcpu_dedup_state_commit(st, errstr, errstr_size);
}


/* finds partition p's generations among the environment's databases */
static int
mcpu_dedup_state_load(mcpu_dedup_state_t *st, int32_t p, char *errstr,
    size_t errstr_size)
{
    int                rc;
    int32_t            q;
    int64_t            gen;
    uint32_t           i, n = 0;
    MDB_val            k, v;
    MDB_dbi            main_dbi;
    MDB_cursor        *c;
    mcpu_dedup_gen_t  *g;
    char               name[MCPU_DEDUP_NAME_MAX];

    if (p < 0 || p >= st->partitions) {
        snprintf(errstr, errstr_size, "partition %" PRId32 " is beyond the "
                 "%" PRId32 " the topic had at start", p, st->partitions);
        return -1;
    }

    if (st->loaded[p]) {
        return 0;
    }

    g = &st->gens[(size_t) p * MCPU_DEDUP_STATE_GENS_MAX];
    for (i = 0; i < MCPU_DEDUP_STATE_GENS_MAX; i++) {
        g[i].gen = -1;
    }

    rc = mdb_dbi_open(st->txn, NULL, 0, &main_dbi);
    if (rc == 0) {
        rc = mdb_cursor_open(st->txn, main_dbi, &c);
    }
    if (rc != 0) {
        return mcpu_dedup_state_fail("listing generations", rc, errstr,
                                     errstr_size);
    }

    k.mv_size = (size_t) snprintf(name, sizeof(name), "p%" PRId32 ".g", p);
    k.mv_data = name;

    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
    {
        if (mcpu_dedup_state_parse(&k, &q, &gen) != 0 || q != p) {
            break;
        }

        if (n == MCPU_DEDUP_STATE_GENS_MAX) {
            mdb_cursor_close(c);
            snprintf(errstr, errstr_size, "partition %" PRId32 " has more "
                     "than %d generations", p, MCPU_DEDUP_STATE_GENS_MAX);
            return -1;
        }

        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = '\0';

        rc = mdb_dbi_open(st->txn, name, 0, &g[n].dbi);
        if (rc != 0) {
            break;
        }

        g[n++].gen = gen;
    }

    mdb_cursor_close(c);

    if (rc != 0 && rc != MDB_NOTFOUND) {
        return mcpu_dedup_state_fail("opening a generation", rc, errstr,
                                     errstr_size);
    }

    st->loaded[p] = 1;
    return 0;
}


static int
mcpu_dedup_state_gen_dbi(mcpu_dedup_state_t *st, int32_t p, int64_t gen,
    MDB_dbi *dbi, char *errstr, size_t errstr_size)
{
    int                rc;
    uint32_t           i, free_slot = MCPU_DEDUP_STATE_GENS_MAX;
    mcpu_dedup_gen_t  *g;
    char               name[MCPU_DEDUP_NAME_MAX];

    if (mcpu_dedup_state_load(st, p, errstr, errstr_size) != 0) {
        return -1;
    }

    g = &st->gens[(size_t) p * MCPU_DEDUP_STATE_GENS_MAX];

    for (i = 0; i < MCPU_DEDUP_STATE_GENS_MAX; i++) {
        if (g[i].gen == gen) {
            *dbi = g[i].dbi;
            return 0;
        }

        if (g[i].gen == -1 && free_slot == MCPU_DEDUP_STATE_GENS_MAX) {
            free_slot = i;
        }
    }

    if (free_slot == MCPU_DEDUP_STATE_GENS_MAX) {
        snprintf(errstr, errstr_size, "partition %" PRId32 " has more than "
                 "%d generations: the old ones were not expired", p,
                 MCPU_DEDUP_STATE_GENS_MAX);
        return -1;
    }

    snprintf(name, sizeof(name), "p%" PRId32 ".g%020" PRId64, p, gen);

    rc = mdb_dbi_open(st->txn, name, MDB_CREATE, &g[free_slot].dbi);
    if (rc != 0) {
        return mcpu_dedup_state_fail("creating a generation", rc, errstr,
                                     errstr_size);
    }

    g[free_slot].gen = gen;
    *dbi = g[free_slot].dbi;
    return 0;
}


/* "p<P>.g<G>" -> P, G */
static int
mcpu_dedup_state_parse(const MDB_val *name, int32_t *p, int64_t *gen)
{
    char   buf[MCPU_DEDUP_NAME_MAX], *end;
    long   lp;
    long long  lg;

    if (name->mv_size < 4 || name->mv_size >= sizeof(buf)) {
        return -1;
    }

    memcpy(buf, name->mv_data, name->mv_size);
    buf[name->mv_size] = '\0';

    if (buf[0] != 'p') {
        return -1;
    }

    lp = strtol(buf + 1, &end, 10);
    if (end == buf + 1 || end[0] != '.' || end[1] != 'g' || lp < 0) {
        return -1;
    }

    lg = strtoll(end + 2, &end, 10);
    if (*end != '\0' || lg < 0) {
        return -1;
    }

    *p = (int32_t) lp;
    *gen = (int64_t) lg;
    return 0;
}


static void
mcpu_dedup_state_unload(mcpu_dedup_state_t *st)
{
    memset(st->loaded, 0, (size_t) st->partitions);
}


static int
mcpu_dedup_state_fail(const char *what, int rc, char *errstr,
    size_t errstr_size)
{
    snprintf(errstr, errstr_size, "state: %s: %s", what, mdb_strerror(rc));
    return MCPU_DEDUP_STATE_ERROR;
}
