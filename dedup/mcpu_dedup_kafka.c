/*
 * mcpu_dedup_kafka.c: mcpu-dedup's three Kafka handles (the group member,
 * the producer, the reader of the clean topic), the rebalance callback,
 * and a partition's state brought up to date when it is assigned.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "mcpu_log.h"
#include "mcpu_kafka_conf.h"
#include "mcpu_dedup.h"


#define MCPU_DEDUP_QUERY_TIMEOUT_MS  10000
#define MCPU_DEDUP_CATCHUP_TXN_KEYS  50000

#define mcpu_dedup_min(a, b)  ((a) < (b) ? (a) : (b))


static const char *const  mcpu_dedup_consumer_defaults[] = {
    "enable.auto.commit", "false",
    "enable.auto.offset.store", "false",
    "auto.offset.reset", "earliest",
    "isolation.level", "read_committed",
    "client.id", "mcpu-dedup",
    NULL
};

static const char *const  mcpu_dedup_producer_defaults[] = {
    "enable.idempotence", "true",
    "acks", "all",
    "linger.ms", "5",
    "client.id", "mcpu-dedup",
    NULL
};


static rd_kafka_t *mcpu_dedup_kafka_new(mcpu_dedup_t *d, rd_kafka_type_t type,
    const char *const *defaults, int group, char *errstr, size_t errstr_size);
static void mcpu_dedup_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *tps, void *opaque);
static void mcpu_dedup_committed(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *offsets, void *opaque);
static void mcpu_dedup_delivered(rd_kafka_t *rk,
    const rd_kafka_message_t *m, void *opaque);
static int mcpu_dedup_part_load(mcpu_dedup_t *d, int32_t p, int64_t now_gen,
    char *errstr, size_t errstr_size);
static void mcpu_dedup_part_rebuilt(void *arg, int64_t gen, const void *key,
    size_t len);
static int mcpu_dedup_catchup(mcpu_dedup_t *d,
    rd_kafka_topic_partition_list_t *tps, char *errstr, size_t errstr_size);
static int mcpu_dedup_catchup_starts(mcpu_dedup_t *d,
    rd_kafka_topic_partition_list_t *clean, char *errstr,
    size_t errstr_size);
static int mcpu_dedup_catchup_record(mcpu_dedup_t *d,
    const rd_kafka_message_t *m, int64_t now_gen, char *errstr,
    size_t errstr_size);
static int mcpu_dedup_catchup_save(mcpu_dedup_t *d,
    rd_kafka_topic_partition_list_t *clean, char *errstr,
    size_t errstr_size);
static int mcpu_dedup_start_offsets(mcpu_dedup_t *d,
    rd_kafka_topic_partition_list_t *tps, char *errstr, size_t errstr_size);


int
mcpu_dedup_kafka_open(mcpu_dedup_t *d, char *errstr, size_t errstr_size)
{
    int32_t              in, out;
    rd_kafka_error_t    *error;
    rd_kafka_resp_err_t  err;
    rd_kafka_topic_partition_list_t  *sub;

    d->producer = mcpu_dedup_kafka_new(d, RD_KAFKA_PRODUCER,
                                       mcpu_dedup_producer_defaults, 0,
                                       errstr, errstr_size);
    if (d->producer == NULL) {
        return MCPU_DEDUP_ERROR;
    }

    /* the topics must exist and match before anything is read */
    if (mcpu_kafka_topic_partitions(d->producer, d->conf->input_topic, &in,
                                    errstr, errstr_size) != 0
        || mcpu_kafka_topic_partitions(d->producer, d->conf->output_topic,
                                       &out, errstr, errstr_size) != 0)
    {
        return MCPU_DEDUP_ERROR;
    }

    if (in != out) {
        snprintf(errstr, errstr_size, "output_topic \"%s\" has %" PRId32
                 " partitions and input_topic \"%s\" %" PRId32 ": they must "
                 "have as many, so that a client's events keep their order",
                 d->conf->output_topic, out, d->conf->input_topic, in);
        return MCPU_DEDUP_ERROR;
    }

    d->partitions = in;

    if (d->transactional) {
        error = rd_kafka_init_transactions(d->producer, -1);
        if (error != NULL) {
            snprintf(errstr, errstr_size, "init_transactions: %s",
                     rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
            return MCPU_DEDUP_ERROR;
        }
    }

    d->reader = mcpu_dedup_kafka_new(d, RD_KAFKA_CONSUMER,
                                     mcpu_dedup_consumer_defaults, 0,
                                     errstr, errstr_size);
    if (d->reader == NULL) {
        return MCPU_DEDUP_ERROR;
    }

    d->consumer = mcpu_dedup_kafka_new(d, RD_KAFKA_CONSUMER,
                                       mcpu_dedup_consumer_defaults, 1,
                                       errstr, errstr_size);
    if (d->consumer == NULL) {
        return MCPU_DEDUP_ERROR;
    }

    rd_kafka_poll_set_consumer(d->consumer);

    sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, d->conf->input_topic,
                                      RD_KAFKA_PARTITION_UA);
    err = rd_kafka_subscribe(d->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);

    if (err) {
        snprintf(errstr, errstr_size, "subscribe to \"%s\": %s",
                 d->conf->input_topic, rd_kafka_err2str(err));
        return MCPU_DEDUP_ERROR;
    }

    return MCPU_DEDUP_OK;
}


