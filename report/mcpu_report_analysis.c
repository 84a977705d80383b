/*
 * mcpu_report_analysis.c: the queries, then the verdict.  See
 * mcpu_report_analysis.h; what is computed and why is in mcpu_report.h
 * and the README's "mcpu-report".
 *
 * The steps, each a function:
 *   period     rows.sql: is there anything to analyse;
 *   baseline   baseline.sql: per group, how often a fast rise follows an
 *              arbitrary measurement;
 *   suspects   suspects.sql: per event type and group, how often one
 *              follows the event; then the ranking, here in C;
 *   drilldown  drilldown.sql and drilldown_context.sql: the tree;
 *   close_up   profile.sql for the first suspects, timeline.sql for the
 *              first one's example.
 */

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcpu_log.h"
#include "mcpu_report_analysis.h"
#include "mcpu_report_ch.h"
#include "mcpu_report_sql.h"


#define MCPU_REPORT_PARAMS_MAX   24
#define MCPU_REPORT_VALUE_SIZE   32

/* a group's level bits, all three fields */
#define MCPU_REPORT_BY_ALL  (MCPU_REPORT_BY_VERSION | MCPU_REPORT_BY_OS \
                             | MCPU_REPORT_BY_OS_VERSION)


/* the run: the connection and the parameters every query takes */
typedef struct {
    const mcpu_report_conf_t  *conf;
    mcpu_report_ch_t           ch;
    mcpu_report_param_t        params[MCPU_REPORT_PARAMS_MAX];
    size_t                     nparams;
    char                       values[MCPU_REPORT_PARAMS_MAX]
                                     [MCPU_REPORT_VALUE_SIZE];
    double                     elapsed_s;
} mcpu_report_run_t;


