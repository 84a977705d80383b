/*
 * mcpu_sim_model.c: one simulated client (mcpu_sim_model.h).
 *
 * Times are milliseconds of the simulated clock.  A client's next
 * happenings (the next measurement, session end, transfer start, progress,
 * activity start or end, spike) are kept as times; advancing to a moment
 * handles the earliest one, again and again, until the earliest lies past
 * it.  Each handler moves its own time strictly forward, so the loop ends.
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mcpu_sim_model.h"


#define MCPU_SIM_LINE_MAX     1024      /* bytes of one event line: 8
                                           cores take about 200, the
                                           scenario's 64 at most 910 */


/* what happens next */
typedef enum {
    MCPU_SIM_NEXT_OPEN,
    MCPU_SIM_NEXT_CLOSE,
    MCPU_SIM_NEXT_MEASURE,
    MCPU_SIM_NEXT_TRANSFER,
    MCPU_SIM_NEXT_STEP,            /* a transfer's progress or end */
    MCPU_SIM_NEXT_ACTIVITY,        /* an activity's start or end */
    MCPU_SIM_NEXT_SPIKE
} mcpu_sim_next_t;


/* an event line being written */
typedef struct {
    char   *p;
    char    buf[MCPU_SIM_LINE_MAX];
} mcpu_sim_out_t;


static uint64_t mcpu_sim_splitmix(uint64_t *x);
static uint64_t mcpu_sim_rng_next(mcpu_sim_rng_t *r);
static double mcpu_sim_rng_unit(mcpu_sim_rng_t *r);
static double mcpu_sim_rng_range(mcpu_sim_rng_t *r,
    const mcpu_sim_range_t *range);
static int64_t mcpu_sim_rng_ms(mcpu_sim_rng_t *r,
    const mcpu_sim_range_t *seconds);
static int64_t mcpu_sim_rng_exp_ms(mcpu_sim_rng_t *r, double per_hour);
static double mcpu_sim_rng_normal(mcpu_sim_rng_t *r);
static int64_t mcpu_sim_ms(double seconds);

static void mcpu_sim_model_id(mcpu_sim_model_t *m, uint64_t seed,
    size_t idx);
static void mcpu_sim_model_draw(mcpu_sim_model_t *m, mcpu_sim_scenario_t *sc);
static int mcpu_sim_model_matches(const mcpu_sim_model_t *m,
    const mcpu_sim_scenario_t *sc, const mcpu_sim_rule_t *r);
static mcpu_sim_next_t mcpu_sim_model_next(mcpu_sim_model_t *m,
    const mcpu_sim_scenario_t *sc, int64_t *t, size_t *which);

static int mcpu_sim_model_open(mcpu_sim_model_t *m, mcpu_sim_scenario_t *sc,
    int64_t t, mcpu_sim_spool_t *sp);
static int mcpu_sim_model_close(mcpu_sim_model_t *m, mcpu_sim_scenario_t *sc,
    int64_t t, mcpu_sim_spool_t *sp);
static int mcpu_sim_model_measure(mcpu_sim_model_t *m,
    mcpu_sim_scenario_t *sc, int64_t t, mcpu_sim_spool_t *sp);
static int mcpu_sim_model_transfer(mcpu_sim_model_t *m,
    mcpu_sim_scenario_t *sc, int64_t t, mcpu_sim_spool_t *sp);
static int mcpu_sim_model_step(mcpu_sim_model_t *m, mcpu_sim_scenario_t *sc,
    size_t i, int64_t t, int aborted, mcpu_sim_spool_t *sp);
static int mcpu_sim_model_activity(mcpu_sim_model_t *m,
    mcpu_sim_scenario_t *sc, size_t a, int64_t t, int aborted,
    mcpu_sim_spool_t *sp);
static int mcpu_sim_model_spike(mcpu_sim_model_t *m, mcpu_sim_scenario_t *sc,
    size_t r, int64_t t);

static int mcpu_sim_model_trigger(mcpu_sim_model_t *m,
    mcpu_sim_scenario_t *sc, int ev, int64_t t, uint64_t instance);
static int mcpu_sim_model_effect(mcpu_sim_model_t *m, int64_t start,
    int64_t end, double rise, uint64_t until);
static void mcpu_sim_model_complete(mcpu_sim_model_t *m, uint64_t instance,
    int64_t t);
