/*
 * mcpu_ring.h: the shared-memory ring between nginx workers and mcpu-batcher.
 *
 * This header is the whole contract between the two sides; the nginx module
 * and the batcher both include it, and the _Static_asserts below make a
 * layout change break both builds at once.
 *
 * WHY A FILE AND NOT AN NGINX ZONE
 *   nginx shared zones are anonymous mappings that only nginx's own children
 *   see, and a reload with another size gets a fresh zone.  The batcher is
 *   not nginx's child and accepted events must survive reloads and binary
 *   upgrades, so the ring is a regular file that both sides mmap(MAP_SHARED).
 *   The nginx master maps it at configuration time, so workers inherit the
 *   mapping and never reopen the file after dropping privileges.
 *
 * FILE LAYOUT (all integers little-endian host order, offsets never pointers)
 *
 *   offset 0                      mcpu_ring_header_t   (MCPU_RING_HEADER_SIZE)
 *   offset MCPU_RING_HEADER_SIZE  mcpu_ring_lane_t[lanes] (192 bytes each)
 *   offset hdr.data_offset        lane 0 data (lane_size bytes)
 *                                 lane 1 data ...
 *   hdr.file_size = data_offset + lanes * lane_size
 *
 *   data_offset is rounded up to a page so each lane's data is page aligned.
 *
 * LANES: WHY A DEAD PRODUCER CANNOT STALL ANYONE
 *   Each producer process (an nginx worker; old and new workers during a
 *   reload or binary upgrade) claims a lane of its own with a CAS of its pid
 *   into lane.owner_pid, and from then on is the lane's single producer; the
 *   batcher is the single consumer of every lane.  Each lane is therefore an
 *   SPSC byte ring and every producer step is wait-free: there is no
 *   reserve/commit ticket that another producer waits on, as in an MPSC ring
 *   where a producer that dies between reserve and commit stops everyone.
 *   A producer killed mid-enqueue has written bytes past p_tail but never
 *   published them; nobody reads them, and the next owner of the lane (a
 *   respawned worker that finds owner_pid dead) overwrites them.  Records it
 *   did publish stay in the lane and are drained by the batcher as usual.
 *
 * RECORDS
 *   A lane holds variable-size records, each a mcpu_ring_rec_t followed by
 *   key_len bytes of Kafka key (the client id) and size - 16 - key_len bytes
 *   of Kafka value (the JSON record), padded to MCPU_RING_ALIGN.  A record
 *   never wraps: when it does not fit before the end of the lane data, the
 *   producer first writes a PAD record that fills the rest of the lane
 *   (always possible: positions and lane_size are multiples of 16 and a
 *   header is 16 bytes).  Both are published by one p_tail store.
 *
 * COUNTERS AND ORDERING (per lane; all positions are byte counts since the
 * lane was created, uint64_t, compared with unsigned differences so that
 * wrap-around at 2^64 is harmless; position & (lane_size - 1) is the offset)
 *
 *   field       writer           reader              operation / fence
 *   owner_pid   producer (claim) producers, batcher  ck_pr_cas_32 to claim,
 *                                                    ck_pr_store_32(0) at exit
 *   p_tail      owning producer  batcher             producer writes record
 *                                                    bytes, ck_pr_fence_store,
 *                                                    ck_pr_store_64(p_tail).
 *                                                    Batcher ck_pr_load_64,
 *                                                    ck_pr_fence_load, reads.
 *   p_seq       owning producer  status, tests       ck_pr_store_64 after
 *                                                    p_tail: records
 *                                                    published; behind (by
 *                                                    the records of one
 *                                                    commit) if the producer
 *                                                    died between the two
 *                                                    stores, repaired by the
 *                                                    next owner at claim
 *   c_head      batcher          owning producer     batcher finishes with the
 *                                                    slot (delivery report),
 *                                                    ck_pr_fence_load_store,
 *                                                    ck_pr_store_64(c_head).
 *
 *   c_head is the release point and the producer's license to overwrite: the
 *   batcher reads records in place, hands them to librdkafka without copying,
 *   and advances c_head only over the longest prefix whose delivery reports
 *   said Kafka has them.  A batcher killed at any moment restarts reading at
 *   c_head and re-sends whatever was not acknowledged.
 *
 *   free space for the producer = lane_size - (p_tail - c_head).
 */

#ifndef MCPU_RING_H
#define MCPU_RING_H

#include <stddef.h>
#include <stdint.h>


#define MCPU_RING_MAGIC          "MCPURING"
#define MCPU_RING_VERSION        1
#define MCPU_RING_CACHELINE      64
#define MCPU_RING_ALIGN          16
#define MCPU_RING_HEADER_SIZE    512
#define MCPU_RING_PAGE           4096

