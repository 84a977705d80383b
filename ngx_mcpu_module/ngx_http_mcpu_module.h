/*
 * ngx_http_mcpu_module.h: types shared by the module's files.
 */

#ifndef NGX_HTTP_MCPU_MODULE_H
#define NGX_HTTP_MCPU_MODULE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "mcpu_ring.h"
#include "mcpu_event.h"
#include "mcpu_jwt.h"


/* outcomes of ngx_http_mcpu_ring_enqueue() */
#define NGX_HTTP_MCPU_ACCEPTED    0
#define NGX_HTTP_MCPU_RING_FULL   1
#define NGX_HTTP_MCPU_TOO_BIG     2
#define NGX_HTTP_MCPU_NO_LANE     3

#define NGX_HTTP_MCPU_DEFAULT_RING_SIZE    (64 * 1024 * 1024)
#define NGX_HTTP_MCPU_DEFAULT_LANES        8
#define NGX_HTTP_MCPU_DEFAULT_MAX_RECORD   (128 * 1024)

/* jansson's per-event tree lives here; see mcpu_event_init() */
#define NGX_HTTP_MCPU_ARENA_SIZE           (512 * 1024)

#define NGX_HTTP_MCPU_JWT_CACHE_DEFAULT    1024
#define NGX_HTTP_MCPU_JWT_CACHE_MAX_TOKEN  2048

/*
 * mcpu_status: the module's host-wide counters, one slot each in the
 * "mcpu_status" shared zone, which a reload finds again (same name, size
 * and tag).  A slot is a 128-byte line of its own, as stub_status's: the
 * workers add to them at once.
 */
#define NGX_HTTP_MCPU_STAT_ACCEPTED   0                 /* events in the ring */
#define NGX_HTTP_MCPU_STAT_EVENT      1                 /* + mcpu_ev_rc_t */
#define NGX_HTTP_MCPU_STAT_ERROR      (NGX_HTTP_MCPU_STAT_EVENT + MCPU_EV_LAST)
                                                        /* + error index */
#define NGX_HTTP_MCPU_STAT_TOKEN      (NGX_HTTP_MCPU_STAT_ERROR               \
                                       + NGX_HTTP_MCPU_ERRORS)
                                                        /* + mcpu_jwt_rc_t */
#define NGX_HTTP_MCPU_STAT_SEEN_FOUND (NGX_HTTP_MCPU_STAT_TOKEN + MCPU_JWT_LAST)
#define NGX_HTTP_MCPU_STAT_N          (NGX_HTTP_MCPU_STAT_SEEN_FOUND + 1)

/* the "error" codes of the module's answers: mcpu_ev_code()'s by their
 * mcpu_ev_rc_t, then the module's own (ngx_http_mcpu_status.c) */
#define NGX_HTTP_MCPU_ERRORS          (MCPU_EV_LAST + 16)

#define NGX_HTTP_MCPU_STAT_LINE       128

/* outcomes of ngx_http_mcpu_auth() */
#define NGX_HTTP_MCPU_AUTH_OFF       0    /* the location verifies nothing */
#define NGX_HTTP_MCPU_AUTH_OK        1
#define NGX_HTTP_MCPU_AUTH_MISSING   2    /* no Bearer token */
#define NGX_HTTP_MCPU_AUTH_INVALID   3    /* see ctx->jwt_rc */


typedef struct {
    ngx_atomic_t           value;
    u_char                 pad[NGX_HTTP_MCPU_STAT_LINE
                               - sizeof(ngx_atomic_t)];
} ngx_http_mcpu_stat_t;


typedef struct {
    ngx_str_t              ring_path;     /* empty: no mcpu_ring */
    mcpu_ring_geometry_t   geometry;
    mcpu_ring_t            ring;          /* mapped by the master */
    ngx_flag_t             ingest_used;   /* some location has mcpu_ingest */
    ngx_uint_t             jwt_cache;     /* entries per worker; 0: off */
    ngx_str_t              seen_path;     /* mcpu_last_seen; default:
                                             ring_path + ".seen" */
    ngx_flag_t             status_used;   /* some location has mcpu_status */
    ngx_http_mcpu_stat_t  *stats;         /* NGX_HTTP_MCPU_STAT_N slots in
                                             the "mcpu_status" zone; NULL
                                             without mcpu_ring */
} ngx_http_mcpu_main_conf_t;


/*
 * Adds n to a counter: one atomic add, no lock, no syscall, no allocation.
 * @locality nginx worker
 */
