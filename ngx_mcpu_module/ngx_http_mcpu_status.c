/*
 * ngx_http_mcpu_status.c: mcpu_status, the host's figures in Prometheus's
 * text exposition format 0.0.4.  Three sources, one scrape for the whole
 * host whichever worker answers it:
 *
 *   - the module's counters, which every worker adds to in the
 *     "mcpu_status" shared zone (one atomic add each, kept across reloads);
 *   - the ring's lanes as they are now, read from the mapping without
 *     writing anything: fill, records published and released, owners, the
 *     age of each lane's oldest unreleased record;
 *   - the batcher's figures from the ring header, which it writes ten
 *     times a second.
 */

#include "ngx_http_mcpu_module.h"

#include <ck_pr.h>


/* how much of the oldest record's value is copied: mcpu_event_record()
 * writes "receivedAtMs" within its first ~250 bytes */
#define NGX_HTTP_MCPU_STATUS_PEEK     512

/* one sample line at most: a name, one label, a value */
#define NGX_HTTP_MCPU_STATUS_SAMPLE   160

/* sample lines besides the counters and the per-lane ones */
#define NGX_HTTP_MCPU_STATUS_FIXED    16
#define NGX_HTTP_MCPU_STATUS_PER_LANE 7


typedef struct {
    const char            *name;
    const char            *type;
    const char            *help;
} ngx_http_mcpu_metric_t;


/* one lane, read once so that every family shows the same moment */
typedef struct {
    uint64_t               used;
    uint64_t               published;
    uint64_t               released;
    uint64_t               full;
    uint32_t               owner;
    int64_t                age_ms;        /* oldest unreleased record; 0:
                                             none; -1: not readable now */
} ngx_http_mcpu_lane_stat_t;


static u_char *ngx_http_mcpu_status_counters(u_char *p, u_char *last,
    ngx_http_mcpu_main_conf_t *mmcf);
static u_char *ngx_http_mcpu_status_ring(u_char *p, u_char *last,
    mcpu_ring_t *ring, ngx_http_mcpu_lane_stat_t *ls, int64_t now);
static u_char *ngx_http_mcpu_status_batcher(u_char *p, u_char *last,
    mcpu_ring_header_t *hdr, int64_t now);
static void ngx_http_mcpu_status_lanes(mcpu_ring_t *ring,
    ngx_http_mcpu_lane_stat_t *ls, int64_t now);
static int64_t ngx_http_mcpu_status_age(mcpu_ring_t *ring, int lane,
    int64_t now);
static u_char *ngx_http_mcpu_status_head(u_char *p, u_char *last,
    ngx_uint_t metric);
static u_char *ngx_http_mcpu_status_seconds(u_char *p, u_char *last,
    int64_t ms);
static const char *ngx_http_mcpu_error_name(ngx_uint_t i);


/* indexes of ngx_http_mcpu_metrics[] */
enum {
    NGX_HTTP_MCPU_M_ACCEPTED = 0,
    NGX_HTTP_MCPU_M_REFUSED,
    NGX_HTTP_MCPU_M_ERRORS,
    NGX_HTTP_MCPU_M_TOKENS,
    NGX_HTTP_MCPU_M_SEEN_FOUND,
    NGX_HTTP_MCPU_M_CAPACITY,
    NGX_HTTP_MCPU_M_USED,
    NGX_HTTP_MCPU_M_OLDEST,
    NGX_HTTP_MCPU_M_LANES,
    NGX_HTTP_MCPU_M_LANE_CAPACITY,
    NGX_HTTP_MCPU_M_LANE_USED,
    NGX_HTTP_MCPU_M_LANE_OLDEST,
    NGX_HTTP_MCPU_M_LANE_PUBLISHED,
    NGX_HTTP_MCPU_M_LANE_RELEASED,
    NGX_HTTP_MCPU_M_LANE_FULL,
    NGX_HTTP_MCPU_M_LANE_OWNER,
    NGX_HTTP_MCPU_M_BATCHER_UP,
    NGX_HTTP_MCPU_M_BATCHER_PID,
    NGX_HTTP_MCPU_M_BATCHER_HEARTBEAT,
    NGX_HTTP_MCPU_M_KAFKA_UP,
    NGX_HTTP_MCPU_M_PRODUCED,
    NGX_HTTP_MCPU_M_ACKED,
    NGX_HTTP_MCPU_M_DELIVERY_ERRORS,
    NGX_HTTP_MCPU_M_IN_FLIGHT,
    NGX_HTTP_MCPU_M_RESENT,
    NGX_HTTP_MCPU_M_LAST
};


