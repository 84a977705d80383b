/*
 * mcpu_event.c: event validation and the Kafka record, with jansson.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mcpu_event.h"


/* what a field must hold */
typedef enum {
    MCPU_EV_F_ID = 1,            /* non-empty string, at most MCPU_EV_MAX_ID */
    MCPU_EV_F_TIME,              /* RFC 3339 string or integer epoch ms */
    MCPU_EV_F_COUNT,             /* integer >= 1 */
    MCPU_EV_F_PERCENT_MAP,       /* object: core -> number in 0..100 */
    MCPU_EV_F_NONNEG_MAP,        /* object: core -> number >= 0 */
    MCPU_EV_F_PERCENT,           /* number in 0..100 */
    MCPU_EV_F_BYTES,             /* integer >= 0 */
    MCPU_EV_F_ATTRIBUTES         /* object of at most MCPU_EV_MAX_ATTRIBUTES */
} mcpu_ev_kind_t;

typedef struct {
    const char      *name;
    mcpu_ev_kind_t   kind;
    unsigned         optional;   /* checked only when present */
} mcpu_ev_field_t;

typedef struct {
    const char             *name;
    const mcpu_ev_field_t  *fields;    /* NULL-terminated */
} mcpu_ev_type_t;

typedef struct {
    char    *p;
    char    *end;
    int      overflow;
} mcpu_ev_buf_t;

typedef struct {
    unsigned char  *base;
    size_t          size;
    size_t          used;
    unsigned        failed;     /* an allocation failed in this event */
} mcpu_ev_arena_t;


static void *mcpu_ev_arena_alloc(size_t size);
static void mcpu_ev_arena_free(void *p);
static const mcpu_ev_type_t *mcpu_ev_find_type(const char *name);
static const mcpu_ev_type_t *mcpu_ev_find_extra(const char *name,
    const char *const *extra, mcpu_ev_type_t *t);
static mcpu_ev_rc_t mcpu_ev_check_progress(json_t *ev,
    mcpu_ev_result_t *res);
static mcpu_ev_rc_t mcpu_ev_check_time(json_t *v, int64_t *ms);
static mcpu_ev_rc_t mcpu_ev_check_field(json_t *ev, const mcpu_ev_field_t *f,
    mcpu_ev_result_t *res);
static int mcpu_ev_check_map(json_t *v, double max);
static mcpu_ev_rc_t mcpu_ev_check_meta(const mcpu_ev_meta_t *meta,
    mcpu_ev_result_t *res);
static int mcpu_ev_printable(mcpu_ev_str_t s, size_t max, int space);
static void mcpu_ev_put(mcpu_ev_buf_t *b, const char *s, size_t n);
static void mcpu_ev_put_str(mcpu_ev_buf_t *b, mcpu_ev_str_t s);
static void mcpu_ev_put_int(mcpu_ev_buf_t *b, int64_t v);
static void mcpu_ev_put_time(mcpu_ev_buf_t *b, int64_t ms);
static void mcpu_ev_put_compact(mcpu_ev_buf_t *b, const char *p,
    size_t len);
static int64_t mcpu_ev_days_from_civil(int64_t y, unsigned m, unsigned d);
static mcpu_ev_rc_t mcpu_ev_check_limits(json_t *v, unsigned depth,
    const mcpu_ev_limits_t *lim, mcpu_ev_result_t *res);
static mcpu_ev_rc_t mcpu_ev_check_times(json_t *ev, const mcpu_ev_meta_t *meta,
    const mcpu_ev_limits_t *lim, int64_t *sent_ms, mcpu_ev_result_t *res);
static void mcpu_ev_put_opt_time(mcpu_ev_buf_t *b, const char *name,
    int64_t ms, int present);
static int mcpu_ev_utf8_prefix(const char *s, int max);
static void mcpu_ev_limits_defaults(mcpu_ev_limits_t *lim,
    const mcpu_ev_limits_t *conf);
static int mcpu_ev_parse_header_time(mcpu_ev_str_t s, int64_t *ms);


#define mcpu_ev_put_lit(b, s)  mcpu_ev_put(b, s, sizeof(s) - 1)


static const mcpu_ev_field_t  mcpu_ev_cpu_fields[] = {
    { "usage", MCPU_EV_F_PERCENT_MAP, 0 },
    { "process", MCPU_EV_F_PERCENT, 1 },       /* the client's own share */
    { NULL, 0, 0 }
};

static const mcpu_ev_field_t  mcpu_ev_summary_fields[] = {
    { "start", MCPU_EV_F_TIME, 0 },
    { "end", MCPU_EV_F_TIME, 0 },
    { "observations", MCPU_EV_F_COUNT, 0 },
    { "average", MCPU_EV_F_PERCENT_MAP, 0 },
    { "variance", MCPU_EV_F_NONNEG_MAP, 0 },
    { NULL, 0, 0 }
};

