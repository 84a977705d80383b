/*
 * mcpu_seen.h: the "last event seen" table.
 *
 * Per client id, the newest event that Kafka has acknowledged: by seq when
 * both events carry one, else by event time.  A client that lost its local
 * state asks GET on the ingest location and resends everything after the
 * answer, so the table must never run ahead of Kafka: only a delivery
 * report (or the compacted topic, which other batchers fill from theirs)
 * updates it, never the ring.
 *
 * One writer, the batcher; many readers, the nginx workers.  Like the ring,
 * a regular file both sides mmap(MAP_SHARED); readers map it read-only, so
 * a worker cannot damage it.  This header is the whole contract between the
 * two sides; the _Static_asserts pin the layout.
 *
 * FILE LAYOUT
 *
 *   offset 0                    mcpu_seen_header_t   (MCPU_SEEN_HEADER_SIZE)
 *   offset MCPU_SEEN_HEADER_SIZE  slot 0, slot 1, ... slot (slots - 1),
 *                               each hdr.slot_size bytes: a mcpu_seen_slot_t
 *                               then value_max bytes of value
 *
 * PLACEMENT AND EVICTION
 *   A key's slots are the MCPU_SEEN_WAYS consecutive slots (wrapping) from
 *   siphash(key) & (slots - 1), with the file's random hash key, so clients
 *   cannot aim at one window.  A key is in at most one slot of its window.
 *   An update takes the key's slot, else an empty slot of the window, else
 *   evicts the slot of the window whose client was updated longest ago
 *   (touched_ms).  An evicted client's GET answers 404 until its next
 *   acknowledged event: it resends more than needed, which downstream dedup
 *   removes; it never resends less.
 *
 * CONCURRENCY (a seqlock per slot)
 *   writer: version += 1 (odd), ck_pr_fence_store, write the fields and the
 *           value, ck_pr_fence_store, version += 1 (even).
 *   reader: v1 = load version (odd: retry), ck_pr_fence_load, copy the slot,
 *           ck_pr_fence_load, v2 = load version; v1 != v2: retry.  After
 *           MCPU_SEEN_READ_TRIES failed tries (counted over a whole
 *           lookup) it gives up on that slot; a lookup that finds its key
 *           in another way of the window still answers it, else it
 *           answers MCPU_SEEN_BUSY rather than "not found".
 *   A writer that died mid-write leaves an odd version: the next writer to
 *   open the file empties such slots (their content may be torn).
 *
 * VALUES
 *   The value is the Kafka record as the batcher produced it (JSON, see
 *   mcpu_record.schema.json), whose last member is "event".  A record
 *   longer than value_max is stored with ,"event":<...>} replaced by
 *   ,"event":null} : the normalised fields (type, time, seq, client) are
 *   what a resend needs.  The member replaced is the record's own (the
 *   last at the top level, outside strings), not an "event" member nested
 *   in the event, so the result stays valid JSON.  If even that does not
 *   fit, or the record has no such member, the update is refused
 *   (MCPU_SEEN_TOO_LONG) and counted.
 *
 * FILE MODE
 *   Created 0640 whatever the umask: the nginx workers' group reads it, as
 *   it shares the ring; only the writer writes it.
 */

#ifndef MCPU_SEEN_H
#define MCPU_SEEN_H

#include <stddef.h>
#include <stdint.h>


#define MCPU_SEEN_MAGIC           0x4e45455355504d43ULL   /* "MCPUSEEN" */
#define MCPU_SEEN_VERSION         1
#define MCPU_SEEN_HEADER_SIZE     4096
#define MCPU_SEEN_WAYS            8
#define MCPU_SEEN_MAX_SLOTS       (1u << 24)
#define MCPU_SEEN_MAX_KEY         128      /* = MCPU_EV_MAX_ID */
#define MCPU_SEEN_READ_TRIES      1000

