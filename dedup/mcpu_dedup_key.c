/*
 * mcpu_dedup_key.c: the dedup key of a raw record (mcpu_dedup_key.h).
 * Read with the module's own fixed-layout peeks, not a JSON parser: the
 * batcher's records are mcpu_event.c's, field order and all.
 */

/* memmem: _GNU_SOURCE, from the Makefile */
#include <string.h>

#include "mcpu_event.h"
#include "mcpu_siphash.h"
#include "mcpu_dedup_key.h"


/* fixed: the keys are stored and compared across processes and hosts */
static const uint64_t  mcpu_dedup_h1[2] = { 0x6d6370752d646564ULL,
                                            0x75702d6b65792d31ULL };
static const uint64_t  mcpu_dedup_h2[2] = { 0x6d6370752d646564ULL,
                                            0x75702d6b65792d32ULL };

static const char  mcpu_dedup_event_field[] = ",\"event\":";


static unsigned char *
mcpu_dedup_put64(unsigned char *p, uint64_t v)
{
    int  i;

    for (i = 7; i >= 0; i--) {
        *p++ = (unsigned char) (v >> (i * 8));
    }

    return p;
}


static unsigned char *
mcpu_dedup_put_h128(unsigned char *p, const void *data, size_t len)
{
    p = mcpu_dedup_put64(p, mcpu_siphash(mcpu_dedup_h1, data, len));
    return mcpu_dedup_put64(p, mcpu_siphash(mcpu_dedup_h2, data, len));
}


static void
mcpu_dedup_key_raw(const void *kkey, size_t klen, const void *value,
    size_t vlen, mcpu_dedup_key_t *out)
{
    unsigned char  *p = out->bytes;

    *p++ = 0;
    *p++ = 'R';
    p = mcpu_dedup_put_h128(p, kkey, klen);
    p = mcpu_dedup_put_h128(p, value, vlen);

    out->len = (size_t) (p - out->bytes);
    out->kind = MCPU_DEDUP_KIND_RAW;
}


void
mcpu_dedup_key_of(const void *kkey, size_t klen, const void *value,
    size_t vlen, mcpu_dedup_key_t *out)
{
    size_t          schema_len, type_len;
    int64_t         time_ms, seq;
    const char     *v = value, *schema, *type, *event;
    unsigned char  *p;

    if (kkey == NULL || klen == 0 || klen > MCPU_DEDUP_CLIENT_MAX
        || memchr(kkey, 0, klen) != NULL || value == NULL
        || mcpu_record_peek_order(v, vlen, &time_ms, &seq) != 0
        || mcpu_record_peek(v, vlen, &schema, &schema_len, &type, &type_len)
           != 0
        || type_len == 0 || type_len > MCPU_DEDUP_TYPE_MAX)
    {
        mcpu_dedup_key_raw(kkey, klen, value, vlen, out);
        return;
    }

    p = out->bytes;
    memcpy(p, kkey, klen);
    p += klen;
    *p++ = 0;

    if (seq >= 0) {
        *p++ = 'S';
        p = mcpu_dedup_put64(p, (uint64_t) seq);
        out->len = (size_t) (p - out->bytes);
        out->kind = MCPU_DEDUP_KIND_SEQ;
        return;
    }

    /*
     * The event is the record's last field, so its bytes run from the
     * first structural ,"event": to the record's closing brace.  Every
     * field before it is a number or an escaped string, in which a quote
     * is always \", so the first match is the structural one.
     */
    event = memmem(v, vlen, mcpu_dedup_event_field,
                   sizeof(mcpu_dedup_event_field) - 1);

    if (event == NULL || v[vlen - 1] != '}') {
        mcpu_dedup_key_raw(kkey, klen, value, vlen, out);
        return;
    }

    event += sizeof(mcpu_dedup_event_field) - 1;

    *p++ = 'C';
    p = mcpu_dedup_put64(p, (uint64_t) time_ms);
    memcpy(p, type, type_len);
    p += type_len;
    *p++ = 0;
    p = mcpu_dedup_put_h128(p, event, (size_t) (v + vlen - 1 - event));

    out->len = (size_t) (p - out->bytes);
    out->kind = MCPU_DEDUP_KIND_CONTENT;
}


const char *
mcpu_dedup_kind_name(int kind)
{
    static const char  *names[MCPU_DEDUP_KINDS] = { "seq", "content", "raw" };

    return (kind >= 0 && kind < MCPU_DEDUP_KINDS) ? names[kind] : "raw";
}