static const mcpu_ev_field_t  mcpu_ev_transfer_fields[] = {
    { "transferId", MCPU_EV_F_ID, 0 },
    { NULL, 0, 0 }
};

static const mcpu_ev_field_t  mcpu_ev_progress_fields[] = {
    { "transferId", MCPU_EV_F_ID, 0 },
    { "bytesDone", MCPU_EV_F_BYTES, 1 },
    { "bytesTotal", MCPU_EV_F_BYTES, 1 },
    { NULL, 0, 0 }
};

static const mcpu_ev_field_t  mcpu_ev_no_fields[] = {
    { NULL, 0, 0 }
};

/* the types an operator allows with mcpu_event_type_allow */
static const mcpu_ev_field_t  mcpu_ev_extra_fields[] = {
    { "attributes", MCPU_EV_F_ATTRIBUTES, 1 },
    { NULL, 0, 0 }
};

static const mcpu_ev_type_t  mcpu_ev_types[] = {
    { "CpuMeasurement", mcpu_ev_cpu_fields },
    { "CpuSummary", mcpu_ev_summary_fields },
    { "FileTransferStarted", mcpu_ev_transfer_fields },
    { "FileTransferProgress", mcpu_ev_progress_fields },
    { "FileTransferCompleted", mcpu_ev_transfer_fields },
    { "AppOpened", mcpu_ev_no_fields },
    { "AppClosed", mcpu_ev_no_fields },
    { NULL, NULL }
};

static const char  *mcpu_ev_codes[MCPU_EV_LAST] = {
    [MCPU_EV_OK] = "ok",
    [MCPU_EV_BAD_JSON] = "bad_json",
    [MCPU_EV_NOT_OBJECT] = "not_an_object",
    [MCPU_EV_MISSING_TYPE] = "missing_type",
    [MCPU_EV_UNKNOWN_TYPE] = "unknown_type",
    [MCPU_EV_MISSING_TIME] = "missing_time",
    [MCPU_EV_BAD_TIME] = "bad_time",
    [MCPU_EV_MISSING_FIELD] = "missing_field",
    [MCPU_EV_BAD_FIELD] = "bad_field",
    [MCPU_EV_MISSING_CLIENT_ID] = "missing_client_id",
    [MCPU_EV_BAD_HEADER] = "bad_header",
    [MCPU_EV_TOO_LARGE] = "record_too_large",
    [MCPU_EV_NO_MEMORY] = "no_memory",
    [MCPU_EV_BAD_SEQ] = "bad_seq",
    [MCPU_EV_TIME_IN_FUTURE] = "time_in_future",
    [MCPU_EV_TIME_TOO_OLD] = "time_too_old",
    [MCPU_EV_LIMIT] = "limit_exceeded",
};

/*
 * jansson allocates a tree per event; a bump arena reset after every event
 * keeps that off malloc.  An event bigger than the arena falls back to
 * malloc (correct, just slower), so the arena size is a speed setting only.
 */
static mcpu_ev_arena_t  mcpu_ev_arena;


int
mcpu_event_init(size_t arena_size)
{
    if (mcpu_ev_arena.base == NULL) {
        mcpu_ev_arena.base = malloc(arena_size);
        if (mcpu_ev_arena.base == NULL) {
            return -1;
        }

        mcpu_ev_arena.size = arena_size;
    }

    json_set_alloc_funcs(mcpu_ev_arena_alloc, mcpu_ev_arena_free);

    /* seeding reads /dev/urandom: do it now, not on the first event */
    json_object_seed(0);
    return 0;
}


static void *
mcpu_ev_arena_alloc(size_t size)
{
    void             *p;
    size_t            aligned;
    mcpu_ev_arena_t  *a = &mcpu_ev_arena;

    aligned = (size + 15) & ~(size_t) 15;

    if (a->base != NULL && aligned <= a->size - a->used) {
        p = a->base + a->used;
        a->used += aligned;
        return p;
    }

    p = malloc(size);
    if (p == NULL) {
        /* jansson reports it as a parse error without saying why: the
         * allocator is where out of memory is known (mcpu_event_record) */
        a->failed = 1;
    }

    return p;
}


static void
mcpu_ev_arena_free(void *p)
{
    mcpu_ev_arena_t  *a = &mcpu_ev_arena;

    if ((unsigned char *) p >= a->base
        && (unsigned char *) p < a->base + a->size)
    {
        return;
    }

    free(p);
}


const char *
mcpu_ev_code(mcpu_ev_rc_t rc)
{
    return rc < MCPU_EV_LAST ? mcpu_ev_codes[rc] : "unknown";
}


