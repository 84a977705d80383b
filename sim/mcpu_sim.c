/*
 * mcpu_sim.c: mcpu-sim's start, the run (the simulated clock and the
 * clients' turns, mcpu_sim.h "THE RUN") and the summary.
 *
 * Exit codes: 0 every event generated was delivered (accepted, refused,
 * or known to the server), 1 some stay in the spools (stopped by a signal,
 * drain_timeout_s passed, or a failure: a spool, the server refusing the
 * tokens), 2 a setting, the key or the scenario was refused.
 */

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "mcpu_log.h"
#include "mcpu_sim.h"


#define MCPU_SIM_STEP_MS          60000   /* the clock's move at most, when
                                             it follows the server */
#define MCPU_SIM_PROGRESS_MS      5000    /* a progress line this often */
#define MCPU_SIM_IDLE_POLL_MS     20      /* wait for the network at most,
                                             when the clock cannot move */




static int mcpu_sim_setup(mcpu_sim_t *s, char *errstr, size_t errstr_size);
static int mcpu_sim_run(mcpu_sim_t *s);
static int mcpu_sim_open_clients(mcpu_sim_t *s);
static int mcpu_sim_files(mcpu_sim_t *s);
static int mcpu_sim_advance(mcpu_sim_t *s, int64_t now);
static int mcpu_sim_generate(mcpu_sim_t *s, int64_t until);
static void mcpu_sim_progress(mcpu_sim_t *s, int64_t now, int64_t *next);
static void mcpu_sim_summary(mcpu_sim_t *s, size_t left);
static void mcpu_sim_clock(int64_t ms, char *buf, size_t size);




int
main(int argc, char **argv)
{
    int              rc;
    mcpu_sim_t       s;
    mcpu_sim_conf_t  conf;
    char             errstr[MCPU_SIM_ERRSTR_SIZE], allow[1024];

    memset(&s, 0, sizeof(s));
    s.began = mcpu_daemon_wall_ms();

    rc = mcpu_sim_conf_load(&conf, argc, argv, errstr, sizeof(errstr));
    if (rc != MCPU_CONF_OK) {
        if (rc == MCPU_CONF_DONE) {
            mcpu_sim_conf_free(&conf);
            return 0;
        }

        fprintf(stderr, "mcpu-sim: %s\n", errstr);
        mcpu_sim_conf_free(&conf);
        return MCPU_SIM_EXIT_CONFIG;
    }

    s.conf = &conf;

    if (mcpu_sim_setup(&s, errstr, sizeof(errstr)) != 0) {
        fprintf(stderr, "mcpu-sim: %s\n", errstr);
        rc = MCPU_SIM_EXIT_CONFIG;
        goto done;
    }

    if (conf.test) {
        mcpu_sim_scenario_allow(&s.scenario, allow, sizeof(allow));
        printf("mcpu-sim: configuration is ok\n%s%s",
               allow[0] ? allow : "(the scenario has no activity: no "
               "mcpu_event_type_allow is needed)", "\n");
        rc = 0;
        goto done;
    }

    if (mcpu_log_open("mcpu-sim", conf.log_file, errstr, sizeof(errstr))
        != 0)
    {
        fprintf(stderr, "mcpu-sim: %s\n", errstr);
        rc = MCPU_SIM_EXIT_CONFIG;
        goto done;
    }

    if (mcpu_daemon_signals() != 0) {
        mcpu_log(MCPU_LOG_CRIT, "sigaction: %s", strerror(errno));
        rc = MCPU_SIM_EXIT_UNSENT;
        goto done;
    }

    rc = mcpu_sim_run(&s);

done:

    mcpu_sim_jwt_free(&s.key);
    mcpu_sim_scenario_free(&s.scenario);
    mcpu_sim_conf_free(&conf);
    return rc;
}


/* what -t checks too: the scenario, the time span, the key */
static int
mcpu_sim_setup(mcpu_sim_t *s, char *errstr, size_t errstr_size)
{
    int64_t           now;
    mcpu_sim_conf_t  *conf = s->conf;

    if (mcpu_sim_scenario_load(&s->scenario, conf->scenario, errstr,
                               errstr_size)
        != 0)
    {
        return -1;
    }

    s->nclients = conf->clients > 0 ? (size_t) conf->clients
                                    : (size_t) s->scenario.clients;

    now = mcpu_daemon_wall_ms();
    s->end_ms = conf->end_ms > 0 ? conf->end_ms : now;

    /* the module refuses events more than an hour ahead of its clock */
    if (s->end_ms > now + 1000) {
        snprintf(errstr, errstr_size, "option \"end_ms\" (%ld) is in the "
                 "future: simulated time must end by now (%" PRId64 ")",
                 conf->end_ms, now);
        return -1;
    }

    s->start_ms = s->end_ms - (int64_t) (conf->hours * 3600000.0);
    s->now_ms = s->start_ms;

    if (conf->key_file[0] == '\0') {
        return 0;
    }

    if (mcpu_sim_jwt_load(&s->key, conf->key_file, conf->alg, errstr,
                          errstr_size)
        != 0)
    {
        return -1;
    }

    s->has_key = 1;
    return 0;
}


