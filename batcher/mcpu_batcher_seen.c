/*
 * mcpu_batcher_seen.c: the "last event seen" table in the batcher: updates
 * from delivery reports and from last_seen_topic, publication of the dirty
 * slots, the consumer and its metadata thread.  How it fits together is in
 * mcpu_batcher_seen.h; the table's layout and rules in mcpu_seen.h.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "mcpu_event.h"
#include "mcpu_seen.h"
#include "mcpu_log.h"
#include "mcpu_batcher.h"
#include "mcpu_batcher_kafka.h"
#include "mcpu_batcher_ring.h"
#include "mcpu_batcher_seen.h"


#define MCPU_BATCHER_SEEN_CONSUME_BATCH  1000   /* messages read per pass */
#define MCPU_BATCHER_SEEN_PUBLISH_BATCH  1000   /* slots produced per pass */
#define MCPU_BATCHER_SEEN_MD_TIMEOUT_MS  1000   /* one metadata request */
#define MCPU_BATCHER_SEEN_MD_RETRY_MS    1000   /* between two of them */
#define MCPU_BATCHER_SEEN_LOG_MS         1000   /* one complaint line/s */
#define MCPU_BATCHER_SEEN_FULL_POLL_MS   100    /* shutdown, queue full */


/*
 * The consumer's defaults, before the user's kafka.* properties (which
 * apply to it too, unless producer-only).  group.id: librdkafka's consumer
 * API needs one, but the group is never joined (rd_kafka_assign()) and
 * nothing is committed: every start reads the topic from the beginning.
 * enable.partition.eof tells when the topic has been read to its end.  The
 * prefetch is kept small: the table is bounded, so is what waits for it.
 */
static const char *const  mcpu_batcher_seen_consumer_defaults[] = {
    "client.id", MCPU_BATCHER_NAME "-last-seen",
    "group.id", MCPU_BATCHER_NAME "-last-seen",
    "enable.auto.commit", "false",
    "enable.auto.offset.store", "false",
    "enable.partition.eof", "true",
    "auto.offset.reset", "earliest",
    "queued.max.messages.kbytes", "16384",
    NULL
};


static void *mcpu_batcher_seen_metadata(void *arg);
static void mcpu_batcher_seen_assign(mcpu_batcher_seen_t *s,
    mcpu_batcher_seen_topic_t *t, uint64_t now);
static unsigned mcpu_batcher_seen_consume(mcpu_batcher_seen_t *s,
    uint64_t now);
static mcpu_batcher_seen_topic_t *mcpu_batcher_seen_topic(
    mcpu_batcher_seen_t *s, rd_kafka_topic_t *rkt);
static void mcpu_batcher_seen_at_end(mcpu_batcher_seen_t *s,
    mcpu_batcher_seen_topic_t *t, int32_t partition, uint64_t now);
static unsigned mcpu_batcher_seen_publish(mcpu_batcher_seen_t *s,
    uint64_t now, int force);
static void mcpu_batcher_seen_update(mcpu_batcher_seen_t *s,
    mcpu_batcher_seen_topic_t *from, const void *key, size_t key_len,
    const void *value, size_t value_len);
static void mcpu_batcher_seen_answer(mcpu_batcher_seen_t *s,
    const mcpu_seen_entry_t *e);
static void mcpu_batcher_seen_dirty(mcpu_batcher_seen_t *s, uint32_t slot);
static int mcpu_batcher_seen_quiet(mcpu_batcher_seen_t *s);
static void mcpu_batcher_seen_error(rd_kafka_t *rk, int err,
    const char *reason, void *opaque);
static uint64_t mcpu_batcher_seen_wall_ms(void);


