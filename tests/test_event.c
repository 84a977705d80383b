/*
 * test_event.c: the event validator and the Kafka record it builds.
 */

#include <jansson.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "mcpu_test.h"
#include "mcpu_event.h"


#define S(lit)  { lit, sizeof(lit) - 1 }

static char              out[65536];
static size_t            out_len;
static mcpu_ev_result_t  res;


/* tests that are not about time bounds use events from any time */
static const mcpu_ev_limits_t  any_time = {
    .max_future_ms = INT64_C(1) << 60,
    .max_age_ms = INT64_C(1) << 60,
};


static mcpu_ev_meta_t
meta_default(void)
{
    mcpu_ev_meta_t  m = {
        .limits = &any_time,
        .client_id = S("client-7"),
        .client_version = S("6.04"),
        .client_os = S("Windows"),
        .os_version = S("10.0.19045"),
        .node = S("edge-1"),
        .received_ms = 1795467600000LL,
    };

    return m;
}


static mcpu_ev_rc_t
build_with(const char *body, const mcpu_ev_meta_t *m, size_t out_size)
{
    out_len = 0;
    mcpu_ev_rc_t rc = mcpu_event_record(body, strlen(body), m, out, out_size,
                                        &out_len, &res);
    if (rc == MCPU_EV_OK) {
        out[out_len] = '\0';
    }

    return rc;
}


static mcpu_ev_rc_t
build(const char *body)
{
    mcpu_ev_meta_t  m = meta_default();

    return build_with(body, &m, sizeof(out) - 1);
}


static void
test_event_valid_cpu_measurement_builds_the_documented_record(const char *dir)
{
    (void) dir;

    if (!CHECK_EQ_INT(build("{\"type\":\"CpuMeasurement\",\"time\":"
                            "\"2026-11-23T22:00:00.5+01:00\","
                            "\"usage\":{\"0\":12.5,\"1\":80}}"), MCPU_EV_OK))
    {
        return;
    }

    CHECK_STR_EQ(out, "{\"schema\":1,\"type\":\"CpuMeasurement\","
                 "\"time\":\"2026-11-23T21:00:00.500Z\","
                 "\"timeMs\":1795467600500,\"seq\":null,"
                 "\"receivedAt\":\"2026-11-23T21:00:00.000Z\","
                 "\"receivedAtMs\":1795467600000,\"sentAt\":null,"
                 "\"sentAtMs\":null,\"skewMs\":null,\"node\":\"edge-1\","
                 "\"client\":{\"id\":\"client-7\",\"version\":\"6.04\","
                 "\"os\":\"Windows\",\"osVersion\":\"10.0.19045\"},"
                 "\"event\":{\"type\":\"CpuMeasurement\","
                 "\"time\":\"2026-11-23T22:00:00.5+01:00\","
                 "\"usage\":{\"0\":12.5,\"1\":80}}}");
    CHECK_STR_EQ(res.type, "CpuMeasurement");
}


static void
test_event_every_type_with_its_fields_is_accepted(const char *dir)
{
    size_t              i;
    static const char  *ok[] = {
        "{\"type\":\"AppOpened\",\"time\":0}",
        "{\"type\":\"AppClosed\",\"time\":1795467600500}",
        "{\"type\":\"FileTransferStarted\",\"time\":1,\"transferId\":\"a\"}",
        "{\"type\":\"FileTransferProgress\",\"time\":1,\"transferId\":\"a\"}",
        "{\"type\":\"FileTransferCompleted\",\"time\":1,\"transferId\":\"a\"}",
        "{\"type\":\"CpuMeasurement\",\"time\":1,\"usage\":{\"c0\":0}}",
        "{\"type\":\"CpuSummary\",\"time\":1,\"start\":1,\"end\":2,"
        "\"observations\":1,\"average\":{\"0\":100},\"variance\":{\"0\":0}}",
    };

    (void) dir;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (!CHECK_EQ_INT(build(ok[i]), MCPU_EV_OK)) {
            printf("#     %s: %s\n", ok[i], res.detail);
        }
    }
}


