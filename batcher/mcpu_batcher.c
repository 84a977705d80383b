/*
 * mcpu_batcher.c: main() and the main loop of mcpu-batcher, the single
 * consumer of the shared-memory ring that nginx's mcpu module fills.
 *
 * The loop follows librdkafka's examples/producer.c: each pass goes round
 * the lanes, hands up to `batch` records of each to rd_kafka_producev(),
 * then serves delivery reports with a bounded rd_kafka_poll() (0 ms when
 * there was work, poll_ms when idle) and releases what Kafka acknowledged.
 * Each pass also serves the "last event seen" table (mcpu_batcher_seen.h):
 * what its consumer read, and the publication of what delivery reports
 * changed.  Signal handlers only set flags.  SIGTERM/SIGINT: stop reading,
 * flush for flush_timeout_ms (the records' reports first, then the table's
 * last changes), release what was acknowledged, leave the rest in the ring
 * for the next start, exit 0, whether Kafka answered or not.  SIGHUP:
 * reopen the log file.
 *
 * A fatal producer error (fenced, sequence desynchronised) replaces the
 * producer (mcpu_batcher_rebuild()): the ring still holds every record the
 * old one did not get acknowledged, and they are produced again by the new
 * one.  Duplicates are possible, loss is not.
 */

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "mcpu_log.h"
#include "mcpu_batcher.h"
#include "mcpu_batcher_conf.h"
#include "mcpu_batcher_kafka.h"
#include "mcpu_batcher_ring.h"
#include "mcpu_batcher_seen.h"


#define MCPU_BATCHER_QUEUE_FULL_POLL_MS  100
#define MCPU_BATCHER_REFUSED_LOG_MS      1000

/* a producer with a fatal error: its in-flight requests get up to GRACE to
 * be acknowledged (fewer duplicates), then it is replaced.  A replacement
 * that dies before any acknowledgement waits before the next one, from
 * BACKOFF_MIN doubling to BACKOFF_MAX, so a permanent cause (say, a
 * cluster authorization failure) does not spin */
#define MCPU_BATCHER_REBUILD_GRACE_MS    1000
#define MCPU_BATCHER_REBUILD_PURGE_MS    1000
#define MCPU_BATCHER_REBUILD_BACKOFF_MIN 1000
#define MCPU_BATCHER_REBUILD_BACKOFF_MAX 60000


typedef struct {
    mcpu_batcher_conf_t   conf;
    mcpu_batcher_kafka_t  kafka;
    mcpu_batcher_ring_t   ring;
    mcpu_batcher_seen_t   seen;
    uint64_t              refused_log_ms;   /* last "librdkafka refused" */
    uint64_t              refused_unlogged;
    uint32_t              first_lane;       /* where the next pass starts */
    int                   queue_full;       /* librdkafka's queue is full:
                                               this pass reads no more */
    uint64_t              rebuild_backoff_ms;
} mcpu_batcher_t;


static void mcpu_batcher_on_stop(int signo);
static void mcpu_batcher_on_reopen(int signo);
static int mcpu_batcher_signals(void);
static void mcpu_batcher_refuse(mcpu_batcher_t *b, const char *errstr);
static void mcpu_batcher_reopen_log(void);
static int mcpu_batcher_loop(mcpu_batcher_t *b);
static int mcpu_batcher_drain(mcpu_batcher_t *b, uint32_t lane,
    uint64_t now, unsigned *work);
static int mcpu_batcher_produce(mcpu_batcher_t *b,
    const mcpu_ring_view_t *v, mcpu_batcher_entry_t *e, uint64_t now);
static int mcpu_batcher_rebuild(mcpu_batcher_t *b);
static void mcpu_batcher_refused(mcpu_batcher_t *b,
    const mcpu_batcher_entry_t *e, rd_kafka_resp_err_t err, uint64_t now);
static void mcpu_batcher_corrupt(mcpu_batcher_t *b, uint32_t lane,
    uint64_t pos);
static void mcpu_batcher_shutdown(mcpu_batcher_t *b);


static volatile sig_atomic_t  mcpu_batcher_stop;
static volatile sig_atomic_t  mcpu_batcher_reopen;

static mcpu_batcher_t         mcpu_batcher;