int
mcpu_batcher_seen_create(mcpu_batcher_seen_t *s,
    const mcpu_batcher_conf_t *conf, char *errstr, size_t errstr_size)
{
    char                        err[512], *p, *name;
    unsigned                    i;
    rd_kafka_conf_t            *kc;
    pthread_condattr_t          ca;
    mcpu_batcher_seen_topic_t  *t;

    memset(s, 0, sizeof(*s));
    s->conf = conf;

    /* the thread waits on CLOCK_MONOTONIC, as the rest of the batcher */
    pthread_mutex_init(&s->md_lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->md_cond, &ca);
    pthread_condattr_destroy(&ca);

    kc = mcpu_batcher_kafka_conf_new(conf, RD_KAFKA_CONSUMER,
                                     mcpu_batcher_seen_consumer_defaults,
                                     errstr, errstr_size);
    if (kc == NULL) {
        goto failed;
    }

    /* not shared: no consumer, but its properties were checked all the
     * same, as the producer skips them */
    if (conf->last_seen_topic[0] == '\0') {
        rd_kafka_conf_destroy(kc);
        return MCPU_BATCHER_OK;
    }

    rd_kafka_conf_set_opaque(kc, s);
    rd_kafka_conf_set_error_cb(kc, mcpu_batcher_seen_error);

    s->crk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, err, sizeof(err));
    if (s->crk == NULL) {
        /* the conf is still ours when rd_kafka_new() fails */
        rd_kafka_conf_destroy(kc);
        snprintf(errstr, errstr_size, "creating the Kafka consumer of "
                 "\"last_seen_topic\" failed: %s", err);
        goto failed;
    }

    /* rd_kafka_new() took ownership of the conf object; errors and logs
     * now come out of rd_kafka_consumer_poll() */
    rd_kafka_poll_set_consumer(s->crk);

    /* last_seen_topic, then the mirrors (names checked with the options) */
    s->mirrors = strdup(conf->last_seen_mirrors);
    s->topics = calloc(strlen(conf->last_seen_mirrors) / 2 + 2,
                       sizeof(s->topics[0]));
    if (s->mirrors == NULL || s->topics == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        goto failed;
    }

    s->topics[s->ntopics++].name = conf->last_seen_topic;

    for (name = strtok_r(s->mirrors, ",", &p); name != NULL;
         name = strtok_r(NULL, ",", &p))
    {
        s->topics[s->ntopics++].name = name;
    }

    for (i = 0; i < s->ntopics; i++) {
        t = &s->topics[i];

        t->crkt = rd_kafka_topic_new(s->crk, t->name, NULL);
        if (t->crkt == NULL) {
            snprintf(errstr, errstr_size, "rd_kafka_topic_new(\"%s\") "
                     "failed: %s", t->name,
                     rd_kafka_err2str(rd_kafka_last_error()));
            goto failed;
        }
    }

    if (conf->test) {
        return MCPU_BATCHER_OK;
    }

    /* created while the signals are blocked: they stay main's */
    if (pthread_create(&s->md_thread, NULL, mcpu_batcher_seen_metadata, s)
        != 0)
    {
        snprintf(errstr, errstr_size, "pthread_create() failed: %s",
                 strerror(errno));
        goto failed;
    }

    s->md_started = 1;

    return MCPU_BATCHER_OK;

failed:

    mcpu_batcher_seen_destroy(s);
    return MCPU_BATCHER_ERROR;
}


int
mcpu_batcher_seen_open(mcpu_batcher_seen_t *s, rd_kafka_t *prk,
    char *errstr, size_t errstr_size)
{
    char                        err[512];
    uint32_t                    n;
    const mcpu_batcher_conf_t  *conf = s->conf;

    if (mcpu_seen_open_writer(&s->table, conf->last_seen_file,
                              (uint32_t) conf->last_seen_slots,
                              (uint32_t) conf->last_seen_value_max, err,
                              sizeof(err))
        != MCPU_SEEN_OK)
    {
        snprintf(errstr, errstr_size, "last-seen table: %s", err);
        return MCPU_BATCHER_ERROR;
    }

    s->open = 1;
    s->prk = prk;

    n = s->table.nslots;
    s->flag = calloc(n, sizeof(s->flag[0]));
    s->dirty = calloc(n, sizeof(s->dirty[0]));
    s->sending = calloc(n, sizeof(s->sending[0]));
    s->buf_size = MCPU_SEEN_MAX_KEY + s->table.value_max;
    s->buf = malloc(s->buf_size);

    if (s->flag == NULL || s->dirty == NULL || s->sending == NULL
        || s->buf == NULL)
    {
        snprintf(errstr, errstr_size, "out of memory for the last-seen "
                 "table's %" PRIu32 " dirty flags", n);
        return MCPU_BATCHER_ERROR;
    }

    if (s->crk == NULL) {
        mcpu_log(MCPU_LOG_NOTICE, "last-seen table \"%s\": %"
                 PRIu32 " slots of %" PRIu32 " bytes; not shared "
                 "(\"last_seen_topic\" is empty): only this "
                 "batcher's deliveries update it",
                 conf->last_seen_file, n, s->table.value_max);

    } else {
        mcpu_log(MCPU_LOG_INFO, "last-seen table \"%s\": %"
                 PRIu32 " slots of %" PRIu32 " bytes; shared through "
                 "topic \"%s\", changes published every %ld ms",
                 conf->last_seen_file, n, s->table.value_max,
                 conf->last_seen_topic,
                 conf->last_seen_publish_interval);
    }

    return MCPU_BATCHER_OK;
}


