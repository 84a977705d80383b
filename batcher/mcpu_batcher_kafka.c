/*
 * mcpu_batcher_kafka.c: the librdkafka producer of mcpu-batcher.
 *
 * Records go to librdkafka in place, without RD_KAFKA_MSG_F_COPY: the ring
 * slot stays valid until its delivery report arrives, because only the
 * report can release it (mcpu_batcher_ring.h).  The report, served by
 * rd_kafka_poll() on the main thread, marks the record's FIFO entry and
 * tells the last-seen table (mcpu_batcher_seen.h) that Kafka has the
 * record; the error callback logs and, on a fatal error, flags the producer
 * for replacement (mcpu_batcher.c rebuilds it; the ring resends).
 * The table's own publications share the producer: their reports are told
 * apart by their topic and go to the table.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "mcpu_log.h"
#include "mcpu_kafka_conf.h"
#include "mcpu_batcher.h"
#include "mcpu_event.h"
#include "mcpu_batcher_kafka.h"
#include "mcpu_batcher_seen.h"


#define MCPU_BATCHER_KAFKA_DR_LOG_MS  1000   /* one delivery error line/s */
#define MCPU_BATCHER_KAFKA_PROBE_MS   1000   /* metadata asked while down */
#define MCPU_BATCHER_KAFKA_PROBE_WAIT_MS  500   /* ... waiting this long at
                                                most: a stop or a rebuild
                                                joins the probe thread */


/*
 * The batcher's defaults (name, value, ..., NULL), set before the user's
 * properties so that a kafka.* line or -X overrides any of them.
 *
 * enable.idempotence=true and acks=all: librdkafka retries without
 * duplicating or reordering within a partition, and a report says
 * "persisted" only when every in-sync replica has the record.
 *
 * message.timeout.ms=0 (no local timeout): librdkafka retries by itself,
 * for as long as Kafka is away (retries is INT32_MAX with idempotence), and
 * we add no retry layer on top (STYLE 15).  A finite timeout would only turn
 * an outage into delivery errors, which we would answer by producing the
 * same records again from the ring (they are still there): out of order and,
 * for the idempotent producer, with an epoch bump.  What waits is bounded
 * anyway: max_in_flight_per_lane records per lane in librdkafka's queue, the
 * rest in the ring, and a full ring makes nginx answer 503.  Shutdown stays
 * bounded by flush_timeout_ms, after which unacknowledged records simply
 * stay in the ring.  Only permanent errors (authorization, record too
 * large, ...) reach a report, and those records are produced again after
 * resend_backoff_ms, never dropped.
 *
 * linger.ms=5: batches fill under load without adding visible latency.
 */
static const char *const  mcpu_batcher_kafka_defaults[] = {
    "enable.idempotence", "true",
    "acks", "all",
    "message.timeout.ms", "0",
    "linger.ms", "5",
    "client.id", MCPU_BATCHER_NAME,
    NULL
};


static int mcpu_batcher_kafka_open(mcpu_batcher_kafka_t *k, char *errstr,
    size_t errstr_size);
static void mcpu_batcher_kafka_close(mcpu_batcher_kafka_t *k);
static void *mcpu_batcher_kafka_probe(void *arg);
static void mcpu_batcher_kafka_probing(mcpu_batcher_kafka_t *k, int on);
static void mcpu_batcher_kafka_dr(rd_kafka_t *rk,
    const rd_kafka_message_t *rkm, void *opaque);
static void mcpu_batcher_kafka_error(rd_kafka_t *rk, int err,
    const char *reason, void *opaque);
static void mcpu_batcher_kafka_logger(const rd_kafka_t *rk, int level,
    const char *fac, const char *buf);


int
mcpu_batcher_kafka_create(mcpu_batcher_kafka_t *k,
    const mcpu_batcher_conf_t *conf, char *errstr, size_t errstr_size)
{
    pthread_condattr_t  ca;

    memset(k, 0, sizeof(*k));
    k->conf = conf;
    k->up = MCPU_BATCHER_KAFKA_UNKNOWN;

    /* the probe waits on CLOCK_MONOTONIC, as the rest of the batcher */
    pthread_mutex_init(&k->probe_lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&k->probe_cond, &ca);
    pthread_condattr_destroy(&ca);

    if (mcpu_batcher_kafka_open(k, errstr, errstr_size) != MCPU_BATCHER_OK) {
        mcpu_batcher_kafka_destroy(k);
        return MCPU_BATCHER_ERROR;
    }

    return MCPU_BATCHER_OK;
}


