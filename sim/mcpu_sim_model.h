/*
 * mcpu_sim_model.h: what one simulated client does, and its CPU.
 *
 * A client draws, once, its version, OS, OS version, number of cores
 * (scenario `measure cores=`), baseline CPU (`baseline=`) and the extra of
 * every `hot` rule it matches.  Then it lives sessions (AppOpened ...
 * AppClosed, `session length= gap=`), and during a session:
 *
 *   - a CpuMeasurement every `measure interval=` seconds: "usage" is the
 *     app's CPU on each core, whose mean is the app's CPU%: baseline + hot
 *     + noise (normal, `noise=` standard deviation) + every effect active
 *     at that moment, clamped to 0..100; the cores spread around the mean
 *     and are re-centred on it;
 *   - file transfers, started at random (Poisson, `transfers
 *     rate_per_hour=`), each a FileTransferStarted, a FileTransferProgress
 *     every `progress_every=` seconds and a FileTransferCompleted;
 *   - each `activity NAME`: NAMEStarted, NAMECompleted, at random;
 *   - `spikes`: random rises tied to no event.
 *
 * An event that a `cause` or `bump` rule names, for a client the rule's
 * filters match, starts an effect: `rise` points, after `delay` seconds,
 * for `duration` seconds or until the matching completion (the transfer's
 * FileTransferCompleted, the activity's ...Completed, AppClosed).  Closing
 * the app completes what is running ("status":"aborted") and ends every
 * effect.
 *
 * Session, transfer and activity ids are made of the client id and the
 * seq of the event that starts them, so they are unique across runs too.
 *
 * Everything a client draws comes from its own random stream, seeded by
 * the run's seed and the client's number: the events do not depend on the
 * order in which clients are advanced nor on the server's answers.
 */

#ifndef MCPU_SIM_MODEL_H
#define MCPU_SIM_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "mcpu_sim_scenario.h"
#include "mcpu_sim_spool.h"


#define MCPU_SIM_ID_LEN     17      /* "6a:d6:96:d3:45:35" */
#define MCPU_SIM_NEVER      INT64_MAX


/* xoshiro256** (Blackman, Vigna), seeded through splitmix64 */
typedef struct {
    uint64_t  s[4];
} mcpu_sim_rng_t;


/* a rise of the CPU, from start (included) to end (excluded) */
typedef struct {
    int64_t   start;
    int64_t   end;           /* MCPU_SIM_NEVER: until `until` completes */
    double    rise;
    uint64_t  until;         /* the instance whose completion ends it */
} mcpu_sim_effect_t;


typedef struct {
    uint64_t  no;            /* the seq of its FileTransferStarted */
    int64_t   started;
    int64_t   end;
    int64_t   next;          /* the next progress, or end */
    uint64_t  bytes;
} mcpu_sim_transfer_t;


/* one activity of the scenario, for one client */
typedef struct {
    int64_t   next;          /* its next start or, while active, its end */
    uint64_t  no;            /* the seq of its ...Started */
    int       active;
} mcpu_sim_doing_t;


typedef struct {
    mcpu_sim_rng_t         rng;
    char                   id[MCPU_SIM_ID_LEN + 1];
    char                   tag[13];        /* the id's hex digits, for
                                              session and transfer ids */
    int                    version;
    int                    os;
    int                    os_version;     /* into the os's versions */
    int                    cores;
    double                 baseline;
    double                 hot;

    unsigned char         *matches;        /* per rule: it applies */
    int64_t               *next_spike;     /* per rule (spikes rules) */
    mcpu_sim_doing_t      *doing;          /* per activity */

    int                    in_session;
    uint64_t               session_no;     /* the seq of its AppOpened */
    int64_t                session_end;
    int64_t                next_open;
    int64_t                next_measure;
    int64_t                next_transfer;

    mcpu_sim_transfer_t   *transfers;
    size_t                 ntransfers;
    size_t                 ctransfers;

    mcpu_sim_effect_t     *effects;
    size_t                 neffects;
    size_t                 ceffects;

    uint64_t               events;         /* generated */
    uint64_t               first_seq;      /* of this run; 0: none yet */
} mcpu_sim_model_t;


/**
 * @brief Draws client number idx of the run seeded with seed: its id, its
 *        population and its first session, starting at start_ms.  Counts
 *        it in the scenario (versions, OSes, rules it matches).
 * @returns 0, or -1 when out of memory.
 */
int mcpu_sim_model_init(mcpu_sim_model_t *m, mcpu_sim_scenario_t *sc,
    uint64_t seed, size_t idx, int64_t start_ms);

void mcpu_sim_model_free(mcpu_sim_model_t *m);

/**
 * @brief Generates the client's events with a time up to until_ms
 *        (included), appending each to the spool (which gives it its seq).
 *        Counts the rules that fire in the scenario.
 * @returns 0, or -1 when out of memory.
 */
int mcpu_sim_model_advance(mcpu_sim_model_t *m, mcpu_sim_scenario_t *sc,
    int64_t until_ms, mcpu_sim_spool_t *sp);

#endif /* MCPU_SIM_MODEL_H */
