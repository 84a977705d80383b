/*
 * mcpu_event.h: validates one client event and builds its Kafka record.
 * Pure C with jansson: bytes in, verdict and record out.  No nginx headers,
 * so the C unit tests link it as it is.
 */

#ifndef MCPU_EVENT_H
#define MCPU_EVENT_H

#include <stddef.h>
#include <stdint.h>


/* the version of the Kafka record layout written by mcpu_event_record() */
#define MCPU_RECORD_SCHEMA       1

#define MCPU_EV_MAX_ID           128     /* Client-Id, transferId bytes */
#define MCPU_EV_MAX_HEADER       128     /* other client metadata headers */
#define MCPU_EV_MAX_CORES        1024    /* entries in a per-core object */
#define MCPU_EV_MAX_DETAIL       160
#define MCPU_EV_MAX_ATTRIBUTES   64      /* members of an extra type's
                                            "attributes" */

/* 10000-01-01T00:00:00Z: times are written with a four-digit year */
#define MCPU_EV_MAX_TIME_MS      253402300800000LL


typedef enum {
    MCPU_EV_OK = 0,
    MCPU_EV_BAD_JSON,
    MCPU_EV_NOT_OBJECT,
    MCPU_EV_MISSING_TYPE,
    MCPU_EV_UNKNOWN_TYPE,
    MCPU_EV_MISSING_TIME,
    MCPU_EV_BAD_TIME,
    MCPU_EV_MISSING_FIELD,
    MCPU_EV_BAD_FIELD,
    MCPU_EV_MISSING_CLIENT_ID,
    MCPU_EV_BAD_HEADER,
    MCPU_EV_TOO_LARGE,
    MCPU_EV_NO_MEMORY,
    MCPU_EV_BAD_SEQ,
    MCPU_EV_TIME_IN_FUTURE,
    MCPU_EV_TIME_TOO_OLD,
    MCPU_EV_LIMIT,
    MCPU_EV_LAST
} mcpu_ev_rc_t;


typedef struct {
    const char  *data;
    size_t       len;               /* data == NULL: absent */
} mcpu_ev_str_t;


/*
 * Bounds on an event.  Zero fields take the defaults below, so a zeroed
 * struct (or none) is the documented behaviour.
 */
typedef struct {
    int64_t        max_future_ms;   /* event time ahead of the server */
    int64_t        max_age_ms;      /* event time behind the server */
    unsigned       max_depth;       /* nesting of objects and arrays */
    unsigned       max_fields;      /* members of one object or array */
    unsigned       max_string;      /* bytes of one string or key */
    const char *const  *extra_types;   /* allowed beyond the brief's,
                                          NULL-terminated; NULL: none */
} mcpu_ev_limits_t;

#define MCPU_EV_DEFAULT_MAX_FUTURE_MS  (60 * 60 * 1000LL)            /* 1h */
#define MCPU_EV_DEFAULT_MAX_AGE_MS     (30 * 24 * 60 * 60 * 1000LL)  /* 30d */
#define MCPU_EV_DEFAULT_MAX_DEPTH      8
#define MCPU_EV_DEFAULT_MAX_FIELDS     1024
#define MCPU_EV_DEFAULT_MAX_STRING     4096


/* What the server knows about the request, added to every record. */
typedef struct {
    mcpu_ev_str_t  client_id;       /* Client-Id header */
    mcpu_ev_str_t  client_version;  /* Client-Version header */
    mcpu_ev_str_t  client_os;       /* Client-Os header */
    mcpu_ev_str_t  os_version;      /* Os-Version header */
    mcpu_ev_str_t  node;            /* this host, mcpu_node */
    mcpu_ev_str_t  sent_at;         /* Sent-At header: the client's clock
                                       when it sent the request */
    int64_t        received_ms;     /* receive time, ms since the epoch */
    int64_t        request_ms;      /* when the request began, the time
                                       Sent-At is compared with; 0: the
                                       same as received_ms */
    const mcpu_ev_limits_t  *limits;   /* NULL: the defaults */
} mcpu_ev_meta_t;


typedef struct {
    const char  *type;              /* on success: the event type name */
    int64_t      time_ms;           /* on success: event time, normalised */
    int64_t      skew_ms;           /* receive time - Sent-At; 0 without */
    int64_t      seq;               /* the event's seq, -1 without (set
                                       on refusals too, once parsed) */
    char         detail[MCPU_EV_MAX_DETAIL];   /* on failure: what and where */
} mcpu_ev_result_t;


/**
 * @brief Sets up the bump allocator jansson uses, so that validating an
 *        event allocates nothing from malloc in the common case.
 * @returns 0, or -1 when the arena itself cannot be allocated.
 * @warning process-global (jansson's allocator is): call once per process,
 *          before any other jansson use.
 * @locality nginx worker at start; tests.
 */
int mcpu_event_init(size_t arena_size);

/**
 * @brief Validates one event and writes its Kafka record (compact JSON) to
 *        out.  The key of the record is meta->client_id.
 * @returns MCPU_EV_OK with *out_len set, or the reason it was refused, with
 *          a sentence in res->detail.  MCPU_EV_TOO_LARGE when the record
 *          does not fit in out_size bytes.
 * @locality single-threaded callers (the arena is not thread-safe).
 */