static int
mcpu_sim_run(mcpu_sim_t *s)
{
    int                 exit_code, flush, done;
    size_t              i, left, synced;
    int64_t             now, drain_began, next_progress;
    mcpu_sim_conf_t    *conf = s->conf;
    mcpu_sim_client_t  *c;
    char                errstr[MCPU_SIM_ERRSTR_SIZE], from[32], to[32];
    char                allow[1024];

    exit_code = MCPU_SIM_EXIT_UNSENT;

    mcpu_sim_clock(s->start_ms, from, sizeof(from));
    mcpu_sim_clock(s->end_ms, to, sizeof(to));
    mcpu_log(MCPU_LOG_NOTICE, "starting: %zu clients, %.2f simulated hours "
             "(%s to %s), scenario \"%s\", seed %ld, %s, to %s, spools in "
             "\"%s\"", s->nclients, conf->hours, from, to, conf->scenario,
             conf->seed, conf->speed > 0 ? "at the given speed"
                                         : "as fast as the server takes",
             conf->url, conf->spool_dir);

    mcpu_sim_scenario_allow(&s->scenario, allow, sizeof(allow));
    if (allow[0] != '\0') {
        mcpu_log(MCPU_LOG_NOTICE, "the ingest location must allow the "
                 "scenario's activities: %s", allow);
    }

    if (mcpu_sim_http_init(s, errstr, sizeof(errstr)) != 0) {
        mcpu_log(MCPU_LOG_CRIT, "%s", errstr);
        goto done;
    }

    if (mcpu_sim_open_clients(s) != 0) {
        goto done;
    }

    drain_began = 0;
    next_progress = 0;
    left = 0;

    while (!mcpu_daemon_stop && !s->fatal) {

        if (mcpu_daemon_reopen) {
            mcpu_daemon_reopen = 0;
            if (mcpu_log_reopen(errstr, sizeof(errstr)) != 0) {
                mcpu_log(MCPU_LOG_ERROR, "%s", errstr);
            }
        }

        now = mcpu_daemon_wall_ms();
        flush = s->now_ms >= s->end_ms;
        done = flush && s->in_flight == 0;
        synced = 0;
        left = 0;

        for (i = 0; i < s->nclients; i++) {
            c = &s->clients[i];
            mcpu_sim_client_go(s, c, now, flush);

            /* at the given speed, clients live on while the server is
             * away, as real ones: one attempt at GET is enough */
            synced += conf->speed > 0 ? c->asked : c->synced;
            left += c->spool.count;

            if (c->spool.count > 0 || !c->synced) {
                done = 0;
            }
        }

        if (done) {
            exit_code = MCPU_SIM_EXIT_OK;
            break;
        }

        if (flush && drain_began == 0) {
            drain_began = now;
            mcpu_log(MCPU_LOG_NOTICE, "simulated time is over: %" PRIu64
                     " events generated; %zu still to deliver", s->n.generated,
                     left);
        }

        if (flush && now - drain_began > conf->drain_timeout_s * 1000) {
            mcpu_log(MCPU_LOG_ERROR, "drain_timeout_s (%ld) passed with %zu "
                     "events not delivered; they stay in the spools",
                     conf->drain_timeout_s, left);
            break;
        }

        mcpu_sim_progress(s, now, &next_progress);

        /* the clock starts once every client knows where it stands (or,
         * at the given speed, has tried to know) */
        if (synced == s->nclients && mcpu_sim_advance(s, now)) {
            mcpu_sim_http_poll(s, 0);
            continue;
        }

        mcpu_sim_http_poll(s, MCPU_SIM_IDLE_POLL_MS);
    }

    if (mcpu_daemon_stop) {
        mcpu_log(MCPU_LOG_NOTICE, "stopped by a signal; undelivered events "
                 "stay in the spools");
    }

done:

    if (conf->truth_file[0] != '\0' && s->clients != NULL) {
        if (mcpu_sim_truth_write(s, conf->truth_file, errstr, sizeof(errstr))
            != 0)
        {
            mcpu_log(MCPU_LOG_ERROR, "%s", errstr);
            exit_code = MCPU_SIM_EXIT_UNSENT;
        }
    }

    if (s->clients != NULL) {
        left = 0;
        for (i = 0; i < s->nclients; i++) {
            left += s->clients[i].spool.count;
        }

        mcpu_sim_summary(s, left);
    }

    mcpu_sim_http_done(s);

    for (i = 0; s->clients != NULL && i < s->nclients; i++) {
        mcpu_sim_client_close(s, &s->clients[i]);
    }

    free(s->clients);
    s->clients = NULL;

    mcpu_log(MCPU_LOG_NOTICE, "exiting with status %d", exit_code);
    return exit_code;
}


