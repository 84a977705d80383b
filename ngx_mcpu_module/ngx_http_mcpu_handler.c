/*
 * ngx_http_mcpu_handler.c: the ingest request, step by step: refuse what
 * can be refused from the headers, read the body, validate it and build the
 * record, enqueue it, answer.  Every answer is JSON, written in one place.
 */

#include "ngx_http_mcpu_module.h"

#include <zlib.h>


static ngx_int_t ngx_http_mcpu_check_content_type(ngx_http_request_t *r,
    ngx_http_mcpu_ctx_t *ctx);
static void ngx_http_mcpu_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_mcpu_process(ngx_http_request_t *r);
static ngx_int_t ngx_http_mcpu_get_body(ngx_http_request_t *r,
    size_t limit, u_char **data, size_t *len);
static ngx_uint_t ngx_http_mcpu_is_array(u_char *p, size_t len);
static ngx_int_t ngx_http_mcpu_gunzip(ngx_http_request_t *r, size_t limit,
    u_char **data, size_t *len);


#define ngx_http_mcpu_str(s)  { (const char *) (s).data, (s).len }

static ngx_str_t  ngx_http_mcpu_json_type = ngx_string("application/json");
static ngx_str_t  ngx_http_mcpu_accepted = ngx_string("{\"accepted\":1}\n");

/* the record of the event being processed: one per worker, never per event */
static u_char    *ngx_http_mcpu_record;
static size_t     ngx_http_mcpu_record_size;


ngx_int_t
ngx_http_mcpu_handler_init_worker(ngx_cycle_t *cycle,
    ngx_http_mcpu_main_conf_t *mmcf)
{
    ngx_http_mcpu_record_size = mmcf->ring.max_record;
    ngx_http_mcpu_record = ngx_alloc(ngx_http_mcpu_record_size, cycle->log);
    if (ngx_http_mcpu_record == NULL) {
        return NGX_ERROR;
    }

    if (mcpu_event_init(NGX_HTTP_MCPU_ARENA_SIZE) != 0) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "mcpu: cannot allocate the %uz-byte event arena",
                      (size_t) NGX_HTTP_MCPU_ARENA_SIZE);
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_mcpu_ingest_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_http_mcpu_ctx_t       *ctx;
    ngx_http_mcpu_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_mcpu_module);

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        return ngx_http_mcpu_seen_handler(r);
    }

    if (!(r->method & NGX_HTTP_POST)) {
        return ngx_http_mcpu_refuse(r, NGX_HTTP_NOT_ALLOWED,
                                    "method_not_allowed",
                                    "events are sent with POST, the last "
                                    "one seen is read with GET");
    }

    ctx = ngx_http_mcpu_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_mcpu_check_content_type(r, ctx) != NGX_OK) {
        return ngx_http_mcpu_refuse(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                    "unsupported_media_type",
                                    "Content-Type must be application/json "
                                    "or application/x-ndjson");
    }

    ngx_http_mcpu_read_meta(r, ctx);

    if (ctx->encoding.len
        && !(ctx->encoding.len == 4
             && ngx_strncasecmp(ctx->encoding.data, (u_char *) "gzip", 4) == 0)
        && !(ctx->encoding.len == 8
             && ngx_strncasecmp(ctx->encoding.data, (u_char *) "identity", 8)
                == 0))
    {
        return ngx_http_mcpu_refuse(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                    "unsupported_encoding",
                                    "Content-Encoding must be gzip or "
                                    "identity");
    }

    if (ngx_http_mcpu_identify(r, ctx, &rc) != NGX_OK) {
        return rc;
    }

    /* a body of unknown or large length: taken line by line as it comes */
    if (ctx->ndjson
        && (r->headers_in.content_length_n < 0 || r->headers_in.chunked
            || r->headers_in.content_length_n > (off_t) mlcf->max_body_size))
    {
        return ngx_http_mcpu_stream_start(r, ctx);
    }

    if (r->headers_in.content_length_n > (off_t) mlcf->max_body_size) {
        return ngx_http_mcpu_refuse(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                    "body_too_large",
                                    "the body exceeds mcpu_max_body_size");
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_mcpu_body_handler);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/*
 * Who sends: the token's sub when the location verifies tokens (a
 * Client-Id header may only repeat it), else the Client-Id header.
 * NGX_OK with ctx->meta.client_id set; or NGX_DECLINED when the request
 * was refused, with what the content handler returns in *answer.  Needs
 * ngx_http_mcpu_read_meta() first.
 */