static ngx_http_mcpu_metric_t  ngx_http_mcpu_metrics[] = {

    { "mcpu_events_accepted_total", "counter",
      "Events put into the ring, alone or in a batch or stream." },
    { "mcpu_events_refused_total", "counter",
      "Events refused for their content, by reason: a single event, or "
      "each refused event of a batch or stream." },
    { "mcpu_error_responses_total", "counter",
      "Answers with an error body, by its error code (503s: "
      "error=\"ring_full\")." },
    { "mcpu_tokens_refused_total", "counter",
      "Bearer tokens that failed verification, by reason." },
    { "mcpu_last_seen_found_total", "counter",
      "GET requests answered 200 with the client's last event seen." },

    { "mcpu_ring_capacity_bytes", "gauge",
      "Data bytes of all lanes of the ring." },
    { "mcpu_ring_used_bytes", "gauge",
      "Bytes of all lanes not yet released by the batcher." },
    { "mcpu_ring_oldest_unreleased_age_seconds", "gauge",
      "Age of the oldest unreleased record of all lanes (since nginx "
      "received it); 0 when none." },
    { "mcpu_ring_lanes", "gauge",
      "Lanes of the ring." },
    { "mcpu_ring_lane_capacity_bytes", "gauge",
      "Data bytes of the lane." },
    { "mcpu_ring_lane_used_bytes", "gauge",
      "Bytes of the lane not yet released by the batcher." },
    { "mcpu_ring_lane_oldest_unreleased_age_seconds", "gauge",
      "Age of the lane's oldest unreleased record; 0 when none, absent "
      "when it was being released during the scrape." },
    { "mcpu_ring_lane_published_total", "counter",
      "Records published into the lane since the ring file was created." },
    { "mcpu_ring_lane_released_total", "counter",
      "Records of the lane the batcher released (Kafka has them)." },
    { "mcpu_ring_lane_full_total", "counter",
      "Appends the lane refused for lack of room (a waiting stream "
      "retries)." },
    { "mcpu_ring_lane_owner_pid", "gauge",
      "The pid of the nginx worker producing into the lane; 0 when free." },

    { "mcpu_batcher_up", "gauge",
      "1 when a batcher is attached to the ring and its heartbeat is "
      "less than 10 s old, else 0." },
    { "mcpu_batcher_pid", "gauge",
      "The pid of the batcher attached to the ring; 0 when none." },
    { "mcpu_batcher_heartbeat_age_seconds", "gauge",
      "Seconds since the batcher's last heartbeat; absent when no "
      "batcher ever attached." },
    { "mcpu_batcher_kafka_up", "gauge",
      "1 when Kafka acknowledges the batcher's deliveries, 0 when it is "
      "unreachable, -1 when unknown (no batcher up, or nothing learned "
      "yet)." },
    { "mcpu_batcher_produced_total", "counter",
      "Records the batcher handed to librdkafka." },
    { "mcpu_batcher_acked_total", "counter",
      "Records Kafka acknowledged as persisted." },
    { "mcpu_batcher_delivery_errors_total", "counter",
      "Delivery reports with an error (the record stays in the ring and "
      "is produced again)." },
    { "mcpu_batcher_in_flight", "gauge",
      "Records handed to librdkafka whose delivery report has not "
      "arrived." },
    { "mcpu_batcher_resent_total", "counter",
      "Records produced again after a failed delivery or a batcher "
      "restart." },
};


