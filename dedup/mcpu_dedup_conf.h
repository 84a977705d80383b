/*
 * mcpu_dedup_conf.h: mcpu-dedup's settings.  As the batcher's, one row per
 * option in a table (mcpu_dedup_conf.c) read by the shared option engine
 * (common/mcpu_conf.h): the file, the command line, the defaults, --help
 * and --list-options (which the README's option list is generated from).
 */

#ifndef MCPU_DEDUP_CONF_H
#define MCPU_DEDUP_CONF_H

#include <stddef.h>

#include "mcpu_conf.h"


typedef struct {
    char                 *config_file;      /* -c; NULL: none */
    char                 *brokers;
    char                 *group;            /* the consumer group, group.id */
    char                 *input_topic;      /* raw events */
    char                 *output_topic;     /* clean events */
    char                 *state_dir;        /* the LMDB environment */
    long                  state_map_mb;     /* LMDB map size, MiB */
    long                  window_s;         /* duplicates caught within */
    long                  generations;      /* Bloom generations, 2..8 */
    long                  keys_per_generation;   /* Bloom sizing, per
                                                    partition */
    double                fp_rate;          /* Bloom false-positive rate */
    long                  batch;            /* records per batch, at most */
    long                  batch_ms;         /* a batch collects this long */
    long                  flush_timeout_ms; /* at SIGTERM */
    char                 *metrics_file;     /* "": none */
    long                  metrics_interval_ms;
    char                 *log_file;         /* "": stderr */

    /* kafka.* lines of the file, then -X options, in that order */
    mcpu_conf_kafka_prop_t  *kafka;
    size_t                   nkafka;

    int                   test;             /* -t: check and exit */
} mcpu_dedup_conf_t;


/**
 * @brief Fills conf from the defaults, the file named by -c, then the rest
 *        of the command line.  --help, --version and --list-options print
 *        to stdout.
 * @returns MCPU_CONF_OK; MCPU_CONF_DONE when an output-only option was
 *          handled; MCPU_CONF_ERROR with one line in errstr naming the
 *          option and the value (and FILE:LINE for the file).
 */
int mcpu_dedup_conf_load(mcpu_dedup_conf_t *conf, int argc, char **argv,
    char *errstr, size_t errstr_size);

/** @brief Frees what conf_load allocated; accepts a half-filled conf. */
void mcpu_dedup_conf_free(mcpu_dedup_conf_t *conf);

#endif /* MCPU_DEDUP_CONF_H */
