/*
 * ngx_http_mcpu_stream.c: a streamed NDJSON body.
 *
 * A client may keep one POST open for hours and write an event per line as
 * it happens.  Such a body (chunked, or longer than mcpu_max_body_size) is
 * read unbuffered and each complete line is validated and put into the ring
 * as it arrives, so a worker holds at most one read buffer, one line and,
 * for gzip, one inflate window, whatever the length of the body.
 *
 * Unlike a batch, a stream cannot be all-or-nothing: its events are
 * committed to the ring as they come, a read buffer's worth at a time.
 * When the ring is full the stream stops reading (the socket buffers fill
 * and TCP pushes back on the client) and looks again with a growing delay;
 * after mcpu_stream_ring_wait without room it answers 503, saying how many
 * events it read ("processed"): the client resends from that index.
 */

#include "ngx_http_mcpu_module.h"

#include <zlib.h>


#define NGX_HTTP_MCPU_STREAM_ZOUT      16384
#define NGX_HTTP_MCPU_STREAM_WAIT_MIN  1         /* ms */
#define NGX_HTTP_MCPU_STREAM_WAIT_MAX  100       /* ms */


typedef struct {
    ngx_http_request_t    *request;
    ngx_http_mcpu_tally_t  tally;

    ngx_chain_t           *pending;     /* body buffers not yet consumed */

    /* a line split across buffers, or one the ring had no room for */
    u_char                *line;
    size_t                 line_len;
    size_t                 line_max;    /* mcpu_max_body_size */

    mcpu_ring_txn_t        txn;
    ngx_uint_t             txn_open;

    z_stream              *zs;          /* gzip only */
    u_char                *zout;
    u_char                *zpos;
    u_char                *zlast;

    ngx_event_t            wait;        /* looking again for ring room */
    ngx_msec_t             wait_delay;
    ngx_msec_t             wait_until;  /* 0: not waiting */
    ngx_uint_t             pauses;

    unsigned               line_ready:1;   /* line holds a whole event */
    unsigned               skipping:1;     /* dropping a too long line */
    unsigned               paused:1;
    unsigned               eof:1;          /* the last body buffer is in */
    unsigned               zmore:1;        /* zlib may hold more output */
    unsigned               zend:1;
} ngx_http_mcpu_stream_t;


static void ngx_http_mcpu_stream_body(ngx_http_request_t *r);
static void ngx_http_mcpu_stream_read(ngx_http_request_t *r);
static void ngx_http_mcpu_stream_wake(ngx_event_t *ev);
static void ngx_http_mcpu_stream_cleanup(void *data);
static void ngx_http_mcpu_stream_run(ngx_http_request_t *r,
    ngx_http_mcpu_stream_t *st);
static void ngx_http_mcpu_stream_take(ngx_http_request_t *r,
    ngx_http_mcpu_stream_t *st);
static void ngx_http_mcpu_stream_end(ngx_http_request_t *r,
    ngx_http_mcpu_stream_t *st);
static ngx_int_t ngx_http_mcpu_stream_consume(ngx_http_request_t *r,
    ngx_http_mcpu_stream_t *st);
static ngx_int_t ngx_http_mcpu_stream_inflate(ngx_http_request_t *r,
    ngx_http_mcpu_stream_t *st, ngx_buf_t *b);
static ngx_int_t ngx_http_mcpu_stream_feed(ngx_http_request_t *r,
    ngx_http_mcpu_stream_t *st, u_char **pos, u_char *last);
static ngx_int_t ngx_http_mcpu_stream_keep(ngx_http_request_t *r,
    ngx_http_mcpu_stream_t *st, u_char *p, size_t len);
static ngx_int_t ngx_http_mcpu_stream_event(ngx_http_request_t *r,
    ngx_http_mcpu_stream_t *st, u_char *p, size_t len);
static ngx_int_t ngx_http_mcpu_stream_refuse(ngx_http_request_t *r,
    ngx_http_mcpu_stream_t *st, mcpu_ev_rc_t ev, const char *detail);
static ngx_int_t ngx_http_mcpu_stream_pause(ngx_http_request_t *r,
    ngx_http_mcpu_stream_t *st);
static void ngx_http_mcpu_stream_commit(ngx_http_request_t *r,
    ngx_http_mcpu_stream_t *st);
static ngx_int_t ngx_http_mcpu_stream_refusal(ngx_http_request_t *r,
    ngx_http_mcpu_stream_t *st, ngx_int_t rc);
