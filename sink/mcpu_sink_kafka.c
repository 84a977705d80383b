/*
 * mcpu_sink_kafka.c: mcpu-sink's Kafka consumer: the group member, the
 * rebalance callback, pausing and resuming, and the offset commits.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcpu_log.h"
#include "mcpu_kafka_conf.h"
#include "mcpu_sink.h"


#define MCPU_SINK_QUERY_TIMEOUT_MS  10000
#define MCPU_SINK_SEEK_TIMEOUT_MS   5000


static const char *const  mcpu_sink_consumer_defaults[] = {
    "enable.auto.commit", "false",
    "enable.auto.offset.store", "false",
    "auto.offset.reset", "earliest",
    "isolation.level", "read_committed",
    "queued.max.messages.kbytes", "16384",
    "client.id", "mcpu-sink",
    NULL
};


static rd_kafka_t *mcpu_sink_kafka_new(mcpu_sink_t *d, char *errstr,
    size_t errstr_size);
static void mcpu_sink_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *tps, void *opaque);
static void mcpu_sink_assigned(mcpu_sink_t *d,
    rd_kafka_topic_partition_list_t *tps);
static void mcpu_sink_committed(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *offsets, void *opaque);


int
mcpu_sink_kafka_open(mcpu_sink_t *d, char *errstr, size_t errstr_size)
{
    int32_t              n;
    rd_kafka_resp_err_t  err;
    rd_kafka_topic_partition_list_t  *sub;

    d->consumer = mcpu_sink_kafka_new(d, errstr, errstr_size);
    if (d->consumer == NULL) {
        return MCPU_SINK_ERROR;
    }

    /* the topic must exist before anything is read */
    if (mcpu_kafka_topic_partitions(d->consumer, d->conf->topic, &n, errstr,
                                    errstr_size) != 0)
    {
        return MCPU_SINK_ERROR;
    }

    /* partitions added later grow the array when they are assigned */
    if (mcpu_sink_part(d, n - 1) == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return MCPU_SINK_ERROR;
    }

    rd_kafka_poll_set_consumer(d->consumer);

    sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, d->conf->topic,
                                      RD_KAFKA_PARTITION_UA);
    err = rd_kafka_subscribe(d->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);

    if (err) {
        snprintf(errstr, errstr_size, "subscribe to \"%s\": %s",
                 d->conf->topic, rd_kafka_err2str(err));
        return MCPU_SINK_ERROR;
    }

    mcpu_log(MCPU_LOG_INFO, "\"%s\" has %" PRId32 " partitions", d->conf->topic,
             n);
    return MCPU_SINK_OK;
}


/* -t: the configuration goes through librdkafka, nothing starts */
int
mcpu_sink_kafka_check(mcpu_sink_t *d, char *errstr, size_t errstr_size)
{
    int  rc;

    d->check_only = 1;
    rc = mcpu_sink_kafka_new(d, errstr, errstr_size) != NULL
         ? MCPU_SINK_OK : MCPU_SINK_ERROR;
    d->check_only = 0;

    return rc;
}


void
mcpu_sink_kafka_close(mcpu_sink_t *d)
{
    rd_kafka_resp_err_t  err;

    if (d->consumer == NULL) {
        return;
    }

    /* leaves the group now (revocation through the callback, with the
     * batch empty), so the partitions move without waiting for
     * session.timeout.ms */
    err = rd_kafka_consumer_close(d->consumer);
    if (err) {
        mcpu_log(MCPU_LOG_WARN, "leaving the group: %s", rd_kafka_err2str(err));
    }

    rd_kafka_destroy(d->consumer);
    d->consumer = NULL;
}


/* the state of partition p, the array grown to hold it; NULL: p < 0 or
 * no memory */