/* an operator-allowed type: the name is the configured string, stable */
static const mcpu_ev_type_t *
mcpu_ev_find_extra(const char *name, const char *const *extra,
    mcpu_ev_type_t *t)
{
    for ( /* void */ ; extra != NULL && *extra != NULL; extra++) {
        if (strcmp(*extra, name) == 0) {
            t->name = *extra;
            t->fields = mcpu_ev_extra_fields;
            return t;
        }
    }

    return NULL;
}


int
mcpu_event_is_builtin_type(const char *name)
{
    return mcpu_ev_find_type(name) != NULL;
}


/* bytes done cannot exceed the total, when the client sends both */
static mcpu_ev_rc_t
mcpu_ev_check_progress(json_t *ev, mcpu_ev_result_t *res)
{
    json_t  *done, *total;

    done = json_object_get(ev, "bytesDone");
    total = json_object_get(ev, "bytesTotal");

    if (json_is_integer(done) && json_is_integer(total)
        && json_integer_value(done) > json_integer_value(total))
    {
        snprintf(res->detail, sizeof(res->detail), "field \"bytesDone\" "
                 "exceeds \"bytesTotal\"");
        return MCPU_EV_BAD_FIELD;
    }

    return MCPU_EV_OK;
}


static const mcpu_ev_type_t *
mcpu_ev_find_type(const char *name)
{
    const mcpu_ev_type_t  *t;

    for (t = mcpu_ev_types; t->name != NULL; t++) {
        if (strcmp(t->name, name) == 0) {
            return t;
        }
    }

    return NULL;
}


/* Howard Hinnant's days_from_civil: no tables, no locale, no syscall */
static int64_t
mcpu_ev_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t   era;
    unsigned  yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned) (y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + (int64_t) doe - 719468;
}


static int
mcpu_ev_digits(const char *s, int n, int *v)
{
    int  i;

    *v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        *v = *v * 10 + (s[i] - '0');
    }

    return 0;
}


int
mcpu_event_parse_time(const char *s, size_t len, int64_t *ms)
{
    int            y, mo, d, h, mi, sec, oh, om, frac, scale;
    size_t         i;
    int64_t        t;
    static const unsigned char  mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31,
                                            30, 31, 30, 31 };

    /* YYYY-MM-DDTHH:MM:SS is 19 bytes; a zone designator follows */
    if (len < 20 || s[4] != '-' || s[7] != '-'
        || (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        || s[13] != ':' || s[16] != ':'
        || mcpu_ev_digits(s, 4, &y) || mcpu_ev_digits(s + 5, 2, &mo)
        || mcpu_ev_digits(s + 8, 2, &d) || mcpu_ev_digits(s + 11, 2, &h)
        || mcpu_ev_digits(s + 14, 2, &mi) || mcpu_ev_digits(s + 17, 2, &sec))
    {
        return -1;
    }

    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1]
        || (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0
                                                    || y % 400 == 0)))
        || h > 23 || mi > 59 || sec > 60)
    {
        return -1;
    }

    i = 19;
    frac = 0;

    if (s[i] == '.') {
        scale = 100;

        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            frac += (s[i] - '0') * scale;
            scale /= 10;
        }

        if (i == 20) {
            return -1;
        }
    }

    /* a leap second is counted as the last ms of its minute */
    if (sec == 60) {
        sec = 59;
        frac = 999;
    }

    t = ((mcpu_ev_days_from_civil(y, (unsigned) mo, (unsigned) d) * 24 + h)
         * 60 + mi) * 60 + sec;

    if (i == len - 1 && (s[i] == 'Z' || s[i] == 'z')) {
        *ms = t * 1000 + frac;
        return 0;
    }

    if (i + 6 != len || (s[i] != '+' && s[i] != '-') || s[i + 3] != ':'
        || mcpu_ev_digits(s + i + 1, 2, &oh)
        || mcpu_ev_digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
    {
        return -1;
    }

    t -= (s[i] == '+' ? 1 : -1) * (int64_t) (oh * 3600 + om * 60);
    *ms = t * 1000 + frac;

    /* an offset can move 9999-12-31 into year 10000, which the record's
     * four-digit year cannot hold (found by fuzz/fuzz_event.c) */
    return *ms >= 0 && *ms < MCPU_EV_MAX_TIME_MS ? 0 : -1;
}


static void
mcpu_ev_put_digits(char *p, uint64_t v, int n)
{
    while (n-- > 0) {
        p[n] = (char) ('0' + v % 10);
        v /= 10;
    }
}


