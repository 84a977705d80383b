/*
 * mcpu_sim_scenario.h: the scenario mcpu-sim plays, read from a small file
 * (-c FILE), one `keyword [NAME] key=value ...` line each:
 *
 *   population clients=500
 *   version 6.04 weight=4
 *   os Windows weight=6 versions=10.0.19045,10.0.22631
 *   measure interval=5 cores=2-8 baseline=2-10 noise=1.5
 *   session length=10m-2h gap=5m-1h
 *   transfers rate_per_hour=6 duration=20s-5m progress_every=10 bytes=...
 *   activity Indexing rate_per_hour=1 duration=1m-10m
 *   cause version=6.04 os=Windows event=FileTransferStarted delay=2-8
 *         rise=40-60 duration=20-40
 *   hot version=6.03 add=10-15
 *   spikes rate_per_hour=2 rise=30-50 duration=5-10
 *   bump event=FileTransferStarted rise=3-6 duration=until-completed
 *
 * A "cause" is what an analysis must find; "hot", "spikes" and "bump" are
 * distractors it must not blame.  The format, every keyword and every key
 * are described in sim/README.md; the parser refuses anything else with
 * FILE:LINE and the reason.
 */

#ifndef MCPU_SIM_SCENARIO_H
#define MCPU_SIM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>


#define MCPU_SIM_TYPE_MAX        64     /* bytes of an event type, as the
                                           module's mcpu_event_type_allow */
#define MCPU_SIM_CORES_MAX       64     /* cores of a client: its event line
                                           stays under 1 KiB */

/* the event types mcpu-sim sends, as small numbers: the built-in ones,
 * then two per activity (Started, Completed) */
#define MCPU_SIM_EV_APP_OPENED         0
#define MCPU_SIM_EV_APP_CLOSED         1
#define MCPU_SIM_EV_TRANSFER_STARTED   2
#define MCPU_SIM_EV_TRANSFER_PROGRESS  3
#define MCPU_SIM_EV_TRANSFER_COMPLETED 4
#define MCPU_SIM_EV_CPU                5
#define MCPU_SIM_EV_ACTIVITY           6   /* + 2 * activity (+ 1: done) */


/* a value drawn uniformly from [lo, hi]; lo == hi: that value */
typedef struct {
    double  lo;
    double  hi;
} mcpu_sim_range_t;


typedef struct {
    char    *name;
    long     weight;
    size_t   clients;          /* drawn, for the truth file */
} mcpu_sim_version_t;


typedef struct {
    char    *name;
    long     weight;
    char   **versions;         /* drawn with equal weights */
    size_t   nversions;
    size_t   clients;
} mcpu_sim_os_t;


typedef struct {
    char              *name;           /* "Indexing" */
    char              *started;        /* "IndexingStarted" */
    char              *completed;      /* "IndexingCompleted" */
    double             rate_per_hour;  /* starts per hour of session */
    mcpu_sim_range_t   duration;       /* seconds */
    unsigned           line;
} mcpu_sim_activity_t;


typedef enum {
    MCPU_SIM_RULE_CAUSE = 0,   /* what the analysis must find */
    MCPU_SIM_RULE_BUMP,        /* the same mechanics, small: a distractor */
    MCPU_SIM_RULE_HOT,         /* a constant extra for some clients */
    MCPU_SIM_RULE_SPIKES       /* random spikes, tied to no event */
} mcpu_sim_rule_kind_t;


/* a planted CPU effect, and what it did in the run */
typedef struct {
    mcpu_sim_rule_kind_t  kind;
    unsigned              line;

    /* which clients: -1 / NULL: any */
    int                   version;      /* index into versions */
    int                   os;           /* index into oses */
    char                 *os_version;

    /* cause, bump: the event that starts it */
    int                   event;        /* MCPU_SIM_EV_* */
    unsigned              until:1;      /* duration=until-completed */

    mcpu_sim_range_t      delay;        /* seconds after the event */
    mcpu_sim_range_t      rise;         /* CPU points; hot: add= */
    mcpu_sim_range_t      duration;     /* seconds */
    double                rate_per_hour;   /* spikes */

    /* outcomes, for the truth file */
    uint64_t              clients;      /* clients it applies to */
    uint64_t              occurrences;  /* times it fired */
} mcpu_sim_rule_t;


typedef struct {
    char                 *path;
    long                  clients;           /* population clients= */

    mcpu_sim_version_t   *versions;
    size_t                nversions;
    mcpu_sim_os_t        *oses;
    size_t                noses;
    mcpu_sim_activity_t  *activities;
    size_t                nactivities;
    mcpu_sim_rule_t      *rules;
    size_t                nrules;

    /* measure */
    double                measure_interval;  /* seconds */
    mcpu_sim_range_t      cores;
    mcpu_sim_range_t      baseline;          /* CPU %, per client */
    double                noise;             /* standard deviation */

    /* session */
    mcpu_sim_range_t      session_length;    /* seconds */
    mcpu_sim_range_t      session_gap;

    /* transfers */
    double                transfer_rate;     /* per hour of session */
    mcpu_sim_range_t      transfer_duration; /* seconds */
    double                progress_every;    /* seconds */
    mcpu_sim_range_t      transfer_bytes;
} mcpu_sim_scenario_t;


/**
 * @brief Reads the scenario file at path into sc (zeroed first), with the
 *        defaults for what it does not say.
 * @returns 0, or -1 with one line in errstr: "FILE:LINE: keyword: reason"
 *          (or the file and the reason).  sc is to be freed with
 *          mcpu_sim_scenario_free() in both cases.
 * @locality main thread, at start-up.
 */
int mcpu_sim_scenario_load(mcpu_sim_scenario_t *sc, const char *path,
    char *errstr, size_t errstr_size);

/** @brief Frees what load allocated; accepts a half-filled scenario. */
void mcpu_sim_scenario_free(mcpu_sim_scenario_t *sc);

/** @brief The name of event type ev (MCPU_SIM_EV_*). */
const char *mcpu_sim_scenario_type(const mcpu_sim_scenario_t *sc, int ev);

/**
 * @brief Writes into buf the nginx directive the ingest location needs for
 *        the scenario's activities, "mcpu_event_type_allow A B ...;", or ""
 *        when it has none.
 */
void mcpu_sim_scenario_allow(const mcpu_sim_scenario_t *sc, char *buf,
    size_t size);

/** @brief "cause", "bump", "hot" or "spikes". */
const char *mcpu_sim_rule_kind(mcpu_sim_rule_kind_t kind);

#endif /* MCPU_SIM_SCENARIO_H */
