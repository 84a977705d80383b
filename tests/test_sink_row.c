/*
 * test_sink_row.c: tests of sink/mcpu_sink_row.c (a clean record as a
 * JSONEachRow row of mcpu.events).  Links mcpu_sink_row.c and
 * dedup/mcpu_dedup_key.c, and jansson; the harness is tests/mcpu_test.h.
 *
 * Records are written here in the module's layout (README, "The Kafka
 * record"); the row each test expects is spelled out whole, so a change in
 * the mapping shows as a changed line.  Every test runs with mcpu-sink's
 * arena allocator on, as the program does.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcpu_dedup_key.h"
#include "mcpu_sink_row.h"
#include "mcpu_test.h"


#define README_KEY  "6a:d6:96:d3:45:35"

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


/* a record in the module's layout: type, seq ("null" or digits), client
 * object text, event text */
static char *
record(const char *type, const char *seq, const char *client,
    const char *event)
{
    char  *r;

    if (asprintf(&r, "{\"schema\":1,\"type\":\"%s\","
                 "\"time\":\"2026-11-23T22:00:00.250Z\","
                 "\"timeMs\":1795471200250,\"seq\":%s,"
                 "\"receivedAt\":\"2026-11-23T22:00:01.004Z\","
                 "\"receivedAtMs\":1795471201004,\"sentAt\":null,"
                 "\"sentAtMs\":null,\"skewMs\":null,\"node\":\"edge-1\","
                 "\"client\":%s,\"event\":%s}", type, seq, client, event)
        < 0)
    {
        return NULL;
    }

    return r;
}

#define CLIENT  "{\"id\":\"c1\",\"version\":\"6.04\",\"os\":\"Linux\"," \
                "\"osVersion\":\"6.1\"}"


static int
starts_with(const char *s, const char *prefix)
{
    return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}


/* the row of (key, value), NUL-terminated, newline cut; NULL when skipped */
static char *
row_of(const char *key, const char *value, int *rc, char *reason,
    size_t reason_size)
{
    char             *s;
    mcpu_sink_buf_t   b = { NULL, 0, 0 };

    mcpu_sink_row_init();

    *rc = mcpu_sink_row_append(&b, key, key ? strlen(key) : 0, value,
                               strlen(value), reason, reason_size);
    if (*rc != MCPU_SINK_ROW_OK) {
        CHECK_EQ_U64(b.len, 0);
        mcpu_sink_buf_free(&b);
        return NULL;
    }

    CHECK(b.len > 0 && b.data[b.len - 1] == '\n');
    s = strndup(b.data, b.len - 1);
    mcpu_sink_buf_free(&b);
    return s;
}


static void
test_sink_row_maps_the_readme_record(const char *dir)
{
    int    rc;
    char  *row, reason[256];

    (void) dir;

    row = row_of(README_KEY, readme_record, &rc, reason, sizeof(reason));
    if (!CHECK_EQ_INT(rc, MCPU_SINK_ROW_OK)) {
        return;
    }

    CHECK_STR_EQ(row,
        "{\"client_id\":\"6a:d6:96:d3:45:35\","
        "\"dedup_key\":\"530000000000000011\","
        "\"type\":\"CpuMeasurement\",\"time\":1795471200,"
        "\"time_ms\":1795471200250,\"seq\":17,"
        "\"received_ms\":1795471201004,\"node\":\"edge-eu-1\","
        "\"client_version\":\"6.04\",\"client_os\":\"Windows\","
        "\"os_version\":\"10.0.19045\",\"session_id\":\"\","
        "\"cpu\":46.75,\"cores\":2,\"transfer_id\":\"\","
        "\"event\":\"{\\\"type\\\":\\\"CpuMeasurement\\\","
        "\\\"time\\\":\\\"2026-11-23T22:00:00.250Z\\\",\\\"seq\\\":17,"
        "\\\"usage\\\":{\\\"0\\\":12.5,\\\"1\\\":81}}\"}");
    free(row);
}