static void mcpu_report_run_params(mcpu_report_run_t *run);
static void mcpu_report_param(mcpu_report_run_t *run, const char *name,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int mcpu_report_query(mcpu_report_run_t *run, const char *name,
    const mcpu_report_param_t *extra, size_t nextra,
    mcpu_report_rows_t *rows, char *errstr, size_t errstr_size);
static int mcpu_report_cols(const char *name, const mcpu_report_rows_t *rows,
    const char *const *names, int *cols, size_t n, char *errstr,
    size_t errstr_size);
static int mcpu_report_period(mcpu_report_run_t *run, mcpu_report_t *r,
    char *errstr, size_t errstr_size);
static int mcpu_report_baseline(mcpu_report_run_t *run, mcpu_report_t *r,
    char *errstr, size_t errstr_size);
static int mcpu_report_suspects(mcpu_report_run_t *run, mcpu_report_t *r,
    char *errstr, size_t errstr_size);
static void mcpu_report_rank(mcpu_report_t *r);
static int mcpu_report_drilldown(mcpu_report_run_t *run, mcpu_report_t *r,
    char *errstr, size_t errstr_size);
static int mcpu_report_close_up(mcpu_report_run_t *run, mcpu_report_t *r,
    char *errstr, size_t errstr_size);
static int mcpu_report_timeline(mcpu_report_run_t *run, mcpu_report_t *r,
    char *errstr, size_t errstr_size);
static int mcpu_report_group_read(const mcpu_report_rows_t *rows, size_t row,
    int level, int version, int os, int os_version, mcpu_report_group_t *g);
static int mcpu_report_group_eq(const mcpu_report_group_t *a,
    const mcpu_report_group_t *b);
static int mcpu_report_group_within(const mcpu_report_group_t *outer,
    const mcpu_report_group_t *inner);
static void mcpu_report_group_free(mcpu_report_group_t *g);
static int mcpu_report_by_score(const void *a, const void *b);
static mcpu_report_node_t *mcpu_report_node_child(mcpu_report_node_t *node,
    const char *label);
static int mcpu_report_node_seen(mcpu_report_node_t *node, const char *type,
    uint64_t sessions);
static void mcpu_report_node_sort(mcpu_report_node_t *node);
static void mcpu_report_node_free(mcpu_report_node_t *node);
static void mcpu_report_hex(const char *s, char *buf, size_t size);
static double mcpu_report_now_s(void);


int
mcpu_report_analyse(mcpu_report_t *r, const mcpu_report_conf_t *conf,
    char *errstr, size_t errstr_size)
{
    int                 rc;
    mcpu_report_run_t   run;

    memset(r, 0, sizeof(*r));
    memset(&run, 0, sizeof(run));
    r->conf = conf;
    run.conf = conf;

    if (mcpu_report_ch_open(&run.ch, conf->url, conf->timeout_s, errstr,
                            errstr_size) != 0)
    {
        mcpu_report_ch_close(&run.ch);
        return MCPU_REPORT_EXIT_FAILED;
    }

    mcpu_report_run_params(&run);

    rc = MCPU_REPORT_EXIT_FAILED;

    if (mcpu_report_period(&run, r, errstr, errstr_size) != 0
        || mcpu_report_baseline(&run, r, errstr, errstr_size) != 0
        || mcpu_report_suspects(&run, r, errstr, errstr_size) != 0
        || mcpu_report_drilldown(&run, r, errstr, errstr_size) != 0
        || mcpu_report_close_up(&run, r, errstr, errstr_size) != 0
        || mcpu_report_timeline(&run, r, errstr, errstr_size) != 0)
    {
        goto done;
    }

    rc = MCPU_REPORT_EXIT_OK;

done:

    r->elapsed_s = run.elapsed_s;
    mcpu_report_ch_close(&run.ch);
    return rc;
}


int
mcpu_report_check(const mcpu_report_conf_t *conf, char *errstr,
    size_t errstr_size)
{
    int                   rc;
    char                 *text, *sql, hex[8];
    size_t                i;
    mcpu_report_run_t     run;
    mcpu_report_rows_t    rows;
    mcpu_report_param_t   extra[12];

    static const char  *queries[] = {
        "rows", "baseline", "suspects", "drilldown", "drilldown_context",
        "profile", "timeline"
    };

    memset(&run, 0, sizeof(run));
    run.conf = conf;
    mcpu_report_run_params(&run);

    /* every parameter a query may take, with a value of the right form */
    mcpu_report_hex("x", hex, sizeof(hex));
    extra[0] = (mcpu_report_param_t) { "type_hex", hex };
    extra[1] = (mcpu_report_param_t) { "version_hex", hex };
    extra[2] = (mcpu_report_param_t) { "os_hex", hex };
    extra[3] = (mcpu_report_param_t) { "os_version_hex", hex };
    extra[4] = (mcpu_report_param_t) { "client_hex", hex };
    extra[5] = (mcpu_report_param_t) { "level", "7" };
    extra[6] = (mcpu_report_param_t) { "before_ms", "1" };
    extra[7] = (mcpu_report_param_t) { "after_ms", "1" };
    extra[8] = (mcpu_report_param_t) { "span_ms", "2" };
    extra[9] = (mcpu_report_param_t) { "step_ms", "1" };
    extra[10] = (mcpu_report_param_t) { "at_ms", "0" };

    for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        mcpu_report_param_t  all[MCPU_REPORT_PARAMS_MAX + 12];

        memcpy(all, run.params, run.nparams * sizeof(all[0]));
        memcpy(all + run.nparams, extra, 11 * sizeof(all[0]));

        if (mcpu_report_sql_load(conf->sql_dir, queries[i], &text, errstr,
                                 errstr_size) != 0)
        {
            return MCPU_REPORT_EXIT_CONFIG;
        }

        rc = mcpu_report_sql_expand(queries[i], text, all, run.nparams + 11,
                                    &sql, errstr, errstr_size);
        free(text);
        free(sql);

        if (rc != 0) {
            return MCPU_REPORT_EXIT_CONFIG;
        }
    }

    if (mcpu_report_ch_open(&run.ch, conf->url, conf->timeout_s, errstr,
                            errstr_size) != 0)
    {
        mcpu_report_ch_close(&run.ch);
        return MCPU_REPORT_EXIT_FAILED;
    }

    /* the table's columns, without reading its rows */
    rc = mcpu_report_ch_query(&run.ch, "check",
                              "SELECT * FROM mcpu.events WHERE 0", &rows,
                              errstr, errstr_size);

    mcpu_report_rows_free(&rows);
    mcpu_report_ch_close(&run.ch);

    return rc == MCPU_REPORT_CH_OK ? MCPU_REPORT_EXIT_OK
                                   : MCPU_REPORT_EXIT_FAILED;
}


void
mcpu_report_free(mcpu_report_t *r)
{
    size_t  i;

    for (i = 0; i < r->nbases; i++) {
        mcpu_report_group_free(&r->bases[i].group);
    }

    for (i = 0; i < r->nall; i++) {
        free(r->all[i].type);
        free(r->all[i].ex_client);
        mcpu_report_group_free(&r->all[i].group);
    }

    for (i = 0; i < r->nclose_up; i++) {
        free(r->close_up[i].points);
    }

    for (i = 0; i < r->ntimeline; i++) {
        free(r->timeline[i].type);
    }

    free(r->bases);
    free(r->all);
    free(r->ranked);
    free(r->timeline);
    mcpu_report_node_free(&r->root);
    memset(r, 0, sizeof(*r));
}


double
mcpu_report_wilson(uint64_t k, uint64_t n, double z, int upper)
{
    double  p, z2, centre, half, nn;

    if (n == 0) {
        return upper ? 1 : 0;
    }

    nn = (double) n;
    p = (double) k / nn;
    z2 = z * z;
    centre = p + z2 / (2 * nn);
    half = z * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));

    return (upper ? centre + half : centre - half) / (1 + z2 / nn);
}


double
mcpu_report_z_adjusted(double z, size_t m)
{
    int     i;
    double  tail, lo, hi, mid;

    if (z <= 0 || m <= 1) {
        return z;
    }

    /* the z whose one-sided tail is z's divided by m, by bisection on
     * erfc(x / sqrt 2) / 2, the normal distribution's upper tail */
    tail = erfc(z / M_SQRT2) / 2 / (double) m;
    lo = z;
    hi = 40;

    for (i = 0; i < 200; i++) {
        mid = (lo + hi) / 2;
        if (erfc(mid / M_SQRT2) / 2 > tail) {
            lo = mid;
        } else {
            hi = mid;
        }
    }

    return (lo + hi) / 2;
}