static double mcpu_sim_model_cpu(mcpu_sim_model_t *m,
    const mcpu_sim_scenario_t *sc, int64_t t);

static void mcpu_sim_out_begin(mcpu_sim_out_t *o, mcpu_sim_model_t *m,
    const mcpu_sim_scenario_t *sc, int ev, int64_t t, uint64_t seq);
static int mcpu_sim_out_end(mcpu_sim_out_t *o, mcpu_sim_model_t *m,
    mcpu_sim_spool_t *sp, uint64_t seq, int64_t t);
static void mcpu_sim_out_str(mcpu_sim_out_t *o, const char *s);
static void mcpu_sim_out_u64(mcpu_sim_out_t *o, uint64_t v);
static void mcpu_sim_out_tenths(mcpu_sim_out_t *o, double v);
static void mcpu_sim_out_id(mcpu_sim_out_t *o, char kind,
    const mcpu_sim_model_t *m, uint64_t no);


#define mcpu_sim_out_lit(o, s)                                               \
    do { memcpy((o)->p, s, sizeof(s) - 1); (o)->p += sizeof(s) - 1; } while (0)


int
mcpu_sim_model_init(mcpu_sim_model_t *m, mcpu_sim_scenario_t *sc,
    uint64_t seed, size_t idx, int64_t start_ms)
{
    double   mean_length, mean_gap;
    size_t   i;

    memset(m, 0, sizeof(*m));

    m->matches = calloc(sc->nrules ? sc->nrules : 1, 1);
    m->next_spike = calloc(sc->nrules ? sc->nrules : 1, sizeof(int64_t));
    m->doing = calloc(sc->nactivities ? sc->nactivities : 1,
                      sizeof(mcpu_sim_doing_t));

    if (m->matches == NULL || m->next_spike == NULL || m->doing == NULL) {
        return -1;
    }

    mcpu_sim_model_id(m, seed, idx);
    mcpu_sim_model_draw(m, sc);

    for (i = 0; i < sc->nrules; i++) {
        m->matches[i] = (unsigned char) mcpu_sim_model_matches(m, sc,
                                                               &sc->rules[i]);
        if (!m->matches[i]) {
            continue;
        }

        sc->rules[i].clients++;

        if (sc->rules[i].kind == MCPU_SIM_RULE_HOT) {
            m->hot += mcpu_sim_rng_range(&m->rng, &sc->rules[i].rise);
        }
    }

    /* at the start, a client is in a session with the odds it has of being
     * in one at any moment; it opens the app at once then */
    mean_length = (sc->session_length.lo + sc->session_length.hi) / 2;
    mean_gap = (sc->session_gap.lo + sc->session_gap.hi) / 2;

    if (mcpu_sim_rng_unit(&m->rng) < mean_length / (mean_length + mean_gap)) {
        m->next_open = start_ms + (int64_t) (mcpu_sim_rng_unit(&m->rng)
                                   * mcpu_sim_ms(sc->measure_interval));
    } else {
        m->next_open = start_ms + (int64_t) (mcpu_sim_rng_unit(&m->rng)
                                   * mcpu_sim_ms(sc->session_gap.hi));
    }

    return 0;
}


void
mcpu_sim_model_free(mcpu_sim_model_t *m)
{
    free(m->matches);
    free(m->next_spike);
    free(m->doing);
    free(m->transfers);
    free(m->effects);
    memset(m, 0, sizeof(*m));
}


/*
 * A MAC-like id, unique within a run: the top 24 bits are the run's (from
 * the seed), the low 24 a bijection of the client's number (an odd
 * multiplier modulo 2^24, xor a constant), locally administered, unicast.
 */