static void
test_sink_row_null_seq_and_null_client_fields_are_minus_one_and_empty(
    const char *dir)
{
    int    rc;
    char  *r, *row, reason[256];

    (void) dir;

    r = record("AppClosed", "null",
               "{\"id\":\"c1\",\"version\":null,\"os\":null,"
               "\"osVersion\":null}",
               "{\"type\":\"AppClosed\",\"time\":1795471200250}");
    row = row_of("c1", r, &rc, reason, sizeof(reason));
    if (CHECK_EQ_INT(rc, MCPU_SINK_ROW_OK)) {
        CHECK_STR_CONTAINS(row, "\"seq\":-1,");
        CHECK_STR_CONTAINS(row, "\"client_version\":\"\",\"client_os\":\"\","
                           "\"os_version\":\"\",");
        CHECK_STR_CONTAINS(row, "\"cpu\":0,\"cores\":0,");
        /* no seq: mcpu-dedup's content key, 'C' and the time first */
        CHECK_STR_CONTAINS(row, "\"dedup_key\":\"43000001a20a6c4ffa"
                           "417070436c6f73656400");
    }

    free(row);
    free(r);
}


static void
test_sink_row_cpu_is_the_mean_of_the_numeric_usage_values(const char *dir)
{
    int          i, rc;
    char        *r, *row, reason[256];
    const char  *cases[][3] = {
        /* type, usage, expected cpu and cores */
        { "CpuMeasurement", "{\"0\":10,\"1\":20,\"2\":60.5}",
          "\"cpu\":30.166666666666668,\"cores\":3," },
        { "CpuMeasurement", "[50,25,\"x\",null]", "\"cpu\":37.5,\"cores\":4," },
        { "CpuMeasurement", "{}", "\"cpu\":0,\"cores\":0," },
        { "CpuMeasurement", "{\"0\":\"high\"}", "\"cpu\":0,\"cores\":1," },
        { "CpuMeasurement", "42", "\"cpu\":0,\"cores\":0," },
        { "CpuMeasurement", "[1e308,1e308]", "\"cpu\":0,\"cores\":2," },
        { "CpuSummary", "{\"0\":50}", "\"cpu\":0,\"cores\":0," },
    };
    char         event[256];

    (void) dir;

    for (i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++) {
        snprintf(event, sizeof(event), "{\"type\":\"%s\",\"time\":1,"
                 "\"usage\":%s}", cases[i][0], cases[i][1]);
        r = record(cases[i][0], "3", CLIENT, event);
        row = row_of("c1", r, &rc, reason, sizeof(reason));

        if (CHECK_EQ_INT(rc, MCPU_SINK_ROW_OK)
            && strstr(row, cases[i][2]) == NULL)
        {
            FAIL_MSG("usage %s of %s: want %s in %s", cases[i][1],
                     cases[i][0], cases[i][2], row);
        }

        free(row);
        free(r);
    }
}


static void
test_sink_row_session_and_transfer_ids_only_when_strings(const char *dir)
{
    int    rc;
    char  *r, *row, reason[256];

    (void) dir;

    r = record("FileTransferStarted", "4", CLIENT,
               "{\"type\":\"FileTransferStarted\",\"time\":1,"
               "\"sessionId\":\"s-9\",\"transferId\":\"tr-1\"}");
    row = row_of("c1", r, &rc, reason, sizeof(reason));
    if (CHECK_EQ_INT(rc, MCPU_SINK_ROW_OK)) {
        CHECK_STR_CONTAINS(row, "\"session_id\":\"s-9\",");
        CHECK_STR_CONTAINS(row, "\"transfer_id\":\"tr-1\",");
    }
    free(row);
    free(r);

    r = record("FileTransferStarted", "4", CLIENT,
               "{\"type\":\"FileTransferStarted\",\"time\":1,"
               "\"sessionId\":7,\"transferId\":{\"a\":1}}");
    row = row_of("c1", r, &rc, reason, sizeof(reason));
    if (CHECK_EQ_INT(rc, MCPU_SINK_ROW_OK)) {
        CHECK_STR_CONTAINS(row, "\"session_id\":\"\",");
        CHECK_STR_CONTAINS(row, "\"transfer_id\":\"\",");
    }
    free(row);
    free(r);
}