static ngx_inline void
ngx_http_mcpu_count(ngx_http_mcpu_main_conf_t *mmcf, ngx_uint_t slot,
    ngx_atomic_int_t n)
{
    if (mmcf->stats != NULL) {
        (void) ngx_atomic_fetch_add(&mmcf->stats[slot].value, n);
    }
}


typedef struct {
    ngx_flag_t             ingest;
    ngx_str_t              node;
    size_t                 max_body_size;
    time_t                 retry_after;   /* 0: auto, from the drain rate */
    time_t                 retry_after_max;
    ngx_msec_t             stream_ring_wait;
    ngx_uint_t             ring_full_log_level;
    size_t                 max_decompressed;
    time_t                 max_future;
    time_t                 max_age;
    ngx_array_t           *extra_types;   /* of char *, NULL-terminated */
    mcpu_ev_limits_t       limits;        /* the two above, for mcpu_event */

    mcpu_jwt_keyset_t     *jwt_keys;      /* NULL: no mcpu_jwt_key here */
    ngx_flag_t             jwt;           /* mcpu_jwt off: verify nothing */
    ngx_str_t              jwt_issuer;
    ngx_str_t              jwt_audience;
    time_t                 jwt_leeway;
    mcpu_jwt_policy_t      jwt_policy;    /* the three above, for mcpu_jwt */
} ngx_http_mcpu_loc_conf_t;


/* a refused event of a batch or stream */
typedef struct {
    ngx_uint_t             index;
    int64_t                seq;           /* -1: the event had none */
    const char            *code;
    u_char                *detail;        /* a copy: res.detail is reused */
    size_t                 detail_len;
} ngx_http_mcpu_refusal_t;


/* what a batch or stream answers */
typedef struct {
    ngx_uint_t             accepted;
    ngx_uint_t             processed;     /* events read: the next's index */
    ngx_uint_t             refused_total;
    ngx_array_t           *refused;       /* of ngx_http_mcpu_refusal_t */
    unsigned               stream:1;
} ngx_http_mcpu_tally_t;

/* a stream names its first refusals only: its answer stays small */
#define NGX_HTTP_MCPU_REFUSED_MAX  100


/* per request, kept across the asynchronous body read */
typedef struct {
    mcpu_ev_meta_t         meta;
    ngx_str_t              encoding;      /* Content-Encoding, if any */
    unsigned               ndjson:1;      /* application/x-ndjson */
    mcpu_jwt_result_t      jwt;           /* jwt.sub: the client id */
    mcpu_jwt_rc_t          jwt_rc;
    ngx_uint_t             auth;          /* NGX_HTTP_MCPU_AUTH_*, once done */
    unsigned               auth_done:1;
    void                  *stream;        /* ngx_http_mcpu_stream.c's */
} ngx_http_mcpu_ctx_t;


extern ngx_module_t  ngx_http_mcpu_module;


/* ngx_http_mcpu_handler.c */
ngx_int_t ngx_http_mcpu_ingest_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_mcpu_handler_init_worker(ngx_cycle_t *cycle,
    ngx_http_mcpu_main_conf_t *mmcf);

/* ngx_http_mcpu_auth.c */
ngx_http_mcpu_ctx_t *ngx_http_mcpu_get_ctx(ngx_http_request_t *r);
ngx_uint_t ngx_http_mcpu_auth(ngx_http_request_t *r,
    ngx_http_mcpu_ctx_t *ctx);
ngx_int_t ngx_http_mcpu_auth_refuse(ngx_http_request_t *r,
    ngx_http_mcpu_ctx_t *ctx, ngx_uint_t auth);
char *ngx_http_mcpu_jwt_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_mcpu_jwt_merge(ngx_conf_t *cf, ngx_http_mcpu_loc_conf_t *prev,
    ngx_http_mcpu_loc_conf_t *conf);
ngx_int_t ngx_http_mcpu_add_variables(ngx_conf_t *cf);
ngx_int_t ngx_http_mcpu_auth_init_worker(ngx_cycle_t *cycle,
    ngx_http_mcpu_main_conf_t *mmcf);

/* ngx_http_mcpu_handler.c */
void ngx_http_mcpu_read_meta(ngx_http_request_t *r, ngx_http_mcpu_ctx_t *ctx);
ngx_int_t ngx_http_mcpu_identify(ngx_http_request_t *r,
    ngx_http_mcpu_ctx_t *ctx, ngx_int_t *answer);