#define MCPU_RING_MAX_LANES      256
#define MCPU_RING_MIN_LANE_SIZE  (64 * 1024)
#define MCPU_RING_MIN_RECORD     256

/* a record's check word, so a walk can tell garbage from a record */
#define MCPU_RING_REC_MAGIC      0x6d637075u
#define mcpu_ring_rec_check(size, type, key_len, seq)                        \
    ((uint32_t) (size) ^ (uint32_t) (seq)                                     \
     ^ ((uint32_t) (type) << 16 | (uint32_t) (key_len)) ^ MCPU_RING_REC_MAGIC)

#define MCPU_RING_REC_EVENT      1
#define MCPU_RING_REC_PAD        2

/* outcomes of the functions below */
#define MCPU_RING_OK             0
#define MCPU_RING_ERROR         -1
#define MCPU_RING_FULL          -2
#define MCPU_RING_TOO_BIG       -3
#define MCPU_RING_EMPTY         -4
#define MCPU_RING_CORRUPT       -5
#define MCPU_RING_NO_LANE       -6
#define MCPU_RING_MISSING       -7
#define MCPU_RING_BUSY          -8


/*
 * The file header.  Written once by the creator before the file is renamed
 * into place (so nobody ever maps a half-initialised ring), read by everyone
 * on attach.  The consumer block is the batcher's; nginx only reads it (the
 * status endpoint shows one scrape for the whole host).
 */
typedef struct {
    /* line 0: geometry, immutable after creation */
    char      magic[8];          /* MCPU_RING_MAGIC, no NUL */
    uint32_t  version;           /* MCPU_RING_VERSION */
    uint32_t  header_size;       /* MCPU_RING_HEADER_SIZE */
    uint32_t  lanes;             /* number of lanes, power of two */
    uint32_t  max_record;        /* largest record, header included, bytes */
    uint64_t  lane_size;         /* data bytes per lane, power of two */
    uint64_t  data_offset;       /* file offset of lane 0's data */
    uint64_t  file_size;         /* total bytes of the file */
    uint64_t  created_ms;        /* creation time, ms since the epoch */
    uint32_t  creator_pid;
    uint32_t  lane_struct_size;  /* sizeof(mcpu_ring_lane_t) at creation */

    /* line 1: the batcher's liveness, written by the batcher only */
    uint32_t  consumer_pid;      /* 0 when no batcher is attached */
    uint32_t  consumer_flags;    /* MCPU_RING_CONSUMER_* */
    uint64_t  consumer_heartbeat_ms;
    uint8_t   pad1[MCPU_RING_CACHELINE - 16];

    /* lines 2-3: the batcher's counters, monotonic, ck_pr_store_64 */
    uint64_t  produced;          /* records handed to librdkafka */
    uint64_t  acked;             /* delivery reports that said persisted */
    uint64_t  delivery_errors;   /* delivery reports with an error */
    uint64_t  in_flight;         /* handed over, report not yet seen */
    uint64_t  resent;            /* records re-sent after a failure/restart */
    uint64_t  reserved_stats[11];

    uint8_t   pad2[MCPU_RING_HEADER_SIZE - 4 * MCPU_RING_CACHELINE];
} mcpu_ring_header_t;

/*
 * consumer_flags: written by the batcher only, with ck_pr_store_32 before
 * the heartbeat (which is stored last, after a store fence), read by the
 * status endpoint.  KAFKA_UP: Kafka acknowledges deliveries (or answered
 * metadata before the first one).  KAFKA_UNKNOWN: nothing learned yet since
 * the batcher started.  Neither: Kafka is unreachable.  Both: never.
 */
#define MCPU_RING_CONSUMER_KAFKA_UP       0x1
#define MCPU_RING_CONSUMER_KAFKA_UNKNOWN  0x2


/* One lane: three cache lines so producer and consumer never share one. */
typedef struct {
    /* line 0: ownership */
    uint32_t  owner_pid;         /* 0 = free; CAS to claim */
    uint32_t  claims;            /* how many times the lane was claimed */
    uint64_t  claimed_ms;
    uint8_t   pad0[MCPU_RING_CACHELINE - 16];

    /* line 1: producer side, written by the owner only */
    uint64_t  p_tail;            /* bytes published */
    uint64_t  p_seq;             /* records published (PAD excluded) */
    uint64_t  full;              /* enqueues refused because the lane was full */
    uint8_t   pad1[MCPU_RING_CACHELINE - 24];

    /* line 2: consumer side, written by the batcher only */
    uint64_t  c_head;            /* bytes released (durable in Kafka) */
    uint64_t  c_seq;             /* records released */
    uint8_t   pad2[MCPU_RING_CACHELINE - 16];
} mcpu_ring_lane_t;


