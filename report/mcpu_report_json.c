/*
 * mcpu_report_json.c: the findings as JSON.  See mcpu_report_json.h.
 */

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "mcpu_report_json.h"


static json_t *mcpu_report_json_suspect(const mcpu_report_suspect_t *s,
    size_t rank);
static json_t *mcpu_report_json_node(const mcpu_report_t *r,
    const mcpu_report_node_t *node, uint64_t parent_over);
static json_t *mcpu_report_json_parameters(const mcpu_report_t *r);
static json_t *mcpu_report_json_time(int64_t ms);
static json_t *mcpu_report_json_group_field(const mcpu_report_group_t *g,
    int bit, const char *value);
static json_t *mcpu_report_json_real(double v);
static json_t *mcpu_report_json_str(const char *s);


int
mcpu_report_json_write(const mcpu_report_t *r, const char *path,
    char *errstr, size_t errstr_size)
{
    int          rc;
    char         tmp[PATH_MAX], headline[2048];
    FILE        *f;
    size_t       i;
    json_t      *root, *suspects, *period;

    root = json_object();
    suspects = json_array();
    period = json_object();

    mcpu_report_headline(r, headline, sizeof(headline));
    json_object_set_new(root, "headline", mcpu_report_json_str(headline));

    for (i = 0; i < r->nranked; i++) {
        json_array_append_new(suspects,
                              mcpu_report_json_suspect(r->ranked[i], i + 1));
    }

    json_object_set_new(root, "suspects", suspects);
    json_object_set_new(root, "drilldown",
                        mcpu_report_json_node(r, &r->root, 0));
    json_object_set_new(root, "parameters", mcpu_report_json_parameters(r));

    json_object_set_new(period, "first", mcpu_report_json_time(r->first_ms));
    json_object_set_new(period, "last", mcpu_report_json_time(r->last_ms));
    json_object_set_new(period, "clients",
                        json_integer((json_int_t) r->clients));
    json_object_set_new(period, "sessions",
                        json_integer((json_int_t) r->sessions));
    json_object_set_new(period, "measurements",
                        json_integer((json_int_t) r->measurements));
    json_object_set_new(root, "period", period);

    json_object_set_new(root, "eligible",
                        json_integer((json_int_t) r->eligible));
    json_object_set_new(root, "rows", json_integer((json_int_t) r->rows));

    if (strcmp(path, "-") == 0) {
        rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER
                                      | JSON_REAL_PRECISION(6));
        if (rc == 0) {
            rc = fputc('\n', stdout) == EOF || fflush(stdout) != 0 ? -1 : 0;
        }

        json_decref(root);
        if (rc != 0) {
            snprintf(errstr, errstr_size, "writing the JSON to stdout "
                     "failed: %s", strerror(errno));
            return -1;
        }
        return 0;
    }

    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long) getpid())
        >= (int) sizeof(tmp))
    {
        json_decref(root);
        snprintf(errstr, errstr_size, "option \"json\": path too long");
        return -1;
    }

    f = fopen(tmp, "we");
    if (f == NULL) {
        json_decref(root);
        snprintf(errstr, errstr_size, "cannot create \"%s\" (option "
                 "\"json\"): %s", tmp, strerror(errno));
        return -1;
    }

    rc = json_dumpf(root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER
                             | JSON_REAL_PRECISION(6));
    json_decref(root);

    if (rc != 0 || fputc('\n', f) == EOF || fclose(f) != 0) {
        snprintf(errstr, errstr_size, "writing \"%s\" failed: %s", tmp,
                 strerror(errno));
        unlink(tmp);
        return -1;
    }

    if (rename(tmp, path) != 0) {
        snprintf(errstr, errstr_size, "rename(\"%s\", \"%s\") failed: %s",
                 tmp, path, strerror(errno));
        unlink(tmp);
        return -1;
    }

    return 0;
}


static json_t *
mcpu_report_json_suspect(const mcpu_report_suspect_t *s, size_t rank)
{
    json_t  *o, *ex;

    o = json_object();
    json_object_set_new(o, "rank", json_integer((json_int_t) rank));
    json_object_set_new(o, "event", mcpu_report_json_str(s->type));
    json_object_set_new(o, "version", mcpu_report_json_group_field(
                            &s->group, MCPU_REPORT_BY_VERSION,
                            s->group.version));
    json_object_set_new(o, "os", mcpu_report_json_group_field(
                            &s->group, MCPU_REPORT_BY_OS, s->group.os));
    json_object_set_new(o, "osVersion", mcpu_report_json_group_field(
                            &s->group, MCPU_REPORT_BY_OS_VERSION,
                            s->group.os_version));
    json_object_set_new(o, "lift", mcpu_report_json_real(s->lift));
    json_object_set_new(o, "liftLow", mcpu_report_json_real(s->score));
    json_object_set_new(o, "support",
                        json_integer((json_int_t) s->occurrences));
    json_object_set_new(o, "clients", json_integer((json_int_t) s->clients));
    json_object_set_new(o, "followed", json_integer((json_int_t) s->followed));
    json_object_set_new(o, "pRise", mcpu_report_json_real(s->p));
    json_object_set_new(o, "pRiseLow", mcpu_report_json_real(s->p_low));
    json_object_set_new(o, "baseline", mcpu_report_json_real(s->b));
    json_object_set_new(o, "baselineHigh", mcpu_report_json_real(s->b_high));
    json_object_set_new(o, "baselineMeasurements",
                        json_integer((json_int_t) s->base->measurements));

    if (s->has_example) {
        ex = json_object();
        json_object_set_new(ex, "client", mcpu_report_json_str(s->ex_client));
        json_object_set_new(ex, "timeMs", json_integer(s->ex_ms));
        json_object_set_new(o, "example", ex);

    } else {
        json_object_set_new(o, "example", json_null());
    }

    return o;
}