static void
test_event_record_is_json_holding_the_event_as_sent(const char *dir)
{
    json_t        *rec, *sent;
    const char    *body = "{\"type\":\"FileTransferProgress\",\"time\":1,"
                          "\"transferId\":\"t\\\"1\",\"bytes\":10,"
                          "\"extra\":{\"nested\":[1,2,{\"a\":null}]}}";
    json_error_t   err;

    (void) dir;

    if (!CHECK_EQ_INT(build(body), MCPU_EV_OK)) {
        return;
    }

    /* out is ours now: parse it after the build, since the build resets
     * the arena that jansson allocates from */
    rec = json_loads(out, 0, &err);
    sent = json_loads(body, 0, &err);

    if (CHECK(rec != NULL) && CHECK(sent != NULL)) {
        CHECK(json_equal(json_object_get(rec, "event"), sent));
        CHECK_STR_EQ(json_string_value(json_object_get(
                         json_object_get(rec, "client"), "id")), "client-7");
    }

    json_decref(rec);
    json_decref(sent);
}


static void
test_event_refusals_name_their_reason(const char *dir)
{
    size_t  i;
    static const struct {
        const char    *body;
        mcpu_ev_rc_t   rc;
        const char    *detail;
    } cases[] = {
        { "", MCPU_EV_BAD_JSON, "the body is empty" },
        { "{\"type\":", MCPU_EV_BAD_JSON, "line 1" },
        { "{\"type\":\"AppOpened\",\"time\":1,\"time\":2}", MCPU_EV_BAD_JSON,
          "duplicate object key" },
        { "[{\"type\":\"AppOpened\"}]", MCPU_EV_NOT_OBJECT, "JSON object" },
        { "{\"time\":1}", MCPU_EV_MISSING_TYPE, "\"type\" is required" },
        { "{\"type\":7,\"time\":1}", MCPU_EV_MISSING_TYPE, "must be a string" },
        { "{\"type\":\"cpumeasurement\",\"time\":1}", MCPU_EV_UNKNOWN_TYPE,
          "\"cpumeasurement\"" },
        { "{\"type\":\"AppOpened\"}", MCPU_EV_MISSING_TIME, "\"time\"" },
        { "{\"type\":\"AppOpened\",\"time\":-1}", MCPU_EV_BAD_TIME, "RFC 3339" },
        { "{\"type\":\"AppOpened\",\"time\":1.5}", MCPU_EV_BAD_TIME, "RFC 3339" },
        { "{\"type\":\"AppOpened\",\"time\":\"yesterday\"}", MCPU_EV_BAD_TIME,
          "RFC 3339" },
        { "{\"type\":\"CpuMeasurement\",\"time\":1}", MCPU_EV_MISSING_FIELD,
          "\"usage\" is required for type \"CpuMeasurement\"" },
        { "{\"type\":\"CpuMeasurement\",\"time\":1,\"usage\":{}}",
          MCPU_EV_BAD_FIELD, "\"usage\" must be" },
        { "{\"type\":\"CpuMeasurement\",\"time\":1,\"usage\":{\"0\":100.01}}",
          MCPU_EV_BAD_FIELD, "percentage" },
        { "{\"type\":\"CpuMeasurement\",\"time\":1,\"usage\":{\"0\":-1}}",
          MCPU_EV_BAD_FIELD, "percentage" },
        { "{\"type\":\"CpuMeasurement\",\"time\":1,\"usage\":{\"0\":\"5\"}}",
          MCPU_EV_BAD_FIELD, "percentage" },
        { "{\"type\":\"CpuMeasurement\",\"time\":1,\"usage\":[5]}",
          MCPU_EV_BAD_FIELD, "object" },
        { "{\"type\":\"FileTransferStarted\",\"time\":1,\"transferId\":\"\"}",
          MCPU_EV_BAD_FIELD, "non-empty string" },
        { "{\"type\":\"FileTransferStarted\",\"time\":1,\"transferId\":5}",
          MCPU_EV_BAD_FIELD, "non-empty string" },
        { "{\"type\":\"CpuSummary\",\"time\":1,\"start\":1,\"end\":2,"
          "\"observations\":0,\"average\":{\"0\":1},\"variance\":{\"0\":0}}",
          MCPU_EV_BAD_FIELD, "\"observations\"" },
        { "{\"type\":\"CpuSummary\",\"time\":1,\"start\":1,\"end\":2,"
          "\"observations\":3,\"average\":{\"0\":1}}",
          MCPU_EV_MISSING_FIELD, "\"variance\"" },
        { "{\"type\":\"CpuSummary\",\"time\":1,\"start\":\"x\",\"end\":2,"
          "\"observations\":3,\"average\":{\"0\":1},\"variance\":{\"0\":0}}",
          MCPU_EV_BAD_FIELD, "\"start\"" },
    };

    (void) dir;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (!CHECK_EQ_INT(build(cases[i].body), cases[i].rc)
            || !CHECK_STR_CONTAINS(res.detail, cases[i].detail))
        {
            printf("#     case %zu: %s\n", i, cases[i].body);
        }
    }
}


