/*
 * mcpu_kafka_conf.h: a librdkafka configuration from a program's defaults
 * and the user's kafka.* / -X properties (mcpu_conf.h), for a producer or a
 * consumer alike.  The same properties go to every handle of a program;
 * each handle skips those librdkafka's CONFIGURATION.md marks as for the
 * other type only, which would only draw "ignored" warnings.
 *
 * And the librdkafka glue every consumer-group daemon needs the same way:
 * a topic's partition count at start, the end of a rebalance callback.
 */

#ifndef MCPU_KAFKA_CONF_H
#define MCPU_KAFKA_CONF_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "mcpu_conf.h"


/**
 * @brief A librdkafka configuration for a handle of the given type: first
 *        the defaults, name/value pairs ended by a NULL name, then the n
 *        props in order, untouched, except those librdkafka documents as
 *        being for the other type of handle only; and a log callback that
 *        writes librdkafka's lines with mcpu_log() at librdkafka's level
 *        (the caller may install its own after).
 * @returns the configuration (the caller owns it), or NULL with the
 *          refusal (and the property's origin) in errstr.  Values are not
 *          echoed in errstr: they may be passwords.
 * @locality main thread, at start-up.
 */
rd_kafka_conf_t *mcpu_kafka_conf_new(rd_kafka_type_t type,
    const char *const *defaults, const mcpu_conf_kafka_prop_t *props,
    size_t n, char *errstr, size_t errstr_size);

/**
 * @brief topic's partition count, waiting for Kafka: while it does not
 *        answer, says so in the log and asks again every second.
 * @returns 0 with *n set; -1 with a sentence in errstr when the topic does
 *          not exist (a setting or a topic to fix, not a wait) or when
 *          mcpu_daemon_stop was set meanwhile (errstr empty).
 * @locality main thread, at start-up.
 */
int mcpu_kafka_topic_partitions(rd_kafka_t *rk, const char *topic,
    int32_t *n, char *errstr, size_t errstr_size);

/** @brief Whether rk's group uses the cooperative rebalance protocol. */
int mcpu_kafka_cooperative(rd_kafka_t *rk);

/**
 * @brief The end of a rebalance callback: assigns tps when err is
 *        __ASSIGN_PARTITIONS, else gives them up, incrementally under the
 *        cooperative protocol, wholly under the eager one; a failure is
 *        logged.
 * @locality the rebalance callback.
 */
void mcpu_kafka_rebalance_apply(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *tps);

#endif /* MCPU_KAFKA_CONF_H */
