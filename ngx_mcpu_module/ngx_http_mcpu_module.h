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


typedef struct {
    ngx_str_t              ring_path;     /* empty: no mcpu_ring */
    mcpu_ring_geometry_t   geometry;
    mcpu_ring_t            ring;          /* mapped by the master */
    ngx_flag_t             ingest_used;   /* some location has mcpu_ingest */
} ngx_http_mcpu_main_conf_t;


typedef struct {
    ngx_flag_t             ingest;
    ngx_str_t              node;
    size_t                 max_body_size;
    time_t                 retry_after;
    ngx_uint_t             ring_full_log_level;
} ngx_http_mcpu_loc_conf_t;


/* per request, kept across the asynchronous body read */
typedef struct {
    mcpu_ev_meta_t         meta;
} ngx_http_mcpu_ctx_t;


extern ngx_module_t  ngx_http_mcpu_module;


/* ngx_http_mcpu_handler.c */
ngx_int_t ngx_http_mcpu_ingest_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_mcpu_handler_init_worker(ngx_cycle_t *cycle,
    ngx_http_mcpu_main_conf_t *mmcf);

/* ngx_http_mcpu_ring.c */
ngx_int_t ngx_http_mcpu_ring_open(ngx_conf_t *cf,
    ngx_http_mcpu_main_conf_t *mmcf);
ngx_int_t ngx_http_mcpu_ring_init_worker(ngx_cycle_t *cycle,
    ngx_http_mcpu_main_conf_t *mmcf);
void ngx_http_mcpu_ring_exit_worker(ngx_cycle_t *cycle,
    ngx_http_mcpu_main_conf_t *mmcf);
ngx_int_t ngx_http_mcpu_ring_enqueue(ngx_http_mcpu_main_conf_t *mmcf,
    ngx_str_t *key, u_char *value, size_t len);

#endif /* NGX_HTTP_MCPU_MODULE_H */
