/*
 * mcpu_sink_row.c: a clean record as a JSONEachRow row (mcpu_sink_row.h).
 * The record is parsed with jansson, its tree in a bump arena reset after
 * every record (as the module's mcpu_event.c does: jansson's mallocs and
 * frees were a third of mcpu-sink's CPU); the row is written by hand,
 * members in the table's column order, into the batch's buffer.
 */

/* memmem: _GNU_SOURCE, from the Makefile */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mcpu_event.h"
#include "mcpu_dedup_key.h"
#include "mcpu_sink_row.h"


#define MCPU_SINK_ROW_SCHEMA      1
#define MCPU_SINK_ROW_CORES_MAX   65535           /* cores is a UInt16 */
#define MCPU_SINK_ROW_TIME_MAX    4294967295LL    /* DateTime: UInt32 s */
#define MCPU_SINK_ROW_ARENA       (64 * 1024)     /* a tree of ~450 bytes of
                                                     record takes ~4 KiB */


typedef struct {
    unsigned char  *base;
    size_t          size;
    size_t          used;
} mcpu_sink_arena_t;


/* what a record maps to; the strings point into the parsed record */
typedef struct {
    const char  *client_id;
    size_t       client_id_len;
    const char  *type;
    size_t       type_len;
    int64_t      time_ms;
    int64_t      seq;
    int64_t      received_ms;
    json_t      *node;
    json_t      *version;
    json_t      *os;
    json_t      *os_version;
    json_t      *session_id;
    json_t      *transfer_id;
    double       cpu;
    long         cores;
    json_t      *event;
} mcpu_sink_row_t;


static void *mcpu_sink_arena_alloc(size_t size);
static void mcpu_sink_arena_free(void *p);
static int mcpu_sink_row_map(json_t *rec, const void *key, size_t klen,
    mcpu_sink_row_t *row, char *reason, size_t reason_size);
static int mcpu_sink_row_int(json_t *rec, const char *name, int nullable,
    int64_t *v, char *reason, size_t reason_size);
static int mcpu_sink_row_text(json_t *obj, const char *name,
    json_t **out);
static void mcpu_sink_row_usage(json_t *usage, double *cpu, long *cores);
static int mcpu_sink_row_write(mcpu_sink_buf_t *b, const mcpu_sink_row_t *row,
    const void *key, size_t klen, const char *value, size_t vlen);
static int mcpu_sink_put(mcpu_sink_buf_t *b, const char *s, size_t n);
static int mcpu_sink_put_num(mcpu_sink_buf_t *b, const char *name,
    int64_t v);
static int mcpu_sink_put_str(mcpu_sink_buf_t *b, const char *name,
    const char *s, size_t n);
static int mcpu_sink_put_json_str(mcpu_sink_buf_t *b, const char *name,
    json_t *s);
static int mcpu_sink_put_hex(mcpu_sink_buf_t *b, const char *name,
    const unsigned char *p, size_t n);
static int mcpu_sink_put_event(mcpu_sink_buf_t *b, json_t *event,
    const char *value, size_t vlen);


static const char  mcpu_sink_event_field[] = ",\"event\":";

/* jansson's memory while one record is mapped; a tree larger than the
 * arena falls back to malloc (correct, just slower) */
static mcpu_sink_arena_t  mcpu_sink_arena;


int
mcpu_sink_row_init(void)
{
    if (mcpu_sink_arena.base == NULL) {
        mcpu_sink_arena.base = malloc(MCPU_SINK_ROW_ARENA);
        if (mcpu_sink_arena.base == NULL) {
            return -1;
        }

        mcpu_sink_arena.size = MCPU_SINK_ROW_ARENA;
    }

    json_set_alloc_funcs(mcpu_sink_arena_alloc, mcpu_sink_arena_free);

    /* seeding reads /dev/urandom: now, not at the first record */
    json_object_seed(0);
    return 0;
}


int
mcpu_sink_row_append(mcpu_sink_buf_t *b, const void *key, size_t klen,
    const void *value, size_t vlen, char *reason, size_t reason_size)
{
    int              rc;
    size_t           start = b->len;
    json_t          *rec;
    json_error_t     err;
    mcpu_sink_row_t  row;

    if (value == NULL || vlen == 0) {
        snprintf(reason, reason_size, "empty value");
        return MCPU_SINK_ROW_SKIP;
    }

    rec = json_loadb(value, vlen, JSON_ALLOW_NUL, &err);
    if (rec == NULL) {
        snprintf(reason, reason_size, "not JSON: %s at byte %d", err.text,
                 err.position);
        return MCPU_SINK_ROW_SKIP;
    }

    rc = mcpu_sink_row_map(rec, key, klen, &row, reason, reason_size);

    if (rc == MCPU_SINK_ROW_OK
        && mcpu_sink_row_write(b, &row, key, klen, value, vlen) != 0)
    {
        b->len = start;
        rc = MCPU_SINK_ROW_NOMEM;
    }

    /* every block of the tree is free: the arena starts over */
    json_decref(rec);
    mcpu_sink_arena.used = 0;
    return rc;
}


