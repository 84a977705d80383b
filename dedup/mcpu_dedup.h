/*
 * mcpu_dedup.h: mcpu-dedup, the first downstream stage: reads the raw topic
 * as a member of a consumer group and writes every event once to the
 * clean topic, same key, same partition number.
 *
 * ONE BATCH (mcpu_dedup_batch.c), on the main thread, outside
 * rd_kafka_consumer_poll() so that no rebalance falls inside it:
 *   1. records are collected for at most batch records or batch_ms;
 *   2. each gets its key (mcpu_dedup_key.h); the partition's Bloom filter
 *      answers "new" (most) or "maybe", and a maybe is looked up in the
 *      exact state (mcpu_dedup_state.h) inside the batch's LMDB write
 *      transaction, which also holds this batch's own additions;
 *   3. new ones are produced to the clean topic (in a Kafka transaction
 *      with the consumer offsets when transactional.id is set);
 *   4. only when Kafka has them all: the state transaction commits with
 *      the next raw offset and the clean topic's next offset per
 *      partition, then the offsets are committed to Kafka.  If Kafka
 *      refuses any, the state transaction is aborted and the batch is read
 *      again (seek), so an event is never marked seen without being in
 *      the clean topic.
 *
 * THE CLEAN TOPIC IS THE TRUTH (mcpu_dedup_kafka.c)
 *   When a partition is assigned, its state is brought up to date from
 *   the clean topic: from the clean offset the local state reflects (or,
 *   with no local state, from the first record of the window) to the end,
 *   every record's key is added.  So an instance that takes over a
 *   partition, or restarts after a crash between producing and
 *   committing, knows every event already written, by whoever wrote it.
 */

#ifndef MCPU_DEDUP_H
#define MCPU_DEDUP_H

#include <signal.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "mcpu_bloom.h"
#include "mcpu_daemon.h"
#include "mcpu_dedup_conf.h"
#include "mcpu_dedup_key.h"
#include "mcpu_dedup_state.h"


#define MCPU_DEDUP_OK      0
#define MCPU_DEDUP_ERROR  -1
#define MCPU_DEDUP_RETRY   1     /* the batch is read again */
#define MCPU_DEDUP_STOP    2     /* stopping: the batch was abandoned */

#define MCPU_DEDUP_EXIT_FATAL   1
#define MCPU_DEDUP_EXIT_CONFIG  2

#define MCPU_DEDUP_ERRSTR_SIZE  512


typedef struct {
    unsigned      owned:1;        /* assigned to this instance now */
    unsigned      loaded:1;       /* bloom and offsets valid */
    unsigned      expire:1;       /* generations to drop at next batch */
    mcpu_bloom_t  bloom;
    int64_t       gen;            /* the bloom's newest generation */
    int64_t       raw_next;       /* committed state: next raw offset */
    int64_t       clean_next;     /* committed state: next clean offset */
    int64_t       keys;           /* keys in the state */

    /* the batch in progress */
    int64_t       batch_first;    /* -1: none of this partition */
    int64_t       batch_next;
    int64_t       batch_keys;     /* added, counted at commit */
    int64_t       dr_clean_next;  /* from delivery reports */
} mcpu_dedup_part_t;


typedef struct {
    uint64_t  read;
    uint64_t  unique;
    uint64_t  duplicates[MCPU_DEDUP_KINDS];
    uint64_t  exact_checks;
    uint64_t  bloom_false_positives;
    uint64_t  batches;
    uint64_t  batches_retried;
    uint64_t  catchup_records;
    uint64_t  consumer_errors;
    uint64_t  delivery_errors;
    uint64_t  commit_errors;
    uint64_t  expired_keys;
    uint64_t  rebalances;
} mcpu_dedup_counters_t;


typedef struct {
    mcpu_dedup_conf_t        *conf;
    rd_kafka_t               *consumer;     /* the group member */
    rd_kafka_t               *producer;
    rd_kafka_t               *reader;       /* the clean topic, catch-up */
    int                       transactional;
    int32_t                   partitions;
    int64_t                   period_ms;
    int64_t                   window_ms;
    mcpu_dedup_part_t        *parts;
    mcpu_dedup_state_t        state;

    rd_kafka_message_t      **msgs;         /* the batch being collected */
    size_t                    nmsgs;
    int64_t                   outstanding;  /* produced, no report yet */
    int64_t                   batch_errors; /* failed reports this batch */
    int64_t                   last_batch_ms;

    mcpu_dedup_counters_t     n;
    int                       fatal;        /* exit code to stop with */
    int                       check_only;   /* -t */
} mcpu_dedup_t;




/* mcpu_dedup_kafka.c */
int mcpu_dedup_kafka_check(mcpu_dedup_t *d, char *errstr,
    size_t errstr_size);
int mcpu_dedup_kafka_open(mcpu_dedup_t *d, char *errstr, size_t errstr_size);
void mcpu_dedup_kafka_close(mcpu_dedup_t *d);
int mcpu_dedup_part_acquire(mcpu_dedup_t *d,
    rd_kafka_topic_partition_list_t *tps, char *errstr, size_t errstr_size);
void mcpu_dedup_part_release(mcpu_dedup_t *d, int32_t p, int forget);

/* mcpu_dedup_batch.c */
void mcpu_dedup_batch_collect(mcpu_dedup_t *d);
int mcpu_dedup_batch_run(mcpu_dedup_t *d, char *errstr, size_t errstr_size);
void mcpu_dedup_batch_drop(mcpu_dedup_t *d, int32_t p);
void mcpu_dedup_rotate(mcpu_dedup_t *d, int64_t now_ms);

/* mcpu_dedup_metrics.c */
int mcpu_dedup_metrics_write(mcpu_dedup_t *d, const char *path,
    char *errstr, size_t errstr_size);

#endif /* MCPU_DEDUP_H */
