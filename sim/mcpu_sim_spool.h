/*
 * mcpu_sim_spool.h: a client's local store of events not yet delivered,
 * one append-only file per client, DIR/CLIENT.spool (':' of the id as '-'):
 *
 *   mcpu-sim spool 1 next_seq=00000000000000004622 acked=00000000000000000074
 *   {"type":"CpuMeasurement","time":1795471200250,"seq":4590,...}
 *   {"type":"FileTransferStarted","time":1795471201003,"seq":4591,...}
 *   ...
 *
 * The first line, of fixed length, is rewritten in place (pwrite): the
 * client's next seq, and the byte offset of the first event not yet
 * acknowledged.  Events are NDJSON lines, the very bytes sent, appended
 * as they are generated and before they can be sent.  An answer 2xx (or a
 * refusal, or a GET saying the server has them) removes events from the
 * front: `acked` moves past them.  When it reaches the end of the file,
 * the file is cut back to its first line, which happens at every flush
 * while the server keeps up, so a spool stays small; it grows only while
 * events wait (an outage).
 *
 * At open, an existing file is read back: the events from `acked` on are
 * the ones to send, next_seq is the larger of the header's and the last
 * event's seq + 1, and a last line cut short (a crash while appending) is
 * removed.  Nothing is fsync()ed: a spool survives the simulator being
 * killed, not the machine losing power.
 *
 * The requests read their bodies straight from the file (one pread() of
 * contiguous lines); memory holds only 24 bytes per waiting event.
 */

#ifndef MCPU_SIM_SPOOL_H
#define MCPU_SIM_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


/* an event of the spool, from `acked` on, in file order */
typedef struct {
    uint64_t  seq;
    int64_t   time;            /* ms since the epoch, simulated clock */
    uint32_t  len;             /* bytes of its line, '\n' included */
    uint32_t  sends:31;        /* requests that carried it */
    uint32_t  unanswered:1;    /* the last one got no answer: the server
                                  may have it */
} mcpu_sim_entry_t;


typedef struct {
    int                 fd;
    char               *path;
    uint64_t            next_seq;
    off_t               acked;       /* offset of entries[head] */
    off_t               end;         /* offset after the last written line */

    mcpu_sim_entry_t   *entries;     /* [head, head + count) wait */
    size_t              head;
    size_t              count;
    size_t              cap;
    size_t              written;     /* of those, in the file; the rest is
                                        in wbuf */

    char               *wbuf;        /* lines appended, not yet written */
    size_t              wlen;
    size_t              wcap;
} mcpu_sim_spool_t;


/**
 * @brief Opens (creating if needed) the spool of client id in dir and
 *        reads back what an earlier run left in it.
 * @returns 0, or -1 with a sentence in errstr naming the file.
 * @locality main thread.
 */
int mcpu_sim_spool_open(mcpu_sim_spool_t *sp, const char *dir,
    const char *id, char *errstr, size_t errstr_size);

/** @brief Closes the file and frees the spool; accepts a zeroed one. */
void mcpu_sim_spool_close(mcpu_sim_spool_t *sp);

/**
 * @brief Appends one event line (len bytes, ending with '\n') with its seq
 *        (which must be sp->next_seq) and time, in memory; next_seq grows
 *        by one.  mcpu_sim_spool_write() puts it in the file.
 * @returns 0, or -1 when out of memory.
 */
int mcpu_sim_spool_append(mcpu_sim_spool_t *sp, const char *line,
    size_t len, uint64_t seq, int64_t time);

/**
 * @brief Writes the appended lines to the file: until then they cannot be
 *        sent.
 * @returns 0, or -1 with a sentence in errstr.
 */
int mcpu_sim_spool_write(mcpu_sim_spool_t *sp, char *errstr,
    size_t errstr_size);

/**
 * @brief The first events in the file, at most max_events and max_bytes
 *        bytes (at least one event whatever its size), read into buf (of
 *        max_bytes at least).
 * @returns the number of events, 0 when none is written yet, or -1 with a
 *          sentence in errstr; *len gets the bytes.
 */
ssize_t mcpu_sim_spool_read(mcpu_sim_spool_t *sp, size_t max_events,
    size_t max_bytes, char *buf, size_t *len, char *errstr,
    size_t errstr_size);

/**
 * @brief Removes the first n events (acknowledged, refused, or known to
 *        the server), and records it in the header.
 * @returns 0, or -1 with a sentence in errstr.
 */
int mcpu_sim_spool_remove(mcpu_sim_spool_t *sp, size_t n, char *errstr,
    size_t errstr_size);

/** @brief How many of the first events have a seq of at most seq. */
size_t mcpu_sim_spool_count_upto(const mcpu_sim_spool_t *sp, uint64_t seq);

/** @brief The i-th waiting event (0: the first). */
#define mcpu_sim_spool_entry(sp, i)  (&(sp)->entries[(sp)->head + (i)])

#endif /* MCPU_SIM_SPOOL_H */