#define MCPU_SEEN_DEFAULT_SLOTS       65536
#define MCPU_SEEN_DEFAULT_VALUE_MAX   1024
#define MCPU_SEEN_MIN_VALUE_MAX       1024   /* the record without its event
                                               always fits (bounded headers) */
#define MCPU_SEEN_MAX_VALUE_MAX       65536

/* return codes */
#define MCPU_SEEN_OK          0
#define MCPU_SEEN_ERROR      -1      /* with a sentence in err */
#define MCPU_SEEN_ABSENT     -2      /* reader: no file yet */
#define MCPU_SEEN_NOT_FOUND   1
#define MCPU_SEEN_OLDER       2      /* update: the table has a newer event */
#define MCPU_SEEN_TOO_LONG    3      /* update: key or shortened value too long */
#define MCPU_SEEN_BUSY        4      /* lookup: the writer kept changing it */


typedef struct {
    uint64_t  magic;
    uint32_t  version;               /* MCPU_SEEN_VERSION */
    uint32_t  slots;                 /* power of two */
    uint32_t  value_max;             /* value bytes per slot */
    uint32_t  slot_size;             /* sizeof(mcpu_seen_slot_t) + value_max,
                                        rounded up to 64 */
    uint64_t  file_size;
    uint64_t  hash_key[2];           /* SipHash key, random at creation */
    uint64_t  created_ms;
    uint32_t  writer_pid;            /* the batcher that writes it; CAS to
                                        claim, a dead one's is taken over */
    uint32_t  reserved0;

    /* the writer's counters, on their own cache line; readers: status */
    uint64_t  updates;               /* slots changed */
    uint64_t  older;                 /* updates ignored: table was newer */
    uint64_t  evictions;             /* clients forgotten to make room */
    uint64_t  too_long;              /* updates refused: MCPU_SEEN_TOO_LONG */
    uint64_t  shortened;             /* values stored with "event":null */
    uint64_t  reserved_stats[3];

    uint8_t   pad1[MCPU_SEEN_HEADER_SIZE - 128];
} mcpu_seen_header_t;


typedef struct {
    uint32_t  version;               /* seqlock: odd while being written */
    uint16_t  key_len;               /* 0: empty slot */
    uint16_t  reserved0;
    uint32_t  value_len;
    uint32_t  reserved1;
    int64_t   seq;                   /* -1: the event had none */
    int64_t   time_ms;               /* event time, ms since the epoch */
    uint64_t  touched_ms;            /* writer's clock at the last update */
    uint64_t  hash;                  /* siphash(key), to skip compares */
    char      key[MCPU_SEEN_MAX_KEY];
    /* value_max bytes of value follow */
} mcpu_seen_slot_t;

_Static_assert(sizeof(mcpu_seen_header_t) == MCPU_SEEN_HEADER_SIZE,
               "mcpu_seen_header_t size");
_Static_assert(sizeof(mcpu_seen_slot_t) == 48 + MCPU_SEEN_MAX_KEY,
               "mcpu_seen_slot_t size");


typedef struct {
    mcpu_seen_header_t  *hdr;
    unsigned char       *slots;      /* first slot */
    size_t               map_size;
    uint32_t             nslots;
    uint32_t             slot_size;
    uint32_t             value_max;
    int                  writer;     /* mapped read-write, pid claimed */
} mcpu_seen_t;


/* one client's newest acknowledged event */
typedef struct {
    const char  *key;                /* client id */
    size_t       key_len;
    const char  *value;              /* the Kafka record (JSON) */
    size_t       value_len;
    int64_t      seq;                /* -1: none */
    int64_t      time_ms;
} mcpu_seen_entry_t;


