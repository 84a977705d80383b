/*
 * mcpu_sink_batch.c: one batch, from the records taken to the offsets
 * committed, and the backoff while ClickHouse does not take it (the order
 * is in mcpu_sink.h).
 */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mcpu_log.h"
#include "mcpu_sink.h"


#define MCPU_SINK_POLL_SLICE_MS    100
#define MCPU_SINK_SKIP_LOG_MS      10000   /* one line per unmappable
                                              record at most this often */

#define mcpu_sink_min(a, b)  ((a) < (b) ? (a) : (b))


static void mcpu_sink_batch_failed(mcpu_sink_t *d, int64_t now_ms,
    const char *errstr);
static void mcpu_sink_batch_skipped(mcpu_sink_t *d,
    const rd_kafka_message_t *m, const char *reason);
static void mcpu_sink_sleep_ms(int64_t ms);


/*
 * The record becomes a row of the batch (or is skipped); either way its
 * offset is the batch's, committed with it.  m stays the caller's.
 */
void
mcpu_sink_batch_take(mcpu_sink_t *d, rd_kafka_message_t *m)
{
    int                rc;
    char               reason[256];
    mcpu_sink_part_t  *ps;

    ps = mcpu_sink_part(d, m->partition);
    if (ps == NULL || !ps->owned) {
        return;                         /* revoked meanwhile: not ours */
    }

    rc = mcpu_sink_row_append(&d->rows, m->key, m->key_len, m->payload,
                              m->len, reason, sizeof(reason));

    if (rc == MCPU_SINK_ROW_NOMEM) {
        /* the offset is not the batch's: the record is read again */
        mcpu_log(MCPU_LOG_CRIT, "out of memory for a batch of %" PRIu64
                 " rows (%zu bytes); stopping", d->batch_rows, d->rows.len);
        d->fatal = MCPU_SINK_EXIT_FATAL;
        mcpu_daemon_stop = 1;
        return;
    }

    d->n.read++;

    if (rc == MCPU_SINK_ROW_OK) {
        d->batch_rows++;
    } else {
        d->n.skipped++;
        mcpu_sink_batch_skipped(d, m, reason);
    }

    if (d->batch_records++ == 0) {
        d->batch_first_ms = mcpu_daemon_mono_ms();
    }

    if (ps->batch_first < 0) {
        ps->batch_first = m->offset;
    }

    ps->batch_next = m->offset + 1;
}


/* whether the batch is to be inserted now: full, old enough, or its
 * backoff over */
int
mcpu_sink_batch_due(mcpu_sink_t *d, int64_t now_ms)
{
    if (d->batch_records == 0) {
        return 0;
    }

    if (d->paused) {
        return now_ms >= d->retry_at_ms;
    }

    return d->batch_records >= (uint64_t) d->conf->batch
           || now_ms - d->batch_first_ms >= d->conf->batch_ms;
}


/* how long the main loop may wait in rd_kafka_consumer_poll() */
int
mcpu_sink_poll_timeout(mcpu_sink_t *d, int64_t now_ms)
{
    int64_t  due;

    if (d->batch_records == 0) {
        return MCPU_SINK_POLL_SLICE_MS;
    }

    due = d->paused ? d->retry_at_ms : d->batch_first_ms + d->conf->batch_ms;

    if (due <= now_ms) {
        return 0;
    }

    return (int) mcpu_sink_min(due - now_ms, MCPU_SINK_POLL_SLICE_MS);
}


/*
 * One INSERT of the batch, then its offsets committed (synchronously with
 * sync: at revocation and at stop, where nothing polls afterwards).
 * @returns MCPU_SINK_OK (inserted and committed, the batch is empty, the
 *          partitions read again) or MCPU_SINK_RETRY (ClickHouse did not
 *          take it: the partitions are paused, retry_at_ms says when to try
 *          again).
 */
int
mcpu_sink_batch_flush(mcpu_sink_t *d, long timeout_ms, int sync)
{
    int      rc;
    int64_t  start;
    char     errstr[MCPU_SINK_ERRSTR_SIZE];

    if (d->batch_records == 0) {
        return MCPU_SINK_OK;
    }

    /* a batch of unmappable records only: nothing to insert, offsets to
     * commit all the same */
    if (d->batch_rows > 0) {
        if (d->batch_attempts++ > 0) {
            d->n.retries++;
        }

        start = mcpu_daemon_mono_ms();
        rc = mcpu_sink_ch_insert(&d->ch, d->rows.data, d->rows.len,
                                 timeout_ms, errstr, sizeof(errstr));

        if (rc != MCPU_SINK_CH_OK) {
            mcpu_sink_batch_failed(d, mcpu_daemon_mono_ms(), errstr);
            return MCPU_SINK_RETRY;
        }

        d->last_insert_took_ms = mcpu_daemon_mono_ms() - start;
        d->last_insert_wall_ms = mcpu_daemon_wall_ms();
        d->n.inserts++;
        d->n.rows_inserted += d->batch_rows;
        d->n.bytes_inserted += d->rows.len;

        if (d->batch_attempts > 1) {
            mcpu_log(MCPU_LOG_NOTICE, "ClickHouse took the batch of %" PRIu64
                     " rows at attempt %d; reading again", d->batch_rows,
                     d->batch_attempts);
        }
    }

    /* ClickHouse has the rows: now, and only now, the offsets move */
    mcpu_sink_kafka_commit(d, sync);
    mcpu_sink_batch_clear(d);

    if (d->paused) {
        mcpu_sink_kafka_pause(d, 0);
    }

    d->backoff_ms = 0;
    d->retry_at_ms = 0;

    return MCPU_SINK_OK;
}