int
main(int argc, char **argv)
{
    int              rc, status;
    char             errstr[1024];
    sigset_t         set;
    mcpu_batcher_t  *b = &mcpu_batcher;

    rc = mcpu_batcher_conf_load(&b->conf, argc, argv, errstr,
                                sizeof(errstr));
    if (rc == MCPU_BATCHER_DONE) {
        mcpu_batcher_conf_free(&b->conf);
        return MCPU_BATCHER_EXIT_OK;
    }

    if (rc != MCPU_BATCHER_OK) {
        fprintf(stderr, MCPU_BATCHER_NAME ": %s\n", errstr);
        mcpu_batcher_conf_free(&b->conf);
        return MCPU_BATCHER_EXIT_CONFIG;
    }

    if (mcpu_log_open(MCPU_BATCHER_NAME, b->conf.log_file, errstr,
                      sizeof(errstr)) != 0)
    {
        fprintf(stderr, MCPU_BATCHER_NAME ": option \"log_file\": %s\n",
                errstr);
        mcpu_batcher_conf_free(&b->conf);
        return MCPU_BATCHER_EXIT_CONFIG;
    }

    /* librdkafka's threads inherit this mask: the signals go to main */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    if (mcpu_batcher_signals() != MCPU_BATCHER_OK) {
        mcpu_log(MCPU_LOG_CRIT, "sigaction() failed");
        return MCPU_BATCHER_EXIT_FAILURE;
    }

    if (b->conf.test) {
        mcpu_log_level(MCPU_LOG_CRIT);

    } else {
        mcpu_log(MCPU_LOG_NOTICE, MCPU_BATCHER_NAME " "
                 MCPU_BATCHER_VERSION " starting: ring \"%s\", batch "
                 "%ld, poll_ms %ld, max_in_flight_per_lane %ld, "
                 "flush_timeout_ms %ld", b->conf.ring, b->conf.batch,
                 b->conf.poll_ms, b->conf.max_in_flight_per_lane,
                 b->conf.flush_timeout_ms);
    }

    if (mcpu_batcher_kafka_create(&b->kafka, &b->conf, errstr,
                                  sizeof(errstr)) != MCPU_BATCHER_OK)
    {
        mcpu_batcher_refuse(b, errstr);
        mcpu_batcher_conf_free(&b->conf);
        return MCPU_BATCHER_EXIT_CONFIG;
    }

    if (mcpu_batcher_seen_create(&b->seen, &b->conf, errstr, sizeof(errstr))
        != MCPU_BATCHER_OK)
    {
        mcpu_batcher_refuse(b, errstr);
        mcpu_batcher_kafka_destroy(&b->kafka);
        mcpu_batcher_conf_free(&b->conf);
        return MCPU_BATCHER_EXIT_CONFIG;
    }

    if (b->conf.test) {
        mcpu_batcher_seen_destroy(&b->seen);
        mcpu_batcher_kafka_destroy(&b->kafka);
        mcpu_batcher_conf_free(&b->conf);
        printf(MCPU_BATCHER_NAME ": configuration is ok\n");
        return MCPU_BATCHER_EXIT_OK;
    }

    pthread_sigmask(SIG_UNBLOCK, &set, NULL);

    rc = mcpu_batcher_ring_attach(&b->ring, b->conf.ring,
                                  (uint64_t) b->conf.max_in_flight_per_lane,
                                  (uint64_t) b->conf.resend_backoff_ms,
                                  &mcpu_batcher_stop, &mcpu_batcher_reopen,
                                  errstr, sizeof(errstr));
    if (rc != MCPU_BATCHER_OK) {
        if (rc == MCPU_BATCHER_ERROR) {
            mcpu_log(MCPU_LOG_CRIT, "%s", errstr);
        }

        mcpu_batcher_seen_destroy(&b->seen);
        mcpu_batcher_kafka_destroy(&b->kafka);
        status = rc == MCPU_BATCHER_STOPPED ? MCPU_BATCHER_EXIT_OK
                                            : MCPU_BATCHER_EXIT_FAILURE;
        mcpu_log(MCPU_LOG_NOTICE, "exiting with status %d%s",
                 status, rc == MCPU_BATCHER_STOPPED
                         ? " (stopped while waiting for the ring)"
                         : "");
        mcpu_batcher_conf_free(&b->conf);
        return status;
    }

    /* the table's writer role goes with the ring's consumer role */
    if (mcpu_batcher_seen_open(&b->seen, b->kafka.rk, errstr, sizeof(errstr))
        != MCPU_BATCHER_OK)
    {
        mcpu_log(MCPU_LOG_CRIT, "%s", errstr);
        mcpu_batcher_seen_destroy(&b->seen);
        mcpu_batcher_kafka_destroy(&b->kafka);
        mcpu_batcher_ring_detach(&b->ring);
        mcpu_log(MCPU_LOG_NOTICE, "exiting");
        mcpu_batcher_conf_free(&b->conf);
        return MCPU_BATCHER_EXIT_FAILURE;
    }

    /* delivery reports now have FIFO entries to mark and a table */
    b->kafka.ring = &b->ring;
    b->kafka.seen = &b->seen;

    rc = mcpu_batcher_loop(b);

    mcpu_batcher_shutdown(b);

    /* a stop asked for is a clean stop, whatever Kafka did: what it did
     * not acknowledge is still in the ring */
    status = rc == MCPU_BATCHER_OK ? MCPU_BATCHER_EXIT_OK
                                   : MCPU_BATCHER_EXIT_FAILURE;

    mcpu_log(MCPU_LOG_NOTICE, "exiting with status %d", status);
    mcpu_batcher_conf_free(&b->conf);

    return status;
}