ngx_int_t
ngx_http_mcpu_identify(ngx_http_request_t *r, ngx_http_mcpu_ctx_t *ctx,
    ngx_int_t *answer)
{
    ngx_uint_t  auth;

    auth = ngx_http_mcpu_auth(r, ctx);

    if (auth == NGX_HTTP_MCPU_AUTH_MISSING
        || auth == NGX_HTTP_MCPU_AUTH_INVALID)
    {
        *answer = ngx_http_mcpu_auth_refuse(r, ctx, auth);
        return NGX_DECLINED;
    }

    if (auth == NGX_HTTP_MCPU_AUTH_OK) {

        /* the verified sub is the client id; a header may only repeat it */
        if (ctx->meta.client_id.data != NULL
            && (ctx->meta.client_id.len != ctx->jwt.sub_len
                || ngx_strncmp(ctx->meta.client_id.data, ctx->jwt.sub,
                               ctx->jwt.sub_len) != 0))
        {
            *answer = ngx_http_mcpu_refuse(r, NGX_HTTP_FORBIDDEN,
                                           "client_id_mismatch",
                                           "the Client-Id header differs "
                                           "from the token's sub");
            return NGX_DECLINED;
        }

        ctx->meta.client_id.data = ctx->jwt.sub;
        ctx->meta.client_id.len = ctx->jwt.sub_len;
    }

    if (ctx->meta.client_id.data == NULL) {
        *answer = ngx_http_mcpu_refuse(r, NGX_HTTP_BAD_REQUEST,
                                     mcpu_ev_code(MCPU_EV_MISSING_CLIENT_ID),
                                     "the Client-Id header is required");
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_mcpu_check_content_type(ngx_http_request_t *r,
    ngx_http_mcpu_ctx_t *ctx)
{
    size_t            n;
    ngx_table_elt_t  *h;

    static ngx_str_t  ndjson = ngx_string("application/x-ndjson");

    h = r->headers_in.content_type;
    if (h == NULL) {
        return NGX_DECLINED;
    }

    if (h->value.len >= ndjson.len
        && ngx_strncasecmp(h->value.data, ndjson.data, ndjson.len) == 0)
    {
        n = ndjson.len;
        ctx->ndjson = 1;

    } else if (h->value.len >= ngx_http_mcpu_json_type.len
               && ngx_strncasecmp(h->value.data, ngx_http_mcpu_json_type.data,
                                  ngx_http_mcpu_json_type.len) == 0)
    {
        n = ngx_http_mcpu_json_type.len;

    } else {
        return NGX_DECLINED;
    }

    /* parameters such as "; charset=utf-8" may follow, nothing else */
    if (h->value.len > n && h->value.data[n] != ';' && h->value.data[n] != ' ')
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


void
ngx_http_mcpu_read_meta(ngx_http_request_t *r, ngx_http_mcpu_ctx_t *ctx)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;
    mcpu_ev_str_t    *dst;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        switch (h[i].key.len) {

        case sizeof("client-id") - 1:   /* and "client-os" */
            if (ngx_strncmp(h[i].lowcase_key, "client-id", 9) == 0) {
                dst = &ctx->meta.client_id;

            } else if (ngx_strncmp(h[i].lowcase_key, "client-os", 9) == 0) {
                dst = &ctx->meta.client_os;

            } else {
                dst = NULL;
            }
            break;

        case sizeof("os-version") - 1:
            dst = ngx_strncmp(h[i].lowcase_key, "os-version", 10) == 0
                  ? &ctx->meta.os_version : NULL;
            break;

        case sizeof("content-encoding") - 1:
            if (ngx_strncmp(h[i].lowcase_key, "content-encoding", 16) == 0) {
                ctx->encoding = h[i].value;
            }
            dst = NULL;
            break;

        case sizeof("sent-at") - 1:
            dst = ngx_strncmp(h[i].lowcase_key, "sent-at", 7) == 0
                  ? &ctx->meta.sent_at : NULL;
            break;

        case sizeof("client-version") - 1:
            dst = ngx_strncmp(h[i].lowcase_key, "client-version", 14) == 0
                  ? &ctx->meta.client_version : NULL;
            break;

        default:
            dst = NULL;
        }

        if (dst != NULL) {
            dst->data = (const char *) h[i].value.data;
            dst->len = h[i].value.len;
        }
    }
}


static void
ngx_http_mcpu_body_handler(ngx_http_request_t *r)
{
    ngx_http_finalize_request(r, ngx_http_mcpu_process(r));
}


static ngx_int_t
ngx_http_mcpu_process(ngx_http_request_t *r)
{
    u_char                     *body;
    size_t                      len, out_len;
    ngx_int_t                   rc;
    ngx_str_t                   key;
    mcpu_ev_rc_t                ev;
    mcpu_ev_result_t            res;
    ngx_http_mcpu_ctx_t        *ctx;
    ngx_http_mcpu_loc_conf_t   *mlcf;
    ngx_http_mcpu_main_conf_t  *mmcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_mcpu_module);
    mmcf = ngx_http_get_module_main_conf(r, ngx_http_mcpu_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_mcpu_module);

    rc = ngx_http_mcpu_get_body(r, mlcf->max_body_size, &body, &len);

    if (rc == NGX_DECLINED) {
        return ngx_http_mcpu_send_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                        "body_too_large", "the body exceeds "
                                        "mcpu_max_body_size");
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->encoding.len == 4) {   /* gzip; identity needs nothing */
        rc = ngx_http_mcpu_gunzip(r, mlcf->max_decompressed, &body, &len);

        if (rc == NGX_DECLINED) {
            return ngx_http_mcpu_send_error(r,
                                      NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                      "decompressed_too_large", "the body "
                                      "decompresses to more than "
                                      "mcpu_max_decompressed_size");
        }

        if (rc != NGX_OK) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "mcpu: event refused, bad_gzip");
            return ngx_http_mcpu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                            "bad_gzip", "the body is not "
                                            "valid gzip");
        }
    }

    ngx_http_mcpu_stamp(r, ctx);

    if (ctx->ndjson || ngx_http_mcpu_is_array(body, len)) {
        return ngx_http_mcpu_batch(r, ctx, body, len);
    }

    ev = mcpu_event_record((const char *) body, len, &ctx->meta,
                           (char *) ngx_http_mcpu_record,
                           ngx_http_mcpu_record_size, &out_len, &res);

    if (ev != MCPU_EV_OK) {
        ngx_http_mcpu_count(mmcf, NGX_HTTP_MCPU_STAT_EVENT + ev, 1);

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "mcpu: event refused, %s: %s", mcpu_ev_code(ev),
                      res.detail);

        return ngx_http_mcpu_send_error(r, ev == MCPU_EV_TOO_LARGE
                                           ? NGX_HTTP_REQUEST_ENTITY_TOO_LARGE
                                           : ev == MCPU_EV_NO_MEMORY
                                           ? NGX_HTTP_INTERNAL_SERVER_ERROR
                                           : NGX_HTTP_BAD_REQUEST,
                                        mcpu_ev_code(ev), res.detail);
    }

    key.data = (u_char *) ctx->meta.client_id.data;
    key.len = ctx->meta.client_id.len;

    rc = ngx_http_mcpu_ring_enqueue(mmcf, &key, ngx_http_mcpu_record,
                                    out_len);
    if (rc == NGX_HTTP_MCPU_ACCEPTED) {
        ngx_http_mcpu_count(mmcf, NGX_HTTP_MCPU_STAT_ACCEPTED, 1);

        return ngx_http_mcpu_send_json(r, NGX_HTTP_ACCEPTED,
                                       ngx_calloc_buf(r->pool));
    }

    return ngx_http_mcpu_ring_refusal(r, rc);
}


