/*
 * mcpu_batcher_seen.h: the batcher's side of the "last event seen" table
 * (ngx_mcpu_module/mcpu_seen.h): it is the table's only writer, and shares
 * it with the other batchers through a log-compacted Kafka topic.
 *
 * Two sources update the table, both with "newer wins" (mcpu_seen_newer:
 * by seq, else by time; equal is not newer, so updates are idempotent):
 *
 *   - the delivery report of a ring record that Kafka has (err 0, status
 *     PERSISTED): the record is copied from its ring slot.  This is the
 *     guarantee: an event only in the ring is never in the table.  Such an
 *     update marks its slot dirty;
 *   - a message of last_seen_topic, or of one of last_seen_mirrors (other
 *     regions' topics, copied by MirrorMaker 2), read by a consumer of our
 *     own from the beginning of every partition (rd_kafka_incremental_assign()
 *     as each topic is found, no group join, no commit), so a restarted
 *     batcher reloads the table and other hosts' acknowledged events
 *     arrive.  These do not mark dirty: whoever got the
 *     report publishes.  One exception, once the topic has been read to its
 *     end: a message older than the table's entry is answered with the
 *     entry, so that the newest event is also the compacted topic's last
 *     word for the client.
 *
 * Every last_seen_publish_interval ms the dirty slots are produced to
 * last_seen_topic (key the client id, value the stored record, copied) with
 * the batcher's producer; a slot is published at most once per interval,
 * with its newest entry.  The dirty set is two arrays of slot numbers and a
 * flag per slot, allocated at start: bounded by the table, nothing
 * allocated per event.  A publication that fails marks its slot dirty
 * again.  A publication lost all the same (the batcher killed before the
 * report) leaves other hosts with an older event for that client until its
 * next one: an older answer makes the client resend more, never less.
 *
 * The topics' partitions come from metadata, asked by a thread (it
 * blocks), every second until every topic exists; the main loop only reads
 * the result.  Nothing is produced to last_seen_topic before it exists: a
 * producer would make Kafka create it with the broker's defaults, not
 * compacted.  Mirrors are only read.
 */

#ifndef MCPU_BATCHER_SEEN_H
#define MCPU_BATCHER_SEEN_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "mcpu_seen.h"
#include "mcpu_batcher_conf.h"


typedef struct mcpu_batcher_seen_s  mcpu_batcher_seen_t;

/* one topic the consumer reads: last_seen_topic first, then the mirrors */
typedef struct {
    const char                 *name;
    rd_kafka_topic_t           *crkt;        /* on the consumer: metadata */
    int32_t                     md_partitions;   /* under md_lock; 0: not
                                                found yet */
    int                         md_said;     /* the thread logged it missing */
    int32_t                     partitions;  /* assigned; 0: not yet */
    int32_t                     at_end_left; /* partitions not read to their
                                                end yet; 0: all read */
    uint8_t                    *at_end;      /* per partition */
    uint64_t                    assigned_ms;
} mcpu_batcher_seen_topic_t;

struct mcpu_batcher_seen_s {
    mcpu_seen_t                 table;
    int                         open;        /* table mapped, writer */
    const mcpu_batcher_conf_t  *conf;

    rd_kafka_t                 *prk;         /* the batcher's producer */
    rd_kafka_topic_t           *prkt;        /* last_seen_topic on prk; NULL
                                                until the topic exists */
    rd_kafka_t                 *crk;         /* our consumer; NULL: topic
                                                disabled */
    mcpu_batcher_seen_topic_t  *topics;
    unsigned                    ntopics;
    char                       *mirrors;     /* the names of topics[1..] */

    /* the metadata thread, until every topic is found */
    pthread_t                   md_thread;
    pthread_mutex_t             md_lock;
    pthread_cond_t              md_cond;
    int                         md_started;
    int                         md_stop;

    uint64_t                    assign_retry_ms;   /* after a failure */

    /* dirty slots: flag[i] says i is in dirty[]; a round publishes
     * sending[sent..nsending) */
    uint8_t                    *flag;
    uint32_t                   *dirty;
    uint32_t                   *sending;
    uint32_t                    ndirty;
    uint32_t                    nsending;
    uint32_t                    sent;
    uint64_t                    round_ms;    /* monotonic start of the last
                                                round */
    char                       *buf;         /* one slot: key, value */
    size_t                      buf_size;

