/*
 * ngx_http_mcpu_ring.c: the nginx side of the ring.  The master maps the
 * file at configuration time; each worker claims a lane at start and gives
 * it back at exit.  Layout and ordering: mcpu_ring.h.
 */

#include "ngx_http_mcpu_module.h"


static void ngx_http_mcpu_ring_cleanup(void *data);
static int ngx_http_mcpu_ring_alive(uint32_t pid);


/* this worker's lane; -1 until claimed */
static int  ngx_http_mcpu_lane = -1;


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