/*
 * The module's own error codes, after mcpu_ev_code()'s (indexed by their
 * mcpu_ev_rc_t): the "error" of every answer ngx_http_mcpu_send_error()
 * and ngx_http_mcpu_tally_answer() write.
 */
static const char  *ngx_http_mcpu_errors[] = {
    "method_not_allowed",
    "unsupported_media_type",
    "unsupported_encoding",
    "body_too_large",
    "decompressed_too_large",
    "bad_gzip",
    "bad_body",
    "empty_batch",
    "ring_full",
    "missing_token",
    "invalid_token",
    "client_id_mismatch",
    "not_found",
    "last_seen_unavailable",
    "last_seen_error",
    "other"                 /* a code missing above: counted, not lost */
};

_Static_assert(sizeof(ngx_http_mcpu_errors) / sizeof(char *)
               == NGX_HTTP_MCPU_ERRORS - MCPU_EV_LAST,
               "NGX_HTTP_MCPU_ERRORS counts the codes above");
_Static_assert(sizeof(ngx_http_mcpu_metrics) / sizeof(ngx_http_mcpu_metric_t)
               == NGX_HTTP_MCPU_M_LAST, "a metric per index");

static ngx_str_t  ngx_http_mcpu_status_type =
    ngx_string("text/plain; version=0.0.4; charset=utf-8");


ngx_int_t
ngx_http_mcpu_status_handler(ngx_http_request_t *r)
{
    size_t                      size;
    u_char                     *last;
    int64_t                     now;
    ngx_int_t                   rc;
    ngx_buf_t                  *b;
    ngx_uint_t                  i;
    ngx_time_t                 *tp;
    mcpu_ring_t                *ring;
    ngx_http_mcpu_lane_stat_t  *ls;
    ngx_http_mcpu_main_conf_t  *mmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        if (ngx_http_mcpu_add_header(r, "Allow", (u_char *) "GET, HEAD", 9)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    mmcf = ngx_http_get_module_main_conf(r, ngx_http_mcpu_module);
    ring = &mmcf->ring;

    /* the cached time: the receive times in records are taken from it */
    tp = ngx_timeofday();
    now = (int64_t) tp->sec * 1000 + tp->msec;

    ls = ngx_palloc(r->pool, ring->nlanes * sizeof(ngx_http_mcpu_lane_stat_t));
    if (ls == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_mcpu_status_lanes(ring, ls, now);

    size = (NGX_HTTP_MCPU_STAT_N + NGX_HTTP_MCPU_STATUS_FIXED
            + ring->nlanes * NGX_HTTP_MCPU_STATUS_PER_LANE)
           * NGX_HTTP_MCPU_STATUS_SAMPLE;

    for (i = 0; i < NGX_HTTP_MCPU_M_LAST; i++) {
        size += sizeof("# HELP  \n# TYPE  \n")
                + 2 * ngx_strlen(ngx_http_mcpu_metrics[i].name)
                + ngx_strlen(ngx_http_mcpu_metrics[i].help)
                + ngx_strlen(ngx_http_mcpu_metrics[i].type);
    }

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = b->end;

    b->last = ngx_http_mcpu_status_counters(b->last, last, mmcf);
    b->last = ngx_http_mcpu_status_ring(b->last, last, ring, ls, now);
    b->last = ngx_http_mcpu_status_batcher(b->last, last, ring->hdr, now);

    if (b->last == last) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "mcpu_status: the page outgrew its %uz bytes", size);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_mcpu_send_buf(r, NGX_HTTP_OK, &ngx_http_mcpu_status_type,
                                  b);
}


/* the module's counters: every reason is shown, 0 included */
static u_char *
ngx_http_mcpu_status_counters(u_char *p, u_char *last,
    ngx_http_mcpu_main_conf_t *mmcf)
{
    ngx_uint_t             i;
    ngx_http_mcpu_stat_t  *st = mmcf->stats;

    if (st == NULL) {
        return p;
    }

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_ACCEPTED);
    p = ngx_slprintf(p, last, "mcpu_events_accepted_total %uA\n",
                     st[NGX_HTTP_MCPU_STAT_ACCEPTED].value);

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_REFUSED);

    for (i = 1; i < MCPU_EV_LAST; i++) {
        p = ngx_slprintf(p, last,
                         "mcpu_events_refused_total{reason=\"%s\"} %uA\n",
                         mcpu_ev_code((mcpu_ev_rc_t) i),
                         st[NGX_HTTP_MCPU_STAT_EVENT + i].value);
    }

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_ERRORS);

    for (i = 1; i < NGX_HTTP_MCPU_ERRORS; i++) {
        p = ngx_slprintf(p, last,
                         "mcpu_error_responses_total{error=\"%s\"} %uA\n",
                         ngx_http_mcpu_error_name(i),
                         st[NGX_HTTP_MCPU_STAT_ERROR + i].value);
    }

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_TOKENS);

    for (i = 1; i < MCPU_JWT_LAST; i++) {
        p = ngx_slprintf(p, last,
                         "mcpu_tokens_refused_total{reason=\"%s\"} %uA\n",
                         mcpu_jwt_code((mcpu_jwt_rc_t) i),
                         st[NGX_HTTP_MCPU_STAT_TOKEN + i].value);
    }

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_SEEN_FOUND);
    p = ngx_slprintf(p, last, "mcpu_last_seen_found_total %uA\n",
                     st[NGX_HTTP_MCPU_STAT_SEEN_FOUND].value);

    return p;
}