/* -t: every handle's configuration goes through librdkafka, none starts */
int
mcpu_dedup_kafka_check(mcpu_dedup_t *d, char *errstr, size_t errstr_size)
{
    int  rc = MCPU_DEDUP_ERROR;

    d->check_only = 1;

    if (mcpu_dedup_kafka_new(d, RD_KAFKA_PRODUCER,
                             mcpu_dedup_producer_defaults, 0, errstr,
                             errstr_size) != NULL
        && mcpu_dedup_kafka_new(d, RD_KAFKA_CONSUMER,
                                mcpu_dedup_consumer_defaults, 0, errstr,
                                errstr_size) != NULL
        && mcpu_dedup_kafka_new(d, RD_KAFKA_CONSUMER,
                                mcpu_dedup_consumer_defaults, 1, errstr,
                                errstr_size) != NULL)
    {
        rc = MCPU_DEDUP_OK;
    }

    d->check_only = 0;
    return rc;
}


void
mcpu_dedup_kafka_close(mcpu_dedup_t *d)
{
    rd_kafka_resp_err_t  err;

    if (d->consumer != NULL) {
        /* leaves the group now (revocation through the callback), so the
         * partitions move without waiting for session.timeout.ms */
        err = rd_kafka_consumer_close(d->consumer);
        if (err) {
            mcpu_log(MCPU_LOG_WARN, "leaving the group: %s",
                     rd_kafka_err2str(err));
        }

        rd_kafka_destroy(d->consumer);
        d->consumer = NULL;
    }

    if (d->reader != NULL) {
        rd_kafka_consumer_close(d->reader);
        rd_kafka_destroy(d->reader);
        d->reader = NULL;
    }

    if (d->producer != NULL) {
        rd_kafka_flush(d->producer, (int) d->conf->flush_timeout_ms);
        rd_kafka_destroy(d->producer);
        d->producer = NULL;
    }
}


/*
 * brokers and group go in as defaults, so that a kafka.bootstrap.servers or
 * kafka.group.id line still wins, as the README says.  The clean topic's
 * reader needs a group id too (librdkafka assigns partitions only to a
 * consumer with one); it never joins the group nor commits.
 */