static void *
mcpu_sink_arena_alloc(size_t size)
{
    void               *p;
    size_t              aligned;
    mcpu_sink_arena_t  *a = &mcpu_sink_arena;

    aligned = (size + 15) & ~(size_t) 15;

    if (a->base != NULL && aligned <= a->size - a->used) {
        p = a->base + a->used;
        a->used += aligned;
        return p;
    }

    return malloc(size);
}


static void
mcpu_sink_arena_free(void *p)
{
    mcpu_sink_arena_t  *a = &mcpu_sink_arena;

    if ((unsigned char *) p >= a->base
        && (unsigned char *) p < a->base + a->size)
    {
        return;
    }

    free(p);
}


static int
mcpu_sink_row_map(json_t *rec, const void *key, size_t klen,
    mcpu_sink_row_t *row, char *reason, size_t reason_size)
{
    int64_t   schema;
    json_t   *v, *client, *id;

    memset(row, 0, sizeof(*row));

    if (!json_is_object(rec)) {
        snprintf(reason, reason_size, "not a JSON object");
        return MCPU_SINK_ROW_SKIP;
    }

    if (mcpu_sink_row_int(rec, "schema", 0, &schema, reason, reason_size)
        != 0)
    {
        return MCPU_SINK_ROW_SKIP;
    }

    if (schema != MCPU_SINK_ROW_SCHEMA) {
        snprintf(reason, reason_size, "schema %" PRId64 " is not known (this "
                 "mcpu-sink reads schema %d)", schema, MCPU_SINK_ROW_SCHEMA);
        return MCPU_SINK_ROW_SKIP;
    }

    v = json_object_get(rec, "type");
    if (!json_is_string(v) || json_string_length(v) == 0) {
        snprintf(reason, reason_size, "member \"type\" missing or not a "
                 "non-empty string");
        return MCPU_SINK_ROW_SKIP;
    }

    row->type = json_string_value(v);
    row->type_len = json_string_length(v);

    if (mcpu_sink_row_int(rec, "timeMs", 0, &row->time_ms, reason,
                          reason_size) != 0
        || mcpu_sink_row_int(rec, "seq", 1, &row->seq, reason,
                             reason_size) != 0
        || mcpu_sink_row_int(rec, "receivedAtMs", 0, &row->received_ms,
                             reason, reason_size) != 0)
    {
        return MCPU_SINK_ROW_SKIP;
    }

    if (row->time_ms / 1000 > MCPU_SINK_ROW_TIME_MAX) {
        snprintf(reason, reason_size, "timeMs %" PRId64 " is past DateTime's "
                 "range", row->time_ms);
        return MCPU_SINK_ROW_SKIP;
    }

    if (mcpu_sink_row_text(rec, "node", &row->node) != 0) {
        snprintf(reason, reason_size, "member \"node\" is not a string");
        return MCPU_SINK_ROW_SKIP;
    }

    client = json_object_get(rec, "client");
    if (client != NULL && !json_is_object(client) && !json_is_null(client)) {
        snprintf(reason, reason_size, "member \"client\" is not an object");
        return MCPU_SINK_ROW_SKIP;
    }

    if (json_is_object(client)
        && (mcpu_sink_row_text(client, "version", &row->version) != 0
            || mcpu_sink_row_text(client, "os", &row->os) != 0
            || mcpu_sink_row_text(client, "osVersion", &row->os_version)
               != 0))
    {
        snprintf(reason, reason_size, "member \"client\" has a version, os "
                 "or osVersion that is not a string");
        return MCPU_SINK_ROW_SKIP;
    }

    /* the Kafka key is the client id; the record's own without one */
    if (key != NULL && klen > 0) {
        row->client_id = key;
        row->client_id_len = klen;

    } else {
        id = json_is_object(client) ? json_object_get(client, "id") : NULL;
        if (!json_is_string(id) || json_string_length(id) == 0) {
            snprintf(reason, reason_size, "no client id: no Kafka key and no "
                     "client.id");
            return MCPU_SINK_ROW_SKIP;
        }

        row->client_id = json_string_value(id);
        row->client_id_len = json_string_length(id);
    }

    row->event = json_object_get(rec, "event");
    if (!json_is_object(row->event)) {
        snprintf(reason, reason_size, "member \"event\" missing or not an "
                 "object");
        return MCPU_SINK_ROW_SKIP;
    }

    v = json_object_get(row->event, "sessionId");
    row->session_id = json_is_string(v) ? v : NULL;

    v = json_object_get(row->event, "transferId");
    row->transfer_id = json_is_string(v) ? v : NULL;

    if (row->type_len == sizeof("CpuMeasurement") - 1
        && memcmp(row->type, "CpuMeasurement", row->type_len) == 0)
    {
        mcpu_sink_row_usage(json_object_get(row->event, "usage"), &row->cpu,
                            &row->cores);
    }

    return MCPU_SINK_ROW_OK;
}