    /* counters, logged at shutdown */
    uint64_t                    acked;       /* reports seen */
    uint64_t                    acked_updates;   /* ... that changed it */
    uint64_t                    consumed;    /* topic messages read */
    uint64_t                    consumed_updates;
    uint64_t                    answered;    /* stale messages answered */
    uint64_t                    too_long;
    uint64_t                    malformed;
    uint64_t                    produced;    /* publications handed over */
    uint64_t                    published;   /* ... Kafka acknowledged */
    uint64_t                    publish_failed;

    /* malformed values and errors come in floods: one line a second */
    uint64_t                    log_ms;
    uint64_t                    unlogged;
};


/**
 * @brief Creates the consumer of last_seen_topic and last_seen_mirrors
 *        (unless last_seen_topic is empty) and,
 *        unless conf->test, starts the metadata thread.  The consumer gets
 *        the same brokers and kafka.* properties as the producer, except
 *        producer-only ones (mcpu_batcher_kafka_conf_new()).
 * @returns MCPU_BATCHER_OK, or MCPU_BATCHER_ERROR with a sentence in errstr
 *          (s is then destroyed).
 * @locality main thread, with the signals blocked, as the producer.
 */
int mcpu_batcher_seen_create(mcpu_batcher_seen_t *s,
    const mcpu_batcher_conf_t *conf, char *errstr, size_t errstr_size);

/**
 * @brief Opens (or creates) the table as its writer and sets up the dirty
 *        set; publications will go through the producer prk.
 * @returns MCPU_BATCHER_OK, or MCPU_BATCHER_ERROR with mcpu_seen's sentence
 *          in errstr (another geometry, another live writer, ...).
 * @locality main thread, after the ring is attached.
 */
int mcpu_batcher_seen_open(mcpu_batcher_seen_t *s, rd_kafka_t *prk,
    char *errstr, size_t errstr_size);

/**
 * @brief The batcher replaces its producer (after a fatal error): with NULL,
 *        drops the topic handle on the old one (before the old one is
 *        destroyed); with the new one, publishes through it from now on.
 *        Publications the old one did not get acknowledged were reported
 *        failed by its purge, so their slots are dirty again.
 * @locality main thread.
 */
void mcpu_batcher_seen_producer(mcpu_batcher_seen_t *s, rd_kafka_t *prk);

/**
 * @brief A ring record Kafka has acknowledged: key is the client id, value
 *        the record.  Updates the table if the event is newer.
 * @locality main thread, inside the producer's delivery report callback.
 */
void mcpu_batcher_seen_acked(mcpu_batcher_seen_t *s, const void *key,
    size_t key_len, const void *value, size_t value_len);

/**
 * @brief Takes the delivery report of one of the table's publications (a
 *        message of the producer not on the events' topic).  A failure
 *        marks its slot dirty again.
 * @locality main thread, inside the producer's delivery report callback.
 */
void mcpu_batcher_seen_report(mcpu_batcher_seen_t *s,
    const rd_kafka_message_t *rkm);

/**
 * @brief One pass: assigns each topic's partitions once they are known,
 *        reads what the consumer has (never waits, a bounded number of
 *        messages), publishes the dirty slots when the interval is over.
 * @returns the number of messages read and published (0: idle).
 * @locality main thread, each pass of the loop; now_ms is monotonic.
 */
unsigned mcpu_batcher_seen_poll(mcpu_batcher_seen_t *s, uint64_t now_ms);

/**
 * @brief At shutdown: publishes every dirty slot now, serving the
 *        producer's reports while librdkafka's queue is full, for at most
 *        timeout_ms.  The caller then flushes the producer.
 * @locality main thread.
 */
void mcpu_batcher_seen_flush(mcpu_batcher_seen_t *s, int timeout_ms);

/**
 * @brief Logs the counters, stops the metadata thread, destroys the
 *        consumer and the producer's topic handle (before the producer),
 *        closes the table (giving up the writer role).  Accepts a
 *        half-built s.
 * @locality main thread.
 */
void mcpu_batcher_seen_destroy(mcpu_batcher_seen_t *s);

#endif /* MCPU_BATCHER_SEEN_H */
