/*
 * mcpu_sim_http.c: the clients' requests, over libcurl's multi interface:
 * one easy handle per client (made at its first request, kept), one multi
 * handle whose connection pool is bounded by `connections`; requests
 * beyond it wait in libcurl's queue.  HTTP/1.1 with keep-alive.
 *
 * Why libcurl: the simulator must speak HTTP/1.1 (and HTTPS for a real
 * edge) to several hundred clients at once over a bounded set of
 * keep-alive connections, with timeouts; nginx's own code cannot be a
 * client, and a home-made HTTP client would be the kind of code the
 * project avoids.  (README: dependencies.)
 */

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcpu_log.h"
#include "mcpu_sim.h"


#define MCPU_SIM_ANSWER_MAX      (1024 * 1024)   /* bytes of an answer kept */
#define MCPU_SIM_CONNECT_MAX_MS  5000


static int mcpu_sim_http_easy(mcpu_sim_t *s, mcpu_sim_client_t *c,
    char *errstr, size_t errstr_size);
static int mcpu_sim_http_headers(mcpu_sim_t *s, mcpu_sim_client_t *c,
    int post, char *errstr, size_t errstr_size);
static int mcpu_sim_http_token(mcpu_sim_t *s, mcpu_sim_client_t *c,
    char *errstr, size_t errstr_size);
static int mcpu_sim_http_start(mcpu_sim_t *s, mcpu_sim_client_t *c,
    char *errstr, size_t errstr_size);
static size_t mcpu_sim_http_body(char *data, size_t size, size_t n,
    void *ctx);
static size_t mcpu_sim_http_header(char *data, size_t size, size_t n,
    void *ctx);


int
mcpu_sim_http_init(mcpu_sim_t *s, char *errstr, size_t errstr_size)
{
    CURLcode  rc;
    long      n;

    rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        snprintf(errstr, errstr_size, "curl_global_init() failed: %s",
                 curl_easy_strerror(rc));
        return -1;
    }

    s->multi = curl_multi_init();
    if (s->multi == NULL) {
        snprintf(errstr, errstr_size, "curl_multi_init() failed");
        return -1;
    }

    n = s->conf->connections;

    /* the pool: this many connections at most, all kept alive */
    if (curl_multi_setopt(s->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, n)
        != CURLM_OK
        || curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS, n)
           != CURLM_OK
        || curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, n) != CURLM_OK)
    {
        snprintf(errstr, errstr_size, "libcurl refused a connection limit of "
                 "%ld", n);
        return -1;
    }

    return 0;
}


void
mcpu_sim_http_done(mcpu_sim_t *s)
{
    size_t  i;

    for (i = 0; s->clients != NULL && i < s->nclients; i++) {
        mcpu_sim_http_release(s, &s->clients[i]);

        if (s->clients[i].easy != NULL) {
            curl_easy_cleanup(s->clients[i].easy);
            s->clients[i].easy = NULL;
        }
    }

    if (s->multi != NULL) {
        curl_multi_cleanup(s->multi);
        s->multi = NULL;
    }

    curl_global_cleanup();
}


/* body: malloc()ed, owned by the request from now on */
int
mcpu_sim_http_post(mcpu_sim_t *s, mcpu_sim_client_t *c, char *body,
    size_t len, char *errstr, size_t errstr_size)
{
    c->body = body;

    if (mcpu_sim_http_easy(s, c, errstr, errstr_size) != 0
        || mcpu_sim_http_headers(s, c, 1, errstr, errstr_size) != 0)
    {
        return -1;
    }

    if (curl_easy_setopt(c->easy, CURLOPT_POST, 1L) != CURLE_OK
        || curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE,
                            (curl_off_t) len) != CURLE_OK
        || curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, body) != CURLE_OK)
    {
        snprintf(errstr, errstr_size, "libcurl refused the POST options");
        return -1;
    }

    c->state = MCPU_SIM_POSTING;
    s->n.requests++;

    return mcpu_sim_http_start(s, c, errstr, errstr_size);
}


int
mcpu_sim_http_get(mcpu_sim_t *s, mcpu_sim_client_t *c, char *errstr,
    size_t errstr_size)
{
    if (mcpu_sim_http_easy(s, c, errstr, errstr_size) != 0
        || mcpu_sim_http_headers(s, c, 0, errstr, errstr_size) != 0)
    {
        return -1;
    }

    if (curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L) != CURLE_OK) {
        snprintf(errstr, errstr_size, "libcurl refused the GET options");
        return -1;
    }

    c->state = MCPU_SIM_ASKING;
    s->n.gets++;

    return mcpu_sim_http_start(s, c, errstr, errstr_size);
}