void
mcpu_batcher_seen_producer(mcpu_batcher_seen_t *s, rd_kafka_t *prk)
{
    if (s->prkt != NULL) {
        rd_kafka_topic_destroy(s->prkt);
        s->prkt = NULL;
    }

    s->prk = prk;

    /* before the topic was found, mcpu_batcher_seen_assign() makes it */
    if (prk == NULL || s->ntopics == 0 || s->topics[0].partitions == 0) {
        return;
    }

    s->prkt = rd_kafka_topic_new(prk, s->topics[0].name, NULL);
    if (s->prkt == NULL) {
        mcpu_log(MCPU_LOG_ERROR, "rd_kafka_topic_new(\"%s\") "
                 "failed: %s; the last-seen table is not published "
                 "until the batcher restarts", s->topics[0].name,
                 rd_kafka_err2str(rd_kafka_last_error()));
    }
}


void
mcpu_batcher_seen_acked(mcpu_batcher_seen_t *s, const void *key,
    size_t key_len, const void *value, size_t value_len)
{
    if (!s->open) {
        return;
    }

    s->acked++;
    mcpu_batcher_seen_update(s, NULL, key, key_len, value, value_len);
}


void
mcpu_batcher_seen_report(mcpu_batcher_seen_t *s,
    const rd_kafka_message_t *rkm)
{
    uint32_t  slot;

    if (rkm->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        s->published++;
        return;
    }

    s->publish_failed++;

    /* the slot's newest entry goes out with the next round */
    slot = (uint32_t) (uintptr_t) rkm->_private;
    if (slot < s->table.nslots) {
        mcpu_batcher_seen_dirty(s, slot);
    }

    /* the batcher purged a producer it replaces, and says so itself */
    if (rkm->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE
        || rkm->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT
        || mcpu_batcher_seen_quiet(s))
    {
        return;
    }

    mcpu_log(MCPU_LOG_ERROR, "publishing a client's last "
             "event to \"%s\" failed: %s: %s; it is published again "
             "(%" PRIu64 " more complaints since the last such line)",
             s->conf->last_seen_topic, rd_kafka_err2name(rkm->err),
             rd_kafka_err2str(rkm->err), s->unlogged);
    s->unlogged = 0;
}


unsigned
mcpu_batcher_seen_poll(mcpu_batcher_seen_t *s, uint64_t now_ms)
{
    unsigned  i, n;

    if (s->crk == NULL || !s->open) {
        return 0;
    }

    for (i = 0; i < s->ntopics; i++) {
        if (s->topics[i].partitions == 0) {
            mcpu_batcher_seen_assign(s, &s->topics[i], now_ms);
        }
    }

    n = mcpu_batcher_seen_consume(s, now_ms);
    n += mcpu_batcher_seen_publish(s, now_ms, 0);

    return n;
}


