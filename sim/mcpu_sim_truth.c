/*
 * mcpu_sim_truth.c: the truth file (--truth): what was planted, for
 * checking an analysis against it.  One JSON object:
 *
 *   scenario, seed, startMs/endMs (and RFC 3339), hours, eventTypeAllow,
 *   population: versions and OSes with their weights and drawn clients,
 *   causes:      what an analysis must find,
 *   distractors: what it must not blame (hot, spikes, bump),
 *   clients:     per client: id, version, os, osVersion, cores,
 *                baselineCpu, hotCpu, rules (the lines of those that
 *                apply to it), firstSeq, lastSeq, events, accepted,
 *                refused, knownByServer.
 *
 * A rule: kind, line, version / os / osVersion (null: any), then per kind
 * event, delayS, rise, durationS or untilCompleted (cause, bump), add
 * (hot), ratePerHour, rise, durationS (spikes); ranges are [low, high].
 * clients: how many clients it applies to; occurrences: how often it
 * fired (the triggering events of a cause or bump, the spikes).
 */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "mcpu_sim.h"


static json_t *mcpu_sim_truth_population(mcpu_sim_t *s);
static json_t *mcpu_sim_truth_rule(mcpu_sim_t *s, const mcpu_sim_rule_t *r);
static json_t *mcpu_sim_truth_client(mcpu_sim_t *s,
    const mcpu_sim_client_t *c);
static json_t *mcpu_sim_truth_range(const mcpu_sim_range_t *r);
static json_t *mcpu_sim_truth_name(const char *name);
static void mcpu_sim_truth_time(int64_t ms, char *buf, size_t size);