static int
mcpu_sim_open_clients(mcpu_sim_t *s)
{
    size_t  i, spooled;
    char    errstr[MCPU_SIM_ERRSTR_SIZE];

    if (mcpu_sim_files(s) != 0) {
        return -1;
    }

    if (mkdir(s->conf->spool_dir, 0750) != 0 && errno != EEXIST) {
        mcpu_log(MCPU_LOG_CRIT, "mkdir(\"%s\") for the spools failed: %s",
                 s->conf->spool_dir, strerror(errno));
        return -1;
    }

    s->clients = calloc(s->nclients, sizeof(mcpu_sim_client_t));
    if (s->clients == NULL) {
        mcpu_log(MCPU_LOG_CRIT, "out of memory for %zu clients", s->nclients);
        return -1;
    }

    spooled = 0;

    for (i = 0; i < s->nclients; i++) {
        if (mcpu_sim_client_open(s, &s->clients[i], i, errstr,
                                 sizeof(errstr))
            != 0)
        {
            mcpu_log(MCPU_LOG_CRIT, "%s", errstr);

            /* the clients opened so far are closed with the rest */
            s->nclients = i + 1;
            return -1;
        }

        spooled += s->clients[i].spool.count;
    }

    if (spooled > 0) {
        mcpu_log(MCPU_LOG_NOTICE, "%zu events left in the spools by an "
                 "earlier run: each client asks the server what it has, "
                 "then sends the rest first", spooled);
    }

    return 0;
}


/*
 * Each client keeps its spool open, and each connection is a socket: the
 * soft limit of open files (often 1024) is raised up to the hard one as
 * needed, and a run that would not fit is refused before it starts.
 */
static int
mcpu_sim_files(mcpu_sim_t *s)
{
    rlim_t         need;
    struct rlimit  rl;

    need = (rlim_t) s->nclients + (rlim_t) s->conf->connections + 64;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        mcpu_log(MCPU_LOG_CRIT, "getrlimit(RLIMIT_NOFILE) failed: %s",
                 strerror(errno));
        return -1;
    }

    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
            mcpu_log(MCPU_LOG_CRIT, "%zu clients and %ld connections need "
                     "%ju open files, more than the hard limit %ju (ulimit "
                     "-Hn)", s->nclients, s->conf->connections,
                     (uintmax_t) need, (uintmax_t) rl.rlim_max);
            return -1;
        }

        rl.rlim_cur = need;

        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            mcpu_log(MCPU_LOG_CRIT, "setrlimit(RLIMIT_NOFILE, %ju) failed: %s",
                     (uintmax_t) need, strerror(errno));
            return -1;
        }
    }

    return 0;
}


/*
 * Moves the simulated clock if it may: `speed` times real time, or (speed
 * 0) by up to a step while no client has two batches waiting, so that the
 * clock follows the server.  Returns whether it moved.
 */
static int
mcpu_sim_advance(mcpu_sim_t *s, int64_t now)
{
    size_t   i, high;
    int64_t  until;

    if (s->now_ms >= s->end_ms) {
        return 0;
    }

    if (s->conf->speed > 0) {
        if (s->clock_began == 0) {
            s->clock_began = now;
        }

        until = s->start_ms
                + (int64_t) ((double) (now - s->clock_began) * s->conf->speed);

    } else {
        high = 2 * (size_t) s->conf->batch;

        for (i = 0; i < s->nclients; i++) {
            if (mcpu_sim_client_waiting(&s->clients[i]) >= high) {
                return 0;
            }
        }

        until = s->now_ms
                + (s->conf->flush_interval_s * 1000 < MCPU_SIM_STEP_MS
                   ? s->conf->flush_interval_s * 1000 : MCPU_SIM_STEP_MS);
    }

    if (until > s->end_ms) {
        until = s->end_ms;
    }

    if (until <= s->now_ms) {
        return 0;
    }

    if (mcpu_sim_generate(s, until) != 0) {
        s->fatal = 1;
        return 0;
    }

    s->now_ms = until;
    return 1;
}