void
mcpu_batcher_seen_flush(mcpu_batcher_seen_t *s, int timeout_ms)
{
    uint64_t  now, deadline;

    if (s->crk == NULL || !s->open) {
        return;
    }

    now = mcpu_batcher_ring_now_ms();
    deadline = now + (uint64_t) timeout_ms;

    for ( ;; ) {
        mcpu_batcher_seen_publish(s, now, 1);

        if ((s->sent == s->nsending && s->ndirty == 0) || s->prkt == NULL
            || now >= deadline)
        {
            return;
        }

        /* librdkafka's queue is full, or reports failed: serve them */
        rd_kafka_poll(s->prk, MCPU_BATCHER_SEEN_FULL_POLL_MS);
        now = mcpu_batcher_ring_now_ms();
    }
}


void
mcpu_batcher_seen_destroy(mcpu_batcher_seen_t *s)
{
    unsigned  i;
    uint32_t  unpublished;

    if (s->md_started) {
        pthread_mutex_lock(&s->md_lock);
        s->md_stop = 1;
        pthread_cond_signal(&s->md_cond);
        pthread_mutex_unlock(&s->md_lock);

        pthread_join(s->md_thread, NULL);
        s->md_started = 0;
    }

    if (s->open) {
        unpublished = s->ndirty + (s->nsending - s->sent);

        mcpu_log(unpublished ? MCPU_LOG_WARN : MCPU_LOG_NOTICE,
                 "last-seen: %" PRIu64 " acknowledged records (%"
                 PRIu64 " changed the table), %" PRIu64 " read from "
                 "\"%s\"%s (%" PRIu64 " changed it, %" PRIu64
                 " stale ones answered with ours), %" PRIu64
                 " published (%" PRIu64
                 " acknowledged, %" PRIu64 " failed), %" PRIu64
                 " too long, %" PRIu64 " malformed; %" PRIu32
                 " changed clients not published (other hosts learn "
                 "them with their next event); %" PRIu64 " clients "
                 "evicted since the table was created",
                 s->acked, s->acked_updates, s->consumed,
                 s->conf->last_seen_topic,
                 s->ntopics > 1 ? " and its mirrors" : "",
                 s->consumed_updates,
                 s->answered, s->produced, s->published,
                 s->publish_failed, s->too_long, s->malformed,
                 s->crk != NULL ? unpublished : 0,
                 s->table.hdr->evictions);
    }

    for (i = 0; i < s->ntopics; i++) {
        if (s->topics[i].crkt != NULL) {
            rd_kafka_topic_destroy(s->topics[i].crkt);
        }

        free(s->topics[i].at_end);
    }

    if (s->crk != NULL) {
        /* never joined a group, nothing to commit: closing the consumer
         * would only wait for the group coordinator */
        rd_kafka_destroy_flags(s->crk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
        s->crk = NULL;
    }

    /* before the producer handle is destroyed */
    if (s->prkt != NULL) {
        rd_kafka_topic_destroy(s->prkt);
        s->prkt = NULL;
    }

    if (s->open) {
        mcpu_seen_close(&s->table);
        s->open = 0;
    }

    free(s->topics);
    free(s->mirrors);
    free(s->flag);
    free(s->dirty);
    free(s->sending);
    free(s->buf);
    s->topics = NULL;
    s->ntopics = 0;
    s->mirrors = NULL;
    s->flag = NULL;
    s->dirty = NULL;
    s->sending = NULL;
    s->buf = NULL;

    pthread_cond_destroy(&s->md_cond);
    pthread_mutex_destroy(&s->md_lock);
}


/*
 * rd_kafka_metadata() blocks for up to its timeout, so it runs here, not in
 * the main loop: once a second for each topic not found yet, and once all
 * are, the thread ends.  The consumer does not ask Kafka to create a topic
 * (its allow.auto.create.topics is false), so the answer is the truth.
 * Only this thread writes md_said; md_partitions is read by main under
 * md_lock.
 */
static void *
mcpu_batcher_seen_metadata(void *arg)
{
    unsigned                    i, missing;
    int32_t                     n;
    struct timespec             ts;
    rd_kafka_resp_err_t         err;
    const rd_kafka_metadata_t  *md;
    mcpu_batcher_seen_t        *s = arg;
    mcpu_batcher_seen_topic_t  *t;

    pthread_mutex_lock(&s->md_lock);

    while (!s->md_stop) {
        pthread_mutex_unlock(&s->md_lock);

        missing = 0;

        for (i = 0; i < s->ntopics; i++) {
            t = &s->topics[i];

            pthread_mutex_lock(&s->md_lock);
            n = t->md_partitions;
            pthread_mutex_unlock(&s->md_lock);

            if (n > 0) {
                continue;
            }

            err = rd_kafka_metadata(s->crk, 0, t->crkt, &md,
                                    MCPU_BATCHER_SEEN_MD_TIMEOUT_MS);

            if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                if (md->topic_cnt == 1) {
                    err = md->topics[0].err;
                    n = md->topics[0].partition_cnt;
                }

                rd_kafka_metadata_destroy(md);

                if (err == RD_KAFKA_RESP_ERR_NO_ERROR && n <= 0) {
                    err = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
                }
            }

            if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                pthread_mutex_lock(&s->md_lock);
                t->md_partitions = n;
                pthread_mutex_unlock(&s->md_lock);
                continue;
            }

            missing++;

            if (!t->md_said) {
                mcpu_log(MCPU_LOG_WARN, "last-seen topic "
                         "\"%s\": %s%s; checking every %d ms%s",
                         t->name, rd_kafka_err2str(err),
                         err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
                         && i == 0
                         ? " (create it log-compacted: see the "
                           "README, \"Last event seen\")" : "",
                         MCPU_BATCHER_SEEN_MD_RETRY_MS,
                         i == 0 ? ", and until then the table is fed "
                                  "by this batcher's deliveries only"
                                : "");
                t->md_said = 1;
            }
        }

        pthread_mutex_lock(&s->md_lock);

        if (missing == 0) {
            break;
        }

        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += MCPU_BATCHER_SEEN_MD_RETRY_MS / 1000;
        ts.tv_nsec += (MCPU_BATCHER_SEEN_MD_RETRY_MS % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }

        while (!s->md_stop
               && pthread_cond_timedwait(&s->md_cond, &s->md_lock, &ts)
                  != ETIMEDOUT)
        {
            /* void */
        }
    }

    pthread_mutex_unlock(&s->md_lock);

    return NULL;
}


