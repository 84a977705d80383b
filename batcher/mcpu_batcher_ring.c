/*
 * mcpu_batcher_ring.c: the batcher's side of the ring.  The contract (who
 * writes what, which fence orders it) is in mcpu_ring.h; how the FIFOs turn
 * delivery reports into release points is in mcpu_batcher_ring.h.
 */

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <ck_pr.h>

#include "mcpu_log.h"
#include "mcpu_batcher.h"
#include "mcpu_batcher_ring.h"


#define MCPU_BATCHER_RING_WAIT_MS     100   /* polling for a missing ring */
#define MCPU_BATCHER_RING_WAIT_LOG_MS 600000   /* "still waiting", 10 min */
#define MCPU_BATCHER_RING_PUBLISH_MS  100   /* header update interval */
#define MCPU_BATCHER_RING_WATCH_MS    1000  /* lane fill check interval */
#define MCPU_BATCHER_ENTRY_FRESH      0     /* read, not yet handed over */


static int mcpu_batcher_ring_claim(mcpu_batcher_ring_t *br, char *errstr,
    size_t errstr_size);
static int mcpu_batcher_ring_alive(uint32_t pid);
static int mcpu_batcher_ring_comm(const char *pid, char *buf, size_t size);
static void mcpu_batcher_ring_unclaim(mcpu_batcher_ring_t *br);
static void mcpu_batcher_ring_log_geometry(mcpu_batcher_ring_t *br);
static int mcpu_batcher_ring_unreleased(mcpu_batcher_ring_t *br,
    char *errstr, size_t errstr_size);
static uint64_t mcpu_batcher_ring_wall_ms(void);
static const char *mcpu_batcher_ring_kafka(int kafka);