static void
mcpu_batcher_on_stop(int signo)
{
    (void) signo;
    mcpu_batcher_stop = 1;
}


static void
mcpu_batcher_on_reopen(int signo)
{
    (void) signo;
    mcpu_batcher_reopen = 1;
}


/* no SA_RESTART: a signal cuts the 100 ms wait for a missing ring short */
static int
mcpu_batcher_signals(void)
{
    struct sigaction  sa;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);

    sa.sa_handler = mcpu_batcher_on_stop;
    if (sigaction(SIGTERM, &sa, NULL) == -1
        || sigaction(SIGINT, &sa, NULL) == -1)
    {
        return MCPU_BATCHER_ERROR;
    }

    sa.sa_handler = mcpu_batcher_on_reopen;
    if (sigaction(SIGHUP, &sa, NULL) == -1) {
        return MCPU_BATCHER_ERROR;
    }

    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) == -1) {
        return MCPU_BATCHER_ERROR;
    }

    return MCPU_BATCHER_OK;
}


/* a refused setting: on stderr for whoever started us, and in the log */
static void
mcpu_batcher_refuse(mcpu_batcher_t *b, const char *errstr)
{
    fprintf(stderr, MCPU_BATCHER_NAME ": %s\n", errstr);

    if (b->conf.log_file != NULL && b->conf.log_file[0] != '\0') {
        mcpu_log(MCPU_LOG_CRIT, "%s", errstr);
    }
}


static void
mcpu_batcher_reopen_log(void)
{
    char  errstr[512];

    mcpu_batcher_reopen = 0;

    if (mcpu_log_reopen(errstr, sizeof(errstr)) != 0) {
        mcpu_log(MCPU_LOG_ERROR, "%s", errstr);

    } else {
        mcpu_log(MCPU_LOG_NOTICE, "log reopened");
    }
}


/*
 * A pass: every lane once, starting one lane further each time so that
 * when librdkafka's queue is full (the pass ends early) no lane always
 * comes last; the table; a bounded poll; release; the header.
 */
