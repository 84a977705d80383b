/*
 * mcpu_sim_client.c: one client's delivery: when it sends, what an answer
 * does to its spool, and how it comes back after a failure (mcpu_sim.h,
 * "A client's delivery").
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mcpu_log.h"
#include "mcpu_sim.h"


#define MCPU_SIM_BACKOFF_MIN_MS    250
#define MCPU_SIM_BACKOFF_MAX_MS    30000
#define MCPU_SIM_LOG_REFUSALS      20     /* logged one by one, then only
                                             counted */


static void mcpu_sim_client_post(mcpu_sim_t *s, mcpu_sim_client_t *c);
static void mcpu_sim_client_posted(mcpu_sim_t *s, mcpu_sim_client_t *c,
    long status);
static void mcpu_sim_client_refused(mcpu_sim_t *s, mcpu_sim_client_t *c,
    json_t *refused, size_t n);
static void mcpu_sim_client_asked(mcpu_sim_t *s, mcpu_sim_client_t *c,
    long status);
static void mcpu_sim_client_failed(mcpu_sim_t *s, mcpu_sim_client_t *c,
    const char *what, int unanswered);
static void mcpu_sim_client_remove(mcpu_sim_t *s, mcpu_sim_client_t *c,
    size_t n);
static void mcpu_sim_client_reason(mcpu_sim_t *s, const char *code,
    uint64_t n);
static const char *mcpu_sim_client_error(mcpu_sim_client_t *c, char *buf,
    size_t size);


int
mcpu_sim_client_open(mcpu_sim_t *s, mcpu_sim_client_t *c, size_t idx,
    char *errstr, size_t errstr_size)
{
    memset(c, 0, sizeof(*c));
    c->idx = idx;
    c->retry_after = -1;

    if (mcpu_sim_model_init(&c->model, &s->scenario,
                            (uint64_t) s->conf->seed, idx, s->start_ms)
        != 0)
    {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }

    return mcpu_sim_spool_open(&c->spool, s->conf->spool_dir, c->model.id,
                               errstr, errstr_size);
}


void
mcpu_sim_client_close(mcpu_sim_t *s, mcpu_sim_client_t *c)
{
    (void) s;

    mcpu_sim_model_free(&c->model);
    mcpu_sim_spool_close(&c->spool);
    free(c->token);
    free(c->answer);
    c->token = NULL;
    c->answer = NULL;
}


/* events in the spool that no request carries now */
size_t
mcpu_sim_client_waiting(const mcpu_sim_client_t *c)
{
    return c->spool.count - (c->state == MCPU_SIM_POSTING ? c->batch : 0);
}


/*
 * What the client does next, if it is free: ask GET (at its first turn,
 * and after a failure), or send a batch when one is full, when its oldest
 * event waited flush_interval_s of simulated time, or when told to flush
 * (the clock is at its end).
 */
void
mcpu_sim_client_go(mcpu_sim_t *s, mcpu_sim_client_t *c, int64_t now,
    int flush)
{
    char              errstr[MCPU_SIM_ERRSTR_SIZE];
    mcpu_sim_entry_t  *first;

    if (c->state == MCPU_SIM_BACKOFF) {
        if (now < c->wait_until) {
            return;
        }

        c->state = MCPU_SIM_IDLE;
    }

    if (c->state != MCPU_SIM_IDLE) {
        return;
    }

    if (!c->synced || c->need_sync) {
        if (mcpu_sim_http_get(s, c, errstr, sizeof(errstr)) != 0) {
            mcpu_log(MCPU_LOG_CRIT, "client %s: %s", c->model.id, errstr);
            s->fatal = 1;
        }

        return;
    }

    if (c->spool.written == 0) {
        return;
    }

    first = mcpu_sim_spool_entry(&c->spool, 0);

    if (flush || c->spool.written >= (size_t) s->conf->batch
        || first->time <= s->now_ms - s->conf->flush_interval_s * 1000)
    {
        mcpu_sim_client_post(s, c);
    }
}