static void
mcpu_sim_model_id(mcpu_sim_model_t *m, uint64_t seed, size_t idx)
{
    int              i;
    uint64_t         x, h, id;
    unsigned char    b[6];
    static const char  hex[] = "0123456789abcdef";

    x = seed ^ 0x6d6370752d73696dULL;           /* "mcpu-sim" */
    h = mcpu_sim_splitmix(&x);

    id = (h >> 16 & 0xffffff000000ULL)
         | (((uint64_t) idx * 0x9e3779ULL ^ h) & 0xffffffULL);

    for (i = 5; i >= 0; i--) {
        b[i] = (unsigned char) (id & 0xff);
        id >>= 8;
    }

    b[0] = (unsigned char) ((b[0] & 0xfe) | 0x02);

    for (i = 0; i < 6; i++) {
        m->id[i * 3] = hex[b[i] >> 4];
        m->id[i * 3 + 1] = hex[b[i] & 0xf];
        m->id[i * 3 + 2] = i < 5 ? ':' : '\0';
        m->tag[i * 2] = hex[b[i] >> 4];
        m->tag[i * 2 + 1] = hex[b[i] & 0xf];
    }

    m->tag[12] = '\0';

    /* the client's own stream: the seed and its number, nothing else */
    x = seed * 0x9e3779b97f4a7c15ULL + idx + 1;

    for (i = 0; i < 4; i++) {
        m->rng.s[i] = mcpu_sim_splitmix(&x);
    }
}


/* the client's population and machine, with the scenario's weights */
static void
mcpu_sim_model_draw(mcpu_sim_model_t *m, mcpu_sim_scenario_t *sc)
{
    long    total;
    double  u;
    size_t  i;

    total = 0;
    for (i = 0; i < sc->nversions; i++) {
        total += sc->versions[i].weight;
    }

    u = mcpu_sim_rng_unit(&m->rng) * (double) total;
    for (i = 0; i + 1 < sc->nversions; i++) {
        u -= (double) sc->versions[i].weight;
        if (u < 0) {
            break;
        }
    }

    m->version = (int) i;
    sc->versions[i].clients++;

    total = 0;
    for (i = 0; i < sc->noses; i++) {
        total += sc->oses[i].weight;
    }

    u = mcpu_sim_rng_unit(&m->rng) * (double) total;
    for (i = 0; i + 1 < sc->noses; i++) {
        u -= (double) sc->oses[i].weight;
        if (u < 0) {
            break;
        }
    }

    m->os = (int) i;
    sc->oses[i].clients++;

    m->os_version = (int) (mcpu_sim_rng_unit(&m->rng)
                           * (double) sc->oses[i].nversions);

    m->cores = (int) sc->cores.lo
               + (int) (mcpu_sim_rng_unit(&m->rng)
                        * (sc->cores.hi - sc->cores.lo + 1));

    m->baseline = mcpu_sim_rng_range(&m->rng, &sc->baseline);
}


static int
mcpu_sim_model_matches(const mcpu_sim_model_t *m,
    const mcpu_sim_scenario_t *sc, const mcpu_sim_rule_t *r)
{
    const char  *osv;

    if (r->version >= 0 && r->version != m->version) {
        return 0;
    }

    if (r->os >= 0 && r->os != m->os) {
        return 0;
    }

    osv = sc->oses[m->os].versions[m->os_version];

    return r->os_version == NULL || strcmp(r->os_version, osv) == 0;
}


int
mcpu_sim_model_advance(mcpu_sim_model_t *m, mcpu_sim_scenario_t *sc,
    int64_t until_ms, mcpu_sim_spool_t *sp)
{
    int              rc;
    size_t           which;
    int64_t          t;
    mcpu_sim_next_t  next;

    which = 0;

    for ( ;; ) {
        next = mcpu_sim_model_next(m, sc, &t, &which);

        if (t > until_ms) {
            return 0;
        }

        switch (next) {

        case MCPU_SIM_NEXT_OPEN:
            rc = mcpu_sim_model_open(m, sc, t, sp);
            break;

        case MCPU_SIM_NEXT_CLOSE:
            rc = mcpu_sim_model_close(m, sc, t, sp);
            break;

        case MCPU_SIM_NEXT_MEASURE:
            rc = mcpu_sim_model_measure(m, sc, t, sp);
            break;

        case MCPU_SIM_NEXT_TRANSFER:
            rc = mcpu_sim_model_transfer(m, sc, t, sp);
            break;

        case MCPU_SIM_NEXT_STEP:
            rc = mcpu_sim_model_step(m, sc, which, t, 0, sp);
            break;

        case MCPU_SIM_NEXT_ACTIVITY:
            rc = mcpu_sim_model_activity(m, sc, which, t, 0, sp);
            break;

        default: /* MCPU_SIM_NEXT_SPIKE */
            rc = mcpu_sim_model_spike(m, sc, which, t);
            break;
        }

        if (rc != 0) {
            return -1;
        }
    }
}