static int
mcpu_batcher_loop(mcpu_batcher_t *b)
{
    int                   rc, timeout;
    uint32_t              n, lane;
    uint64_t              now;
    unsigned              work;
    mcpu_batcher_ring_t  *br = &b->ring;
    mcpu_batcher_kafka_t *k = &b->kafka;

    while (!mcpu_batcher_stop) {

        if (mcpu_batcher_reopen) {
            mcpu_batcher_reopen_log();
        }

        if (k->fatal) {
            rc = mcpu_batcher_rebuild(b);
            if (rc == MCPU_BATCHER_STOPPED) {
                break;
            }

            if (rc != MCPU_BATCHER_OK) {
                return MCPU_BATCHER_ERROR;
            }
        }

        work = 0;
        b->queue_full = 0;
        now = mcpu_batcher_ring_now_ms();

        for (n = 0; n < br->ring.nlanes && !b->queue_full && !k->fatal; n++)
        {
            lane = (b->first_lane + n) % br->ring.nlanes;

            if (mcpu_batcher_drain(b, lane, now, &work) != MCPU_BATCHER_OK) {
                return MCPU_BATCHER_ERROR;
            }
        }

        b->first_lane = (b->first_lane + 1) % br->ring.nlanes;

        work += mcpu_batcher_seen_poll(&b->seen, now);

        /* every pass ends in a bounded poll, even when idle; a full queue
         * waits for reports (the poll returns at the first one) */
        timeout = b->queue_full ? MCPU_BATCHER_QUEUE_FULL_POLL_MS
                  : work ? 0 : (int) b->conf.poll_ms;
        mcpu_batcher_kafka_poll(k, timeout);

        mcpu_batcher_ring_release(br);
        mcpu_batcher_ring_publish(br, mcpu_batcher_kafka_state(k), 0);
        mcpu_batcher_ring_watch(br, k->up, now);
    }

    return MCPU_BATCHER_OK;
}


/*
 * One lane's share of a pass: first the records whose delivery failed and
 * whose pause is over, then up to `batch` new records, fewer when the lane
 * is empty or its in-flight FIFO is full.  librdkafka's queue full, or a
 * fatal error, ends the pass with the record left where it is (unread, or
 * FAILED), to be produced at a later pass.
 */
static int
mcpu_batcher_drain(mcpu_batcher_t *b, uint32_t lane, uint64_t now,
    unsigned *work)
{
    int                    rc;
    long                   n;
    uint64_t               i;
    mcpu_ring_view_t       v;
    mcpu_batcher_entry_t  *e;
    mcpu_batcher_ring_t   *br = &b->ring;

    i = 0;

    while ((rc = mcpu_batcher_ring_failed(br, lane, &i, now, &v, &e))
           == MCPU_RING_OK)
    {
        if (mcpu_batcher_produce(b, &v, e, now) != MCPU_BATCHER_OK) {
            return MCPU_BATCHER_OK;
        }

        (*work)++;
    }

    if (rc == MCPU_RING_CORRUPT) {
        mcpu_batcher_corrupt(b, lane, v.pos);
        return MCPU_BATCHER_ERROR;
    }

    for (n = 0; n < b->conf.batch; n++) {
        rc = mcpu_batcher_ring_read(br, lane, &v, &e);

        if (rc == MCPU_RING_EMPTY || rc == MCPU_RING_FULL) {
            break;
        }

        if (rc != MCPU_RING_OK) {
            mcpu_batcher_corrupt(b, lane, v.pos);
            return MCPU_BATCHER_ERROR;
        }

        if (mcpu_batcher_produce(b, &v, e, now) != MCPU_BATCHER_OK) {
            return MCPU_BATCHER_OK;
        }

        (*work)++;
    }

    return MCPU_BATCHER_OK;
}


/*
 * Hands one record to librdkafka and records the outcome in its entry.
 * librdkafka's queue full (__QUEUE_FULL) or a fatal error (__FATAL, before
 * the error callback said so): the entry is left as it was, nothing is
 * dropped, and MCPU_BATCHER_STOPPED ends the pass (the loop polls, or
 * replaces the producer).  Any other refusal marks the entry FAILED: it is
 * produced again after resend_backoff_ms.
 */
static int
mcpu_batcher_produce(mcpu_batcher_t *b, const mcpu_ring_view_t *v,
    mcpu_batcher_entry_t *e, uint64_t now)
{
    rd_kafka_resp_err_t  err;

    err = mcpu_batcher_kafka_produce(&b->kafka, v, e);

    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        b->queue_full = 1;
        return MCPU_BATCHER_STOPPED;
    }

    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        b->kafka.fatal = 1;
        return MCPU_BATCHER_STOPPED;
    }

    mcpu_batcher_ring_sent(&b->ring, e, err == RD_KAFKA_RESP_ERR_NO_ERROR,
                           now);

    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        mcpu_batcher_refused(b, e, err, now);
    }

    return MCPU_BATCHER_OK;
}