static void
test_sink_row_event_keeps_the_records_own_bytes(const char *dir)
{
    int    rc;
    char  *r, *row, reason[256];

    (void) dir;

    /* escapes as the client wrote them: \u00e9 is not re-encoded */
    r = record("AppOpened", "5", CLIENT,
               "{\"type\":\"AppOpened\",\"time\":1,"
               "\"title\":\"a \\\"q\\\" \\\\ \\u00e9\",\"n\":1.0}");
    row = row_of("c1", r, &rc, reason, sizeof(reason));
    if (CHECK_EQ_INT(rc, MCPU_SINK_ROW_OK)) {
        CHECK_STR_CONTAINS(row, ",\"event\":\"{\\\"type\\\":\\\"AppOpened\\\","
                           "\\\"time\\\":1,\\\"title\\\":\\\"a \\\\\\\"q\\\\"
                           "\\\" \\\\\\\\ \\\\u00e9\\\",\\\"n\\\":1.0}\"}");
    }
    free(row);
    free(r);
}


static void
test_sink_row_record_of_another_layout_gets_its_parsed_event(const char *dir)
{
    int    rc;
    char  *row, reason[256];

    (void) dir;

    /* valid, but not the module's member order: the event is rewritten */
    row = row_of("c1", "{\"event\":{\"type\":\"AppOpened\", \"time\": 1 },"
                 "\"schema\":1,\"type\":\"AppOpened\",\"timeMs\":5000,"
                 "\"seq\":null,\"receivedAtMs\":6000,\"node\":\"n\","
                 "\"client\":null}", &rc, reason, sizeof(reason));
    if (CHECK_EQ_INT(rc, MCPU_SINK_ROW_OK)) {
        CHECK_STR_CONTAINS(row, "\"event\":\"{\\\"type\\\":\\\"AppOpened\\\","
                           "\\\"time\\\":1}\"}");
        CHECK_STR_CONTAINS(row, "\"time\":5,\"time_ms\":5000,\"seq\":-1,");
        /* mcpu-dedup reads it as not mcpu's: a raw key, after its NUL */
        CHECK_STR_CONTAINS(row, "\"dedup_key\":\"52");
    }
    free(row);
}


static void
test_sink_row_dedup_key_is_mcpu_dedups_after_the_client_id(const char *dir)
{
    int                rc;
    char              *r, *row, reason[256], want[256], *p;
    size_t             i;
    mcpu_dedup_key_t   k;

    (void) dir;

    r = record("CpuMeasurement", "null", CLIENT,
               "{\"type\":\"CpuMeasurement\",\"time\":1,\"usage\":[1]}");
    mcpu_dedup_key_of("c1", 2, r, strlen(r), &k);
    CHECK_EQ_INT(k.kind, MCPU_DEDUP_KIND_CONTENT);

    p = want + sprintf(want, "\"dedup_key\":\"");
    for (i = 3; i < k.len; i++) {           /* after "c1" and its NUL */
        p += sprintf(p, "%02x", k.bytes[i]);
    }
    strcpy(p, "\",");

    row = row_of("c1", r, &rc, reason, sizeof(reason));
    if (CHECK_EQ_INT(rc, MCPU_SINK_ROW_OK)) {
        CHECK_STR_CONTAINS(row, want);
    }
    free(row);
    free(r);
}


static void
test_sink_row_client_id_falls_back_to_the_records(const char *dir)
{
    int    rc;
    char  *r, *row, reason[256];

    (void) dir;

    r = record("AppOpened", "1", CLIENT, "{\"type\":\"AppOpened\",\"time\":1}");
    row = row_of(NULL, r, &rc, reason, sizeof(reason));
    if (CHECK_EQ_INT(rc, MCPU_SINK_ROW_OK)) {
        CHECK(starts_with(row, "{\"client_id\":\"c1\",\"dedup_key\":\"52"));
    }
    free(row);
    free(r);
}