static void
test_event_transfer_id_of_128_bytes_is_accepted_129_refused(const char *dir)
{
    char  body[512];

    (void) dir;

    snprintf(body, sizeof(body), "{\"type\":\"FileTransferStarted\",\"time\":1,"
             "\"transferId\":\"%0128d\"}", 0);
    CHECK_EQ_INT(build(body), MCPU_EV_OK);

    snprintf(body, sizeof(body), "{\"type\":\"FileTransferStarted\",\"time\":1,"
             "\"transferId\":\"%0129d\"}", 0);
    CHECK_EQ_INT(build(body), MCPU_EV_BAD_FIELD);
}


static void
test_event_client_metadata_is_checked(const char *dir)
{
    mcpu_ev_meta_t  m;
    const char     *body = "{\"type\":\"AppOpened\",\"time\":1}";
    char            long_id[130];

    (void) dir;

    m = meta_default();
    m.client_id.data = NULL;
    m.client_id.len = 0;
    CHECK_EQ_INT(build_with(body, &m, sizeof(out)), MCPU_EV_MISSING_CLIENT_ID);

    m = meta_default();
    m.client_id = (mcpu_ev_str_t) S("has space");
    CHECK_EQ_INT(build_with(body, &m, sizeof(out)), MCPU_EV_BAD_HEADER);
    CHECK_STR_CONTAINS(res.detail, "Client-Id");

    memset(long_id, 'a', sizeof(long_id));
    m.client_id.data = long_id;
    m.client_id.len = 129;
    CHECK_EQ_INT(build_with(body, &m, sizeof(out)), MCPU_EV_BAD_HEADER);
    m.client_id.len = 128;
    CHECK_EQ_INT(build_with(body, &m, sizeof(out)), MCPU_EV_OK);

    m = meta_default();
    m.os_version = (mcpu_ev_str_t) S("10\x01");
    CHECK_EQ_INT(build_with(body, &m, sizeof(out)), MCPU_EV_BAD_HEADER);
    CHECK_STR_CONTAINS(res.detail, "Os-Version");

    /* absent optional headers are null in the record */
    m = meta_default();
    m.client_os.data = NULL;
    m.client_os.len = 0;
    if (CHECK_EQ_INT(build_with(body, &m, sizeof(out) - 1), MCPU_EV_OK)) {
        CHECK_STR_CONTAINS(out, "\"os\":null,");
    }
}


static void
test_event_header_quotes_and_backslashes_are_escaped(const char *dir)
{
    json_t          *rec;
    mcpu_ev_meta_t   m = meta_default();

    (void) dir;

    m.client_version = (mcpu_ev_str_t) S("6.04 \"beta\" \\x");

    if (!CHECK_EQ_INT(build_with("{\"type\":\"AppOpened\",\"time\":1}", &m,
                                 sizeof(out) - 1), MCPU_EV_OK))
    {
        return;
    }

    rec = json_loads(out, 0, NULL);
    if (CHECK(rec != NULL)) {
        CHECK_STR_EQ(json_string_value(json_object_get(
                         json_object_get(rec, "client"), "version")),
                     "6.04 \"beta\" \\x");
    }

    json_decref(rec);
}


static void
test_event_record_larger_than_buffer_is_too_large(const char *dir)
{
    mcpu_ev_meta_t  m = meta_default();

    (void) dir;

    CHECK_EQ_INT(build_with("{\"type\":\"AppOpened\",\"time\":1}", &m, 100),
                 MCPU_EV_TOO_LARGE);
    CHECK_STR_CONTAINS(res.detail, "100 bytes");
}