static int
mcpu_sim_http_start(mcpu_sim_t *s, mcpu_sim_client_t *c, char *errstr,
    size_t errstr_size)
{
    CURLMcode  mrc;

    c->answer_len = 0;
    c->retry_after = -1;

    mrc = curl_multi_add_handle(s->multi, c->easy);
    if (mrc != CURLM_OK) {
        snprintf(errstr, errstr_size, "curl_multi_add_handle() failed: %s",
                 curl_multi_strerror(mrc));
        return -1;
    }

    s->in_flight++;
    return 0;
}


/* the client's handle, made once: what does not change between requests */
static int
mcpu_sim_http_easy(mcpu_sim_t *s, mcpu_sim_client_t *c, char *errstr,
    size_t errstr_size)
{
    long   connect_ms;
    CURL  *e;

    if (c->easy != NULL) {
        return 0;
    }

    e = curl_easy_init();
    if (e == NULL) {
        snprintf(errstr, errstr_size, "curl_easy_init() failed");
        return -1;
    }

    c->easy = e;
    connect_ms = s->conf->timeout_ms < MCPU_SIM_CONNECT_MAX_MS
                 ? s->conf->timeout_ms : MCPU_SIM_CONNECT_MAX_MS;

    if (curl_easy_setopt(e, CURLOPT_URL, s->conf->url) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_PRIVATE, c) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                            (long) CURL_HTTP_VERSION_1_1) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, s->conf->timeout_ms)
           != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms)
           != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, mcpu_sim_http_body)
           != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_WRITEDATA, c) != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, mcpu_sim_http_header)
           != CURLE_OK
        || curl_easy_setopt(e, CURLOPT_HEADERDATA, c) != CURLE_OK)
    {
        snprintf(errstr, errstr_size, "libcurl refused an option for \"%s\"",
                 s->conf->url);
        return -1;
    }

    return 0;
}


/*
 * The metadata headers, the token, Sent-At (the real clock: the client's
 * clock when it sends, so the server measures only the network in the
 * skew; the events' own times are the simulated clock's), and "Expect:"
 * empty: libcurl would otherwise wait for "100 Continue" before every
 * body over 1 KiB.
 */
static int
mcpu_sim_http_headers(mcpu_sim_t *s, mcpu_sim_client_t *c, int post,
    char *errstr, size_t errstr_size)
{
    int                   i;
    char                  line[4096];
    struct curl_slist    *list, *more;
    const mcpu_sim_os_t  *os;

    if (mcpu_sim_http_token(s, c, errstr, errstr_size) != 0) {
        return -1;
    }

    os = &s->scenario.oses[c->model.os];
    list = NULL;

    for (i = 0; i < 8; i++) {
        switch (i) {
        case 0:
            snprintf(line, sizeof(line), "Client-Id: %s", c->model.id);
            break;
        case 1:
            snprintf(line, sizeof(line), "Client-Version: %s",
                     s->scenario.versions[c->model.version].name);
            break;
        case 2:
            snprintf(line, sizeof(line), "Client-Os: %s", os->name);
            break;
        case 3:
            snprintf(line, sizeof(line), "Os-Version: %s",
                     os->versions[c->model.os_version]);
            break;
        case 4:
            snprintf(line, sizeof(line), "Sent-At: %" PRId64,
                     mcpu_daemon_wall_ms());
            break;
        case 5:
            if (c->token == NULL) {
                continue;
            }
            snprintf(line, sizeof(line), "Authorization: Bearer %s",
                     c->token);
            break;
        case 6:
            if (!post) {
                continue;
            }
            snprintf(line, sizeof(line), "Content-Type: "
                     "application/x-ndjson");
            break;
        default:
            snprintf(line, sizeof(line), "Expect:");
            break;
        }

        more = curl_slist_append(list, line);
        if (more == NULL) {
            curl_slist_free_all(list);
            snprintf(errstr, errstr_size, "out of memory");
            return -1;
        }

        list = more;
    }

    curl_slist_free_all(c->headers);
    c->headers = list;

    if (curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, list) != CURLE_OK) {
        snprintf(errstr, errstr_size, "libcurl refused the headers");
        return -1;
    }

    return 0;
}