size_t
mcpu_event_format_time(int64_t ms, char *out)
{
    int64_t   days, secs, z, era, doe, yoe, y, doy, mp, d, m;

    days = ms / 86400000;
    secs = (ms / 1000) % 86400;

    /* civil_from_days, the inverse of the above */
    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;

    mcpu_ev_put_digits(out, (uint64_t) y, 4);
    out[4] = '-';
    mcpu_ev_put_digits(out + 5, (uint64_t) m, 2);
    out[7] = '-';
    mcpu_ev_put_digits(out + 8, (uint64_t) d, 2);
    out[10] = 'T';
    mcpu_ev_put_digits(out + 11, (uint64_t) (secs / 3600), 2);
    out[13] = ':';
    mcpu_ev_put_digits(out + 14, (uint64_t) (secs / 60 % 60), 2);
    out[16] = ':';
    mcpu_ev_put_digits(out + 17, (uint64_t) (secs % 60), 2);
    out[19] = '.';
    mcpu_ev_put_digits(out + 20, (uint64_t) (ms % 1000), 3);
    out[23] = 'Z';

    return 24;
}


/* a header: RFC 3339, or the digits of epoch milliseconds */
static int
mcpu_ev_parse_header_time(mcpu_ev_str_t s, int64_t *ms)
{
    size_t  i;

    if (s.len == 0 || s.len > 64) {
        return -1;
    }

    if (s.data[0] < '0' || s.data[0] > '9' || memchr(s.data, '-', s.len)) {
        return mcpu_event_parse_time(s.data, s.len, ms);
    }

    for (*ms = 0, i = 0; i < s.len; i++) {
        if (s.data[i] < '0' || s.data[i] > '9' || i >= 15) {
            return -1;
        }

        *ms = *ms * 10 + (s.data[i] - '0');
    }

    return *ms < MCPU_EV_MAX_TIME_MS ? 0 : -1;
}


static mcpu_ev_rc_t
mcpu_ev_check_time(json_t *v, int64_t *ms)
{
    /* epoch ms up to the end of year 9999 */
    if (json_is_integer(v)) {
        *ms = json_integer_value(v);
        return *ms >= 0 && *ms < MCPU_EV_MAX_TIME_MS ? MCPU_EV_OK
                                                     : MCPU_EV_BAD_TIME;
    }

    if (json_is_string(v)
        && mcpu_event_parse_time(json_string_value(v), json_string_length(v),
                                 ms) == 0)
    {
        return MCPU_EV_OK;
    }

    return MCPU_EV_BAD_TIME;
}


static int
mcpu_ev_check_map(json_t *v, double max)
{
    double       x;
    size_t       n;
    json_t      *value;
    const char  *key;

    n = json_object_size(v);
    if (!json_is_object(v) || n == 0 || n > MCPU_EV_MAX_CORES) {
        return -1;
    }

    json_object_foreach(v, key, value) {
        if (!json_is_number(value) || key[0] == '\0') {
            return -1;
        }

        x = json_number_value(value);
        if (!(x >= 0 && x <= max)) {
            return -1;
        }
    }

    return 0;
}


static mcpu_ev_rc_t
mcpu_ev_check_field(json_t *ev, const mcpu_ev_field_t *f,
    mcpu_ev_result_t *res)
{
    int64_t      ms;
    json_t      *v;
    const char  *why;

    v = json_object_get(ev, f->name);
    if (v == NULL) {
        if (f->optional) {
            return MCPU_EV_OK;
        }

        snprintf(res->detail, sizeof(res->detail), "field \"%s\" is required"
                 " for type \"%s\"", f->name, res->type);
        return MCPU_EV_MISSING_FIELD;
    }

    switch (f->kind) {

    case MCPU_EV_F_ID:
        if (json_is_string(v) && json_string_length(v) > 0
            && json_string_length(v) <= MCPU_EV_MAX_ID)
        {
            return MCPU_EV_OK;
        }
        why = "a non-empty string of at most 128 bytes";
        break;

    case MCPU_EV_F_TIME:
        if (mcpu_ev_check_time(v, &ms) == MCPU_EV_OK) {
            return MCPU_EV_OK;
        }
        why = "an RFC 3339 time or integer epoch milliseconds";
        break;

    case MCPU_EV_F_COUNT:
        if (json_is_integer(v) && json_integer_value(v) >= 1) {
            return MCPU_EV_OK;
        }
        why = "an integer of at least 1";
        break;

    case MCPU_EV_F_PERCENT_MAP:
        if (mcpu_ev_check_map(v, 100) == 0) {
            return MCPU_EV_OK;
        }
        why = "an object of 1 to 1024 cores, each a percentage 0..100";
        break;

    case MCPU_EV_F_NONNEG_MAP:
        if (mcpu_ev_check_map(v, 1e308) == 0) {
            return MCPU_EV_OK;
        }
        why = "an object of 1 to 1024 cores, each a number >= 0";
        break;

    case MCPU_EV_F_PERCENT:
        if (json_is_number(v) && json_number_value(v) >= 0
            && json_number_value(v) <= 100)
        {
            return MCPU_EV_OK;
        }
        why = "a percentage 0..100";
        break;

    case MCPU_EV_F_BYTES:
        if (json_is_integer(v) && json_integer_value(v) >= 0) {
            return MCPU_EV_OK;
        }
        why = "an integer >= 0";
        break;

    default: /* MCPU_EV_F_ATTRIBUTES */
        if (json_is_object(v)
            && json_object_size(v) <= MCPU_EV_MAX_ATTRIBUTES)
        {
            return MCPU_EV_OK;
        }
        why = "an object of at most 64 members";
        break;
    }

    snprintf(res->detail, sizeof(res->detail), "field \"%s\" must be %s",
             f->name, why);
    return MCPU_EV_BAD_FIELD;
}