static rd_kafka_t *
mcpu_dedup_kafka_new(mcpu_dedup_t *d, rd_kafka_type_t type,
    const char *const *defaults, int group, char *errstr, size_t errstr_size)
{
    char               tid[256], reader_group[512];
    size_t             i, n, tid_size = sizeof(tid);
    rd_kafka_t        *rk;
    rd_kafka_conf_t   *kc;
    const char        *all[32];

    for (n = 0; defaults[n] != NULL; n++) {
        /* void */
    }

    if (n + 7 > sizeof(all) / sizeof(all[0])) {
        snprintf(errstr, errstr_size, "too many defaults");
        return NULL;
    }

    i = 0;
    all[i++] = "bootstrap.servers";
    all[i++] = d->conf->brokers;

    if (type == RD_KAFKA_CONSUMER) {
        snprintf(reader_group, sizeof(reader_group), "%s.state-reader",
                 d->conf->group);
        all[i++] = "group.id";
        all[i++] = group ? d->conf->group : reader_group;

        if (!group) {
            all[i++] = "enable.partition.eof";
            all[i++] = "true";
        }
    }

    memcpy(&all[i], defaults, (n + 1) * sizeof(defaults[0]));

    kc = mcpu_kafka_conf_new(type, all, d->conf->kafka, d->conf->nkafka,
                             errstr, errstr_size);
    if (kc == NULL) {
        return NULL;
    }

    if (d->check_only) {
        rd_kafka_conf_destroy(kc);
        return (rd_kafka_t *) d;        /* any non-NULL: it passed */
    }

    rd_kafka_conf_set_opaque(kc, d);

    if (type == RD_KAFKA_PRODUCER) {
        rd_kafka_conf_set_dr_msg_cb(kc, mcpu_dedup_delivered);

        d->transactional =
            rd_kafka_conf_get(kc, "transactional.id", tid, &tid_size)
                == RD_KAFKA_CONF_OK
            && tid[0] != '\0';

    } else if (group) {
        rd_kafka_conf_set_rebalance_cb(kc, mcpu_dedup_rebalance);
        rd_kafka_conf_set_offset_commit_cb(kc, mcpu_dedup_committed);
    }

    rk = rd_kafka_new(type, kc, errstr, errstr_size);
    if (rk == NULL) {
        rd_kafka_conf_destroy(kc);
        return NULL;
    }

    return rk;
}



/*
 * The only place partitions change hands.  It runs inside
 * rd_kafka_consumer_poll(), that is between batches: nothing of a batch
 * is in flight, only records collected and not yet handled, which are
 * dropped for the partitions that go (their offsets were not committed,
 * so the next owner reads them).
 */
static void
mcpu_dedup_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *tps, void *opaque)
{
    int                 i, cooperative, keep;
    int32_t             p;
    mcpu_dedup_t       *d = opaque;
    char                errstr[MCPU_DEDUP_ERRSTR_SIZE];

    cooperative = mcpu_kafka_cooperative(rk);
    d->n.rebalances++;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (!cooperative) {
            /* an eager assignment is the whole set: forget the rest */
            for (p = 0; p < d->partitions; p++) {
                keep = 0;
                for (i = 0; i < tps->cnt; i++) {
                    keep |= tps->elems[i].partition == p;
                }

                if (!keep && d->parts[p].loaded) {
                    mcpu_dedup_part_release(d, p, 1);
                }
            }
        }

        if (mcpu_dedup_part_acquire(d, tps, errstr, sizeof(errstr)) != 0) {
            /* a SIGTERM during the catch-up is a clean stop */
            if (!mcpu_daemon_stop) {
                mcpu_log(MCPU_LOG_CRIT, "taking partitions over: %s; "
                         "stopping", errstr);
                d->fatal = MCPU_DEDUP_EXIT_FATAL;
                mcpu_daemon_stop = 1;
            }
        }


    } else {
        if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
            mcpu_log(MCPU_LOG_ERROR, "rebalance: %s", rd_kafka_err2str(err));
        }

        for (i = 0; i < tps->cnt; i++) {
            p = tps->elems[i].partition;
            if (p >= 0 && p < d->partitions) {
                mcpu_dedup_batch_drop(d, p);
                /* eager protocols revoke all and give most back: keep
                 * the filter until the assignment says */
                mcpu_dedup_part_release(d, p, cooperative);
            }
        }

        if (tps->cnt > 0) {
            mcpu_log(MCPU_LOG_INFO, "%d partition(s) revoked", tps->cnt);
        }

    }

    mcpu_kafka_rebalance_apply(rk, err, tps);
}


