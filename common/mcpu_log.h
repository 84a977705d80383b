/*
 * mcpu_log.h: the log of every mcpu program, one line per event, to stderr
 * or the log file:
 *
 *   2026-11-23T22:00:00.123Z mcpu-batcher[1234] INFO message
 *
 * Each line is written with one write(2), so lines from the main thread and
 * from librdkafka's threads (log_cb) never interleave.  One log per
 * process: the state is the file's, not a handle's.
 */

#ifndef MCPU_LOG_H
#define MCPU_LOG_H

#include <stddef.h>

#define MCPU_LOG_CRIT    2
#define MCPU_LOG_ERROR   3
#define MCPU_LOG_WARN    4
#define MCPU_LOG_NOTICE  5
#define MCPU_LOG_INFO    6
#define MCPU_LOG_DEBUG   7   /* levels are syslog's, as librdkafka's */

/**
 * @brief Names the program in every line from now on (prog, e.g.
 *        "mcpu-batcher"), and sends the log to path (appending, created
 *        0640 if missing), or keeps stderr when path is NULL or empty.
 *        prog and path must stay valid until the process exits.
 * @returns 0, or -1 with a sentence in errstr (the log stays on stderr).
 * @locality main thread, before librdkafka starts.
 */
int mcpu_log_open(const char *prog, const char *path, char *errstr,
    size_t errstr_size);

/**
 * @brief Reopens the log file (SIGHUP, after logrotate moved it).  The new
 *        file takes the old descriptor's number with dup3(), so a
 *        librdkafka thread logging at that moment writes to one file or the
 *        other.
 * @returns 0 (also when logging to stderr), or -1 with a sentence in
 *          errstr; the old file is kept then.
 * @locality main thread.
 */
int mcpu_log_reopen(char *errstr, size_t errstr_size);

/**
 * @brief Drops lines less severe than level from now on (-t prints only
 *        its verdict).
 * @locality main thread, before librdkafka starts.
 */
void mcpu_log_level(int level);

/**
 * @brief Writes one line at level (MCPU_LOG_*); a level out of range is
 *        taken as MCPU_LOG_DEBUG.  Newlines in the message become spaces,
 *        and a line is cut at 2 KiB.
 * @locality any thread.
 */
void mcpu_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* MCPU_LOG_H */