static u_char *
ngx_http_mcpu_status_ring(u_char *p, u_char *last, mcpu_ring_t *ring,
    ngx_http_mcpu_lane_stat_t *ls, int64_t now)
{
    int64_t     oldest;
    uint32_t    i;
    uint64_t    used;

    used = 0;
    oldest = 0;

    for (i = 0; i < ring->nlanes; i++) {
        used += ls[i].used;
        oldest = ngx_max(oldest, ls[i].age_ms);
    }

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_CAPACITY);
    p = ngx_slprintf(p, last, "mcpu_ring_capacity_bytes %uL\n",
                     ring->lane_size * ring->nlanes);

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_USED);
    p = ngx_slprintf(p, last, "mcpu_ring_used_bytes %uL\n", used);

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_OLDEST);
    p = ngx_slprintf(p, last, "mcpu_ring_oldest_unreleased_age_seconds ");
    p = ngx_http_mcpu_status_seconds(p, last, oldest);

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_LANES);
    p = ngx_slprintf(p, last, "mcpu_ring_lanes %uD\n", ring->nlanes);

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_LANE_CAPACITY);

    for (i = 0; i < ring->nlanes; i++) {
        p = ngx_slprintf(p, last,
                         "mcpu_ring_lane_capacity_bytes{lane=\"%uD\"} %uL\n",
                         i, ring->lane_size);
    }

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_LANE_USED);

    for (i = 0; i < ring->nlanes; i++) {
        p = ngx_slprintf(p, last,
                         "mcpu_ring_lane_used_bytes{lane=\"%uD\"} %uL\n",
                         i, ls[i].used);
    }

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_LANE_OLDEST);

    for (i = 0; i < ring->nlanes; i++) {
        if (ls[i].age_ms < 0) {
            continue;
        }

        p = ngx_slprintf(p, last, "mcpu_ring_lane_oldest_unreleased_age_"
                         "seconds{lane=\"%uD\"} ", i);
        p = ngx_http_mcpu_status_seconds(p, last, ls[i].age_ms);
    }

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_LANE_PUBLISHED);

    for (i = 0; i < ring->nlanes; i++) {
        p = ngx_slprintf(p, last,
                         "mcpu_ring_lane_published_total{lane=\"%uD\"} %uL\n",
                         i, ls[i].published);
    }

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_LANE_RELEASED);

    for (i = 0; i < ring->nlanes; i++) {
        p = ngx_slprintf(p, last,
                         "mcpu_ring_lane_released_total{lane=\"%uD\"} %uL\n",
                         i, ls[i].released);
    }

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_LANE_FULL);

    for (i = 0; i < ring->nlanes; i++) {
        p = ngx_slprintf(p, last,
                         "mcpu_ring_lane_full_total{lane=\"%uD\"} %uL\n",
                         i, ls[i].full);
    }

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_LANE_OWNER);

    for (i = 0; i < ring->nlanes; i++) {
        p = ngx_slprintf(p, last,
                         "mcpu_ring_lane_owner_pid{lane=\"%uD\"} %uD\n",
                         i, ls[i].owner);
    }

    return p;
}