/*
 * Once the thread found topic t: every partition from its first offset, so
 * the whole table is read again at each start.  Topics are added one by one
 * as they are found (incremental: the others keep their positions).  For
 * last_seen_topic, also the producer's handle for publishing, created only
 * now: producing to a missing topic could make Kafka create it, not
 * compacted.
 */
static void
mcpu_batcher_seen_assign(mcpu_batcher_seen_t *s, mcpu_batcher_seen_topic_t *t,
    uint64_t now)
{
    int32_t                            i, n;
    rd_kafka_error_t                  *error;
    rd_kafka_topic_partition_list_t   *parts;

    pthread_mutex_lock(&s->md_lock);
    n = t->md_partitions;
    pthread_mutex_unlock(&s->md_lock);

    if (n == 0 || now < s->assign_retry_ms) {
        return;
    }

    if (t == &s->topics[0] && s->prkt == NULL) {
        /* NULL: the topic takes the producer's topic-level properties */
        s->prkt = rd_kafka_topic_new(s->prk, t->name, NULL);
        if (s->prkt == NULL) {
            mcpu_log(MCPU_LOG_ERROR, "rd_kafka_topic_new("
                     "\"%s\") failed: %s; trying again", t->name,
                     rd_kafka_err2str(rd_kafka_last_error()));
            s->assign_retry_ms = now + MCPU_BATCHER_SEEN_MD_RETRY_MS;
            return;
        }
    }

    if (t->at_end == NULL) {
        t->at_end = calloc((size_t) n, sizeof(t->at_end[0]));
        if (t->at_end == NULL) {
            mcpu_log(MCPU_LOG_ERROR, "out of memory for %"
                     PRId32 " partitions; trying again", n);
            s->assign_retry_ms = now + MCPU_BATCHER_SEEN_MD_RETRY_MS;
            return;
        }
    }

    parts = rd_kafka_topic_partition_list_new(n);
    for (i = 0; i < n; i++) {
        rd_kafka_topic_partition_list_add(parts, t->name, i)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    }

    error = rd_kafka_incremental_assign(s->crk, parts);
    rd_kafka_topic_partition_list_destroy(parts);

    if (error != NULL) {
        mcpu_log(MCPU_LOG_ERROR, "assigning the %" PRId32
                 " partitions of \"%s\" failed: %s; trying again",
                 n, t->name, rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        s->assign_retry_ms = now + MCPU_BATCHER_SEEN_MD_RETRY_MS;
        return;
    }

    t->partitions = n;
    t->at_end_left = n;
    t->assigned_ms = now;

    mcpu_log(MCPU_LOG_INFO, "last-seen: reading the %" PRId32
             " partitions of \"%s\" from the beginning", n, t->name);
}


static unsigned
mcpu_batcher_seen_consume(mcpu_batcher_seen_t *s, uint64_t now)
{
    unsigned                    n;
    rd_kafka_message_t         *rkm;
    mcpu_batcher_seen_topic_t  *t;

    for (n = 0; n < MCPU_BATCHER_SEEN_CONSUME_BATCH; n++) {

        /* 0: never waits; also serves the consumer's error callback */
        rkm = rd_kafka_consumer_poll(s->crk, 0);
        if (rkm == NULL) {
            break;
        }

        t = mcpu_batcher_seen_topic(s, rkm->rkt);

        if (rkm->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            s->consumed++;

            /* t is never NULL: only our topics are assigned */
            if (t != NULL) {
                mcpu_batcher_seen_update(s, t, rkm->key, rkm->key_len,
                                         rkm->payload, rkm->len);
            }

        } else if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            mcpu_batcher_seen_at_end(s, t, rkm->partition, now);

        } else if (!mcpu_batcher_seen_quiet(s)) {
            mcpu_log(MCPU_LOG_ERROR, "last-seen: reading "
                     "\"%s\" [%" PRId32 "]: %s (%" PRIu64 " more "
                     "complaints since the last such line)",
                     t != NULL ? t->name : "?", rkm->partition,
                     rd_kafka_message_errstr(rkm), s->unlogged);
            s->unlogged = 0;
        }

        rd_kafka_message_destroy(rkm);
    }

    return n;
}


