/*
 * test_dedup_key.c: tests of dedup/mcpu_dedup_key.c (what makes two records
 * of the raw topic the same event).
 *
 * Records are built here the way mcpu_event.c writes them (README, "The
 * Kafka record"): header fields in their fixed order, metadata strings
 * escaped as mcpu_ev_put_str() does (a backslash before '"' and '\'), the
 * event's bytes last.  test_dedup_key_builder_writes_the_readme_record
 * checks the builder against the README's example byte for byte, so the
 * other tests stand on the documented layout.  No jansson: the tests link
 * mcpu_dedup_key.c alone.
 */

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcpu_dedup_key.h"
#include "mcpu_test.h"


#define REC_SIZE  4096


/* what mcpu_event_record() takes from the request, and the event's bytes */
typedef struct {
    const char  *type;
    int64_t      time_ms;
    int64_t      seq;            /* -1: null */
    int64_t      received_ms;
    int64_t      sent_ms;        /* -1: no Sent-At */
    const char  *node;           /* raw, escaped by the builder */
    const char  *client_id;      /* raw; also the Kafka key unless kkey */
    const char  *version;
    const char  *os;
    const char  *os_version;
    const char  *event;          /* JSON text, compact */
} rec_t;


typedef struct {
    char    buf[REC_SIZE];
    size_t  len;
    int     overflow;
} out_t;


/* the README's example record */
static const char  readme_record[] =
    "{\"schema\":1,\"type\":\"CpuMeasurement\","
    "\"time\":\"2026-11-23T22:00:00.250Z\",\"timeMs\":1795471200250,"
    "\"seq\":17,"
    "\"receivedAt\":\"2026-11-23T22:00:01.004Z\","
    "\"receivedAtMs\":1795471201004,"
    "\"sentAt\":\"2026-11-23T22:00:00.950Z\",\"sentAtMs\":1795471200950,"
    "\"skewMs\":54,"
    "\"node\":\"edge-eu-1\","
    "\"client\":{\"id\":\"6a:d6:96:d3:45:35\",\"version\":\"6.04\","
    "\"os\":\"Windows\",\"osVersion\":\"10.0.19045\"},"
    "\"event\":{\"type\":\"CpuMeasurement\","
    "\"time\":\"2026-11-23T22:00:00.250Z\",\"seq\":17,"
    "\"usage\":{\"0\":12.5,\"1\":81}}}";

#define CLIENT      "6a:d6:96:d3:45:35"
#define TIME_MS     1795471200250LL

#define EV_CPU_17                                                             \
    "{\"type\":\"CpuMeasurement\",\"time\":\"2026-11-23T22:00:00.250Z\","    \
    "\"seq\":17,\"usage\":{\"0\":12.5,\"1\":81}}"

#define EV_CPU_NOSEQ                                                          \
    "{\"type\":\"CpuMeasurement\",\"time\":\"2026-11-23T22:00:00.250Z\","    \
    "\"usage\":{\"0\":12.5,\"1\":81}}"

#define EV_TRANSFER(id)                                                       \
    "{\"type\":\"TransferStarted\",\"time\":\"2026-11-23T22:00:00.250Z\","   \
    "\"transferId\":\"" id "\",\"bytes\":1048576}"


static rec_t
rec_default(void)
{
    rec_t  r;

    r.type = "CpuMeasurement";
    r.time_ms = TIME_MS;
    r.seq = 17;
    r.received_ms = 1795471201004LL;
    r.sent_ms = 1795471200950LL;
    r.node = "edge-eu-1";
    r.client_id = CLIENT;
    r.version = "6.04";
    r.os = "Windows";
    r.os_version = "10.0.19045";
    r.event = EV_CPU_17;

    return r;
}


static void
put(out_t *o, const char *s, size_t n)
{
    if (o->overflow || n > sizeof(o->buf) - o->len) {
        o->overflow = 1;
        return;
    }

    memcpy(o->buf + o->len, s, n);
    o->len += n;
}


static void
put_lit(out_t *o, const char *s)
{
    put(o, s, strlen(s));
}


static void
put_int(out_t *o, int64_t v)
{
    char  tmp[24];

    put(o, tmp, (size_t) snprintf(tmp, sizeof(tmp), "%" PRId64, v));
}


/* "YYYY-MM-DDTHH:MM:SS.mmmZ", quoted */
static void
put_time(out_t *o, int64_t ms)
{
    char       tmp[40];
    time_t     t = (time_t) (ms / 1000);
    struct tm  tm;

    gmtime_r(&t, &tm);
    put(o, tmp, (size_t) snprintf(tmp, sizeof(tmp),
                                  "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"",
                                  tm.tm_year + 1900, tm.tm_mon + 1,
                                  tm.tm_mday, tm.tm_hour, tm.tm_min,
                                  tm.tm_sec, (int) (ms % 1000)));
}