/* header values go into the record as JSON strings: keep them plain */
static int
mcpu_ev_printable(mcpu_ev_str_t s, size_t max, int space)
{
    size_t  i;

    if (s.len == 0 || s.len > max) {
        return 0;
    }

    for (i = 0; i < s.len; i++) {
        if ((unsigned char) s.data[i] < (space ? 0x20 : 0x21)
            || (unsigned char) s.data[i] > 0x7e)
        {
            return 0;
        }
    }

    return 1;
}


static mcpu_ev_rc_t
mcpu_ev_check_meta(const mcpu_ev_meta_t *meta, mcpu_ev_result_t *res)
{
    size_t              i;
    const mcpu_ev_str_t  *h[] = { &meta->client_version, &meta->client_os,
                                  &meta->os_version };
    static const char  *names[] = { "Client-Version", "Client-Os",
                                    "Os-Version" };

    if (meta->client_id.data == NULL) {
        snprintf(res->detail, sizeof(res->detail),
                 "the Client-Id header is required");
        return MCPU_EV_MISSING_CLIENT_ID;
    }

    if (!mcpu_ev_printable(meta->client_id, MCPU_EV_MAX_ID, 0)) {
        snprintf(res->detail, sizeof(res->detail), "the Client-Id header must "
                 "be 1 to 128 visible ASCII characters");
        return MCPU_EV_BAD_HEADER;
    }

    for (i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
        if (h[i]->data != NULL
            && !mcpu_ev_printable(*h[i], MCPU_EV_MAX_HEADER, 1))
        {
            snprintf(res->detail, sizeof(res->detail), "the %s header must be"
                     " 1 to 128 printable ASCII characters", names[i]);
            return MCPU_EV_BAD_HEADER;
        }
    }

    return MCPU_EV_OK;
}


static void
mcpu_ev_put(mcpu_ev_buf_t *b, const char *s, size_t n)
{
    if ((size_t) (b->end - b->p) < n) {
        b->overflow = 1;
        return;
    }

    memcpy(b->p, s, n);
    b->p += n;
}


/* values were checked to be printable ASCII: only " and \ need escaping */
static void
mcpu_ev_put_str(mcpu_ev_buf_t *b, mcpu_ev_str_t s)
{
    size_t  i, start;

    if (s.data == NULL) {
        mcpu_ev_put_lit(b, "null");
        return;
    }

    mcpu_ev_put_lit(b, "\"");

    for (i = 0, start = 0; i < s.len; i++) {
        if (s.data[i] == '"' || s.data[i] == '\\') {
            mcpu_ev_put(b, s.data + start, i - start);
            mcpu_ev_put_lit(b, "\\");
            start = i;
        }
    }

    mcpu_ev_put(b, s.data + start, s.len - start);
    mcpu_ev_put_lit(b, "\"");
}


static void
mcpu_ev_put_int(mcpu_ev_buf_t *b, int64_t v)
{
    char  tmp[24];

    mcpu_ev_put(b, tmp, (size_t) snprintf(tmp, sizeof(tmp), "%lld",
                                          (long long) v));
}


static void
mcpu_ev_put_time(mcpu_ev_buf_t *b, int64_t ms)
{
    char  tmp[24];

    mcpu_ev_put_lit(b, "\"");
    mcpu_ev_put(b, tmp, mcpu_event_format_time(ms, tmp));
    mcpu_ev_put_lit(b, "\"");
}


/*
 * How many bytes of s, at most max, end on a UTF-8 character boundary: a
 * detail quotes client text cut to a length, and the JSON error body must
 * stay valid UTF-8 (found by fuzz/fuzz_event.c).
 */
static int
mcpu_ev_utf8_prefix(const char *s, int max)
{
    int                   n;
    const unsigned char  *p = (const unsigned char *) s;

    n = (int) strnlen(s, (size_t) max + 1);
    if (n <= max) {
        return n;
    }

    /* s[max] starts the part cut off: back up to a character's first byte */
    n = max;
    while (n > 0 && (p[n] & 0xc0) == 0x80) {
        n--;
    }

    return n;
}