static void
test_sink_row_control_characters_and_quotes_are_escaped(const char *dir)
{
    int    rc;
    char  *r, *row, reason[256];

    (void) dir;

    r = record("AppOpened", "1", CLIENT, "{\"type\":\"AppOpened\",\"time\":1}");
    row = row_of("a\t\"b\\", r, &rc, reason, sizeof(reason));
    if (CHECK_EQ_INT(rc, MCPU_SINK_ROW_OK)) {
        CHECK(starts_with(row, "{\"client_id\":\"a\\u0009\\\"b\\\\\","));
    }
    free(row);
    free(r);
}


static void
test_sink_row_unmappable_records_are_skipped_with_a_reason(const char *dir)
{
    int          i, rc;
    char        *row, reason[256];
    const char  *cases[][2] = {
        { "not json", "not JSON" },
        { "[1,2]", "not a JSON object" },
        { "{\"schema\":2,\"type\":\"A\"}", "schema 2 is not known" },
        { "{\"type\":\"A\"}", "\"schema\"" },
        { "{\"schema\":1,\"type\":\"\",\"timeMs\":1,\"seq\":1,"
          "\"receivedAtMs\":1,\"event\":{}}", "\"type\"" },
        { "{\"schema\":1,\"type\":\"A\",\"timeMs\":\"1\",\"seq\":1,"
          "\"receivedAtMs\":1,\"event\":{}}", "\"timeMs\"" },
        { "{\"schema\":1,\"type\":\"A\",\"timeMs\":1,\"seq\":-2,"
          "\"receivedAtMs\":1,\"event\":{}}", "\"seq\"" },
        { "{\"schema\":1,\"type\":\"A\",\"timeMs\":1,\"seq\":1,"
          "\"event\":{}}", "\"receivedAtMs\"" },
        { "{\"schema\":1,\"type\":\"A\",\"timeMs\":1,\"seq\":1,"
          "\"receivedAtMs\":1,\"node\":\"n\"}", "\"event\"" },
        { "{\"schema\":1,\"type\":\"A\",\"timeMs\":1,\"seq\":1,"
          "\"receivedAtMs\":1,\"event\":[]}", "\"event\"" },
        { "{\"schema\":1,\"type\":\"A\",\"timeMs\":4294967296000,\"seq\":1,"
          "\"receivedAtMs\":1,\"event\":{}}", "DateTime" },
        { "{\"schema\":1,\"type\":\"A\",\"timeMs\":1,\"seq\":1,"
          "\"receivedAtMs\":1,\"node\":3,\"event\":{}}", "\"node\"" },
        { "{\"schema\":1,\"type\":\"A\",\"timeMs\":1,\"seq\":1,"
          "\"receivedAtMs\":1,\"client\":{\"os\":1},\"event\":{}}",
          "\"client\"" },
    };

    (void) dir;

    for (i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++) {
        reason[0] = '\0';
        row = row_of("k", cases[i][0], &rc, reason, sizeof(reason));
        if (!CHECK_EQ_INT(rc, MCPU_SINK_ROW_SKIP)) {
            FAIL_MSG("mapped: %s -> %s", cases[i][0], row);
            free(row);
            continue;
        }

        if (strstr(reason, cases[i][1]) == NULL) {
            FAIL_MSG("%s: reason \"%s\" lacks \"%s\"", cases[i][0], reason,
                     cases[i][1]);
        }
    }

    /* no Kafka key and no client.id: nothing to store it under */
    row = row_of(NULL, "{\"schema\":1,\"type\":\"A\",\"timeMs\":1,\"seq\":1,"
                 "\"receivedAtMs\":1,\"client\":null,\"event\":{}}", &rc,
                 reason, sizeof(reason));
    CHECK_EQ_INT(rc, MCPU_SINK_ROW_SKIP);
    CHECK_STR_CONTAINS(reason, "no client id");
}