/* which of our topics a message or event belongs to; NULL: none */
static mcpu_batcher_seen_topic_t *
mcpu_batcher_seen_topic(mcpu_batcher_seen_t *s, rd_kafka_topic_t *rkt)
{
    unsigned     i;
    const char  *name;

    if (rkt == NULL) {
        return NULL;
    }

    name = rd_kafka_topic_name(rkt);

    for (i = 0; i < s->ntopics; i++) {
        if (strcmp(s->topics[i].name, name) == 0) {
            return &s->topics[i];
        }
    }

    return NULL;
}


/* the first end of each partition: the topic is reloaded when all are */
static void
mcpu_batcher_seen_at_end(mcpu_batcher_seen_t *s, mcpu_batcher_seen_topic_t *t,
    int32_t partition, uint64_t now)
{
    if (t == NULL || partition < 0 || partition >= t->partitions
        || t->at_end[partition])
    {
        return;
    }

    t->at_end[partition] = 1;

    if (--t->at_end_left > 0) {
        return;
    }

    mcpu_log(MCPU_LOG_NOTICE, "last-seen: read \"%s\" to its "
             "end in %" PRIu64 " ms (so far from all topics: %"
             PRIu64 " records read, %" PRIu64 " changed the table)",
             t->name, now - t->assigned_ms, s->consumed,
             s->consumed_updates);
}


/*
 * A round starts when the interval since the last one is over and some
 * slot is dirty: the dirty list becomes the sending list and the flags are
 * cleared, so a slot changed meanwhile joins the next round, not this one.
 * Each slot goes out with what the table holds when it is produced (its
 * newest entry), copied by librdkafka.  force: now, whatever the interval,
 * and without the per-pass bound (shutdown).
 */