/*
 * One producer: handle, topic handle, probe thread.  The stop and reload
 * signals are blocked meanwhile: the threads started here inherit the mask,
 * so the signals always go to the main thread, at start-up as after a
 * rebuild.
 */
static int
mcpu_batcher_kafka_open(mcpu_batcher_kafka_t *k, char *errstr,
    size_t errstr_size)
{
    int                         rc;
    char                        err[512], servers[1024];
    size_t                      size;
    sigset_t                    set, old;
    rd_kafka_conf_t            *kc;
    const mcpu_batcher_conf_t  *conf = k->conf;

    kc = mcpu_batcher_kafka_conf_new(conf, RD_KAFKA_PRODUCER,
                                     mcpu_batcher_kafka_defaults, errstr,
                                     errstr_size);
    if (kc == NULL) {
        return MCPU_BATCHER_ERROR;
    }

    rd_kafka_conf_set_opaque(kc, k);
    rd_kafka_conf_set_dr_msg_cb(kc, mcpu_batcher_kafka_dr);
    rd_kafka_conf_set_error_cb(kc, mcpu_batcher_kafka_error);

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, &old);

    rc = MCPU_BATCHER_ERROR;

    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, err, sizeof(err));
    if (k->rk == NULL) {
        /* the conf is still ours when rd_kafka_new() fails */
        rd_kafka_conf_destroy(kc);
        snprintf(errstr, errstr_size, "creating the Kafka producer failed: "
                 "%s", err);
        goto done;
    }

    /* rd_kafka_new() took ownership of the conf object */

    /* NULL: the topic takes the topic-level properties set above */
    k->rkt = rd_kafka_topic_new(k->rk, conf->topic, NULL);
    if (k->rkt == NULL) {
        snprintf(errstr, errstr_size, "rd_kafka_topic_new(\"%s\") failed: %s",
                 conf->topic, rd_kafka_err2str(rd_kafka_last_error()));
        goto done;
    }

    k->probe_stop = 0;
    k->probe_on = (k->up == MCPU_BATCHER_KAFKA_DOWN);
    k->probe_ok = 0;

    if (pthread_create(&k->probe_thread, NULL, mcpu_batcher_kafka_probe, k)
        != 0)
    {
        snprintf(errstr, errstr_size, "pthread_create() failed: %s",
                 strerror(errno));
        goto done;
    }

    k->probe_started = 1;
    k->producers++;
    k->acked = 0;

    size = sizeof(servers);
    if (rd_kafka_conf_get(rd_kafka_conf(k->rk), "bootstrap.servers", servers,
                          &size) != RD_KAFKA_CONF_OK)
    {
        snprintf(servers, sizeof(servers), "?");
    }

    mcpu_log(MCPU_LOG_INFO, "Kafka producer %s: brokers %s, "
             "topic \"%s\", librdkafka %s", rd_kafka_name(k->rk),
             servers, conf->topic, rd_kafka_version_str());

    rc = MCPU_BATCHER_OK;

done:

    pthread_sigmask(SIG_SETMASK, &old, NULL);

    if (rc != MCPU_BATCHER_OK) {
        mcpu_batcher_kafka_close(k);      /* k->rk is NULL on failure */
    }

    return rc;
}


/* the probe thread, then the topic handle, then the handle */
static void
mcpu_batcher_kafka_close(mcpu_batcher_kafka_t *k)
{
    if (k->probe_started) {
        pthread_mutex_lock(&k->probe_lock);
        k->probe_stop = 1;
        pthread_cond_signal(&k->probe_cond);
        pthread_mutex_unlock(&k->probe_lock);

        pthread_join(k->probe_thread, NULL);
        k->probe_started = 0;
    }

    /* topics before the handle (librdkafka's "Termination") */
    if (k->rkt != NULL) {
        rd_kafka_topic_destroy(k->rkt);
        k->rkt = NULL;
    }

    if (k->rk != NULL) {
        rd_kafka_destroy(k->rk);
        k->rk = NULL;
    }
}


int
mcpu_batcher_kafka_retire(mcpu_batcher_kafka_t *k, int timeout_ms)
{
    rd_kafka_resp_err_t  err;

    /* the producer is dead: whatever it holds will never be acknowledged
     * by it.  Purged messages get a report (__PURGE_QUEUE, __PURGE_INFLIGHT)
     * that marks their entries for sending again; a purged in-flight
     * request may still have reached Kafka: a duplicate, never a loss */
    err = rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE
                                | RD_KAFKA_PURGE_F_INFLIGHT);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        mcpu_log(MCPU_LOG_WARN, "purging the old producer "
                 "failed: %s", rd_kafka_err2str(err));
    }

    rd_kafka_flush(k->rk, timeout_ms);
    rd_kafka_poll(k->rk, 0);

    return rd_kafka_outq_len(k->rk);
}


