/*
 * mcpu_dedup_batch.c: one batch, from collected records to committed
 * offsets (the order is in mcpu_dedup.h).
 */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mcpu_log.h"
#include "mcpu_dedup.h"


#define MCPU_DEDUP_POLL_SLICE_MS  100


static int mcpu_dedup_batch_handle(mcpu_dedup_t *d, rd_kafka_message_t *m,
    int64_t now_ms, int64_t now_gen, char *errstr, size_t errstr_size);
static int mcpu_dedup_batch_produce(mcpu_dedup_t *d,
    const rd_kafka_message_t *m, int64_t now_ms, char *errstr,
    size_t errstr_size);
static int mcpu_dedup_batch_delivered(mcpu_dedup_t *d, char *errstr,
    size_t errstr_size);
static int mcpu_dedup_batch_transaction(mcpu_dedup_t *d,
    rd_kafka_topic_partition_list_t *offsets, char *errstr,
    size_t errstr_size);
static int mcpu_dedup_batch_save(mcpu_dedup_t *d, char *errstr,
    size_t errstr_size);
static rd_kafka_topic_partition_list_t *mcpu_dedup_batch_offsets(
    mcpu_dedup_t *d, int first);
static void mcpu_dedup_batch_rewind(mcpu_dedup_t *d);
static void mcpu_dedup_batch_clear(mcpu_dedup_t *d);


/* fills d->msgs for at most batch records or batch_ms */
void
mcpu_dedup_batch_collect(mcpu_dedup_t *d)
{
    int64_t              deadline, left;
    rd_kafka_message_t  *m;

    deadline = mcpu_daemon_wall_ms() + d->conf->batch_ms;

    while (d->nmsgs < (size_t) d->conf->batch && !mcpu_daemon_stop) {
        left = deadline - mcpu_daemon_wall_ms();
        if (left <= 0) {
            break;
        }

        m = rd_kafka_consumer_poll(d->consumer,
                                   (int) (left < MCPU_DEDUP_POLL_SLICE_MS
                                          ? left : MCPU_DEDUP_POLL_SLICE_MS));

        /* delivery reports of an abandoned batch, statistics, logs */
        rd_kafka_poll(d->producer, 0);

        if (m == NULL) {
            continue;
        }

        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                if (d->n.consumer_errors++ % 100 == 0) {
                    mcpu_log(MCPU_LOG_WARN, "reading \"%s\": %s",
                             d->conf->input_topic, rd_kafka_message_errstr(m));
                }
            }

            rd_kafka_message_destroy(m);
            continue;
        }

        if (m->partition < 0 || m->partition >= d->partitions
            || !d->parts[m->partition].owned)
        {
            rd_kafka_message_destroy(m);
            continue;
        }

        d->msgs[d->nmsgs++] = m;
    }
}


/*
 * @returns MCPU_DEDUP_OK (committed, or nothing to do), MCPU_DEDUP_RETRY
 *          (Kafka refused part of it: state untouched, records to be read
 *          again), MCPU_DEDUP_STOP (SIGTERM and flush_timeout_ms passed:
 *          abandoned the same way), MCPU_DEDUP_ERROR (the state failed:
 *          fatal, errstr says why).
 */