/*
 * The producer had a fatal error: it will never deliver again.  Its
 * in-flight requests get MCPU_BATCHER_REBUILD_GRACE_MS to be acknowledged
 * (their records are then released, not sent twice), then it is purged,
 * its reports served and it is destroyed (the last-seen table's topic
 * handle on it first); a new producer takes its place and every record the
 * old one did not get acknowledged is produced again, in ring order.  The
 * heartbeat goes on meanwhile, and a stop signal ends the wait at once:
 * the shutdown then flushes the dead producer, which sends nothing, and
 * leaves the records in the ring for the next start.
 */
static int
mcpu_batcher_rebuild(mcpu_batcher_t *b)
{
    int                    left;
    char                   reason[512], errstr[1024];
    uint64_t               now, start, until, held, unread, resend;
    rd_kafka_resp_err_t    err;
    mcpu_batcher_kafka_t  *k = &b->kafka;
    mcpu_batcher_ring_t   *br = &b->ring;

    err = rd_kafka_fatal_error(k->rk, reason, sizeof(reason));

    /* replaced before anything was acknowledged: wait longer each time */
    if (k->acked > 0) {
        b->rebuild_backoff_ms = 0;

    } else if (b->rebuild_backoff_ms == 0) {
        b->rebuild_backoff_ms = MCPU_BATCHER_REBUILD_BACKOFF_MIN;

    } else if (b->rebuild_backoff_ms < MCPU_BATCHER_REBUILD_BACKOFF_MAX / 2) {
        b->rebuild_backoff_ms *= 2;

    } else {
        b->rebuild_backoff_ms = MCPU_BATCHER_REBUILD_BACKOFF_MAX;
    }

    mcpu_batcher_ring_pending(br, &held, &unread);
    (void) unread;

    mcpu_log(MCPU_LOG_CRIT, "Kafka producer %u (%s): fatal "
             "error: %s: %s; replacing it%s: the %" PRIu64 " records "
             "it holds stay in the ring, and those Kafka has not "
             "acknowledged are produced again by the new one",
             k->producers, rd_kafka_name(k->rk),
             rd_kafka_err2name(err), reason,
             b->rebuild_backoff_ms ? " after a pause (it acknowledged "
             "nothing)" : "", held);

    start = mcpu_batcher_ring_now_ms();
    until = start + b->rebuild_backoff_ms;
    if (until < start + MCPU_BATCHER_REBUILD_GRACE_MS) {
        until = start + MCPU_BATCHER_REBUILD_GRACE_MS;
    }

    for ( ;; ) {
        mcpu_batcher_kafka_poll(k, MCPU_BATCHER_QUEUE_FULL_POLL_MS);
        mcpu_batcher_ring_release(br);
        mcpu_batcher_ring_publish(br, mcpu_batcher_kafka_state(k), 0);

        if (mcpu_batcher_reopen) {
            mcpu_batcher_reopen_log();
        }

        if (mcpu_batcher_stop) {
            return MCPU_BATCHER_STOPPED;
        }

        now = mcpu_batcher_ring_now_ms();

        if (now >= until
            || (br->in_flight == 0
                && now >= start + b->rebuild_backoff_ms))
        {
            break;
        }
    }

    left = mcpu_batcher_kafka_retire(k, MCPU_BATCHER_REBUILD_PURGE_MS);
    mcpu_batcher_ring_release(br);

    mcpu_batcher_seen_producer(&b->seen, NULL);

    if (mcpu_batcher_kafka_renew(k, errstr, sizeof(errstr))
        != MCPU_BATCHER_OK)
    {
        mcpu_log(MCPU_LOG_CRIT, "%s; stopping (unacknowledged "
                 "records stay in the ring)", errstr);
        return MCPU_BATCHER_ERROR;
    }

    mcpu_batcher_seen_producer(&b->seen, k->rk);

    now = mcpu_batcher_ring_now_ms();
    resend = mcpu_batcher_ring_resend(br, now);

    mcpu_log(MCPU_LOG_NOTICE, "Kafka producer %u (%s) "
             "replaces the old one after %" PRIu64 " ms: %" PRIu64
             " records not acknowledged are produced again "
             "(duplicates possible, no loss)%s", k->producers,
             rd_kafka_name(k->rk), now - start, resend,
             left ? "; the old one did not report on all of its "
                    "messages: they are among them" : "");

    return MCPU_BATCHER_OK;
}