/* the earliest happening; on a tie the first checked wins, the session's
 * end last, so that what happens at its very moment is still in it */
static mcpu_sim_next_t
mcpu_sim_model_next(mcpu_sim_model_t *m, const mcpu_sim_scenario_t *sc,
    int64_t *t, size_t *which)
{
    size_t           i;
    mcpu_sim_next_t  next;

    if (!m->in_session) {
        *t = m->next_open;
        return MCPU_SIM_NEXT_OPEN;
    }

    *t = m->next_measure;
    next = MCPU_SIM_NEXT_MEASURE;

    if (m->next_transfer < *t) {
        *t = m->next_transfer;
        next = MCPU_SIM_NEXT_TRANSFER;
    }

    for (i = 0; i < m->ntransfers; i++) {
        if (m->transfers[i].next < *t) {
            *t = m->transfers[i].next;
            next = MCPU_SIM_NEXT_STEP;
            *which = i;
        }
    }

    for (i = 0; i < sc->nactivities; i++) {
        if (m->doing[i].next < *t) {
            *t = m->doing[i].next;
            next = MCPU_SIM_NEXT_ACTIVITY;
            *which = i;
        }
    }

    for (i = 0; i < sc->nrules; i++) {
        if (sc->rules[i].kind == MCPU_SIM_RULE_SPIKES && m->matches[i]
            && m->next_spike[i] < *t)
        {
            *t = m->next_spike[i];
            next = MCPU_SIM_NEXT_SPIKE;
            *which = i;
        }
    }

    if (m->session_end < *t) {
        *t = m->session_end;
        next = MCPU_SIM_NEXT_CLOSE;
    }

    return next;
}


static int
mcpu_sim_model_open(mcpu_sim_model_t *m, mcpu_sim_scenario_t *sc, int64_t t,
    mcpu_sim_spool_t *sp)
{
    size_t          i;
    uint64_t        seq;
    mcpu_sim_out_t  o;

    seq = sp->next_seq;

    m->in_session = 1;
    m->session_no = seq;
    m->session_end = t + mcpu_sim_rng_ms(&m->rng, &sc->session_length);
    m->next_measure = t + mcpu_sim_ms(sc->measure_interval);
    m->next_transfer = t + mcpu_sim_rng_exp_ms(&m->rng, sc->transfer_rate);

    for (i = 0; i < sc->nactivities; i++) {
        m->doing[i].active = 0;
        m->doing[i].next = t + mcpu_sim_rng_exp_ms(&m->rng,
                                              sc->activities[i].rate_per_hour);
    }

    for (i = 0; i < sc->nrules; i++) {
        if (sc->rules[i].kind == MCPU_SIM_RULE_SPIKES) {
            m->next_spike[i] = t + mcpu_sim_rng_exp_ms(&m->rng,
                                                sc->rules[i].rate_per_hour);
        }
    }

    mcpu_sim_out_begin(&o, m, sc, MCPU_SIM_EV_APP_OPENED, t, seq);

    if (mcpu_sim_out_end(&o, m, sp, seq, t) != 0) {
        return -1;
    }

    return mcpu_sim_model_trigger(m, sc, MCPU_SIM_EV_APP_OPENED, t, seq);
}


/* closing the app ends what runs in it, then every effect */
static int
mcpu_sim_model_close(mcpu_sim_model_t *m, mcpu_sim_scenario_t *sc, int64_t t,
    mcpu_sim_spool_t *sp)
{
    size_t          i;
    uint64_t        seq;
    mcpu_sim_out_t  o;

    while (m->ntransfers > 0) {
        if (mcpu_sim_model_step(m, sc, 0, t, 1, sp) != 0) {
            return -1;
        }
    }

    for (i = 0; i < sc->nactivities; i++) {
        if (m->doing[i].active
            && mcpu_sim_model_activity(m, sc, i, t, 1, sp) != 0)
        {
            return -1;
        }
    }

    seq = sp->next_seq;
    mcpu_sim_out_begin(&o, m, sc, MCPU_SIM_EV_APP_CLOSED, t, seq);

    if (mcpu_sim_out_end(&o, m, sp, seq, t) != 0
        || mcpu_sim_model_trigger(m, sc, MCPU_SIM_EV_APP_CLOSED, t, seq) != 0)
    {
        return -1;
    }

    m->neffects = 0;
    m->in_session = 0;
    m->next_open = t + 1 + mcpu_sim_rng_ms(&m->rng, &sc->session_gap);

    return 0;
}


