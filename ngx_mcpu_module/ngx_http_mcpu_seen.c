/*
 * ngx_http_mcpu_seen.c: GET (and HEAD) on the ingest location, the
 * client's last event seen: the newest record Kafka acknowledged for it,
 * read from the table the batcher writes (layout and ordering:
 * mcpu_seen.h).  Each worker maps the table read-only on the first GET,
 * or later if the batcher has not created it yet, and copies entries into
 * one buffer of its own: a request costs a lookup and its answer buffer.
 */

#include "ngx_http_mcpu_module.h"

#include "mcpu_seen.h"


/* outcomes of ngx_http_mcpu_seen_open() */
#define NGX_HTTP_MCPU_SEEN_OPEN     0
#define NGX_HTTP_MCPU_SEEN_ABSENT   1   /* no table yet: 503 */
#define NGX_HTTP_MCPU_SEEN_FAILED   2   /* cannot be read: 500 */


static ngx_uint_t ngx_http_mcpu_seen_open(ngx_http_request_t *r,
    ngx_http_mcpu_main_conf_t *mmcf);
static void ngx_http_mcpu_seen_reopen(ngx_log_t *log);
static ngx_int_t ngx_http_mcpu_seen_answer(ngx_http_request_t *r,
    mcpu_seen_entry_t *e);
static ngx_int_t ngx_http_mcpu_seen_unavailable(ngx_http_request_t *r,
    const char *detail);
static ngx_uint_t ngx_http_mcpu_seen_valid_id(ngx_str_t *id);


/* this worker's read-only mapping and the buffer lookups copy into */
static mcpu_seen_t      ngx_http_mcpu_seen;
static ngx_flag_t       ngx_http_mcpu_seen_mapped;
static char            *ngx_http_mcpu_seen_buf;
static size_t           ngx_http_mcpu_seen_buf_size;

/* the table's full path, and the file that is mapped (a replaced file is
 * mapped again) */
static ngx_str_t        ngx_http_mcpu_seen_path;
static ngx_file_uniq_t  ngx_http_mcpu_seen_ino;
static dev_t            ngx_http_mcpu_seen_dev;

/* opening and checking the file: at most once a second, not per request */
static time_t           ngx_http_mcpu_seen_next;
static ngx_uint_t       ngx_http_mcpu_seen_state = NGX_HTTP_MCPU_SEEN_ABSENT;


ngx_int_t
ngx_http_mcpu_seen_handler(ngx_http_request_t *r)
{
    int                         rc;
    ngx_str_t                   id;
    ngx_int_t                   answer;
    mcpu_seen_entry_t           e;
    ngx_http_mcpu_ctx_t        *ctx;
    ngx_http_mcpu_main_conf_t  *mmcf;

    answer = ngx_http_discard_request_body(r);
    if (answer != NGX_OK) {
        return answer;
    }

    ctx = ngx_http_mcpu_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_mcpu_read_meta(r, ctx);

    if (ngx_http_mcpu_identify(r, ctx, &answer) != NGX_OK) {
        return answer;
    }

    id.data = (u_char *) ctx->meta.client_id.data;
    id.len = ctx->meta.client_id.len;

    /* the POST's rule: an id that cannot be a Kafka key has no entry */
    if (!ngx_http_mcpu_seen_valid_id(&id)) {
        return ngx_http_mcpu_refuse(r, NGX_HTTP_BAD_REQUEST,
                                    mcpu_ev_code(MCPU_EV_BAD_HEADER),
                                    "the Client-Id header must be 1 to 128 "
                                    "visible ASCII characters");
    }

    mmcf = ngx_http_get_module_main_conf(r, ngx_http_mcpu_module);

    switch (ngx_http_mcpu_seen_open(r, mmcf)) {

    case NGX_HTTP_MCPU_SEEN_OPEN:
        break;

    case NGX_HTTP_MCPU_SEEN_ABSENT:
        return ngx_http_mcpu_seen_unavailable(r, "the last-seen table does "
                                              "not exist yet, retry later");

    default: /* NGX_HTTP_MCPU_SEEN_FAILED, logged when it was opened */
        return ngx_http_mcpu_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                        "last_seen_error", "the last-seen "
                                        "table cannot be read");
    }

    rc = mcpu_seen_lookup(&ngx_http_mcpu_seen, (const char *) id.data, id.len,
                          &e, ngx_http_mcpu_seen_buf,
                          ngx_http_mcpu_seen_buf_size);

    switch (rc) {

    case MCPU_SEEN_OK:
        return ngx_http_mcpu_seen_answer(r, &e);

    case MCPU_SEEN_NOT_FOUND:
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "mcpu: no last event seen for \"%V\"", &id);

        if (ngx_http_mcpu_add_header(r, "Cache-Control",
                                     (u_char *) "no-store", 8)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_mcpu_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                        "Kafka has acknowledged no event of "
                                        "this client (or it was evicted): "
                                        "resend everything");

    case MCPU_SEEN_BUSY:
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "mcpu_last_seen: the slots of \"%V\" kept changing "
                      "during %d reads (or a writer died writing one), "
                      "answered 503", &id, MCPU_SEEN_READ_TRIES);

        return ngx_http_mcpu_seen_unavailable(r, "the entry is being "
                                              "updated, retry later");

    default:
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "mcpu_last_seen: lookup in \"%V\" returned %d "
                      "(buffer of %uz bytes)", &ngx_http_mcpu_seen_path, rc,
                      ngx_http_mcpu_seen_buf_size);

        return ngx_http_mcpu_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                        "last_seen_error", "the last-seen "
                                        "table cannot be read");
    }
}