int
mcpu_batcher_kafka_renew(mcpu_batcher_kafka_t *k, char *errstr,
    size_t errstr_size)
{
    mcpu_batcher_kafka_close(k);

    k->fatal = 0;

    return mcpu_batcher_kafka_open(k, errstr, errstr_size);
}


/*
 * The common configuration (common/mcpu_kafka_conf.h), with
 * bootstrap.servers from option "brokers" after the handle's defaults, so
 * that kafka.bootstrap.servers and -X bootstrap.servers=... override it,
 * and our log callback in place of the common one.
 */
rd_kafka_conf_t *
mcpu_batcher_kafka_conf_new(const mcpu_batcher_conf_t *conf,
    rd_kafka_type_t type, const char *const *defaults, char *errstr,
    size_t errstr_size)
{
    size_t            n;
    const char      **all;
    rd_kafka_conf_t  *kc;

    for (n = 0; defaults[n] != NULL; n += 2) {
        /* void */
    }

    all = malloc((n + 3) * sizeof(*all));
    if (all == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }

    memcpy(all, defaults, n * sizeof(*all));
    all[n] = "bootstrap.servers";
    all[n + 1] = conf->brokers;
    all[n + 2] = NULL;

    kc = mcpu_kafka_conf_new(type, all, conf->kafka, conf->nkafka, errstr,
                             errstr_size);
    free(all);

    if (kc != NULL) {
        rd_kafka_conf_set_log_cb(kc, mcpu_batcher_kafka_logger);
    }

    return kc;
}


void
mcpu_batcher_kafka_destroy(mcpu_batcher_kafka_t *k)
{
    mcpu_batcher_kafka_close(k);

    pthread_cond_destroy(&k->probe_cond);
    pthread_mutex_destroy(&k->probe_lock);
}


rd_kafka_resp_err_t
mcpu_batcher_kafka_produce(mcpu_batcher_kafka_t *k, const mcpu_ring_view_t *v,
    mcpu_batcher_entry_t *e)
{
    size_t       schema_len, type_len;
    const char  *schema, *type;

    /* consumers route on the event type and schema version without
     * parsing the value: both ride along as Kafka headers */
    if (mcpu_record_peek((const char *) v->value, v->value_len, &schema,
                         &schema_len, &type, &type_len)
        != 0)
    {
        schema = "";
        schema_len = 0;
        type = "";
        type_len = 0;
    }

    /* msgflags 0, no RD_KAFKA_MSG_F_COPY: librdkafka reads the value in the
     * ring slot until the report; the key and headers are copied */
    return rd_kafka_producev(k->rk,
                             RD_KAFKA_V_RKT(k->rkt),
                             RD_KAFKA_V_KEY(v->key, (size_t) v->key_len),
                             RD_KAFKA_V_VALUE((void *) v->value,
                                              (size_t) v->value_len),
                             RD_KAFKA_V_HEADER("mcpu-type", type,
                                               (ssize_t) type_len),
                             RD_KAFKA_V_HEADER("mcpu-schema", schema,
                                               (ssize_t) schema_len),
                             RD_KAFKA_V_MSGFLAGS(0),
                             RD_KAFKA_V_OPAQUE(e),
                             RD_KAFKA_V_END);
}


void
mcpu_batcher_kafka_poll(mcpu_batcher_kafka_t *k, int timeout_ms)
{
    if (k->rk != NULL) {
        rd_kafka_poll(k->rk, timeout_ms);
    }
}


int
mcpu_batcher_kafka_state(mcpu_batcher_kafka_t *k)
{
    int  ok;

    /* until a report arrives, cluster metadata says the brokers answer;
     * timeout 0 reads the cached controller id and never blocks */
    if (k->up == MCPU_BATCHER_KAFKA_UNKNOWN && k->rk != NULL
        && rd_kafka_controllerid(k->rk, 0) >= 0)
    {
        mcpu_log(MCPU_LOG_NOTICE, "Kafka is reachable: "
                 "cluster metadata received");
        k->up = MCPU_BATCHER_KAFKA_UP;
    }

    /* down, and idle perhaps: the probe says when a broker answers again */
    if (k->up == MCPU_BATCHER_KAFKA_DOWN && k->probe_started) {
        pthread_mutex_lock(&k->probe_lock);
        ok = k->probe_ok;
        pthread_mutex_unlock(&k->probe_lock);

        if (ok) {
            mcpu_log(MCPU_LOG_NOTICE, "Kafka is reachable "
                     "again: it answered a metadata request");
            k->up = MCPU_BATCHER_KAFKA_UP;
            mcpu_batcher_kafka_probing(k, 0);
        }
    }

    return k->up;
}


