/*
 * mcpu_dedup_state.h: the exact state, in LMDB (Debian's liblmdb).
 *
 * Why LMDB: the keys of a whole window (days) do not fit in memory at
 * scale, and the Bloom filter keeps most lookups off them anyway; LMDB is
 * a B+tree in one memory-mapped file with ACID transactions and one
 * writer, which is what one mcpu-dedup process is, and a process killed at
 * any instant leaves the last committed transaction intact.  RocksDB would
 * add compaction threads and a write-ahead log for a write rate LMDB keeps
 * up with (see the README's figures).
 *
 * LAYOUT (one environment in state_dir)
 *   "meta"           key "p<partition>" -> mcpu_dedup_meta_t: the next raw
 *                    offset this state has handled, and the next offset of
 *                    the clean topic's partition that it reflects
 *   "p<P>.g<G>"      one database per partition and generation G (time ms
 *                    / period): the keys first seen in that period, value
 *                    empty.  A generation is dropped whole (mdb_drop) when
 *                    it leaves the window, G <= current - generations.
 *
 * TRANSACTIONS
 *   One write transaction per batch: mcpu_dedup_state_begin(), then
 *   lookups (which see the batch's own additions: a duplicate within a
 *   batch is found there) and additions, then commit once Kafka has the
 *   batch's records, or abort when it does not.  A crash before the
 *   commit leaves the state of the previous batch: the batch is read
 *   again and nothing of it was marked seen.
 */

#ifndef MCPU_DEDUP_STATE_H
#define MCPU_DEDUP_STATE_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>


#define MCPU_DEDUP_STATE_OK       0
#define MCPU_DEDUP_STATE_ERROR   -1

/* per partition, at most generations live databases plus the current */
#define MCPU_DEDUP_STATE_GENS_MAX  9


typedef struct {
    int64_t  raw_next;       /* -1: none */
    int64_t  clean_next;     /* -1: none */
} mcpu_dedup_meta_t;


typedef struct {
    int64_t   gen;           /* -1: slot free */
    MDB_dbi   dbi;
} mcpu_dedup_gen_t;


typedef struct {
    MDB_env            *env;
    MDB_txn            *txn;          /* the open write transaction */
    MDB_dbi             meta;
    int                 lock_fd;
    int32_t             partitions;
    uint32_t            generations;
    int64_t             period_ms;
    size_t              map_bytes;
    /* partitions x MCPU_DEDUP_STATE_GENS_MAX, loaded lazily */
    mcpu_dedup_gen_t   *gens;
    unsigned char      *loaded;       /* per partition */
} mcpu_dedup_state_t;


/**
 * @brief Opens (creating if needed, 0750) state_dir and its environment,
 *        locked against a second mcpu-dedup (errstr names the holder's
 *        pid).  A state written with another period (window_s or
 *        generations changed) is emptied: its generations would mean
 *        other times; the clean topic refills it.
 */
int mcpu_dedup_state_open(mcpu_dedup_state_t *st, const char *dir,
    size_t map_bytes, int32_t partitions, uint32_t generations,
    int64_t period_ms, char *errstr, size_t errstr_size);

void mcpu_dedup_state_close(mcpu_dedup_state_t *st);

int mcpu_dedup_state_begin(mcpu_dedup_state_t *st, char *errstr,
    size_t errstr_size);

/** @brief Commits the open transaction; MDB_MAP_FULL is named as such. */
int mcpu_dedup_state_commit(mcpu_dedup_state_t *st, char *errstr,
    size_t errstr_size);

void mcpu_dedup_state_abort(mcpu_dedup_state_t *st);

/**
 * @brief Whether key is in any live generation of partition p (in the
 *        open transaction).
 * @returns 1 found, 0 not, MCPU_DEDUP_STATE_ERROR with errstr.
 */
int mcpu_dedup_state_seen(mcpu_dedup_state_t *st, int32_t p,
    const void *key, size_t len, char *errstr, size_t errstr_size);

/** @brief Adds key to generation gen of partition p (open transaction). */
int mcpu_dedup_state_add(mcpu_dedup_state_t *st, int32_t p, int64_t gen,
    const void *key, size_t len, char *errstr, size_t errstr_size);

int mcpu_dedup_state_meta_get(mcpu_dedup_state_t *st, int32_t p,
    mcpu_dedup_meta_t *m, char *errstr, size_t errstr_size);

int mcpu_dedup_state_meta_put(mcpu_dedup_state_t *st, int32_t p,
    const mcpu_dedup_meta_t *m, char *errstr, size_t errstr_size);

/**
 * @brief Drops partition p's generations older than current -
 *        generations + 1 (open transaction).
 * @returns the number of keys dropped, or MCPU_DEDUP_STATE_ERROR.
 */
int64_t mcpu_dedup_state_expire(mcpu_dedup_state_t *st, int32_t p,
    int64_t current, char *errstr, size_t errstr_size);

typedef void (*mcpu_dedup_state_key_pt)(void *arg, int64_t gen,
    const void *key, size_t len);

/**
 * @brief Calls fn for every key of partition p's live generations (open
 *        transaction): how a Bloom filter is rebuilt after a restart.
 * @returns the number of keys, or MCPU_DEDUP_STATE_ERROR.
 */
int64_t mcpu_dedup_state_each(mcpu_dedup_state_t *st, int32_t p,
    mcpu_dedup_state_key_pt fn, void *arg, char *errstr,
    size_t errstr_size);

/** @brief Keys held for partition p (open transaction), or -1. */
int64_t mcpu_dedup_state_keys(mcpu_dedup_state_t *st, int32_t p);

/** @brief Bytes of the environment's file in use. */
uint64_t mcpu_dedup_state_bytes(mcpu_dedup_state_t *st);

#endif /* MCPU_DEDUP_STATE_H */