/* the parameters every query may take, as validated numbers */
static void
mcpu_report_run_params(mcpu_report_run_t *run)
{
    const mcpu_report_conf_t  *conf = run->conf;

    mcpu_report_param(run, "from_ms", "%" PRId64, conf->from_ms);
    mcpu_report_param(run, "to_ms", "%" PRId64, conf->to_ms);
    mcpu_report_param(run, "from_s", "%" PRId64, conf->from_ms / 1000);
    mcpu_report_param(run, "to_s", "%" PRId64, (conf->to_ms + 999) / 1000);
    mcpu_report_param(run, "rise", "%.6f", conf->rise);
    mcpu_report_param(run, "rise_span_ms", "%ld", conf->rise_span_s * 1000);
    mcpu_report_param(run, "window_ms", "%ld", conf->window_s * 1000);
    mcpu_report_param(run, "cpu_threshold", "%.6f", conf->cpu_threshold);
    mcpu_report_param(run, "cpu_sustain_ms", "%ld",
                      conf->cpu_sustain_s * 1000);
}


static void
mcpu_report_param(mcpu_report_run_t *run, const char *name,
    const char *fmt, ...)
{
    va_list  ap;

    if (run->nparams == MCPU_REPORT_PARAMS_MAX) {
        return;                    /* expand() then names the missing one */
    }

    va_start(ap, fmt);
    vsnprintf(run->values[run->nparams], MCPU_REPORT_VALUE_SIZE, fmt, ap);
    va_end(ap);

    run->params[run->nparams].name = name;
    run->params[run->nparams].value = run->values[run->nparams];
    run->nparams++;
}


/* loads, expands and runs query name, with the run's parameters and extra */
static int
mcpu_report_query(mcpu_report_run_t *run, const char *name,
    const mcpu_report_param_t *extra, size_t nextra,
    mcpu_report_rows_t *rows, char *errstr, size_t errstr_size)
{
    int                   rc;
    char                 *text, *sql;
    double                start, took;
    mcpu_report_param_t   all[MCPU_REPORT_PARAMS_MAX * 2];

    memset(rows, 0, sizeof(*rows));

    if (nextra > MCPU_REPORT_PARAMS_MAX) {
        snprintf(errstr, errstr_size, "query \"%s\": too many parameters",
                 name);
        return -1;
    }

    memcpy(all, run->params, run->nparams * sizeof(all[0]));
    if (nextra > 0) {
        memcpy(all + run->nparams, extra, nextra * sizeof(all[0]));
    }

    if (mcpu_report_sql_load(run->conf->sql_dir, name, &text, errstr,
                             errstr_size) != 0)
    {
        return -1;
    }

    rc = mcpu_report_sql_expand(name, text, all, run->nparams + nextra, &sql,
                                errstr, errstr_size);
    free(text);
    if (rc != 0) {
        return -1;
    }

    start = mcpu_report_now_s();
    rc = mcpu_report_ch_query(&run->ch, name, sql, rows, errstr,
                              errstr_size);
    took = mcpu_report_now_s() - start;
    run->elapsed_s += took;
    free(sql);

    if (rc != MCPU_REPORT_CH_OK) {
        return -1;
    }

    mcpu_log(MCPU_LOG_INFO, "%s.sql: %zu rows in %.3f s", name, rows->nrows,
             took);
    return 0;
}


/* the indexes of the columns names[n] of an answer, each required */
static int
mcpu_report_cols(const char *name, const mcpu_report_rows_t *rows,
    const char *const *names, int *cols, size_t n, char *errstr,
    size_t errstr_size)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        cols[i] = mcpu_report_rows_col(rows, names[i]);
        if (cols[i] < 0) {
            snprintf(errstr, errstr_size, "query \"%s\" answered without "
                     "the column \"%s\"", name, names[i]);
            return -1;
        }
    }

    return 0;
}