static void
test_event_rfc3339_forms_and_impossible_dates(const char *dir)
{
    int64_t  ms;
    size_t   i;
    static const struct {
        const char  *text;
        int64_t      ms;       /* -1: refused */
    } cases[] = {
        { "1970-01-01T00:00:00Z", 0 },
        { "2026-11-23T22:00:00Z", 1795471200000LL },
        { "2026-11-23t22:00:00.123456789z", 1795471200123LL },
        { "2026-11-23T23:30:00+01:30", 1795471200000LL },
        { "2026-11-23T20:00:00-02:00", 1795471200000LL },
        { "2024-02-29T00:00:00Z", 1709164800000LL },
        { "2016-12-31T23:59:60Z", 1483228799999LL },
        { "2023-02-29T00:00:00Z", -1 },
        { "2026-13-01T00:00:00Z", -1 },
        { "2026-04-31T00:00:00Z", -1 },
        { "2026-11-23T24:00:00Z", -1 },
        { "2026-11-23T22:00:00", -1 },
        { "2026-11-23T22:00:00.Z", -1 },
        { "2026-11-23T22:00:00+0100", -1 },
        { "1969-12-31T23:59:59Z", -1 },
        { "1970-01-01T00:30:00+01:00", -1 },
        { "9999-12-31T23:59:59-23:59", -1 },      /* year 10000 in UTC */
        { "9999-12-31T23:59:59.999Z", 253402300799999LL },
        { "20261123T220000Z", -1 },
    };

    (void) dir;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ms = -1;
        if (mcpu_event_parse_time(cases[i].text, strlen(cases[i].text), &ms)
            != 0)
        {
            ms = -1;
        }

        if (!CHECK_EQ_INT(ms, cases[i].ms)) {
            printf("#     %s\n", cases[i].text);
        }
    }
}


static void
test_event_time_format_and_parse_round_trip(const char *dir)
{
    char      text[24];
    int64_t   ms, back;
    uint64_t  x;
    unsigned  i, bad;

    (void) dir;

    bad = 0;
    x = mcpu_test_seed();

    /* every day boundary and leap day 1970..9999 is crossed by a random
     * walk of a million points */
    for (i = 0; i < 1000000; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        ms = (int64_t) ((x >> 11) % 253402300800000ULL);

        mcpu_event_format_time(ms, text);
        if (mcpu_event_parse_time(text, sizeof(text), &back) != 0
            || back != ms)
        {
            if (bad++ < 3) {
                printf("#     %lld -> %.24s -> %lld\n", (long long) ms, text,
                       (long long) back);
            }
        }
    }

    CHECK_EQ_INT(bad, 0);
}


static void
test_event_bigger_than_the_arena_still_works(const char *dir)
{
    int               i;
    char             *body, *p;
    size_t            size = 400000;
    mcpu_ev_meta_t    m;
    mcpu_ev_limits_t  lim;

    (void) dir;

    /* 20,000 extra keys: far past the 64 KB arena of this test binary, so
     * jansson's allocations fall back to malloc and are freed */
    body = malloc(size);
    if (!CHECK(body != NULL)) {
        return;
    }

    p = body + sprintf(body, "{\"type\":\"AppOpened\",\"time\":1,\"x\":{");
    for (i = 0; i < 20000; i++) {
        p += sprintf(p, "%s\"k%d\":%d", i ? "," : "", i, i);
    }
    strcpy(p, "}}");

    m = meta_default();
    lim = *m.limits;
    lim.max_fields = 100000;
    m.limits = &lim;

    CHECK_EQ_INT(build_with(body, &m, sizeof(out)), MCPU_EV_TOO_LARGE);
    CHECK_EQ_INT(build("{\"type\":\"AppOpened\",\"time\":1}"), MCPU_EV_OK);

    free(body);
}