/* librdkafka refused a record outright; it is produced again later */
static void
mcpu_batcher_refused(mcpu_batcher_t *b, const mcpu_batcher_entry_t *e,
    rd_kafka_resp_err_t err, uint64_t now)
{
    if (now - b->refused_log_ms < MCPU_BATCHER_REFUSED_LOG_MS) {
        b->refused_unlogged++;
        return;
    }

    mcpu_log(MCPU_LOG_ERROR, "librdkafka refused the record "
             "at lane %u position %" PRIu64 ": %s: %s; it stays in "
             "the ring and is produced again in %ld ms (%" PRIu64
             " more refusals since the last such line)",
             (unsigned) e->lane, e->pos, rd_kafka_err2name(err),
             rd_kafka_err2str(err), b->conf.resend_backoff_ms,
             b->refused_unlogged);

    b->refused_log_ms = now;
    b->refused_unlogged = 0;
}


/* never skip data silently: stop, leaving the bytes there for inspection */
static void
mcpu_batcher_corrupt(mcpu_batcher_t *b, uint32_t lane, uint64_t pos)
{
    mcpu_ring_lane_t  *l = &b->ring.ring.lanes[lane];

    mcpu_log(MCPU_LOG_CRIT, "ring \"%s\" lane %" PRIu32
             ": no valid record at position %" PRIu64 " (c_head %"
             PRIu64 ", p_tail %" PRIu64 "): stopping; the ring is "
             "left as it is for inspection", b->conf.ring, lane, pos,
             l->c_head, l->p_tail);
}


static void
mcpu_batcher_shutdown(mcpu_batcher_t *b)
{
    int       left;
    uint64_t  held, unread, now, deadline;

    mcpu_log(MCPU_LOG_NOTICE, "stopping: waiting up to %ld ms "
             "for the delivery reports of %" PRIu64 " records",
             b->conf.flush_timeout_ms, b->ring.in_flight);

    /* nothing is read any more; reports release what Kafka has.  The
     * records' reports first: they are the table's last changes, which are
     * then published, and the flush waits for both */
    now = mcpu_batcher_ring_now_ms();
    deadline = now + (uint64_t) b->conf.flush_timeout_ms;

    while (b->ring.in_flight > 0 && now < deadline && !b->kafka.fatal
           && b->kafka.rk != NULL)
    {
        mcpu_batcher_kafka_poll(&b->kafka, MCPU_BATCHER_QUEUE_FULL_POLL_MS);
        mcpu_batcher_ring_release(&b->ring);
        mcpu_batcher_ring_publish(&b->ring,
                                  mcpu_batcher_kafka_state(&b->kafka), 0);
        now = mcpu_batcher_ring_now_ms();
    }

    mcpu_batcher_seen_flush(&b->seen,
                            now < deadline ? (int) (deadline - now) : 0);

    now = mcpu_batcher_ring_now_ms();
    left = mcpu_batcher_kafka_flush(&b->kafka,
                                    now < deadline ? (int) (deadline - now)
                                                   : 0);
    mcpu_batcher_ring_release(&b->ring);

    mcpu_batcher_ring_pending(&b->ring, &held, &unread);

    mcpu_log(held || left ? MCPU_LOG_WARN : MCPU_LOG_NOTICE,
             "%" PRIu64 " records not acknowledged stay in the ring "
             "for the next start (librdkafka queue: %d); %" PRIu64
             " bytes not read yet", held, left, unread);

    mcpu_batcher_ring_publish(&b->ring, mcpu_batcher_kafka_state(&b->kafka),
                              1);

    /* topics, then the handle; nothing is purged: the ring keeps it all */
    b->kafka.seen = NULL;
    mcpu_batcher_seen_destroy(&b->seen);
    mcpu_batcher_kafka_destroy(&b->kafka);
    mcpu_batcher_ring_detach(&b->ring);
}
