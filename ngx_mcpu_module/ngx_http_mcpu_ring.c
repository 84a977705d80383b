/*
 * ngx_http_mcpu_ring.c: the nginx side of the ring.  The master maps the
 * file at configuration time; each worker claims a lane at start and gives
 * it back at exit.  Layout and ordering: mcpu_ring.h.
 */

#include "ngx_http_mcpu_module.h"

#include <ck_pr.h>


static void ngx_http_mcpu_ring_cleanup(void *data);
static int ngx_http_mcpu_ring_alive(uint32_t pid);


/* this worker's lane; -1 until claimed */
static int  ngx_http_mcpu_lane = -1;

/*
 * How fast the batcher drains this worker's lane, measured between two
 * refusals (only a full lane needs to know): the release point then and
 * now.
 */
#define NGX_HTTP_MCPU_DRAIN_WINDOW  1000      /* ms */
#define NGX_HTTP_MCPU_DRAIN_IDLE    10000     /* ms without a release: 0 */

static uint64_t    ngx_http_mcpu_drain_head;
static ngx_msec_t  ngx_http_mcpu_drain_ms;
static ngx_uint_t  ngx_http_mcpu_drain_sampled;
static uint64_t    ngx_http_mcpu_drain_rate;     /* bytes/s */
static ngx_uint_t  ngx_http_mcpu_drain_known;


ngx_int_t
ngx_http_mcpu_ring_open(ngx_conf_t *cf, ngx_http_mcpu_main_conf_t *mmcf)
{
    int                  rc;
    char                 err[512];
    ngx_pool_cleanup_t  *cln;

    if (ngx_conf_full_name(cf->cycle, &mmcf->ring_path, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    /* a mismatch fails the configuration, so a reload with another
     * geometry is refused and the running nginx keeps its ring */
    rc = mcpu_ring_open(&mmcf->ring, (char *) mmcf->ring_path.data,
                        &mmcf->geometry, 1, 0660, err, sizeof(err));
    if (rc != MCPU_RING_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "mcpu_ring: %s", err);
        return NGX_ERROR;
    }

    /* the cycle's end unmaps; workers keep the mapping they inherited */
    cln->handler = ngx_http_mcpu_ring_cleanup;
    cln->data = &mmcf->ring;

    return NGX_OK;
}


static void
ngx_http_mcpu_ring_cleanup(void *data)
{
    mcpu_ring_close(data);
}


static int
ngx_http_mcpu_ring_alive(uint32_t pid)
{
    return kill((pid_t) pid, 0) == 0 || ngx_errno == NGX_EPERM;
}


ngx_int_t
ngx_http_mcpu_ring_init_worker(ngx_cycle_t *cycle,
    ngx_http_mcpu_main_conf_t *mmcf)
{
    int  lane;

    /* by pid, not ngx_worker: old and new workers share worker numbers
     * during a reload and both produce */
    lane = mcpu_ring_claim(&mmcf->ring, (uint32_t) ngx_pid,
                           ngx_http_mcpu_ring_alive);
    if (lane < 0) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "mcpu_ring: all %uD lanes of \"%V\" are owned by live "
                      "processes; this worker refuses events with 503 (give "
                      "the ring more lanes than twice worker_processes)",
                      mmcf->ring.nlanes, &mmcf->ring_path);
        return NGX_OK;
    }

    ngx_http_mcpu_lane = lane;

    ngx_log_error(NGX_LOG_INFO, cycle->log, 0,
                  "mcpu_ring: worker %P produces into lane %d of \"%V\"",
                  ngx_pid, lane, &mmcf->ring_path);

    return NGX_OK;
}


void
ngx_http_mcpu_ring_exit_worker(ngx_cycle_t *cycle,
    ngx_http_mcpu_main_conf_t *mmcf)
{
    if (ngx_http_mcpu_lane >= 0) {
        mcpu_ring_unclaim(&mmcf->ring, ngx_http_mcpu_lane, (uint32_t) ngx_pid);
        ngx_http_mcpu_lane = -1;
    }
}


ngx_int_t
ngx_http_mcpu_ring_enqueue(ngx_http_mcpu_main_conf_t *mmcf, ngx_str_t *key,
    u_char *value, size_t len)
{
    ngx_int_t        rc;
    mcpu_ring_txn_t  txn;

    rc = ngx_http_mcpu_ring_begin(mmcf, &txn);
    if (rc != NGX_HTTP_MCPU_ACCEPTED) {
        return rc;
    }

    rc = ngx_http_mcpu_ring_append(mmcf, &txn, key, value, len);
    if (rc == NGX_HTTP_MCPU_ACCEPTED) {
        ngx_http_mcpu_ring_commit(mmcf, &txn);
    }

    return rc;
}


ngx_int_t
ngx_http_mcpu_ring_begin(ngx_http_mcpu_main_conf_t *mmcf,
    mcpu_ring_txn_t *txn)
{
    if (ngx_http_mcpu_lane < 0) {
        return NGX_HTTP_MCPU_NO_LANE;
    }

    mcpu_ring_begin(&mmcf->ring, ngx_http_mcpu_lane, txn);
    return NGX_HTTP_MCPU_ACCEPTED;
}