static void
test_sink_row_rows_follow_each_other_in_one_buffer(const char *dir)
{
    int               i, rc, n = 0;
    char              reason[256], *r;
    size_t            len = 0;
    mcpu_sink_buf_t   b = { NULL, 0, 0 };

    (void) dir;

    mcpu_sink_row_init();
    r = record("AppOpened", "1", CLIENT, "{\"type\":\"AppOpened\",\"time\":1}");

    for (i = 0; i < 3000; i++) {
        /* a skipped record between two rows leaves no trace */
        rc = mcpu_sink_row_append(&b, "c1", 2, i % 3 ? r : "x", i % 3
                                  ? strlen(r) : 1, reason, sizeof(reason));
        CHECK_EQ_INT(rc, i % 3 ? MCPU_SINK_ROW_OK : MCPU_SINK_ROW_SKIP);
        if (rc == MCPU_SINK_ROW_OK && len == 0) {
            len = b.len;
        }
    }

    for (i = 0; i < (int) b.len; i++) {
        n += b.data[i] == '\n';
    }

    CHECK_EQ_INT(n, 2000);
    CHECK_EQ_U64(b.len, 2000 * len);
    mcpu_sink_buf_free(&b);
    free(r);
}


/* a tree larger than the arena goes to malloc and back, the row whole */
static void
test_sink_row_record_larger_than_the_arena_is_mapped(const char *dir)
{
    int      rc;
    char    *big, *r, *row, reason[256], *p;
    size_t   n = 200000;

    (void) dir;

    big = malloc(n + 64);
    if (!CHECK(big != NULL)) {
        return;
    }

    p = big + sprintf(big, "{\"type\":\"AppOpened\",\"time\":1,\"pad\":[");
    while ((size_t) (p - big) < n) {
        p += sprintf(p, "\"xxxxxxxxxxxxxxxx\",");
    }
    strcpy(p - 1, "]}");

    r = record("AppOpened", "2", CLIENT, big);
    row = row_of("c1", r, &rc, reason, sizeof(reason));
    if (CHECK_EQ_INT(rc, MCPU_SINK_ROW_OK)) {
        CHECK(strlen(row) > strlen(big));
    }

    free(row);
    free(r);
    free(big);

    /* and the arena serves the next record as before */
    r = record("AppOpened", "3", CLIENT, "{\"type\":\"AppOpened\",\"time\":1}");
    row = row_of("c1", r, &rc, reason, sizeof(reason));
    CHECK_EQ_INT(rc, MCPU_SINK_ROW_OK);
    free(row);
    free(r);
}


TEST_LIST = {
    { "test_sink_row_maps_the_readme_record",
      test_sink_row_maps_the_readme_record },
    { "test_sink_row_null_seq_and_null_client_fields_are_minus_one_and_empty",
      test_sink_row_null_seq_and_null_client_fields_are_minus_one_and_empty },
    { "test_sink_row_cpu_is_the_mean_of_the_numeric_usage_values",
      test_sink_row_cpu_is_the_mean_of_the_numeric_usage_values },
    { "test_sink_row_session_and_transfer_ids_only_when_strings",
      test_sink_row_session_and_transfer_ids_only_when_strings },
    { "test_sink_row_event_keeps_the_records_own_bytes",
      test_sink_row_event_keeps_the_records_own_bytes },
    { "test_sink_row_record_of_another_layout_gets_its_parsed_event",
      test_sink_row_record_of_another_layout_gets_its_parsed_event },
    { "test_sink_row_dedup_key_is_mcpu_dedups_after_the_client_id",
      test_sink_row_dedup_key_is_mcpu_dedups_after_the_client_id },
    { "test_sink_row_client_id_falls_back_to_the_records",
      test_sink_row_client_id_falls_back_to_the_records },
    { "test_sink_row_control_characters_and_quotes_are_escaped",
      test_sink_row_control_characters_and_quotes_are_escaped },
    { "test_sink_row_unmappable_records_are_skipped_with_a_reason",
      test_sink_row_unmappable_records_are_skipped_with_a_reason },
    { "test_sink_row_rows_follow_each_other_in_one_buffer",
      test_sink_row_rows_follow_each_other_in_one_buffer },
    { "test_sink_row_record_larger_than_the_arena_is_mapped",
      test_sink_row_record_larger_than_the_arena_is_mapped },
    { NULL, NULL }
};

MCPU_TEST_MAIN()
