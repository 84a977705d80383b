/*
 * mcpu_batcher.h: what every file of mcpu-batcher shares: the program's
 * name and version, the outcome codes of its functions and its exit codes.
 */

#ifndef MCPU_BATCHER_H
#define MCPU_BATCHER_H

#define MCPU_BATCHER_NAME        "mcpu-batcher"
#define MCPU_BATCHER_VERSION     "0.1.0"

/* outcomes of the batcher's own functions (errstr convention) */
#define MCPU_BATCHER_OK           0
#define MCPU_BATCHER_ERROR       -1
#define MCPU_BATCHER_STOPPED     -2   /* a stop signal arrived while waiting */
#define MCPU_BATCHER_DONE        -3   /* the command line asked for output
                                         only (--help, --version, ...) */

/* exit codes: documented in --help */
#define MCPU_BATCHER_EXIT_OK      0   /* clean stop, Kafka away or not */
#define MCPU_BATCHER_EXIT_FAILURE 1   /* runtime failure: corrupt ring, another
                                         batcher, a producer that could not
                                         be re-created after a fatal error */
#define MCPU_BATCHER_EXIT_CONFIG  2   /* a setting was refused at start-up */

#endif /* MCPU_BATCHER_H */