/*
 * At revocation and at stop: the batch in hand is inserted and committed
 * if ClickHouse takes it before deadline_ms (retried with the backoff
 * meanwhile), else dropped uncommitted: whoever reads its partitions next
 * reads it again (and the partitions kept, with a cooperative rebalance,
 * are read again from the batch's first records).  Nothing polls in the
 * meantime (inside the rebalance callback, or after the main loop).
 */
void
mcpu_sink_batch_finish(mcpu_sink_t *d, int64_t deadline_ms, const char *why)
{
    int64_t  now, left;

    while (d->batch_records > 0) {
        now = mcpu_daemon_mono_ms();
        left = deadline_ms - now;

        if (left <= 0) {
            mcpu_log(MCPU_LOG_WARN, "%s: ClickHouse did not take the batch of "
                     "%" PRIu64 " rows within flush_timeout_ms (%ld ms); "
                     "dropped uncommitted, the partitions' next reader reads "
                     "it again", why, d->batch_rows,
                     d->conf->flush_timeout_ms);
            d->n.batches_dropped++;
            mcpu_sink_kafka_rewind(d);
            mcpu_sink_batch_clear(d);
            return;
        }

        if (mcpu_sink_batch_flush(d, mcpu_sink_min(left,
                                                   d->conf->insert_timeout_ms),
                                  1)
            == MCPU_SINK_OK)
        {
            return;
        }

        now = mcpu_daemon_mono_ms();
        mcpu_sink_sleep_ms(mcpu_sink_min(d->retry_at_ms, deadline_ms) - now);
    }
}


void
mcpu_sink_batch_clear(mcpu_sink_t *d)
{
    int32_t  p;

    for (p = 0; p < d->nparts; p++) {
        d->parts[p].batch_first = -1;
        d->parts[p].batch_next = -1;
    }

    d->rows.len = 0;
    d->batch_rows = 0;
    d->batch_records = 0;
    d->batch_first_ms = 0;
    d->batch_attempts = 0;
}


/* the backoff: 1 s, doubling up to retry_max_ms; nothing is read meanwhile */
static void
mcpu_sink_batch_failed(mcpu_sink_t *d, int64_t now_ms, const char *errstr)
{
    int64_t  max = d->conf->retry_max_ms;

    d->n.insert_failures++;

    d->backoff_ms = d->backoff_ms == 0
                    ? mcpu_sink_min(MCPU_SINK_BACKOFF_MIN_MS, max)
                    : mcpu_sink_min(d->backoff_ms * 2, max);
    d->retry_at_ms = now_ms + d->backoff_ms;

    mcpu_log(d->batch_attempts == 1 ? MCPU_LOG_ERROR : MCPU_LOG_WARN,
             "INSERT of %" PRIu64 " rows (%zu bytes), attempt %d: %s; "
             "reading paused, next attempt in %.1f s", d->batch_rows,
             d->rows.len, d->batch_attempts, errstr,
             (double) d->backoff_ms / 1000.0);

    if (!d->paused) {
        mcpu_sink_kafka_pause(d, 1);
    }
}


static void
mcpu_sink_batch_skipped(mcpu_sink_t *d, const rd_kafka_message_t *m,
    const char *reason)
{
    char     more[96];
    int64_t  now = mcpu_daemon_mono_ms();

    if (d->skip_logged_ms != 0
        && now - d->skip_logged_ms < MCPU_SINK_SKIP_LOG_MS)
    {
        d->skipped_unlogged++;
        return;
    }

    more[0] = '\0';
    if (d->skipped_unlogged > 0) {
        snprintf(more, sizeof(more), " (and %" PRIu64 " more since the last "
                 "such line)", d->skipped_unlogged);
    }

    mcpu_log(MCPU_LOG_WARN, "skipped the record at \"%s\" [%" PRId32 "] "
             "offset %" PRId64 ": %s%s", d->conf->topic, m->partition,
             m->offset, reason, more);

    d->skip_logged_ms = now;
    d->skipped_unlogged = 0;
}


static void
mcpu_sink_sleep_ms(int64_t ms)
{
    struct timespec  ts;

    if (ms <= 0) {
        return;
    }

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000;
    nanosleep(&ts, NULL);
}
