/*
 * mcpu_batcher_log.h: one line per event, to stderr or the log file:
 *
 *   2026-11-23T22:00:00.123Z mcpu-batcher[1234] INFO message
 *
 * Each line is written with one write(2), so lines from the main thread and
 * from librdkafka's threads (log_cb) never interleave.
 */

#ifndef MCPU_BATCHER_LOG_H
#define MCPU_BATCHER_LOG_H

#include <stddef.h>

#define MCPU_BATCHER_LOG_CRIT    2
#define MCPU_BATCHER_LOG_ERROR   3
#define MCPU_BATCHER_LOG_WARN    4
#define MCPU_BATCHER_LOG_NOTICE  5
#define MCPU_BATCHER_LOG_INFO    6
#define MCPU_BATCHER_LOG_DEBUG   7   /* levels are syslog's, as librdkafka's */

/**
 * @brief Sends the log to path (appending, created 0640 if missing), or
 *        keeps stderr when path is NULL or empty.
 * @returns MCPU_BATCHER_OK, or MCPU_BATCHER_ERROR with a sentence in errstr.
 * @locality main thread, before librdkafka starts.
 */
int mcpu_batcher_log_open(const char *path, char *errstr, size_t errstr_size);

/**
 * @brief Reopens the log file (SIGHUP, after logrotate moved it).  The new
 *        file takes the old descriptor's number with dup2(), so a librdkafka
 *        thread logging at that moment writes to one file or the other.
 * @returns MCPU_BATCHER_OK (also when logging to stderr), or
 *          MCPU_BATCHER_ERROR with a sentence in errstr; the old file is
 *          kept then.
 * @locality main thread.
 */
int mcpu_batcher_log_reopen(char *errstr, size_t errstr_size);

/**
 * @brief Drops lines less severe than level from now on (-t prints only
 *        its verdict).
 * @locality main thread, before librdkafka starts.
 */
void mcpu_batcher_log_level(int level);

/**
 * @brief Writes one line at level (MCPU_BATCHER_LOG_*).
 * @locality any thread.
 */
void mcpu_batcher_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* MCPU_BATCHER_LOG_H */