int
mcpu_batcher_ring_attach(mcpu_batcher_ring_t *br, const char *path,
    uint64_t capacity, uint64_t resend_backoff_ms,
    volatile sig_atomic_t *stop, volatile sig_atomic_t *reopen,
    char *errstr, size_t errstr_size)
{
    int                  rc, waited;
    char                 err[512];
    uint32_t             i;
    uint64_t             since, said;
    struct timespec      ts;
    mcpu_ring_header_t  *hdr;

    memset(br, 0, sizeof(*br));
    br->path = path;
    br->pid = (uint32_t) getpid();
    br->mask = capacity - 1;
    br->resend_backoff_ms = resend_backoff_ms;

    /* nginx's master creates the ring at configuration time; until then
     * there is nothing to drain, so wait for it rather than fail.  Never
     * create it: the geometry (size, lanes, max_record) is nginx's, and a
     * ring of another geometry would make nginx refuse to start */
    waited = 0;
    since = mcpu_batcher_ring_now_ms();
    said = since;

    for ( ;; ) {
        rc = mcpu_ring_open(&br->ring, path, NULL, 0, 0, err, sizeof(err));
        if (rc == MCPU_RING_OK) {
            break;
        }

        if (rc != MCPU_RING_MISSING) {
            snprintf(errstr, errstr_size, "%s", err);
            return MCPU_BATCHER_ERROR;
        }

        if (!waited) {
            mcpu_log(MCPU_LOG_NOTICE, "ring \"%s\" does not "
                     "exist yet: waiting for nginx to create it "
                     "(checking every %d ms)", path,
                     MCPU_BATCHER_RING_WAIT_MS);
            waited = 1;

        } else if (mcpu_batcher_ring_now_ms() - said
                   >= MCPU_BATCHER_RING_WAIT_LOG_MS)
        {
            said = mcpu_batcher_ring_now_ms();
            mcpu_log(MCPU_LOG_NOTICE, "ring \"%s\" still does "
                     "not exist after %" PRIu64 " s: is nginx "
                     "running with the mcpu module, and is its ring "
                     "directive this path?", path,
                     (said - since) / 1000);
        }

        if (*reopen) {
            *reopen = 0;

            if (mcpu_log_reopen(err, sizeof(err)) != 0) {
                mcpu_log(MCPU_LOG_ERROR, "%s", err);

            } else {
                mcpu_log(MCPU_LOG_NOTICE, "log reopened; "
                         "still waiting for ring \"%s\"", path);
            }
        }

        if (*stop) {
            return MCPU_BATCHER_STOPPED;
        }

        ts.tv_sec = 0;
        ts.tv_nsec = MCPU_BATCHER_RING_WAIT_MS * 1000000L;
        nanosleep(&ts, NULL);   /* EINTR: a signal, checked above */

        if (*stop) {
            return MCPU_BATCHER_STOPPED;
        }
    }

    if (waited) {
        mcpu_log(MCPU_LOG_NOTICE, "ring \"%s\" appeared "
                 "after %" PRIu64 " ms", path,
                 mcpu_batcher_ring_now_ms() - since);
    }

    hdr = br->ring.hdr;

    /* claim first: the walk below is only safe once no other batcher can
     * release (and let producers overwrite) what it reads */
    if (mcpu_batcher_ring_claim(br, errstr, errstr_size) != MCPU_BATCHER_OK) {
        goto failed;
    }

    /* continue the header's counters, so they are monotonic for scrapers */
    br->produced = ck_pr_load_64(&hdr->produced);
    br->acked = ck_pr_load_64(&hdr->acked);
    br->delivery_errors = ck_pr_load_64(&hdr->delivery_errors);
    br->resent = ck_pr_load_64(&hdr->resent);

    if (mcpu_ring_check(&br->ring, err, sizeof(err)) != MCPU_RING_OK) {
        snprintf(errstr, errstr_size, "ring \"%s\" is corrupt: %s; it is "
                 "left as it is for inspection", path, err);
        goto failed;
    }

    br->lanes = calloc(br->ring.nlanes, sizeof(mcpu_batcher_lane_t));
    if (br->lanes == NULL) {
        snprintf(errstr, errstr_size, "out of memory for %" PRIu32 " lanes",
                 br->ring.nlanes);
        goto failed;
    }

    for (i = 0; i < br->ring.nlanes; i++) {
        /* calloc: untouched pages of a large FIFO cost no memory */
        br->lanes[i].fifo = calloc(capacity, sizeof(mcpu_batcher_entry_t));
        if (br->lanes[i].fifo == NULL) {
            snprintf(errstr, errstr_size, "out of memory for %" PRIu64
                     " in-flight records per lane", capacity);
            goto failed;
        }

        br->lanes[i].cursor = ck_pr_load_64(&br->ring.lanes[i].c_head);

        /* refusals are counted from our start (mcpu_batcher_ring_watch) */
        br->lanes[i].full_seen = ck_pr_load_64(&br->ring.lanes[i].full);
    }

    mcpu_batcher_ring_log_geometry(br);

    if (mcpu_batcher_ring_unreleased(br, errstr, errstr_size)
        != MCPU_BATCHER_OK)
    {
        goto failed;
    }

    /* nothing learned about Kafka yet */
    mcpu_batcher_ring_publish(br, -1, 1);

    return MCPU_BATCHER_OK;

failed:

    mcpu_batcher_ring_detach(br);
    return MCPU_BATCHER_ERROR;
}


void
mcpu_batcher_ring_detach(mcpu_batcher_ring_t *br)
{
    uint32_t  i;

    if (br->claimed) {
        br->in_flight = 0;      /* the producer handle is gone */
        mcpu_batcher_ring_publish(br, -1, 1);
        mcpu_batcher_ring_unclaim(br);
    }

    if (br->lanes != NULL) {
        for (i = 0; i < br->ring.nlanes; i++) {
            free(br->lanes[i].fifo);
        }

        free(br->lanes);
        br->lanes = NULL;
    }

    mcpu_ring_close(&br->ring);
}


/*
 * The consumer role is a CAS of our pid into hdr->consumer_pid.  A pid that
 * is there and alive means another batcher drains this ring: two would both
 * send and both move c_head, so the second refuses.  A dead pid (a batcher
 * killed with SIGKILL) is taken over.
 */