/* rows.sql: the table is there and the period has events */
static int
mcpu_report_period(mcpu_report_run_t *run, mcpu_report_t *r, char *errstr,
    size_t errstr_size)
{
    int                  c[6];
    char                 from[40], to[40];
    mcpu_report_rows_t   rows;

    static const char   *names[] = {
        "rows", "measurements", "clients", "sessions", "first_ms", "last_ms"
    };

    if (mcpu_report_query(run, "rows", NULL, 0, &rows, errstr, errstr_size)
        != 0
        || mcpu_report_cols("rows", &rows, names, c, 6, errstr, errstr_size)
           != 0)
    {
        mcpu_report_rows_free(&rows);
        return -1;
    }

    if (rows.nrows != 1) {
        snprintf(errstr, errstr_size, "query \"rows\" answered %zu rows, "
                 "not 1", rows.nrows);
        mcpu_report_rows_free(&rows);
        return -1;
    }

    r->rows = mcpu_report_rows_u64(&rows, 0, c[0]);
    r->measurements = mcpu_report_rows_u64(&rows, 0, c[1]);
    r->clients = mcpu_report_rows_u64(&rows, 0, c[2]);
    r->sessions = mcpu_report_rows_u64(&rows, 0, c[3]);
    r->first_ms = mcpu_report_rows_i64(&rows, 0, c[4]);
    r->last_ms = mcpu_report_rows_i64(&rows, 0, c[5]);
    mcpu_report_rows_free(&rows);

    if (r->rows == 0) {
        if (run->conf->from == NULL && run->conf->to == NULL) {
            snprintf(errstr, errstr_size, "mcpu.events at %s is empty: "
                     "nothing to analyse", run->conf->url);

        } else {
            mcpu_report_time_text(run->conf->from_ms, from, sizeof(from));
            mcpu_report_time_text(run->conf->to_ms, to, sizeof(to));
            snprintf(errstr, errstr_size, "mcpu.events at %s has no event "
                     "%s%s%s%s (options \"from\", \"to\")", run->conf->url,
                     run->conf->from ? "from " : "",
                     run->conf->from ? from : "",
                     run->conf->to ? (run->conf->from ? " to " : "before ")
                                   : " on",
                     run->conf->to ? to : "");
        }
        return -1;
    }

    mcpu_log(MCPU_LOG_INFO, "%" PRIu64 " events, %" PRIu64 " CPU "
             "measurements, %" PRIu64 " clients, %" PRIu64 " sessions",
             r->rows, r->measurements, r->clients, r->sessions);
    return 0;
}


static int
mcpu_report_baseline(mcpu_report_run_t *run, mcpu_report_t *r,
    char *errstr, size_t errstr_size)
{
    int                  c[9];
    size_t               i;
    mcpu_report_base_t  *b;
    mcpu_report_rows_t   rows;

    static const char   *names[] = {
        "level", "version", "os", "os_version", "measurements", "followed",
        "rises", "clients", "cpu_sum"
    };

    if (mcpu_report_query(run, "baseline", NULL, 0, &rows, errstr,
                          errstr_size) != 0
        || mcpu_report_cols("baseline", &rows, names, c, 9, errstr,
                            errstr_size) != 0)
    {
        mcpu_report_rows_free(&rows);
        return -1;
    }

    r->bases = calloc(rows.nrows + 1, sizeof(mcpu_report_base_t));
    if (r->bases == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        mcpu_report_rows_free(&rows);
        return -1;
    }

    for (i = 0; i < rows.nrows; i++) {
        b = &r->bases[r->nbases];

        if (mcpu_report_group_read(&rows, i, c[0], c[1], c[2], c[3],
                                   &b->group) != 0)
        {
            snprintf(errstr, errstr_size, "out of memory");
            mcpu_report_rows_free(&rows);
            return -1;
        }

        r->nbases++;
        b->measurements = mcpu_report_rows_u64(&rows, i, c[4]);
        b->followed = mcpu_report_rows_u64(&rows, i, c[5]);
        b->rises = mcpu_report_rows_u64(&rows, i, c[6]);
        b->clients = mcpu_report_rows_u64(&rows, i, c[7]);
        b->cpu_sum = mcpu_report_rows_num(&rows, i, c[8]);
    }

    mcpu_report_rows_free(&rows);
    return 0;
}


static int
mcpu_report_suspects(mcpu_report_run_t *run, mcpu_report_t *r,
    char *errstr, size_t errstr_size)
{
    int                     c[11];
    size_t                  i, j;
    const char             *h;
    mcpu_report_rows_t      rows;
    mcpu_report_suspect_t  *s;

    static const char      *names[] = {
        "type", "level", "version", "os", "os_version", "occurrences",
        "followed", "clients", "ex_h", "ex_client", "ex_ms"
    };

    if (mcpu_report_query(run, "suspects", NULL, 0, &rows, errstr,
                          errstr_size) != 0
        || mcpu_report_cols("suspects", &rows, names, c, 11, errstr,
                            errstr_size) != 0)
    {
        mcpu_report_rows_free(&rows);
        return -1;
    }

    r->all = calloc(rows.nrows + 1, sizeof(mcpu_report_suspect_t));
    r->ranked = calloc(rows.nrows + 1, sizeof(mcpu_report_suspect_t *));
    if (r->all == NULL || r->ranked == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        mcpu_report_rows_free(&rows);
        return -1;
    }

    for (i = 0; i < rows.nrows; i++) {
        s = &r->all[r->nall];

        s->type = strdup(mcpu_report_rows_str(&rows, i, c[0]));
        if (s->type == NULL
            || mcpu_report_group_read(&rows, i, c[1], c[2], c[3], c[4],
                                      &s->group) != 0)
        {
            free(s->type);
            snprintf(errstr, errstr_size, "out of memory");
            mcpu_report_rows_free(&rows);
            return -1;
        }

        r->nall++;
        s->occurrences = mcpu_report_rows_u64(&rows, i, c[5]);
        s->followed = mcpu_report_rows_u64(&rows, i, c[6]);
        s->clients = mcpu_report_rows_u64(&rows, i, c[7]);

        /* ex_h is the largest UInt64 when no occurrence had a rise */
        h = mcpu_report_rows_str(&rows, i, c[8]);
        if (s->followed > 0 && strcmp(h, "18446744073709551615") != 0) {
            s->ex_client = strdup(mcpu_report_rows_str(&rows, i, c[9]));
            if (s->ex_client == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                mcpu_report_rows_free(&rows);
                return -1;
            }
            s->ex_ms = mcpu_report_rows_i64(&rows, i, c[10]);
            s->has_example = 1;
        }

        for (j = 0; j < r->nbases; j++) {
            if (mcpu_report_group_eq(&r->bases[j].group, &s->group)) {
                s->base = &r->bases[j];
                break;
            }
        }
    }

    mcpu_report_rows_free(&rows);
    mcpu_report_rank(r);
    return 0;
}


