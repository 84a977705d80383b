/*
 * mcpu_sink.h: mcpu-sink, the store's writer: reads the clean topic as a
 * member of a consumer group and writes the events to ClickHouse, in
 * batches, committing the offsets only once ClickHouse has the rows.
 *
 * ONE BATCH (mcpu_sink_batch.c), on the main thread:
 *   1. records are taken from rd_kafka_consumer_poll() and each becomes a
 *      JSONEachRow row in one buffer (mcpu_sink_row.h), until batch rows
 *      or batch_ms after the first; a record that cannot be mapped is
 *      counted, logged (rate-limited) and skipped, its offset committed
 *      with the batch's, so it never stalls its partition;
 *   2. one INSERT of the buffer (mcpu_sink_ch.h);
 *   3. only when ClickHouse answered 200: the offsets after each
 *      partition's last record are committed, and the buffer is reused.
 *
 * BACKPRESSURE: an INSERT that fails is sent again after 1 s, 2 s, 4 s ...
 *   up to retry_max_ms; meanwhile the assigned partitions are paused
 *   (rd_kafka_pause_partitions) and the loop keeps polling, so nothing
 *   more is read, the group membership is kept (max.poll.interval.ms) and
 *   rebalances are served.  At most one batch is in memory, plus what
 *   librdkafka fetched ahead (queued.max.messages.kbytes).
 *
 * IDEMPOTENCE: a batch is written at least once.  Sent again after a lost
 *   answer, read again by the next owner after a crash or a revocation,
 *   its rows are stored twice until ClickHouse merges the parts; the table
 *   is a ReplacingMergeTree on (client_id, dedup_key), and every query
 *   reads through FINAL or groups by the key (store/schema.sql).
 *
 * REBALANCE (mcpu_sink_kafka.c): on revocation, the batch in hand is
 *   inserted and committed if ClickHouse takes it within flush_timeout_ms,
 *   else dropped uncommitted (the next owner reads it again).
 */

#ifndef MCPU_SINK_H
#define MCPU_SINK_H

#include <signal.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "mcpu_sink_ch.h"
#include "mcpu_sink_conf.h"
#include "mcpu_sink_row.h"
#include "mcpu_daemon.h"


#define MCPU_SINK_OK      0
#define MCPU_SINK_ERROR  -1
#define MCPU_SINK_RETRY   1     /* ClickHouse did not take the batch */

#define MCPU_SINK_EXIT_FATAL   1
#define MCPU_SINK_EXIT_CONFIG  2

#define MCPU_SINK_ERRSTR_SIZE  1024

#define MCPU_SINK_BACKOFF_MIN_MS  1000


typedef struct {
    unsigned  owned:1;          /* assigned to this instance now */
    int64_t   batch_first;      /* its first record in the batch; -1:
                                   none of this partition in it */
    int64_t   batch_next;       /* to commit with the batch */
    int64_t   committed;        /* the group's offset as Kafka last
                                   confirmed it; -1: unknown */
} mcpu_sink_part_t;


typedef struct {
    uint64_t  read;             /* records taken */
    uint64_t  rows_inserted;    /* rows of INSERTs answered 200 */
    uint64_t  bytes_inserted;
    uint64_t  skipped;          /* unmappable records */
    uint64_t  inserts;          /* INSERTs answered 200 */
    uint64_t  insert_failures;  /* INSERTs not answered 200 */
    uint64_t  retries;          /* INSERTs of a batch sent before */
    uint64_t  batches_dropped;  /* given up at revocation or stop */
    uint64_t  commits;          /* offset commits Kafka confirmed */
    uint64_t  commit_errors;
    uint64_t  consumer_errors;
    uint64_t  rebalances;
} mcpu_sink_counters_t;


typedef struct {
    mcpu_sink_conf_t       *conf;
    rd_kafka_t             *consumer;
    mcpu_sink_ch_t          ch;

    mcpu_sink_part_t       *parts;
    int32_t                 nparts;         /* size of parts */

    /* the batch in hand */
    mcpu_sink_buf_t         rows;
    uint64_t                batch_rows;
    uint64_t                batch_records;  /* rows and skipped */
    int64_t                 batch_first_ms; /* when its first record came */
    int                     batch_attempts; /* INSERTs of it so far */

    /* backpressure: the batch failed, partitions paused until retry_at */
    int                     paused;
    int64_t                 backoff_ms;     /* 0: ClickHouse is well */
    int64_t                 retry_at_ms;

    /* unmappable records: a log line at most every few seconds */
    uint64_t                skipped_unlogged;
    int64_t                 skip_logged_ms;

    int64_t                 last_insert_wall_ms;   /* since the epoch */
    int64_t                 last_insert_took_ms;

    mcpu_sink_counters_t    n;
    int                     fatal;          /* exit code to stop with */
    int                     check_only;     /* -t */
} mcpu_sink_t;




/* mcpu_sink_kafka.c */
int mcpu_sink_kafka_check(mcpu_sink_t *d, char *errstr, size_t errstr_size);
int mcpu_sink_kafka_open(mcpu_sink_t *d, char *errstr, size_t errstr_size);
void mcpu_sink_kafka_close(mcpu_sink_t *d);
void mcpu_sink_kafka_pause(mcpu_sink_t *d, int pause);
void mcpu_sink_kafka_commit(mcpu_sink_t *d, int sync);
void mcpu_sink_kafka_rewind(mcpu_sink_t *d);
mcpu_sink_part_t *mcpu_sink_part(mcpu_sink_t *d, int32_t p);

/* mcpu_sink_batch.c */
void mcpu_sink_batch_take(mcpu_sink_t *d, rd_kafka_message_t *m);
int mcpu_sink_batch_due(mcpu_sink_t *d, int64_t now_ms);
int mcpu_sink_batch_flush(mcpu_sink_t *d, long timeout_ms, int sync);
void mcpu_sink_batch_finish(mcpu_sink_t *d, int64_t deadline_ms,
    const char *why);
void mcpu_sink_batch_clear(mcpu_sink_t *d);
int mcpu_sink_poll_timeout(mcpu_sink_t *d, int64_t now_ms);

/* mcpu_sink_metrics.c */
int mcpu_sink_metrics_write(mcpu_sink_t *d, const char *path, char *errstr,
    size_t errstr_size);

/* the columns mcpu-sink writes, checked at start */
extern const char *const  mcpu_sink_columns[];

#endif /* MCPU_SINK_H */