mcpu_ev_rc_t mcpu_event_record(const char *body, size_t len,
    const mcpu_ev_meta_t *meta, char *out, size_t out_size, size_t *out_len,
    mcpu_ev_result_t *res);

/* Whether name is one of the brief's event types (extra ones may not be). */
int mcpu_event_is_builtin_type(const char *name);

/* Stable machine-readable code for the JSON error body, e.g. "bad_time". */
const char *mcpu_ev_code(mcpu_ev_rc_t rc);

/**
 * @brief Parses RFC 3339 ("2026-11-23T22:00:00.123Z", "+01:00" offsets,
 *        any number of fraction digits) into ms since the epoch.
 * @returns 0, or -1 if the text is not such a time.
 */
int mcpu_event_parse_time(const char *s, size_t len, int64_t *ms);

/* Writes ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 bytes, no NUL). */
size_t mcpu_event_format_time(int64_t ms, char *out);

/**
 * @brief Reads the schema version and the event type from a record written
 *        by mcpu_event_record(), which always begins
 *        {"schema":N,"type":"NAME", so readers (the batcher's Kafka headers)
 *        need no JSON parser.
 * @returns 0 with schema and type pointing into the record, or -1 when the
 *          record does not begin that way.
 * @locality any; no allocation.
 */
static inline int
mcpu_record_peek(const char *rec, size_t len, const char **schema,
    size_t *schema_len, const char **type, size_t *type_len)
{
    size_t  i, n;

    static const char  a[] = "{\"schema\":";
    static const char  b[] = ",\"type\":\"";

    if (len < sizeof(a) - 1 || __builtin_memcmp(rec, a, sizeof(a) - 1) != 0) {
        return -1;
    }

    i = sizeof(a) - 1;
    for (n = 0; i + n < len && rec[i + n] >= '0' && rec[i + n] <= '9'; n++) {
        /* void */
    }

    if (n == 0 || len - i - n < sizeof(b) - 1
        || __builtin_memcmp(rec + i + n, b, sizeof(b) - 1) != 0)
    {
        return -1;
    }

    *schema = rec + i;
    *schema_len = n;

    i += n + sizeof(b) - 1;
    for (n = 0; i + n < len && rec[i + n] != '"'; n++) {
        /* void */
    }

    if (i + n == len || n == 0) {
        return -1;
    }

    *type = rec + i;
    *type_len = n;

    return 0;
}


/**
 * @brief Reads the event's order from a record written by
 *        mcpu_event_record(), which always begins
 *        {"schema":N,"type":"NAME","time":"...","timeMs":N,"seq":N|null,
 *        so the batcher keeps the last-seen table (mcpu_seen_newer()) from
 *        delivery reports and from records read back from Kafka without a
 *        JSON parser.
 * @param seq  set to -1 for "seq":null.
 * @returns 0, or -1 when the record does not begin that way.  Any input is
 *          safe: the scan never passes len, and a number must be followed
 *          by its delimiter, so a record cut inside one is refused rather
 *          than read as a smaller number.
 * @locality any; no allocation.
 */
static inline int
mcpu_record_peek_order(const char *rec, size_t len, int64_t *time_ms,
    int64_t *seq)
{
    int          k;
    size_t       i, n, schema_len, type_len;
    int64_t      v[2];
    const char  *schema, *type;

    static const char     a[] = "\",\"time\":\"";
    static const char    *m[2] = { ",\"timeMs\":", ",\"seq\":" };
    static const size_t   m_len[2] = { sizeof(",\"timeMs\":") - 1,
                                       sizeof(",\"seq\":") - 1 };

    if (mcpu_record_peek(rec, len, &schema, &schema_len, &type, &type_len)
        != 0)
    {
        return -1;
    }

    /* on the type's closing quote (mcpu_record_peek() found it) */
    i = (size_t) (type - rec) + type_len;

    if (len - i < sizeof(a) - 1
        || __builtin_memcmp(rec + i, a, sizeof(a) - 1) != 0)
    {
        return -1;
    }

    /* the time is mcpu_event_format_time()'s: no quote inside */
    for (i += sizeof(a) - 1; i < len && rec[i] != '"'; i++) {
        /* void */
    }

    if (i == len) {
        return -1;
    }

    i++;

    for (k = 0; k < 2; k++) {
        if (len - i < m_len[k]
            || __builtin_memcmp(rec + i, m[k], m_len[k]) != 0)
        {
            return -1;
        }

        i += m_len[k];

        if (k == 1 && len - i >= 4
            && __builtin_memcmp(rec + i, "null", 4) == 0)
        {
            v[k] = -1;
            n = 4;

        } else {
            /* at most 18 digits, so no overflow: times and seqs have 16 */
            v[k] = 0;

            for (n = 0; i + n < len && rec[i + n] >= '0' && rec[i + n] <= '9';
                 n++)
            {
                if (n == 18) {
                    return -1;
                }

                v[k] = v[k] * 10 + (rec[i + n] - '0');
            }

            if (n == 0) {
                return -1;
            }
        }

        /* timeMs is followed by seq's comma; seq by the next member or the
         * record's end */
        if (i + n == len
            || (rec[i + n] != ',' && (k == 0 || rec[i + n] != '}')))
        {
            return -1;
        }

        i += n;
    }

    *time_ms = v[0];
    *seq = v[1];

    return 0;
}

#endif /* MCPU_EVENT_H */