/* The record header, at a MCPU_RING_ALIGN boundary inside the lane data. */
typedef struct {
    uint32_t  size;              /* header + key + value, before padding */
    uint16_t  type;              /* MCPU_RING_REC_EVENT or MCPU_RING_REC_PAD */
    uint16_t  key_len;
    uint32_t  seq;               /* low 32 bits of the lane's p_seq */
    uint32_t  check;             /* mcpu_ring_rec_check() of the above */
} mcpu_ring_rec_t;


_Static_assert(sizeof(mcpu_ring_header_t) == MCPU_RING_HEADER_SIZE,
               "ring header size is part of the file format");
_Static_assert(offsetof(mcpu_ring_header_t, consumer_pid)
               == MCPU_RING_CACHELINE, "consumer block on line 1");
_Static_assert(offsetof(mcpu_ring_header_t, produced)
               == 2 * MCPU_RING_CACHELINE, "counters on line 2");
_Static_assert(sizeof(mcpu_ring_lane_t) == 3 * MCPU_RING_CACHELINE,
               "a lane is three cache lines");
_Static_assert(offsetof(mcpu_ring_lane_t, p_tail) == MCPU_RING_CACHELINE,
               "producer line");
_Static_assert(offsetof(mcpu_ring_lane_t, c_head) == 2 * MCPU_RING_CACHELINE,
               "consumer line");
_Static_assert(sizeof(mcpu_ring_rec_t) == MCPU_RING_ALIGN,
               "a record header is one alignment unit, so a PAD always fits");


/* The process-local handle: pointers into this process's mapping. */
typedef struct {
    mcpu_ring_header_t  *hdr;
    mcpu_ring_lane_t    *lanes;
    unsigned char       *data;
    size_t               map_size;
    uint64_t             lane_size;
    uint64_t             mask;
    uint32_t             nlanes;
    uint32_t             max_record;
} mcpu_ring_t;


/* What a ring should look like; zero fields mean "whatever the file says". */
typedef struct {
    uint64_t  size;              /* total data bytes, all lanes */
    uint32_t  lanes;
    uint32_t  max_record;
} mcpu_ring_geometry_t;


/* A record as the consumer sees it, in place in the mapping. */
typedef struct {
    const unsigned char *key;
    const unsigned char *value;
    uint64_t             pos;     /* position of its header */
    uint64_t             end;     /* position just past it: release up to here */
    uint32_t             key_len;
    uint32_t             value_len;
    uint32_t             seq;
} mcpu_ring_view_t;


/**
 * @brief Checks a wanted geometry: sizes powers of two, lane big enough for
 *        two maximum records, lanes within bounds.
 * @returns MCPU_RING_OK, or MCPU_RING_ERROR with a sentence in err.
 * @locality any
 */
int mcpu_ring_geometry_check(const mcpu_ring_geometry_t *g, char *err,
    size_t err_size);

/**
 * @brief Maps the ring file at path.  With create set and no file there,
 *        creates it atomically (a temporary file renamed into place) with
 *        geometry g.  An existing file is attached only if its magic,
 *        version and geometry match g (zero fields of g match anything).
 * @returns MCPU_RING_OK; MCPU_RING_MISSING when there is no file and create
 *          is 0; MCPU_RING_ERROR with a sentence in err naming both values
 *          on a mismatch, or the failed call and errno.
 * @warning never truncates, re-creates or rewrites an existing file.
 * @locality any; nginx calls it in the master at configuration time.
 */
int mcpu_ring_open(mcpu_ring_t *ring, const char *path,
    const mcpu_ring_geometry_t *g, int create, unsigned mode, char *err,
    size_t err_size);

void mcpu_ring_close(mcpu_ring_t *ring);

/**
 * @brief Claims a lane for producer pid: one it already owns, else a free
 *        one, else one whose owner is dead according to alive().
 * @returns the lane index, or MCPU_RING_NO_LANE when every lane is owned by
 *          a live process.
 * @locality producer process, once at start.
 */
int mcpu_ring_claim(mcpu_ring_t *ring, uint32_t pid,
    int (*alive)(uint32_t pid));

/** @brief Gives the lane back at a clean exit; a no-op if pid is not owner. */
void mcpu_ring_unclaim(mcpu_ring_t *ring, int lane, uint32_t pid);

/** @brief Bytes a record with these lengths occupies, header and padding. */
static inline uint64_t
mcpu_ring_record_size(size_t key_len, size_t value_len)
{
    return ((uint64_t) sizeof(mcpu_ring_rec_t) + key_len + value_len
            + MCPU_RING_ALIGN - 1) & ~(uint64_t) (MCPU_RING_ALIGN - 1);
}