mcpu_sink_part_t *
mcpu_sink_part(mcpu_sink_t *d, int32_t p)
{
    int32_t            i;
    mcpu_sink_part_t  *parts;

    if (p < 0) {
        return NULL;
    }

    if (p >= d->nparts) {
        parts = realloc(d->parts, (size_t) (p + 1) * sizeof(*parts));
        if (parts == NULL) {
            return NULL;
        }

        for (i = d->nparts; i <= p; i++) {
            memset(&parts[i], 0, sizeof(parts[i]));
            parts[i].batch_first = -1;
            parts[i].batch_next = -1;
            parts[i].committed = -1;
        }

        d->parts = parts;
        d->nparts = p + 1;
    }

    return &d->parts[p];
}


/*
 * Pauses (or resumes) every assigned partition.  librdkafka drops what it
 * fetched ahead for them and, on resume, fetches from the record after
 * the last one handed to us: nothing is skipped, nothing read twice.
 */
void
mcpu_sink_kafka_pause(mcpu_sink_t *d, int pause)
{
    rd_kafka_resp_err_t  err;
    rd_kafka_topic_partition_list_t  *tps = NULL;

    d->paused = pause;

    err = rd_kafka_assignment(d->consumer, &tps);
    if (err || tps == NULL) {
        mcpu_log(MCPU_LOG_ERROR, "the assignment: %s", rd_kafka_err2str(err));
        return;
    }

    if (tps->cnt > 0) {
        err = pause ? rd_kafka_pause_partitions(d->consumer, tps)
                    : rd_kafka_resume_partitions(d->consumer, tps);
        if (err) {
            mcpu_log(MCPU_LOG_ERROR, "%s partitions: %s",
                     pause ? "pausing" : "resuming", rd_kafka_err2str(err));
        }
    }

    rd_kafka_topic_partition_list_destroy(tps);
}


/*
 * Commits the batch's offsets: the one after each partition's last record
 * (row or skipped).  Called only once ClickHouse has answered 200 for its
 * rows.  Asynchronous in the main loop; synchronous at revocation and
 * stop, where nothing polls afterwards.  A commit that fails leaves rows
 * in ClickHouse that the next reader reads again: the table's key folds
 * them.  (librdkafka's mock cluster refuses commits while a rebalance is
 * in progress, so every commit at a revocation fails there; a real
 * Kafka takes them from members of the current generation.)
 */
void
mcpu_sink_kafka_commit(mcpu_sink_t *d, int sync)
{
    int32_t              p;
    rd_kafka_resp_err_t  err;
    rd_kafka_topic_partition_list_t  *offsets;

    offsets = rd_kafka_topic_partition_list_new(8);

    for (p = 0; p < d->nparts; p++) {
        if (d->parts[p].batch_next >= 0) {
            rd_kafka_topic_partition_list_add(offsets, d->conf->topic, p)
                ->offset = d->parts[p].batch_next;
        }
    }

    /* the outcome goes to mcpu_sink_committed(), sync or not, from the
     * next poll (rd_kafka_consumer_close() serves it too) */
    if (offsets->cnt > 0) {
        err = rd_kafka_commit(d->consumer, offsets, !sync);

        if (err && !sync) {
            d->n.commit_errors++;
            mcpu_log(MCPU_LOG_WARN, "committing offsets of \"%s\": %s",
                     d->conf->topic, rd_kafka_err2str(err));
        }
    }

    rd_kafka_topic_partition_list_destroy(offsets);
}


/*
 * A dropped batch: each partition held is read again from the batch's
 * first record of it.  librdkafka's position is past the batch, and a
 * partition kept across a cooperative rebalance would otherwise go on
 * after records that were never inserted, and commit past them.  A seek
 * that fails stops mcpu-sink (exit 1): the next start reads from the
 * committed offsets, which are before the batch.
 */