static void
test_event_seq_is_carried_and_checked(const char *dir)
{
    (void) dir;

    if (CHECK_EQ_INT(build("{\"type\":\"AppOpened\",\"time\":1,\"seq\":42}"),
                     MCPU_EV_OK))
    {
        CHECK_STR_CONTAINS(out, ",\"seq\":42,");
    }

    CHECK_EQ_INT(build("{\"type\":\"AppOpened\",\"time\":1,\"seq\":-1}"),
                 MCPU_EV_BAD_SEQ);
    CHECK_EQ_INT(build("{\"type\":\"AppOpened\",\"time\":1,\"seq\":\"7\"}"),
                 MCPU_EV_BAD_SEQ);
    CHECK_EQ_INT(build("{\"type\":\"AppOpened\",\"time\":1,\"seq\":1.5}"),
                 MCPU_EV_BAD_SEQ);
    CHECK_EQ_INT(build("{\"type\":\"AppOpened\",\"time\":1,"
                       "\"seq\":9007199254740993}"), MCPU_EV_BAD_SEQ);
}


static void
test_event_sent_at_gives_the_skew_and_moves_the_bounds(const char *dir)
{
    mcpu_ev_meta_t  m = meta_default();

    (void) dir;

    m.limits = NULL;                   /* the defaults: 1 h ahead, 30 d old */
    m.received_ms = 1795467600000LL;   /* 2026-11-23T21:00:00Z */

    /* the client's clock is 2 h behind: its event of "2 h ago" is now */
    m.sent_at = (mcpu_ev_str_t) S("2026-11-23T19:00:00Z");
    if (CHECK_EQ_INT(build_with("{\"type\":\"AppOpened\","
                                "\"time\":\"2026-11-23T19:00:00Z\"}", &m,
                                sizeof(out) - 1), MCPU_EV_OK))
    {
        CHECK_EQ_INT(res.skew_ms, 7200000);
        CHECK_STR_CONTAINS(out, "\"sentAt\":\"2026-11-23T19:00:00.000Z\","
                           "\"sentAtMs\":1795460400000,\"skewMs\":7200000,");
    }

    /* epoch milliseconds work too */
    m.sent_at = (mcpu_ev_str_t) S("1795467599000");
    CHECK_EQ_INT(build_with("{\"type\":\"AppOpened\",\"time\":1795467599000}",
                            &m, sizeof(out) - 1), MCPU_EV_OK);
    CHECK_EQ_INT(res.skew_ms, 1000);

    m.sent_at = (mcpu_ev_str_t) S("yesterday");
    CHECK_EQ_INT(build_with("{\"type\":\"AppOpened\",\"time\":1795467599000}",
                            &m, sizeof(out)), MCPU_EV_BAD_HEADER);
    CHECK_STR_CONTAINS(res.detail, "Sent-At");
}


static void
test_event_time_bounds_just_inside_and_just_outside(const char *dir)
{
    char              body[128];
    mcpu_ev_meta_t    m = meta_default();
    mcpu_ev_limits_t  lim = { .max_future_ms = 60000, .max_age_ms = 3600000 };

    (void) dir;

    m.limits = &lim;
    m.received_ms = 1795467600000LL;

#define AT(ms)  (snprintf(body, sizeof(body), "{\"type\":\"AppOpened\","    \
                          "\"time\":%lld}", (long long) (ms)), body)

    CHECK_EQ_INT(build_with(AT(m.received_ms + 60000), &m, sizeof(out)),
                 MCPU_EV_OK);
    CHECK_EQ_INT(build_with(AT(m.received_ms + 60001), &m, sizeof(out)),
                 MCPU_EV_TIME_IN_FUTURE);
    CHECK_EQ_INT(build_with(AT(m.received_ms - 3600000), &m, sizeof(out)),
                 MCPU_EV_OK);
    CHECK_EQ_INT(build_with(AT(m.received_ms - 3600001), &m, sizeof(out)),
                 MCPU_EV_TIME_TOO_OLD);
    CHECK_STR_CONTAINS(res.detail, "at most 3600 s");

#undef AT
}