/*
 * While Kafka is down: a metadata request for our topic every second.
 * rd_kafka_metadata() waits for a usable broker and its answer for up to
 * its timeout, which is why it runs here and not in the main loop.
 */
static void *
mcpu_batcher_kafka_probe(void *arg)
{
    unsigned                    gen;
    struct timespec             ts;
    rd_kafka_resp_err_t         err;
    const rd_kafka_metadata_t  *md;
    mcpu_batcher_kafka_t       *k = arg;

    pthread_mutex_lock(&k->probe_lock);

    while (!k->probe_stop) {

        if (!k->probe_on || k->probe_ok) {
            pthread_cond_wait(&k->probe_cond, &k->probe_lock);
            continue;
        }

        gen = k->probe_gen;
        pthread_mutex_unlock(&k->probe_lock);

        err = rd_kafka_metadata(k->rk, 0, k->rkt, &md,
                                MCPU_BATCHER_KAFKA_PROBE_WAIT_MS);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_metadata_destroy(md);
        }

        pthread_mutex_lock(&k->probe_lock);

        if (err == RD_KAFKA_RESP_ERR_NO_ERROR && k->probe_gen == gen) {
            k->probe_ok = k->probe_on;
            continue;
        }

        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += MCPU_BATCHER_KAFKA_PROBE_MS / 1000;
        ts.tv_nsec += (MCPU_BATCHER_KAFKA_PROBE_MS % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }

        while (!k->probe_stop && k->probe_on
               && pthread_cond_timedwait(&k->probe_cond, &k->probe_lock, &ts)
                  != ETIMEDOUT)
        {
            /* void */
        }
    }

    pthread_mutex_unlock(&k->probe_lock);

    return NULL;
}


/* on: Kafka went down, start asking; off: it is back */
static void
mcpu_batcher_kafka_probing(mcpu_batcher_kafka_t *k, int on)
{
    if (!k->probe_started) {
        return;
    }

    pthread_mutex_lock(&k->probe_lock);
    k->probe_on = on;
    k->probe_ok = 0;
    k->probe_gen++;
    pthread_cond_signal(&k->probe_cond);
    pthread_mutex_unlock(&k->probe_lock);
}


int
mcpu_batcher_kafka_flush(mcpu_batcher_kafka_t *k, int timeout_ms)
{
    rd_kafka_resp_err_t  err;

    if (k->rk == NULL) {
        return 0;                  /* a rebuild failed: nothing to flush */
    }

    /* serves the delivery reports (rd_kafka_poll) while it waits; with no
     * time left the caller's line says what is left */
    if (timeout_ms > 0) {
        err = rd_kafka_flush(k->rk, timeout_ms);

        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            mcpu_log(MCPU_LOG_WARN, "flush: %s after %d ms",
                     rd_kafka_err2str(err), timeout_ms);
        }
    }

    /* reports that raced with the end of the flush */
    rd_kafka_poll(k->rk, 0);

    return rd_kafka_outq_len(k->rk);
}


/*
 * Called exactly once per message, from rd_kafka_poll()/rd_kafka_flush() on
 * the main thread.  Only this moves a record towards release, and only this
 * advances the client's last event seen: the record is still in its ring
 * slot (produced in place, released after this report), so the table copies
 * it from there.
 */