/**
 * @brief Appends one record to the caller's lane.  Wait-free: no loop, no
 *        lock, no syscall, no allocation.
 * @returns MCPU_RING_OK; MCPU_RING_FULL when the lane lacks room (nothing is
 *          written); MCPU_RING_TOO_BIG when the record exceeds max_record.
 * @locality the lane's owner only (single producer).
 */
int mcpu_ring_produce(mcpu_ring_t *ring, int lane, const void *key,
    size_t key_len, const void *value, size_t value_len);

/* Several records published at once: all of them, or none. */
typedef struct {
    uint64_t  tail;              /* private tail: where the next goes */
    uint64_t  seq;
    uint32_t  records;           /* appended so far */
    int       lane;
} mcpu_ring_txn_t;

/**
 * @brief Starts a transaction on the caller's lane.  Appended records stay
 *        invisible to the batcher until mcpu_ring_commit(); dropping the
 *        transaction (not committing) discards them, nothing to undo.
 * @locality the lane's owner only.
 */
void mcpu_ring_begin(mcpu_ring_t *ring, int lane, mcpu_ring_txn_t *txn);

/**
 * @brief Writes one record after the transaction's previous ones.
 *        Wait-free, like mcpu_ring_produce().
 * @returns MCPU_RING_OK; MCPU_RING_FULL or MCPU_RING_TOO_BIG, with nothing
 *          of this record written into the transaction (earlier records of
 *          the transaction are still there, to commit or drop).
 */
int mcpu_ring_append(mcpu_ring_t *ring, mcpu_ring_txn_t *txn,
    const void *key, size_t key_len, const void *value, size_t value_len);

/** @brief Publishes every appended record with one p_tail store. */
void mcpu_ring_commit(mcpu_ring_t *ring, mcpu_ring_txn_t *txn);

/**
 * @brief Bytes the lane could take now; a lower bound, since the batcher may
 *        release more at any time.
 * @locality the lane's owner.
 */
uint64_t mcpu_ring_free(mcpu_ring_t *ring, int lane);

/**
 * @brief Reads the record at *cursor in place, skipping PAD records; on
 *        MCPU_RING_OK, *cursor moves past it.  The view stays valid until the
 *        batcher releases past view->end.
 * @returns MCPU_RING_OK, MCPU_RING_EMPTY when *cursor reached p_tail, or
 *          MCPU_RING_CORRUPT when the bytes there are not a record.
 * @locality the consumer only.
 */
int mcpu_ring_peek(mcpu_ring_t *ring, int lane, uint64_t *cursor,
    mcpu_ring_view_t *view);

/**
 * @brief Releases every byte before pos to the producer: the durability
 *        point.  records is how many event records that covers.
 * @locality the consumer only.
 */
void mcpu_ring_release(mcpu_ring_t *ring, int lane, uint64_t pos,
    uint64_t records);

/**
 * @brief Walks every lane from c_head to p_tail and checks each record
 *        header.  Used on attach instead of ck_ring_valid, which misreads
 *        SPSC rings and wrapped counters.
 * @returns MCPU_RING_OK, or MCPU_RING_CORRUPT with the lane and position in
 *          err.
 * @locality the consumer, before it starts reading.
 */
int mcpu_ring_check(mcpu_ring_t *ring, char *err, size_t err_size);

/* Unread bytes in a lane (p_tail - c_head), for status and tests.  From a
 * process that is neither side, it may exceed lane_size by what the batcher
 * released and the producer refilled while it was read. */
uint64_t mcpu_ring_used(mcpu_ring_t *ring, int lane);

/**
 * @brief Copies the start of the oldest unreleased event record of a lane
 *        (the first one at c_head, past a PAD) for a reader that is
 *        neither the producer nor the consumer, such as the status page.
 *        The copy is checked afterwards: it counts only if c_head did not
 *        move meanwhile, since the producer overwrites only released bytes.
 * @returns MCPU_RING_OK with min(size, value length) bytes of the record's
 *          value in buf and that length in *len; MCPU_RING_EMPTY when the
 *          lane has nothing unreleased; MCPU_RING_BUSY when the batcher
 *          released the record while it was read (try again later);
 *          MCPU_RING_CORRUPT when the bytes at c_head are not a record.
 * @locality any process that maps the ring; read-only, wait-free.
 */
int mcpu_ring_peek_oldest(mcpu_ring_t *ring, int lane, void *buf,
    size_t size, size_t *len);

#endif /* MCPU_RING_H */