int
mcpu_sim_truth_write(mcpu_sim_t *s, const char *path, char *errstr,
    size_t errstr_size)
{
    int           rc;
    char          start[32], end[32], allow[1024];
    size_t        i;
    json_t       *root, *causes, *distractors, *clients, *rule;
    mcpu_sim_rule_t  *r;

    mcpu_sim_truth_time(s->start_ms, start, sizeof(start));
    mcpu_sim_truth_time(s->end_ms, end, sizeof(end));
    mcpu_sim_scenario_allow(&s->scenario, allow, sizeof(allow));

    causes = json_array();
    distractors = json_array();
    clients = json_array();

    root = json_pack("{s:s, s:I, s:I, s:s, s:I, s:s, s:f, s:f, s:s, s:o, "
                     "s:o, s:o, s:o}",
                     "scenario", s->scenario.path,
                     "seed", (json_int_t) s->conf->seed,
                     "startMs", (json_int_t) s->start_ms,
                     "start", start,
                     "endMs", (json_int_t) s->end_ms,
                     "end", end,
                     "hours", s->conf->hours,
                     "measureIntervalS", s->scenario.measure_interval,
                     "eventTypeAllow", allow,
                     "population", mcpu_sim_truth_population(s),
                     "causes", causes,
                     "distractors", distractors,
                     "clients", clients);

    if (root == NULL) {
        snprintf(errstr, errstr_size, "out of memory (truth file)");
        return -1;
    }

    for (i = 0; i < s->scenario.nrules; i++) {
        r = &s->scenario.rules[i];
        rule = mcpu_sim_truth_rule(s, r);

        json_array_append_new(r->kind == MCPU_SIM_RULE_CAUSE
                              ? causes : distractors, rule);
    }

    for (i = 0; i < s->nclients; i++) {
        json_array_append_new(clients,
                              mcpu_sim_truth_client(s, &s->clients[i]));
    }

    rc = json_dump_file(root, path, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(root);

    if (rc != 0) {
        snprintf(errstr, errstr_size, "cannot write the truth file \"%s\"",
                 path);
        return -1;
    }

    return 0;
}


static json_t *
mcpu_sim_truth_population(mcpu_sim_t *s)
{
    size_t                j, i;
    json_t               *versions, *oses, *list;
    const mcpu_sim_os_t  *os;

    versions = json_array();
    oses = json_array();

    for (i = 0; i < s->scenario.nversions; i++) {
        json_array_append_new(versions,
            json_pack("{s:s, s:I, s:I}",
                      "name", s->scenario.versions[i].name,
                      "weight", (json_int_t) s->scenario.versions[i].weight,
                      "clients", (json_int_t) s->scenario.versions[i].clients));
    }

    for (i = 0; i < s->scenario.noses; i++) {
        os = &s->scenario.oses[i];
        list = json_array();

        for (j = 0; j < os->nversions; j++) {
            json_array_append_new(list, json_string(os->versions[j]));
        }

        json_array_append_new(oses,
            json_pack("{s:s, s:I, s:o, s:I}",
                      "name", os->name,
                      "weight", (json_int_t) os->weight,
                      "versions", list,
                      "clients", (json_int_t) os->clients));
    }

    return json_pack("{s:o, s:o}", "versions", versions, "os", oses);
}


static json_t *
mcpu_sim_truth_rule(mcpu_sim_t *s, const mcpu_sim_rule_t *r)
{
    json_t                     *o;
    const mcpu_sim_scenario_t  *sc = &s->scenario;

    o = json_pack("{s:s, s:I, s:o, s:o, s:o}",
                  "kind", mcpu_sim_rule_kind(r->kind),
                  "line", (json_int_t) r->line,
                  "version", mcpu_sim_truth_name(r->version >= 0
                                 ? sc->versions[r->version].name : NULL),
                  "os", mcpu_sim_truth_name(r->os >= 0
                                 ? sc->oses[r->os].name : NULL),
                  "osVersion", mcpu_sim_truth_name(r->os_version));

    switch (r->kind) {

    case MCPU_SIM_RULE_HOT:
        json_object_set_new(o, "add", mcpu_sim_truth_range(&r->rise));
        break;

    case MCPU_SIM_RULE_SPIKES:
        json_object_set_new(o, "ratePerHour", json_real(r->rate_per_hour));
        json_object_set_new(o, "rise", mcpu_sim_truth_range(&r->rise));
        json_object_set_new(o, "durationS",
                            mcpu_sim_truth_range(&r->duration));
        break;

    default: /* cause, bump */
        json_object_set_new(o, "event",
                            json_string(mcpu_sim_scenario_type(sc, r->event)));
        json_object_set_new(o, "delayS", mcpu_sim_truth_range(&r->delay));
        json_object_set_new(o, "rise", mcpu_sim_truth_range(&r->rise));

        if (r->until) {
            json_object_set_new(o, "untilCompleted", json_true());
        } else {
            json_object_set_new(o, "durationS",
                                mcpu_sim_truth_range(&r->duration));
        }
        break;
    }

    json_object_set_new(o, "clients", json_integer((json_int_t) r->clients));
    json_object_set_new(o, "occurrences",
                        json_integer((json_int_t) r->occurrences));

    return o;
}


static json_t *
mcpu_sim_truth_client(mcpu_sim_t *s, const mcpu_sim_client_t *c)
{
    size_t                   i;
    json_t                  *rules;
    const mcpu_sim_model_t  *m = &c->model;
    const mcpu_sim_os_t     *os = &s->scenario.oses[m->os];

    rules = json_array();

    for (i = 0; i < s->scenario.nrules; i++) {
        if (m->matches[i]) {
            json_array_append_new(rules,
                json_integer((json_int_t) s->scenario.rules[i].line));
        }
    }

    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:f, s:f, s:o, s:I, s:I, "
                     "s:I, s:I, s:I, s:I}",
                     "id", m->id,
                     "version", s->scenario.versions[m->version].name,
                     "os", os->name,
                     "osVersion", os->versions[m->os_version],
                     "cores", m->cores,
                     "baselineCpu", m->baseline,
                     "hotCpu", m->hot,
                     "rules", rules,
                     "firstSeq", (json_int_t) m->first_seq,
                     "lastSeq", (json_int_t) (m->events
                                              ? m->first_seq + m->events - 1
                                              : 0),
                     "events", (json_int_t) m->events,
                     "accepted", (json_int_t) c->accepted,
                     "refused", (json_int_t) c->refused,
                     "knownByServer", (json_int_t) c->known);
}


static json_t *
mcpu_sim_truth_range(const mcpu_sim_range_t *r)
{
    return json_pack("[f, f]", r->lo, r->hi);
}


static json_t *
mcpu_sim_truth_name(const char *name)
{
    return name ? json_string(name) : json_null();
}


static void
mcpu_sim_truth_time(int64_t ms, char *buf, size_t size)
{
    size_t     n;
    time_t     t;
    struct tm  tm;

    t = (time_t) (ms / 1000);
    gmtime_r(&t, &tm);

    n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%03dZ", (int) (ms % 1000));
}