/* not fatal: the state holds the same offsets (see mcpu_dedup_batch.c) */
static void
mcpu_dedup_committed(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    mcpu_dedup_t  *d = opaque;

    (void) rk;
    (void) offsets;

    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
        d->n.commit_errors++;
        mcpu_log(MCPU_LOG_WARN, "committing offsets of \"%s\": %s",
                 d->conf->input_topic, rd_kafka_err2str(err));
    }
}


static void
mcpu_dedup_delivered(rd_kafka_t *rk, const rd_kafka_message_t *m,
    void *opaque)
{
    mcpu_dedup_t       *d = opaque;
    mcpu_dedup_part_t  *ps;

    (void) rk;

    d->outstanding--;

    if (m->err) {
        if (d->batch_errors++ == 0) {
            mcpu_log(MCPU_LOG_ERROR, "producing to \"%s\" [%" PRId32 "]: %s; "
                     "the batch will be read again", d->conf->output_topic,
                     m->partition, rd_kafka_err2str(m->err));
        }

        d->n.delivery_errors++;
        return;
    }

    if (m->partition >= 0 && m->partition < d->partitions) {
        ps = &d->parts[m->partition];
        if (m->offset + 1 > ps->dr_clean_next) {
            ps->dr_clean_next = m->offset + 1;
        }
    }
}


/*
 * Makes the assigned partitions ready: the filter (from the local state,
 * kept or rebuilt), the state brought up to date from the clean topic,
 * and the offset to read the raw topic from, set on tps.
 */
int
mcpu_dedup_part_acquire(mcpu_dedup_t *d, rd_kafka_topic_partition_list_t *tps,
    char *errstr, size_t errstr_size)
{
    int      i;
    int32_t  p;
    int64_t  now_gen;

    now_gen = mcpu_daemon_wall_ms() / d->period_ms;

    for (i = 0; i < tps->cnt; i++) {
        p = tps->elems[i].partition;

        if (p < 0 || p >= d->partitions) {
            snprintf(errstr, errstr_size, "partition %" PRId32 " of \"%s\" is "
                     "new: restart mcpu-dedup after adding partitions (to "
                     "both topics)", p, d->conf->input_topic);
            return MCPU_DEDUP_ERROR;
        }

        if (mcpu_dedup_part_load(d, p, now_gen, errstr, errstr_size) != 0) {
            return MCPU_DEDUP_ERROR;
        }
    }

    if (mcpu_dedup_catchup(d, tps, errstr, errstr_size) != 0) {
        return MCPU_DEDUP_ERROR;
    }

    if (mcpu_dedup_start_offsets(d, tps, errstr, errstr_size) != 0) {
        return MCPU_DEDUP_ERROR;
    }

    for (i = 0; i < tps->cnt; i++) {
        d->parts[tps->elems[i].partition].owned = 1;
    }

    return MCPU_DEDUP_OK;
}


void
mcpu_dedup_part_release(mcpu_dedup_t *d, int32_t p, int forget)
{
    mcpu_dedup_part_t  *ps = &d->parts[p];

    ps->owned = 0;

    if (forget && ps->loaded) {
        mcpu_bloom_free(&ps->bloom);
        ps->loaded = 0;
    }
}


