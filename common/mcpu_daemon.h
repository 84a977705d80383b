/*
 * mcpu_daemon.h: what every mcpu daemon does the same way: its signals and
 * its Prometheus text file.
 *
 * Signals: SIGTERM and SIGINT set mcpu_daemon_stop, SIGHUP sets
 * mcpu_daemon_reopen (the log, after logrotate), SIGPIPE is ignored (a
 * peer that went away is an error return, not a death).  The handlers only
 * set flags; the main loop reads them.
 *
 * Text file: the metrics are written whole to PATH.tmp and renamed over
 * PATH, so a reader (node_exporter's textfile collector, an nginx
 * location) never sees half of it.
 */

#ifndef MCPU_DAEMON_H
#define MCPU_DAEMON_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>


extern volatile sig_atomic_t  mcpu_daemon_stop;
extern volatile sig_atomic_t  mcpu_daemon_reopen;


/** @brief Milliseconds since the epoch: for times that are written down. */
int64_t mcpu_daemon_wall_ms(void);

/** @brief Milliseconds of a clock no time step moves: for deadlines. */
int64_t mcpu_daemon_mono_ms(void);

/** @returns 0, or -1 with errno (sigaction). */
int mcpu_daemon_signals(void);

/**
 * @brief Opens PATH.tmp for writing; tmp receives its name.
 * @returns the stream, or NULL with a sentence in errstr.
 */
FILE *mcpu_daemon_textfile_open(const char *path, char *tmp, size_t tmp_size,
    char *errstr, size_t errstr_size);

/**
 * @brief Closes f and renames tmp over path; on any failure tmp is
 *        removed and path left as it was.
 * @returns 0, or -1 with a sentence in errstr.
 */
int mcpu_daemon_textfile_commit(FILE *f, const char *tmp, const char *path,
    char *errstr, size_t errstr_size);

#endif /* MCPU_DAEMON_H */