/* what the server adds to the events read now */
void
ngx_http_mcpu_stamp(ngx_http_request_t *r, ngx_http_mcpu_ctx_t *ctx)
{
    ngx_time_t                *tp;
    ngx_http_mcpu_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_mcpu_module);

    /* the cached time: no syscall per event */
    tp = ngx_timeofday();
    ctx->meta.received_ms = (int64_t) tp->sec * 1000 + tp->msec;
    ctx->meta.node.data = (const char *) mlcf->node.data;
    ctx->meta.node.len = mlcf->node.len;
    ctx->meta.limits = &mlcf->limits;
}


/* the answer when the ring did not take a request's events */
ngx_int_t
ngx_http_mcpu_ring_refusal(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_mcpu_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_mcpu_module);

    switch (rc) {

    case NGX_HTTP_MCPU_TOO_BIG:     /* one event: a batch refuses it alone */
        ngx_http_mcpu_count(ngx_http_get_module_main_conf(r,
                                                      ngx_http_mcpu_module),
                            NGX_HTTP_MCPU_STAT_EVENT + MCPU_EV_TOO_LARGE, 1);

        return ngx_http_mcpu_send_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                        "record_too_large", "the record "
                                        "exceeds the ring's max_record");

    case NGX_HTTP_MCPU_NO_LANE:
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "mcpu: this worker has no ring lane, event refused");
        break;

    default: /* NGX_HTTP_MCPU_RING_FULL */
        ngx_log_error(mlcf->ring_full_log_level, r->connection->log, 0,
                      "mcpu: ring lane full, event refused with 503");
        break;
    }

    if (ngx_http_mcpu_add_header(r, "Retry-After", NULL, 0) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_mcpu_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                    "ring_full", "the event queue is full, "
                                    "retry later");
}