static void ngx_http_mcpu_stream_finish(ngx_http_request_t *r,
    ngx_http_mcpu_stream_t *st, ngx_uint_t status, const char *code,
    const char *detail);

/* outcomes of the consume steps, besides NGX_OK and NGX_ERROR */
#define NGX_HTTP_MCPU_STREAM_FULL      1    /* paused: the ring is full */
#define NGX_HTTP_MCPU_STREAM_BAD_GZIP  2
#define NGX_HTTP_MCPU_STREAM_NO_LANE   3


ngx_int_t
ngx_http_mcpu_stream_start(ngx_http_request_t *r, ngx_http_mcpu_ctx_t *ctx)
{
    ngx_int_t                  rc;
    ngx_pool_cleanup_t        *cln;
    ngx_http_mcpu_stream_t    *st;
    ngx_http_mcpu_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_mcpu_module);

    st = ngx_pcalloc(r->pool, sizeof(ngx_http_mcpu_stream_t));
    if (st == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_mcpu_tally_init(r, &st->tally, 1) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    st->request = r;
    st->line_max = mlcf->max_body_size;
    st->wait.handler = ngx_http_mcpu_stream_wake;
    st->wait.data = st;
    st->wait.log = r->connection->log;

    /* the request may end (client gone) while the timer is armed */
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_mcpu_stream_cleanup;
    cln->data = st;

    if (ctx->encoding.len == 4) {   /* gzip */
        st->zs = ngx_pcalloc(r->pool, sizeof(z_stream));
        st->zout = ngx_pnalloc(r->pool, NGX_HTTP_MCPU_STREAM_ZOUT);
        if (st->zs == NULL || st->zout == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        st->zs->zalloc = ngx_http_mcpu_zalloc;
        st->zs->zfree = ngx_http_mcpu_zfree;
        st->zs->opaque = r->pool;

        if (inflateInit2(st->zs, 16 + MAX_WBITS) != Z_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    ctx->stream = st;
    ngx_http_mcpu_stamp(r, ctx);
    ctx->meta.request_ms = ctx->meta.received_ms;

    r->request_body_no_buffering = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_mcpu_stream_body);
    if (rc < NGX_HTTP_SPECIAL_RESPONSE) {
        return NGX_DONE;
    }

    /* the first bytes were already wrong: nothing of them was taken */
    if (r->connection->error || rc == NGX_HTTP_REQUEST_TIME_OUT) {
        return rc;
    }

    r->keepalive = 0;

    return ngx_http_mcpu_stream_refusal(r, st, rc);
}


/* the first body bytes are in (or all of them, if they were pre-read) */
static void
ngx_http_mcpu_stream_body(ngx_http_request_t *r)
{
    ngx_http_mcpu_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_mcpu_module);

    r->read_event_handler = ngx_http_mcpu_stream_read;

    ngx_http_mcpu_stream_run(r, ctx->stream);
}


static void
ngx_http_mcpu_stream_read(ngx_http_request_t *r)
{
    ngx_http_mcpu_ctx_t     *ctx;
    ngx_http_mcpu_stream_t  *st;

    ctx = ngx_http_get_module_ctx(r, ngx_http_mcpu_module);
    st = ctx->stream;

    if (st->paused) {
        /* leave the bytes in the socket: that is the backpressure */
        ngx_http_block_reading(r);
        return;
    }

    ngx_http_mcpu_stream_run(r, st);
}


static void
ngx_http_mcpu_stream_wake(ngx_event_t *ev)
{
    ngx_connection_t        *c;
    ngx_http_request_t      *r;
    ngx_http_mcpu_stream_t  *st;

    st = ev->data;
    r = st->request;
    c = r->connection;

    st->paused = 0;
    ngx_http_mcpu_stream_run(r, st);

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_mcpu_stream_cleanup(void *data)
{
    ngx_http_mcpu_stream_t  *st = data;

    if (st->wait.timer_set) {
        ngx_del_timer(&st->wait);
    }
}


/*
 * Consume what was read, then read more, until the socket has nothing or
 * the ring is full.  Every way out of the request goes through finish().
 */
static void
ngx_http_mcpu_stream_run(ngx_http_request_t *r, ngx_http_mcpu_stream_t *st)
{
    ngx_int_t             rc;
    ngx_http_mcpu_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_mcpu_module);

    for ( ;; ) {

        ngx_http_mcpu_stream_take(r, st);

        /* one clock reading per pass: no syscall per event */
        ngx_http_mcpu_stamp(r, ctx);

        rc = ngx_http_mcpu_stream_consume(r, st);

        switch (rc) {

        case NGX_OK:
            break;

        case NGX_HTTP_MCPU_STREAM_FULL:
            if (ngx_http_mcpu_stream_pause(r, st) == NGX_OK) {
                return;
            }

            if (ngx_http_mcpu_add_header(r, "Retry-After", NULL, 0)
                != NGX_OK)
            {
                ngx_http_mcpu_stream_finish(r, st,
                                          NGX_HTTP_INTERNAL_SERVER_ERROR,
                                          "no_memory", "out of memory");
                return;
            }

            ngx_http_mcpu_stream_finish(r, st, NGX_HTTP_SERVICE_UNAVAILABLE,
                                        "ring_full", "the event queue "
                                        "stayed full for "
                                        "mcpu_stream_ring_wait: resend from "
                                        "event \"processed\"");
            return;

        case NGX_HTTP_MCPU_STREAM_BAD_GZIP:
            ngx_http_mcpu_stream_finish(r, st, NGX_HTTP_BAD_REQUEST,
                                        "bad_gzip", "the body is not valid "
                                        "gzip");
            return;

        case NGX_HTTP_MCPU_STREAM_NO_LANE:
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "mcpu: this worker has no ring lane, stream "
                          "refused");
            ngx_http_mcpu_stream_finish(r, st, NGX_HTTP_SERVICE_UNAVAILABLE,
                                        "ring_full", "the event queue is "
                                        "not available, retry later");
            return;

        default:
            ngx_http_mcpu_stream_finish(r, st,
                                        NGX_HTTP_INTERNAL_SERVER_ERROR,
                                        "no_memory", "out of memory while "
                                        "validating");
            return;
        }

        if (st->eof) {
            if (st->zs != NULL && !st->zend) {
                /* a cut body: its last line is cut too, not an event */
                ngx_http_mcpu_stream_finish(r, st, NGX_HTTP_BAD_REQUEST,
                                            "bad_gzip", "the gzip body "
                                            "ends early");
                return;
            }

            if (st->line_len > 0 && !st->line_ready) {
                /* the last line needs no newline */
                st->line_ready = 1;
                continue;
            }

            ngx_http_mcpu_stream_end(r, st);
            return;
        }

        if (r->request_body == NULL || !r->reading_body) {
            /* nothing more comes: what was handed over was all */
            st->eof = 1;
            continue;
        }

        rc = ngx_http_read_unbuffered_request_body(r);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            if (r->connection->error || rc == NGX_HTTP_REQUEST_TIME_OUT) {
                ngx_http_mcpu_stream_commit(r, st);
                ngx_http_finalize_request(r, rc);
                return;
            }

            ngx_http_mcpu_stream_commit(r, st);
            ngx_http_finalize_request(r,
                                   ngx_http_mcpu_stream_refusal(r, st, rc));
            return;
        }

        if (rc == NGX_AGAIN && r->request_body->bufs == NULL) {
            return;             /* the read event brings more */
        }
    }
}


