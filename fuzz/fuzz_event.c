/*
 * fuzz_event.c: libFuzzer target for mcpu_event_record(), the code that sees
 * every client byte (body and metadata headers) before it becomes a record.
 *
 * Input layout, so that the fuzzer varies the metadata and the buffer too:
 *
 *     byte 0        flags (FUZZ_*)
 *     FUZZ_HEADERS  five strings, each ended by 0x00: Client-Id,
 *                   Client-Version, Client-Os, Os-Version, Sent-At
 *     the rest      the body
 *
 * Without FUZZ_HEADERS the headers are fixed and valid, so most of the time
 * goes into the body.  A crash means a broken invariant, listed at
 * fuzz_check_ok() and fuzz_check_refused().
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mcpu_event.h"


#define FUZZ_HEADERS        0x01    /* the headers come from the input */
#define FUZZ_OUT_MASK       0x06    /* which output buffer, FUZZ_OUT_* */
#define FUZZ_WIDE           0x08    /* loose limits, see fuzz_wide */
#define FUZZ_ABSENT_SHIFT   4       /* bits 4..7: header i is absent */

#define FUZZ_OUT_AMPLE      0x00    /* always fits: TOO_LARGE is a bug */
#define FUZZ_OUT_EXACT      0x02    /* ample, then exactly the record size */
#define FUZZ_OUT_NONE       0x04    /* zero bytes */
#define FUZZ_OUT_SHORT      0x06    /* ends inside the metadata */

#define FUZZ_SHORT_SIZE     256
#define FUZZ_NHEADERS       5
#define FUZZ_RECEIVED_MS    1795467600000LL   /* 2026-11-23T21:00:00Z */

/* ngx_conf_set_sec_slot stops at 2^31 - 1 s (68 years) */
#define FUZZ_WIDE_MS        (2147483647LL * 1000)

/* what fuzz_check_ok() compares the record with */
typedef struct {
    const char      *body;
    size_t           len;
    mcpu_ev_meta_t  *meta;
} fuzz_input_t;


static void fuzz_check_ok(const fuzz_input_t *in, const char *out,
    size_t out_len, const mcpu_ev_result_t *res);
static void fuzz_check_refused(mcpu_ev_rc_t rc, const mcpu_ev_result_t *res);
static mcpu_ev_rc_t fuzz_record(const fuzz_input_t *in, size_t out_size,
    char **out, size_t *out_len, mcpu_ev_result_t *res);
static void fuzz_check_time(json_t *rec, const char *name, int64_t ms,
    int present);
static void fuzz_fail(const char *what);


/*
 * The time bounds as wide as mcpu_event_max_future/_max_age go, so that old
 * and far-future times reach the record; the structural limits (which nginx
 * leaves at their defaults) loose, so that deep and wide events do too.
 */