static void
test_event_depth_width_and_string_limits(const char *dir)
{
    int               i;
    char              body[8192], *p;
    mcpu_ev_meta_t    m = meta_default();
    mcpu_ev_limits_t  lim = *m.limits;

    (void) dir;

    lim.max_depth = 3;
    lim.max_fields = 8;
    lim.max_string = 16;
    m.limits = &lim;

    /* the event object is level 1: two more levels are allowed */
    CHECK_EQ_INT(build_with("{\"type\":\"AppOpened\",\"time\":1,"
                            "\"a\":{\"b\":[1]}}", &m, sizeof(out)), MCPU_EV_OK);
    CHECK_EQ_INT(build_with("{\"type\":\"AppOpened\",\"time\":1,"
                            "\"a\":{\"b\":[[1]]}}", &m, sizeof(out)),
                 MCPU_EV_LIMIT);
    CHECK_STR_CONTAINS(res.detail, "deeper than 3");

    p = body + sprintf(body, "{\"type\":\"AppOpened\",\"time\":1");
    for (i = 0; i < 6; i++) {
        p += sprintf(p, ",\"k%d\":%d", i, i);
    }
    strcpy(p, "}");
    CHECK_EQ_INT(build_with(body, &m, sizeof(out)), MCPU_EV_OK);   /* 8 */
    strcpy(p, ",\"k9\":9}");
    CHECK_EQ_INT(build_with(body, &m, sizeof(out)), MCPU_EV_LIMIT); /* 9 */

    CHECK_EQ_INT(build_with("{\"type\":\"AppOpened\",\"time\":1,"
                            "\"s\":\"0123456789abcdef\"}", &m, sizeof(out)),
                 MCPU_EV_OK);
    CHECK_EQ_INT(build_with("{\"type\":\"AppOpened\",\"time\":1,"
                            "\"s\":\"0123456789abcdefg\"}", &m, sizeof(out)),
                 MCPU_EV_LIMIT);
    CHECK_EQ_INT(build_with("{\"type\":\"AppOpened\",\"time\":1,"
                            "\"0123456789abcdefg\":1}", &m, sizeof(out)),
                 MCPU_EV_LIMIT);
}


static void
test_event_detail_never_cuts_a_utf8_character(const char *dir)
{
    int      i, cut;
    char     body[512], *p;
    size_t   n;
    json_t  *v;

    (void) dir;

    /* "é" is two bytes: the 64-byte cut of the type lands inside one for
     * one of the two alignments */
    for (cut = 0; cut < 2; cut++) {
        p = body + sprintf(body, "{\"type\":\"%s", cut ? "a" : "");
        for (i = 0; i < 40; i++) {
            p += sprintf(p, "\xc3\xa9");
        }
        strcpy(p, "\",\"time\":1}");

        CHECK_EQ_INT(build(body), MCPU_EV_UNKNOWN_TYPE);
        n = strlen(res.detail);
        CHECK(n > 0 && (unsigned char) res.detail[n - 1] != 0xc3);

        /* jansson makes no string of invalid UTF-8 */
        v = json_stringn(res.detail, n);
        CHECK(v != NULL);
        json_decref(v);
    }
}


static void
test_event_record_prefix_gives_schema_and_type_without_parsing(
    const char *dir)
{
    size_t       sl, tl;
    const char  *schema, *type;

    (void) dir;

    if (CHECK_EQ_INT(build("{\"type\":\"FileTransferCompleted\",\"time\":1,"
                           "\"transferId\":\"t\"}"), MCPU_EV_OK)
        && CHECK_EQ_INT(mcpu_record_peek(out, out_len, &schema, &sl, &type,
                                         &tl), 0))
    {
        CHECK_EQ_INT(sl, 1);
        CHECK(memcmp(schema, "1", 1) == 0);
        CHECK_EQ_INT(tl, strlen("FileTransferCompleted"));
        CHECK(memcmp(type, "FileTransferCompleted", tl) == 0);
    }

    CHECK_EQ_INT(mcpu_record_peek("{\"schema\":1,\"type\":\"X", 21, &schema,
                                  &sl, &type, &tl), -1);
    CHECK_EQ_INT(mcpu_record_peek("{\"schema\":,\"type\":\"X\"", 22, &schema,
                                  &sl, &type, &tl), -1);
    CHECK_EQ_INT(mcpu_record_peek("{\"type\":\"X\"}", 12, &schema, &sl,
                                  &type, &tl), -1);
    CHECK_EQ_INT(mcpu_record_peek("", 0, &schema, &sl, &type, &tl), -1);
}