/* the body buffers nginx read are ours until consumed */
static void
ngx_http_mcpu_stream_take(ngx_http_request_t *r, ngx_http_mcpu_stream_t *st)
{
    ngx_chain_t  *cl, **ll;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return;
    }

    for (ll = &st->pending; *ll; ll = &(*ll)->next) { /* void */ }

    *ll = r->request_body->bufs;
    r->request_body->bufs = NULL;

    for (cl = *ll; cl; cl = cl->next) {
        if (cl->buf->last_buf) {
            st->eof = 1;
        }
    }
}


static void
ngx_http_mcpu_stream_end(ngx_http_request_t *r, ngx_http_mcpu_stream_t *st)
{
    if (st->tally.processed == 0) {
        ngx_http_mcpu_stream_finish(r, st, NGX_HTTP_BAD_REQUEST,
                                    "empty_batch", "the stream holds no "
                                    "event");
        return;
    }

    ngx_http_mcpu_stream_finish(r, st, st->tally.accepted
                                         ? NGX_HTTP_ACCEPTED
                                         : NGX_HTTP_BAD_REQUEST,
                                NULL, NULL);
}


/*
 * Everything pending goes into the ring in one transaction per pass; a
 * consumed buffer's chain link goes back to the pool, so a body of any
 * length reuses the same few links and buffers.
 */