ngx_int_t ngx_http_mcpu_refuse(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *detail);
ngx_int_t ngx_http_mcpu_add_header(ngx_http_request_t *r, const char *name,
    u_char *value, size_t len);

/* ngx_http_mcpu_ring.c */
ngx_int_t ngx_http_mcpu_ring_open(ngx_conf_t *cf,
    ngx_http_mcpu_main_conf_t *mmcf);
ngx_int_t ngx_http_mcpu_ring_init_worker(ngx_cycle_t *cycle,
    ngx_http_mcpu_main_conf_t *mmcf);
void ngx_http_mcpu_ring_exit_worker(ngx_cycle_t *cycle,
    ngx_http_mcpu_main_conf_t *mmcf);
ngx_int_t ngx_http_mcpu_ring_enqueue(ngx_http_mcpu_main_conf_t *mmcf,
    ngx_str_t *key, u_char *value, size_t len);
ngx_int_t ngx_http_mcpu_ring_begin(ngx_http_mcpu_main_conf_t *mmcf,
    mcpu_ring_txn_t *txn);
ngx_int_t ngx_http_mcpu_ring_append(ngx_http_mcpu_main_conf_t *mmcf,
    mcpu_ring_txn_t *txn, ngx_str_t *key, u_char *value, size_t len);
void ngx_http_mcpu_ring_commit(ngx_http_mcpu_main_conf_t *mmcf,
    mcpu_ring_txn_t *txn);
void ngx_http_mcpu_batcher_state(mcpu_ring_header_t *hdr, int64_t now_ms,
    ngx_int_t *up, ngx_int_t *kafka, int64_t *age_ms);
time_t ngx_http_mcpu_ring_retry_after(ngx_http_mcpu_main_conf_t *mmcf,
    time_t max);

/* a batcher whose heartbeat is older is not up (it beats every 100 ms) */
#define NGX_HTTP_MCPU_BATCHER_STALE   10000      /* ms */

/* ngx_http_mcpu_batch.c */
ngx_int_t ngx_http_mcpu_batch(ngx_http_request_t *r,
    ngx_http_mcpu_ctx_t *ctx, u_char *body, size_t len);
ngx_int_t ngx_http_mcpu_tally_init(ngx_http_request_t *r,
    ngx_http_mcpu_tally_t *t, ngx_uint_t stream);
ngx_int_t ngx_http_mcpu_tally_refuse(ngx_http_request_t *r,
    ngx_http_mcpu_tally_t *t, mcpu_ev_rc_t ev, mcpu_ev_result_t *res);
ngx_int_t ngx_http_mcpu_tally_answer(ngx_http_request_t *r,
    ngx_uint_t status, ngx_http_mcpu_tally_t *t, const char *code,
    const char *detail);

/* ngx_http_mcpu_handler.c, for the batch */
ngx_int_t ngx_http_mcpu_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *detail);
ngx_int_t ngx_http_mcpu_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_buf_t *b);
ngx_int_t ngx_http_mcpu_send_buf(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_buf_t *b);
ngx_int_t ngx_http_mcpu_ring_refusal(ngx_http_request_t *r, ngx_int_t rc);
u_char *ngx_http_mcpu_record_buffer(size_t *size);
void ngx_http_mcpu_stamp(ngx_http_request_t *r, ngx_http_mcpu_ctx_t *ctx);
void *ngx_http_mcpu_zalloc(void *opaque, u_int items, u_int size);
void ngx_http_mcpu_zfree(void *opaque, void *address);

/* ngx_http_mcpu_seen.c: GET, the client's last event seen */
ngx_int_t ngx_http_mcpu_seen_handler(ngx_http_request_t *r);
void ngx_http_mcpu_seen_exit_worker(ngx_cycle_t *cycle,
    ngx_http_mcpu_main_conf_t *mmcf);

/* ngx_http_mcpu_stream.c: a streamed NDJSON body */
ngx_int_t ngx_http_mcpu_stream_start(ngx_http_request_t *r,
    ngx_http_mcpu_ctx_t *ctx);

/* ngx_http_mcpu_status.c: mcpu_status, the Prometheus page */
ngx_int_t ngx_http_mcpu_status_handler(ngx_http_request_t *r);
void ngx_http_mcpu_count_error(ngx_http_request_t *r, const char *code);

#endif /* NGX_HTTP_MCPU_MODULE_H */