/* an integer >= 0 member; with nullable, null reads as -1 */
static int
mcpu_sink_row_int(json_t *rec, const char *name, int nullable, int64_t *v,
    char *reason, size_t reason_size)
{
    json_t  *j = json_object_get(rec, name);

    if (nullable && json_is_null(j)) {
        *v = -1;
        return 0;
    }

    if (!json_is_integer(j) || json_integer_value(j) < 0) {
        snprintf(reason, reason_size, "member \"%s\" missing or not an "
                 "integer >= 0%s", name, nullable ? " or null" : "");
        return -1;
    }

    *v = (int64_t) json_integer_value(j);
    return 0;
}


/* a member that is a string, null or absent (out: NULL for the last two) */
static int
mcpu_sink_row_text(json_t *obj, const char *name, json_t **out)
{
    json_t  *j = json_object_get(obj, name);

    *out = NULL;

    if (j == NULL || json_is_null(j)) {
        return 0;
    }

    if (!json_is_string(j)) {
        return -1;
    }

    *out = j;
    return 0;
}


/* the mean of usage's numeric values; cores counts every entry */
static void
mcpu_sink_row_usage(json_t *usage, double *cpu, long *cores)
{
    long         n = 0, entries = 0;
    double       sum = 0;
    size_t       i;
    json_t      *v;
    const char  *k;

    if (json_is_object(usage)) {
        json_object_foreach(usage, k, v) {
            entries++;
            if (json_is_number(v)) {
                sum += json_number_value(v);
                n++;
            }
        }

    } else if (json_is_array(usage)) {
        json_array_foreach(usage, i, v) {
            entries++;
            if (json_is_number(v)) {
                sum += json_number_value(v);
                n++;
            }
        }
    }

    *cpu = n > 0 ? sum / (double) n : 0;
    if (!isfinite(*cpu)) {
        *cpu = 0;       /* numbers near DBL_MAX: JSON has no infinity */
    }

    *cores = entries < MCPU_SINK_ROW_CORES_MAX ? entries
                                               : MCPU_SINK_ROW_CORES_MAX;
}


static int
mcpu_sink_row_write(mcpu_sink_buf_t *b, const mcpu_sink_row_t *row,
    const void *key, size_t klen, const char *value, size_t vlen)
{
    int                    n;
    char                   num[64];
    const unsigned char   *k;
    mcpu_dedup_key_t       dk;

    /* mcpu-dedup's key, from the Kafka key as mcpu-dedup read it; what
     * follows the client id and its NUL (for a record that is not mcpu's,
     * the whole 'R' key after its leading NUL) */
    mcpu_dedup_key_of(key, klen, value, vlen, &dk);
    k = memchr(dk.bytes, 0, dk.len);
    k = k != NULL ? k + 1 : dk.bytes;

    n = snprintf(num, sizeof(num), "%.17g", row->cpu);

    return mcpu_sink_put_str(b, "{\"client_id\"", row->client_id,
                                row->client_id_len)
           || mcpu_sink_put_hex(b, ",\"dedup_key\"", k,
                                (size_t) (dk.bytes + dk.len - k))
           || mcpu_sink_put_str(b, ",\"type\"", row->type, row->type_len)
           || mcpu_sink_put_num(b, ",\"time\"", row->time_ms / 1000)
           || mcpu_sink_put_num(b, ",\"time_ms\"", row->time_ms)
           || mcpu_sink_put_num(b, ",\"seq\"", row->seq)
           || mcpu_sink_put_num(b, ",\"received_ms\"", row->received_ms)
           || mcpu_sink_put_json_str(b, ",\"node\"", row->node)
           || mcpu_sink_put_json_str(b, ",\"client_version\"", row->version)
           || mcpu_sink_put_json_str(b, ",\"client_os\"", row->os)
           || mcpu_sink_put_json_str(b, ",\"os_version\"", row->os_version)
           || mcpu_sink_put_json_str(b, ",\"session_id\"", row->session_id)
           || mcpu_sink_put(b, ",\"cpu\":", 7)
           || mcpu_sink_put(b, num, (size_t) n)
           || mcpu_sink_put_num(b, ",\"cores\"", row->cores)
           || mcpu_sink_put_json_str(b, ",\"transfer_id\"", row->transfer_id)
           || mcpu_sink_put_event(b, row->event, value, vlen)
           || mcpu_sink_put(b, "}\n", 2);
}


