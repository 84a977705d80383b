/*
 * mcpu_report.c: mcpu-report's start and its sentences (mcpu_report.h).
 * One run: the settings, the queries and the verdict
 * (mcpu_report_analysis.c), then the outputs (mcpu_report_json.c,
 * mcpu_report_html.c).
 *
 * Exit codes: 0 report written, 1 a failure at run time (ClickHouse
 * unreachable, no table, no event in the period, a query failed, an output
 * that cannot be written), 2 a bad configuration.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcpu_log.h"
#include "mcpu_report.h"
#include "mcpu_report_analysis.h"
#include "mcpu_report_html.h"
#include "mcpu_report_json.h"


int
main(int argc, char **argv)
{
    int                  rc;
    mcpu_report_t        r;
    mcpu_report_conf_t   conf;
    char                 errstr[MCPU_REPORT_ERRSTR_SIZE];

    memset(&r, 0, sizeof(r));

    rc = mcpu_report_conf_load(&conf, argc, argv, errstr, sizeof(errstr));
    if (rc != MCPU_CONF_OK) {
        mcpu_report_conf_free(&conf);
        if (rc == MCPU_CONF_DONE) {
            return MCPU_REPORT_EXIT_OK;
        }

        fprintf(stderr, "mcpu-report: %s\n", errstr);
        return MCPU_REPORT_EXIT_CONFIG;
    }

    if (conf.test) {
        rc = mcpu_report_check(&conf, errstr, sizeof(errstr));
        if (rc != MCPU_REPORT_EXIT_OK) {
            fprintf(stderr, "mcpu-report: %s\n", errstr);
        } else {
            printf("mcpu-report: configuration is ok\n");
        }
        mcpu_report_conf_free(&conf);
        return rc;
    }

    if (mcpu_log_open("mcpu-report", conf.log_file, errstr, sizeof(errstr))
        != 0)
    {
        fprintf(stderr, "mcpu-report: %s\n", errstr);
        mcpu_report_conf_free(&conf);
        return MCPU_REPORT_EXIT_CONFIG;
    }

    rc = mcpu_report_analyse(&r, &conf, errstr, sizeof(errstr));
    if (rc != MCPU_REPORT_EXIT_OK) {
        mcpu_log(MCPU_LOG_ERROR, "%s", errstr);
        goto done;
    }

    mcpu_log(MCPU_LOG_INFO, "%zu suspects of %zu with enough support; "
             "queries took %.2f s", r.nranked, r.eligible, r.elapsed_s);

    if (conf.json[0] != '\0' || conf.html[0] == '\0') {
        if (mcpu_report_json_write(&r, conf.json[0] ? conf.json : "-",
                                   errstr, sizeof(errstr)) != 0)
        {
            mcpu_log(MCPU_LOG_ERROR, "%s", errstr);
            rc = MCPU_REPORT_EXIT_FAILED;
            goto done;
        }
    }

    if (conf.html[0] != '\0') {
        if (mcpu_report_html_write(&r, conf.html, errstr, sizeof(errstr))
            != 0)
        {
            mcpu_log(MCPU_LOG_ERROR, "%s", errstr);
            rc = MCPU_REPORT_EXIT_FAILED;
            goto done;
        }

        mcpu_log(MCPU_LOG_INFO, "wrote %s", conf.html);
    }

done:

    mcpu_report_free(&r);
    mcpu_report_conf_free(&conf);
    return rc;
}


/*
 * "FileTransferStarted on 6.04 / Windows is followed by a fast CPU rise
 * (+20 points within 15 s) 97% of the time (163 of 168, 20 clients): 37x
 * the usual rate of these clients (2.6%).  3% of sessions had CPU over 30%
 * for 10 s or more; of those, 88% run 6.04; of those, 100% on Windows; of
 * those, 100% had FileTransferStarted in the 15 s before."
 */
