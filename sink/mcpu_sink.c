/*
 * mcpu_sink.c: mcpu-sink's start, main loop and stop (mcpu_sink.h).
 *
 * Exit codes: 0 stopped by SIGTERM/SIGINT, 1 a failure at run time (a
 * fatal Kafka error, no memory: a service manager restarts it, and the
 * uncommitted batch is read again), 2 a bad configuration, a topic or a
 * table that is not there (a restart would not help).
 */

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "mcpu_log.h"
#include "mcpu_sink.h"


#define MCPU_SINK_CHECK_TIMEOUT_MS  10000




/* the columns of store/schema.sql mcpu-sink writes (mcpu_sink_row.c) */
const char *const  mcpu_sink_columns[] = {
    "client_id", "dedup_key", "type", "time", "time_ms", "seq",
    "received_ms", "node", "client_version", "client_os", "os_version",
    "session_id", "cpu", "cores", "transfer_id", "event", NULL
};


static int mcpu_sink_run(mcpu_sink_t *d);
static int mcpu_sink_check_table(mcpu_sink_t *d);
static void mcpu_sink_message(mcpu_sink_t *d, rd_kafka_message_t *m);
static void mcpu_sink_metrics(mcpu_sink_t *d, int64_t *next);






int
main(int argc, char **argv)
{
    int                rc;
    mcpu_sink_t        d;
    mcpu_sink_conf_t   conf;
    char               errstr[MCPU_SINK_ERRSTR_SIZE];

    memset(&d, 0, sizeof(d));
    memset(&conf, 0, sizeof(conf));

    /* before librdkafka's threads: libcurl's global init is not
     * thread-safe */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "mcpu-sink: curl_global_init() failed\n");
        return MCPU_SINK_EXIT_FATAL;
    }

    rc = mcpu_sink_conf_load(&conf, argc, argv, errstr, sizeof(errstr));
    if (rc != MCPU_CONF_OK) {
        if (rc == MCPU_CONF_DONE) {
            mcpu_sink_conf_free(&conf);
            curl_global_cleanup();
            return 0;
        }

        fprintf(stderr, "mcpu-sink: %s\n", errstr);
        mcpu_sink_conf_free(&conf);
        curl_global_cleanup();
        return MCPU_SINK_EXIT_CONFIG;
    }

    d.conf = &conf;

    if (conf.test) {
        /* every Kafka property through librdkafka, then the verdict */
        mcpu_log_level(MCPU_LOG_ERROR);
        rc = mcpu_sink_kafka_check(&d, errstr, sizeof(errstr));
        if (rc != 0) {
            fprintf(stderr, "mcpu-sink: %s\n", errstr);
        } else {
            printf("mcpu-sink: configuration is ok\n");
        }
        mcpu_sink_conf_free(&conf);
        curl_global_cleanup();
        return rc == 0 ? 0 : MCPU_SINK_EXIT_CONFIG;
    }

    if (mcpu_log_open("mcpu-sink", conf.log_file, errstr, sizeof(errstr))
        != 0)
    {
        fprintf(stderr, "mcpu-sink: %s\n", errstr);
        mcpu_sink_conf_free(&conf);
        curl_global_cleanup();
        return MCPU_SINK_EXIT_CONFIG;
    }

    if (mcpu_sink_row_init() != 0) {
        mcpu_log(MCPU_LOG_CRIT, "out of memory");
        return MCPU_SINK_EXIT_FATAL;
    }

    if (mcpu_daemon_signals() != 0) {
        mcpu_log(MCPU_LOG_CRIT, "sigaction: %s", strerror(errno));
        return MCPU_SINK_EXIT_FATAL;
    }

    rc = mcpu_sink_run(&d);

    mcpu_sink_conf_free(&conf);
    curl_global_cleanup();
    return rc;
}