ngx_int_t
ngx_http_mcpu_ring_append(ngx_http_mcpu_main_conf_t *mmcf,
    mcpu_ring_txn_t *txn, ngx_str_t *key, u_char *value, size_t len)
{
    switch (mcpu_ring_append(&mmcf->ring, txn, key->data, key->len, value,
                             len))
    {
    case MCPU_RING_OK:
        return NGX_HTTP_MCPU_ACCEPTED;

    case MCPU_RING_TOO_BIG:
        return NGX_HTTP_MCPU_TOO_BIG;

    default:
        return NGX_HTTP_MCPU_RING_FULL;
    }
}


void
ngx_http_mcpu_ring_commit(ngx_http_mcpu_main_conf_t *mmcf,
    mcpu_ring_txn_t *txn)
{
    mcpu_ring_commit(&mmcf->ring, txn);
}


/*
 * Whether a batcher is attached (its heartbeat, stored last after a fence,
 * is fresh) and whether it reaches Kafka: 1, 0, or -1 when it does not know
 * yet or no batcher is up.
 */
void
ngx_http_mcpu_batcher_state(mcpu_ring_header_t *hdr, int64_t now_ms,
    ngx_int_t *up, ngx_int_t *kafka, int64_t *age_ms)
{
    uint32_t  pid, flags;
    uint64_t  beat;

    beat = ck_pr_load_64(&hdr->consumer_heartbeat_ms);
    ck_pr_fence_load();

    pid = ck_pr_load_32(&hdr->consumer_pid);
    flags = ck_pr_load_32(&hdr->consumer_flags);

    /* two clocks (the batcher's, nginx's cached one): never below 0 */
    *age_ms = (beat == 0) ? -1 : ngx_max(now_ms - (int64_t) beat, 0);

    *up = (pid != 0 && *age_ms >= 0
           && *age_ms < NGX_HTTP_MCPU_BATCHER_STALE);

    if (!*up || (flags & MCPU_RING_CONSUMER_KAFKA_UNKNOWN)) {
        *kafka = -1;

    } else {
        *kafka = (flags & MCPU_RING_CONSUMER_KAFKA_UP) ? 1 : 0;
    }
}


/*
 * The Retry-After of a 503 for a full lane: the time the batcher needs, at
 * the rate it drained this lane lately, to free half of it, so that clients
 * come back when there is room rather than all at once into a full lane.
 * max when nothing drains it (no batcher, Kafka unreachable); 1 s while the
 * rate is being measured.
 */
time_t
ngx_http_mcpu_ring_retry_after(ngx_http_mcpu_main_conf_t *mmcf, time_t max)
{
    int64_t      age;
    uint64_t     head, wait, rate;
    ngx_int_t    up, kafka;
    ngx_msec_t   now, elapsed;
    ngx_time_t  *tp;

    if (ngx_http_mcpu_lane < 0 || mmcf->ring.hdr == NULL) {
        return max;
    }

    now = ngx_current_msec;
    head = ck_pr_load_64(&mmcf->ring.lanes[ngx_http_mcpu_lane].c_head);
    elapsed = now - ngx_http_mcpu_drain_ms;

    /*
     * Kafka acknowledges in bursts (a produce round trip each), so a window
     * without a release says nothing until it is long: the rate is taken
     * over at least a second with a release in it, or over ten without.
     */
    if (!ngx_http_mcpu_drain_sampled) {
        ngx_http_mcpu_drain_sampled = 1;
        ngx_http_mcpu_drain_head = head;
        ngx_http_mcpu_drain_ms = now;

    } else if ((elapsed >= NGX_HTTP_MCPU_DRAIN_WINDOW
                && head != ngx_http_mcpu_drain_head)
               || elapsed >= NGX_HTTP_MCPU_DRAIN_IDLE)
    {
        rate = (head - ngx_http_mcpu_drain_head) * 1000 / elapsed;

        /* half the last window, half the ones before: bursts even out */
        ngx_http_mcpu_drain_rate = ngx_http_mcpu_drain_known
                                   ? (ngx_http_mcpu_drain_rate + rate) / 2
                                   : rate;
        ngx_http_mcpu_drain_known = 1;
        ngx_http_mcpu_drain_head = head;
        ngx_http_mcpu_drain_ms = now;
    }

    tp = ngx_timeofday();
    ngx_http_mcpu_batcher_state(mmcf->ring.hdr,
                                (int64_t) tp->sec * 1000 + tp->msec,
                                &up, &kafka, &age);

    if (!up || kafka == 0
        || (ngx_http_mcpu_drain_known && ngx_http_mcpu_drain_rate == 0))
    {
        return max;
    }

    if (!ngx_http_mcpu_drain_known) {
        return 1;
    }

    wait = (mmcf->ring.lane_size / 2 + ngx_http_mcpu_drain_rate - 1)
           / ngx_http_mcpu_drain_rate;

    return wait < 1 ? 1 : wait > (uint64_t) max ? max : (time_t) wait;
}