static unsigned
mcpu_batcher_seen_publish(mcpu_batcher_seen_t *s, uint64_t now, int force)
{
    int                  rc;
    uint32_t             i, *swap;
    unsigned             n;
    mcpu_seen_entry_t    e;
    rd_kafka_resp_err_t  err;

    if (s->prkt == NULL) {
        return 0;
    }

    if (s->sent == s->nsending) {
        if (s->ndirty == 0
            || (!force && now - s->round_ms
                          < (uint64_t) s->conf->last_seen_publish_interval
                && s->round_ms != 0))
        {
            return 0;
        }

        swap = s->sending;
        s->sending = s->dirty;
        s->dirty = swap;
        s->nsending = s->ndirty;
        s->ndirty = 0;
        s->sent = 0;
        s->round_ms = now;

        for (i = 0; i < s->nsending; i++) {
            s->flag[s->sending[i]] = 0;
        }
    }

    for (n = 0;
         s->sent < s->nsending
         && (force || n < MCPU_BATCHER_SEEN_PUBLISH_BATCH);
         n++)
    {
        i = s->sending[s->sent];

        rc = mcpu_seen_slot(&s->table, i, &e, s->buf, s->buf_size);
        if (rc != MCPU_SEEN_OK) {
            s->sent++;                 /* emptied meanwhile: nothing to say */
            continue;
        }

        err = rd_kafka_producev(s->prk,
                                RD_KAFKA_V_RKT(s->prkt),
                                RD_KAFKA_V_KEY(e.key, e.key_len),
                                RD_KAFKA_V_VALUE((void *) e.value,
                                                 e.value_len),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_OPAQUE((void *) (uintptr_t) i),
                                RD_KAFKA_V_END);

        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            break;                     /* the same slot at the next pass */
        }

        s->sent++;

        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            s->produced++;
            continue;
        }

        s->publish_failed++;
        mcpu_batcher_seen_dirty(s, i);

        if (!mcpu_batcher_seen_quiet(s)) {
            mcpu_log(MCPU_LOG_ERROR, "librdkafka refused a "
                     "publication to \"%s\": %s; it is tried again "
                     "(%" PRIu64 " more complaints since the last "
                     "such line)", s->conf->last_seen_topic,
                     rd_kafka_err2str(err), s->unlogged);
            s->unlogged = 0;
        }
    }

    return n;
}


/*
 * from NULL: a delivery report (marks the slot dirty when it changed); else
 * the topic it was read from, which may be answered
 * (mcpu_batcher_seen_answer()).
 */
static void
mcpu_batcher_seen_update(mcpu_batcher_seen_t *s,
    mcpu_batcher_seen_topic_t *from, const void *key, size_t key_len,
    const void *value, size_t value_len)
{
    int                rc, local;
    int64_t            seq, time_ms;
    uint32_t           slot;
    mcpu_seen_entry_t  e;

    local = from == NULL;

    if (key == NULL || key_len == 0 || value == NULL
        || mcpu_record_peek_order(value, value_len, &time_ms, &seq) != 0)
    {
        s->malformed++;

        if (!mcpu_batcher_seen_quiet(s)) {
            mcpu_log(MCPU_LOG_WARN, "last-seen: %s without a "
                     "client id, or whose value has no \"timeMs\" or "
                     "\"seq\", skipped (key \"%.*s\"; %" PRIu64
                     " more complaints since the last such line)",
                     local ? "an acknowledged record"
                           : "a message of a last-seen topic",
                     key_len > MCPU_SEEN_MAX_KEY ? MCPU_SEEN_MAX_KEY
                                                 : (int) key_len,
                     key != NULL ? (const char *) key : "",
                     s->unlogged);
            s->unlogged = 0;
        }

        return;
    }

    e.key = key;
    e.key_len = key_len;
    e.value = value;
    e.value_len = value_len;
    e.seq = seq;
    e.time_ms = time_ms;

    slot = UINT32_MAX;

    rc = mcpu_seen_update(&s->table, &e, mcpu_batcher_seen_wall_ms(), &slot);

    switch (rc) {

    case MCPU_SEEN_OK:
        if (local) {
            s->acked_updates++;
            mcpu_batcher_seen_dirty(s, slot);

        } else {
            s->consumed_updates++;
        }
        break;

    case MCPU_SEEN_OLDER:
        if (!local && from->partitions > 0 && from->at_end_left == 0) {
            mcpu_batcher_seen_answer(s, &e);
        }
        break;

    case MCPU_SEEN_TOO_LONG:
        s->too_long++;

        if (!mcpu_batcher_seen_quiet(s)) {
            mcpu_log(MCPU_LOG_WARN, "last-seen: the record "
                     "of client \"%.*s\" (%zu bytes) does not fit in "
                     "\"last_seen_value_max\" (%ld), even without its "
                     "event; not kept (%" PRIu64 " more complaints "
                     "since the last such line)",
                     key_len > MCPU_SEEN_MAX_KEY ? MCPU_SEEN_MAX_KEY
                                                 : (int) key_len,
                     (const char *) key, value_len,
                     s->conf->last_seen_value_max, s->unlogged);
            s->unlogged = 0;
        }
        break;

    default:
        break;
    }
}