/* ,"NAME":"time","NAMEMs":ms  or both null */
static void
mcpu_ev_put_opt_time(mcpu_ev_buf_t *b, const char *name, int64_t ms,
    int present)
{
    mcpu_ev_put_lit(b, ",\"");
    mcpu_ev_put(b, name, strlen(name));
    mcpu_ev_put_lit(b, "\":");

    if (present) {
        mcpu_ev_put_time(b, ms);
    } else {
        mcpu_ev_put_lit(b, "null");
    }

    mcpu_ev_put_lit(b, ",\"");
    mcpu_ev_put(b, name, strlen(name));
    mcpu_ev_put_lit(b, "Ms\":");

    if (present) {
        mcpu_ev_put_int(b, ms);
    } else {
        mcpu_ev_put_lit(b, "null");
    }
}


static void
mcpu_ev_limits_defaults(mcpu_ev_limits_t *lim, const mcpu_ev_limits_t *conf)
{
    static const mcpu_ev_limits_t  none;

    *lim = conf ? *conf : none;

    if (lim->max_future_ms == 0) {
        lim->max_future_ms = MCPU_EV_DEFAULT_MAX_FUTURE_MS;
    }

    if (lim->max_age_ms == 0) {
        lim->max_age_ms = MCPU_EV_DEFAULT_MAX_AGE_MS;
    }

    if (lim->max_depth == 0) {
        lim->max_depth = MCPU_EV_DEFAULT_MAX_DEPTH;
    }

    if (lim->max_fields == 0) {
        lim->max_fields = MCPU_EV_DEFAULT_MAX_FIELDS;
    }

    if (lim->max_string == 0) {
        lim->max_string = MCPU_EV_DEFAULT_MAX_STRING;
    }
}


/*
 * The event as the client sent it, without the whitespace between tokens.
 * jansson has parsed and checked these very bytes, so copying them is
 * exact; dumping the tree instead would print every number again
 * (printf of doubles was a fifth of the worker's time per event).
 */
static void
mcpu_ev_put_compact(mcpu_ev_buf_t *b, const char *p, size_t len)
{
    char        c, *o;
    const char *last;
    unsigned    in_string, escaped;

    o = b->p;
    last = p + len;
    in_string = 0;
    escaped = 0;

    for ( /* void */ ; p < last; p++) {
        c = *p;

        if (!in_string && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
            continue;
        }

        if (o == b->end) {
            b->overflow = 1;
            return;
        }

        *o++ = c;

        if (escaped) {
            escaped = 0;

        } else if (c == '\\' && in_string) {
            escaped = 1;

        } else if (c == '"') {
            in_string = !in_string;
        }
    }

    b->p = o;
}


/*
 * Unknown fields are kept as sent, so their shape is bounded here: a client
 * cannot make a record deep, wide or long enough to hurt the consumers.
 */
static mcpu_ev_rc_t
mcpu_ev_check_limits(json_t *v, unsigned depth, const mcpu_ev_limits_t *lim,
    mcpu_ev_result_t *res)
{
    size_t        i;
    json_t       *m;
    const char   *key;
    mcpu_ev_rc_t  rc;

    if (json_is_string(v)) {
        if (json_string_length(v) > lim->max_string) {
            snprintf(res->detail, sizeof(res->detail), "a string is longer "
                     "than %u bytes", lim->max_string);
            return MCPU_EV_LIMIT;
        }

        return MCPU_EV_OK;
    }

    if (!json_is_object(v) && !json_is_array(v)) {
        return MCPU_EV_OK;
    }

    if (depth > lim->max_depth) {
        snprintf(res->detail, sizeof(res->detail), "objects and arrays nest "
                 "deeper than %u levels", lim->max_depth);
        return MCPU_EV_LIMIT;
    }

    if ((json_is_object(v) ? json_object_size(v) : json_array_size(v))
        > lim->max_fields)
    {
        snprintf(res->detail, sizeof(res->detail), "an object or array has "
                 "more than %u members", lim->max_fields);
        return MCPU_EV_LIMIT;
    }

    if (json_is_array(v)) {
        json_array_foreach(v, i, m) {
            rc = mcpu_ev_check_limits(m, depth + 1, lim, res);
            if (rc != MCPU_EV_OK) {
                return rc;
            }
        }

        return MCPU_EV_OK;
    }

    json_object_foreach(v, key, m) {
        if (strlen(key) > lim->max_string) {
            snprintf(res->detail, sizeof(res->detail), "a key is longer than "
                     "%u bytes", lim->max_string);
            return MCPU_EV_LIMIT;
        }

        rc = mcpu_ev_check_limits(m, depth + 1, lim, res);
        if (rc != MCPU_EV_OK) {
            return rc;
        }
    }

    return MCPU_EV_OK;
}


