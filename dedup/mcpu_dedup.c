/*
 * mcpu_dedup.c: mcpu-dedup's start, main loop and stop (mcpu_dedup.h).
 *
 * Exit codes: 0 stopped by SIGTERM/SIGINT, 1 a failure at run time (the
 * state, Kafka fatal errors: a service manager restarts it), 2 a bad
 * configuration (a restart would not help).
 */

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcpu_log.h"
#include "mcpu_dedup.h"




static int mcpu_dedup_run(mcpu_dedup_t *d);
static void mcpu_dedup_metrics(mcpu_dedup_t *d, int64_t *next);




int
main(int argc, char **argv)
{
    int                 rc;
    mcpu_dedup_t        d;
    mcpu_dedup_conf_t   conf;
    char                errstr[MCPU_DEDUP_ERRSTR_SIZE];

    memset(&d, 0, sizeof(d));
    memset(&conf, 0, sizeof(conf));

    rc = mcpu_dedup_conf_load(&conf, argc, argv, errstr, sizeof(errstr));
    if (rc != MCPU_CONF_OK) {
        if (rc == MCPU_CONF_DONE) {
            mcpu_dedup_conf_free(&conf);
            return 0;
        }

        fprintf(stderr, "mcpu-dedup: %s\n", errstr);
        mcpu_dedup_conf_free(&conf);
        return MCPU_DEDUP_EXIT_CONFIG;
    }

    d.conf = &conf;
    d.window_ms = conf.window_s * 1000;
    d.period_ms = d.window_ms / (conf.generations - 1);

    if (conf.test) {
        /* every Kafka property through librdkafka, then the verdict */
        mcpu_log_level(MCPU_LOG_ERROR);
        rc = mcpu_dedup_kafka_check(&d, errstr, sizeof(errstr));
        if (rc != 0) {
            fprintf(stderr, "mcpu-dedup: %s\n", errstr);
        } else {
            printf("mcpu-dedup: configuration is ok\n");
        }
        mcpu_dedup_conf_free(&conf);
        return rc == 0 ? 0 : MCPU_DEDUP_EXIT_CONFIG;
    }

    if (mcpu_log_open("mcpu-dedup", conf.log_file, errstr, sizeof(errstr))
        != 0)
    {
        fprintf(stderr, "mcpu-dedup: %s\n", errstr);
        mcpu_dedup_conf_free(&conf);
        return MCPU_DEDUP_EXIT_CONFIG;
    }

    if (mcpu_daemon_signals() != 0) {
        mcpu_log(MCPU_LOG_CRIT, "sigaction: %s", strerror(errno));
        return MCPU_DEDUP_EXIT_FATAL;
    }

    rc = mcpu_dedup_run(&d);

    mcpu_dedup_conf_free(&conf);
    return rc;
}


static int
mcpu_dedup_run(mcpu_dedup_t *d)
{
    int                 rc, exit_code = 0;
    int64_t             next_metrics = 0;
    mcpu_dedup_conf_t  *conf = d->conf;
    char                errstr[MCPU_DEDUP_ERRSTR_SIZE];

    mcpu_log(MCPU_LOG_NOTICE, "starting: \"%s\" -> \"%s\", group \"%s\", "
             "window %lds in %ld generations, state in %s",
             conf->input_topic, conf->output_topic, conf->group,
             conf->window_s, conf->generations, conf->state_dir);

    if (mcpu_dedup_kafka_open(d, errstr, sizeof(errstr)) != 0) {
        if (!mcpu_daemon_stop) {
            mcpu_log(MCPU_LOG_CRIT, "%s", errstr);
            exit_code = MCPU_DEDUP_EXIT_CONFIG;
        }
        goto done;
    }

    d->parts = calloc((size_t) d->partitions, sizeof(mcpu_dedup_part_t));
    d->msgs = calloc((size_t) conf->batch, sizeof(rd_kafka_message_t *));
    if (d->parts == NULL || d->msgs == NULL) {
        mcpu_log(MCPU_LOG_CRIT, "out of memory");
        exit_code = MCPU_DEDUP_EXIT_FATAL;
        goto done;
    }

    if (mcpu_dedup_state_open(&d->state, conf->state_dir,
                              (size_t) conf->state_map_mb << 20,
                              d->partitions, (uint32_t) conf->generations,
                              d->period_ms, errstr, sizeof(errstr))
        != 0)
    {
        mcpu_log(MCPU_LOG_CRIT, "%s", errstr);
        exit_code = MCPU_DEDUP_EXIT_FATAL;
        goto done;
    }

    mcpu_log(MCPU_LOG_NOTICE, "%" PRId32 " partitions, %s", d->partitions,
             d->transactional ? "transactions on (transactional.id)"
                              : "no transactions");

    while (!mcpu_daemon_stop) {
        if (mcpu_daemon_reopen) {
            mcpu_daemon_reopen = 0;
            if (mcpu_log_reopen(errstr, sizeof(errstr)) != 0) {
                mcpu_log(MCPU_LOG_ERROR, "%s", errstr);
            }
        }

        mcpu_dedup_batch_collect(d);

        rc = mcpu_dedup_batch_run(d, errstr, sizeof(errstr));
        if (rc == MCPU_DEDUP_ERROR) {
            mcpu_log(MCPU_LOG_CRIT, "%s; stopping", errstr);
            exit_code = MCPU_DEDUP_EXIT_FATAL;
            break;
        }

        mcpu_dedup_metrics(d, &next_metrics);
    }

    if (d->fatal) {
        exit_code = d->fatal;
    }

done:

    mcpu_dedup_kafka_close(d);

    if (d->parts != NULL) {
        for (int32_t p = 0; p < d->partitions; p++) {
            mcpu_dedup_part_release(d, p, 1);
        }
    }

    if (d->msgs != NULL) {
        for (size_t i = 0; i < d->nmsgs; i++) {
            rd_kafka_message_destroy(d->msgs[i]);
        }
    }

    if (conf->metrics_file[0] != '\0' && d->parts != NULL) {
        next_metrics = 0;
        mcpu_dedup_metrics(d, &next_metrics);
    }

    mcpu_dedup_state_close(&d->state);
    free(d->parts);
    free(d->msgs);

    mcpu_log(MCPU_LOG_NOTICE, "stopped: %" PRIu64 " read, %" PRIu64
             " unique, %" PRIu64 " duplicates, %" PRIu64 " exact checks",
             d->n.read, d->n.unique,
             d->n.duplicates[0] + d->n.duplicates[1] + d->n.duplicates[2],
             d->n.exact_checks);

    return exit_code;
}


static void
mcpu_dedup_metrics(mcpu_dedup_t *d, int64_t *next)
{
    int64_t  now;
    char     errstr[MCPU_DEDUP_ERRSTR_SIZE];

    if (d->conf->metrics_file[0] == '\0') {
        return;
    }

    now = mcpu_daemon_wall_ms();
    if (now < *next) {
        return;
    }

    *next = now + d->conf->metrics_interval_ms;

    if (mcpu_dedup_metrics_write(d, d->conf->metrics_file, errstr,
                                 sizeof(errstr))
        != 0)
    {
        mcpu_log(MCPU_LOG_ERROR, "%s", errstr);
    }
}


