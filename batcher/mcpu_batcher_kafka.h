/*
 * mcpu_batcher_kafka.h: the librdkafka producer: configuration, delivery
 * reports, errors, and producing one ring record in place.  The "last event
 * seen" table (mcpu_batcher_seen.h) shares the producer and builds its
 * consumer's configuration here too.
 *
 * A fatal error (the idempotent producer can no longer keep its promises:
 * fenced, sequence desynchronised) does not stop the batcher: the producer
 * is retired (its delivery reports served, what it still holds purged) and
 * replaced by a new one with the same configuration; the ring's FIFOs then
 * send again every record the old one did not get acknowledged
 * (mcpu_batcher_ring_resend()).  Nothing of a record lives only in a
 * producer, so a producer can be thrown away at any time.
 *
 * Reachability (MCPU_BATCHER_KAFKA_*) is unknown at start, up once a
 * delivery is acknowledged or cluster metadata arrived, down when
 * librdkafka says all brokers are down.  While down, a thread of ours asks
 * for metadata every second (rd_kafka_metadata() blocks, so not in the main
 * loop), so that an idle batcher learns that Kafka is back too.
 */

#ifndef MCPU_BATCHER_KAFKA_H
#define MCPU_BATCHER_KAFKA_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "mcpu_ring.h"
#include "mcpu_batcher_conf.h"
#include "mcpu_batcher_ring.h"


#define MCPU_BATCHER_KAFKA_UNKNOWN  -1   /* nothing learned yet */
#define MCPU_BATCHER_KAFKA_DOWN      0   /* all brokers down */
#define MCPU_BATCHER_KAFKA_UP        1   /* reports arrive / metadata came */


struct mcpu_batcher_seen_s;


typedef struct {
    rd_kafka_t           *rk;
    rd_kafka_topic_t     *rkt;
    const mcpu_batcher_conf_t  *conf;   /* to build the next producer */
    mcpu_batcher_ring_t  *ring;      /* where delivery reports go; set
                                        before the first produce */
    struct mcpu_batcher_seen_s  *seen;   /* the last-seen table: told of
                                        every acknowledged record; NULL
                                        before it is open */
    int                   fatal;     /* a fatal error: rebuild the producer */
    int                   up;        /* MCPU_BATCHER_KAFKA_* */
    unsigned              producers; /* created so far; 1 after start */
    uint64_t              acked;     /* reports that said "persisted", by
                                        this producer */

    /* the reachability probe (main: probe_on; thread: probe_ok) */
    pthread_t             probe_thread;
    pthread_mutex_t       probe_lock;
    pthread_cond_t        probe_cond;
    int                   probe_started;
    int                   probe_stop;
    int                   probe_on;  /* ask for metadata: Kafka is down */
    int                   probe_ok;  /* metadata arrived since probe_on */
    unsigned              probe_gen; /* bumped by each change of probe_on:
                                        an answer to an older request does
                                        not count */

    /* delivery errors come in floods: one line a second at most */
    uint64_t              dr_log_ms;
    uint64_t              dr_unlogged;
} mcpu_batcher_kafka_t;


/**
 * @brief Creates the producer, the topic handle and the reachability probe
 *        thread.  The batcher's defaults are set first, then every
 *        conf->kafka property in order, each passed to rd_kafka_conf_set()
 *        untouched.  conf must outlive k (it builds later producers).
 * @returns MCPU_BATCHER_OK, or MCPU_BATCHER_ERROR with librdkafka's message
 *          (and the property's origin) in errstr; k is then destroyed.
 * @locality main thread.  The stop/reload signals are blocked while
 *           librdkafka's threads and ours start, so that they stay main's.
 */
int mcpu_batcher_kafka_create(mcpu_batcher_kafka_t *k,
    const mcpu_batcher_conf_t *conf, char *errstr, size_t errstr_size);

/**
 * @brief The first step of replacing a producer that had a fatal error:
 *        purges what it still holds, queued or in flight, and serves the
 *        delivery reports (each says "failed", so its FIFO entry is to be
 *        sent again) for up to timeout_ms.  The caller has already given
 *        the in-flight requests their chance to be acknowledged.  Then the
 *        last-seen table drops its topic handle on the producer, and
 *        mcpu_batcher_kafka_renew() replaces it.
 * @returns the number of messages whose report did not come (they are sent
 *          again all the same: the ring has them).
 * @locality main thread.
 */
int mcpu_batcher_kafka_retire(mcpu_batcher_kafka_t *k, int timeout_ms);

/**
 * @brief Destroys the producer (topic handle first) and creates a new one
 *        with the same configuration.  k->fatal is cleared, k->producers
 *        counts it.
 * @returns MCPU_BATCHER_OK, or MCPU_BATCHER_ERROR with a sentence in errstr
 *          (k->rk is NULL then: the batcher must stop).
 * @locality main thread.
 */
int mcpu_batcher_kafka_renew(mcpu_batcher_kafka_t *k, char *errstr,
    size_t errstr_size);

/**
 * @brief A librdkafka configuration for a handle of the given type:
 *        mcpu_kafka_conf_new() (common/mcpu_kafka_conf.h) with the defaults
 *        (name, value, ..., NULL), then bootstrap.servers from
 *        conf->brokers, then the conf->kafka properties in order, untouched,
 *        except those librdkafka documents as being for the other type of
 *        handle only (they would only draw "ignored" warnings); and the
 *        batcher's log callback.
 * @returns the configuration (the caller owns it), or NULL with the
 *          refusal (and the property's origin) in errstr.
 * @locality main thread, at start-up.
 */
rd_kafka_conf_t *mcpu_batcher_kafka_conf_new(const mcpu_batcher_conf_t *conf,
    rd_kafka_type_t type, const char *const *defaults, char *errstr,
    size_t errstr_size);

/**
 * @brief Hands one record to librdkafka in place (no copy): the slot stays
 *        valid until its entry is released, after the delivery report.
 * @returns librdkafka's error code; RD_KAFKA_RESP_ERR__QUEUE_FULL means poll
 *          and try the same record again.
 * @locality main thread.
 */
rd_kafka_resp_err_t mcpu_batcher_kafka_produce(mcpu_batcher_kafka_t *k,
    const mcpu_ring_view_t *v, mcpu_batcher_entry_t *e);

/**
 * @brief Serves delivery reports and errors, waiting up to timeout_ms.
 * @locality main thread.
 */
void mcpu_batcher_kafka_poll(mcpu_batcher_kafka_t *k, int timeout_ms);

/**
 * @brief Whether Kafka is known to be reachable: MCPU_BATCHER_KAFKA_UP after
 *        an acknowledged delivery or metadata, _DOWN after "all brokers
 *        down", _UNKNOWN before either.  Logs the changes to up.
 * @locality main thread.
 */
int mcpu_batcher_kafka_state(mcpu_batcher_kafka_t *k);

/**
 * @brief Waits up to timeout_ms for the reports of everything handed over
 *        (serving them), then says what is left.
 * @returns the number of messages still in librdkafka's queues.
 * @locality main thread, at shutdown.
 */
int mcpu_batcher_kafka_flush(mcpu_batcher_kafka_t *k, int timeout_ms);

/**
 * @brief Stops the probe thread, destroys the topic handle, then the
 *        producer.  Accepts a half-built k.  Nothing is purged first: what
 *        is not acknowledged stays in the ring.
 * @locality main thread.
 */
void mcpu_batcher_kafka_destroy(mcpu_batcher_kafka_t *k);

#endif /* MCPU_BATCHER_KAFKA_H */