/* a node of the drill-down; share: of the parent's sessions over the
 * threshold (of all sessions at the root), rate: of its own sessions */
static json_t *
mcpu_report_json_node(const mcpu_report_t *r, const mcpu_report_node_t *node,
    uint64_t parent_over)
{
    size_t   i;
    json_t  *o, *seen, *children, *t;

    static const char  *keys[] = { NULL, "version", "os", "osVersion" };

    o = json_object();

    if (node->depth == 0) {
        json_object_set_new(o, "cpuThreshold",
                            json_real(r->conf->cpu_threshold));
        json_object_set_new(o, "sustainS",
                            json_integer(r->conf->cpu_sustain_s));
        json_object_set_new(o, "windowS", json_integer(r->conf->window_s));

    } else {
        json_object_set_new(o, keys[node->depth],
                            mcpu_report_json_str(node->label));
    }

    json_object_set_new(o, "sessions",
                        json_integer((json_int_t) node->sessions));
    json_object_set_new(o, "over", json_integer((json_int_t) node->over));
    json_object_set_new(o, "episodes",
                        json_integer((json_int_t) node->episodes));

    if (node->depth == 0) {
        json_object_set_new(o, "share", mcpu_report_json_real(
                                node->sessions ? (double) node->over
                                                 / node->sessions : 0));
    } else {
        json_object_set_new(o, "share", mcpu_report_json_real(
                                parent_over ? (double) node->over
                                              / parent_over : 0));
        json_object_set_new(o, "rate", mcpu_report_json_real(
                                node->sessions ? (double) node->over
                                                 / node->sessions : 0));
    }

    seen = json_array();
    for (i = 0; i < node->nseen; i++) {
        t = json_object();
        json_object_set_new(t, "event",
                            mcpu_report_json_str(node->seen[i].type));
        json_object_set_new(t, "sessions",
                            json_integer((json_int_t) node->seen[i].sessions));
        json_object_set_new(t, "share", mcpu_report_json_real(
                                node->over ? (double) node->seen[i].sessions
                                             / node->over : 0));
        json_array_append_new(seen, t);
    }

    json_object_set_new(o, "seen", seen);

    if (node->depth < 3) {
        children = json_array();
        for (i = 0; i < node->nchildren; i++) {
            if (node->children[i].over > 0) {
                json_array_append_new(children, mcpu_report_json_node(
                                          r, &node->children[i], node->over));
            }
        }
        json_object_set_new(o, "children", children);
    }

    return o;
}


static json_t *
mcpu_report_json_parameters(const mcpu_report_t *r)
{
    json_t                    *o;
    const mcpu_report_conf_t  *conf = r->conf;

    o = json_object();
    json_object_set_new(o, "from", conf->from
                        ? mcpu_report_json_time(conf->from_ms) : json_null());
    json_object_set_new(o, "to", conf->to
                        ? mcpu_report_json_time(conf->to_ms) : json_null());
    json_object_set_new(o, "rise", json_real(conf->rise));
    json_object_set_new(o, "riseSpanS", json_integer(conf->rise_span_s));
    json_object_set_new(o, "windowS", json_integer(conf->window_s));
    json_object_set_new(o, "cpuThreshold", json_real(conf->cpu_threshold));
    json_object_set_new(o, "cpuSustainS", json_integer(conf->cpu_sustain_s));
    json_object_set_new(o, "minSupport", json_integer(conf->min_support));
    json_object_set_new(o, "minClients", json_integer(conf->min_clients));
    json_object_set_new(o, "minFollowed", json_integer(conf->min_followed));
    json_object_set_new(o, "z", json_real(conf->z));
    json_object_set_new(o, "zAdjusted", mcpu_report_json_real(r->z));
    json_object_set_new(o, "top", json_integer(conf->top));

    return o;
}


static json_t *
mcpu_report_json_time(int64_t ms)
{
    char  buf[40];

    mcpu_report_time_text(ms, buf, sizeof(buf));
    return json_string(buf);
}


/* a group's field: its value, or null where the group is not narrowed */
static json_t *
mcpu_report_json_group_field(const mcpu_report_group_t *g, int bit,
    const char *value)
{
    return (g->level & bit) ? mcpu_report_json_str(value) : json_null();
}


/* jansson refuses NaN and infinities: null then */
static json_t *
mcpu_report_json_real(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}


/* text from the data: jansson takes UTF-8 only, so other bytes become "?" */
static json_t *
mcpu_report_json_str(const char *s)
{
    char    *copy;
    size_t   i;
    json_t  *j;

    j = json_string(s);
    if (j != NULL) {
        return j;
    }

    copy = strdup(s);
    if (copy == NULL) {
        return json_null();
    }

    for (i = 0; copy[i] != '\0'; i++) {
        if ((unsigned char) copy[i] >= 0x80) {
            copy[i] = '?';
        }
    }

    j = json_string(copy);
    free(copy);
    return j ? j : json_null();
}