static ngx_int_t
ngx_http_mcpu_stream_consume(ngx_http_request_t *r,
    ngx_http_mcpu_stream_t *st)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    rc = NGX_OK;

    if (st->line_ready) {
        rc = ngx_http_mcpu_stream_event(r, st, st->line, st->line_len);
        if (rc == NGX_OK) {
            st->line_ready = 0;
            st->line_len = 0;
        }
    }

    while (rc == NGX_OK && st->pending != NULL) {
        cl = st->pending;
        b = cl->buf;

        if (st->zs != NULL) {
            rc = ngx_http_mcpu_stream_inflate(r, st, b);

        } else {
            rc = ngx_http_mcpu_stream_feed(r, st, &b->pos, b->last);
        }

        if (rc != NGX_OK) {
            break;
        }

        st->pending = cl->next;
        ngx_free_chain(r->pool, cl);
    }

    ngx_http_mcpu_stream_commit(r, st);

    if (rc == NGX_OK && st->wait_until) {
        /* room again: the next full ring waits a whole period */
        st->wait_until = 0;
        st->wait_delay = 0;
    }

    return rc;
}


static ngx_int_t
ngx_http_mcpu_stream_inflate(ngx_http_request_t *r,
    ngx_http_mcpu_stream_t *st, ngx_buf_t *b)
{
    int        zrc;
    ngx_int_t  rc;

    for ( ;; ) {

        if (st->zpos < st->zlast) {
            rc = ngx_http_mcpu_stream_feed(r, st, &st->zpos, st->zlast);
            if (rc != NGX_OK) {
                return rc;
            }
        }

        if (b->pos == b->last && !st->zmore) {
            return NGX_OK;
        }

        if (st->zend) {
            /* bytes after the gzip trailer */
            return NGX_HTTP_MCPU_STREAM_BAD_GZIP;
        }

        st->zs->next_in = b->pos;
        st->zs->avail_in = (uInt) (b->last - b->pos);
        st->zs->next_out = st->zout;
        st->zs->avail_out = NGX_HTTP_MCPU_STREAM_ZOUT;

        zrc = inflate(st->zs, Z_NO_FLUSH);

        b->pos = st->zs->next_in;
        st->zpos = st->zout;
        st->zlast = st->zs->next_out;
        st->zmore = (st->zs->avail_out == 0);

        if (zrc == Z_STREAM_END) {
            st->zend = 1;
            st->zmore = 0;

        } else if (zrc == Z_BUF_ERROR) {
            st->zmore = 0;     /* no progress: it needs more input */

        } else if (zrc != Z_OK) {
            return NGX_HTTP_MCPU_STREAM_BAD_GZIP;
        }
    }
}


/* the lines of [*pos, last); a partial last line is kept for the next */
static ngx_int_t
ngx_http_mcpu_stream_feed(ngx_http_request_t *r, ngx_http_mcpu_stream_t *st,
    u_char **pos, u_char *last)
{
    u_char     *p, *nl;
    ngx_int_t   rc;

    for (p = *pos; p < last; *pos = p) {
        nl = ngx_strlchr(p, last, '\n');

        if (st->skipping) {
            if (nl == NULL) {
                *pos = last;
                return NGX_OK;
            }

            st->skipping = 0;
            p = nl + 1;
            continue;
        }

        if (nl == NULL) {
            rc = ngx_http_mcpu_stream_keep(r, st, p, last - p);
            *pos = last;
            return rc == NGX_DECLINED ? NGX_OK : rc;
        }

        if (st->line_len > 0) {
            /* the end of a line begun in an earlier buffer */
            rc = ngx_http_mcpu_stream_keep(r, st, p, nl - p);
            p = nl + 1;
            *pos = p;

            if (rc == NGX_DECLINED) {
                st->skipping = 0;       /* its end is here: nothing to skip */
                continue;
            }

            if (rc == NGX_OK) {
                rc = ngx_http_mcpu_stream_event(r, st, st->line,
                                                st->line_len);
            }

            if (rc == NGX_HTTP_MCPU_STREAM_FULL) {
                st->line_ready = 1;
                return rc;
            }

            st->line_len = 0;

            if (rc != NGX_OK) {
                return rc;
            }

            continue;
        }

        if ((size_t) (nl - p) > st->line_max) {
            rc = ngx_http_mcpu_stream_refuse(r, st, MCPU_EV_TOO_LARGE,
                                             "the line exceeds "
                                             "mcpu_max_body_size");

        } else {
            rc = ngx_http_mcpu_stream_event(r, st, p, nl - p);

            if (rc == NGX_HTTP_MCPU_STREAM_FULL) {
                /* kept aside: the buffer can go, the socket stays unread */
                if (ngx_http_mcpu_stream_keep(r, st, p, nl - p) != NGX_OK) {
                    return NGX_ERROR;
                }

                st->line_ready = 1;
                *pos = nl + 1;
                return rc;
            }
        }

        if (rc != NGX_OK) {
            return rc;
        }

        p = nl + 1;
    }

    return NGX_OK;
}