int
mcpu_dedup_batch_run(mcpu_dedup_t *d, char *errstr, size_t errstr_size)
{
    int                  rc;
    size_t               i;
    int32_t              p;
    int64_t              now_ms, now_gen, dropped;
    rd_kafka_error_t    *error;
    mcpu_dedup_part_t   *ps;
    rd_kafka_topic_partition_list_t  *offsets;

    if (d->nmsgs == 0) {
        return MCPU_DEDUP_OK;
    }

    now_ms = mcpu_daemon_wall_ms();
    mcpu_dedup_rotate(d, now_ms);
    now_gen = now_ms / d->period_ms;

    for (p = 0; p < d->partitions; p++) {
        ps = &d->parts[p];
        ps->batch_first = -1;
        ps->batch_next = -1;
        ps->batch_keys = 0;
        ps->dr_clean_next = -1;
    }

    d->batch_errors = 0;

    if (mcpu_dedup_state_begin(&d->state, errstr, errstr_size) != 0) {
        return MCPU_DEDUP_ERROR;
    }

    for (p = 0; p < d->partitions; p++) {
        ps = &d->parts[p];
        if (!ps->expire) {
            continue;
        }

        dropped = mcpu_dedup_state_expire(&d->state, p, now_gen, errstr,
                                          errstr_size);
        if (dropped < 0) {
            goto fatal;
        }

        ps->keys -= dropped;
        d->n.expired_keys += (uint64_t) dropped;
        ps->expire = 0;
    }

    if (d->transactional) {
        error = rd_kafka_begin_transaction(d->producer);
        if (error != NULL) {
            snprintf(errstr, errstr_size, "begin_transaction: %s",
                     rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
            goto fatal;
        }
    }

    /* first the offsets of all of it: a batch cut short is read again
     * whole, from each partition's first record */
    for (i = 0; i < d->nmsgs; i++) {
        ps = &d->parts[d->msgs[i]->partition];
        if (ps->batch_first == -1) {
            ps->batch_first = d->msgs[i]->offset;
        }
        ps->batch_next = d->msgs[i]->offset + 1;
    }

    for (i = 0; i < d->nmsgs; i++) {
        rc = mcpu_dedup_batch_handle(d, d->msgs[i], now_ms, now_gen, errstr,
                                     errstr_size);
        if (rc == MCPU_DEDUP_ERROR) {
            goto fatal;
        }

        if (rc == MCPU_DEDUP_RETRY) {
            break;                       /* produce refused: read again */
        }
    }

    if (d->transactional) {
        offsets = mcpu_dedup_batch_offsets(d, 0);
        rc = mcpu_dedup_batch_transaction(d, offsets, errstr, errstr_size);
        rd_kafka_topic_partition_list_destroy(offsets);

    } else {
        rc = mcpu_dedup_batch_delivered(d, errstr, errstr_size);
    }

    if (rc == MCPU_DEDUP_ERROR) {
        goto fatal;
    }

    if (rc != MCPU_DEDUP_OK) {
        mcpu_dedup_state_abort(&d->state);

        if (rc == MCPU_DEDUP_RETRY) {
            d->n.batches_retried++;
            mcpu_dedup_batch_rewind(d);
        }

        mcpu_dedup_batch_clear(d);
        return rc;
    }

    /* Kafka has every new record: now, and only now, they count as seen */
    if (mcpu_dedup_batch_save(d, errstr, errstr_size) != 0) {
        goto fatal;
    }

    if (!d->transactional) {
        /*
         * Asynchronous, the outcome logged by the offset commit callback:
         * nothing waits on it, since the state already holds the same
         * offsets, and a next owner that reads from an older one finds
         * those events in the clean topic.
         */
        offsets = mcpu_dedup_batch_offsets(d, 0);
        rd_kafka_commit(d->consumer, offsets, 1);
        rd_kafka_topic_partition_list_destroy(offsets);
    }

    d->n.batches++;
    d->last_batch_ms = mcpu_daemon_wall_ms();
    mcpu_dedup_batch_clear(d);
    return MCPU_DEDUP_OK;

fatal:

    if (d->transactional) {
        error = rd_kafka_abort_transaction(d->producer, -1);
        if (error != NULL) {
            rd_kafka_error_destroy(error);
        }
    }

    mcpu_dedup_state_abort(&d->state);
    mcpu_dedup_batch_clear(d);
    return MCPU_DEDUP_ERROR;
}


/* the collected records of a revoked partition go: not ours to handle */
void
mcpu_dedup_batch_drop(mcpu_dedup_t *d, int32_t p)
{
    size_t  i, j;

    for (i = 0, j = 0; i < d->nmsgs; i++) {
        if (d->msgs[i]->partition == p) {
            rd_kafka_message_destroy(d->msgs[i]);
        } else {
            d->msgs[j++] = d->msgs[i];
        }
    }

    d->nmsgs = j;
}


/* a new period: every owned filter moves on; the state's old generation
 * is dropped inside the next batch's transaction */
void
mcpu_dedup_rotate(mcpu_dedup_t *d, int64_t now_ms)
{
    int32_t             p;
    int64_t             k, now_gen;
    mcpu_dedup_part_t  *ps;

    now_gen = now_ms / d->period_ms;

    for (p = 0; p < d->partitions; p++) {
        ps = &d->parts[p];

        if (!ps->loaded || ps->gen >= now_gen) {
            continue;
        }

        for (k = ps->gen; k < now_gen && k < ps->gen + d->conf->generations;
             k++)
        {
            mcpu_bloom_rotate(&ps->bloom);
        }

        ps->gen = now_gen;
        ps->expire = 1;
    }
}


static int
mcpu_dedup_batch_handle(mcpu_dedup_t *d, rd_kafka_message_t *m,
    int64_t now_ms, int64_t now_gen, char *errstr, size_t errstr_size)
{
    int                 seen = 0;
    mcpu_dedup_key_t    key;
    mcpu_dedup_part_t  *ps = &d->parts[m->partition];

    d->n.read++;

    mcpu_dedup_key_of(m->key, m->key_len, m->payload, m->len, &key);

    if (mcpu_bloom_check_and_add(&ps->bloom, key.bytes, key.len)
        == MCPU_BLOOM_MAYBE)
    {
        d->n.exact_checks++;

        /* the transaction holds this batch's own additions too */
        seen = mcpu_dedup_state_seen(&d->state, m->partition, key.bytes,
                                     key.len, errstr, errstr_size);
        if (seen < 0) {
            return MCPU_DEDUP_ERROR;
        }

        if (!seen) {
            d->n.bloom_false_positives++;
        }
    }

    if (seen) {
        d->n.duplicates[key.kind]++;
        return MCPU_DEDUP_OK;
    }

    if (mcpu_dedup_state_add(&d->state, m->partition, now_gen, key.bytes,
                             key.len, errstr, errstr_size)
        != 0)
    {
        return MCPU_DEDUP_ERROR;
    }

    ps->batch_keys++;
    d->n.unique++;

    return mcpu_dedup_batch_produce(d, m, now_ms, errstr, errstr_size);
}


/*
 * Same key, same value, same headers, same partition number.  The
 * timestamp is now: the clean topic's time index then tells the catch-up
 * where the window starts (the event's own times are in the value).
 */
static int
mcpu_dedup_batch_produce(mcpu_dedup_t *d, const rd_kafka_message_t *m,
    int64_t now_ms, char *errstr, size_t errstr_size)
{
    rd_kafka_headers_t   *hdrs, *copy;
    rd_kafka_resp_err_t   err;

    for ( ;; ) {
        copy = NULL;
        if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            copy = rd_kafka_headers_copy(hdrs);
        }

        err = rd_kafka_producev(d->producer,
                  RD_KAFKA_V_TOPIC(d->conf->output_topic),
                  RD_KAFKA_V_PARTITION(m->partition),
                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                  RD_KAFKA_V_KEY(m->key, m->key_len),
                  RD_KAFKA_V_VALUE(m->payload, m->len),
                  RD_KAFKA_V_TIMESTAMP(now_ms),
                  RD_KAFKA_V_HEADERS(copy),
                  RD_KAFKA_V_END);

        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            d->outstanding++;
            return MCPU_DEDUP_OK;
        }

        if (copy != NULL) {
            rd_kafka_headers_destroy(copy);
        }

        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            snprintf(errstr, errstr_size, "producing to \"%s\": %s",
                     d->conf->output_topic, rd_kafka_err2str(err));
            mcpu_log(MCPU_LOG_ERROR, "%s; the batch will be read again",
                     errstr);
            d->batch_errors++;
            return MCPU_DEDUP_RETRY;
        }

        /* librdkafka's queue is full: wait for reports, then again */
        rd_kafka_poll(d->producer, 10);
    }
}