/* a token, made again once nine tenths of its time have passed */
static int
mcpu_sim_http_token(mcpu_sim_t *s, mcpu_sim_client_t *c, char *errstr,
    size_t errstr_size)
{
    char     *token;
    int64_t   now, ttl;

    if (!s->has_key) {
        return 0;
    }

    now = mcpu_daemon_wall_ms();

    if (c->token != NULL && now < c->token_renew) {
        return 0;
    }

    ttl = s->conf->token_ttl_s;

    token = mcpu_sim_jwt_make(&s->key, c->model.id, now / 1000, ttl, errstr,
                              errstr_size);
    if (token == NULL) {
        return -1;
    }

    free(c->token);
    c->token = token;
    c->token_renew = now + ttl * 900;

    return 0;
}


/*
 * Runs the transfers that can run, hands each finished one to its client,
 * then waits up to timeout_ms for sockets (or a timer) to need attention.
 */
void
mcpu_sim_http_poll(mcpu_sim_t *s, int timeout_ms)
{
    int                 running, left;
    long                status, connects;
    char               *priv;
    CURLMsg            *msg;
    CURLcode            rc;
    mcpu_sim_client_t  *c;
    char                error[CURL_ERROR_SIZE];

    curl_multi_perform(s->multi, &running);

    while ((msg = curl_multi_info_read(s->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }

        rc = msg->data.result;
        priv = NULL;
        status = 0;

        connects = 0;

        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(msg->easy_handle, CURLINFO_NUM_CONNECTS, &connects);

        s->n.connects += (uint64_t) connects;

        c = (mcpu_sim_client_t *) priv;
        snprintf(error, sizeof(error), "%s", curl_easy_strerror(rc));

        /* the handle leaves the multi before anything else is asked of it;
         * msg is not valid after this */
        mcpu_sim_http_release(s, c);

        mcpu_sim_client_answer(s, c, rc, status, error);
    }

    if (timeout_ms > 0) {
        curl_multi_poll(s->multi, NULL, 0, timeout_ms, NULL);
    }
}


/* the request of c (if any) is over: out of the multi, its memory freed */
void
mcpu_sim_http_release(mcpu_sim_t *s, mcpu_sim_client_t *c)
{
    if (c->state == MCPU_SIM_POSTING || c->state == MCPU_SIM_ASKING) {
        curl_multi_remove_handle(s->multi, c->easy);
        s->in_flight--;
    }

    curl_slist_free_all(c->headers);
    c->headers = NULL;
    free(c->body);
    c->body = NULL;
}


static size_t
mcpu_sim_http_body(char *data, size_t size, size_t n, void *ctx)
{
    char               *more;
    size_t              len, cap;
    mcpu_sim_client_t  *c = ctx;

    len = size * n;

    /* what is beyond the limit is not kept, and not needed: answers are
     * small, a GET's record is read for its "seq" */
    if (c->answer_len + len + 1 > MCPU_SIM_ANSWER_MAX) {
        return len;
    }

    if (c->answer_len + len + 1 > c->answer_cap) {
        cap = c->answer_cap ? c->answer_cap : 1024;
        while (cap < c->answer_len + len + 1) {
            cap *= 2;
        }

        more = realloc(c->answer, cap);
        if (more == NULL) {
            return 0;            /* libcurl fails the transfer */
        }

        c->answer = more;
        c->answer_cap = cap;
    }

    memcpy(c->answer + c->answer_len, data, len);
    c->answer_len += len;
    c->answer[c->answer_len] = '\0';

    return len;
}


/* Retry-After: a number of seconds (the module's form) */
static size_t
mcpu_sim_http_header(char *data, size_t size, size_t n, void *ctx)
{
    char               *p, *end;
    long                v;
    size_t              len;
    mcpu_sim_client_t  *c = ctx;

    len = size * n;

    if (len > sizeof("Retry-After:") - 1
        && strncasecmp(data, "Retry-After:", sizeof("Retry-After:") - 1) == 0)
    {
        p = data + sizeof("Retry-After:") - 1;
        while (p < data + len && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p < data + len && isdigit((unsigned char) *p)) {
            v = strtol(p, &end, 10);
            if (end <= data + len && v >= 0) {
                c->retry_after = v;
            }
        }
    }

    return len;
}
