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
 * for the next start.  SIGHUP: reopen the log file.
 */

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "mcpu_batcher.h"
#include "mcpu_batcher_conf.h"
#include "mcpu_batcher_kafka.h"
#include "mcpu_batcher_log.h"
#include "mcpu_batcher_ring.h"
#include "mcpu_batcher_seen.h"


#define MCPU_BATCHER_QUEUE_FULL_POLL_MS  100
#define MCPU_BATCHER_REFUSED_LOG_MS      1000


typedef struct {
    mcpu_batcher_conf_t   conf;
    mcpu_batcher_kafka_t  kafka;
    mcpu_batcher_ring_t   ring;
    mcpu_batcher_seen_t   seen;
    uint64_t              refused_log_ms;   /* last "librdkafka refused" */
    uint64_t              refused_unlogged;
} mcpu_batcher_t;


static void mcpu_batcher_on_stop(int signo);
static void mcpu_batcher_on_reopen(int signo);
static int mcpu_batcher_signals(void);
static void mcpu_batcher_refuse(mcpu_batcher_t *b, const char *errstr);
static int mcpu_batcher_loop(mcpu_batcher_t *b);
static int mcpu_batcher_drain(mcpu_batcher_t *b, uint32_t lane,
    uint64_t now, unsigned *work);
static rd_kafka_resp_err_t mcpu_batcher_produce(mcpu_batcher_t *b,
    const mcpu_ring_view_t *v, mcpu_batcher_entry_t *e);
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

    if (mcpu_batcher_log_open(b->conf.log_file, errstr, sizeof(errstr))
        != MCPU_BATCHER_OK)
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
        mcpu_batcher_log(MCPU_BATCHER_LOG_CRIT, "sigaction() failed");
        return MCPU_BATCHER_EXIT_FAILURE;
    }

    if (b->conf.test) {
        mcpu_batcher_log_level(MCPU_BATCHER_LOG_CRIT);

    } else {
        mcpu_batcher_log(MCPU_BATCHER_LOG_NOTICE, MCPU_BATCHER_NAME " "
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
                                  &mcpu_batcher_stop, errstr, sizeof(errstr));
    if (rc != MCPU_BATCHER_OK) {
        if (rc == MCPU_BATCHER_ERROR) {
            mcpu_batcher_log(MCPU_BATCHER_LOG_CRIT, "%s", errstr);
        }

        mcpu_batcher_seen_destroy(&b->seen);
        mcpu_batcher_kafka_destroy(&b->kafka);
        mcpu_batcher_log(MCPU_BATCHER_LOG_NOTICE, "exiting");
        mcpu_batcher_conf_free(&b->conf);
        return rc == MCPU_BATCHER_STOPPED ? MCPU_BATCHER_EXIT_OK
                                          : MCPU_BATCHER_EXIT_FAILURE;
    }

    /* the table's writer role goes with the ring's consumer role */
    if (mcpu_batcher_seen_open(&b->seen, b->kafka.rk, errstr, sizeof(errstr))
        != MCPU_BATCHER_OK)
    {
        mcpu_batcher_log(MCPU_BATCHER_LOG_CRIT, "%s", errstr);
        mcpu_batcher_seen_destroy(&b->seen);
        mcpu_batcher_kafka_destroy(&b->kafka);
        mcpu_batcher_ring_detach(&b->ring);
        mcpu_batcher_log(MCPU_BATCHER_LOG_NOTICE, "exiting");
        mcpu_batcher_conf_free(&b->conf);
        return MCPU_BATCHER_EXIT_FAILURE;
    }

    /* delivery reports now have FIFO entries to mark and a table */
    b->kafka.ring = &b->ring;
    b->kafka.seen = &b->seen;

    rc = mcpu_batcher_loop(b);

    mcpu_batcher_shutdown(b);

    status = (rc == MCPU_BATCHER_OK && !b->kafka.fatal)
             ? MCPU_BATCHER_EXIT_OK : MCPU_BATCHER_EXIT_FAILURE;

    mcpu_batcher_log(MCPU_BATCHER_LOG_NOTICE, "exiting with status %d",
                     status);
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
        mcpu_batcher_log(MCPU_BATCHER_LOG_CRIT, "%s", errstr);
    }
}


