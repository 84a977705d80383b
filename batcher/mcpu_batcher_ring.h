/*
 * mcpu_batcher_ring.h: the consumer side of the ring (mcpu_ring.h): attach,
 * the consumer role, and per lane the FIFO of records handed to librdkafka
 * whose delivery reports decide when the lane's release point c_head moves.
 *
 * A lane's records are read in place at the lane's read cursor (which starts
 * at c_head) and each one gets the FIFO's next entry, in ring order.  The
 * delivery report marks its entry DONE or FAILED, in whatever order reports
 * come (partitions interleave); after each poll the DONE entries at the
 * front are popped and c_head moves past the last of them.  A FAILED entry
 * stops the release there, keeps its slot and is produced again.  So c_head
 * is always the end of a contiguous prefix Kafka has, and a batcher killed
 * at any moment loses nothing: the next one starts reading at c_head.  A
 * producer replaced after a fatal error is the same case within one
 * process: every entry not DONE becomes FAILED and is produced again by
 * the new producer (mcpu_batcher_ring_resend()).
 *
 * Bounds: a lane has at most `capacity` (max_in_flight_per_lane) entries
 * between head and tail, so at most lanes * capacity records are handed to
 * librdkafka and not released; librdkafka's own queue.buffering.max.messages
 * (shared with the last-seen publications) may be the lower bound, and
 * then produce says __QUEUE_FULL and the pass ends until reports arrive.
 */

#ifndef MCPU_BATCHER_RING_H
#define MCPU_BATCHER_RING_H

#include <signal.h>
#include <stdint.h>

#include "mcpu_ring.h"


#define MCPU_BATCHER_ENTRY_IN_FLIGHT  1   /* handed over, no report yet */
#define MCPU_BATCHER_ENTRY_DONE       2   /* the report said Kafka has it */
#define MCPU_BATCHER_ENTRY_FAILED     3   /* to be produced again */


/* One record handed to librdkafka; its address is the message opaque. */
typedef struct {
    uint64_t  pos;               /* ring position of the record's header */
    uint32_t  size;              /* bytes to the next record (end - pos) */
    uint16_t  lane;
    uint8_t   state;             /* MCPU_BATCHER_ENTRY_* */
    uint8_t   pad;
} mcpu_batcher_entry_t;


typedef struct {
    mcpu_batcher_entry_t  *fifo;     /* capacity entries, circular */
    uint64_t               head;     /* oldest entry not released */
    uint64_t               tail;     /* next entry to fill */
    uint64_t               cursor;   /* ring position of the next read */
    uint64_t               failed;   /* FAILED entries in the fifo */
    uint64_t               resend_at;  /* monotonic ms: produce them again */
    int                    nearly_full;  /* "nearly full" was logged and
                                            "back under" not yet */
    uint64_t               full_seen;    /* lane.full when last seen under
                                            MCPU_BATCHER_RING_FULL_LOW */
} mcpu_batcher_lane_t;


typedef struct {
    mcpu_ring_t            ring;
    mcpu_batcher_lane_t   *lanes;
    const char            *path;
    uint64_t               mask;          /* fifo capacity - 1 */
    uint64_t               resend_backoff_ms;
    uint32_t               pid;
    int                    claimed;       /* hdr->consumer_pid is ours */

    /* counters published to the header; they start from the header's
     * values, so they stay monotonic across restarts */
    uint64_t               produced;
    uint64_t               acked;
    uint64_t               delivery_errors;
    uint64_t               resent;
    uint64_t               in_flight;
    uint64_t               published_ms;  /* monotonic, last publish */

    uint64_t               watched_ms;    /* monotonic, last fill check */
    uint64_t               full_log_ms;   /* monotonic, last "nearly full" */
} mcpu_batcher_ring_t;


/* "nearly full": a lane over HIGH percent used is logged (at most one such
 * line per MCPU_BATCHER_RING_FULL_LOG_MS, naming every lane over it), and
 * once more when it is back under LOW percent */
#define MCPU_BATCHER_RING_FULL_HIGH    80
#define MCPU_BATCHER_RING_FULL_LOW     50
#define MCPU_BATCHER_RING_FULL_LOG_MS  10000


/**
 * @brief Maps the ring at path, waiting (polling every 100 ms, one log line,
 *        and one more every 10 minutes) while nginx has not created it;
 *        checks every lane's records; claims the consumer role; logs the
 *        geometry and how much was left unreleased; sets up a FIFO of
 *        capacity entries per lane, every read cursor at c_head.  The
 *        batcher never creates the ring: only nginx knows its geometry.
 *        While waiting, *reopen (SIGHUP) reopens the log.
 * @returns MCPU_BATCHER_OK; MCPU_BATCHER_STOPPED when *stop became set while
 *          waiting; MCPU_BATCHER_ERROR with a sentence in errstr (the file is
 *          not a ring or is corrupt, another batcher is running, ...).
 * @locality main thread, at start-up, with the stop signals unblocked (a
 *           signal cuts the wait short).
 */
