/*
 * mcpu_report_conf.h: mcpu-report's settings.  As every mcpu program's,
 * one row per option in a table (mcpu_report_conf.c) read by the shared
 * option engine (common/mcpu_conf.h): the file, the command line, the
 * defaults, --help and --list-options (which the README's option list is
 * generated from).
 */

#ifndef MCPU_REPORT_CONF_H
#define MCPU_REPORT_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "mcpu_conf.h"


/* the largest time a period may name: ClickHouse's DateTime ends in 2106 */
#define MCPU_REPORT_TIME_MAX_MS   4294967295000LL


typedef struct {
    char                 *config_file;      /* -c; NULL: none */
    char                 *url;              /* ClickHouse's HTTP interface */
    long                  timeout_s;        /* per query */
    char                 *from;             /* as given; NULL: all */
    char                 *to;
    double                rise;             /* points */
    long                  rise_span_s;
    long                  window_s;
    double                cpu_threshold;    /* percent */
    long                  cpu_sustain_s;
    long                  min_support;      /* occurrences */
    long                  min_clients;
    long                  min_followed;     /* occurrences followed by a
                                               rise */
    double                z;                /* Wilson's z */
    long                  top;              /* suspects listed, at most */
    char                 *html;             /* "": none */
    char                 *json;             /* "": stdout unless html;
                                               "-": stdout */
    char                 *sql_dir;          /* "": the built-in queries */
    char                 *log_file;         /* "": stderr */

    /* the option engine's kafka.* / -X list: mcpu-report has no such
     * option, so it stays empty */
    mcpu_conf_kafka_prop_t  *kafka;
    size_t                   nkafka;

    int                   test;             /* -t: check and exit */

    /* derived from the above by the derive callback */
    int64_t               from_ms;          /* 0 when from is NULL */
    int64_t               to_ms;            /* exclusive; the end of
                                               DateTime when to is NULL */
} mcpu_report_conf_t;


/**
 * @brief Fills conf from the defaults, the file named by -c, then the rest
 *        of the command line, and resolves --from/--to to milliseconds
 *        (the relative forms, e.g. -12h, from the clock).  --help,
 *        --version and --list-options print to stdout.  A bare --json (as
 *        the last argument, or followed by another option) means --json -.
 * @returns MCPU_CONF_OK; MCPU_CONF_DONE when an output-only option was
 *          handled; MCPU_CONF_ERROR with one line in errstr naming the
 *          option and the value (and FILE:LINE for the file).
 */
int mcpu_report_conf_load(mcpu_report_conf_t *conf, int argc, char **argv,
    char *errstr, size_t errstr_size);

/** @brief Frees what conf_load allocated; accepts a half-filled conf. */
void mcpu_report_conf_free(mcpu_report_conf_t *conf);

/**
 * @brief Parses a time as --from and --to take it: RFC 3339
 *        (2026-11-23T22:00:00Z, fractions of a second and a ±hh:mm offset
 *        allowed), a date (2026-11-23, midnight UTC), epoch milliseconds
 *        (digits only), or -N followed by m, h or d (that long before
 *        now_ms).
 * @returns 0 with *ms set, or -1 (not one of those, or outside 1970 ..
 *          2106-02-07).
 */
int mcpu_report_conf_time(const char *s, int64_t now_ms, int64_t *ms);

#endif /* MCPU_REPORT_CONF_H */