/* "usage": the app's CPU on each core, their mean the app's CPU% */
static int
mcpu_sim_model_measure(mcpu_sim_model_t *m, mcpu_sim_scenario_t *sc,
    int64_t t, mcpu_sim_spool_t *sp)
{
    int             i;
    double          cpu, spread, sum, v;
    double          core[MCPU_SIM_CORES_MAX];
    uint64_t        seq;
    mcpu_sim_out_t  o;

    cpu = mcpu_sim_model_cpu(m, sc, t);

    /* cores differ more when the app works harder; re-centring keeps
     * their mean on the app's CPU% */
    spread = 1 + 0.15 * cpu;
    sum = 0;

    for (i = 0; i < m->cores; i++) {
        core[i] = mcpu_sim_rng_normal(&m->rng) * spread;
        sum += core[i];
    }

    seq = sp->next_seq;
    mcpu_sim_out_begin(&o, m, sc, MCPU_SIM_EV_CPU, t, seq);
    mcpu_sim_out_lit(&o, ",\"usage\":{");

    for (i = 0; i < m->cores; i++) {
        v = cpu + core[i] - sum / m->cores;
        v = v < 0 ? 0 : v > 100 ? 100 : v;

        if (i > 0) {
            *o.p++ = ',';
        }

        *o.p++ = '"';
        mcpu_sim_out_u64(&o, (uint64_t) i);
        mcpu_sim_out_lit(&o, "\":");
        mcpu_sim_out_tenths(&o, v);
    }

    *o.p++ = '}';

    m->next_measure = t + mcpu_sim_ms(sc->measure_interval);

    return mcpu_sim_out_end(&o, m, sp, seq, t);
}


static int
mcpu_sim_model_transfer(mcpu_sim_model_t *m, mcpu_sim_scenario_t *sc,
    int64_t t, mcpu_sim_spool_t *sp)
{
    size_t                cap;
    uint64_t              seq;
    mcpu_sim_out_t        o;
    mcpu_sim_transfer_t  *tr, *more;

    if (m->ntransfers == m->ctransfers) {
        cap = m->ctransfers ? m->ctransfers * 2 : 4;
        more = realloc(m->transfers, cap * sizeof(*tr));
        if (more == NULL) {
            return -1;
        }

        m->transfers = more;
        m->ctransfers = cap;
    }

    seq = sp->next_seq;

    tr = &m->transfers[m->ntransfers++];
    tr->no = seq;
    tr->started = t;
    tr->end = t + 1 + mcpu_sim_rng_ms(&m->rng, &sc->transfer_duration);
    tr->bytes = (uint64_t) mcpu_sim_rng_range(&m->rng, &sc->transfer_bytes);
    tr->next = t + mcpu_sim_ms(sc->progress_every);

    if (tr->next > tr->end) {
        tr->next = tr->end;
    }

    mcpu_sim_out_begin(&o, m, sc, MCPU_SIM_EV_TRANSFER_STARTED, t, seq);
    mcpu_sim_out_lit(&o, ",\"transferId\":\"");
    mcpu_sim_out_id(&o, 't', m, seq);
    mcpu_sim_out_lit(&o, "\",\"bytesTotal\":");
    mcpu_sim_out_u64(&o, tr->bytes);
    mcpu_sim_out_str(&o, mcpu_sim_rng_unit(&m->rng) < 0.5
                         ? ",\"direction\":\"upload\""
                         : ",\"direction\":\"download\"");

    m->next_transfer = t + mcpu_sim_rng_exp_ms(&m->rng, sc->transfer_rate);

    if (mcpu_sim_out_end(&o, m, sp, seq, t) != 0) {
        return -1;
    }

    return mcpu_sim_model_trigger(m, sc, MCPU_SIM_EV_TRANSFER_STARTED, t, seq);
}


