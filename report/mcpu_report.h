/*
 * mcpu_report.h: mcpu-report's findings, as the analysis
 * (mcpu_report_analysis.c) leaves them for the outputs
 * (mcpu_report_json.c, mcpu_report_html.c).
 *
 * The questions (README "mcpu-report"):
 *
 *   suspects   which event types, in which group of clients (version, OS,
 *              OS version, or coarser), are followed within window_s by a
 *              fast CPU rise (rise points from one measurement to the
 *              next) more often than an arbitrary moment of the same
 *              group's clients is: P(rise | event, group) over
 *              baseline(group), ranked by a conservative lift (Wilson
 *              bounds at a z adjusted for the number of comparisons), so
 *              that a handful of occurrences cannot top the list;
 *   drill-down the share of sessions whose CPU stayed over cpu_threshold
 *              for cpu_sustain_s, split by version, OS and OS version, and
 *              at each level the event types seen within window_s before
 *              the CPU went over.
 *
 * Exit codes of mcpu-report: 0 report written, 1 a failure at run time
 * (ClickHouse, the table, no data, a query), 2 a bad configuration.
 */

#ifndef MCPU_REPORT_H
#define MCPU_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "mcpu_report_conf.h"


#define MCPU_REPORT_EXIT_OK         0
#define MCPU_REPORT_EXIT_FAILED     1
#define MCPU_REPORT_EXIT_CONFIG     2

#define MCPU_REPORT_ERRSTR_SIZE     1024

/* the fields that narrow a group: bits of a group's level, as in the SQL */
#define MCPU_REPORT_BY_VERSION      1
#define MCPU_REPORT_BY_OS           2
#define MCPU_REPORT_BY_OS_VERSION   4

/* a conservative lift from which the headline names the top suspect as
 * the likely cause; below it, as a weak candidate */
#define MCPU_REPORT_STRONG          2.0

/* suspects shown up close (CPU around the event), at most */
#define MCPU_REPORT_CLOSE_UP        3

/* the "CPU around the event" chart: from -30 s to +60 s in 5 s steps */
#define MCPU_REPORT_PROFILE_BEFORE_MS   30000
#define MCPU_REPORT_PROFILE_AFTER_MS    60000
#define MCPU_REPORT_PROFILE_STEP_MS     5000

/* the example client's timeline: from -2 min to +4 min */
#define MCPU_REPORT_TIMELINE_BEFORE_MS  120000
#define MCPU_REPORT_TIMELINE_AFTER_MS   240000


/* a group of clients: the fields its level names; "" elsewhere (all) */
typedef struct {
    int                        level;
    char                      *version;
    char                      *os;
    char                      *os_version;
} mcpu_report_group_t;


/* baseline.sql: one group's measurements */
typedef struct {
    mcpu_report_group_t        group;
    uint64_t                   measurements;
    uint64_t                   followed;       /* by a rise within the
                                                  window */
    uint64_t                   rises;
    uint64_t                   clients;
    double                     cpu_sum;
} mcpu_report_base_t;


/* suspects.sql: one event type in one group, with the verdict */
typedef struct {
    char                      *type;
    mcpu_report_group_t        group;
    uint64_t                   occurrences;    /* the support */
    uint64_t                   followed;
    uint64_t                   clients;
    int                        has_example;    /* an occurrence followed
                                                  by a rise: */
    char                      *ex_client;
    int64_t                    ex_ms;

    const mcpu_report_base_t  *base;           /* the same group's; NULL:
                                                  no measurement */
    double                     p;              /* P(rise | event, group) */
    double                     p_low;          /* its Wilson lower bound */
    double                     b;              /* baseline(group) */
    double                     b_high;         /* its Wilson upper bound */
    double                     lift;           /* p / b */
    double                     score;          /* p_low / b_high: the
                                                  conservative lift */
    int                        eligible;       /* enough support
                                                  (occurrences, clients,
                                                  followed) */
    int                        listed;         /* ranked: eligible, score
                                                  > 1, not outscored by a
                                                  coarser group */
} mcpu_report_suspect_t;


/* profile.sql: the mean CPU at one offset from the event */
typedef struct {
    int64_t                    offset_ms;
    uint64_t                   measurements;
    double                     cpu;
} mcpu_report_point_t;


/* timeline.sql: one row of the example client */
typedef struct {
    int64_t                    time_ms;
    char                      *type;
    double                     cpu;
} mcpu_report_moment_t;


/* an event type seen before the CPU went over, in so many sessions */
typedef struct {
    char                      *type;
    uint64_t                   sessions;
} mcpu_report_seen_t;


/* a node of the drill-down: the root, a version, an OS, an OS version */
typedef struct mcpu_report_node_s  mcpu_report_node_t;

struct mcpu_report_node_s {
    char                      *label;          /* NULL at the root */
    int                        depth;          /* 0 root, 1 version, 2 OS,
                                                  3 OS version */
    uint64_t                   sessions;
    uint64_t                   over;           /* sessions over the
                                                  threshold */
    uint64_t                   episodes;
    mcpu_report_seen_t        *seen;           /* by sessions, descending */
    size_t                     nseen;
    mcpu_report_node_t        *children;       /* by over, descending */
    size_t                     nchildren;
};


/* a suspect up close: the CPU around its occurrences */
typedef struct {
    const mcpu_report_suspect_t  *suspect;
    mcpu_report_point_t          *points;
    size_t                        npoints;
    double                        mean_cpu;    /* the group's, over all its
                                                  measurements */
} mcpu_report_close_up_t;


typedef struct {
    const mcpu_report_conf_t  *conf;

    /* rows.sql: the period */
    uint64_t                   rows;
    uint64_t                   measurements;
    uint64_t                   clients;
    uint64_t                   sessions;
    int64_t                    first_ms;
    int64_t                    last_ms;

    mcpu_report_base_t        *bases;
    size_t                     nbases;

    mcpu_report_suspect_t     *all;            /* every (type, group) */
    size_t                     nall;
    size_t                     eligible;       /* of them with support:
                                                  the comparisons made */
    double                     z;              /* conf->z adjusted for
                                                  them */
    mcpu_report_suspect_t    **ranked;         /* the listed ones, best
                                                  first, conf->top at
                                                  most */
    size_t                     nranked;

    mcpu_report_close_up_t     close_up[MCPU_REPORT_CLOSE_UP];
    size_t                     nclose_up;

    mcpu_report_moment_t      *timeline;       /* ranked[0]'s example */
    size_t                     ntimeline;

    mcpu_report_node_t         root;           /* the drill-down */

    double                     elapsed_s;      /* the queries' time */
} mcpu_report_t;


/**
 * @brief The headline: one or two sentences a person reads first (the top
 *        suspect, then the drill-down's main path), in buf.
 */
void mcpu_report_headline(const mcpu_report_t *r, char *buf, size_t size);

/**
 * @brief A group as text, e.g. "6.04 / Windows / all OS versions", or
 *        "all clients"; empty values read "(unknown)".
 */
void mcpu_report_group_text(const mcpu_report_group_t *g, char *buf,
    size_t size);

/**
 * @brief A share (0..1) as a percentage with as many decimals as make it
 *        readable: "42%", "2.6%", "0.83%".
 * @returns buf.
 */
const char *mcpu_report_pct(double x, char *buf, size_t size);

/** @brief An epoch time in ms as RFC 3339 UTC with ms, in buf (>= 32). */
void mcpu_report_time_text(int64_t ms, char *buf, size_t size);

#endif /* MCPU_REPORT_H */