/*
 * The verdict on every (event type, group):
 *   p       = followed / occurrences                P(rise | event, group)
 *   b       = followed / measurements of the group  baseline(group); half a
 *             rise over the measurements when there was none, so that the
 *             lift stays finite
 *   lift    = p / b
 *   score   = Wilson lower bound of p / Wilson upper bound of b: the lift
 *             that the data support with confidence, low when either count
 *             is small, which keeps a handful of events off the top
 * Eligible (a comparison made): occurrences >= min_support, clients >=
 * min_clients, followed >= min_followed, and the group has measurements.
 * The bounds are taken at conf->z adjusted for the number of comparisons m
 * (Bonferroni: the one-sided tail of z divided by m), since among hundreds
 * of (event type, group) pairs some look suspect by chance.
 *
 * Listed: eligible, score > 1, and the best of its line: no other eligible
 * group of the same event type that contains it or that it contains (6.04
 * / Windows, and 6.04 or 6.04 / Windows / 11) scores higher (or as high
 * and is the coarser).  So one cause is listed once, at the grain the data
 * support best: a cause of 6.04 / Windows shows as such, not again diluted
 * as "6.04" or split as "6.04 / Windows / 11".  Ranked by score.
 */
static void
mcpu_report_rank(mcpu_report_t *r)
{
    size_t                     i, j;
    const mcpu_report_conf_t  *conf = r->conf;
    mcpu_report_suspect_t     *s, *a;

    for (i = 0; i < r->nall; i++) {
        s = &r->all[i];

        s->p = s->occurrences ? (double) s->followed / s->occurrences : 0;

        if (s->base == NULL || s->base->measurements == 0) {
            continue;
        }

        s->b = s->base->followed > 0
               ? (double) s->base->followed / s->base->measurements
               : 0.5 / s->base->measurements;
        s->lift = s->p / s->b;

        s->eligible = s->occurrences >= (uint64_t) conf->min_support
                      && s->clients >= (uint64_t) conf->min_clients
                      && s->followed >= (uint64_t) conf->min_followed;
        r->eligible += s->eligible;
    }

    r->z = mcpu_report_z_adjusted(conf->z, r->eligible);

    for (i = 0; i < r->nall; i++) {
        s = &r->all[i];

        s->p_low = mcpu_report_wilson(s->followed, s->occurrences, r->z, 0);

        if (s->base == NULL || s->base->measurements == 0) {
            continue;
        }

        s->b_high = mcpu_report_wilson(s->base->followed,
                                       s->base->measurements, r->z, 1);
        if (s->b_high < s->b) {
            s->b_high = s->b;
        }

        s->score = s->p_low / s->b_high;
    }

    for (i = 0; i < r->nall; i++) {
        s = &r->all[i];
        s->listed = s->eligible && s->score > 1;

        for (j = 0; s->listed && j < r->nall; j++) {
            a = &r->all[j];

            if (a == s || !a->eligible || strcmp(a->type, s->type) != 0) {
                continue;
            }

            if ((mcpu_report_group_within(&a->group, &s->group)
                 && a->score >= s->score)
                || (mcpu_report_group_within(&s->group, &a->group)
                    && a->score > s->score))
            {
                s->listed = 0;
            }
        }

        if (s->listed) {
            r->ranked[r->nranked++] = s;
        }
    }

    if (r->nranked > 1) {
        qsort(r->ranked, r->nranked, sizeof(r->ranked[0]),
              mcpu_report_by_score);
    }

    if (r->nranked > (size_t) conf->top) {
        r->nranked = (size_t) conf->top;
    }
}


static int
mcpu_report_by_score(const void *pa, const void *pb)
{
    int                           c;
    const mcpu_report_suspect_t  *a = *(mcpu_report_suspect_t *const *) pa;
    const mcpu_report_suspect_t  *b = *(mcpu_report_suspect_t *const *) pb;

    if (a->score != b->score) {
        return a->score > b->score ? -1 : 1;
    }

    if (a->occurrences != b->occurrences) {
        return a->occurrences > b->occurrences ? -1 : 1;
    }

    if ((c = strcmp(a->type, b->type)) != 0) {
        return c;
    }

    if (a->group.level != b->group.level) {
        return a->group.level - b->group.level;
    }

    if ((c = strcmp(a->group.version, b->group.version)) != 0) {
        return c;
    }

    if ((c = strcmp(a->group.os, b->group.os)) != 0) {
        return c;
    }

    return strcmp(a->group.os_version, b->group.os_version);
}