/*
 * The batcher stores its heartbeat last, after a store fence
 * (mcpu_ring.h): read first, it vouches for the figures read after it.
 */
static u_char *
ngx_http_mcpu_status_batcher(u_char *p, u_char *last,
    mcpu_ring_header_t *hdr, int64_t now)
{
    int64_t    age;
    uint32_t   pid;
    ngx_int_t  up, kafka;

    ngx_http_mcpu_batcher_state(hdr, now, &up, &kafka, &age);
    pid = ck_pr_load_32(&hdr->consumer_pid);

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_BATCHER_UP);
    p = ngx_slprintf(p, last, "mcpu_batcher_up %i\n", up);

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_BATCHER_PID);
    p = ngx_slprintf(p, last, "mcpu_batcher_pid %uD\n", pid);

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_BATCHER_HEARTBEAT);

    if (age >= 0) {
        p = ngx_slprintf(p, last, "mcpu_batcher_heartbeat_age_seconds ");
        p = ngx_http_mcpu_status_seconds(p, last, age);
    }

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_KAFKA_UP);
    p = ngx_slprintf(p, last, "mcpu_batcher_kafka_up %i\n", kafka);

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_PRODUCED);
    p = ngx_slprintf(p, last, "mcpu_batcher_produced_total %uL\n",
                     ck_pr_load_64(&hdr->produced));

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_ACKED);
    p = ngx_slprintf(p, last, "mcpu_batcher_acked_total %uL\n",
                     ck_pr_load_64(&hdr->acked));

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_DELIVERY_ERRORS);
    p = ngx_slprintf(p, last, "mcpu_batcher_delivery_errors_total %uL\n",
                     ck_pr_load_64(&hdr->delivery_errors));

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_IN_FLIGHT);
    p = ngx_slprintf(p, last, "mcpu_batcher_in_flight %uL\n",
                     ck_pr_load_64(&hdr->in_flight));

    p = ngx_http_mcpu_status_head(p, last, NGX_HTTP_MCPU_M_RESENT);
    p = ngx_slprintf(p, last, "mcpu_batcher_resent_total %uL\n",
                     ck_pr_load_64(&hdr->resent));

    return p;
}


/*
 * Each lane once, without writing to the ring.  Producers and the batcher
 * go on meanwhile: the figures of a lane are of slightly different moments,
 * and "used" is capped at the lane's size (mcpu_ring_used()).
 */