int mcpu_batcher_ring_attach(mcpu_batcher_ring_t *br, const char *path,
    uint64_t capacity, uint64_t resend_backoff_ms,
    volatile sig_atomic_t *stop, volatile sig_atomic_t *reopen,
    char *errstr, size_t errstr_size);

/**
 * @brief Gives the consumer role back (hdr->consumer_pid = 0), publishes the
 *        last counters, unmaps.  Accepts a half-attached br.
 * @locality main thread, after the producer handle is destroyed.
 */
void mcpu_batcher_ring_detach(mcpu_batcher_ring_t *br);

/**
 * @brief Reads the lane's next record into v and fills *e, the FIFO entry it
 *        will use; nothing moves until mcpu_batcher_ring_sent().
 * @returns MCPU_RING_OK; MCPU_RING_EMPTY (nothing to read); MCPU_RING_FULL
 *          (the lane's FIFO is full: wait for reports); MCPU_RING_CORRUPT
 *          (the bytes at the cursor are not a record; *e->pos says where).
 * @locality main thread.
 */
int mcpu_batcher_ring_read(mcpu_batcher_ring_t *br, uint32_t lane,
    mcpu_ring_view_t *v, mcpu_batcher_entry_t **e);

/**
 * @brief Records the outcome of producing entry e: handed over (ok), or
 *        refused by librdkafka (FAILED, produced again after the backoff).
 *        A new entry (from _read) is appended and the cursor moves past it;
 *        a FAILED entry produced again (from _failed) counts as resent.
 * @locality main thread.
 */
void mcpu_batcher_ring_sent(mcpu_batcher_ring_t *br, mcpu_batcher_entry_t *e,
    int ok, uint64_t now_ms);

/**
 * @brief Finds the lane's next FAILED entry due for another try, from FIFO
 *        index *i on, and reads its record again into v.
 * @returns MCPU_RING_OK with *e and v set and *i past it; MCPU_RING_EMPTY
 *          when none is due; MCPU_RING_CORRUPT if its slot no longer holds a
 *          record (it cannot, unless something else writes the ring).
 * @locality main thread.
 */
int mcpu_batcher_ring_failed(mcpu_batcher_ring_t *br, uint32_t lane,
    uint64_t *i, uint64_t now_ms, mcpu_ring_view_t *v,
    mcpu_batcher_entry_t **e);

/**
 * @brief The delivery report of entry e: DONE if ok, else FAILED (produced
 *        again no sooner than resend_backoff_ms from now).
 * @locality main thread, inside rd_kafka_poll()/rd_kafka_flush().
 */
void mcpu_batcher_ring_done(mcpu_batcher_ring_t *br, mcpu_batcher_entry_t *e,
    int ok);

/**
 * @brief Pops every lane's leading DONE entries and releases the ring up to
 *        the end of the last one: the durability point.
 * @returns the number of records released.
 * @locality main thread, after polling.
 */
uint64_t mcpu_batcher_ring_release(mcpu_batcher_ring_t *br);

/**
 * @brief After the producer was replaced: every entry whose record Kafka
 *        has not acknowledged (in flight with the old producer, or failed)
 *        becomes FAILED, due now, so the new producer sends it again.  No
 *        report of the old producer may come after this.
 * @returns the number of records to be sent again.
 * @locality main thread, after the old producer is destroyed.
 */
uint64_t mcpu_batcher_ring_resend(mcpu_batcher_ring_t *br, uint64_t now_ms);

/**
 * @brief Writes the heartbeat, the Kafka flags (kafka: MCPU_BATCHER_KAFKA_*
 *        of mcpu_batcher_kafka.h, 1 up, 0 down, -1 unknown) and the
 *        counters to the header, at most every 100 ms unless force is set.
 * @locality main thread.
 */
void mcpu_batcher_ring_publish(mcpu_batcher_ring_t *br, int kafka,
    int force);

/**
 * @brief Once a second: logs the lanes over MCPU_BATCHER_RING_FULL_HIGH
 *        percent used, and those back under MCPU_BATCHER_RING_FULL_LOW,
 *        with what the operator needs: how full, since when nginx refused
 *        events, and whether Kafka is reachable (kafka as for publish).
 * @locality main thread.
 */
void mcpu_batcher_ring_watch(mcpu_batcher_ring_t *br, int kafka,
    uint64_t now_ms);

/** @brief Records held in FIFOs (not released) and bytes not read yet. */
void mcpu_batcher_ring_pending(mcpu_batcher_ring_t *br, uint64_t *held,
    uint64_t *unread);

/** @brief Monotonic milliseconds. */
uint64_t mcpu_batcher_ring_now_ms(void);

#endif /* MCPU_BATCHER_RING_H */