/*
 * The event column: the record's own bytes of the event when the record
 * has the module's layout (mcpu_event.c writes the event last, and every
 * member before it is a number or an escaped string, so the first
 * structural ,"event": is the one: mcpu_dedup_key.c reads it the same
 * way); any other record's parsed event, written compactly.
 */
static int
mcpu_sink_put_event(mcpu_sink_buf_t *b, json_t *event, const char *value,
    size_t vlen)
{
    int          rc;
    char        *text;
    int64_t      time_ms, seq;
    const char  *e;

    if (mcpu_record_peek_order(value, vlen, &time_ms, &seq) == 0
        && vlen >= 2 && value[vlen - 1] == '}' && value[vlen - 2] == '}')
    {
        e = memmem(value, vlen, mcpu_sink_event_field,
                   sizeof(mcpu_sink_event_field) - 1);

        if (e != NULL) {
            e += sizeof(mcpu_sink_event_field) - 1;
            if (*e == '{') {
                return mcpu_sink_put_str(b, ",\"event\"", e,
                                         (size_t) (value + vlen - 1 - e));
            }
        }
    }

    text = json_dumps(event, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text == NULL) {
        return -1;
    }

    rc = mcpu_sink_put_str(b, ",\"event\"", text, strlen(text));
    mcpu_sink_arena_free(text);     /* jansson's memory, arena or not */
    return rc;
}


int
mcpu_sink_buf_reserve(mcpu_sink_buf_t *b, size_t n)
{
    char    *p;
    size_t   cap;

    if (b->cap - b->len >= n) {
        return 0;
    }

    for (cap = b->cap ? b->cap : 65536; cap - b->len < n; cap *= 2) {
        /* void */
    }

    p = realloc(b->data, cap);
    if (p == NULL) {
        return -1;
    }

    b->data = p;
    b->cap = cap;
    return 0;
}


void
mcpu_sink_buf_free(mcpu_sink_buf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}


static int
mcpu_sink_put(mcpu_sink_buf_t *b, const char *s, size_t n)
{
    if (mcpu_sink_buf_reserve(b, n) != 0) {
        return -1;
    }

    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}


/* name, here and below: the member's name with its quotes and what comes
 * before it, {"client_id" or ,"seq" */
static int
mcpu_sink_put_num(mcpu_sink_buf_t *b, const char *name, int64_t v)
{
    int   n;
    char  s[80];

    n = snprintf(s, sizeof(s), "%s:%" PRId64, name, v);
    return mcpu_sink_put(b, s, (size_t) n);
}


/*
 * A JSON string of any bytes, as ClickHouse's JSON reader takes it: quote
 * and backslash escaped, control characters as \u00XX, everything else
 * (UTF-8 included) as it is.
 */
static int
mcpu_sink_put_str(mcpu_sink_buf_t *b, const char *name, const char *s,
    size_t n)
{
    char                 *p;
    size_t                i;
    unsigned char         c;
    static const char     hex[] = "0123456789abcdef";

    if (mcpu_sink_put(b, name, strlen(name)) != 0) {
        return -1;
    }

    if (mcpu_sink_buf_reserve(b, 3 + n * 6) != 0) {
        return -1;
    }

    p = b->data + b->len;
    *p++ = ':';
    *p++ = '"';

    for (i = 0; i < n; i++) {
        c = (unsigned char) s[i];

        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char) c;

        } else if (c < 0x20) {
            *p++ = '\\';
            *p++ = 'u';
            *p++ = '0';
            *p++ = '0';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 0xf];

        } else {
            *p++ = (char) c;
        }
    }

    *p++ = '"';
    b->len = (size_t) (p - b->data);
    return 0;
}


/* a string member from jansson, or '' for NULL */
static int
mcpu_sink_put_json_str(mcpu_sink_buf_t *b, const char *name, json_t *s)
{
    if (s == NULL) {
        return mcpu_sink_put_str(b, name, "", 0);
    }

    return mcpu_sink_put_str(b, name, json_string_value(s),
                             json_string_length(s));
}


static int
mcpu_sink_put_hex(mcpu_sink_buf_t *b, const char *name,
    const unsigned char *p, size_t n)
{
    char               *o;
    size_t              i;
    static const char   hex[] = "0123456789abcdef";

    if (mcpu_sink_put(b, name, strlen(name)) != 0
        || mcpu_sink_buf_reserve(b, 3 + n * 2) != 0)
    {
        return -1;
    }

    o = b->data + b->len;
    *o++ = ':';
    *o++ = '"';

    for (i = 0; i < n; i++) {
        *o++ = hex[p[i] >> 4];
        *o++ = hex[p[i] & 0xf];
    }

    *o++ = '"';
    b->len = (size_t) (o - b->data);
    return 0;
}