/*
 * The table is mapped on the first GET; until the batcher has created it,
 * or while it cannot be read, a GET tries again at most once a second and
 * logs each try.  Once mapped, the path is checked as often: a file that
 * was replaced (another inode) is mapped again.
 */
static ngx_uint_t
ngx_http_mcpu_seen_open(ngx_http_request_t *r,
    ngx_http_mcpu_main_conf_t *mmcf)
{
    int              rc;
    char             err[512];
    time_t           now;
    ngx_uint_t       known;
    ngx_file_info_t  fi;

    now = ngx_time();

    if (now < ngx_http_mcpu_seen_next) {
        return ngx_http_mcpu_seen_state;
    }

    ngx_http_mcpu_seen_next = now + 1;

    if (ngx_http_mcpu_seen_path.data == NULL) {

        if (mmcf->seen_path.data == NULL) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "mcpu_last_seen: no table path (mcpu_ring is "
                          "not set)");
            ngx_http_mcpu_seen_state = NGX_HTTP_MCPU_SEEN_FAILED;
            return ngx_http_mcpu_seen_state;
        }

        /* relative to the prefix, as mcpu_ring's path; null-terminated */
        ngx_http_mcpu_seen_path = mmcf->seen_path;

        if (ngx_get_full_name(ngx_cycle->pool,
                              (ngx_str_t *) &ngx_cycle->prefix,
                              &ngx_http_mcpu_seen_path)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "mcpu_last_seen: cannot allocate the path of "
                          "\"%V\"", &mmcf->seen_path);
            ngx_str_null(&ngx_http_mcpu_seen_path);
            ngx_http_mcpu_seen_state = NGX_HTTP_MCPU_SEEN_FAILED;
            return ngx_http_mcpu_seen_state;
        }
    }

    known = (ngx_file_info(ngx_http_mcpu_seen_path.data, &fi)
             != NGX_FILE_ERROR);

    if (ngx_http_mcpu_seen_mapped) {

        if (known
            ? (ngx_file_uniq(&fi) == ngx_http_mcpu_seen_ino
               && fi.st_dev == ngx_http_mcpu_seen_dev)
            : ngx_errno != NGX_ENOENT)
        {
            return NGX_HTTP_MCPU_SEEN_OPEN;
        }

        ngx_http_mcpu_seen_reopen(r->connection->log);
    }

    rc = mcpu_seen_open_reader(&ngx_http_mcpu_seen,
                               (char *) ngx_http_mcpu_seen_path.data,
                               err, sizeof(err));

    if (rc == MCPU_SEEN_ABSENT) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "mcpu_last_seen: \"%V\" does not exist yet (the "
                      "batcher creates it); GET is answered 503",
                      &ngx_http_mcpu_seen_path);
        ngx_http_mcpu_seen_state = NGX_HTTP_MCPU_SEEN_ABSENT;
        return ngx_http_mcpu_seen_state;
    }

    if (rc != MCPU_SEEN_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "mcpu_last_seen: %s; GET is answered 500", err);
        ngx_http_mcpu_seen_state = NGX_HTTP_MCPU_SEEN_FAILED;
        return ngx_http_mcpu_seen_state;
    }

    if (ngx_http_mcpu_seen_buf_size < ngx_http_mcpu_seen.value_max) {
        if (ngx_http_mcpu_seen_buf != NULL) {
            ngx_free(ngx_http_mcpu_seen_buf);
            ngx_http_mcpu_seen_buf_size = 0;
        }

        ngx_http_mcpu_seen_buf = ngx_alloc(ngx_http_mcpu_seen.value_max,
                                           r->connection->log);
        if (ngx_http_mcpu_seen_buf == NULL) {
            mcpu_seen_close(&ngx_http_mcpu_seen);
            ngx_http_mcpu_seen_state = NGX_HTTP_MCPU_SEEN_FAILED;
            return ngx_http_mcpu_seen_state;
        }

        ngx_http_mcpu_seen_buf_size = ngx_http_mcpu_seen.value_max;
    }

    ngx_http_mcpu_seen_mapped = 1;
    ngx_http_mcpu_seen_ino = known ? ngx_file_uniq(&fi) : 0;
    ngx_http_mcpu_seen_dev = known ? fi.st_dev : 0;
    ngx_http_mcpu_seen_state = NGX_HTTP_MCPU_SEEN_OPEN;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "mcpu_last_seen: worker %P reads \"%V\" (%uD slots of "
                  "%uD value bytes)", ngx_pid, &ngx_http_mcpu_seen_path,
                  ngx_http_mcpu_seen.nslots, ngx_http_mcpu_seen.value_max);

    return ngx_http_mcpu_seen_state;
}