static void
test_event_optional_fields_are_checked_when_present(const char *dir)
{
    size_t  i;
    static const struct {
        const char    *body;
        mcpu_ev_rc_t   rc;
    } cases[] = {
        { "{\"type\":\"CpuMeasurement\",\"time\":1,\"usage\":{\"0\":5},"
          "\"process\":4.5}", MCPU_EV_OK },
        { "{\"type\":\"CpuMeasurement\",\"time\":1,\"usage\":{\"0\":5},"
          "\"process\":101}", MCPU_EV_BAD_FIELD },
        { "{\"type\":\"FileTransferProgress\",\"time\":1,\"transferId\":\"t\","
          "\"bytesDone\":10,\"bytesTotal\":10}", MCPU_EV_OK },
        { "{\"type\":\"FileTransferProgress\",\"time\":1,\"transferId\":\"t\","
          "\"bytesDone\":11,\"bytesTotal\":10}", MCPU_EV_BAD_FIELD },
        { "{\"type\":\"FileTransferProgress\",\"time\":1,\"transferId\":\"t\","
          "\"bytesDone\":-1}", MCPU_EV_BAD_FIELD },
        { "{\"type\":\"FileTransferProgress\",\"time\":1,\"transferId\":\"t\","
          "\"bytesTotal\":1.5}", MCPU_EV_BAD_FIELD },
    };

    (void) dir;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (!CHECK_EQ_INT(build(cases[i].body), cases[i].rc)) {
            printf("#     case %zu: %s\n", i, res.detail);
        }
    }
}


static void
test_event_extra_types_only_when_allowed_with_bounded_attributes(
    const char *dir)
{
    int                i;
    char               body[2048], *p;
    mcpu_ev_meta_t     m = meta_default();
    mcpu_ev_limits_t   lim = *m.limits;
    static const char *extra[] = { "IndexingStarted", NULL };

    (void) dir;

    CHECK_EQ_INT(build("{\"type\":\"IndexingStarted\",\"time\":1}"),
                 MCPU_EV_UNKNOWN_TYPE);

    lim.extra_types = extra;
    m.limits = &lim;

    if (CHECK_EQ_INT(build_with("{\"type\":\"IndexingStarted\",\"time\":1,"
                                "\"attributes\":{\"files\":1200}}", &m,
                                sizeof(out) - 1), MCPU_EV_OK))
    {
        CHECK_STR_CONTAINS(out, "\"type\":\"IndexingStarted\",");
        CHECK_STR_EQ(res.type, "IndexingStarted");
    }

    CHECK_EQ_INT(build_with("{\"type\":\"IndexingStarted\",\"time\":1,"
                            "\"attributes\":[1]}", &m, sizeof(out)),
                 MCPU_EV_BAD_FIELD);

    p = body + sprintf(body, "{\"type\":\"IndexingStarted\",\"time\":1,"
                       "\"attributes\":{");
    for (i = 0; i < 65; i++) {
        p += sprintf(p, "%s\"a%d\":%d", i ? "," : "", i, i);
    }
    strcpy(p, "}}");
    CHECK_EQ_INT(build_with(body, &m, sizeof(out)), MCPU_EV_BAD_FIELD);
    CHECK_STR_CONTAINS(res.detail, "at most 64");

    CHECK(mcpu_event_is_builtin_type("AppOpened"));
    CHECK(!mcpu_event_is_builtin_type("IndexingStarted"));
}


/* the address space this process uses now, from /proc/self/status */
static long
vm_size_bytes(void)
{
    long   kb;
    char   line[256];
    FILE  *f;

    kb = -1;
    f = fopen("/proc/self/status", "r");
    if (f == NULL) {
        return -1;
    }

    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "VmSize: %ld kB", &kb) == 1) {
            break;
        }
    }

    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}


