/*
 * mcpu_sim_conf.h: mcpu-sim's settings.  As the batcher's and mcpu-dedup's,
 * one row per option in a table (mcpu_sim_conf.c) read by the shared option
 * engine (common/mcpu_conf.h): the command line, the defaults, --help and
 * --list-options (which the README's option list is generated from).
 *
 * mcpu-sim has no settings file: -c names the scenario (the clients, their
 * activity and the planted causes, mcpu_sim_scenario.h), a file of another
 * format that the engine does not read.
 */

#ifndef MCPU_SIM_CONF_H
#define MCPU_SIM_CONF_H

#include <stddef.h>

#include "mcpu_conf.h"


typedef struct {
    char                 *scenario;         /* -c: the scenario file */
    char                 *url;              /* the ingest location */
    char                 *key_file;         /* "": no token */
    char                 *alg;              /* the key's JWT algorithm */
    long                  token_ttl_s;      /* a token's exp - iat */
    long                  clients;          /* 0: the scenario's */
    double                hours;            /* simulated time covered */
    long                  end_ms;           /* 0: now */
    long                  seed;
    double                speed;            /* 0: as fast as accepted */
    char                 *spool_dir;
    long                  batch;            /* events per request, at most */
    long                  max_body;         /* bytes per request, at most */
    long                  flush_interval_s; /* simulated seconds */
    long                  connections;
    long                  timeout_ms;       /* per request */
    long                  drain_timeout_s;  /* after the simulated end */
    char                 *truth_file;       /* "": none */
    char                 *log_file;         /* "": stderr */

    /* the engine's: mcpu-sim takes no Kafka property, so these stay empty */
    mcpu_conf_kafka_prop_t  *kafka;
    size_t                   nkafka;

    int                   test;             /* -t: check and exit */
} mcpu_sim_conf_t;


/**
 * @brief Fills conf from the defaults, then the command line.  --help,
 *        --version and --list-options print to stdout.
 * @returns MCPU_CONF_OK; MCPU_CONF_DONE when an output-only option was
 *          handled; MCPU_CONF_ERROR with one line in errstr naming the
 *          option and the value.
 */
int mcpu_sim_conf_load(mcpu_sim_conf_t *conf, int argc, char **argv,
    char *errstr, size_t errstr_size);

/** @brief Frees what conf_load allocated; accepts a half-filled conf. */
void mcpu_sim_conf_free(mcpu_sim_conf_t *conf);

#endif /* MCPU_SIM_CONF_H */