void
mcpu_sink_kafka_rewind(mcpu_sink_t *d)
{
    int32_t            p;
    rd_kafka_error_t  *error;
    rd_kafka_topic_partition_list_t  *l;

    l = rd_kafka_topic_partition_list_new(8);

    for (p = 0; p < d->nparts; p++) {
        if (d->parts[p].owned && d->parts[p].batch_first >= 0) {
            rd_kafka_topic_partition_list_add(l, d->conf->topic, p)->offset =
                d->parts[p].batch_first;
        }
    }

    if (l->cnt > 0) {
        error = rd_kafka_seek_partitions(d->consumer, l,
                                         MCPU_SINK_SEEK_TIMEOUT_MS);
        if (error != NULL) {
            mcpu_log(MCPU_LOG_CRIT, "seeking back in \"%s\": %s; stopping",
                     d->conf->topic, rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
            d->fatal = MCPU_SINK_EXIT_FATAL;
            mcpu_daemon_stop = 1;
        }
    }

    rd_kafka_topic_partition_list_destroy(l);
}


/*
 * brokers and group go in as defaults, so that a kafka.bootstrap.servers or
 * kafka.group.id line still wins, as the README says.
 */
static rd_kafka_t *
mcpu_sink_kafka_new(mcpu_sink_t *d, char *errstr, size_t errstr_size)
{
    size_t             i, n;
    rd_kafka_t        *rk;
    rd_kafka_conf_t   *kc;
    const char        *all[32];

    for (n = 0; mcpu_sink_consumer_defaults[n] != NULL; n++) {
        /* void */
    }

    if (n + 5 > sizeof(all) / sizeof(all[0])) {
        snprintf(errstr, errstr_size, "too many defaults");
        return NULL;
    }

    i = 0;
    all[i++] = "bootstrap.servers";
    all[i++] = d->conf->brokers;
    all[i++] = "group.id";
    all[i++] = d->conf->group;
    memcpy(&all[i], mcpu_sink_consumer_defaults,
           (n + 1) * sizeof(mcpu_sink_consumer_defaults[0]));

    kc = mcpu_kafka_conf_new(RD_KAFKA_CONSUMER, all, d->conf->kafka,
                             d->conf->nkafka, errstr, errstr_size);
    if (kc == NULL) {
        return NULL;
    }

    if (d->check_only) {
        rd_kafka_conf_destroy(kc);
        return (rd_kafka_t *) d;        /* any non-NULL: it passed */
    }

    rd_kafka_conf_set_opaque(kc, d);
    rd_kafka_conf_set_rebalance_cb(kc, mcpu_sink_rebalance);
    rd_kafka_conf_set_offset_commit_cb(kc, mcpu_sink_committed);

    /* rd_kafka_new() takes the conf, unless it fails */
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, errstr, errstr_size);
    if (rk == NULL) {
        rd_kafka_conf_destroy(kc);
        return NULL;
    }

    return rk;
}



/*
 * The only place partitions change hands.  It runs inside
 * rd_kafka_consumer_poll() (or rd_kafka_consumer_close()), that is between
 * two INSERTs.  On revocation the batch in hand is finished first: inserted
 * and committed while the partitions are still ours, or dropped
 * uncommitted after flush_timeout_ms.
 */
static void
mcpu_sink_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *tps, void *opaque)
{
    int                 i;
    mcpu_sink_t        *d = opaque;
    mcpu_sink_part_t   *ps;

    d->n.rebalances++;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        mcpu_sink_assigned(d, tps);
        mcpu_kafka_rebalance_apply(rk, err, tps);

        /* a pause outlives an assignment in librdkafka: set it as ours */
        if (d->paused) {
            rd_kafka_pause_partitions(rk, tps);
        } else {
            rd_kafka_resume_partitions(rk, tps);
        }

    } else {
        if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
            mcpu_log(MCPU_LOG_ERROR, "rebalance: %s", rd_kafka_err2str(err));
        }

        if (d->batch_records > 0) {
            mcpu_sink_batch_finish(d, mcpu_daemon_mono_ms()
                                      + d->conf->flush_timeout_ms,
                                   rd_kafka_assignment_lost(rk)
                                   ? "partitions lost" : "partitions revoked");
        }

        if (d->paused) {
            /* dropped: the next batch starts afresh */
            mcpu_sink_kafka_pause(d, 0);
            d->backoff_ms = 0;
            d->retry_at_ms = 0;
        }

        for (i = 0; i < tps->cnt; i++) {
            ps = mcpu_sink_part(d, tps->elems[i].partition);
            if (ps != NULL) {
                ps->owned = 0;
            }
        }

        if (tps->cnt > 0) {
            mcpu_log(MCPU_LOG_INFO, "%d partition(s) revoked", tps->cnt);
        }

        mcpu_kafka_rebalance_apply(rk, err, tps);
    }
}