/* as mcpu_ev_put_str(): a backslash before '"' and '\' */
static void
put_str(out_t *o, const char *s)
{
    if (s == NULL) {
        put_lit(o, "null");
        return;
    }

    put_lit(o, "\"");

    for ( /* void */ ; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\') {
            put_lit(o, "\\");
        }
        put(o, s, 1);
    }

    put_lit(o, "\"");
}


/* the record mcpu_event_record() writes for r */
static int
build(const rec_t *r, out_t *o)
{
    o->len = 0;
    o->overflow = 0;

    put_lit(o, "{\"schema\":1,\"type\":\"");
    put_lit(o, r->type);
    put_lit(o, "\",\"time\":");
    put_time(o, r->time_ms);
    put_lit(o, ",\"timeMs\":");
    put_int(o, r->time_ms);
    put_lit(o, ",\"seq\":");
    if (r->seq >= 0) {
        put_int(o, r->seq);
    } else {
        put_lit(o, "null");
    }
    put_lit(o, ",\"receivedAt\":");
    put_time(o, r->received_ms);
    put_lit(o, ",\"receivedAtMs\":");
    put_int(o, r->received_ms);
    put_lit(o, ",\"sentAt\":");
    if (r->sent_ms >= 0) {
        put_time(o, r->sent_ms);
        put_lit(o, ",\"sentAtMs\":");
        put_int(o, r->sent_ms);
        put_lit(o, ",\"skewMs\":");
        put_int(o, r->received_ms - r->sent_ms);
    } else {
        put_lit(o, "null,\"sentAtMs\":null,\"skewMs\":null");
    }
    put_lit(o, ",\"node\":");
    put_str(o, r->node);
    put_lit(o, ",\"client\":{\"id\":");
    put_str(o, r->client_id);
    put_lit(o, ",\"version\":");
    put_str(o, r->version);
    put_lit(o, ",\"os\":");
    put_str(o, r->os);
    put_lit(o, ",\"osVersion\":");
    put_str(o, r->os_version);
    put_lit(o, "},\"event\":");
    put_lit(o, r->event);
    put_lit(o, "}");

    if (o->overflow) {
        return FAIL_MSG("the test's record does not fit in %d bytes",
                        REC_SIZE);
    }

    return 1;
}


/* the key of exactly these bytes (copied to the heap, exactly sized) */
static void
key_of_bytes(const void *kkey, size_t klen, const void *value, size_t vlen,
    mcpu_dedup_key_t *k)
{
    void  *kc = NULL, *vc = NULL;

    if (kkey != NULL) {
        kc = malloc(klen ? klen : 1);
        if (kc == NULL) {
            FAIL_MSG("out of memory");
            return;
        }
        memcpy(kc, kkey, klen);
    }

    if (value != NULL) {
        vc = malloc(vlen ? vlen : 1);
        if (vc == NULL) {
            free(kc);
            FAIL_MSG("out of memory");
            return;
        }
        memcpy(vc, value, vlen);
    }

    memset(k, 0xa5, sizeof(*k));
    mcpu_dedup_key_of(kc, klen, vc, vlen, k);

    free(kc);
    free(vc);
}


/* the key of r's record, under the Kafka key r->client_id */
static int
key_of_rec(const rec_t *r, mcpu_dedup_key_t *k)
{
    out_t  o;

    if (!build(r, &o)) {
        return 0;
    }

    key_of_bytes(r->client_id, strlen(r->client_id), o.buf, o.len, k);
    return 1;
}


static int
same_key(const mcpu_dedup_key_t *a, const mcpu_dedup_key_t *b)
{
    return a->len == b->len && a->len <= MCPU_DEDUP_KEY_MAX
           && memcmp(a->bytes, b->bytes, a->len) == 0;
}


static int
check_keys(const mcpu_dedup_key_t *a, const mcpu_dedup_key_t *b, int equal,
    const char *file, int line, const char *ea, const char *eb)
{
    if (same_key(a, b) == equal) {
        return 1;
    }

    return mcpu_test_fail(file, line, "%s %s %s failed: %s key of %zu bytes "
                          "vs %s key of %zu bytes", ea,
                          equal ? "==" : "!=", eb,
                          mcpu_dedup_kind_name(a->kind), a->len,
                          mcpu_dedup_kind_name(b->kind), b->len);
}