/* every client's events up to until, into its spool file */
static int
mcpu_sim_generate(mcpu_sim_t *s, int64_t until)
{
    size_t              i;
    uint64_t            before;
    mcpu_sim_client_t  *c;
    char                errstr[MCPU_SIM_ERRSTR_SIZE];

    for (i = 0; i < s->nclients; i++) {
        c = &s->clients[i];
        before = c->model.events;

        if (mcpu_sim_model_advance(&c->model, &s->scenario, until, &c->spool)
            != 0)
        {
            mcpu_log(MCPU_LOG_CRIT, "client %s: out of memory", c->model.id);
            return -1;
        }

        if (mcpu_sim_spool_write(&c->spool, errstr, sizeof(errstr)) != 0) {
            mcpu_log(MCPU_LOG_CRIT, "client %s: %s", c->model.id, errstr);
            return -1;
        }

        s->n.generated += c->model.events - before;
    }

    return 0;
}


static void
mcpu_sim_progress(mcpu_sim_t *s, int64_t now, int64_t *next)
{
    char  at[32];

    if (now < *next) {
        return;
    }

    if (*next != 0) {
        mcpu_sim_clock(s->now_ms, at, sizeof(at));
        mcpu_log(MCPU_LOG_NOTICE, "simulated clock at %s (%.0f%%): %" PRIu64
                 " generated, %" PRIu64 " accepted, %" PRIu64 " refused, %"
                 PRIu64 " known to the server, %zu requests in flight; %"
                 PRIu64 " failures, %" PRIu64 " answers 503", at,
                 100.0 * (double) (s->now_ms - s->start_ms)
                 / (double) (s->end_ms - s->start_ms + 1), s->n.generated,
                 s->n.accepted, s->n.refused, s->n.known, s->in_flight,
                 s->n.failures, s->n.http_503);
    }

    *next = now + MCPU_SIM_PROGRESS_MS;
}


/* one line on stdout, for people and scripts; the same in the log */
static void
mcpu_sim_summary(mcpu_sim_t *s, size_t left)
{
    int      n;
    char     line[1024], reasons[512];
    size_t   i, len;
    double   seconds;

    seconds = (double) (mcpu_daemon_wall_ms() - s->began) / 1000;

    n = snprintf(line, sizeof(line), "clients=%zu generated=%" PRIu64
                 " accepted=%" PRIu64 " refused=%" PRIu64 " known=%" PRIu64
                 " resent=%" PRIu64 " resent_unanswered=%" PRIu64
                 " requests=%" PRIu64 " gets=%" PRIu64 " connects=%" PRIu64
                 " http_503=%" PRIu64 " failures=%" PRIu64 " retries=%"
                 PRIu64 " left=%zu seconds=%.2f events_per_s=%.0f",
                 s->nclients, s->n.generated, s->n.accepted, s->n.refused,
                 s->n.known, s->n.resent, s->n.resent_unanswered,
                 s->n.requests, s->n.gets, s->n.connects,
                 s->n.http_503, s->n.failures, s->n.retries, left, seconds,
                 seconds > 0 ? (double) s->n.generated / seconds : 0);
    (void) n;

    printf("mcpu-sim: %s\n", line);
    fflush(stdout);
    mcpu_log(MCPU_LOG_NOTICE, "done: %s", line);

    if (s->nreasons == 0) {
        return;
    }

    len = 0;
    reasons[0] = '\0';

    for (i = 0; i < s->nreasons && len < sizeof(reasons); i++) {
        n = snprintf(reasons + len, sizeof(reasons) - len, "%s%s=%" PRIu64,
                     i ? " " : "", s->reasons[i].code, s->reasons[i].n);
        if (n < 0) {
            break;
        }

        len += (size_t) n;
    }

    mcpu_log(MCPU_LOG_WARN, "refused events by reason: %s", reasons);
}


/* 2026-11-23T22:00:00Z */
static void
mcpu_sim_clock(int64_t ms, char *buf, size_t size)
{
    time_t     t;
    struct tm  tm;

    t = (time_t) (ms / 1000);
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}