/*
 * Appends to the kept line, allocated once at the first need.  A line
 * longer than mcpu_max_body_size is refused and the rest of it skipped:
 * NGX_DECLINED.
 */
static ngx_int_t
ngx_http_mcpu_stream_keep(ngx_http_request_t *r, ngx_http_mcpu_stream_t *st,
    u_char *p, size_t len)
{
    ngx_int_t  rc;

    if (st->line_len + len > st->line_max) {
        st->line_len = 0;
        st->skipping = 1;

        rc = ngx_http_mcpu_stream_refuse(r, st, MCPU_EV_TOO_LARGE,
                                         "the line exceeds "
                                         "mcpu_max_body_size");
        return rc == NGX_OK ? NGX_DECLINED : rc;
    }

    if (st->line == NULL) {
        st->line = ngx_pnalloc(r->pool, st->line_max);
        if (st->line == NULL) {
            return NGX_ERROR;
        }
    }

    ngx_memcpy(st->line + st->line_len, p, len);
    st->line_len += len;

    return NGX_OK;
}


/* one line: a blank one is no event; otherwise validated and appended */
static ngx_int_t
ngx_http_mcpu_stream_event(ngx_http_request_t *r, ngx_http_mcpu_stream_t *st,
    u_char *p, size_t len)
{
    u_char                     *out, *last;
    size_t                      out_size, out_len;
    ngx_int_t                   rc;
    ngx_str_t                   key;
    mcpu_ev_rc_t                ev;
    mcpu_ev_result_t            res;
    ngx_http_mcpu_ctx_t        *ctx;
    ngx_http_mcpu_main_conf_t  *mmcf;

    for (last = p + len; p < last; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\r') {
            break;
        }
    }

    if (p == last) {
        return NGX_OK;
    }

    len = last - p;

    ctx = ngx_http_get_module_ctx(r, ngx_http_mcpu_module);
    mmcf = ngx_http_get_module_main_conf(r, ngx_http_mcpu_module);
    out = ngx_http_mcpu_record_buffer(&out_size);

    ev = mcpu_event_record((const char *) p, len, &ctx->meta, (char *) out,
                           out_size, &out_len, &res);

    if (ev == MCPU_EV_NO_MEMORY) {
        ngx_http_mcpu_count(mmcf, NGX_HTTP_MCPU_STAT_EVENT + ev, 1);
        return NGX_ERROR;
    }

    if (ev != MCPU_EV_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "mcpu: streamed event %ui refused, %s: %s",
                      st->tally.processed, mcpu_ev_code(ev), res.detail);

        return ngx_http_mcpu_tally_refuse(r, &st->tally, ev, &res);
    }

    if (!st->txn_open) {
        rc = ngx_http_mcpu_ring_begin(mmcf, &st->txn);
        if (rc != NGX_HTTP_MCPU_ACCEPTED) {
            return NGX_HTTP_MCPU_STREAM_NO_LANE;
        }

        st->txn_open = 1;
    }

    key.data = (u_char *) ctx->meta.client_id.data;
    key.len = ctx->meta.client_id.len;

    rc = ngx_http_mcpu_ring_append(mmcf, &st->txn, &key, out, out_len);

    switch (rc) {

    case NGX_HTTP_MCPU_ACCEPTED:
        st->tally.accepted++;
        st->tally.processed++;
        return NGX_OK;

    case NGX_HTTP_MCPU_TOO_BIG:
        return ngx_http_mcpu_stream_refuse(r, st, MCPU_EV_TOO_LARGE,
                                           "the record exceeds the ring's "
                                           "max_record");

    default:
        return NGX_HTTP_MCPU_STREAM_FULL;
    }
}


