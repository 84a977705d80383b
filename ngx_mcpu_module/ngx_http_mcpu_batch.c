/*
 * ngx_http_mcpu_batch.c: a request carrying several events, as a JSON array
 * or as NDJSON (one event per line).  Each event is validated on its own;
 * the valid ones go into the ring in one transaction, all of them or, if
 * the ring cannot take them all, none (503), so a client can always resend
 * the request whole.  The answer counts the accepted events and names each
 * refused one by index (and seq when it had one) with its reason.
 */

#include "ngx_http_mcpu_module.h"


static ngx_int_t ngx_http_mcpu_next_item(u_char **pos, u_char *last,
    ngx_uint_t ndjson, ngx_str_t *item);
static u_char *ngx_http_mcpu_skip_ws(u_char *p, u_char *last);


ngx_int_t
ngx_http_mcpu_batch(ngx_http_request_t *r, ngx_http_mcpu_ctx_t *ctx,
    u_char *body, size_t len)
{
    u_char                     *pos, *last, *out;
    size_t                      out_size, out_len;
    ngx_int_t                   rc;
    ngx_str_t                   item, key;
    mcpu_ev_rc_t                ev;
    mcpu_ring_txn_t             txn;
    mcpu_ev_result_t            res;
    ngx_http_mcpu_tally_t       tally;
    ngx_http_mcpu_main_conf_t  *mmcf;

    mmcf = ngx_http_get_module_main_conf(r, ngx_http_mcpu_module);

    if (ngx_http_mcpu_tally_init(r, &tally, 0) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_mcpu_ring_begin(mmcf, &txn);
    if (rc != NGX_HTTP_MCPU_ACCEPTED) {
        return ngx_http_mcpu_ring_refusal(r, rc);
    }

    out = ngx_http_mcpu_record_buffer(&out_size);
    key.data = (u_char *) ctx->meta.client_id.data;
    key.len = ctx->meta.client_id.len;

    pos = body;
    last = body + len;

    if (!ctx->ndjson) {
        pos = ngx_http_mcpu_skip_ws(pos, last) + 1;     /* the '[' */
    }

    for ( ;; ) {

        rc = ngx_http_mcpu_next_item(&pos, last, ctx->ndjson, &item);

        if (rc == NGX_DONE) {
            break;
        }

        if (rc == NGX_ERROR) {
            /* the array itself is broken: nothing of it is taken */
            return ngx_http_mcpu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                            "bad_json", "the batch is not a "
                                            "well-formed JSON array");
        }

        ev = mcpu_event_record((const char *) item.data, item.len,
                               &ctx->meta, (char *) out, out_size, &out_len,
                               &res);

        if (ev == MCPU_EV_NO_MEMORY) {
            ngx_http_mcpu_count(mmcf, NGX_HTTP_MCPU_STAT_EVENT + ev, 1);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ev == MCPU_EV_OK) {
            rc = ngx_http_mcpu_ring_append(mmcf, &txn, &key, out, out_len);

            if (rc == NGX_HTTP_MCPU_ACCEPTED) {
                tally.accepted++;
                tally.processed++;
                continue;
            }

            if (rc != NGX_HTTP_MCPU_TOO_BIG) {
                /* the transaction is dropped: the ring keeps nothing */
                return ngx_http_mcpu_ring_refusal(r, rc);
            }

            ev = MCPU_EV_TOO_LARGE;
            ngx_cpystrn((u_char *) res.detail, (u_char *) "the record exceeds "
                        "the ring's max_record", sizeof(res.detail));
        }

        if (ngx_http_mcpu_tally_refuse(r, &tally, ev, &res) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (tally.processed == 0) {
        return ngx_http_mcpu_send_error(r, NGX_HTTP_BAD_REQUEST, "empty_batch",
                                        "the batch holds no event");
    }

    ngx_http_mcpu_ring_commit(mmcf, &txn);
    ngx_http_mcpu_count(mmcf, NGX_HTTP_MCPU_STAT_ACCEPTED, tally.accepted);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "mcpu: batch of %ui events, %ui accepted", tally.processed,
                  tally.accepted);

    return ngx_http_mcpu_tally_answer(r, tally.accepted
                                         ? NGX_HTTP_ACCEPTED
                                         : NGX_HTTP_BAD_REQUEST,
                                      &tally, NULL, NULL);
}


static u_char *
ngx_http_mcpu_skip_ws(u_char *p, u_char *last)
{
    while (p < last && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        p++;
    }

    return p;
}


/*
 * The next element: for NDJSON the next non-blank line; for an array the
 * bytes up to the next ',' or ']' outside strings and nested values, which
 * jansson then parses as one event.  NGX_DONE at the end, NGX_ERROR when
 * the array's own punctuation is wrong.
 */
static ngx_int_t
ngx_http_mcpu_next_item(u_char **pos, u_char *last, ngx_uint_t ndjson,
    ngx_str_t *item)
{
    u_char     *p, *start;
    ngx_int_t   depth;
    ngx_uint_t  in_string;

    p = *pos;

    if (ndjson) {
        p = ngx_http_mcpu_skip_ws(p, last);
        if (p == last) {
            return NGX_DONE;
        }

        start = p;
        while (p < last && *p != '\n') {
            p++;
        }

        item->data = start;
        item->len = p - start;
        *pos = p;

        return NGX_OK;
    }

    p = ngx_http_mcpu_skip_ws(p, last);

    if (p < last && *p == ']') {
        /* "[]" or the end after the last element */
        *pos = ngx_http_mcpu_skip_ws(p + 1, last);
        return *pos == last ? NGX_DONE : NGX_ERROR;
    }

    start = p;
    depth = 0;
    in_string = 0;

    for ( /* void */ ; p < last; p++) {

        if (in_string) {
            if (*p == '\\') {
                p++;

            } else if (*p == '"') {
                in_string = 0;
            }

            continue;
        }

        if (*p == '"') {
            in_string = 1;

        } else if (*p == '{' || *p == '[') {
            depth++;

        } else if (*p == '}' || *p == ']') {
            if (depth == 0) {
                break;          /* the array's own ']' */
            }
            depth--;

        } else if (*p == ',' && depth == 0) {
            break;
        }
    }

    if (p >= last || p == start) {
        return NGX_ERROR;
    }

    item->data = start;
    item->len = p - start;

    /* past a ',' that another element must follow; a ']' ends it */
    if (*p == ',') {
        p = ngx_http_mcpu_skip_ws(p + 1, last);
        if (p == last || *p == ']') {
            return NGX_ERROR;
        }
    }

    *pos = p;
    return NGX_OK;
}


ngx_int_t
ngx_http_mcpu_tally_init(ngx_http_request_t *r, ngx_http_mcpu_tally_t *t,
    ngx_uint_t stream)
{
    ngx_memzero(t, sizeof(ngx_http_mcpu_tally_t));

    t->stream = stream;
    t->refused = ngx_array_create(r->pool, 4,
                                  sizeof(ngx_http_mcpu_refusal_t));

    return t->refused ? NGX_OK : NGX_ERROR;
}


/*
 * Event t->processed was refused.  A stream has no length bound, so only
 * its first NGX_HTTP_MCPU_REFUSED_MAX refusals are named; all are counted.
 */
ngx_int_t
ngx_http_mcpu_tally_refuse(ngx_http_request_t *r, ngx_http_mcpu_tally_t *t,
    mcpu_ev_rc_t ev, mcpu_ev_result_t *res)
{
    ngx_http_mcpu_refusal_t  *f;

    /* each refused event of a batch or a stream, named or not */
    ngx_http_mcpu_count(ngx_http_get_module_main_conf(r, ngx_http_mcpu_module),
                        NGX_HTTP_MCPU_STAT_EVENT + ev, 1);

    t->refused_total++;

    if (t->stream && t->refused->nelts >= NGX_HTTP_MCPU_REFUSED_MAX) {
        t->processed++;
        return NGX_OK;
    }

    f = ngx_array_push(t->refused);
    if (f == NULL) {
        return NGX_ERROR;
    }

    f->index = t->processed++;
    f->seq = res->seq;
    f->code = mcpu_ev_code(ev);
    f->detail_len = ngx_strlen(res->detail);
    f->detail = ngx_pnalloc(r->pool, f->detail_len);
    if (f->detail == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(f->detail, res->detail, f->detail_len);

    return NGX_OK;
}


/*
 * A batch: {"accepted":N,"refused":[{"index":I,"seq":S,"error":"code",
 * "detail":"..."}]}.  A stream adds "processed" (the events read, so the
 * index to resend from) and "refusedTotal"; when it ended early, "error"
 * and "detail" come first.
 */
ngx_int_t
ngx_http_mcpu_tally_answer(ngx_http_request_t *r, ngx_uint_t status,
    ngx_http_mcpu_tally_t *t, const char *code, const char *detail)
{
    size_t                    size, len;
    ngx_buf_t                *b;
    ngx_uint_t                i;
    ngx_http_mcpu_refusal_t  *f;

    if (code != NULL) {
        ngx_http_mcpu_count_error(r, code);
    }

    f = t->refused->elts;
    len = detail ? ngx_strlen(detail) : 0;

    size = sizeof("{\"error\":\"\",\"detail\":\"\",\"accepted\":,"
                  "\"processed\":,\"refusedTotal\":,\"refused\":[]}\n")
           + 3 * NGX_INT_T_LEN + (code ? ngx_strlen(code) : 0)
           + len + ngx_escape_json(NULL, (u_char *) detail, len);

    for (i = 0; i < t->refused->nelts; i++) {
        size += sizeof("{\"index\":,\"seq\":,\"error\":\"\",\"detail\":\"\"},")
                + 2 * NGX_INT64_LEN + ngx_strlen(f[i].code)
                + f[i].detail_len
                + ngx_escape_json(NULL, f[i].detail, f[i].detail_len);
    }

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->last, "{", 1);

    if (code != NULL) {
        b->last = ngx_sprintf(b->last, "\"error\":\"%s\",\"detail\":\"", code);
        b->last = (u_char *) ngx_escape_json(b->last, (u_char *) detail, len);
        b->last = ngx_cpymem(b->last, "\",", 2);
    }

    b->last = ngx_sprintf(b->last, "\"accepted\":%ui,", t->accepted);

    if (t->stream) {
        b->last = ngx_sprintf(b->last, "\"processed\":%ui,\"refusedTotal\":%ui,",
                              t->processed, t->refused_total);
    }

    b->last = ngx_cpymem(b->last, "\"refused\":[", sizeof("\"refused\":[") - 1);

    for (i = 0; i < t->refused->nelts; i++) {
        b->last = ngx_sprintf(b->last, "%s{\"index\":%ui,\"seq\":",
                              i ? "," : "", f[i].index);

        if (f[i].seq >= 0) {
            b->last = ngx_sprintf(b->last, "%L", f[i].seq);

        } else {
            b->last = ngx_cpymem(b->last, "null", 4);
        }

        b->last = ngx_sprintf(b->last, ",\"error\":\"%s\",\"detail\":\"",
                              f[i].code);
        b->last = (u_char *) ngx_escape_json(b->last, f[i].detail,
                                             f[i].detail_len);
        b->last = ngx_cpymem(b->last, "\"}", 2);
    }

    b->last = ngx_cpymem(b->last, "]}\n", 3);

    return ngx_http_mcpu_send_json(r, status, b);
}
