/*
 * mcpu_sink_row.h: one record of the clean topic as one row of the store
 * (store/schema.sql, table mcpu.events), in ClickHouse's JSONEachRow
 * format: a JSON object on one line, its members in the table's column
 * order.
 *
 * THE MAPPING (the record: README "The Kafka record"; key = client id)
 *   client_id       the Kafka key; the record's client.id without one
 *   dedup_key       mcpu-dedup's key (dedup/mcpu_dedup_key.h) after the
 *                   client id and its NUL, in hex: what the table's
 *                   ReplacingMergeTree key (client_id, dedup_key) folds
 *   type            type
 *   time, time_ms   timeMs / 1000 (DateTime), timeMs
 *   seq             seq, -1 for null
 *   received_ms     receivedAtMs
 *   node            node
 *   client_version, client_os, os_version
 *                   client.version, .os, .osVersion; '' for null
 *   session_id      event.sessionId when a string, else ''
 *   cpu, cores      CpuMeasurement: the mean of the numeric values of
 *                   event.usage (an object core -> percent, or an array),
 *                   and the number of its entries; else 0, 0
 *   transfer_id     event.transferId when a string, else ''
 *   event           the event object's JSON text: the record's own bytes
 *                   (the client's, whitespace removed) when the record has
 *                   the module's layout, else the parsed object written
 *                   compactly
 *
 * A record that cannot be mapped (not JSON, not an object, a schema other
 * than 1, a required member missing or of the wrong type, a time outside
 * DateTime's range) is refused with a reason; the caller skips it.
 */

#ifndef MCPU_SINK_ROW_H
#define MCPU_SINK_ROW_H

#include <stddef.h>


#define MCPU_SINK_ROW_OK      0
#define MCPU_SINK_ROW_SKIP    1    /* unmappable: reason says why */
#define MCPU_SINK_ROW_NOMEM  -1


/* a growing buffer of rows: the body of one INSERT */
typedef struct {
    char    *data;
    size_t   len;
    size_t   cap;
} mcpu_sink_buf_t;


/**
 * @brief Makes jansson allocate from mcpu-sink's arena, reset after every
 *        record (mcpu_sink_row_append), instead of malloc.  Optional: the
 *        mapping is the same without it, only slower.
 * @returns 0, or -1 when the arena cannot be allocated.
 * @warning process-global (jansson's allocator is): call once, before any
 *          other jansson use, in a process where nothing else uses jansson.
 * @locality main thread, at start-up.
 */
int mcpu_sink_row_init(void);

/**
 * @brief Appends the row of one record (key, value) to b, newline
 *        included.  On SKIP or NOMEM, b is as it was.
 * @returns MCPU_SINK_ROW_OK, MCPU_SINK_ROW_SKIP with a sentence in reason,
 *          MCPU_SINK_ROW_NOMEM.
 * @locality any single thread (jansson's allocator is the default one).
 */
int mcpu_sink_row_append(mcpu_sink_buf_t *b, const void *key, size_t klen,
    const void *value, size_t vlen, char *reason, size_t reason_size);

/** @brief Makes room for n more bytes.  @returns 0 or -1 (no memory). */
int mcpu_sink_buf_reserve(mcpu_sink_buf_t *b, size_t n);

/** @brief Frees the buffer's memory and zeroes it. */
void mcpu_sink_buf_free(mcpu_sink_buf_t *b);

#endif /* MCPU_SINK_ROW_H */