static int
mcpu_batcher_ring_claim(mcpu_batcher_ring_t *br, char *errstr,
    size_t errstr_size)
{
    uint32_t             owner;
    mcpu_ring_header_t  *hdr = br->ring.hdr;

    for ( ;; ) {
        owner = ck_pr_load_32(&hdr->consumer_pid);

        /* our own pid there is a previous run with the same pid (pid 1 in
         * a container): it is not running, we are */
        if (owner != 0 && owner != br->pid && mcpu_batcher_ring_alive(owner))
        {
            snprintf(errstr, errstr_size, "ring \"%s\" is already consumed "
                     "by " MCPU_BATCHER_NAME " pid %" PRIu32 "; one batcher "
                     "per ring", br->path, owner);
            return MCPU_BATCHER_ERROR;
        }

        if (ck_pr_cas_32(&hdr->consumer_pid, owner, br->pid)) {
            break;
        }
    }

    br->claimed = 1;

    if (owner != 0 && owner != br->pid) {
        mcpu_log(MCPU_LOG_NOTICE, "took the ring over from "
                 "pid %" PRIu32 ", which is no longer running",
                 owner);
    }

    return MCPU_BATCHER_OK;
}


/*
 * Alive means: the pid exists (kill(pid, 0) succeeds or says EPERM) and, when
 * /proc tells, runs a program of our name.  The ring file outlives reboots,
 * so an old consumer_pid may now belong to an unrelated process.
 */
static int
mcpu_batcher_ring_alive(uint32_t pid)
{
    char  own[64], other[64], name[32];

    if (kill((pid_t) pid, 0) == -1 && errno != EPERM) {
        return 0;
    }

    snprintf(name, sizeof(name), "%" PRIu32, pid);

    if (mcpu_batcher_ring_comm("self", own, sizeof(own)) == MCPU_BATCHER_OK
        && mcpu_batcher_ring_comm(name, other, sizeof(other))
           == MCPU_BATCHER_OK
        && strcmp(own, other) != 0)
    {
        return 0;
    }

    return 1;
}


static int
mcpu_batcher_ring_comm(const char *pid, char *buf, size_t size)
{
    char   path[64];
    FILE  *f;

    snprintf(path, sizeof(path), "/proc/%s/comm", pid);

    f = fopen(path, "re");
    if (f == NULL) {
        return MCPU_BATCHER_ERROR;
    }

    if (fgets(buf, (int) size, f) == NULL) {
        fclose(f);
        return MCPU_BATCHER_ERROR;
    }

    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';

    return MCPU_BATCHER_OK;
}


static void
mcpu_batcher_ring_unclaim(mcpu_batcher_ring_t *br)
{
    ck_pr_fence_store();
    ck_pr_cas_32(&br->ring.hdr->consumer_pid, br->pid, 0);
    br->claimed = 0;
}


static void
mcpu_batcher_ring_log_geometry(mcpu_batcher_ring_t *br)
{
    char                 created[32];
    time_t               t;
    struct tm            tm;
    mcpu_ring_header_t  *hdr = br->ring.hdr;

    t = (time_t) (hdr->created_ms / 1000);
    gmtime_r(&t, &tm);
    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);

    mcpu_log(MCPU_LOG_INFO, "attached to ring \"%s\": %"
             PRIu32 " lanes of %" PRIu64 " bytes, max record %" PRIu32
             " bytes, %" PRIu64 " in-flight records per lane, created "
             "%s by pid %" PRIu32, br->path, br->ring.nlanes,
             br->ring.lane_size, br->ring.max_record, br->mask + 1,
             created, hdr->creator_pid);
}


/* what a previous batcher (or nobody) left between c_head and p_tail */
static int
mcpu_batcher_ring_unreleased(mcpu_batcher_ring_t *br, char *errstr,
    size_t errstr_size)
{
    int               rc;
    uint32_t          i, lanes;
    uint64_t          cursor, tail, bytes, records;
    mcpu_ring_view_t  v;

    lanes = 0;
    bytes = 0;
    records = 0;

    for (i = 0; i < br->ring.nlanes; i++) {
        cursor = br->lanes[i].cursor;
        tail = ck_pr_load_64(&br->ring.lanes[i].p_tail);

        if (tail == cursor) {
            continue;
        }

        lanes++;
        bytes += tail - cursor;

        /* stop at the tail read above; producers may be appending */
        while (cursor != tail) {
            rc = mcpu_ring_peek(&br->ring, (int) i, &cursor, &v);
            if (rc == MCPU_RING_EMPTY) {
                break;
            }

            if (rc != MCPU_RING_OK) {
                snprintf(errstr, errstr_size, "ring \"%s\" is corrupt: lane "
                         "%" PRIu32 ": no valid record at position %" PRIu64,
                         br->path, i, cursor);
                return MCPU_BATCHER_ERROR;
            }

            records++;
        }
    }

    if (records == 0) {
        mcpu_log(MCPU_LOG_INFO, "no unreleased records");

    } else {
        mcpu_log(MCPU_LOG_NOTICE, "%" PRIu64 " records (%"
                 PRIu64 " bytes) unreleased in %" PRIu32 " lanes will "
                 "be sent (those a previous batcher already sent "
                 "are sent again: duplicates, never loss)", records,
                 bytes, lanes);
    }

    return MCPU_BATCHER_OK;
}