static void
ngx_http_mcpu_status_lanes(mcpu_ring_t *ring, ngx_http_mcpu_lane_stat_t *ls,
    int64_t now)
{
    uint32_t           i;
    uint64_t           used;
    mcpu_ring_lane_t  *l;

    for (i = 0; i < ring->nlanes; i++) {
        l = &ring->lanes[i];

        ls[i].owner = ck_pr_load_32(&l->owner_pid);
        ls[i].published = ck_pr_load_64(&l->p_seq);
        ls[i].released = ck_pr_load_64(&l->c_seq);
        ls[i].full = ck_pr_load_64(&l->full);

        used = mcpu_ring_used(ring, (int) i);
        ls[i].used = ngx_min(used, ring->lane_size);
        ls[i].age_ms = ngx_http_mcpu_status_age(ring, (int) i, now);
    }
}


/*
 * The age of a lane's oldest unreleased record: now minus the
 * "receivedAtMs" that mcpu_event_record() wrote near the start of its
 * value.  -1 when the record cannot be read now (the batcher released it
 * meanwhile) or does not say.
 */
static int64_t
ngx_http_mcpu_status_age(mcpu_ring_t *ring, int lane, int64_t now)
{
    u_char   *p, *last, *start;
    size_t    len;
    int64_t   received;
    u_char    buf[NGX_HTTP_MCPU_STATUS_PEEK + 1];

    switch (mcpu_ring_peek_oldest(ring, lane, buf, NGX_HTTP_MCPU_STATUS_PEEK,
                                  &len))
    {
    case MCPU_RING_OK:
        break;

    case MCPU_RING_EMPTY:
        return 0;

    default:
        return -1;
    }

    buf[len] = '\0';
    last = buf + len;

    p = ngx_strnstr(buf, "\"receivedAtMs\":", len);
    if (p == NULL) {
        return -1;
    }

    p += sizeof("\"receivedAtMs\":") - 1;
    received = 0;

    /* at most 15 digits: milliseconds until the year 10000 */
    for (start = p; p < last && *p >= '0' && *p <= '9' && p - start < 15; p++)
    {
        received = received * 10 + (*p - '0');
    }

    /* a number that goes on past what was copied is not the whole one */
    if (p == start || p == last || (*p >= '0' && *p <= '9')) {
        return -1;
    }

    return ngx_max(now - received, 0);
}


static u_char *
ngx_http_mcpu_status_head(u_char *p, u_char *last, ngx_uint_t metric)
{
    ngx_http_mcpu_metric_t  *m = &ngx_http_mcpu_metrics[metric];

    return ngx_slprintf(p, last, "# HELP %s %s\n# TYPE %s %s\n",
                        m->name, m->help, m->name, m->type);
}


/* milliseconds as seconds, "12.345", and the end of the line */
static u_char *
ngx_http_mcpu_status_seconds(u_char *p, u_char *last, int64_t ms)
{
    return ngx_slprintf(p, last, "%uL.%03uL\n", (uint64_t) ms / 1000,
                        (uint64_t) ms % 1000);
}


static const char *
ngx_http_mcpu_error_name(ngx_uint_t i)
{
    return (i < MCPU_EV_LAST) ? mcpu_ev_code((mcpu_ev_rc_t) i)
                              : ngx_http_mcpu_errors[i - MCPU_EV_LAST];
}


/*
 * Counts an answer's "error": once per answer, in the slot of its code.
 * Only error answers come here, so a search of a few dozen names costs
 * nothing a successful event pays for.
 * @locality nginx worker
 */
void
ngx_http_mcpu_count_error(ngx_http_request_t *r, const char *code)
{
    ngx_uint_t                  i;
    ngx_http_mcpu_main_conf_t  *mmcf;

    mmcf = ngx_http_get_module_main_conf(r, ngx_http_mcpu_module);

    if (mmcf->stats == NULL) {
        return;
    }

    for (i = 1; i < NGX_HTTP_MCPU_ERRORS - 1; i++) {
        if (ngx_strcmp(code, ngx_http_mcpu_error_name(i)) == 0) {
            break;
        }
    }

    ngx_http_mcpu_count(mmcf, NGX_HTTP_MCPU_STAT_ERROR + i, 1);
}
