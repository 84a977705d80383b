/*
 * ngx_http_mcpu_module.c: directives, configuration and process hooks.
 * The request lifecycle is in ngx_http_mcpu_handler.c, the ring's nginx
 * side in ngx_http_mcpu_ring.c.
 */

#include "ngx_http_mcpu_module.h"


static ngx_int_t ngx_http_mcpu_preconfiguration(ngx_conf_t *cf);
static void *ngx_http_mcpu_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_mcpu_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_mcpu_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_mcpu_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_mcpu_postconfiguration(ngx_conf_t *cf);
static char *ngx_http_mcpu_ring(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_mcpu_ingest(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_mcpu_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_mcpu_stats_zone(ngx_conf_t *cf,
    ngx_http_mcpu_main_conf_t *mmcf);
static ngx_int_t ngx_http_mcpu_stats_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static char *ngx_http_mcpu_jwt_cache(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_mcpu_type_allow(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_mcpu_retry_after(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_mcpu_init_process(ngx_cycle_t *cycle);
static void ngx_http_mcpu_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_mcpu_log_levels[] = {
    { ngx_string("info"), NGX_LOG_INFO },
    { ngx_string("notice"), NGX_LOG_NOTICE },
    { ngx_string("warn"), NGX_LOG_WARN },
    { ngx_string("error"), NGX_LOG_ERR },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_mcpu_commands[] = {

    { ngx_string("mcpu_ring"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_mcpu_ring,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("mcpu_ingest"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_mcpu_ingest,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("mcpu_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_mcpu_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("mcpu_node"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcpu_loc_conf_t, node),
      NULL },

    { ngx_string("mcpu_max_body_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcpu_loc_conf_t, max_body_size),
      NULL },

    { ngx_string("mcpu_retry_after"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_mcpu_retry_after,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("mcpu_ring_full_log_level"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcpu_loc_conf_t, ring_full_log_level),
      &ngx_http_mcpu_log_levels },

    { ngx_string("mcpu_event_type_allow"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_mcpu_type_allow,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("mcpu_max_decompressed_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcpu_loc_conf_t, max_decompressed),
      NULL },

    { ngx_string("mcpu_event_max_future"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcpu_loc_conf_t, max_future),
      NULL },

    { ngx_string("mcpu_event_max_age"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcpu_loc_conf_t, max_age),
      NULL },

    { ngx_string("mcpu_jwt_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE123,
      ngx_http_mcpu_jwt_key,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("mcpu_jwt"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcpu_loc_conf_t, jwt),
      NULL },

    { ngx_string("mcpu_jwt_issuer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcpu_loc_conf_t, jwt_issuer),
      NULL },

    { ngx_string("mcpu_jwt_audience"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcpu_loc_conf_t, jwt_audience),
      NULL },

    { ngx_string("mcpu_jwt_leeway"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcpu_loc_conf_t, jwt_leeway),
      NULL },

    { ngx_string("mcpu_last_seen"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_mcpu_main_conf_t, seen_path),
      NULL },

    { ngx_string("mcpu_stream_ring_wait"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_mcpu_loc_conf_t, stream_ring_wait),
      NULL },

    { ngx_string("mcpu_jwt_cache"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_mcpu_jwt_cache,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_mcpu_module_ctx = {
    ngx_http_mcpu_preconfiguration,        /* preconfiguration */
    ngx_http_mcpu_postconfiguration,       /* postconfiguration */

    ngx_http_mcpu_create_main_conf,        /* create main configuration */
    ngx_http_mcpu_init_main_conf,          /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_mcpu_create_loc_conf,         /* create location configuration */
    ngx_http_mcpu_merge_loc_conf           /* merge location configuration */
};


ngx_module_t  ngx_http_mcpu_module = {
    NGX_MODULE_V1,
    &ngx_http_mcpu_module_ctx,             /* module context */
    ngx_http_mcpu_commands,                /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_mcpu_init_process,            /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_mcpu_exit_process,            /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_mcpu_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_mcpu_main_conf_t  *mmcf;

    /*
     * set by ngx_pcalloc():
     *
     *     mmcf->ring_path = { 0, NULL };
     *     mmcf->geometry = { 0, 0, 0 };
     *     mmcf->ring = { NULL, ... };
     *     mmcf->ingest_used = 0;
     *     mmcf->status_used = 0;
     *     mmcf->stats = NULL;
     */

    mmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_mcpu_main_conf_t));
    if (mmcf == NULL) {
        return NULL;
    }

    mmcf->jwt_cache = NGX_CONF_UNSET_UINT;

    return mmcf;
}


static char *
ngx_http_mcpu_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_mcpu_main_conf_t *mmcf = conf;

    ngx_conf_init_uint_value(mmcf->jwt_cache,
                             NGX_HTTP_MCPU_JWT_CACHE_DEFAULT);

    /* the batcher's default too: ring and table found without settings */
    if (mmcf->seen_path.data == NULL && mmcf->ring_path.data != NULL) {
        mmcf->seen_path.len = mmcf->ring_path.len + sizeof(".seen") - 1;
        mmcf->seen_path.data = ngx_pnalloc(cf->pool, mmcf->seen_path.len + 1);
        if (mmcf->seen_path.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_sprintf(mmcf->seen_path.data, "%V.seen%Z", &mmcf->ring_path);
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_mcpu_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_mcpu_add_variables(cf);
}


static void *
ngx_http_mcpu_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_mcpu_loc_conf_t  *mlcf;

    /*
     * set by ngx_pcalloc():
     *
     *     mlcf->node = { 0, NULL };
     *     mlcf->jwt_keys = NULL;
     *     mlcf->jwt_issuer = { 0, NULL };
     *     mlcf->jwt_audience = { 0, NULL };
     *     mlcf->jwt_policy = { NULL, NULL, 0 };
     *     mlcf->limits = { 0, ... };
     *     mlcf->extra_types = NULL;
     */

    mlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_mcpu_loc_conf_t));
    if (mlcf == NULL) {
        return NULL;
    }

    mlcf->ingest = NGX_CONF_UNSET;
    mlcf->max_body_size = NGX_CONF_UNSET_SIZE;
    mlcf->retry_after = NGX_CONF_UNSET;
    mlcf->retry_after_max = NGX_CONF_UNSET;
    mlcf->stream_ring_wait = NGX_CONF_UNSET_MSEC;
    mlcf->ring_full_log_level = NGX_CONF_UNSET_UINT;
    mlcf->jwt = NGX_CONF_UNSET;
    mlcf->jwt_leeway = NGX_CONF_UNSET;
    mlcf->max_decompressed = NGX_CONF_UNSET_SIZE;
    mlcf->max_future = NGX_CONF_UNSET;
    mlcf->max_age = NGX_CONF_UNSET;

    return mlcf;
}


static char *
ngx_http_mcpu_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_mcpu_loc_conf_t  *prev = parent;
    ngx_http_mcpu_loc_conf_t  *conf = child;

    ngx_conf_merge_value(conf->ingest, prev->ingest, 0);
    ngx_conf_merge_str_value(conf->node, prev->node, "");
    ngx_conf_merge_size_value(conf->max_body_size, prev->max_body_size,
                              64 * 1024);
    ngx_conf_merge_sec_value(conf->retry_after, prev->retry_after, 0);
    ngx_conf_merge_sec_value(conf->retry_after_max, prev->retry_after_max,
                             60);
    ngx_conf_merge_msec_value(conf->stream_ring_wait, prev->stream_ring_wait,
                              30000);
    ngx_conf_merge_uint_value(conf->ring_full_log_level,
                              prev->ring_full_log_level, NGX_LOG_WARN);

    ngx_conf_merge_size_value(conf->max_decompressed, prev->max_decompressed,
                              256 * 1024);
    ngx_conf_merge_sec_value(conf->max_future, prev->max_future,
                             MCPU_EV_DEFAULT_MAX_FUTURE_MS / 1000);
    ngx_conf_merge_sec_value(conf->max_age, prev->max_age,
                             MCPU_EV_DEFAULT_MAX_AGE_MS / 1000);

    /* the structural limits keep mcpu_event's defaults (zero) */
    if (conf->extra_types == NULL) {
        conf->extra_types = prev->extra_types;
    }

    conf->limits.extra_types = conf->extra_types ? conf->extra_types->elts
                                                 : NULL;

    /* zero means "the default" to mcpu_event: "0s" is one millisecond */
    conf->limits.max_future_ms = conf->max_future
                                 ? (int64_t) conf->max_future * 1000 : 1;
    conf->limits.max_age_ms = conf->max_age ? (int64_t) conf->max_age * 1000
                                            : 1;

    if (conf->node.len == 0) {
        conf->node = cf->cycle->hostname;
    }

    return ngx_http_mcpu_jwt_merge(cf, prev, conf);
}


/*
 * mcpu_retry_after auto [max=TIME] | TIME;
 */
static char *
ngx_http_mcpu_retry_after(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_mcpu_loc_conf_t *mlcf = conf;

    time_t      t;
    ngx_str_t  *value, s;

    if (mlcf->retry_after != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "auto") != 0) {
        if (cf->args->nelts > 2) {
            return "takes max= only with \"auto\"";
        }

        t = ngx_parse_time(&value[1], 1);
        if (t == (time_t) NGX_ERROR || t == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid retry time \"%V\": a time of 1s or "
                               "more, or \"auto\"", &value[1]);
            return NGX_CONF_ERROR;
        }

        mlcf->retry_after = t;
        return NGX_CONF_OK;
    }

    mlcf->retry_after = 0;

    if (cf->args->nelts == 2) {
        return NGX_CONF_OK;
    }

    if (ngx_strncmp(value[2].data, "max=", 4) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"",
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    s.data = value[2].data + 4;
    s.len = value[2].len - 4;

    t = ngx_parse_time(&s, 1);
    if (t == (time_t) NGX_ERROR || t == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid max retry time \"%V\"", &s);
        return NGX_CONF_ERROR;
    }

    mlcf->retry_after_max = t;

    return NGX_CONF_OK;
}


/*
 * mcpu_ring PATH [size=SIZE] [lanes=N] [max_record=SIZE];
 */
static char *
ngx_http_mcpu_ring(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_mcpu_main_conf_t *mmcf = conf;

    char        err[256];
    ssize_t     n;
    ngx_str_t  *value, s;
    ngx_uint_t  i;

    if (mmcf->ring_path.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    mmcf->ring_path = value[1];
    mmcf->geometry.size = NGX_HTTP_MCPU_DEFAULT_RING_SIZE;
    mmcf->geometry.lanes = NGX_HTTP_MCPU_DEFAULT_LANES;
    mmcf->geometry.max_record = 0;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "size=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;
            /* offset, not size: it takes "g" as well as "k" and "m" */
            n = (ssize_t) ngx_parse_offset(&s);
            if (n == NGX_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid ring size \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }
            mmcf->geometry.size = (uint64_t) n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "lanes=", 6) == 0) {
            n = ngx_atoi(value[i].data + 6, value[i].len - 6);
            if (n == NGX_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid number of lanes \"%V\"",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }
            mmcf->geometry.lanes = (uint32_t) n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "max_record=", 11) == 0) {
            s.data = value[i].data + 11;
            s.len = value[i].len - 11;
            n = ngx_parse_size(&s);
            if (n == NGX_ERROR || n > 0x7fffffff) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid max_record \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }
            mmcf->geometry.max_record = (uint32_t) n;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    /* unset: the default, or half a lane for a small ring */
    if (mmcf->geometry.max_record == 0 && mmcf->geometry.lanes != 0) {
        mmcf->geometry.max_record = (uint32_t) ngx_min(
                                        NGX_HTTP_MCPU_DEFAULT_MAX_RECORD,
                                        mmcf->geometry.size
                                        / mmcf->geometry.lanes / 2);
    }

    if (mcpu_ring_geometry_check(&mmcf->geometry, err, sizeof(err))
        != MCPU_RING_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "mcpu_ring: %s", err);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_mcpu_ingest(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_mcpu_loc_conf_t *mlcf = conf;

    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_mcpu_main_conf_t  *mmcf;

    if (mlcf->ingest != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    mlcf->ingest = 1;

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_mcpu_module);
    mmcf->ingest_used = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_mcpu_ingest_handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_mcpu_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_mcpu_main_conf_t  *mmcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler == ngx_http_mcpu_status_handler) {
        return "is duplicate";
    }

    clcf->handler = ngx_http_mcpu_status_handler;

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_mcpu_module);
    mmcf->status_used = 1;

    return NGX_CONF_OK;
}


/*
 * The counters of mcpu_status live in a zone of fixed name, size and tag,
 * so a reload finds the same zone and they go on (a binary upgrade or a
 * restart starts them from 0, as Prometheus expects of a counter).
 */
static ngx_int_t
ngx_http_mcpu_stats_zone(ngx_conf_t *cf, ngx_http_mcpu_main_conf_t *mmcf)
{
    size_t           size;
    ngx_shm_zone_t  *shm_zone;

    static ngx_str_t  name = ngx_string("mcpu_status");

    /* the slab pool's own pages, and the counters' */
    size = 8 * ngx_pagesize
           + ngx_align(NGX_HTTP_MCPU_STAT_N * sizeof(ngx_http_mcpu_stat_t),
                       ngx_pagesize);

    shm_zone = ngx_shared_memory_add(cf, &name, size, &ngx_http_mcpu_module);
    if (shm_zone == NULL) {
        return NGX_ERROR;
    }

    shm_zone->init = ngx_http_mcpu_stats_init_zone;
    shm_zone->data = mmcf;

    return NGX_OK;
}


static ngx_int_t
ngx_http_mcpu_stats_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_mcpu_main_conf_t  *omcf = data;

    ngx_slab_pool_t            *shpool;
    ngx_http_mcpu_main_conf_t  *mmcf;

    mmcf = shm_zone->data;

    /* a reload: the previous cycle's zone, counters and all */
    if (omcf != NULL) {
        mmcf->stats = omcf->stats;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        mmcf->stats = shpool->data;
        return NGX_OK;
    }

    mmcf->stats = ngx_slab_calloc(shpool, NGX_HTTP_MCPU_STAT_N
                                          * sizeof(ngx_http_mcpu_stat_t));
    if (mmcf->stats == NULL) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "mcpu_status: no room for %d counters in zone \"%V\"",
                      NGX_HTTP_MCPU_STAT_N, &shm_zone->shm.name);
        return NGX_ERROR;
    }

    shpool->data = mmcf->stats;

    return NGX_OK;
}


/*
 * mcpu_event_type_allow NAME ...;
 */
static char *
ngx_http_mcpu_type_allow(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_mcpu_loc_conf_t *mlcf = conf;

    char        **name;
    ngx_str_t    *value;
    ngx_uint_t    i, j;

    if (mlcf->extra_types != NULL) {
        return "is duplicate";
    }

    mlcf->extra_types = ngx_array_create(cf->pool, cf->args->nelts,
                                         sizeof(char *));
    if (mlcf->extra_types == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        /* a name as the brief's types are written: it goes into records and
         * Kafka headers unescaped */
        for (j = 0; j < value[i].len; j++) {
            if (!((value[i].data[j] >= 'A' && value[i].data[j] <= 'Z')
                  || (value[i].data[j] >= 'a' && value[i].data[j] <= 'z')
                  || (j > 0 && value[i].data[j] >= '0'
                      && value[i].data[j] <= '9')))
            {
                break;
            }
        }

        if (j != value[i].len || j == 0 || j > 64) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid event type "
                               "\"%V\": letters and digits, starting with a "
                               "letter, at most 64", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (mcpu_event_is_builtin_type((char *) value[i].data)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" is a built-in "
                               "event type", &value[i]);
            return NGX_CONF_ERROR;
        }

        name = ngx_array_push(mlcf->extra_types);
        if (name == NULL) {
            return NGX_CONF_ERROR;
        }

        *name = (char *) value[i].data;
    }

    name = ngx_array_push(mlcf->extra_types);
    if (name == NULL) {
        return NGX_CONF_ERROR;
    }

    *name = NULL;

    return NGX_CONF_OK;
}


/*
 * mcpu_jwt_cache NUMBER | off;
 */
static char *
ngx_http_mcpu_jwt_cache(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_mcpu_main_conf_t *mmcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (mmcf->jwt_cache != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        mmcf->jwt_cache = 0;
        return NGX_CONF_OK;
    }

    n = ngx_atoi(value[1].data, value[1].len);
    if (n == NGX_ERROR || n < 16 || n > 1048576 || (n & (n - 1)) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "mcpu_jwt_cache must be "
                           "off or a power of two from 16 to 1048576, not "
                           "\"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    mmcf->jwt_cache = (ngx_uint_t) n;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_mcpu_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_mcpu_main_conf_t  *mmcf;

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_mcpu_module);

    if (mmcf->ring_path.data == NULL) {
        if (mmcf->ingest_used || mmcf->status_used) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%s\" needs \"mcpu_ring\" in the http block",
                               mmcf->ingest_used ? "mcpu_ingest"
                                                 : "mcpu_status");
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    if (ngx_http_mcpu_stats_zone(cf, mmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_mcpu_ring_open(cf, mmcf);
}


static ngx_int_t
ngx_http_mcpu_init_process(ngx_cycle_t *cycle)
{
    ngx_http_mcpu_main_conf_t  *mmcf;

    mmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_mcpu_module);

    if (mmcf == NULL || mmcf->ring.hdr == NULL) {
        return NGX_OK;
    }

    if (ngx_http_mcpu_handler_init_worker(cycle, mmcf) != NGX_OK
        || ngx_http_mcpu_auth_init_worker(cycle, mmcf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_mcpu_ring_init_worker(cycle, mmcf);
}


static void
ngx_http_mcpu_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_mcpu_main_conf_t  *mmcf;

    mmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_mcpu_module);

    if (mmcf != NULL && mmcf->ring.hdr != NULL) {
        ngx_http_mcpu_ring_exit_worker(cycle, mmcf);
        ngx_http_mcpu_seen_exit_worker(cycle, mmcf);
    }
}