u_char *
ngx_http_mcpu_record_buffer(size_t *size)
{
    *size = ngx_http_mcpu_record_size;
    return ngx_http_mcpu_record;
}


/*
 * The body is usually one memory buffer; a body larger than
 * client_body_buffer_size is in a temporary file and a chunked one may be
 * in several buffers: those are assembled in the request pool.
 */
/* a JSON array body is a batch; an object is one event */
static ngx_uint_t
ngx_http_mcpu_is_array(u_char *p, size_t len)
{
    u_char  *last = p + len;

    while (p < last && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
    {
        p++;
    }

    return p < last && *p == '[';
}


static ngx_int_t
ngx_http_mcpu_get_body(ngx_http_request_t *r, size_t limit, u_char **data,
    size_t *len)
{
    u_char       *p;
    off_t         total;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    *data = (u_char *) "";
    *len = 0;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    total = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        total += ngx_buf_size(cl->buf);
    }

    if (total > (off_t) limit) {
        return NGX_DECLINED;
    }

    /* an empty body's buffer may have no memory at all (pos NULL) */
    if (total == 0) {
        return NGX_OK;
    }

    b = r->request_body->bufs->buf;

    if (r->request_body->bufs->next == NULL && !b->in_file) {
        *data = b->pos;
        *len = (size_t) (b->last - b->pos);
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, (size_t) total + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *data = p;
    *len = (size_t) total;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        n = ngx_read_file(b->file, p, (size_t) (b->file_last - b->file_pos),
                          b->file_pos);
        if (n != b->file_last - b->file_pos) {
            ngx_log_error(NGX_LOG_CRIT, r->connection->log, 0,
                          "mcpu: reading the request body from \"%V\" "
                          "returned %z of %O bytes", &b->file->name, n,
                          b->file_last - b->file_pos);
            return NGX_ERROR;
        }

        p += n;
    }

    return NGX_OK;
}


/*
 * A gzip body is inflated into the request pool, never past limit: a small
 * bomb costs at most limit bytes and is refused with 413.  Only gzip
 * requests pay for this (an inflate state and the output buffer).
 */