static const mcpu_ev_limits_t  fuzz_wide = {
    .max_future_ms = FUZZ_WIDE_MS,
    .max_age_ms = FUZZ_WIDE_MS,
    .max_depth = 64,
    .max_fields = 100000,
    .max_string = 1 << 20,
};


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;

    /* small, so that a few hundred bytes of event already spill to malloc */
    if (mcpu_event_init(16 * 1024) != 0) {
        fuzz_fail("cannot allocate the event arena");
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                i;
    char              *out, *again;
    size_t             out_size, out_len, again_len;
    int64_t            peek_time, peek_seq;
    uint8_t            flags;
    const char        *p, *end, *nul;
    fuzz_input_t       in;
    mcpu_ev_rc_t       rc;
    mcpu_ev_meta_t     meta;
    mcpu_ev_str_t     *h[FUZZ_NHEADERS];
    mcpu_ev_result_t   res;

    if (size == 0) {
        return 0;
    }

    /* records come back from Kafka too: any bytes, never out of bounds */
    (void) mcpu_record_peek_order((const char *) data, size, &peek_time,
                                  &peek_seq);

    /* zeroed: fields added to the struct later take their defaults */
    memset(&meta, 0, sizeof(meta));

    flags = data[0];
    p = (const char *) data + 1;
    end = (const char *) data + size;

    meta.node.data = "fuzz-node";
    meta.node.len = sizeof("fuzz-node") - 1;
    meta.received_ms = FUZZ_RECEIVED_MS;
    meta.limits = (flags & FUZZ_WIDE) ? &fuzz_wide : NULL;

    if (flags & FUZZ_HEADERS) {
        h[0] = &meta.client_id;
        h[1] = &meta.client_version;
        h[2] = &meta.client_os;
        h[3] = &meta.os_version;
        h[4] = &meta.sent_at;

        /* a header cut off by the end of the input is absent */
        for (i = 0; i < FUZZ_NHEADERS; i++) {
            nul = memchr(p, '\0', (size_t) (end - p));
            if (nul == NULL) {
                p = end;
                break;
            }

            /* Sent-At has no flag bit left: empty means absent */
            if ((i < 4 && !(flags & (1u << (FUZZ_ABSENT_SHIFT + i))))
                || (i == 4 && nul > p))
            {
                h[i]->data = p;
                h[i]->len = (size_t) (nul - p);
            }

            p = nul + 1;
        }

    } else {
        meta.client_id.data = "c-1";
        meta.client_id.len = 3;
        meta.client_version.data = "6.04";
        meta.client_version.len = 4;
        meta.client_os.data = "Windows";
        meta.client_os.len = 7;
        meta.os_version.data = "10.0.19045";
        meta.os_version.len = 10;
    }

    in.body = p;
    in.len = (size_t) (end - p);
    in.meta = &meta;

    /*
     * Reals grow most when dumped ("1e-7" is "9.9999999999999995e-08", 5.5
     * times), and the headers are at most 5 x 128 bytes, doubled by
     * escaping: 8 per body byte plus 4 KiB always holds the record.
     */
    switch (flags & FUZZ_OUT_MASK) {
    case FUZZ_OUT_NONE:
        out_size = 0;
        break;
    case FUZZ_OUT_SHORT:
        out_size = FUZZ_SHORT_SIZE;
        break;
    default:
        out_size = in.len * 8 + 4096;
        break;
    }

    rc = fuzz_record(&in, out_size, &out, &out_len, &res);

    if (rc != MCPU_EV_OK) {
        fuzz_check_refused(rc, &res);

        if (rc == MCPU_EV_TOO_LARGE
            && (flags & FUZZ_OUT_MASK) <= FUZZ_OUT_EXACT)
        {
            fuzz_fail("record_too_large with an ample buffer");
        }

        free(out);
        return 0;
    }

    if (out_len > out_size) {
        fuzz_fail("out_len > out_size");
    }

    /*
     * The size check must be exact: the same record fits in out_len bytes
     * and not in one less.  Done before the record is parsed below, since
     * every call resets the arena that parse allocates from.
     */
    if ((flags & FUZZ_OUT_MASK) == FUZZ_OUT_EXACT) {
        rc = fuzz_record(&in, out_len, &again, &again_len, &res);
        if (rc != MCPU_EV_OK || again_len != out_len
            || memcmp(again, out, out_len) != 0)
        {
            fuzz_fail("the record changed with a buffer of exactly its size");
        }

        free(again);

        if (out_len > 0) {
            rc = fuzz_record(&in, out_len - 1, &again, &again_len, &res);
            if (rc != MCPU_EV_TOO_LARGE) {
                fuzz_fail("a record one byte over the buffer was not refused");
            }

            fuzz_check_refused(rc, &res);
            free(again);
        }

        /* once more, for the res of an accepted call */
        rc = fuzz_record(&in, out_size, &again, &again_len, &res);
        if (rc != MCPU_EV_OK) {
            fuzz_fail("the same input was refused the second time");
        }

        free(again);
    }

    fuzz_check_ok(&in, out, out_len, &res);

    free(out);
    return 0;
}


/*
 * The output buffer is malloc'ed at exactly out_size (ASan's malloc(0) is a
 * real zero-byte block), so ASan reports a write one byte past it; and
 * res->detail is poisoned so that a missing NUL shows.
 */
static mcpu_ev_rc_t
fuzz_record(const fuzz_input_t *in, size_t out_size, char **out,
    size_t *out_len, mcpu_ev_result_t *res)
{
    *out = malloc(out_size);
    if (*out == NULL) {
        fuzz_fail("out of memory");
    }

    *out_len = 0;
    memset(res, 0xa5, sizeof(*res));

    return mcpu_event_record(in->body, in->len, in->meta, *out, out_size,
                             out_len, res);
}


/*
 * On success the record is one JSON object with no duplicate keys, of schema
 * 1, holding the body unchanged as "event", each time twice (text that reads
 * back as the milliseconds) and the metadata as sent.
 */