/* transfer i: a progress, or its end (complete, or aborted at t) */
static int
mcpu_sim_model_step(mcpu_sim_model_t *m, mcpu_sim_scenario_t *sc, size_t i,
    int64_t t, int aborted, mcpu_sim_spool_t *sp)
{
    int                   ev;
    uint64_t              seq, done, no;
    mcpu_sim_out_t        o;
    mcpu_sim_transfer_t  *tr;

    tr = &m->transfers[i];
    no = tr->no;

    ev = (!aborted && tr->next < tr->end) ? MCPU_SIM_EV_TRANSFER_PROGRESS
                                          : MCPU_SIM_EV_TRANSFER_COMPLETED;

    done = tr->bytes;
    if (t < tr->end) {
        done = (uint64_t) ((double) tr->bytes * (double) (t - tr->started)
                           / (double) (tr->end - tr->started));
    }

    seq = sp->next_seq;
    mcpu_sim_out_begin(&o, m, sc, ev, t, seq);
    mcpu_sim_out_lit(&o, ",\"transferId\":\"");
    mcpu_sim_out_id(&o, 't', m, no);
    mcpu_sim_out_lit(&o, "\",\"bytesDone\":");
    mcpu_sim_out_u64(&o, done);
    mcpu_sim_out_lit(&o, ",\"bytesTotal\":");
    mcpu_sim_out_u64(&o, tr->bytes);

    if (ev == MCPU_SIM_EV_TRANSFER_PROGRESS) {
        tr->next += mcpu_sim_ms(sc->progress_every);
        if (tr->next > tr->end) {
            tr->next = tr->end;
        }

        return mcpu_sim_out_end(&o, m, sp, seq, t) != 0
               || mcpu_sim_model_trigger(m, sc, ev, t, seq) != 0 ? -1 : 0;
    }

    mcpu_sim_out_str(&o, aborted ? ",\"status\":\"aborted\""
                                 : ",\"status\":\"ok\"");

    /* order does not matter among running transfers */
    m->transfers[i] = m->transfers[--m->ntransfers];

    if (mcpu_sim_out_end(&o, m, sp, seq, t) != 0) {
        return -1;
    }

    mcpu_sim_model_complete(m, no, t);

    return mcpu_sim_model_trigger(m, sc, ev, t, seq);
}


/* activity a starts, or ends (at its time, or aborted at t) */
static int
mcpu_sim_model_activity(mcpu_sim_model_t *m, mcpu_sim_scenario_t *sc,
    size_t a, int64_t t, int aborted, mcpu_sim_spool_t *sp)
{
    int                         ev;
    uint64_t                    seq, no;
    mcpu_sim_out_t              o;
    mcpu_sim_doing_t           *d;
    const mcpu_sim_activity_t  *act;

    d = &m->doing[a];
    act = &sc->activities[a];
    seq = sp->next_seq;

    if (!d->active) {
        ev = MCPU_SIM_EV_ACTIVITY + 2 * (int) a;
        d->active = 1;
        d->no = seq;
        d->next = t + 1 + mcpu_sim_rng_ms(&m->rng, &act->duration);

        mcpu_sim_out_begin(&o, m, sc, ev, t, seq);
        mcpu_sim_out_lit(&o, ",\"attributes\":{\"activityId\":\"");
        mcpu_sim_out_id(&o, 'a', m, seq);
        mcpu_sim_out_lit(&o, "\",\"items\":");
        mcpu_sim_out_u64(&o, 100 + (uint64_t) (mcpu_sim_rng_unit(&m->rng)
                                               * 100000));
        *o.p++ = '}';

        return mcpu_sim_out_end(&o, m, sp, seq, t) != 0
               || mcpu_sim_model_trigger(m, sc, ev, t, seq) != 0 ? -1 : 0;
    }

    ev = MCPU_SIM_EV_ACTIVITY + 2 * (int) a + 1;
    no = d->no;
    d->active = 0;
    d->next = t + mcpu_sim_rng_exp_ms(&m->rng, act->rate_per_hour);

    mcpu_sim_out_begin(&o, m, sc, ev, t, seq);
    mcpu_sim_out_lit(&o, ",\"attributes\":{\"activityId\":\"");
    mcpu_sim_out_id(&o, 'a', m, no);
    mcpu_sim_out_str(&o, aborted ? "\",\"status\":\"aborted\"}"
                                 : "\",\"status\":\"ok\"}");

    if (mcpu_sim_out_end(&o, m, sp, seq, t) != 0) {
        return -1;
    }

    mcpu_sim_model_complete(m, no, t);

    return mcpu_sim_model_trigger(m, sc, ev, t, seq);
}