static ngx_int_t
ngx_http_mcpu_gunzip(ngx_http_request_t *r, size_t limit, u_char **data,
    size_t *len)
{
    int        rc;
    u_char    *out;
    z_stream   zs;

    out = ngx_pnalloc(r->pool, limit + 1);
    if (out == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(&zs, sizeof(z_stream));
    zs.zalloc = ngx_http_mcpu_zalloc;
    zs.zfree = ngx_http_mcpu_zfree;
    zs.opaque = r->pool;

    /* 16 + MAX_WBITS: a gzip header and trailer, not raw deflate */
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        return NGX_ERROR;
    }

    zs.next_in = *data;
    zs.avail_in = (uInt) *len;
    zs.next_out = out;
    zs.avail_out = (uInt) limit + 1;

    rc = inflate(&zs, Z_FINISH);
    *len = zs.total_out;
    inflateEnd(&zs);

    if (*len > limit) {
        return NGX_DECLINED;
    }

    if (rc != Z_STREAM_END || zs.avail_in != 0) {
        return NGX_ERROR;
    }

    *data = out;
    return NGX_OK;
}


void *
ngx_http_mcpu_zalloc(void *opaque, u_int items, u_int size)
{
    return ngx_palloc(opaque, (size_t) items * size);
}


void
ngx_http_mcpu_zfree(void *opaque, void *address)
{
    /* the request pool frees it */
}


/* a refusal before the body was read: the body is discarded first */
ngx_int_t
ngx_http_mcpu_refuse(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *detail)
{
    ngx_int_t  rc;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (status == NGX_HTTP_NOT_ALLOWED
        && ngx_http_mcpu_add_header(r, "Allow", (u_char *) "GET, HEAD, POST",
                                    15)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "mcpu: request refused, %s: %s", code, detail);

    return ngx_http_mcpu_send_error(r, status, code, detail);
}


ngx_int_t
ngx_http_mcpu_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *detail)
{
    size_t      size, len;
    ngx_buf_t  *b;

    ngx_http_mcpu_count_error(r, code);

    len = ngx_strlen(detail);

    /* detail may quote client input: escape it; code is ours */
    size = sizeof("{\"error\":\"\",\"detail\":\"\"}\n") + ngx_strlen(code)
           + len + ngx_escape_json(NULL, (u_char *) detail, len);

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_sprintf(b->last, "{\"error\":\"%s\",\"detail\":\"", code);
    b->last = (u_char *) ngx_escape_json(b->last, (u_char *) detail, len);
    b->last = ngx_cpymem(b->last, "\"}\n", 3);

    return ngx_http_mcpu_send_json(r, status, b);
}


/* b NULL-free and empty: the 202 body */
ngx_int_t
ngx_http_mcpu_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_buf_t *b)
{
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (b->last == b->pos) {
        b->pos = ngx_http_mcpu_accepted.data;
        b->last = b->pos + ngx_http_mcpu_accepted.len;
        b->memory = 1;
    }

    return ngx_http_mcpu_send_buf(r, status, &ngx_http_mcpu_json_type, b);
}


/* the whole answer in one buffer, of that type */
ngx_int_t
ngx_http_mcpu_send_buf(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_buf_t *b)
{
    ngx_int_t    rc;
    ngx_chain_t  out;

    r->headers_out.status = status;
    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_length_n = b->last - b->pos;

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* value NULL: Retry-After from mcpu_retry_after (or the drain rate) */
ngx_int_t
ngx_http_mcpu_add_header(ngx_http_request_t *r, const char *name,
    u_char *value, size_t len)
{
    ngx_table_elt_t           *h;
    ngx_http_mcpu_loc_conf_t  *mlcf;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    if (value == NULL) {
        mlcf = ngx_http_get_module_loc_conf(r, ngx_http_mcpu_module);

        value = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
        if (value == NULL) {
            return NGX_ERROR;
        }

        len = ngx_sprintf(value, "%T", mlcf->retry_after
                                       ? mlcf->retry_after
                                       : ngx_http_mcpu_ring_retry_after(
                                             ngx_http_get_module_main_conf(r,
                                                 ngx_http_mcpu_module),
                                             mlcf->retry_after_max))
              - value;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value.data = value;
    h->value.len = len;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return NGX_OK;
}