static void
mcpu_sim_client_post(mcpu_sim_t *s, mcpu_sim_client_t *c)
{
    char              *body;
    size_t             i, len;
    ssize_t            n;
    mcpu_sim_entry_t  *e;
    char               errstr[MCPU_SIM_ERRSTR_SIZE];

    body = malloc((size_t) s->conf->max_body);
    if (body == NULL) {
        mcpu_log(MCPU_LOG_CRIT, "client %s: out of memory", c->model.id);
        s->fatal = 1;
        return;
    }

    n = mcpu_sim_spool_read(&c->spool, (size_t) s->conf->batch,
                            (size_t) s->conf->max_body, body, &len, errstr,
                            sizeof(errstr));
    if (n <= 0) {
        free(body);

        if (n < 0) {
            mcpu_log(MCPU_LOG_CRIT, "client %s: %s", c->model.id, errstr);
            s->fatal = 1;
        }

        return;
    }

    c->batch = (size_t) n;

    for (i = 0; i < c->batch; i++) {
        e = mcpu_sim_spool_entry(&c->spool, i);

        if (e->sends++ > 0) {
            s->n.resent++;
            s->n.resent_unanswered += e->unanswered;
        }

        e->unanswered = 0;
    }

    if (c->retry) {
        c->retry = 0;
        s->n.retries++;
    }

    if (mcpu_sim_http_post(s, c, body, len, errstr, sizeof(errstr)) != 0) {
        mcpu_log(MCPU_LOG_CRIT, "client %s: %s", c->model.id, errstr);
        s->fatal = 1;
    }
}


/*
 * A request is over: rc is libcurl's outcome, status the HTTP status (0
 * without an answer), error libcurl's message.
 */
void
mcpu_sim_client_answer(mcpu_sim_t *s, mcpu_sim_client_t *c, CURLcode rc,
    long status, const char *error)
{
    int   asking;
    char  what[128], buf[160];

    asking = c->state == MCPU_SIM_ASKING;
    c->state = MCPU_SIM_IDLE;
    c->asked |= asking;

    if (rc != CURLE_OK) {
        /* a request that never reached the server cannot have been taken */
        snprintf(what, sizeof(what), "%s", error);
        mcpu_sim_client_failed(s, c, what, !asking
                               && rc != CURLE_COULDNT_CONNECT
                               && rc != CURLE_COULDNT_RESOLVE_HOST);
        return;
    }

    if (status == 401 || status == 403) {
        /* every client has the same key: the run cannot go on */
        mcpu_log(MCPU_LOG_CRIT, "client %s: %s answered %ld (%s): check "
                 "--key and --alg against the location's mcpu_jwt_key; "
                 "stopping", c->model.id, asking ? "GET" : "POST", status,
                 mcpu_sim_client_error(c, buf, sizeof(buf)));
        s->fatal = 1;
        return;
    }

    if (status == 503 || status == 429 || status == 408 || status >= 500) {
        if (status == 503) {
            s->n.http_503++;
        }

        /* 503 (ring full) and 429 take nothing of a batch; a 500 or a
         * gateway's 502/504 may come after the events were taken */
        snprintf(what, sizeof(what), "%ld %s", status,
                 mcpu_sim_client_error(c, buf, sizeof(buf)));
        mcpu_sim_client_failed(s, c, what, !asking && status != 503
                                           && status != 429);
        return;
    }

    if (asking) {
        mcpu_sim_client_asked(s, c, status);
        return;
    }

    mcpu_sim_client_posted(s, c, status);
}


/*
 * No answer, or one that says "later": the spool keeps everything, the
 * client waits (Retry-After when the server gave one), then asks GET.
 * unanswered: the batch may have been taken (counted when resent).
 */