/*
 * A message of the topic older than the table's entry, once the topic has
 * been read to its end (before, older messages are only its history):
 * another batcher published an older event of the client last, not having
 * heard of ours yet.  Ours goes out again at once, so that the compacted
 * topic, whose last word per key is what a new batcher reloads, ends with
 * the newest.  Equal is our own publication coming back: nothing to say.
 * Rare, so outside the rounds; a failure is only logged (opaque UINT32_MAX
 * names no slot).
 */
static void
mcpu_batcher_seen_answer(mcpu_batcher_seen_t *s, const mcpu_seen_entry_t *e)
{
    mcpu_seen_entry_t    cur;
    rd_kafka_resp_err_t  err;

    if (s->prkt == NULL
        || mcpu_seen_lookup(&s->table, e->key, e->key_len, &cur, s->buf,
                            s->buf_size) != MCPU_SEEN_OK
        || !mcpu_seen_newer(cur.seq, cur.time_ms, e->seq, e->time_ms))
    {
        return;
    }

    err = rd_kafka_producev(s->prk,
                            RD_KAFKA_V_RKT(s->prkt),
                            RD_KAFKA_V_KEY(e->key, e->key_len),
                            RD_KAFKA_V_VALUE((void *) cur.value,
                                             cur.value_len),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_OPAQUE((void *) (uintptr_t) UINT32_MAX),
                            RD_KAFKA_V_END);

    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        s->produced++;
        s->answered++;

    } else {
        s->publish_failed++;
    }
}


/* each slot at most once in dirty[]: the flag says it is there */
static void
mcpu_batcher_seen_dirty(mcpu_batcher_seen_t *s, uint32_t slot)
{
    if (s->flag == NULL || slot >= s->table.nslots || s->flag[slot]) {
        return;
    }

    s->flag[slot] = 1;
    s->dirty[s->ndirty++] = slot;
}


/* complaints: one line a second, counting the ones left out */
static int
mcpu_batcher_seen_quiet(mcpu_batcher_seen_t *s)
{
    uint64_t  now;

    now = mcpu_batcher_ring_now_ms();

    if (s->log_ms != 0 && now - s->log_ms < MCPU_BATCHER_SEEN_LOG_MS) {
        s->unlogged++;
        return 1;
    }

    s->log_ms = now;
    return 0;
}


/*
 * The consumer's errors, from rd_kafka_consumer_poll() on the main thread.
 * Broker connections failing are the producer's to say (it talks to the
 * same brokers); the rest is logged.  No consumer error stops the batcher:
 * the events are the ring's, and a table behind Kafka only makes clients
 * resend more.
 */
static void
mcpu_batcher_seen_error(rd_kafka_t *rk, int err, const char *reason,
    void *opaque)
{
    (void) rk;
    (void) opaque;

    if (err == RD_KAFKA_RESP_ERR__TRANSPORT
        || err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
    {
        return;
    }

    mcpu_log(MCPU_LOG_ERROR, "last-seen consumer: Kafka error "
             "%s: %s", rd_kafka_err2name((rd_kafka_resp_err_t) err),
             reason);
}


/* the table's touched_ms outlives the process: wall clock */
static uint64_t
mcpu_batcher_seen_wall_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}