static int
mcpu_sim_model_spike(mcpu_sim_model_t *m, mcpu_sim_scenario_t *sc, size_t r,
    int64_t t)
{
    int64_t           end;
    mcpu_sim_rule_t  *rule;

    rule = &sc->rules[r];
    rule->occurrences++;

    end = t + 1 + mcpu_sim_rng_ms(&m->rng, &rule->duration);
    m->next_spike[r] = t + mcpu_sim_rng_exp_ms(&m->rng, rule->rate_per_hour);

    return mcpu_sim_model_effect(m, t, end,
                                 mcpu_sim_rng_range(&m->rng, &rule->rise), 0);
}


/* event ev happened at t: the causes and bumps it starts for this client */
static int
mcpu_sim_model_trigger(mcpu_sim_model_t *m, mcpu_sim_scenario_t *sc, int ev,
    int64_t t, uint64_t instance)
{
    size_t            i;
    int64_t           start, end;
    mcpu_sim_rule_t  *r;

    for (i = 0; i < sc->nrules; i++) {
        r = &sc->rules[i];

        if (r->event != ev || !m->matches[i]
            || (r->kind != MCPU_SIM_RULE_CAUSE
                && r->kind != MCPU_SIM_RULE_BUMP))
        {
            continue;
        }

        r->occurrences++;

        start = t + mcpu_sim_rng_ms(&m->rng, &r->delay);
        end = r->until ? MCPU_SIM_NEVER
                       : start + 1 + mcpu_sim_rng_ms(&m->rng, &r->duration);

        if (mcpu_sim_model_effect(m, start, end,
                                  mcpu_sim_rng_range(&m->rng, &r->rise),
                                  r->until ? instance : 0)
            != 0)
        {
            return -1;
        }
    }

    return 0;
}


static int
mcpu_sim_model_effect(mcpu_sim_model_t *m, int64_t start, int64_t end,
    double rise, uint64_t until)
{
    size_t              cap;
    mcpu_sim_effect_t  *e, *more;

    if (m->neffects == m->ceffects) {
        cap = m->ceffects ? m->ceffects * 2 : 8;
        more = realloc(m->effects, cap * sizeof(*e));
        if (more == NULL) {
            return -1;
        }

        m->effects = more;
        m->ceffects = cap;
    }

    e = &m->effects[m->neffects++];
    e->start = start;
    e->end = end;
    e->rise = rise;
    e->until = until;

    return 0;
}


/* what started with instance ends with it (duration=until-completed) */
static void
mcpu_sim_model_complete(mcpu_sim_model_t *m, uint64_t instance, int64_t t)
{
    size_t  i;

    for (i = 0; i < m->neffects; i++) {
        if (m->effects[i].until == instance) {
            m->effects[i].end = t;
        }
    }
}


/* the app's CPU% at t; effects over by then are dropped */
static double
mcpu_sim_model_cpu(mcpu_sim_model_t *m, const mcpu_sim_scenario_t *sc,
    int64_t t)
{
    size_t              i;
    double              cpu;
    mcpu_sim_effect_t  *e;

    cpu = m->baseline + m->hot + mcpu_sim_rng_normal(&m->rng) * sc->noise;

    for (i = 0; i < m->neffects; /* void */) {
        e = &m->effects[i];

        if (e->end <= t) {
            *e = m->effects[--m->neffects];
            continue;
        }

        if (e->start <= t) {
            cpu += e->rise;
        }

        i++;
    }

    return cpu < 0 ? 0 : cpu > 100 ? 100 : cpu;
}


/* {"type":"T","time":MS,"seq":N,"sessionId":"s-TAG-N" */
static void
mcpu_sim_out_begin(mcpu_sim_out_t *o, mcpu_sim_model_t *m,
    const mcpu_sim_scenario_t *sc, int ev, int64_t t, uint64_t seq)
{
    o->p = o->buf;
    mcpu_sim_out_lit(o, "{\"type\":\"");
    mcpu_sim_out_str(o, mcpu_sim_scenario_type(sc, ev));
    mcpu_sim_out_lit(o, "\",\"time\":");
    mcpu_sim_out_u64(o, (uint64_t) t);
    mcpu_sim_out_lit(o, ",\"seq\":");
    mcpu_sim_out_u64(o, seq);
    mcpu_sim_out_lit(o, ",\"sessionId\":\"");
    mcpu_sim_out_id(o, 's', m, m->session_no);
    *o->p++ = '"';
}