static void
mcpu_sim_client_failed(mcpu_sim_t *s, mcpu_sim_client_t *c, const char *what,
    int unanswered)
{
    size_t    i;
    int64_t   wait;
    unsigned  shift;

    for (i = 0; unanswered && i < c->batch; i++) {
        mcpu_sim_spool_entry(&c->spool, i)->unanswered = 1;
    }

    s->n.failures++;
    c->failures++;
    c->need_sync = 1;
    c->retry = 1;

    if (c->retry_after >= 0) {
        wait = c->retry_after * 1000;

    } else {
        shift = c->failures - 1 < 7 ? c->failures - 1 : 7;
        wait = (int64_t) MCPU_SIM_BACKOFF_MIN_MS << shift;

        if (wait > MCPU_SIM_BACKOFF_MAX_MS) {
            wait = MCPU_SIM_BACKOFF_MAX_MS;
        }

        /* clients that failed together should not come back together */
        wait = wait / 2 + (int64_t) ((c->idx * 2654435761u + c->failures)
                                     % (uint64_t) (wait / 2 + 1));
    }

    c->wait_until = mcpu_daemon_wall_ms() + wait;
    c->state = MCPU_SIM_BACKOFF;

    mcpu_log(c->failures == 1 ? MCPU_LOG_INFO : MCPU_LOG_DEBUG,
             "client %s: request failed (%s), %zu events kept; again in "
             "%" PRId64 " ms, after asking what the server has",
             c->model.id, what, c->spool.count, wait);
}


/* GET: 200 with the record of the last event the server has, or 404 */
static void
mcpu_sim_client_asked(mcpu_sim_t *s, mcpu_sim_client_t *c, long status)
{
    size_t         n;
    json_t        *root, *seq;
    uint64_t       last;
    json_error_t   err;
    char           buf[160];

    if (status == 404) {
        c->synced = 1;
        c->need_sync = 0;
        return;
    }

    root = status == 200 ? json_loadb(c->answer, c->answer_len, 0, &err)
                         : NULL;
    seq = root ? json_object_get(root, "seq") : NULL;

    if (!json_is_integer(seq) || json_integer_value(seq) < 0) {
        /* not an answer a client can act on: everything stays, the client
         * asks again later, and its events wait meanwhile */
        mcpu_log(MCPU_LOG_ERROR, "client %s: GET answered %ld without a "
                 "\"seq\" (%s)", c->model.id, status,
                 mcpu_sim_client_error(c, buf, sizeof(buf)));
        json_decref(root);
        mcpu_sim_client_failed(s, c, "GET without seq", 0);
        return;
    }

    last = (uint64_t) json_integer_value(seq);
    json_decref(root);

    c->synced = 1;
    c->need_sync = 0;
    c->failures = 0;

    n = mcpu_sim_spool_count_upto(&c->spool, last);

    if (n > 0) {
        mcpu_log(MCPU_LOG_INFO, "client %s: the server has seq %" PRIu64
                 ": %zu spooled events up to it are not sent again (seq "
                 "%" PRIu64 "..%" PRIu64 "), %zu are", c->model.id, last, n,
                 mcpu_sim_spool_entry(&c->spool, 0)->seq,
                 mcpu_sim_spool_entry(&c->spool, n - 1)->seq,
                 c->spool.count - n);

        c->known += n;
        s->n.known += n;
        mcpu_sim_client_remove(s, c, n);
    }

    /* a client whose spool was lost continues the server's sequence, so
     * that its new events are not taken for duplicates downstream */
    if (c->spool.count == 0 && last >= c->spool.next_seq) {
        mcpu_log(MCPU_LOG_NOTICE, "client %s: the server has seq %" PRIu64
                 " already: the sequence continues after it", c->model.id,
                 last);
        c->spool.next_seq = last + 1;
    }
}


/* POST answered 2xx, or 4xx: the batch leaves the spool either way */
static void
mcpu_sim_client_posted(mcpu_sim_t *s, mcpu_sim_client_t *c, long status)
{
    size_t        n, accepted;
    json_t       *root, *refused, *count;
    json_error_t  err;
    char          code[32], buf[160];

    n = c->batch;
    c->failures = 0;

    root = json_loadb(c->answer, c->answer_len, 0, &err);
    count = root ? json_object_get(root, "accepted") : NULL;
    refused = root ? json_object_get(root, "refused") : NULL;

    if (json_is_integer(count) && json_is_array(refused)
        && json_integer_value(count) >= 0
        && (size_t) json_integer_value(count) <= n)
    {
        /* a batch answer, 202 or 400 when every event was refused */
        accepted = (size_t) json_integer_value(count);
        mcpu_sim_client_refused(s, c, refused, n - accepted);

    } else if (status >= 200 && status < 300) {
        mcpu_log(MCPU_LOG_WARN, "client %s: POST answered %ld without a "
                 "batch answer (%s); its %zu events are taken as accepted",
                 c->model.id, status,
                 mcpu_sim_client_error(c, buf, sizeof(buf)), n);
        accepted = n;

    } else {
        /* the request as a whole is refused: resending it would be
         * refused again */
        accepted = 0;
        snprintf(code, sizeof(code), "http_%ld", status);
        mcpu_sim_client_reason(s, code, n);

        mcpu_log(MCPU_LOG_ERROR, "client %s: POST of %zu events (seq "
                 "%" PRIu64 "..%" PRIu64 ") refused whole: %ld %s; they are "
                 "dropped", c->model.id, n,
                 mcpu_sim_spool_entry(&c->spool, 0)->seq,
                 mcpu_sim_spool_entry(&c->spool, n - 1)->seq, status,
                 mcpu_sim_client_error(c, buf, sizeof(buf)));
    }

    json_decref(root);

    c->accepted += accepted;
    s->n.accepted += accepted;
    c->refused += n - accepted;
    s->n.refused += n - accepted;

    mcpu_sim_client_remove(s, c, n);
}