int
mcpu_batcher_ring_read(mcpu_batcher_ring_t *br, uint32_t lane,
    mcpu_ring_view_t *v, mcpu_batcher_entry_t **e)
{
    int                    rc;
    uint64_t               cursor;
    mcpu_batcher_entry_t  *entry;
    mcpu_batcher_lane_t   *l = &br->lanes[lane];

    /* bounded in flight: a full FIFO waits for delivery reports */
    if (l->tail - l->head > br->mask) {
        return MCPU_RING_FULL;
    }

    cursor = l->cursor;

    rc = mcpu_ring_peek(&br->ring, (int) lane, &cursor, v);
    if (rc == MCPU_RING_CORRUPT) {
        /* cursor is where peek found no record (after any PAD) */
        v->pos = cursor;
    }

    if (rc != MCPU_RING_OK) {
        return rc;
    }

    entry = &l->fifo[l->tail & br->mask];
    entry->pos = v->pos;
    entry->size = (uint32_t) (v->end - v->pos);
    entry->lane = (uint16_t) lane;
    entry->state = MCPU_BATCHER_ENTRY_FRESH;
    *e = entry;

    return MCPU_RING_OK;
}


void
mcpu_batcher_ring_sent(mcpu_batcher_ring_t *br, mcpu_batcher_entry_t *e,
    int ok, uint64_t now_ms)
{
    mcpu_batcher_lane_t  *l = &br->lanes[e->lane];

    if (e->state == MCPU_BATCHER_ENTRY_FRESH) {
        l->tail++;
        l->cursor = e->pos + e->size;

        if (!ok) {
            e->state = MCPU_BATCHER_ENTRY_FAILED;
            br->delivery_errors++;
            if (l->failed++ == 0) {
                l->resend_at = now_ms + br->resend_backoff_ms;
            }
            return;
        }

    } else {
        /* a FAILED entry produced again */
        if (!ok) {
            br->delivery_errors++;
            l->resend_at = now_ms + br->resend_backoff_ms;
            return;
        }

        l->failed--;
        br->resent++;
    }

    e->state = MCPU_BATCHER_ENTRY_IN_FLIGHT;
    br->produced++;
    br->in_flight++;
}


int
mcpu_batcher_ring_failed(mcpu_batcher_ring_t *br, uint32_t lane,
    uint64_t *i, uint64_t now_ms, mcpu_ring_view_t *v,
    mcpu_batcher_entry_t **e)
{
    int                    rc;
    uint64_t               n, cursor;
    mcpu_batcher_entry_t  *entry;
    mcpu_batcher_lane_t   *l = &br->lanes[lane];

    if (l->failed == 0 || now_ms < l->resend_at) {
        return MCPU_RING_EMPTY;
    }

    for (n = *i > l->head ? *i : l->head; n != l->tail; n++) {
        entry = &l->fifo[n & br->mask];

        if (entry->state != MCPU_BATCHER_ENTRY_FAILED) {
            continue;
        }

        /* the slot is still ours: c_head has not passed it */
        cursor = entry->pos;
        rc = mcpu_ring_peek(&br->ring, (int) lane, &cursor, v);

        if (rc != MCPU_RING_OK || v->pos != entry->pos) {
            v->pos = entry->pos;
            return MCPU_RING_CORRUPT;
        }

        *i = n + 1;
        *e = entry;
        return MCPU_RING_OK;
    }

    *i = n;
    return MCPU_RING_EMPTY;
}