/* the tree: the leaves of drilldown.sql added up along version, OS, OS
 * version; drilldown_context.sql's event types along the same path */
static int
mcpu_report_drilldown(mcpu_report_run_t *run, mcpu_report_t *r,
    char *errstr, size_t errstr_size)
{
    int                  c[6], k[5];
    size_t               i;
    uint64_t             n;
    const char          *path[3];
    mcpu_report_rows_t   rows;
    mcpu_report_node_t  *node[4];

    static const char   *names[] = {
        "version", "os", "os_version", "sessions", "over", "episodes"
    };
    static const char   *context_names[] = {
        "version", "os", "os_version", "type", "sessions"
    };

    if (mcpu_report_query(run, "drilldown", NULL, 0, &rows, errstr,
                          errstr_size) != 0
        || mcpu_report_cols("drilldown", &rows, names, c, 6, errstr,
                            errstr_size) != 0)
    {
        mcpu_report_rows_free(&rows);
        return -1;
    }

    for (i = 0; i < rows.nrows; i++) {
        path[0] = mcpu_report_rows_str(&rows, i, c[0]);
        path[1] = mcpu_report_rows_str(&rows, i, c[1]);
        path[2] = mcpu_report_rows_str(&rows, i, c[2]);

        node[0] = &r->root;
        for (int d = 1; d <= 3; d++) {
            node[d] = mcpu_report_node_child(node[d - 1], path[d - 1]);
            if (node[d] == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                mcpu_report_rows_free(&rows);
                return -1;
            }
        }

        for (int d = 0; d <= 3; d++) {
            node[d]->sessions += mcpu_report_rows_u64(&rows, i, c[3]);
            node[d]->over += mcpu_report_rows_u64(&rows, i, c[4]);
            node[d]->episodes += mcpu_report_rows_u64(&rows, i, c[5]);
        }
    }

    mcpu_report_rows_free(&rows);

    if (mcpu_report_query(run, "drilldown_context", NULL, 0, &rows, errstr,
                          errstr_size) != 0
        || mcpu_report_cols("drilldown_context", &rows, context_names, k, 5,
                            errstr, errstr_size) != 0)
    {
        mcpu_report_rows_free(&rows);
        return -1;
    }

    for (i = 0; i < rows.nrows; i++) {
        path[0] = mcpu_report_rows_str(&rows, i, k[0]);
        path[1] = mcpu_report_rows_str(&rows, i, k[1]);
        path[2] = mcpu_report_rows_str(&rows, i, k[2]);
        n = mcpu_report_rows_u64(&rows, i, k[4]);

        node[0] = &r->root;
        for (int d = 1; d <= 3; d++) {
            node[d] = mcpu_report_node_child(node[d - 1], path[d - 1]);
        }

        for (int d = 0; d <= 3; d++) {
            if (node[d] == NULL
                || mcpu_report_node_seen(node[d],
                                         mcpu_report_rows_str(&rows, i, k[3]),
                                         n) != 0)
            {
                snprintf(errstr, errstr_size, "out of memory");
                mcpu_report_rows_free(&rows);
                return -1;
            }
        }
    }

    mcpu_report_rows_free(&rows);
    mcpu_report_node_sort(&r->root);
    return 0;
}