/* new partitions: state from scratch, the group's offsets for the lag */
static void
mcpu_sink_assigned(mcpu_sink_t *d, rd_kafka_topic_partition_list_t *tps)
{
    int                  i;
    rd_kafka_resp_err_t  err;
    mcpu_sink_part_t    *ps;
    rd_kafka_topic_partition_list_t  *committed;

    if (tps->cnt == 0) {
        return;
    }

    for (i = 0; i < tps->cnt; i++) {
        ps = mcpu_sink_part(d, tps->elems[i].partition);
        if (ps == NULL) {
            /* its records would be read and never taken: stop instead */
            mcpu_log(MCPU_LOG_CRIT, "out of memory for partition %" PRId32
                     "; stopping", tps->elems[i].partition);
            d->fatal = MCPU_SINK_EXIT_FATAL;
            mcpu_daemon_stop = 1;
            continue;
        }

        ps->owned = 1;
        ps->batch_first = -1;
        ps->batch_next = -1;
        ps->committed = -1;
    }

    committed = rd_kafka_topic_partition_list_copy(tps);
    err = rd_kafka_committed(d->consumer, committed,
                             MCPU_SINK_QUERY_TIMEOUT_MS);

    for (i = 0; !err && i < committed->cnt; i++) {
        ps = mcpu_sink_part(d, committed->elems[i].partition);
        if (ps != NULL && !committed->elems[i].err
            && committed->elems[i].offset >= 0)
        {
            ps->committed = committed->elems[i].offset;
        }

        if (committed->elems[i].offset >= 0) {
            mcpu_log(MCPU_LOG_INFO, "partition %" PRId32 ": reading \"%s\" "
                     "from offset %" PRId64, committed->elems[i].partition,
                     d->conf->topic, committed->elems[i].offset);
        } else {
            mcpu_log(MCPU_LOG_INFO, "partition %" PRId32 ": reading \"%s\" "
                     "from auto.offset.reset (no committed offset)",
                     committed->elems[i].partition, d->conf->topic);
        }
    }

    if (err) {
        mcpu_log(MCPU_LOG_WARN, "committed offsets of \"%s\": %s",
                 d->conf->topic, rd_kafka_err2str(err));
    }

    rd_kafka_topic_partition_list_destroy(committed);
    mcpu_log(MCPU_LOG_INFO, "%d partition(s) assigned", tps->cnt);
}


/* the outcome of every commit, asynchronous or not */
static void
mcpu_sink_committed(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    int                i;
    mcpu_sink_t       *d = opaque;
    mcpu_sink_part_t  *ps;

    (void) rk;

    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) {
        return;
    }

    if (err) {
        d->n.commit_errors++;
        mcpu_log(MCPU_LOG_WARN, "committing offsets of \"%s\": %s (the rows "
                 "are in ClickHouse: a next reader reads them again, and the "
                 "table's key folds them)", d->conf->topic,
                 rd_kafka_err2str(err));
        return;
    }

    d->n.commits++;

    for (i = 0; offsets != NULL && i < offsets->cnt; i++) {
        ps = mcpu_sink_part(d, offsets->elems[i].partition);
        if (ps != NULL && !offsets->elems[i].err
            && offsets->elems[i].offset >= 0)
        {
            ps->committed = offsets->elems[i].offset;
        }
    }
}