void
mcpu_batcher_ring_done(mcpu_batcher_ring_t *br, mcpu_batcher_entry_t *e,
    int ok)
{
    mcpu_batcher_lane_t  *l = &br->lanes[e->lane];

    if (e->state != MCPU_BATCHER_ENTRY_IN_FLIGHT) {
        /* librdkafka reports each message exactly once; say so if not */
        mcpu_log(MCPU_LOG_CRIT, "delivery report for lane %u "
                 "position %" PRIu64 " in state %u ignored",
                 (unsigned) e->lane, e->pos, (unsigned) e->state);
        return;
    }

    br->in_flight--;

    if (ok) {
        e->state = MCPU_BATCHER_ENTRY_DONE;
        br->acked++;
        return;
    }

    e->state = MCPU_BATCHER_ENTRY_FAILED;
    br->delivery_errors++;

    if (l->failed++ == 0) {
        l->resend_at = mcpu_batcher_ring_now_ms() + br->resend_backoff_ms;
    }
}


uint64_t
mcpu_batcher_ring_release(mcpu_batcher_ring_t *br)
{
    uint32_t               i;
    uint64_t               n, total, end;
    mcpu_batcher_lane_t   *l;
    mcpu_batcher_entry_t  *e;

    total = 0;

    for (i = 0; i < br->ring.nlanes; i++) {
        l = &br->lanes[i];
        n = 0;
        end = 0;

        while (l->head != l->tail) {
            e = &l->fifo[l->head & br->mask];
            if (e->state != MCPU_BATCHER_ENTRY_DONE) {
                break;
            }

            end = e->pos + e->size;
            l->head++;
            n++;
        }

        if (n) {
            /* librdkafka is done with these slots: their reports came */
            mcpu_ring_release(&br->ring, (int) i, end, n);
            total += n;
        }
    }

    return total;
}


uint64_t
mcpu_batcher_ring_resend(mcpu_batcher_ring_t *br, uint64_t now_ms)
{
    uint32_t               i;
    uint64_t               n, total;
    mcpu_batcher_lane_t   *l;
    mcpu_batcher_entry_t  *e;

    total = 0;

    for (i = 0; i < br->ring.nlanes; i++) {
        l = &br->lanes[i];

        for (n = l->head; n != l->tail; n++) {
            e = &l->fifo[n & br->mask];

            if (e->state == MCPU_BATCHER_ENTRY_IN_FLIGHT) {
                /* its report will never come: the producer is gone */
                e->state = MCPU_BATCHER_ENTRY_FAILED;
                l->failed++;
            }

            if (e->state == MCPU_BATCHER_ENTRY_FAILED) {
                total++;
            }
        }

        if (l->failed) {
            l->resend_at = now_ms;
        }
    }

    br->in_flight = 0;

    return total;
}


void
mcpu_batcher_ring_publish(mcpu_batcher_ring_t *br, int kafka, int force)
{
    uint32_t             flags;
    uint64_t             now;
    mcpu_ring_header_t  *hdr = br->ring.hdr;

    now = mcpu_batcher_ring_now_ms();

    if (!force && now - br->published_ms < MCPU_BATCHER_RING_PUBLISH_MS) {
        return;
    }

    br->published_ms = now;

    ck_pr_store_64(&hdr->produced, br->produced);
    ck_pr_store_64(&hdr->acked, br->acked);
    ck_pr_store_64(&hdr->delivery_errors, br->delivery_errors);
    ck_pr_store_64(&hdr->in_flight, br->in_flight);
    ck_pr_store_64(&hdr->resent, br->resent);

    /* up, unknown, or neither: down (mcpu_ring.h) */
    flags = kafka > 0 ? MCPU_RING_CONSUMER_KAFKA_UP
            : kafka < 0 ? MCPU_RING_CONSUMER_KAFKA_UNKNOWN : 0;
    ck_pr_store_32(&hdr->consumer_flags, flags);

    /* the heartbeat last: a reader that sees it fresh sees the rest too */
    ck_pr_fence_store();
    ck_pr_store_64(&hdr->consumer_heartbeat_ms, mcpu_batcher_ring_wall_ms());
}


/*
 * used = p_tail - c_head: c_head is ours, p_tail only grows, so the figure
 * is at most the lane's size.  Hysteresis (over HIGH, then under LOW) keeps
 * a lane hovering around one threshold from logging at every check; lanes
 * crossing together share a line; a lane over HIGH is logged at most once
 * per MCPU_BATCHER_RING_FULL_LOG_MS (a lane not logged stays a candidate
 * and is logged with the next line), and "back under" only follows a
 * "nearly full" line, so the lines are bounded either way.  Refusals
 * (lane.full, counted by nginx) are counted from the last check that saw
 * the lane under LOW, so those of a lane that filled up between two checks
 * are not missed.
 */