/*
 * The skew is measured on the request (receive time minus Sent-At, network
 * time included); the bounds apply to the event time on the server's clock,
 * so an event resent after days offline by a client whose clock is off is
 * judged by when it happened, not by the client's clock.
 */
static mcpu_ev_rc_t
mcpu_ev_check_times(json_t *ev, const mcpu_ev_meta_t *meta,
    const mcpu_ev_limits_t *lim, int64_t *sent_ms, mcpu_ev_result_t *res)
{
    int64_t  t;
    json_t  *seq;

    seq = json_object_get(ev, "seq");
    if (seq != NULL && !(json_is_integer(seq) && json_integer_value(seq) >= 0
                         && json_integer_value(seq) <= (1LL << 53)))
    {
        snprintf(res->detail, sizeof(res->detail), "field \"seq\" must be an "
                 "integer from 0 to 2^53");
        return MCPU_EV_BAD_SEQ;
    }

    res->skew_ms = 0;

    if (meta->sent_at.data != NULL) {
        if (mcpu_ev_parse_header_time(meta->sent_at, sent_ms) != 0) {
            snprintf(res->detail, sizeof(res->detail), "the Sent-At header "
                     "must be an RFC 3339 time or epoch milliseconds");
            return MCPU_EV_BAD_HEADER;
        }

        /* a stream's Sent-At is when it began, as is its request_ms */
        res->skew_ms = (meta->request_ms ? meta->request_ms
                                         : meta->received_ms) - *sent_ms;
    }

    t = res->time_ms + res->skew_ms;

    if (t - meta->received_ms > lim->max_future_ms) {
        snprintf(res->detail, sizeof(res->detail), "the event time is %lld s "
                 "ahead of the server (at most %lld s)",
                 (long long) ((t - meta->received_ms) / 1000),
                 (long long) (lim->max_future_ms / 1000));
        return MCPU_EV_TIME_IN_FUTURE;
    }

    if (meta->received_ms - t > lim->max_age_ms) {
        snprintf(res->detail, sizeof(res->detail), "the event is %lld s old "
                 "(at most %lld s)",
                 (long long) ((meta->received_ms - t) / 1000),
                 (long long) (lim->max_age_ms / 1000));
        return MCPU_EV_TIME_TOO_OLD;
    }

    return MCPU_EV_OK;
}