/* profile.sql for the first suspects */
static int
mcpu_report_close_up(mcpu_report_run_t *run, mcpu_report_t *r,
    char *errstr, size_t errstr_size)
{
    int                           c[3];
    char                          level[8], before[24], after[24], span[24];
    char                          step[24], *hex[4];
    size_t                        i, j, len;
    mcpu_report_rows_t            rows;
    mcpu_report_param_t           extra[9];
    mcpu_report_close_up_t       *cu;
    const mcpu_report_suspect_t  *s;

    static const char            *names[] = {
        "offset_ms", "measurements", "cpu"
    };

    snprintf(before, sizeof(before), "%d", MCPU_REPORT_PROFILE_BEFORE_MS);
    snprintf(after, sizeof(after), "%d", MCPU_REPORT_PROFILE_AFTER_MS);
    snprintf(span, sizeof(span), "%d",
             MCPU_REPORT_PROFILE_BEFORE_MS + MCPU_REPORT_PROFILE_AFTER_MS);
    snprintf(step, sizeof(step), "%d", MCPU_REPORT_PROFILE_STEP_MS);

    for (i = 0; i < r->nranked && i < MCPU_REPORT_CLOSE_UP; i++) {
        s = r->ranked[i];
        cu = &r->close_up[r->nclose_up];

        const char  *text[4] = {
            s->type, s->group.version, s->group.os, s->group.os_version
        };

        for (j = 0; j < 4; j++) {
            len = strlen(text[j]) * 2 + 1;
            hex[j] = malloc(len);
            if (hex[j] == NULL) {
                while (j-- > 0) {
                    free(hex[j]);
                }
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
            }
            mcpu_report_hex(text[j], hex[j], len);
        }

        snprintf(level, sizeof(level), "%d", s->group.level);

        extra[0] = (mcpu_report_param_t) { "type_hex", hex[0] };
        extra[1] = (mcpu_report_param_t) { "version_hex", hex[1] };
        extra[2] = (mcpu_report_param_t) { "os_hex", hex[2] };
        extra[3] = (mcpu_report_param_t) { "os_version_hex", hex[3] };
        extra[4] = (mcpu_report_param_t) { "level", level };
        extra[5] = (mcpu_report_param_t) { "before_ms", before };
        extra[6] = (mcpu_report_param_t) { "after_ms", after };
        extra[7] = (mcpu_report_param_t) { "span_ms", span };
        extra[8] = (mcpu_report_param_t) { "step_ms", step };

        if (mcpu_report_query(run, "profile", extra, 9, &rows, errstr,
                              errstr_size) != 0
            || mcpu_report_cols("profile", &rows, names, c, 3, errstr,
                                errstr_size) != 0)
        {
            for (j = 0; j < 4; j++) {
                free(hex[j]);
            }
            mcpu_report_rows_free(&rows);
            return -1;
        }

        for (j = 0; j < 4; j++) {
            free(hex[j]);
        }

        cu->suspect = s;
        cu->points = calloc(rows.nrows + 1, sizeof(mcpu_report_point_t));
        if (cu->points == NULL) {
            snprintf(errstr, errstr_size, "out of memory");
            mcpu_report_rows_free(&rows);
            return -1;
        }

        r->nclose_up++;

        for (j = 0; j < rows.nrows; j++) {
            cu->points[j].offset_ms = mcpu_report_rows_i64(&rows, j, c[0]);
            cu->points[j].measurements = mcpu_report_rows_u64(&rows, j, c[1]);
            cu->points[j].cpu = mcpu_report_rows_num(&rows, j, c[2]);
        }

        cu->npoints = rows.nrows;
        cu->mean_cpu = s->base->cpu_sum / s->base->measurements;
        mcpu_report_rows_free(&rows);
    }

    return 0;
}


/* timeline.sql around the first suspect's example */
static int
mcpu_report_timeline(mcpu_report_run_t *run, mcpu_report_t *r,
    char *errstr, size_t errstr_size)
{
    int                           c[3];
    char                         *hex, at[24], before[24], after[24];
    size_t                        i, len;
    mcpu_report_rows_t            rows;
    mcpu_report_param_t           extra[4];
    const mcpu_report_suspect_t  *s;

    static const char            *names[] = { "time_ms", "type", "cpu" };

    if (r->nranked == 0 || !r->ranked[0]->has_example) {
        return 0;
    }

    s = r->ranked[0];
    len = strlen(s->ex_client) * 2 + 1;
    hex = malloc(len);
    if (hex == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }

    mcpu_report_hex(s->ex_client, hex, len);
    snprintf(at, sizeof(at), "%" PRId64, s->ex_ms);
    snprintf(before, sizeof(before), "%d", MCPU_REPORT_TIMELINE_BEFORE_MS);
    snprintf(after, sizeof(after), "%d", MCPU_REPORT_TIMELINE_AFTER_MS);

    extra[0] = (mcpu_report_param_t) { "client_hex", hex };
    extra[1] = (mcpu_report_param_t) { "at_ms", at };
    extra[2] = (mcpu_report_param_t) { "before_ms", before };
    extra[3] = (mcpu_report_param_t) { "after_ms", after };

    if (mcpu_report_query(run, "timeline", extra, 4, &rows, errstr,
                          errstr_size) != 0
        || mcpu_report_cols("timeline", &rows, names, c, 3, errstr,
                            errstr_size) != 0)
    {
        free(hex);
        mcpu_report_rows_free(&rows);
        return -1;
    }

    free(hex);

    r->timeline = calloc(rows.nrows + 1, sizeof(mcpu_report_moment_t));
    if (r->timeline == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        mcpu_report_rows_free(&rows);
        return -1;
    }

    for (i = 0; i < rows.nrows; i++) {
        r->timeline[i].type = strdup(mcpu_report_rows_str(&rows, i, c[1]));
        if (r->timeline[i].type == NULL) {
            snprintf(errstr, errstr_size, "out of memory");
            mcpu_report_rows_free(&rows);
            return -1;
        }

        r->ntimeline++;
        r->timeline[i].time_ms = mcpu_report_rows_i64(&rows, i, c[0]);
        r->timeline[i].cpu = mcpu_report_rows_num(&rows, i, c[2]);
    }

    mcpu_report_rows_free(&rows);
    return 0;
}


static int
mcpu_report_group_read(const mcpu_report_rows_t *rows, size_t row,
    int level, int version, int os, int os_version, mcpu_report_group_t *g)
{
    g->level = (int) mcpu_report_rows_i64(rows, row, level)
               & MCPU_REPORT_BY_ALL;
    g->version = strdup(mcpu_report_rows_str(rows, row, version));
    g->os = strdup(mcpu_report_rows_str(rows, row, os));
    g->os_version = strdup(mcpu_report_rows_str(rows, row, os_version));

    if (g->version == NULL || g->os == NULL || g->os_version == NULL) {
        mcpu_report_group_free(g);
        return -1;
    }

    return 0;
}