static int
mcpu_dedup_part_load(mcpu_dedup_t *d, int32_t p, int64_t now_gen,
    char *errstr, size_t errstr_size)
{
    int64_t             n, k;
    uint64_t            seed[2];
    mcpu_dedup_meta_t   m;
    mcpu_dedup_part_t  *ps = &d->parts[p];
    mcpu_dedup_conf_t  *conf = d->conf;

    if (ps->loaded) {
        /* kept across an eager revocation: only the time moved on */
        for (k = ps->gen; k < now_gen && k < ps->gen + conf->generations; k++)
        {
            mcpu_bloom_rotate(&ps->bloom);
        }

        ps->expire = ps->gen != now_gen;
        ps->gen = now_gen;
        return 0;
    }

    /* the filter only lives in memory: its seed need not outlive us */
    if (getrandom(seed, sizeof(seed), 0) != sizeof(seed)) {
        seed[0] = (uint64_t) mcpu_daemon_wall_ms();
        seed[1] = (uint64_t) p * 0x9e3779b97f4a7c15ULL;
    }

    if (mcpu_bloom_init(&ps->bloom, (uint32_t) conf->generations,
                        (uint64_t) conf->keys_per_generation, conf->fp_rate,
                        seed, errstr, errstr_size)
        != MCPU_BLOOM_OK)
    {
        return -1;
    }

    ps->gen = now_gen;

    if (mcpu_dedup_state_begin(&d->state, errstr, errstr_size) != 0) {
        goto failed;
    }

    n = mcpu_dedup_state_expire(&d->state, p, now_gen, errstr, errstr_size);
    if (n < 0) {
        goto failed;
    }

    d->n.expired_keys += (uint64_t) n;

    n = mcpu_dedup_state_each(&d->state, p, mcpu_dedup_part_rebuilt, ps,
                              errstr, errstr_size);
    if (n < 0
        || mcpu_dedup_state_meta_get(&d->state, p, &m, errstr, errstr_size)
           != 0
        || mcpu_dedup_state_commit(&d->state, errstr, errstr_size) != 0)
    {
        goto failed;
    }

    ps->keys = n;
    ps->raw_next = m.raw_next;
    ps->clean_next = m.clean_next;
    ps->expire = 0;
    ps->loaded = 1;

    mcpu_log(MCPU_LOG_INFO, "partition %" PRId32 ": %" PRId64 " keys from the "
             "local state, raw offset %" PRId64 ", clean offset %" PRId64,
             p, n, m.raw_next, m.clean_next);
    return 0;

failed:

    mcpu_dedup_state_abort(&d->state);
    mcpu_bloom_free(&ps->bloom);
    return -1;
}


static void
mcpu_dedup_part_rebuilt(void *arg, int64_t gen, const void *key, size_t len)
{
    mcpu_dedup_part_t  *ps = arg;

    mcpu_bloom_add_at(&ps->bloom, (uint32_t) mcpu_dedup_min(ps->gen - gen,
                                                          (int64_t) UINT32_MAX),
                      key, len);
}


/*
 * Reads the clean topic's partitions of tps from what the local state
 * reflects to their end (the last stable offset: read_committed skips
 * what an unfinished or aborted transaction wrote) and adds every key.
 */