void
mcpu_batcher_ring_watch(mcpu_batcher_ring_t *br, int kafka, uint64_t now_ms)
{
    int                   n, m, nup, ndown;
    char                  up[1024], down[1024];
    uint32_t              i;
    uint64_t              used, pct, full, refused_up, refused_down;
    mcpu_ring_lane_t     *rl;
    mcpu_batcher_lane_t  *l;

    if (now_ms - br->watched_ms < MCPU_BATCHER_RING_WATCH_MS) {
        return;
    }

    br->watched_ms = now_ms;

    n = 0;
    m = 0;
    nup = 0;
    ndown = 0;
    refused_up = 0;
    refused_down = 0;
    up[0] = '\0';
    down[0] = '\0';

    for (i = 0; i < br->ring.nlanes; i++) {
        l = &br->lanes[i];
        rl = &br->ring.lanes[i];

        used = ck_pr_load_64(&rl->p_tail) - rl->c_head;
        pct = used * 100 / br->ring.lane_size;
        full = ck_pr_load_64(&rl->full);

        if (!l->nearly_full && pct < MCPU_BATCHER_RING_FULL_LOW) {
            l->full_seen = full;

        } else if (!l->nearly_full && pct >= MCPU_BATCHER_RING_FULL_HIGH
                   && now_ms - br->full_log_ms
                      >= MCPU_BATCHER_RING_FULL_LOG_MS)
        {
            l->nearly_full = 1;
            refused_up += full - l->full_seen;
            nup++;

            if ((size_t) n < sizeof(up)) {
                n += snprintf(up + n, sizeof(up) - n, "%slane %" PRIu32
                              " %" PRIu64 "%% (%" PRIu64 " of %" PRIu64
                              " bytes)", nup > 1 ? ", " : "", i, pct, used,
                              br->ring.lane_size);
            }

        } else if (l->nearly_full && pct < MCPU_BATCHER_RING_FULL_LOW) {
            l->nearly_full = 0;
            refused_down += full - l->full_seen;
            l->full_seen = full;
            ndown++;

            if ((size_t) m < sizeof(down)) {
                m += snprintf(down + m, sizeof(down) - m, "%slane %" PRIu32
                              " %" PRIu64 "%%", ndown > 1 ? ", " : "", i,
                              pct);
            }
        }
    }

    if (nup) {
        br->full_log_ms = now_ms;

        mcpu_log(MCPU_LOG_WARN, "ring \"%s\" nearly full: %s "
                 "used, not yet acknowledged by Kafka (%s); %" PRIu64
                 " events refused so far (nginx answers 503 while a "
                 "lane is full)", br->path, up,
                 mcpu_batcher_ring_kafka(kafka), refused_up);
    }

    if (ndown) {
        mcpu_log(MCPU_LOG_NOTICE, "ring \"%s\" back under "
                 "%d%%: %s used; %" PRIu64 " events were refused for "
                 "lack of room in all (answered 503)", br->path,
                 MCPU_BATCHER_RING_FULL_LOW, down, refused_down);
    }
}


static const char *
mcpu_batcher_ring_kafka(int kafka)
{
    return kafka > 0 ? "Kafka is reachable: it acknowledges more slowly "
                       "than nginx appends"
           : kafka < 0 ? "Kafka's reachability is not known yet"
                       : "Kafka is unreachable";
}


void
mcpu_batcher_ring_pending(mcpu_batcher_ring_t *br, uint64_t *held,
    uint64_t *unread)
{
    uint32_t              i;
    mcpu_batcher_lane_t  *l;

    *held = 0;
    *unread = 0;

    for (i = 0; i < br->ring.nlanes; i++) {
        l = &br->lanes[i];
        *held += l->tail - l->head;
        *unread += ck_pr_load_64(&br->ring.lanes[i].p_tail) - l->cursor;
    }
}


uint64_t
mcpu_batcher_ring_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}


static uint64_t
mcpu_batcher_ring_wall_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}