static int
mcpu_sink_run(mcpu_sink_t *d)
{
    int                  rc, exit_code = 0;
    int64_t              now, next_metrics = 0;
    rd_kafka_message_t  *m;
    mcpu_sink_conf_t    *conf = d->conf;
    char                 errstr[MCPU_SINK_ERRSTR_SIZE];

    if (mcpu_sink_ch_open(&d->ch, conf->clickhouse_url, conf->table, errstr,
                          sizeof(errstr))
        != 0)
    {
        mcpu_log(MCPU_LOG_CRIT, "%s", errstr);
        return MCPU_SINK_EXIT_CONFIG;
    }

    mcpu_log(MCPU_LOG_NOTICE, "starting: \"%s\" -> %s table %s, group \"%s\", "
             "batches of %ld rows or %ld ms", conf->topic, d->ch.safe_url,
             conf->table, conf->group, conf->batch, conf->batch_ms);

    exit_code = mcpu_sink_check_table(d);
    if (exit_code != 0 || mcpu_daemon_stop) {
        goto done;
    }

    if (mcpu_sink_kafka_open(d, errstr, sizeof(errstr)) != 0) {
        if (!mcpu_daemon_stop) {
            mcpu_log(MCPU_LOG_CRIT, "%s", errstr);
            exit_code = MCPU_SINK_EXIT_CONFIG;
        }
        goto done;
    }

    while (!mcpu_daemon_stop) {
        if (mcpu_daemon_reopen) {
            mcpu_daemon_reopen = 0;
            if (mcpu_log_reopen(errstr, sizeof(errstr)) != 0) {
                mcpu_log(MCPU_LOG_ERROR, "%s", errstr);
            }
        }

        now = mcpu_daemon_mono_ms();

        if (mcpu_sink_batch_due(d, now)) {
            (void) mcpu_sink_batch_flush(d, conf->insert_timeout_ms, 0);
            now = mcpu_daemon_mono_ms();
        }

        /* also while paused: the group membership, rebalances, commits */
        m = rd_kafka_consumer_poll(d->consumer,
                                   mcpu_sink_poll_timeout(d, now));
        if (m != NULL) {
            mcpu_sink_message(d, m);
            rd_kafka_message_destroy(m);
        }

        mcpu_sink_metrics(d, &next_metrics);
    }

    if (d->fatal) {
        exit_code = d->fatal;
    }

    /* SIGTERM: the batch in hand goes in (or is left to the next reader),
     * then the group is left */
    if (d->batch_records > 0 && exit_code == 0) {
        mcpu_sink_batch_finish(d, mcpu_daemon_mono_ms() + conf->flush_timeout_ms,
                               "stopping");
    }

    mcpu_sink_batch_clear(d);

done:

    mcpu_sink_kafka_close(d);

    if (conf->metrics_file[0] != '\0' && d->parts != NULL) {
        next_metrics = 0;
        mcpu_sink_metrics(d, &next_metrics);
    }

    mcpu_sink_ch_close(&d->ch);
    mcpu_sink_buf_free(&d->rows);
    free(d->parts);

    rc = exit_code;
    mcpu_log(MCPU_LOG_NOTICE, "stopped%s: %" PRIu64 " records read, %" PRIu64
             " rows inserted in %" PRIu64 " INSERTs, %" PRIu64 " skipped, %"
             PRIu64 " failed INSERTs", rc == 0 ? "" : " on a failure",
             d->n.read, d->n.rows_inserted, d->n.inserts, d->n.skipped,
             d->n.insert_failures);

    return rc;
}


/*
 * The table must be there with its columns: mcpu-sink does not create it
 * (the store's schema is store/schema.sql's, applied by whoever runs
 * ClickHouse; the sink's user needs no DDL right).  A ClickHouse that does
 * not answer yet is waited for, with the INSERTs' backoff.
 */
static int
mcpu_sink_check_table(mcpu_sink_t *d)
{
    int              rc;
    int64_t          backoff = 0, until;
    struct timespec  ts = { 0, 100 * 1000000 };
    char             errstr[MCPU_SINK_ERRSTR_SIZE];

    while (!mcpu_daemon_stop) {
        rc = mcpu_sink_ch_check(&d->ch, mcpu_sink_columns,
                                MCPU_SINK_CHECK_TIMEOUT_MS, errstr,
                                sizeof(errstr));

        if (rc == MCPU_SINK_CH_OK) {
            mcpu_log(MCPU_LOG_INFO, "ClickHouse at %s has table %s",
                     d->ch.safe_url, d->conf->table);
            return 0;
        }

        if (rc == MCPU_SINK_CH_REFUSED) {
            mcpu_log(MCPU_LOG_CRIT, "%s", errstr);
            return MCPU_SINK_EXIT_CONFIG;
        }

        backoff = backoff == 0 ? MCPU_SINK_BACKOFF_MIN_MS : backoff * 2;
        if (backoff > d->conf->retry_max_ms) {
            backoff = d->conf->retry_max_ms;
        }

        mcpu_log(MCPU_LOG_WARN, "%s; trying again in %.1f s", errstr,
                 (double) backoff / 1000.0);

        for (until = mcpu_daemon_mono_ms() + backoff;
             mcpu_daemon_mono_ms() < until && !mcpu_daemon_stop; )
        {
            nanosleep(&ts, NULL);
        }
    }

    return 0;
}


static void
mcpu_sink_message(mcpu_sink_t *d, rd_kafka_message_t *m)
{
    char                 errstr[512];
    rd_kafka_resp_err_t  err;

    if (!m->err) {
        /* while paused librdkafka hands nothing more out (its version
         * barrier drops what was fetched ahead), so no batch overflows */
        mcpu_sink_batch_take(d, m);
        return;
    }

    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        return;
    }

    if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
        err = rd_kafka_fatal_error(d->consumer, errstr, sizeof(errstr));
        mcpu_log(MCPU_LOG_CRIT, "fatal Kafka error: %s: %s; stopping",
                 rd_kafka_err2name(err), errstr);
        d->fatal = MCPU_SINK_EXIT_FATAL;
        mcpu_daemon_stop = 1;
        return;
    }

    if (d->n.consumer_errors++ % 100 == 0) {
        mcpu_log(MCPU_LOG_WARN, "reading \"%s\": %s", d->conf->topic,
                 rd_kafka_message_errstr(m));
    }
}


static void
mcpu_sink_metrics(mcpu_sink_t *d, int64_t *next)
{
    int64_t  now;
    char     errstr[MCPU_SINK_ERRSTR_SIZE];

    if (d->conf->metrics_file[0] == '\0') {
        return;
    }

    now = mcpu_daemon_mono_ms();
    if (now < *next) {
        return;
    }

    *next = now + d->conf->metrics_interval_ms;

    if (mcpu_sink_metrics_write(d, d->conf->metrics_file, errstr,
                                sizeof(errstr))
        != 0)
    {
        mcpu_log(MCPU_LOG_ERROR, "%s", errstr);
    }
}