void
mcpu_report_headline(const mcpu_report_t *r, char *buf, size_t size)
{
    int                           n;
    size_t                        used;
    char                          group[256], p[16], b[16];
    const mcpu_report_node_t     *node, *child;
    const mcpu_report_conf_t     *conf = r->conf;
    const mcpu_report_suspect_t  *s;

    used = 0;
    buf[0] = '\0';

#define MCPU_REPORT_ADD(...)                                                \
    do {                                                                    \
        n = snprintf(buf + used, size - used, __VA_ARGS__);                 \
        if (n < 0 || (size_t) n >= size - used) {                           \
            return;                                                         \
        }                                                                   \
        used += (size_t) n;                                                 \
    } while (0)

    if (r->nranked > 0 && r->ranked[0]->score < MCPU_REPORT_STRONG) {
        s = r->ranked[0];
        mcpu_report_group_text(&s->group, group, sizeof(group));
        MCPU_REPORT_ADD("No event type stands out. The strongest candidate, "
                        "%s on %s, is followed by a fast CPU rise (+%g points "
                        "within %ld s) %s of the time against %s usually "
                        "(%.1f\u00d7; allowing for chance, at least "
                        "%.1f\u00d7): a weak lead.", s->type, group, conf->rise,
                        conf->window_s, mcpu_report_pct(s->p, p, sizeof(p)),
                        mcpu_report_pct(s->b, b, sizeof(b)), s->lift,
                        s->score);

    } else if (r->nranked > 0) {
        s = r->ranked[0];
        mcpu_report_group_text(&s->group, group, sizeof(group));
        MCPU_REPORT_ADD("%s on %s is followed by a fast CPU rise (+%g points "
                        "within %ld s) %s of the time (%" PRIu64 " of %"
                        PRIu64 ", %" PRIu64 " clients): %.1f\u00d7 the usual "
                        "rate of these clients (%s).", s->type, group,
                        conf->rise, conf->window_s,
                        mcpu_report_pct(s->p, p, sizeof(p)), s->followed,
                        s->occurrences, s->clients, s->lift,
                        mcpu_report_pct(s->b, b, sizeof(b)));

    } else {
        MCPU_REPORT_ADD("No event type is followed by a fast CPU rise (+%g "
                        "points within %ld s) clearly more often than an "
                        "arbitrary moment of the same clients (%zu event "
                        "types and groups had enough support).", conf->rise,
                        conf->window_s, r->eligible);
    }

    node = &r->root;

    if (node->over == 0) {
        MCPU_REPORT_ADD(" No session had CPU over %g%% for %ld s or more.",
                        conf->cpu_threshold, conf->cpu_sustain_s);
        return;
    }

    MCPU_REPORT_ADD(" %s of sessions had CPU over %g%% for %ld s or more "
                    "(%" PRIu64 " of %" PRIu64 ")",
                    mcpu_report_pct((double) node->over / node->sessions, p,
                                    sizeof(p)), conf->cpu_threshold,
                    conf->cpu_sustain_s, node->over, node->sessions);

    /* down the largest branch: the version, then the OS */
    while (node->depth < 2 && node->nchildren > 0) {
        child = &node->children[0];
        MCPU_REPORT_ADD("; of those, %s %s %s",
                        mcpu_report_pct((double) child->over / node->over, p,
                                        sizeof(p)),
                        child->depth == 1 ? "run" : "on",
                        child->label[0] ? child->label : "(unknown)");
        node = child;
    }

    if (node->nseen > 0) {
        MCPU_REPORT_ADD("; of those, %s had %s in the %ld s before",
                        mcpu_report_pct((double) node->seen[0].sessions
                                        / node->over, p, sizeof(p)),
                        node->seen[0].type, conf->window_s);
    }

    MCPU_REPORT_ADD(".");

#undef MCPU_REPORT_ADD
}


void
mcpu_report_group_text(const mcpu_report_group_t *g, char *buf, size_t size)
{
    const char  *v, *o, *ov;

    v = g->version[0] ? g->version : "(unknown)";
    o = g->os[0] ? g->os : "(unknown)";
    ov = g->os_version[0] ? g->os_version : "(unknown)";

    switch (g->level) {

    case 0:
        snprintf(buf, size, "all clients");
        break;

    case MCPU_REPORT_BY_VERSION:
        snprintf(buf, size, "%s", v);
        break;

    case MCPU_REPORT_BY_OS:
        snprintf(buf, size, "%s", o);
        break;

    case MCPU_REPORT_BY_VERSION | MCPU_REPORT_BY_OS:
        snprintf(buf, size, "%s / %s", v, o);
        break;

    case MCPU_REPORT_BY_OS | MCPU_REPORT_BY_OS_VERSION:
        snprintf(buf, size, "%s %s", o, ov);
        break;

    default:
        snprintf(buf, size, "%s / %s %s", v, o, ov);
        break;
    }
}


const char *
mcpu_report_pct(double x, char *buf, size_t size)
{
    x *= 100;

    if (x == 0 || x >= 10) {
        snprintf(buf, size, "%.0f%%", x);
    } else if (x >= 1) {
        snprintf(buf, size, "%.1f%%", x);
    } else {
        snprintf(buf, size, "%.2f%%", x);
    }

    return buf;
}


void
mcpu_report_time_text(int64_t ms, char *buf, size_t size)
{
    time_t     t;
    struct tm  tm;

    t = (time_t) (ms / 1000);
    gmtime_r(&t, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int) (ms % 1000));
}