#define CHECK_SAME_KEY(a, b)                                                  \
    check_keys(&(a), &(b), 1, __FILE__, __LINE__, #a, #b)

#define CHECK_OTHER_KEY(a, b)                                                 \
    check_keys(&(a), &(b), 0, __FILE__, __LINE__, #a, #b)


static uint64_t
get64(const unsigned char *p)
{
    int       i;
    uint64_t  v = 0;

    for (i = 0; i < 8; i++) {
        v = v << 8 | p[i];
    }

    return v;
}


/* client 0x00 'C' timeMs(8, big endian) type 0x00 h128 */
static void
check_content_layout(const mcpu_dedup_key_t *k, const char *client,
    int64_t time_ms, const char *type)
{
    size_t  cl = strlen(client), tl = strlen(type);

    if (!CHECK_EQ_INT(k->kind, MCPU_DEDUP_KIND_CONTENT)
        || !CHECK_EQ_U64(k->len, cl + 2 + 8 + tl + 1 + 16))
    {
        return;
    }

    CHECK_MEM_EQ(k->bytes, client, cl);
    CHECK_EQ_INT(k->bytes[cl], 0);
    CHECK_EQ_INT(k->bytes[cl + 1], 'C');
    CHECK_EQ_U64(get64(k->bytes + cl + 2), (uint64_t) time_ms);
    CHECK_MEM_EQ(k->bytes + cl + 10, type, tl);
    CHECK_EQ_INT(k->bytes[cl + 10 + tl], 0);
}


/* client 0x00 'S' seq(8, big endian) */
static void
check_seq_layout(const mcpu_dedup_key_t *k, const char *client, int64_t seq)
{
    size_t  cl = strlen(client);

    if (!CHECK_EQ_INT(k->kind, MCPU_DEDUP_KIND_SEQ)
        || !CHECK_EQ_U64(k->len, cl + 2 + 8))
    {
        return;
    }

    CHECK_MEM_EQ(k->bytes, client, cl);
    CHECK_EQ_INT(k->bytes[cl], 0);
    CHECK_EQ_INT(k->bytes[cl + 1], 'S');
    CHECK_EQ_U64(get64(k->bytes + cl + 2), (uint64_t) seq);
}


/* 0x00 'R' h128(key) h128(value) */
static int
check_raw(const mcpu_dedup_key_t *k, const char *what)
{
    if (k->kind != MCPU_DEDUP_KIND_RAW || k->len != 2 + 16 + 16
        || k->bytes[0] != 0 || k->bytes[1] != 'R')
    {
        return FAIL_MSG("%s: not a raw key: kind %s, %zu bytes, starts "
                        "0x%02x", what, mcpu_dedup_kind_name(k->kind), k->len,
                        k->bytes[0]);
    }

    return 1;
}


/* ---- tests ---- */

static void
test_dedup_key_builder_writes_the_readme_record(const char *dir)
{
    rec_t             r = rec_default();
    out_t             o;
    mcpu_dedup_key_t  a, b;

    (void) dir;

    if (!build(&r, &o)) {
        return;
    }

    if (!CHECK_EQ_U64(o.len, sizeof(readme_record) - 1)
        || !CHECK_MEM_EQ(o.buf, readme_record, o.len))
    {
        printf("# built:  %.*s\n# README: %s\n", (int) o.len, o.buf,
               readme_record);
    }

    key_of_bytes(CLIENT, strlen(CLIENT), readme_record,
                 sizeof(readme_record) - 1, &a);
    check_seq_layout(&a, CLIENT, 17);

    if (key_of_rec(&r, &b)) {
        CHECK_SAME_KEY(a, b);
    }
}


static void
test_dedup_key_retry_through_another_host_has_the_same_seq_key(
    const char *dir)
{
    rec_t             r = rec_default();
    mcpu_dedup_key_t  first, retry, no_sent_at;

    (void) dir;

    if (!key_of_rec(&r, &first)) {
        return;
    }

    check_seq_layout(&first, CLIENT, 17);

    /* the client retried later, through another host, with a new Sent-At */
    r.received_ms += 4000;
    r.sent_ms += 3990;
    r.node = "edge-us-2";

    if (key_of_rec(&r, &retry)) {
        CHECK_EQ_INT(retry.kind, MCPU_DEDUP_KIND_SEQ);
        CHECK_SAME_KEY(first, retry);
    }

    /* and once without Sent-At, and with other client metadata headers */
    r.sent_ms = -1;
    r.version = "6.05";
    r.os = NULL;

    if (key_of_rec(&r, &no_sent_at)) {
        CHECK_SAME_KEY(first, no_sent_at);
    }
}


static void
test_dedup_key_byte_identical_resend_has_the_same_key(const char *dir)
{
    int               i;
    rec_t             r = rec_default();
    out_t             o;
    mcpu_dedup_key_t  a, b;

    (void) dir;

    /* seq, content, and a value that is not a record */
    for (i = 0; i < 3; i++) {
        if (i == 1) {
            r.seq = -1;
            r.event = EV_CPU_NOSEQ;
        }

        if (!build(&r, &o)) {
            return;
        }

        if (i == 2) {
            o.len = 10;     /* {"schema": */
        }

        key_of_bytes(CLIENT, strlen(CLIENT), o.buf, o.len, &a);
        key_of_bytes(CLIENT, strlen(CLIENT), o.buf, o.len, &b);

        CHECK_EQ_INT(a.kind, i);
        CHECK_SAME_KEY(a, b);
    }
}


static void
test_dedup_key_no_seq_resent_event_has_the_same_content_key(
    const char *dir)
{
    rec_t             r = rec_default();
    mcpu_dedup_key_t  first, retry;

    (void) dir;

    r.seq = -1;
    r.event = EV_CPU_NOSEQ;

    if (!key_of_rec(&r, &first)) {
        return;
    }

    check_content_layout(&first, CLIENT, TIME_MS, "CpuMeasurement");

    r.received_ms += 60000;
    r.sent_ms = -1;
    r.node = "edge-ap-3";
    r.os_version = "10.0.22631";

    if (key_of_rec(&r, &retry)) {
        CHECK_EQ_INT(retry.kind, MCPU_DEDUP_KIND_CONTENT);
        CHECK_SAME_KEY(first, retry);
    }
}


static void
test_dedup_key_no_seq_same_time_and_type_other_content_differs(
    const char *dir)
{
    unsigned          i;
    rec_t             r = rec_default();
    mcpu_dedup_key_t  base, other;

    static const char  *others[] = {
        /* another measurement within the same millisecond */
        "{\"type\":\"CpuMeasurement\",\"time\":\"2026-11-23T22:00:00.250Z\","
        "\"usage\":{\"0\":12.5,\"1\":82}}",
        "{\"type\":\"CpuMeasurement\",\"time\":\"2026-11-23T22:00:00.250Z\","
        "\"usage\":{\"0\":12.5}}",
        /* re-serialised: kept as a duplicate, never dropped as one */
        "{\"type\":\"CpuMeasurement\",\"time\":\"2026-11-23T22:00:00.250Z\","
        "\"usage\":{\"0\":12.5,\"1\":81.0}}",
        "{\"time\":\"2026-11-23T22:00:00.250Z\",\"type\":\"CpuMeasurement\","
        "\"usage\":{\"0\":12.5,\"1\":81}}",
    };

    (void) dir;

    r.seq = -1;
    r.event = EV_CPU_NOSEQ;

    if (!key_of_rec(&r, &base)) {
        return;
    }

    for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        r.event = others[i];

        if (key_of_rec(&r, &other)) {
            check_content_layout(&other, CLIENT, TIME_MS, "CpuMeasurement");
            if (!CHECK_OTHER_KEY(base, other)) {
                FAIL_MSG("event %u: %s", i, others[i]);
            }
        }
    }

    /* two transfers started at once, told apart by transferId */
    r.type = "TransferStarted";
    r.event = EV_TRANSFER("t-1");

    if (!key_of_rec(&r, &base)) {
        return;
    }

    check_content_layout(&base, CLIENT, TIME_MS, "TransferStarted");

    r.event = EV_TRANSFER("t-2");

    if (key_of_rec(&r, &other)) {
        check_content_layout(&other, CLIENT, TIME_MS, "TransferStarted");
        CHECK_OTHER_KEY(base, other);
    }
}


static void
test_dedup_key_other_client_or_other_seq_differs(const char *dir)
{
    rec_t             r = rec_default();
    mcpu_dedup_key_t  a, b;

    (void) dir;

    if (!key_of_rec(&r, &a)) {
        return;
    }

    r.client_id = "6a:d6:96:d3:45:36";
    if (key_of_rec(&r, &b)) {
        check_seq_layout(&b, r.client_id, 17);
        CHECK_OTHER_KEY(a, b);
    }

    /* one client id a prefix of the other */
    r.client_id = "6a:d6:96:d3:45:3";
    if (key_of_rec(&r, &b)) {
        CHECK_OTHER_KEY(a, b);
    }

    r.client_id = CLIENT;
    r.seq = 1;
    r.event = "{\"type\":\"CpuMeasurement\","
              "\"time\":\"2026-11-23T22:00:00.250Z\",\"seq\":1,"
              "\"usage\":{\"0\":12.5,\"1\":81}}";

    if (!key_of_rec(&r, &a)) {
        return;
    }

    check_seq_layout(&a, CLIENT, 1);

    r.seq = 2;
    r.event = "{\"type\":\"CpuMeasurement\","
              "\"time\":\"2026-11-23T22:00:00.250Z\",\"seq\":2,"
              "\"usage\":{\"0\":12.5,\"1\":81}}";

    if (key_of_rec(&r, &b)) {
        check_seq_layout(&b, CLIENT, 2);
        CHECK_OTHER_KEY(a, b);
    }

    /* seq 0 is a seq, not "none" */
    r.seq = 0;
    if (key_of_rec(&r, &b)) {
        check_seq_layout(&b, CLIENT, 0);
    }

    /* the same content without seq is another kind of key */
    r.seq = -1;
    r.event = EV_CPU_NOSEQ;
    if (key_of_rec(&r, &b)) {
        CHECK_EQ_INT(b.kind, MCPU_DEDUP_KIND_CONTENT);
        CHECK_OTHER_KEY(a, b);
    }
}


static void
test_dedup_key_seq_key_does_not_depend_on_the_event(const char *dir)
{
    rec_t             r = rec_default();
    mcpu_dedup_key_t  a, b;

    (void) dir;

    if (!key_of_rec(&r, &a)) {
        return;
    }

    /* documented: seq identifies the event; its content is not looked at */
    r.event = "{\"type\":\"CpuMeasurement\","
              "\"time\":\"2026-11-23T22:00:00.250Z\",\"seq\":17,"
              "\"usage\":{\"0\":99,\"1\":1,\"2\":50}}";

    if (key_of_rec(&r, &b)) {
        CHECK_SAME_KEY(a, b);
    }

    /* nor on the time or the type */
    r.type = "MemoryMeasurement";
    r.time_ms += 1000;
    r.event = "{\"type\":\"MemoryMeasurement\","
              "\"time\":\"2026-11-23T22:00:01.250Z\",\"seq\":17,"
              "\"usedBytes\":1}";

    if (key_of_rec(&r, &b)) {
        CHECK_SAME_KEY(a, b);
    }
}


static void
test_dedup_key_value_that_is_not_a_record_gets_a_raw_key(const char *dir)
{
    char              big_key[MCPU_DEDUP_CLIENT_MAX + 2];
    char              long_type[MCPU_DEDUP_TYPE_MAX + 2];
    unsigned          i;
    rec_t             r = rec_default();
    out_t             o, nos;
    mcpu_dedup_key_t  k, k2;

    static const char  nul_key[] = "6a:d6\0:96";
    static const char  garbage[] = "\x00\x01\xff garbage {\"schema\":1";

    static const struct {
        const char  *value;
        const char  *what;
    } not_records[] = {
        { "", "empty" },
        { "null", "JSON null" },
        { "{}", "empty object" },
        { "{\"schema\":1}", "schema only" },
        { "{\"schema\":x,\"type\":\"A\"}", "schema not a number" },
        { "{\"schema\":1,\"type\":\"\",\"time\":\"t\",\"timeMs\":1,"
          "\"seq\":1,\"event\":{}}", "empty type" },
        { "{\"schema\":1,\"type\":\"A\",\"timeMs\":1,\"seq\":1}",
          "no time" },
        { "{\"schema\":1,\"type\":\"A\",\"time\":\"t\",\"timeMs\":-1,"
          "\"seq\":1}", "negative timeMs" },
        { "{\"schema\":1,\"type\":\"A\",\"time\":\"t\",\"timeMs\":1,"
          "\"seq\":\"1\"}", "seq a string" },
        { "{\"schema\":1,\"type\":\"A\",\"time\":\"t\",\"timeMs\":1,"
          "\"seq\":1234567890123456789}", "seq of 19 digits" },
        { " {\"schema\":1,\"type\":\"A\",\"time\":\"t\",\"timeMs\":1,"
          "\"seq\":1}", "leading space" },
        /* seq null and no event field: nothing to hash */
        { "{\"schema\":1,\"type\":\"A\",\"time\":\"t\",\"timeMs\":1,"
          "\"seq\":null}", "no event" },
        { "{\"schema\":1,\"type\":\"A\",\"time\":\"t\",\"timeMs\":1,"
          "\"seq\":null,\"event\":{\"a\":1", "cut inside the event" },
        { "{\"schema\":1,\"type\":\"A\",\"time\":\"t\",\"timeMs\":1,"
          "\"seq\":null,\"event\":{} ", "trailing space" },
    };

    (void) dir;

    for (i = 0; i < sizeof(not_records) / sizeof(not_records[0]); i++) {
        key_of_bytes(CLIENT, strlen(CLIENT), not_records[i].value,
                     strlen(not_records[i].value), &k);
        check_raw(&k, not_records[i].what);
    }

    key_of_bytes(CLIENT, strlen(CLIENT), garbage, sizeof(garbage) - 1, &k);
    check_raw(&k, "garbage");

    /* a tombstone: no value at all */
    key_of_bytes(CLIENT, strlen(CLIENT), NULL, 0, &k);
    check_raw(&k, "NULL value");

    key_of_bytes(CLIENT, strlen(CLIENT), "", 0, &k2);
    check_raw(&k2, "empty value");
    CHECK_SAME_KEY(k, k2);

    if (!build(&r, &o)) {
        return;
    }

    /* a good record under a bad Kafka key */
    key_of_bytes(NULL, 0, o.buf, o.len, &k);
    check_raw(&k, "no Kafka key");

    key_of_bytes("", 0, o.buf, o.len, &k2);
    check_raw(&k2, "empty Kafka key");
    CHECK_SAME_KEY(k, k2);

    key_of_bytes(nul_key, sizeof(nul_key) - 1, o.buf, o.len, &k);
    check_raw(&k, "Kafka key with a NUL");

    memset(big_key, 'k', sizeof(big_key));
    key_of_bytes(big_key, MCPU_DEDUP_CLIENT_MAX + 1, o.buf, o.len, &k);
    check_raw(&k, "Kafka key of 129 bytes");

    key_of_bytes(big_key, MCPU_DEDUP_CLIENT_MAX, o.buf, o.len, &k);
    CHECK_EQ_INT(k.kind, MCPU_DEDUP_KIND_SEQ);

    /* a type longer than the schema allows */
    memset(long_type, 'T', MCPU_DEDUP_TYPE_MAX + 1);
    long_type[MCPU_DEDUP_TYPE_MAX + 1] = '\0';
    r.type = long_type;
    r.seq = -1;
    r.event = "{}";

    if (build(&r, &nos)) {
        key_of_bytes(CLIENT, strlen(CLIENT), nos.buf, nos.len, &k);
        check_raw(&k, "type of 65 bytes");
    }
}


static void
test_dedup_key_raw_keys_are_equal_only_for_identical_bytes(const char *dir)
{
    size_t            i;
    rec_t             r = rec_default();
    out_t             o;
    mcpu_dedup_key_t  a, b;

    static const char  v[] = "not a record, but Kafka's all the same";

    (void) dir;

    key_of_bytes(CLIENT, strlen(CLIENT), v, sizeof(v) - 1, &a);
    key_of_bytes(CLIENT, strlen(CLIENT), v, sizeof(v) - 1, &b);
    check_raw(&a, "garbage");
    CHECK_SAME_KEY(a, b);

    /* the value one byte shorter, or any one byte changed */
    key_of_bytes(CLIENT, strlen(CLIENT), v, sizeof(v) - 2, &b);
    CHECK_OTHER_KEY(a, b);

    for (i = 0; i < sizeof(v) - 1; i++) {
        char  w[sizeof(v)];

        memcpy(w, v, sizeof(v));
        w[i] ^= 0x20;
        key_of_bytes(CLIENT, strlen(CLIENT), w, sizeof(v) - 1, &b);

        if (!CHECK_OTHER_KEY(a, b)) {
            FAIL_MSG("byte %zu changed, same key", i);
        }
    }

    /* another Kafka key, none, or the boundary between key and value moved */
    key_of_bytes("6a:d6:96:d3:45:36", 17, v, sizeof(v) - 1, &b);
    CHECK_OTHER_KEY(a, b);

    key_of_bytes(NULL, 0, v, sizeof(v) - 1, &b);
    CHECK_OTHER_KEY(a, b);

    key_of_bytes("ab", 2, "c", 1, &a);
    key_of_bytes("a", 1, "bc", 2, &b);
    check_raw(&a, "ab/c");
    check_raw(&b, "a/bc");
    CHECK_OTHER_KEY(a, b);

    /* a raw key never equals a record's: a client id is never empty */
    if (build(&r, &o)) {
        key_of_bytes(CLIENT, strlen(CLIENT), o.buf, o.len, &a);
        key_of_bytes(NULL, 0, o.buf, o.len, &b);
        CHECK_EQ_INT(a.kind, MCPU_DEDUP_KIND_SEQ);
        check_raw(&b, "no Kafka key");
        CHECK_OTHER_KEY(a, b);
        CHECK(a.bytes[0] != 0);
    }
}


static void
test_dedup_key_truncated_record_is_never_the_whole_one(const char *dir)
{
    size_t             n, seq_end, event_end;
    rec_t              r = rec_default();
    out_t              o;
    const char        *s;
    mcpu_dedup_key_t   whole, k;

    (void) dir;

    /* with seq: raw until the seq and its delimiter are there */
    if (!build(&r, &o)) {
        return;
    }

    key_of_bytes(CLIENT, strlen(CLIENT), o.buf, o.len, &whole);

    s = memmem(o.buf, o.len, "\"seq\":17,", 9);
    if (!CHECK(s != NULL)) {
        return;
    }

    seq_end = (size_t) (s - o.buf) + 9;

    for (n = 0; n < seq_end; n++) {
        key_of_bytes(CLIENT, strlen(CLIENT), o.buf, n, &k);
        if (!check_raw(&k, "record with seq, truncated")) {
            FAIL_MSG("cut after %zu of %zu bytes: %.*s", n, o.len, (int) n,
                     o.buf);
            break;
        }
    }

    /* without seq: no prefix has the whole record's key, and none before
     * the event field is complete is read as a record */
    r.seq = -1;
    r.event = EV_CPU_NOSEQ;

    if (!build(&r, &o)) {
        return;
    }

    key_of_bytes(CLIENT, strlen(CLIENT), o.buf, o.len, &whole);
    CHECK_EQ_INT(whole.kind, MCPU_DEDUP_KIND_CONTENT);

    s = memmem(o.buf, o.len, ",\"event\":", 9);
    if (!CHECK(s != NULL)) {
        return;
    }

    event_end = (size_t) (s - o.buf) + 9;

    for (n = 0; n < o.len; n++) {
        key_of_bytes(CLIENT, strlen(CLIENT), o.buf, n, &k);

        if (same_key(&k, &whole)) {
            FAIL_MSG("cut after %zu of %zu bytes: the whole record's key", n,
                     o.len);
            break;
        }

        if (n <= event_end && !check_raw(&k, "record without seq, cut")) {
            FAIL_MSG("cut after %zu of %zu bytes", n, o.len);
            break;
        }
    }
}


static void
test_dedup_key_event_text_in_escaped_fields_does_not_move_the_content(
    const char *dir)
{
    unsigned          i;
    rec_t             r = rec_default();
    out_t             o;
    mcpu_dedup_key_t  plain, k, hand;

    /* what a node, Client-Version or Client-Os header may hold */
    static const char  *tricky[] = {
        "x\",\"event\":{\"a\":1}}",
        ",\"event\":",
        "\\\",\"event\":\\",
        "\\",
        "a\\\\\",\"event\":}",
    };

    /*
     * By hand: node is  n","event":{"x":1}}  and osVersion is
     * \","event":  each escaped (a backslash before every '"' and '\');
     * the event is EV_CPU_NOSEQ.
     */
    static const char  by_hand[] =
        "{\"schema\":1,\"type\":\"CpuMeasurement\","
        "\"time\":\"2026-11-23T22:00:00.250Z\",\"timeMs\":1795471200250,"
        "\"seq\":null,"
        "\"receivedAt\":\"2026-11-23T22:00:01.004Z\","
        "\"receivedAtMs\":1795471201004,"
        "\"sentAt\":null,\"sentAtMs\":null,\"skewMs\":null,"
        "\"node\":\"n\\\",\\\"event\\\":{\\\"x\\\":1}}\","
        "\"client\":{\"id\":\"6a:d6:96:d3:45:35\",\"version\":\"6.04\","
        "\"os\":\"Windows\",\"osVersion\":\"\\\\\\\",\\\"event\\\":\"},"
        "\"event\":" EV_CPU_NOSEQ "}";

    (void) dir;

    r.seq = -1;
    r.event = EV_CPU_NOSEQ;

    if (!key_of_rec(&r, &plain)) {
        return;
    }

    check_content_layout(&plain, CLIENT, TIME_MS, "CpuMeasurement");

    for (i = 0; i < sizeof(tricky) / sizeof(tricky[0]); i++) {
        r = rec_default();
        r.seq = -1;
        r.event = EV_CPU_NOSEQ;
        r.node = tricky[i];
        r.version = tricky[i];

        if (key_of_rec(&r, &k) && !CHECK_SAME_KEY(plain, k)) {
            FAIL_MSG("node and version \"%s\"", tricky[i]);
        }

        r.node = "edge-eu-1";
        r.version = "6.04";
        r.os = tricky[i];
        r.client_id = tricky[i];

        /* a client id with '"', '\' or ',' is still a client id */
        if (key_of_rec(&r, &k)) {
            check_content_layout(&k, tricky[i], TIME_MS, "CpuMeasurement");
            CHECK_MEM_EQ(k.bytes + k.len - 16, plain.bytes + plain.len - 16,
                         16);
        }
    }

    key_of_bytes(CLIENT, strlen(CLIENT), by_hand, sizeof(by_hand) - 1, &hand);
    CHECK_SAME_KEY(plain, hand);

    /* the builder escapes the same way */
    r = rec_default();
    r.seq = -1;
    r.sent_ms = -1;
    r.event = EV_CPU_NOSEQ;
    r.node = "n\",\"event\":{\"x\":1}}";
    r.os_version = "\\\",\"event\":";

    if (build(&r, &o)) {
        CHECK_EQ_U64(o.len, sizeof(by_hand) - 1);
        CHECK_MEM_EQ(o.buf, by_hand, o.len);
    }
}


static void
test_dedup_key_longest_client_and_type_fit_the_key(const char *dir)
{
    char              client[MCPU_DEDUP_CLIENT_MAX + 1];
    char              type[MCPU_DEDUP_TYPE_MAX + 1];
    char              event[256];
    rec_t             r = rec_default();
    mcpu_dedup_key_t  *k;

    (void) dir;

    memset(client, 'c', MCPU_DEDUP_CLIENT_MAX);
    client[MCPU_DEDUP_CLIENT_MAX] = '\0';
    memset(type, 'T', MCPU_DEDUP_TYPE_MAX);
    type[MCPU_DEDUP_TYPE_MAX] = '\0';

    snprintf(event, sizeof(event), "{\"type\":\"%s\","
             "\"time\":\"2026-11-23T22:00:00.250Z\",\"n\":1}", type);

    r.client_id = client;
    r.type = type;
    r.seq = -1;
    r.event = event;

    /* on the heap: ASan catches a write past the struct */
    k = malloc(sizeof(*k));
    if (!CHECK(k != NULL)) {
        return;
    }

    if (key_of_rec(&r, k)) {
        check_content_layout(k, client, TIME_MS, type);
        CHECK_EQ_U64(k->len, MCPU_DEDUP_KEY_MAX);
        CHECK(k->len <= sizeof(k->bytes));
    }

    r.seq = 123456789012345678LL;
    if (key_of_rec(&r, k)) {
        check_seq_layout(k, client, r.seq);
        CHECK(k->len <= MCPU_DEDUP_KEY_MAX);
    }

    free(k);
}


static void
test_dedup_key_kind_names(const char *dir)
{
    (void) dir;

    CHECK_STR_EQ(mcpu_dedup_kind_name(MCPU_DEDUP_KIND_SEQ), "seq");
    CHECK_STR_EQ(mcpu_dedup_kind_name(MCPU_DEDUP_KIND_CONTENT), "content");
    CHECK_STR_EQ(mcpu_dedup_kind_name(MCPU_DEDUP_KIND_RAW), "raw");
    CHECK_STR_EQ(mcpu_dedup_kind_name(MCPU_DEDUP_KINDS), "raw");
    CHECK_STR_EQ(mcpu_dedup_kind_name(-1), "raw");
}


TEST_LIST = {
    { "test_dedup_key_builder_writes_the_readme_record",
      test_dedup_key_builder_writes_the_readme_record },
    { "test_dedup_key_retry_through_another_host_has_the_same_seq_key",
      test_dedup_key_retry_through_another_host_has_the_same_seq_key },
    { "test_dedup_key_byte_identical_resend_has_the_same_key",
      test_dedup_key_byte_identical_resend_has_the_same_key },
    { "test_dedup_key_no_seq_resent_event_has_the_same_content_key",
      test_dedup_key_no_seq_resent_event_has_the_same_content_key },
    { "test_dedup_key_no_seq_same_time_and_type_other_content_differs",
      test_dedup_key_no_seq_same_time_and_type_other_content_differs },
    { "test_dedup_key_other_client_or_other_seq_differs",
      test_dedup_key_other_client_or_other_seq_differs },
    { "test_dedup_key_seq_key_does_not_depend_on_the_event",
      test_dedup_key_seq_key_does_not_depend_on_the_event },
    { "test_dedup_key_value_that_is_not_a_record_gets_a_raw_key",
      test_dedup_key_value_that_is_not_a_record_gets_a_raw_key },
    { "test_dedup_key_raw_keys_are_equal_only_for_identical_bytes",
      test_dedup_key_raw_keys_are_equal_only_for_identical_bytes },
    { "test_dedup_key_truncated_record_is_never_the_whole_one",
      test_dedup_key_truncated_record_is_never_the_whole_one },
    { "test_dedup_key_event_text_in_escaped_fields_does_not_move_the_content",
      test_dedup_key_event_text_in_escaped_fields_does_not_move_the_content },
    { "test_dedup_key_longest_client_and_type_fit_the_key",
      test_dedup_key_longest_client_and_type_fit_the_key },
    { "test_dedup_key_kind_names", test_dedup_key_kind_names },
    { NULL, NULL }
};

MCPU_TEST_MAIN()