static int
mcpu_dedup_catchup(mcpu_dedup_t *d, rd_kafka_topic_partition_list_t *tps,
    char *errstr, size_t errstr_size)
{
    int                  i, left, rc = -1;
    int64_t              now_gen, n = 0, since_commit = 0;
    rd_kafka_message_t  *m;
    rd_kafka_resp_err_t  err;
    rd_kafka_topic_partition_list_t  *clean;

    if (tps->cnt == 0) {
        return 0;
    }

    clean = rd_kafka_topic_partition_list_new(tps->cnt);
    for (i = 0; i < tps->cnt; i++) {
        rd_kafka_topic_partition_list_add(clean, d->conf->output_topic,
                                          tps->elems[i].partition);
    }

    if (mcpu_dedup_catchup_starts(d, clean, errstr, errstr_size) != 0) {
        rd_kafka_topic_partition_list_destroy(clean);
        return -1;
    }

    err = rd_kafka_assign(d->reader, clean);
    if (err) {
        snprintf(errstr, errstr_size, "reading \"%s\": %s",
                 d->conf->output_topic, rd_kafka_err2str(err));
        rd_kafka_topic_partition_list_destroy(clean);
        return -1;
    }

    now_gen = mcpu_daemon_wall_ms() / d->period_ms;

    if (mcpu_dedup_state_begin(&d->state, errstr, errstr_size) != 0) {
        goto done;
    }

    for (left = clean->cnt; left > 0; ) {
        if (mcpu_daemon_stop) {
            snprintf(errstr, errstr_size, "stopped while reading \"%s\"",
                     d->conf->output_topic);
            goto done;
        }

        m = rd_kafka_consumer_poll(d->reader, 100);
        if (m == NULL) {
            continue;
        }

        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            /* the EOF's offset is the end: what the state now reflects */
            for (i = 0; i < clean->cnt; i++) {
                if (clean->elems[i].partition == m->partition
                    && clean->elems[i].err == 0)
                {
                    d->parts[m->partition].clean_next = m->offset;
                    clean->elems[i].err = RD_KAFKA_RESP_ERR__PARTITION_EOF;
                    left--;
                }
            }

        } else if (m->err) {
            mcpu_log(MCPU_LOG_WARN, "reading \"%s\": %s",
                     d->conf->output_topic, rd_kafka_message_errstr(m));

        } else if (m->partition >= 0 && m->partition < d->partitions) {
            if (mcpu_dedup_catchup_record(d, m, now_gen, errstr, errstr_size)
                != 0)
            {
                rd_kafka_message_destroy(m);
                goto done;
            }

            n++;

            /* a long catch-up commits as it goes: bounded dirty pages */
            if (++since_commit == MCPU_DEDUP_CATCHUP_TXN_KEYS) {
                since_commit = 0;
                if (mcpu_dedup_catchup_save(d, clean, errstr, errstr_size)
                    != 0
                    || mcpu_dedup_state_begin(&d->state, errstr, errstr_size)
                       != 0)
                {
                    rd_kafka_message_destroy(m);
                    goto done;
                }
            }
        }

        rd_kafka_message_destroy(m);
    }

    if (mcpu_dedup_catchup_save(d, clean, errstr, errstr_size) != 0) {
        goto done;
    }

    d->n.catchup_records += (uint64_t) n;
    mcpu_log(MCPU_LOG_INFO, "%d partition(s) assigned; %" PRId64 " keys read "
             "back from \"%s\"", tps->cnt, n, d->conf->output_topic);
    rc = 0;

done:

    mcpu_dedup_state_abort(&d->state);
    rd_kafka_assign(d->reader, NULL);
    rd_kafka_topic_partition_list_destroy(clean);
    return rc;
}


/* where each partition's catch-up starts: the state's clean offset, or,
 * with none, the first record of the window */
static int
mcpu_dedup_catchup_starts(mcpu_dedup_t *d,
    rd_kafka_topic_partition_list_t *clean, char *errstr, size_t errstr_size)
{
    int                  i, any = 0;
    int64_t              since;
    rd_kafka_resp_err_t  err;
    rd_kafka_topic_partition_t  *tp;

    since = mcpu_daemon_wall_ms() - d->window_ms - d->period_ms;

    for (i = 0; i < clean->cnt; i++) {
        tp = &clean->elems[i];
        tp->offset = d->parts[tp->partition].clean_next;

        if (tp->offset < 0) {
            tp->offset = since;
            any = 1;
        }
    }

    if (!any) {
        return 0;
    }

    /* only the elements holding a time are looked up */
    for (i = 0; i < clean->cnt; i++) {
        if (d->parts[clean->elems[i].partition].clean_next >= 0) {
            clean->elems[i].offset = since;     /* harmless, replaced */
        }
    }

    err = rd_kafka_offsets_for_times(d->reader, clean,
                                     MCPU_DEDUP_QUERY_TIMEOUT_MS);
    if (err) {
        snprintf(errstr, errstr_size, "offsets of \"%s\" by time: %s",
                 d->conf->output_topic, rd_kafka_err2str(err));
        return -1;
    }

    for (i = 0; i < clean->cnt; i++) {
        tp = &clean->elems[i];

        if (d->parts[tp->partition].clean_next >= 0) {
            tp->offset = d->parts[tp->partition].clean_next;

        } else if (tp->err) {
            snprintf(errstr, errstr_size, "offset of \"%s\" [%" PRId32 "] by "
                     "time: %s", d->conf->output_topic, tp->partition,
                     rd_kafka_err2str(tp->err));
            return -1;

        } else if (tp->offset < 0) {
            /*
             * "Nothing since then": true on a Kafka with a time index when
             * the window is empty, but also what librdkafka's mock cluster
             * answers to every time.  Read from the beginning then:
             * records older than the window are skipped one by one, so it
             * costs time once, never a key.
             */
            tp->offset = RD_KAFKA_OFFSET_BEGINNING;
        }

        tp->err = 0;
    }

    return 0;
}