/**
 * @brief Opens the table for writing: creates it complete (temp file and
 *        link(), as the ring) with a random hash key, or attaches an
 *        existing one of the same geometry, and claims writer_pid (taking
 *        it over from a dead process; refused while a live one holds it).
 *        Empties slots left odd by a writer that died mid-write.
 * @param slots  a power of two from MCPU_SEEN_WAYS to MCPU_SEEN_MAX_SLOTS.
 * @param value_max  MCPU_SEEN_MIN_VALUE_MAX to MCPU_SEEN_MAX_VALUE_MAX.
 * @returns MCPU_SEEN_OK, or MCPU_SEEN_ERROR with a sentence in err (another
 *          geometry: both values named; another live writer: its pid).
 * @locality batcher, at start.
 */
int mcpu_seen_open_writer(mcpu_seen_t *t, const char *path, uint32_t slots,
    uint32_t value_max, char *err, size_t err_size);

/**
 * @brief Maps an existing table read-only, geometry from its header.
 * @returns MCPU_SEEN_OK; MCPU_SEEN_ABSENT when the file does not exist
 *          (yet: the batcher creates it); MCPU_SEEN_ERROR with a sentence.
 * @locality nginx worker, lazily; tests.
 */
int mcpu_seen_open_reader(mcpu_seen_t *t, const char *path, char *err,
    size_t err_size);

/** @brief Unmaps; releases writer_pid if t is the writer. */
void mcpu_seen_close(mcpu_seen_t *t);

/**
 * @brief Records e for its client if it is newer than what the table has
 *        (mcpu_seen_newer()).  Shortens a long value as described above.
 * @param slot_out  when not NULL, the slot index used (for publishing);
 *        set on MCPU_SEEN_OK only.
 * @returns MCPU_SEEN_OK (stored), MCPU_SEEN_OLDER (kept the table's),
 *          MCPU_SEEN_TOO_LONG (key empty or over MCPU_SEEN_MAX_KEY, or value
 *          over value_max even shortened), MCPU_SEEN_ERROR when t was not
 *          opened as the writer.  No allocation, no syscall.
 * @locality the writer only.
 */
int mcpu_seen_update(mcpu_seen_t *t, const mcpu_seen_entry_t *e,
    uint64_t now_ms, uint32_t *slot_out);

/**
 * @brief A consistent copy of the client's entry; value copied into buf
 *        (entry->value points into buf, entry->key to the caller's key).
 * @returns MCPU_SEEN_OK, MCPU_SEEN_NOT_FOUND (also for a key that cannot
 *          be stored: empty or over MCPU_SEEN_MAX_KEY), MCPU_SEEN_BUSY, or
 *          MCPU_SEEN_TOO_LONG when buf is smaller than the value.
 * @locality any process; no allocation, no syscall, no lock.
 */
int mcpu_seen_lookup(const mcpu_seen_t *t, const char *key, size_t key_len,
    mcpu_seen_entry_t *entry, char *buf, size_t buf_size);

/**
 * @brief A consistent copy of slot i (the writer publishing it); key and
 *        value are copied into buf (key first, then value).
 * @returns MCPU_SEEN_OK, MCPU_SEEN_NOT_FOUND when the slot is empty (or
 *          i >= slots), MCPU_SEEN_TOO_LONG when buf is too small,
 *          MCPU_SEEN_BUSY as mcpu_seen_lookup().
 * @locality any process; no allocation, no syscall, no lock.
 */
int mcpu_seen_slot(const mcpu_seen_t *t, uint32_t i, mcpu_seen_entry_t *entry,
    char *buf, size_t buf_size);

/**
 * @brief Whether event a (seq_a, time_a) is newer than b: by seq when both
 *        have one (>= 0), else by time.  Equal is not newer, so an update
 *        with what the table already has changes nothing.
 */
static inline int
mcpu_seen_newer(int64_t seq_a, int64_t time_a, int64_t seq_b, int64_t time_b)
{
    if (seq_a >= 0 && seq_b >= 0) {
        return seq_a > seq_b;
    }

    return time_a > time_b;
}

#endif /* MCPU_SEEN_H */