mcpu_ev_rc_t
mcpu_event_record(const char *body, size_t len, const mcpu_ev_meta_t *meta,
    char *out, size_t out_size, size_t *out_len, mcpu_ev_result_t *res)
{
    json_t                 *ev, *v;
    int64_t                 sent_ms;
    mcpu_ev_rc_t            rc;
    json_error_t            jerr;
    mcpu_ev_buf_t           b;
    mcpu_ev_limits_t        lim;
    mcpu_ev_type_t          extra;
    const mcpu_ev_type_t   *type;
    const mcpu_ev_field_t  *f;

    res->type = NULL;
    res->detail[0] = '\0';
    res->seq = -1;
    sent_ms = 0;

    mcpu_ev_limits_defaults(&lim, meta->limits);

    rc = mcpu_ev_check_meta(meta, res);
    if (rc != MCPU_EV_OK) {
        return rc;
    }

    if (len == 0) {
        snprintf(res->detail, sizeof(res->detail), "the body is empty");
        return MCPU_EV_BAD_JSON;
    }

    /* any value, so a batch element that is not an object says so */
    ev = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                    &jerr);
    if (ev == NULL) {
        snprintf(res->detail, sizeof(res->detail), "%.*s at line %d column %d",
                 mcpu_ev_utf8_prefix(jerr.text, 100), jerr.text, jerr.line,
                 jerr.column);
        rc = MCPU_EV_BAD_JSON;
        goto done;
    }

    if (!json_is_object(ev)) {
        snprintf(res->detail, sizeof(res->detail),
                 "an event is a JSON object");
        rc = MCPU_EV_NOT_OBJECT;
        goto done;
    }

    v = json_object_get(ev, "seq");
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        res->seq = json_integer_value(v);
    }

    rc = mcpu_ev_check_limits(ev, 1, &lim, res);
    if (rc != MCPU_EV_OK) {
        goto done;
    }

    v = json_object_get(ev, "type");
    if (!json_is_string(v)) {
        snprintf(res->detail, sizeof(res->detail),
                 "field \"type\" is required and must be a string");
        rc = MCPU_EV_MISSING_TYPE;
        goto done;
    }

    type = mcpu_ev_find_type(json_string_value(v));
    if (type == NULL) {
        type = mcpu_ev_find_extra(json_string_value(v), lim.extra_types,
                                  &extra);
    }

    if (type == NULL) {
        snprintf(res->detail, sizeof(res->detail), "unknown event type "
                 "\"%.*s\"", mcpu_ev_utf8_prefix(json_string_value(v), 64),
                 json_string_value(v));
        rc = MCPU_EV_UNKNOWN_TYPE;
        goto done;
    }

    res->type = type->name;

    v = json_object_get(ev, "time");
    if (v == NULL) {
        snprintf(res->detail, sizeof(res->detail), "field \"time\" is "
                 "required");
        rc = MCPU_EV_MISSING_TIME;
        goto done;
    }

    if (mcpu_ev_check_time(v, &res->time_ms) != MCPU_EV_OK) {
        snprintf(res->detail, sizeof(res->detail), "field \"time\" must be an "
                 "RFC 3339 time or integer epoch milliseconds");
        rc = MCPU_EV_BAD_TIME;
        goto done;
    }

    for (f = type->fields; f->name != NULL; f++) {
        rc = mcpu_ev_check_field(ev, f, res);
        if (rc != MCPU_EV_OK) {
            goto done;
        }
    }

    rc = mcpu_ev_check_progress(ev, res);
    if (rc != MCPU_EV_OK) {
        goto done;
    }

    rc = mcpu_ev_check_times(ev, meta, &lim, &sent_ms, res);
    if (rc != MCPU_EV_OK) {
        goto done;
    }

    /* the record: normalised fields on top, the event as the client sent it */
    b.p = out;
    b.end = out + out_size;
    b.overflow = 0;

    mcpu_ev_put_lit(&b, "{\"schema\":");
    mcpu_ev_put_int(&b, MCPU_RECORD_SCHEMA);
    mcpu_ev_put_lit(&b, ",\"type\":\"");
    mcpu_ev_put(&b, type->name, strlen(type->name));
    mcpu_ev_put_lit(&b, "\",\"time\":");
    mcpu_ev_put_time(&b, res->time_ms);
    mcpu_ev_put_lit(&b, ",\"timeMs\":");
    mcpu_ev_put_int(&b, res->time_ms);
    mcpu_ev_put_lit(&b, ",\"seq\":");
    v = json_object_get(ev, "seq");
    if (v != NULL) {
        mcpu_ev_put_int(&b, json_integer_value(v));
    } else {
        mcpu_ev_put_lit(&b, "null");
    }
    mcpu_ev_put_lit(&b, ",\"receivedAt\":");
    mcpu_ev_put_time(&b, meta->received_ms);
    mcpu_ev_put_lit(&b, ",\"receivedAtMs\":");
    mcpu_ev_put_int(&b, meta->received_ms);
    mcpu_ev_put_opt_time(&b, "sentAt", sent_ms, meta->sent_at.data != NULL);
    mcpu_ev_put_lit(&b, ",\"skewMs\":");
    if (meta->sent_at.data != NULL) {
        mcpu_ev_put_int(&b, res->skew_ms);
    } else {
        mcpu_ev_put_lit(&b, "null");
    }
    mcpu_ev_put_lit(&b, ",\"node\":");
    mcpu_ev_put_str(&b, meta->node);
    mcpu_ev_put_lit(&b, ",\"client\":{\"id\":");
    mcpu_ev_put_str(&b, meta->client_id);
    mcpu_ev_put_lit(&b, ",\"version\":");
    mcpu_ev_put_str(&b, meta->client_version);
    mcpu_ev_put_lit(&b, ",\"os\":");
    mcpu_ev_put_str(&b, meta->client_os);
    mcpu_ev_put_lit(&b, ",\"osVersion\":");
    mcpu_ev_put_str(&b, meta->os_version);
    mcpu_ev_put_lit(&b, "},\"event\":");
    mcpu_ev_put_compact(&b, body, len);
    mcpu_ev_put_lit(&b, "}");

    if (b.overflow) {
        snprintf(res->detail, sizeof(res->detail), "the record would exceed "
                 "%zu bytes", out_size);
        rc = MCPU_EV_TOO_LARGE;
        goto done;
    }

    *out_len = (size_t) (b.p - out);
    rc = MCPU_EV_OK;

done:

    /* the server's fault, not the client's event */
    if (rc != MCPU_EV_OK && mcpu_ev_arena.failed) {
        snprintf(res->detail, sizeof(res->detail), "out of memory");
        rc = MCPU_EV_NO_MEMORY;
    }

    if (ev != NULL) {
        json_decref(ev);
    }

    mcpu_ev_arena.failed = 0;

    mcpu_ev_arena.used = 0;
    return rc;
}