static void
fuzz_check_ok(const fuzz_input_t *in, const char *out, size_t out_len,
    const mcpu_ev_result_t *res)
{
    int            sent_at;
    json_t        *rec, *sent, *v;
    int64_t        peek_time, peek_seq;
    const char    *s;
    json_error_t   err;

    rec = json_loadb(out, out_len, JSON_REJECT_DUPLICATES, &err);
    if (rec == NULL) {
        fprintf(stderr, "record: %.*s\njansson: %s\n", (int) out_len, out,
                err.text);
        fuzz_fail("the record is not JSON");
    }

    sent = json_loadb(in->body, in->len, JSON_REJECT_DUPLICATES, &err);
    if (sent == NULL) {
        fuzz_fail("an accepted body does not parse");
    }

    v = json_object_get(rec, "schema");
    if (!json_is_integer(v) || json_integer_value(v) != MCPU_RECORD_SCHEMA) {
        fuzz_fail("\"schema\" is not 1");
    }

    if (!json_equal(json_object_get(rec, "event"), sent)) {
        fuzz_fail("\"event\" differs from the body");
    }

    s = json_string_value(json_object_get(rec, "type"));
    if (s == NULL || res->type == NULL || strcmp(s, res->type) != 0
        || !json_equal(json_object_get(sent, "type"),
                       json_object_get(rec, "type")))
    {
        fuzz_fail("\"type\" differs from the event's or res->type");
    }

    /* "seq" is copied from the event, null without one */
    v = json_object_get(sent, "seq");
    if (!json_equal(json_object_get(rec, "seq"), v ? v : json_null())) {
        fuzz_fail("\"seq\" differs from the event's");
    }

    /* the batcher and the last-seen table read these two without jansson */
    if (mcpu_record_peek_order(out, out_len, &peek_time, &peek_seq) != 0
        || peek_time != res->time_ms
        || peek_seq != (v ? json_integer_value(v) : -1))
    {
        fuzz_fail("mcpu_record_peek_order() misreads the record");
    }

    sent_at = in->meta->sent_at.data != NULL;

    fuzz_check_time(rec, "time", res->time_ms, 1);
    fuzz_check_time(rec, "receivedAt", in->meta->received_ms, 1);
    fuzz_check_time(rec, "sentAt", in->meta->received_ms - res->skew_ms,
                    sent_at);

    v = json_object_get(rec, "skewMs");
    if (sent_at ? !json_is_integer(v) || json_integer_value(v) != res->skew_ms
                : !json_is_null(v))
    {
        fuzz_fail("\"skewMs\" differs from res->skew_ms");
    }

    v = json_object_get(json_object_get(rec, "client"), "id");
    if (!json_is_string(v) || json_string_length(v) != in->meta->client_id.len
        || memcmp(json_string_value(v), in->meta->client_id.data,
                  in->meta->client_id.len) != 0)
    {
        fuzz_fail("\"client\".\"id\" differs from Client-Id");
    }

    json_decref(sent);
    json_decref(rec);
}


/* "<name>" must be RFC 3339 text of ms, and "<name>Ms" ms itself */
static void
fuzz_check_time(json_t *rec, const char *name, int64_t ms, int present)
{
    char         name_ms[32];
    int64_t      back;
    json_t      *text, *num;
    const char  *s;

    snprintf(name_ms, sizeof(name_ms), "%sMs", name);
    text = json_object_get(rec, name);
    num = json_object_get(rec, name_ms);

    if (!present) {
        if (!json_is_null(text) || !json_is_null(num)) {
            fprintf(stderr, "\"%s\" should be null\n", name);
            fuzz_fail("an absent time is not null");
        }

        return;
    }

    s = json_string_value(text);

    if (!json_is_integer(num) || json_integer_value(num) != ms || s == NULL
        || mcpu_event_parse_time(s, strlen(s), &back) != 0 || back != ms)
    {
        fprintf(stderr, "\"%s\":\"%s\" \"%s\":%lld, expected %lld\n", name,
                s ? s : "(none)", name_ms, (long long) json_integer_value(num),
                (long long) ms);
        fuzz_fail("a time in the record does not read back as its ms");
    }
}


/*
 * A refusal has a known code and a sentence: nginx copies res->detail into
 * the error body with ngx_strlen, so it must end inside the array.
 */
static void
fuzz_check_refused(mcpu_ev_rc_t rc, const mcpu_ev_result_t *res)
{
    const char  *code;

    code = mcpu_ev_code(rc);
    if (code == NULL || strcmp(code, "unknown") == 0) {
        fuzz_fail("a refusal without a code");
    }

    if (memchr(res->detail, '\0', MCPU_EV_MAX_DETAIL) == NULL) {
        fuzz_fail("res->detail is not NUL-terminated");
    }

    if (res->detail[0] == '\0') {
        fuzz_fail("a refusal without a detail");
    }
}


static void
fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_event: %s\n", what);
    abort();
}