static void
test_event_out_of_memory_is_no_memory_not_bad_json(const char *dir)
{
    int               i, status;
    char             *body, *p;
    long              vm;
    pid_t             pid;
    struct rlimit     rl;
    mcpu_ev_meta_t    m = meta_default();
    mcpu_ev_limits_t  lim = *m.limits;

    (void) dir;

    /* 200,000 members: a tree of tens of MB, far past the arena */
    body = malloc(4 * 1024 * 1024);
    if (!CHECK(body != NULL)) {
        return;
    }

    p = body + sprintf(body, "{\"type\":\"AppOpened\",\"time\":1,\"x\":{");
    for (i = 0; i < 200000; i++) {
        p += sprintf(p, "%s\"k%d\":%d", i ? "," : "", i, i);
    }
    strcpy(p, "}}");

    lim.max_fields = 1000000;
    m.limits = &lim;

    pid = fork();
    if (pid == 0) {
        /* the child may grow by 4 MB only: jansson's allocations fail */
        vm = vm_size_bytes();
        rl.rlim_cur = rl.rlim_max = (rlim_t) vm + 4 * 1024 * 1024;
        if (vm < 0 || setrlimit(RLIMIT_AS, &rl) != 0) {
            _exit(2);
        }

        status = mcpu_event_record(body, strlen(body), &m, out, sizeof(out),
                                   &out_len, &res) == MCPU_EV_NO_MEMORY ? 0 : 1;
        free(body);
        _exit(status);
    }

    free(body);

    if (CHECK(pid > 0) && CHECK(waitpid(pid, &status, 0) == pid)) {
        CHECK(WIFEXITED(status));
        CHECK_EQ_INT(WEXITSTATUS(status), 0);
    }

    CHECK_STR_EQ(mcpu_ev_code(MCPU_EV_NO_MEMORY), "no_memory");
}


TEST_LIST = {
    { "test_event_valid_cpu_measurement_builds_the_documented_record",
      test_event_valid_cpu_measurement_builds_the_documented_record },
    { "test_event_every_type_with_its_fields_is_accepted",
      test_event_every_type_with_its_fields_is_accepted },
    { "test_event_record_is_json_holding_the_event_as_sent",
      test_event_record_is_json_holding_the_event_as_sent },
    { "test_event_refusals_name_their_reason",
      test_event_refusals_name_their_reason },
    { "test_event_transfer_id_of_128_bytes_is_accepted_129_refused",
      test_event_transfer_id_of_128_bytes_is_accepted_129_refused },
    { "test_event_client_metadata_is_checked",
      test_event_client_metadata_is_checked },
    { "test_event_header_quotes_and_backslashes_are_escaped",
      test_event_header_quotes_and_backslashes_are_escaped },
    { "test_event_record_larger_than_buffer_is_too_large",
      test_event_record_larger_than_buffer_is_too_large },
    { "test_event_rfc3339_forms_and_impossible_dates",
      test_event_rfc3339_forms_and_impossible_dates },
    { "test_event_time_format_and_parse_round_trip",
      test_event_time_format_and_parse_round_trip },
    { "test_event_bigger_than_the_arena_still_works",
      test_event_bigger_than_the_arena_still_works },
    { "test_event_seq_is_carried_and_checked",
      test_event_seq_is_carried_and_checked },
    { "test_event_sent_at_gives_the_skew_and_moves_the_bounds",
      test_event_sent_at_gives_the_skew_and_moves_the_bounds },
    { "test_event_time_bounds_just_inside_and_just_outside",
      test_event_time_bounds_just_inside_and_just_outside },
    { "test_event_depth_width_and_string_limits",
      test_event_depth_width_and_string_limits },
    { "test_event_record_prefix_gives_schema_and_type_without_parsing",
      test_event_record_prefix_gives_schema_and_type_without_parsing },
    { "test_event_optional_fields_are_checked_when_present",
      test_event_optional_fields_are_checked_when_present },
    { "test_event_extra_types_only_when_allowed_with_bounded_attributes",
      test_event_extra_types_only_when_allowed_with_bounded_attributes },
    { "test_event_out_of_memory_is_no_memory_not_bad_json",
      test_event_out_of_memory_is_no_memory_not_bad_json },
    { "test_event_detail_never_cuts_a_utf8_character",
      test_event_detail_never_cuts_a_utf8_character },
    { NULL, NULL }
};


static void mcpu_test_event_setup(void) __attribute__((constructor));

static void
mcpu_test_event_setup(void)
{
    if (mcpu_event_init(64 * 1024) != 0) {
        printf("# cannot allocate the event arena\n");
        exit(1);
    }
}


MCPU_TEST_MAIN()