static int
mcpu_batcher_loop(mcpu_batcher_t *b)
{
    char                  errstr[512];
    uint32_t              lane;
    uint64_t              now;
    unsigned              work;
    mcpu_batcher_ring_t  *br = &b->ring;
    mcpu_batcher_kafka_t *k = &b->kafka;

    while (!mcpu_batcher_stop && !k->fatal) {

        if (mcpu_batcher_reopen) {
            mcpu_batcher_reopen = 0;

            if (mcpu_batcher_log_reopen(errstr, sizeof(errstr))
                != MCPU_BATCHER_OK)
            {
                mcpu_batcher_log(MCPU_BATCHER_LOG_ERROR, "%s", errstr);

            } else {
                mcpu_batcher_log(MCPU_BATCHER_LOG_NOTICE, "log reopened");
            }
        }

        work = 0;
        now = mcpu_batcher_ring_now_ms();

        for (lane = 0; lane < br->ring.nlanes; lane++) {
            if (mcpu_batcher_drain(b, lane, now, &work) != MCPU_BATCHER_OK) {
                return MCPU_BATCHER_ERROR;
            }
        }

        work += mcpu_batcher_seen_poll(&b->seen, now);

        /* every pass ends in a bounded poll, even when idle */
        mcpu_batcher_kafka_poll(k, work ? 0 : (int) b->conf.poll_ms);

        mcpu_batcher_ring_release(br);
        mcpu_batcher_ring_publish(br, mcpu_batcher_kafka_up(k), 0);
    }

    return MCPU_BATCHER_OK;
}


/*
 * One lane's share of a pass: first the records whose delivery failed and
 * whose pause is over, then up to `batch` new records, fewer when the lane
 * is empty or its in-flight FIFO is full.
 */
static int
mcpu_batcher_drain(mcpu_batcher_t *b, uint32_t lane, uint64_t now,
    unsigned *work)
{
    int                    rc;
    long                   n;
    uint64_t               i;
    mcpu_ring_view_t       v;
    rd_kafka_resp_err_t    err;
    mcpu_batcher_entry_t  *e;
    mcpu_batcher_ring_t   *br = &b->ring;

    i = 0;

    while ((rc = mcpu_batcher_ring_failed(br, lane, &i, now, &v, &e))
           == MCPU_RING_OK)
    {
        err = mcpu_batcher_produce(b, &v, e);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            return MCPU_BATCHER_OK;          /* stopping */
        }

        mcpu_batcher_ring_sent(br, e, err == RD_KAFKA_RESP_ERR_NO_ERROR, now);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            mcpu_batcher_refused(b, e, err, now);
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

        err = mcpu_batcher_produce(b, &v, e);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            return MCPU_BATCHER_OK;          /* stopping: record stays unread */
        }

        mcpu_batcher_ring_sent(br, e, err == RD_KAFKA_RESP_ERR_NO_ERROR, now);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            mcpu_batcher_refused(b, e, err, now);
        }

        (*work)++;
    }

    return MCPU_BATCHER_OK;
}


/*
 * librdkafka's queue full (__QUEUE_FULL): serve reports for up to 100 ms
 * and try the same record again; never drop it.  Returns __QUEUE_FULL only
 * when a stop was asked meanwhile.
 */
static rd_kafka_resp_err_t
mcpu_batcher_produce(mcpu_batcher_t *b, const mcpu_ring_view_t *v,
    mcpu_batcher_entry_t *e)
{
    rd_kafka_resp_err_t  err;

    for ( ;; ) {
        err = mcpu_batcher_kafka_produce(&b->kafka, v, e);

        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || mcpu_batcher_stop
            || b->kafka.fatal)
        {
            return err;
        }

        mcpu_batcher_kafka_poll(&b->kafka, MCPU_BATCHER_QUEUE_FULL_POLL_MS);
        mcpu_batcher_ring_release(&b->ring);
        mcpu_batcher_ring_publish(&b->ring, mcpu_batcher_kafka_up(&b->kafka),
                                  0);
    }
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

    mcpu_batcher_log(MCPU_BATCHER_LOG_ERROR, "librdkafka refused the record "
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

    mcpu_batcher_log(MCPU_BATCHER_LOG_CRIT, "ring \"%s\" lane %" PRIu32
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

    mcpu_batcher_log(MCPU_BATCHER_LOG_NOTICE, "stopping: waiting up to %ld ms "
                     "for the delivery reports of %" PRIu64 " records",
                     b->conf.flush_timeout_ms, b->ring.in_flight);

    /* nothing is read any more; reports release what Kafka has.  The
     * records' reports first: they are the table's last changes, which are
     * then published, and the flush waits for both */
    now = mcpu_batcher_ring_now_ms();
    deadline = now + (uint64_t) b->conf.flush_timeout_ms;

    while (b->ring.in_flight > 0 && now < deadline && !b->kafka.fatal) {
        mcpu_batcher_kafka_poll(&b->kafka, MCPU_BATCHER_QUEUE_FULL_POLL_MS);
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

    mcpu_batcher_log(held || left ? MCPU_BATCHER_LOG_WARN
                                  : MCPU_BATCHER_LOG_NOTICE,
                     "%" PRIu64 " records not acknowledged stay in the ring "
                     "for the next start (librdkafka queue: %d); %" PRIu64
                     " bytes not read yet", held, left, unread);

    mcpu_batcher_ring_publish(&b->ring, mcpu_batcher_kafka_up(&b->kafka), 1);

    /* topics, then the handle; nothing is purged: the ring keeps it all */
    b->kafka.seen = NULL;
    mcpu_batcher_seen_destroy(&b->seen);
    mcpu_batcher_kafka_destroy(&b->kafka);
    mcpu_batcher_ring_detach(&b->ring);
}
