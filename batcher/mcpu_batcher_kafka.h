/*
 * mcpu_batcher_kafka.h: the librdkafka producer: configuration, delivery
 * reports, errors, and producing one ring record in place.  The "last event
 * seen" table (mcpu_batcher_seen.h) shares the producer and builds its
 * consumer's configuration here too.
 */

#ifndef MCPU_BATCHER_KAFKA_H
#define MCPU_BATCHER_KAFKA_H

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
    mcpu_batcher_ring_t  *ring;      /* where delivery reports go; set
                                        before the first produce */
    struct mcpu_batcher_seen_s  *seen;   /* the last-seen table: told of
                                        every acknowledged record; NULL
                                        before it is open */
    int                   fatal;     /* a fatal error stopped the producer */
    int                   up;        /* MCPU_BATCHER_KAFKA_* */

    /* delivery errors come in floods: one line a second at most */
    uint64_t              dr_log_ms;
    uint64_t              dr_unlogged;
} mcpu_batcher_kafka_t;


/**
 * @brief Creates the producer and the topic handle.  The batcher's defaults
 *        are set first, then every conf->kafka property in order, each
 *        passed to rd_kafka_conf_set() untouched.
 * @returns MCPU_BATCHER_OK, or MCPU_BATCHER_ERROR with librdkafka's message
 *          (and the property's origin) in errstr; k is then destroyed.
 * @locality main thread, with the stop/reload signals blocked so that
 *           librdkafka's threads inherit a mask that leaves them to main.
 */
int mcpu_batcher_kafka_create(mcpu_batcher_kafka_t *k,
    const mcpu_batcher_conf_t *conf, char *errstr, size_t errstr_size);

/**
 * @brief A librdkafka configuration for a handle of the given type: the
 *        defaults (name/value pairs), bootstrap.servers from conf->brokers,
 *        then the conf->kafka properties in order, untouched, except those
 *        librdkafka documents as being for the other type of handle only
 *        (they would only draw "ignored" warnings), and our log callback.
 * @returns the configuration (the caller owns it), or NULL with the
 *          refusal (and the property's origin) in errstr.
 * @locality main thread, at start-up.
 */
rd_kafka_conf_t *mcpu_batcher_kafka_conf_new(const mcpu_batcher_conf_t *conf,
    rd_kafka_type_t type, const char *const (*defaults)[2], size_t ndefaults,
    char *errstr, size_t errstr_size);

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
 * @brief Whether Kafka is known to be reachable: up after a delivery report
 *        or first metadata, down after "all brokers down".
 * @locality main thread.
 */
int mcpu_batcher_kafka_up(mcpu_batcher_kafka_t *k);

/**
 * @brief Waits up to timeout_ms for the reports of everything handed over
 *        (serving them), then says what is left.
 * @returns the number of messages still in librdkafka's queues.
 * @locality main thread, at shutdown.
 */
int mcpu_batcher_kafka_flush(mcpu_batcher_kafka_t *k, int timeout_ms);

/**
 * @brief Destroys the topic handle, then the producer.  Accepts a
 *        half-built k.  Nothing is purged first: what is not acknowledged
 *        stays in the ring.
 * @locality main thread.
 */
void mcpu_batcher_kafka_destroy(mcpu_batcher_kafka_t *k);

#endif /* MCPU_BATCHER_KAFKA_H */