static int
mcpu_sim_out_end(mcpu_sim_out_t *o, mcpu_sim_model_t *m, mcpu_sim_spool_t *sp,
    uint64_t seq, int64_t t)
{
    *o->p++ = '}';
    *o->p++ = '\n';

    if (m->first_seq == 0) {
        m->first_seq = seq;
    }

    m->events++;

    return mcpu_sim_spool_append(sp, o->buf, (size_t) (o->p - o->buf), seq,
                                 t);
}


static void
mcpu_sim_out_str(mcpu_sim_out_t *o, const char *s)
{
    size_t  len;

    len = strlen(s);
    memcpy(o->p, s, len);
    o->p += len;
}


static void
mcpu_sim_out_u64(mcpu_sim_out_t *o, uint64_t v)
{
    char   tmp[20];
    char  *p;

    p = tmp + sizeof(tmp);

    do {
        *--p = (char) ('0' + v % 10);
        v /= 10;
    } while (v);

    memcpy(o->p, p, (size_t) (tmp + sizeof(tmp) - p));
    o->p += tmp + sizeof(tmp) - p;
}


/* a percentage with one decimal: 12.5, 0.0, 100.0 */
static void
mcpu_sim_out_tenths(mcpu_sim_out_t *o, double v)
{
    uint64_t  tenths;

    tenths = (uint64_t) llround(v * 10);

    mcpu_sim_out_u64(o, tenths / 10);
    *o->p++ = '.';
    *o->p++ = (char) ('0' + tenths % 10);
}


/* "s-6ad696d34535-4590": kind, the client, the starting event's seq */
static void
mcpu_sim_out_id(mcpu_sim_out_t *o, char kind, const mcpu_sim_model_t *m,
    uint64_t no)
{
    *o->p++ = kind;
    *o->p++ = '-';
    memcpy(o->p, m->tag, 12);
    o->p += 12;
    *o->p++ = '-';
    mcpu_sim_out_u64(o, no);
}


static uint64_t
mcpu_sim_splitmix(uint64_t *x)
{
    uint64_t  z;

    z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;

    return z ^ (z >> 31);
}


static uint64_t
mcpu_sim_rng_next(mcpu_sim_rng_t *r)
{
    uint64_t  *s, result, t;

    s = r->s;
    result = s[1] * 5;
    result = (result << 7 | result >> 57) * 9;
    t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s[3] << 45 | s[3] >> 19;

    return result;
}


/* [0, 1), 53 bits */
static double
mcpu_sim_rng_unit(mcpu_sim_rng_t *r)
{
    return (double) (mcpu_sim_rng_next(r) >> 11) * 0x1.0p-53;
}


static double
mcpu_sim_rng_range(mcpu_sim_rng_t *r, const mcpu_sim_range_t *range)
{
    return range->lo + mcpu_sim_rng_unit(r) * (range->hi - range->lo);
}


static int64_t
mcpu_sim_rng_ms(mcpu_sim_rng_t *r, const mcpu_sim_range_t *seconds)
{
    return mcpu_sim_ms(mcpu_sim_rng_range(r, seconds));
}


/* the wait to the next event of a Poisson process of per_hour a hour; at
 * least 1 ms, so that the clock moves; never for a rate of 0 */
static int64_t
mcpu_sim_rng_exp_ms(mcpu_sim_rng_t *r, double per_hour)
{
    double  ms;

    if (per_hour <= 0) {
        return MCPU_SIM_NEVER / 2;
    }

    ms = -log(1 - mcpu_sim_rng_unit(r)) * 3600000.0 / per_hour;

    return ms < 1 ? 1 : (int64_t) ms;
}


/* Box-Muller: one normal deviate from two uniforms */
static double
mcpu_sim_rng_normal(mcpu_sim_rng_t *r)
{
    double  u, v;

    u = 1 - mcpu_sim_rng_unit(r);
    v = mcpu_sim_rng_unit(r);

    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}


static int64_t
mcpu_sim_ms(double seconds)
{
    return (int64_t) llround(seconds * 1000);
}
