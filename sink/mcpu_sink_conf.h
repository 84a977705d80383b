/*
 * mcpu_sink_conf.h: mcpu-sink's settings.  As the other programs', one row
 * per option in a table (mcpu_sink_conf.c) read by the shared option
 * engine (common/mcpu_conf.h): the file, the command line, the defaults,
 * --help and --list-options (which the README's option list is generated
 * from).
 */

#ifndef MCPU_SINK_CONF_H
#define MCPU_SINK_CONF_H

#include <stddef.h>

#include "mcpu_conf.h"


typedef struct {
    char                 *config_file;      /* -c; NULL: none */
    char                 *brokers;
    char                 *group;            /* the consumer group, group.id */
    char                 *topic;            /* clean events */
    char                 *clickhouse_url;   /* http://host:port[/...] */
    char                 *table;            /* [database.]table */
    long                  batch;            /* rows per INSERT, at most */
    long                  batch_ms;         /* a batch collects this long */
    long                  insert_timeout_ms;   /* one INSERT, at most */
    long                  retry_max_ms;     /* the backoff's ceiling */
    long                  flush_timeout_ms; /* at SIGTERM and revocation */
    char                 *metrics_file;     /* "": none */
    long                  metrics_interval_ms;
    char                 *log_file;         /* "": stderr */

    /* kafka.* lines of the file, then -X options, in that order */
    mcpu_conf_kafka_prop_t  *kafka;
    size_t                   nkafka;

    int                   test;             /* -t: check and exit */
} mcpu_sink_conf_t;


/**
 * @brief Fills conf from the defaults, the file named by -c, then the rest
 *        of the command line.  --help, --version and --list-options print
 *        to stdout.
 * @returns MCPU_CONF_OK; MCPU_CONF_DONE when an output-only option was
 *          handled; MCPU_CONF_ERROR with one line in errstr naming the
 *          option and the value (and FILE:LINE for the file).
 * @locality main thread, at start-up.
 */
int mcpu_sink_conf_load(mcpu_sink_conf_t *conf, int argc, char **argv,
    char *errstr, size_t errstr_size);

/** @brief Frees what conf_load allocated; accepts a half-filled conf. */
void mcpu_sink_conf_free(mcpu_sink_conf_t *conf);

/**
 * @brief The URL with its password (user:password@, password=) replaced by
 *        "***", for log lines.
 */
void mcpu_sink_conf_url_safe(const char *url, char *out, size_t out_size);

#endif /* MCPU_SINK_CONF_H */