static ngx_int_t
ngx_http_mcpu_stream_refuse(ngx_http_request_t *r, ngx_http_mcpu_stream_t *st,
    mcpu_ev_rc_t ev, const char *detail)
{
    mcpu_ev_result_t  res;

    res.seq = -1;
    ngx_cpystrn((u_char *) res.detail, (u_char *) detail, sizeof(res.detail));

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "mcpu: streamed event %ui refused, %s: %s",
                  st->tally.processed, mcpu_ev_code(ev), detail);

    return ngx_http_mcpu_tally_refuse(r, &st->tally, ev, &res);
}


/*
 * Stop reading and look at the ring again soon: 1 ms, doubling to 100 ms,
 * for mcpu_stream_ring_wait in all.  NGX_DECLINED when that has passed.
 */
static ngx_int_t
ngx_http_mcpu_stream_pause(ngx_http_request_t *r, ngx_http_mcpu_stream_t *st)
{
    ngx_connection_t          *c;
    ngx_http_mcpu_loc_conf_t  *mlcf;

    c = r->connection;

    if (st->wait_until == 0) {
        mlcf = ngx_http_get_module_loc_conf(r, ngx_http_mcpu_module);

        st->wait_until = ngx_current_msec + mlcf->stream_ring_wait;
        st->wait_delay = NGX_HTTP_MCPU_STREAM_WAIT_MIN;

        /* a stream outrunning the batcher pauses often: one line says so */
        if (st->pauses++ == 0) {
            ngx_log_error(mlcf->ring_full_log_level, c->log, 0,
                          "mcpu: ring lane full, stream paused after %ui "
                          "events", st->tally.processed);
        }
    }

    if ((ngx_msec_int_t) (ngx_current_msec - st->wait_until) >= 0) {
        return NGX_DECLINED;
    }

    st->paused = 1;

    /* client_body_timeout is about the client: not while we hold it */
    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    ngx_add_timer(&st->wait, st->wait_delay);

    if (st->wait_delay < NGX_HTTP_MCPU_STREAM_WAIT_MAX) {
        st->wait_delay *= 2;
    }

    return NGX_OK;
}


static void
ngx_http_mcpu_stream_commit(ngx_http_request_t *r, ngx_http_mcpu_stream_t *st)
{
    ngx_http_mcpu_main_conf_t  *mmcf;

    if (!st->txn_open) {
        return;
    }

    mmcf = ngx_http_get_module_main_conf(r, ngx_http_mcpu_module);

    ngx_http_mcpu_ring_commit(mmcf, &st->txn);
    ngx_http_mcpu_count(mmcf, NGX_HTTP_MCPU_STAT_ACCEPTED, st->txn.records);
    st->txn_open = 0;
}


/* nginx could not read the body (rc): said in JSON, with the counts */
static ngx_int_t
ngx_http_mcpu_stream_refusal(ngx_http_request_t *r,
    ngx_http_mcpu_stream_t *st, ngx_int_t rc)
{
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "mcpu: stream of %ui events, %ui accepted, ended: %i",
                  st->tally.processed, st->tally.accepted, rc);

    if (rc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE) {
        return ngx_http_mcpu_tally_answer(r, rc, &st->tally, "body_too_large",
                                          "the stream exceeds "
                                          "client_max_body_size");
    }

    return ngx_http_mcpu_tally_answer(r, rc, &st->tally, "bad_body",
                                      "the body could not be read: its "
                                      "chunked encoding is broken");
}


static void
ngx_http_mcpu_stream_finish(ngx_http_request_t *r, ngx_http_mcpu_stream_t *st,
    ngx_uint_t status, const char *code, const char *detail)
{
    ngx_http_mcpu_stream_commit(r, st);

    if (st->wait.timer_set) {
        ngx_del_timer(&st->wait);
    }

    if (st->zs != NULL) {
        inflateEnd(st->zs);
        st->zs = NULL;
    }

    /* an answer before the body's end: nginx closes after it (lingering) */
    r->read_event_handler = ngx_http_block_reading;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "mcpu: stream of %ui events, %ui accepted, paused %ui "
                  "times%s%s", st->tally.processed, st->tally.accepted,
                  st->pauses, code ? ", ended: " : "", code ? code : "");

    ngx_http_finalize_request(r, ngx_http_mcpu_tally_answer(r, status,
                                                           &st->tally, code,
                                                           detail));
}