static void
mcpu_batcher_kafka_dr(rd_kafka_t *rk, const rd_kafka_message_t *rkm,
    void *opaque)
{
    uint64_t               now;
    const char            *status;
    mcpu_batcher_kafka_t  *k = opaque;
    mcpu_batcher_entry_t  *e = rkm->_private;

    (void) rk;

    /* the last-seen table's publications: not ring records, which all go
     * to k->rkt (the two topics differ, checked with the options) */
    if (rkm->rkt != k->rkt) {
        if (k->seen != NULL) {
            mcpu_batcher_seen_report(k->seen, rkm);
        }

        return;
    }

    if (rkm->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (k->up != MCPU_BATCHER_KAFKA_UP) {
            mcpu_log(MCPU_LOG_NOTICE, "Kafka is reachable%s: "
                     "deliveries are acknowledged",
                     k->up == MCPU_BATCHER_KAFKA_DOWN ? " again" : "");
            if (k->up == MCPU_BATCHER_KAFKA_DOWN) {
                mcpu_batcher_kafka_probing(k, 0);
            }
            k->up = MCPU_BATCHER_KAFKA_UP;
        }

        k->acked++;

        /* acks=0 reports success for what may never have been stored */
        if (k->seen != NULL
            && rd_kafka_message_status(rkm) == RD_KAFKA_MSG_STATUS_PERSISTED)
        {
            mcpu_batcher_seen_acked(k->seen, rkm->key, rkm->key_len,
                                    rkm->payload, rkm->len);
        }

        mcpu_batcher_ring_done(k->ring, e, 1);
        return;
    }

    mcpu_batcher_ring_done(k->ring, e, 0);

    /* our own purge of a producer being replaced: said once, by the
     * rebuild, for all of them */
    if (rkm->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE
        || rkm->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
    {
        return;
    }

    now = mcpu_batcher_ring_now_ms();

    if (now - k->dr_log_ms < MCPU_BATCHER_KAFKA_DR_LOG_MS) {
        k->dr_unlogged++;
        return;
    }

    switch (rd_kafka_message_status(rkm)) {
    case RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED:
        status = "possibly persisted";
        break;
    case RD_KAFKA_MSG_STATUS_PERSISTED:
        status = "persisted";
        break;
    default:
        status = "not persisted";
        break;
    }

    mcpu_log(MCPU_LOG_ERROR, "delivery failed for lane %u "
             "position %" PRIu64 ": %s: %s (%s); it stays in the ring "
             "and is produced again (%" PRIu64 " more failures since "
             "the last such line)", (unsigned) e->lane, e->pos,
             rd_kafka_err2name(rkm->err), rd_kafka_err2str(rkm->err),
             status, k->dr_unlogged);

    k->dr_log_ms = now;
    k->dr_unlogged = 0;
}


/*
 * Every error is logged (__TRANSPORT by librdkafka itself); only __FATAL
 * acts (the idempotent producer can no longer keep its promises): the main
 * loop replaces the producer, which says why (rd_kafka_fatal_error()).
 * "All brokers down" marks Kafka unreachable until the next acknowledged
 * delivery or metadata answer (the probe).
 */
static void
mcpu_batcher_kafka_error(rd_kafka_t *rk, int err, const char *reason,
    void *opaque)
{
    mcpu_batcher_kafka_t  *k = opaque;

    (void) rk;

    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        k->fatal = 1;
        return;
    }

    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        if (k->up != MCPU_BATCHER_KAFKA_DOWN) {
            mcpu_log(MCPU_LOG_WARN, "Kafka is unreachable: "
                     "%s; records wait in the ring", reason);
            k->up = MCPU_BATCHER_KAFKA_DOWN;
            mcpu_batcher_kafka_probing(k, 1);
        }

        return;
    }

    /* a broker connection failing: librdkafka's own FAIL line (log_cb)
     * already says it in the same words */
    if (err == RD_KAFKA_RESP_ERR__TRANSPORT) {
        return;
    }

    mcpu_log(MCPU_LOG_ERROR, "Kafka error %s: %s",
             rd_kafka_err2name((rd_kafka_resp_err_t) err), reason);
}


/*
 * librdkafka's own log lines, from any of its threads, in our format, as
 * common/mcpu_kafka_conf.c's callback writes them, with the levels of two
 * lines that are no news for the batcher lowered
 */
static void
mcpu_batcher_kafka_logger(const rd_kafka_t *rk, int level, const char *fac,
    const char *buf)
{
    (void) rk;

    /* "Producer terminating with N messages still in queue or transit: use
     * flush()": by design at a stop with Kafka away; our own line says
     * that they stay in the ring */
    if (strcmp(fac, "TERMINATE") == 0 && level < MCPU_LOG_INFO) {
        level = MCPU_LOG_INFO;
    }

    /* "Fatal error: ...", at EMERG: our CRIT line says the same, and that
     * the producer is replaced, which makes it no emergency */
    if (strcmp(fac, "FATAL") == 0 && level < MCPU_LOG_INFO) {
        level = MCPU_LOG_INFO;
    }

    mcpu_log(level, "librdkafka %s: %s", fac, buf);
}
