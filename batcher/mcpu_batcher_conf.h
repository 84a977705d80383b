/*
 * mcpu_batcher_conf.h: the batcher's settings.  One table row per option
 * (mcpu_batcher_conf.c) gives its name in the file, its command-line form,
 * its default, its bounds and its description; the shared option engine
 * (common/mcpu_conf.h) parses the file and the command line through the
 * same table and prints --help and --list-options, so the README cannot
 * drift from the code.
 */

#ifndef MCPU_BATCHER_CONF_H
#define MCPU_BATCHER_CONF_H

#include <stddef.h>

#include "mcpu_conf.h"


typedef struct {
    char                       *config_file;   /* -c; NULL: none */
    char                       *ring;
    char                       *brokers;
    char                       *topic;
    char                       *log_file;      /* "": stderr */
    long                        batch;
    long                        poll_ms;
    long                        flush_timeout_ms;
    long                        max_in_flight_per_lane;
    long                        resend_backoff_ms;

    /* the "last event seen" table (mcpu_batcher_seen.h) */
    char                       *last_seen_file;   /* default: ring + .seen */
    char                       *last_seen_topic;  /* "": not shared */
    char                       *last_seen_mirrors;   /* topic,topic... */
    long                        last_seen_slots;
    long                        last_seen_value_max;
    long                        last_seen_publish_interval;   /* ms */

    /* kafka.* lines of the file, then -X options, in that order */
    mcpu_conf_kafka_prop_t     *kafka;
    size_t                      nkafka;

    int                         test;          /* -t: check and exit */
} mcpu_batcher_conf_t;


/**
 * @brief Fills conf from the defaults, then the file named by -c, then the
 *        rest of the command line (which wins over the file).  --help,
 *        --version and --list-options print their output to stdout.
 * @returns MCPU_BATCHER_OK; MCPU_BATCHER_DONE when an output-only option
 *          was handled; MCPU_BATCHER_ERROR with one line in errstr naming
 *          the option and the value (and FILE:LINE for the file).
 * @locality main thread, at start-up.
 */
int mcpu_batcher_conf_load(mcpu_batcher_conf_t *conf, int argc, char **argv,
    char *errstr, size_t errstr_size);

/** @brief Frees what conf_load allocated; accepts a half-filled conf. */
void mcpu_batcher_conf_free(mcpu_batcher_conf_t *conf);

#endif /* MCPU_BATCHER_CONF_H */