static int
mcpu_report_group_eq(const mcpu_report_group_t *a,
    const mcpu_report_group_t *b)
{
    return a->level == b->level && strcmp(a->version, b->version) == 0
           && strcmp(a->os, b->os) == 0
           && strcmp(a->os_version, b->os_version) == 0;
}


/* outer is coarser than inner and holds it */
static int
mcpu_report_group_within(const mcpu_report_group_t *outer,
    const mcpu_report_group_t *inner)
{
    if ((outer->level & inner->level) != outer->level
        || outer->level == inner->level)
    {
        return 0;
    }

    return (!(outer->level & MCPU_REPORT_BY_VERSION)
            || strcmp(outer->version, inner->version) == 0)
           && (!(outer->level & MCPU_REPORT_BY_OS)
               || strcmp(outer->os, inner->os) == 0)
           && (!(outer->level & MCPU_REPORT_BY_OS_VERSION)
               || strcmp(outer->os_version, inner->os_version) == 0);
}


static void
mcpu_report_group_free(mcpu_report_group_t *g)
{
    free(g->version);
    free(g->os);
    free(g->os_version);
    memset(g, 0, sizeof(*g));
}


/* the child labelled label, added if missing; NULL: out of memory */
static mcpu_report_node_t *
mcpu_report_node_child(mcpu_report_node_t *node, const char *label)
{
    size_t               i;
    mcpu_report_node_t  *more, *child;

    for (i = 0; i < node->nchildren; i++) {
        if (strcmp(node->children[i].label, label) == 0) {
            return &node->children[i];
        }
    }

    more = realloc(node->children,
                   (node->nchildren + 1) * sizeof(mcpu_report_node_t));
    if (more == NULL) {
        return NULL;
    }

    node->children = more;
    child = &more[node->nchildren];
    memset(child, 0, sizeof(*child));
    child->depth = node->depth + 1;
    child->label = strdup(label);
    if (child->label == NULL) {
        return NULL;
    }

    node->nchildren++;
    return child;
}


static int
mcpu_report_node_seen(mcpu_report_node_t *node, const char *type,
    uint64_t sessions)
{
    size_t               i;
    mcpu_report_seen_t  *more;

    for (i = 0; i < node->nseen; i++) {
        if (strcmp(node->seen[i].type, type) == 0) {
            node->seen[i].sessions += sessions;
            return 0;
        }
    }

    more = realloc(node->seen, (node->nseen + 1) * sizeof(*more));
    if (more == NULL) {
        return -1;
    }

    node->seen = more;
    more[node->nseen].type = strdup(type);
    if (more[node->nseen].type == NULL) {
        return -1;
    }

    more[node->nseen].sessions = sessions;
    node->nseen++;
    return 0;
}


static int
mcpu_report_by_over(const void *pa, const void *pb)
{
    const mcpu_report_node_t  *a = pa, *b = pb;

    if (a->over != b->over) {
        return a->over > b->over ? -1 : 1;
    }

    if (a->sessions != b->sessions) {
        return a->sessions > b->sessions ? -1 : 1;
    }

    return strcmp(a->label, b->label);
}


static int
mcpu_report_by_sessions(const void *pa, const void *pb)
{
    const mcpu_report_seen_t  *a = pa, *b = pb;

    if (a->sessions != b->sessions) {
        return a->sessions > b->sessions ? -1 : 1;
    }

    return strcmp(a->type, b->type);
}


static void
mcpu_report_node_sort(mcpu_report_node_t *node)
{
    size_t  i;

    if (node->nchildren > 1) {
        qsort(node->children, node->nchildren, sizeof(node->children[0]),
              mcpu_report_by_over);
    }

    if (node->nseen > 1) {
        qsort(node->seen, node->nseen, sizeof(node->seen[0]),
              mcpu_report_by_sessions);
    }

    for (i = 0; i < node->nchildren; i++) {
        mcpu_report_node_sort(&node->children[i]);
    }
}


static void
mcpu_report_node_free(mcpu_report_node_t *node)
{
    size_t  i;

    for (i = 0; i < node->nchildren; i++) {
        mcpu_report_node_free(&node->children[i]);
    }

    for (i = 0; i < node->nseen; i++) {
        free(node->seen[i].type);
    }

    free(node->children);
    free(node->seen);
    free(node->label);
    memset(node, 0, sizeof(*node));
}


static void
mcpu_report_hex(const char *s, char *buf, size_t size)
{
    size_t  i;

    static const char  digits[] = "0123456789abcdef";

    for (i = 0; s[i] != '\0' && 2 * i + 2 < size; i++) {
        buf[2 * i] = digits[(unsigned char) s[i] >> 4];
        buf[2 * i + 1] = digits[(unsigned char) s[i] & 0x0f];
    }

    buf[2 * i] = '\0';
}


static double
mcpu_report_now_s(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}
