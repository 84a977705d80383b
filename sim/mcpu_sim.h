/*
 * mcpu_sim.h: mcpu-sim, the client simulator: N desktop clients that send
 * telemetry through the real ingest path, over simulated hours, with CPU
 * causes planted from a scenario (mcpu_sim_scenario.h).
 *
 * THE RUN (mcpu_sim.c), on one thread:
 *   1. every client asks GET for the last event the server has from it;
 *      its spool (mcpu_sim_spool.h) drops what the server has, and a new
 *      spool continues the server's seq; the clock waits for the answers
 *      (with `speed`, only for a first attempt: offline clients live on);
 *   2. the simulated clock moves from end - hours to end: as fast as the
 *      server takes events (it waits while a client has more than two
 *      batches waiting), or `speed` times real time; at each move every
 *      client generates its events up to the new time (mcpu_sim_model.h)
 *      into its spool;
 *   3. a client with a batch waiting (or an old event) POSTs it, one
 *      request at a time (mcpu_sim_client.c), over a bounded pool of
 *      keep-alive connections (libcurl multi, mcpu_sim_http.c);
 *   4. once the clock is at its end, clients send what they hold, and the
 *      run ends when every spool is empty (or drain_timeout_s passed).
 *
 * A CLIENT'S DELIVERY (mcpu_sim_client.c)
 *   2xx: the batch leaves the spool; the events the answer names in
 *   "refused" are counted, logged, and never sent again.  A connection
 *   error, a timeout or a 5xx: the spool keeps the batch, the client backs
 *   off (503/429: Retry-After seconds; else 0.25 s doubling up to 30 s),
 *   then asks GET and drops every spooled event with a seq up to the
 *   answer's before sending again: it resends what was lost, and only
 *   that, as far as the server knows.
 */

#ifndef MCPU_SIM_H
#define MCPU_SIM_H

#include <signal.h>
#include <stdint.h>

#include <curl/curl.h>

#include "mcpu_sim_conf.h"
#include "mcpu_sim_jwt.h"
#include "mcpu_sim_model.h"
#include "mcpu_sim_scenario.h"
#include "mcpu_sim_spool.h"
#include "mcpu_daemon.h"


#define MCPU_SIM_EXIT_OK         0
#define MCPU_SIM_EXIT_UNSENT     1   /* events stay in the spools */
#define MCPU_SIM_EXIT_CONFIG     2

#define MCPU_SIM_ERRSTR_SIZE     512
#define MCPU_SIM_REASONS_MAX     16  /* refusal codes counted apart */


typedef enum {
    MCPU_SIM_IDLE = 0,
    MCPU_SIM_POSTING,            /* a batch in flight */
    MCPU_SIM_ASKING,             /* GET in flight */
    MCPU_SIM_BACKOFF             /* until wait_until */
} mcpu_sim_state_t;


typedef struct {
    size_t               idx;
    mcpu_sim_model_t     model;
    mcpu_sim_spool_t     spool;

    char                *token;          /* NULL without a key */
    int64_t              token_renew;    /* real ms: make a new one */

    mcpu_sim_state_t     state;
    unsigned             synced:1;       /* GET answered since start */
    unsigned             asked:1;        /* GET answered or failed */
    unsigned             need_sync:1;    /* asks GET before the next POST */
    unsigned             retry:1;        /* the next POST follows a
                                            failure */
    unsigned             failures;       /* failed requests in a row */
    int64_t              wait_until;     /* real ms, in BACKOFF */

    /* the request in flight */
    CURL                *easy;
    struct curl_slist   *headers;
    char                *body;
    size_t               batch;          /* events in the body */
    char                *answer;
    size_t               answer_len;
    size_t               answer_cap;
    long                 retry_after;    /* seconds; -1: none */

    /* its outcome */
    uint64_t             accepted;
    uint64_t             refused;
    uint64_t             known;          /* dropped: the server had them */
} mcpu_sim_client_t;


typedef struct {
    uint64_t  generated;
    uint64_t  accepted;          /* as the answers count them */
    uint64_t  refused;
    uint64_t  known;             /* not resent: GET said the server had
                                    them */
    uint64_t  resent;            /* sends of an event after its first */
    uint64_t  resent_unanswered; /* of those, after a request without an
                                    answer: the only ones that may make
                                    duplicates */
    uint64_t  requests;          /* POSTs */
    uint64_t  gets;
    uint64_t  connects;          /* connections opened (keep-alive reuses
                                    the others) */
    uint64_t  http_503;
    uint64_t  failures;          /* connection errors, timeouts, 5xx */
    uint64_t  retries;           /* POSTs after a failure */
} mcpu_sim_counters_t;


typedef struct {
    char      code[32];
    uint64_t  n;
} mcpu_sim_reason_t;


typedef struct {
    mcpu_sim_conf_t       *conf;
    mcpu_sim_scenario_t    scenario;
    mcpu_sim_key_t         key;
    int                    has_key;

    mcpu_sim_client_t     *clients;
    size_t                 nclients;
    CURLM                 *multi;
    size_t                 in_flight;

    int64_t                start_ms;     /* simulated */
    int64_t                end_ms;
    int64_t                now_ms;       /* the simulated clock */
    int64_t                began;        /* real ms: the program */
    int64_t                clock_began;  /* real ms: the clock (speed) */

    mcpu_sim_counters_t    n;
    mcpu_sim_reason_t      reasons[MCPU_SIM_REASONS_MAX];
    size_t                 nreasons;
    uint64_t               logged;       /* refusals logged one by one */
    int                    fatal;        /* stop: a spool failed, or the
                                            server refuses the tokens */
} mcpu_sim_t;



/* the real clock, ms since the epoch */

/* mcpu_sim_http.c */
int mcpu_sim_http_init(mcpu_sim_t *s, char *errstr, size_t errstr_size);
void mcpu_sim_http_done(mcpu_sim_t *s);
int mcpu_sim_http_post(mcpu_sim_t *s, mcpu_sim_client_t *c, char *body,
    size_t len, char *errstr, size_t errstr_size);
int mcpu_sim_http_get(mcpu_sim_t *s, mcpu_sim_client_t *c, char *errstr,
    size_t errstr_size);
void mcpu_sim_http_poll(mcpu_sim_t *s, int timeout_ms);
void mcpu_sim_http_release(mcpu_sim_t *s, mcpu_sim_client_t *c);

/* mcpu_sim_client.c */
int mcpu_sim_client_open(mcpu_sim_t *s, mcpu_sim_client_t *c, size_t idx,
    char *errstr, size_t errstr_size);
void mcpu_sim_client_close(mcpu_sim_t *s, mcpu_sim_client_t *c);
void mcpu_sim_client_go(mcpu_sim_t *s, mcpu_sim_client_t *c, int64_t now,
    int flush);
void mcpu_sim_client_answer(mcpu_sim_t *s, mcpu_sim_client_t *c,
    CURLcode rc, long status, const char *error);
size_t mcpu_sim_client_waiting(const mcpu_sim_client_t *c);

/* mcpu_sim_truth.c */
int mcpu_sim_truth_write(mcpu_sim_t *s, const char *path, char *errstr,
    size_t errstr_size);

#endif /* MCPU_SIM_H */