static void
ngx_http_mcpu_seen_reopen(ngx_log_t *log)
{
    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "mcpu_last_seen: \"%V\" was replaced or removed, mapping "
                  "it again", &ngx_http_mcpu_seen_path);

    mcpu_seen_close(&ngx_http_mcpu_seen);
    ngx_http_mcpu_seen_mapped = 0;
}


/* 200: the stored record as it went to Kafka, one line */
static ngx_int_t
ngx_http_mcpu_seen_answer(ngx_http_request_t *r, mcpu_seen_entry_t *e)
{
    ngx_buf_t  *b;

    b = ngx_create_temp_buf(r->pool, e->value_len + 1);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->last, e->value, e->value_len);

    if (b->last == b->pos || b->last[-1] != '\n') {
        *b->last++ = '\n';
    }

    if (ngx_http_mcpu_add_header(r, "Cache-Control", (u_char *) "no-store", 8)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_mcpu_count(ngx_http_get_module_main_conf(r, ngx_http_mcpu_module),
                        NGX_HTTP_MCPU_STAT_SEEN_FOUND, 1);

    return ngx_http_mcpu_send_json(r, NGX_HTTP_OK, b);
}


static ngx_int_t
ngx_http_mcpu_seen_unavailable(ngx_http_request_t *r, const char *detail)
{
    /* a batcher starting, a slot being written: a matter of a second */
    if (ngx_http_mcpu_add_header(r, "Retry-After", (u_char *) "1", 1)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_mcpu_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                    "last_seen_unavailable", detail);
}


/* 1 to MCPU_SEEN_MAX_KEY visible ASCII characters, as a POST's Client-Id */
static ngx_uint_t
ngx_http_mcpu_seen_valid_id(ngx_str_t *id)
{
    size_t  i;

    if (id->len == 0 || id->len > MCPU_SEEN_MAX_KEY) {
        return 0;
    }

    for (i = 0; i < id->len; i++) {
        if (id->data[i] < 0x21 || id->data[i] > 0x7e) {
            return 0;
        }
    }

    return 1;
}


void
ngx_http_mcpu_seen_exit_worker(ngx_cycle_t *cycle,
    ngx_http_mcpu_main_conf_t *mmcf)
{
    if (ngx_http_mcpu_seen_mapped) {
        mcpu_seen_close(&ngx_http_mcpu_seen);
        ngx_http_mcpu_seen_mapped = 0;
    }

    if (ngx_http_mcpu_seen_buf != NULL) {
        ngx_free(ngx_http_mcpu_seen_buf);
        ngx_http_mcpu_seen_buf = NULL;
        ngx_http_mcpu_seen_buf_size = 0;
    }
}
