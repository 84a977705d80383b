/*
 * mcpu_dedup_key.h: what makes two records of the raw topic the same event.
 * mcpu-dedup drops copies by it; mcpu-sink links the same file and stores
 * it (store/schema.sql, dedup_key), so the store's key is this one.
 *
 * THE KEY (bytes, compared whole; the Kafka key is the client id)
 *   client id, 0x00, then one of:
 *   'S' seq (8 bytes, big endian)            the event has a seq
 *   'C' timeMs (8 bytes) type 0x00 h128      no seq: the brief's (time,
 *                                            type, client) and the event's
 *                                            content (128-bit SipHash of
 *                                            the event's bytes)
 *   and for a record that is not mcpu's (no client id key, or a value
 *   mcpu_record_peek_order() does not read): 0x00 'R' h128(key) h128(value),
 *   so only byte-identical records are duplicates of each other.
 *
 * Why the content for events without seq: two distinct events of one client
 * can share time and type (two CPU measurements within a millisecond, two
 * transfers started at once, told apart by transferId); the brief's tuple
 * would drop the second.  The module stores the client's own bytes (only
 * whitespace removed), so a retried event has the same content; a client
 * that re-serialises an event differently (other key order, 1.0 for 1)
 * makes a duplicate that is kept, never a unique event that is dropped.
 * The hash is keyed with fixed constants (the state outlives processes);
 * the client id is part of the key, so a client that crafted a collision
 * could only lose its own event.
 */

#ifndef MCPU_DEDUP_KEY_H
#define MCPU_DEDUP_KEY_H

#include <stddef.h>
#include <stdint.h>


#define MCPU_DEDUP_CLIENT_MAX  128     /* the module's limit on client ids */
#define MCPU_DEDUP_TYPE_MAX    64      /* the record schema's type pattern */
#define MCPU_DEDUP_KEY_MAX     (MCPU_DEDUP_CLIENT_MAX + 2 + 8           \
                                + MCPU_DEDUP_TYPE_MAX + 1 + 16)

/* kinds, also the "key" label of the duplicate counters */
#define MCPU_DEDUP_KIND_SEQ      0
#define MCPU_DEDUP_KIND_CONTENT  1
#define MCPU_DEDUP_KIND_RAW      2
#define MCPU_DEDUP_KINDS         3


typedef struct {
    unsigned char  bytes[MCPU_DEDUP_KEY_MAX];
    size_t         len;
    int            kind;        /* MCPU_DEDUP_KIND_* */
} mcpu_dedup_key_t;


/**
 * @brief The dedup key of a record: its Kafka key and value.  Never fails:
 *        a record that is not mcpu's gets an 'R' key.
 * @locality mcpu-dedup's thread; no allocation.
 */
void mcpu_dedup_key_of(const void *kkey, size_t klen, const void *value,
    size_t vlen, mcpu_dedup_key_t *out);

/** @brief "seq", "content" or "raw". */
const char *mcpu_dedup_kind_name(int kind);

#endif /* MCPU_DEDUP_KEY_H */