/* the refusals of a batch answer: counted by reason, the first logged */
static void
mcpu_sim_client_refused(mcpu_sim_t *s, mcpu_sim_client_t *c, json_t *refused,
    size_t n)
{
    size_t        i, listed;
    json_t       *r;
    const char   *code, *detail;
    json_int_t    seq;

    listed = 0;

    json_array_foreach(refused, i, r) {
        code = json_string_value(json_object_get(r, "error"));
        detail = json_string_value(json_object_get(r, "detail"));
        seq = json_integer_value(json_object_get(r, "seq"));
        code = code ? code : "unknown";

        mcpu_sim_client_reason(s, code, 1);
        listed++;

        if (s->logged++ < MCPU_SIM_LOG_REFUSALS) {
            mcpu_log(MCPU_LOG_INFO, "client %s: event seq %" JSON_INTEGER_FORMAT
                     " refused: %s: %s%s", c->model.id, seq, code,
                     detail ? detail : "",
                     s->logged == MCPU_SIM_LOG_REFUSALS
                     ? " (further refusals are only counted)" : "");
        }
    }

    if (listed < n) {
        mcpu_sim_client_reason(s, "unlisted", n - listed);
    }
}


static void
mcpu_sim_client_remove(mcpu_sim_t *s, mcpu_sim_client_t *c, size_t n)
{
    char  errstr[MCPU_SIM_ERRSTR_SIZE];

    if (mcpu_sim_spool_remove(&c->spool, n, errstr, sizeof(errstr)) != 0) {
        mcpu_log(MCPU_LOG_CRIT, "client %s: %s", c->model.id, errstr);
        s->fatal = 1;
    }
}


static void
mcpu_sim_client_reason(mcpu_sim_t *s, const char *code, uint64_t n)
{
    size_t  i;

    for (i = 0; i < s->nreasons; i++) {
        if (strcmp(s->reasons[i].code, code) == 0) {
            s->reasons[i].n += n;
            return;
        }
    }

    if (s->nreasons == MCPU_SIM_REASONS_MAX) {
        i = MCPU_SIM_REASONS_MAX - 1;         /* the last slot: "other" */
        snprintf(s->reasons[i].code, sizeof(s->reasons[i].code), "other");
        s->reasons[i].n += n;
        return;
    }

    snprintf(s->reasons[s->nreasons].code, sizeof(s->reasons[0].code), "%s",
             code);
    s->reasons[s->nreasons++].n = n;
}


/* the answer's "error" code, or its first bytes, for a log line */
static const char *
mcpu_sim_client_error(mcpu_sim_client_t *c, char *buf, size_t size)
{
    char  *p;

    if (c->answer_len == 0) {
        snprintf(buf, size, "no body");
        return buf;
    }

    p = strstr(c->answer, "\"error\":\"");
    if (p != NULL) {
        p += sizeof("\"error\":\"") - 1;
        snprintf(buf, size, "%.*s", (int) strcspn(p, "\""), p);
        return buf;
    }

    snprintf(buf, size, "%.60s", c->answer);

    for (p = buf; *p; p++) {
        if (*p == '\n' || *p == '\r') {
            *p = ' ';
        }
    }

    return buf;
}