/* waits for every delivery report of the batch (non-transactional) */
static int
mcpu_dedup_batch_delivered(mcpu_dedup_t *d, char *errstr, size_t errstr_size)
{
    int64_t  stop_at = -1;

    (void) errstr;
    (void) errstr_size;

    while (d->outstanding > 0) {
        if (mcpu_daemon_stop) {
            if (stop_at == -1) {
                stop_at = mcpu_daemon_wall_ms() + d->conf->flush_timeout_ms;
            }

            if (mcpu_daemon_wall_ms() >= stop_at) {
                mcpu_log(MCPU_LOG_WARN, "stopping with %" PRId64 " records "
                         "of the batch unconfirmed: the batch is not "
                         "committed, the next start reads it again",
                         d->outstanding);
                return MCPU_DEDUP_STOP;
            }
        }

        rd_kafka_poll(d->producer, MCPU_DEDUP_POLL_SLICE_MS);
    }

    return d->batch_errors == 0 ? MCPU_DEDUP_OK : MCPU_DEDUP_RETRY;
}


/* the records and the raw offsets, committed together by Kafka */
static int
mcpu_dedup_batch_transaction(mcpu_dedup_t *d,
    rd_kafka_topic_partition_list_t *offsets, char *errstr,
    size_t errstr_size)
{
    rd_kafka_error_t                  *error;
    rd_kafka_consumer_group_metadata_t  *cgmd;

    if (d->batch_errors == 0) {
        cgmd = rd_kafka_consumer_group_metadata(d->consumer);
        error = rd_kafka_send_offsets_to_transaction(d->producer, offsets,
                                                     cgmd, -1);
        rd_kafka_consumer_group_metadata_destroy(cgmd);

        while (error == NULL) {
            error = rd_kafka_commit_transaction(d->producer, -1);
            if (error == NULL) {
                /* serve the reports, so dr_clean_next is complete */
                while (d->outstanding > 0) {
                    rd_kafka_poll(d->producer, MCPU_DEDUP_POLL_SLICE_MS);
                }

                return d->batch_errors == 0 ? MCPU_DEDUP_OK
                                            : MCPU_DEDUP_RETRY;
            }

            if (!rd_kafka_error_is_retriable(error)) {
                break;
            }

            rd_kafka_error_destroy(error);
            error = NULL;
        }

        if (rd_kafka_error_is_fatal(error)) {
            snprintf(errstr, errstr_size, "transaction: %s",
                     rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
            return MCPU_DEDUP_ERROR;
        }

        mcpu_log(MCPU_LOG_ERROR, "transaction: %s; aborted, the batch will "
                 "be read again", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }

    error = rd_kafka_abort_transaction(d->producer, -1);
    if (error != NULL) {
        snprintf(errstr, errstr_size, "abort_transaction: %s",
                 rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        return MCPU_DEDUP_ERROR;
    }

    while (d->outstanding > 0) {
        rd_kafka_poll(d->producer, MCPU_DEDUP_POLL_SLICE_MS);
    }

    return MCPU_DEDUP_RETRY;
}


static int
mcpu_dedup_batch_save(mcpu_dedup_t *d, char *errstr, size_t errstr_size)
{
    int32_t             p;
    mcpu_dedup_meta_t   m;
    mcpu_dedup_part_t  *ps;

    for (p = 0; p < d->partitions; p++) {
        ps = &d->parts[p];

        if (ps->batch_first == -1) {
            continue;
        }

        m.raw_next = ps->batch_next;
        m.clean_next = ps->dr_clean_next > ps->clean_next
                       ? ps->dr_clean_next : ps->clean_next;

        if (mcpu_dedup_state_meta_put(&d->state, p, &m, errstr, errstr_size)
            != 0)
        {
            return -1;
        }
    }

    if (mcpu_dedup_state_commit(&d->state, errstr, errstr_size) != 0) {
        return -1;
    }

    for (p = 0; p < d->partitions; p++) {
        ps = &d->parts[p];

        if (ps->batch_first != -1) {
            ps->keys += ps->batch_keys;
            ps->raw_next = ps->batch_next;
            if (ps->dr_clean_next > ps->clean_next) {
                ps->clean_next = ps->dr_clean_next;
            }
        }
    }

    return 0;
}


/* per partition of the batch: its first offset, or the next one */
static rd_kafka_topic_partition_list_t *
mcpu_dedup_batch_offsets(mcpu_dedup_t *d, int first)
{
    int32_t                           p;
    mcpu_dedup_part_t                *ps;
    rd_kafka_topic_partition_list_t  *l;

    l = rd_kafka_topic_partition_list_new(8);

    for (p = 0; p < d->partitions; p++) {
        ps = &d->parts[p];

        if (ps->batch_first != -1) {
            rd_kafka_topic_partition_list_add(l, d->conf->input_topic, p)
                ->offset = first ? ps->batch_first : ps->batch_next;
        }
    }

    return l;
}


/*
 * Back to the batch's first records: the consumer's position had moved
 * past them.  The filter keeps the bits of records that were not
 * written; they cost an exact check each, which finds nothing.
 */
static void
mcpu_dedup_batch_rewind(mcpu_dedup_t *d)
{
    int32_t                           p;
    rd_kafka_error_t                 *error;
    rd_kafka_topic_partition_list_t  *l;

    l = mcpu_dedup_batch_offsets(d, 1);

    error = rd_kafka_seek_partitions(d->consumer, l, -1);
    if (error != NULL) {
        mcpu_log(MCPU_LOG_CRIT, "seeking back in \"%s\": %s; stopping",
                 d->conf->input_topic, rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        d->fatal = MCPU_DEDUP_EXIT_FATAL;
        mcpu_daemon_stop = 1;
    }

    rd_kafka_topic_partition_list_destroy(l);

    /* the batch's unit of undo is the partition: its unsaved keys */
    for (p = 0; p < d->partitions; p++) {
        d->parts[p].batch_first = -1;
    }
}


static void
mcpu_dedup_batch_clear(mcpu_dedup_t *d)
{
    size_t  i;

    for (i = 0; i < d->nmsgs; i++) {
        rd_kafka_message_destroy(d->msgs[i]);
    }

    d->nmsgs = 0;
}