static int
mcpu_dedup_catchup_record(mcpu_dedup_t *d, const rd_kafka_message_t *m,
    int64_t now_gen, char *errstr, size_t errstr_size)
{
    int64_t              ts, gen;
    mcpu_dedup_key_t     key;
    mcpu_dedup_part_t   *ps = &d->parts[m->partition];
    rd_kafka_timestamp_type_t  tstype;

    ts = rd_kafka_message_timestamp(m, &tstype);
    gen = ts >= 0 ? ts / d->period_ms : now_gen;

    if (gen > now_gen) {
        gen = now_gen;                  /* a clock ahead of ours */
    }

    ps->clean_next = m->offset + 1;

    if (gen <= now_gen - d->conf->generations) {
        return 0;                       /* out of the window already */
    }

    mcpu_dedup_key_of(m->key, m->key_len, m->payload, m->len, &key);

    if (mcpu_dedup_state_add(&d->state, m->partition, gen, key.bytes, key.len,
                             errstr, errstr_size)
        != 0)
    {
        return -1;
    }

    mcpu_bloom_add_at(&ps->bloom, (uint32_t) (now_gen - gen), key.bytes,
                      key.len);
    ps->keys++;
    return 0;
}


static int
mcpu_dedup_catchup_save(mcpu_dedup_t *d,
    rd_kafka_topic_partition_list_t *clean, char *errstr, size_t errstr_size)
{
    int                 i;
    mcpu_dedup_meta_t   m;
    mcpu_dedup_part_t  *ps;

    for (i = 0; i < clean->cnt; i++) {
        ps = &d->parts[clean->elems[i].partition];

        if (ps->clean_next < 0) {
            continue;
        }

        m.raw_next = ps->raw_next;
        m.clean_next = ps->clean_next;

        if (mcpu_dedup_state_meta_put(&d->state, clean->elems[i].partition,
                                      &m, errstr, errstr_size)
            != 0)
        {
            return -1;
        }
    }

    return mcpu_dedup_state_commit(&d->state, errstr, errstr_size);
}


/*
 * The raw offset to start from: the later of the group's committed offset
 * and the local state's.  Both only ever name records whose events are in
 * the clean topic; the local one is ahead after a crash between the state
 * commit and the offset commit (and on Kafkas that do not store offsets
 * sent with a transaction).
 */
static int
mcpu_dedup_start_offsets(mcpu_dedup_t *d, rd_kafka_topic_partition_list_t *tps,
    char *errstr, size_t errstr_size)
{
    int                  i;
    int64_t              local;
    rd_kafka_resp_err_t  err;
    rd_kafka_topic_partition_t  *tp;

    err = rd_kafka_committed(d->consumer, tps, MCPU_DEDUP_QUERY_TIMEOUT_MS);
    if (err) {
        snprintf(errstr, errstr_size, "committed offsets of \"%s\": %s",
                 d->conf->input_topic, rd_kafka_err2str(err));
        return -1;
    }

    for (i = 0; i < tps->cnt; i++) {
        tp = &tps->elems[i];
        local = d->parts[tp->partition].raw_next;

        if (tp->err || tp->offset < 0) {
            tp->offset = RD_KAFKA_OFFSET_INVALID;   /* auto.offset.reset */
            tp->err = 0;
        }

        if (local >= 0 && local > tp->offset) {
            tp->offset = local;
        }

        mcpu_log(MCPU_LOG_INFO, "partition %" PRId32 ": reading \"%s\" from "
                 "offset %" PRId64, tp->partition, d->conf->input_topic,
                 tp->offset);
    }

    return 0;
}
