/*
 * mcpu_sink_conf.c: mcpu-sink's option table and what depends on several
 * of its options; the option engine that reads the file and the command
 * line through the table, and prints it, is common/mcpu_conf.c.
 *
 * Every option is one row of mcpu_sink_options[]: each default is written
 * once, here, and --help and --list-options (the README's list) print the
 * rows.  A value that is not valid stops start-up with one line naming the
 * option and the value; nothing is corrected silently.
 */

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "mcpu_conf.h"
#include "mcpu_sink_conf.h"


#define MCPU_SINK_CONF_NAME     "mcpu-sink"
#define MCPU_SINK_CONF_VERSION  "0.1.0"

/* librdkafka's default max.poll.interval.ms */
#define MCPU_SINK_CONF_POLL_INTERVAL_MS  300000


static int mcpu_sink_conf_derive(void *data, char *errstr,
    size_t errstr_size);
static int mcpu_sink_conf_table_ok(const char *s);
static int mcpu_sink_conf_url_ok(const char *url, char *errstr,
    size_t errstr_size);
static long mcpu_sink_conf_poll_interval(const mcpu_sink_conf_t *conf);


#define MCPU_SINK_AT(field)  offsetof(mcpu_sink_conf_t, field)

/*
 * Columns (mcpu_conf_option_t): name, flag, letter, type, arg, default,
 * default as documented, min, max (integers), dmin, dmax (DOUBLE), offset,
 * description, example.
 */
static const mcpu_conf_option_t  mcpu_sink_options[] = {

    MCPU_CONF_ROW_CONFIG("mcpu-sink", MCPU_SINK_AT(config_file)),

    { "brokers", "brokers", 0, MCPU_CONF_OPT_STR, "LIST",
      "127.0.0.1:9092", NULL, 0, 0, 0, 0, MCPU_SINK_AT(brokers),
      "Kafka bootstrap servers, `host:port[,host:port...]`; sets librdkafka's "
      "`bootstrap.servers`, which a `kafka.bootstrap.servers` line or "
      "`-X bootstrap.servers=...` overrides.",
      "brokers = kafka-1:9092,kafka-2:9092" },

    { "group", "group", 0, MCPU_CONF_OPT_STR, "NAME", "mcpu-sink", NULL,
      0, 0, 0, 0, MCPU_SINK_AT(group),
      "The Kafka consumer group (librdkafka's `group.id`) that reads "
      "`topic`.  Every instance writing to one table uses the same group: "
      "the partitions are shared among them, and the offsets committed are "
      "the group's.",
      "group = mcpu-sink-eu" },

    { "topic", "topic", 0, MCPU_CONF_OPT_TOPIC, "NAME",
      "mcpu.events.clean", NULL, 0, 0, 0, 0, MCPU_SINK_AT(topic),
      "Kafka topic of the clean events, the one mcpu-dedup writes (its "
      "`output_topic`).  It must exist.",
      "mcpu-sink --topic mcpu.events.eu.clean" },

    { "clickhouse_url", "clickhouse-url", 0, MCPU_CONF_OPT_STR, "URL",
      "http://127.0.0.1:8123", NULL, 0, 0, 0, 0,
      MCPU_SINK_AT(clickhouse_url),
      "ClickHouse's HTTP interface, `http[s]://[user:password@]host:port`, "
      "with settings as URL parameters if wanted (`?user=...&password=...`)."
      "  One keep-alive connection; the user needs SELECT and INSERT on "
      "`table`, nothing more.  Passwords are never written to the log.",
      "clickhouse_url = http://mcpu:secret@clickhouse-1:8123" },

    { "table", "table", 0, MCPU_CONF_OPT_STR, "DB.TABLE", "mcpu.events",
      NULL, 0, 0, 0, 0, MCPU_SINK_AT(table),
      "The table the events go to, with the columns of store/schema.sql.  "
      "mcpu-sink does not create it: at start it checks that it exists and "
      "has every column it writes, and stops with exit code 2 otherwise.",
      "table = mcpu.events" },

    { "batch", "batch", 0, MCPU_CONF_OPT_NUM, "N", "10000", NULL,
      1, 1000000, 0, 0, MCPU_SINK_AT(batch),
      "Rows per INSERT at most.  ClickHouse makes one part per INSERT (and "
      "month of events), so rows are never inserted one by one; up to "
      "1,000,000 one INSERT is one block, applied whole or not at all.  "
      "One batch is in memory at a time: its records, as JSON rows.",
      "batch = 50000" },

    { "batch_ms", "batch-ms", 0, MCPU_CONF_OPT_NUM, "N", "1000", NULL,
      1, 600000, 0, 0, MCPU_SINK_AT(batch_ms),
      "Milliseconds after a batch's first record at which it is inserted "
      "even when it is not full: the most an event waits in mcpu-sink "
      "while ClickHouse is well.",
      "batch_ms = 5000" },

    { "insert_timeout_ms", "insert-timeout-ms", 0, MCPU_CONF_OPT_NUM, "N",
      "30000", NULL, 100, 3600000, 0, 0, MCPU_SINK_AT(insert_timeout_ms),
      "Milliseconds one INSERT may take, connection included.  An INSERT "
      "that ran out of time may or may not have been applied: it is sent "
      "again, and the table's key makes the second copy harmless.  Must be "
      "below librdkafka's `max.poll.interval.ms`.",
      "insert_timeout_ms = 60000" },

    { "retry_max_ms", "retry-max-ms", 0, MCPU_CONF_OPT_NUM, "N", "30000",
      NULL, 100, 3600000, 0, 0, MCPU_SINK_AT(retry_max_ms),
      "When an INSERT fails, the batch is sent again after 1 s, then after "
      "twice as long each time, up to this many milliseconds.  Meanwhile "
      "nothing more is read: the partitions are paused, the group "
      "membership kept.",
      "retry_max_ms = 60000" },

    { "flush_timeout_ms", "flush-timeout-ms", 0, MCPU_CONF_OPT_NUM, "N",
      "10000", NULL, 0, 3600000, 0, 0, MCPU_SINK_AT(flush_timeout_ms),
      "At SIGTERM and when partitions are revoked, milliseconds to insert "
      "the batch in hand and commit its offsets.  A batch ClickHouse has "
      "not taken by then is dropped uncommitted: whoever reads the "
      "partitions next reads it again.",
      "mcpu-sink --flush-timeout-ms 30000" },

    { "metrics_file", "metrics-file", 0, MCPU_CONF_OPT_PATH, "PATH", "",
      "none", 0, 0, 0, 0, MCPU_SINK_AT(metrics_file),
      "Writes counters in Prometheus text format to PATH every "
      "`metrics_interval_ms`, atomically (a temporary file, then "
      "rename()), for node_exporter's textfile collector or a static "
      "location of nginx.",
      "metrics_file = /var/lib/node_exporter/mcpu-sink.prom" },

    { "metrics_interval_ms", "metrics-interval-ms", 0, MCPU_CONF_OPT_NUM,
      "N", "5000", NULL, 100, 3600000, 0, 0,
      MCPU_SINK_AT(metrics_interval_ms),
      "Milliseconds between two writes of `metrics_file`.",
      "metrics_interval_ms = 15000" },

    MCPU_CONF_ROW_LOG_FILE("mcpu-sink", "/var/log/mcpu/sink.log",
                           MCPU_SINK_AT(log_file)),

    { "kafka.PROPERTY", NULL, 'X', MCPU_CONF_OPT_KAFKA, "PROPERTY=VALUE",
      NULL, "enable.auto.commit=false enable.auto.offset.store=false "
      "auto.offset.reset=earliest isolation.level=read_committed "
      "queued.max.messages.kbytes=16384 client.id=mcpu-sink", 0, 0, 0, 0,
      MCPU_CONF_OPT_NONE,
      "Passes a librdkafka property to `rd_kafka_conf_set()` untouched "
      "(repeatable; see librdkafka's CONFIGURATION.md): "
      "`kafka.session.timeout.ms = 10000` in the file, "
      "`-X session.timeout.ms=10000` on the command line.  They are applied "
      "after mcpu-sink's defaults, file lines first, so either overrides a "
      "default; producer-only properties (`P` in CONFIGURATION.md) are "
      "skipped.  A property librdkafka refuses stops start-up with "
      "librdkafka's message and exit code 2.  `queued.max.messages.kbytes` "
      "bounds what librdkafka fetches ahead, the rest of mcpu-sink's "
      "memory beside the batch.",
      "mcpu-sink -X session.timeout.ms=10000 -X fetch.wait.max.ms=100" },

    MCPU_CONF_ROWS_ACTIONS("mcpu-sink"),
};

#define MCPU_SINK_NOPTIONS \
    (sizeof(mcpu_sink_options) / sizeof(mcpu_sink_options[0]))


static const mcpu_conf_program_t  mcpu_sink_program = {
    MCPU_SINK_CONF_NAME,
    MCPU_SINK_CONF_VERSION,

    /* --help: the summary, then after the options the epilogue */
    "Writes the events of the clean Kafka topic to ClickHouse, in batches,\n"
    "committing the offsets only once ClickHouse has the rows.",

    "In the file (-c) each option is a `name = value` line, e.g.\n"
    "`batch = 50000`, `kafka.session.timeout.ms = 10000`; --list-options "
    "describes them all.\n"
    "Signals: TERM/INT insert the batch in hand and stop, HUP reopens the "
    "log file.\n"
    "Exit codes: 0 clean stop, 1 runtime failure (a fatal Kafka error; a "
    "restart resumes\nwithout loss), 2 a setting, the topic or the table "
    "was refused (a restart would not help).\n",

    mcpu_sink_options,
    MCPU_SINK_NOPTIONS,
    sizeof(mcpu_sink_conf_t),
    MCPU_SINK_AT(kafka),
    MCPU_SINK_AT(nkafka),
    MCPU_SINK_AT(test),
    mcpu_sink_conf_derive
};


int
mcpu_sink_conf_load(mcpu_sink_conf_t *conf, int argc, char **argv,
    char *errstr, size_t errstr_size)
{
    return mcpu_conf_load(&mcpu_sink_program, conf, argc, argv, errstr,
                          errstr_size);
}


void
mcpu_sink_conf_free(mcpu_sink_conf_t *conf)
{
    mcpu_conf_free(&mcpu_sink_program, conf);
}


/*
 * What depends on other options, once all are read: the table's name goes
 * into SQL as it is, so it must be a plain name; the URL must be one curl
 * takes; and a blocking INSERT (or a flush at revocation) must end before
 * librdkafka decides that the member is stuck and leaves the group.
 */
static int
mcpu_sink_conf_derive(void *data, char *errstr, size_t errstr_size)
{
    long               poll_ms;
    mcpu_sink_conf_t  *conf = data;

    if (!mcpu_sink_conf_table_ok(conf->table)) {
        snprintf(errstr, errstr_size, "option \"table\" (\"%s\") is not a "
                 "table name: [database.]table, letters, digits and _",
                 conf->table);
        return MCPU_CONF_ERROR;
    }

    if (mcpu_sink_conf_url_ok(conf->clickhouse_url, errstr, errstr_size)
        != 0)
    {
        return MCPU_CONF_ERROR;
    }

    poll_ms = mcpu_sink_conf_poll_interval(conf);

    if (conf->insert_timeout_ms >= poll_ms) {
        snprintf(errstr, errstr_size, "option \"insert_timeout_ms\" (%ld) "
                 "must be below kafka property \"max.poll.interval.ms\" "
                 "(%ld): an INSERT that long would cost the group "
                 "membership", conf->insert_timeout_ms, poll_ms);
        return MCPU_CONF_ERROR;
    }

    if (conf->flush_timeout_ms >= poll_ms) {
        snprintf(errstr, errstr_size, "option \"flush_timeout_ms\" (%ld) "
                 "must be below kafka property \"max.poll.interval.ms\" "
                 "(%ld)", conf->flush_timeout_ms, poll_ms);
        return MCPU_CONF_ERROR;
    }

    return MCPU_CONF_OK;
}


static int
mcpu_sink_conf_table_ok(const char *s)
{
    int     dots = 0;
    size_t  n = 0;

    for ( ; *s != '\0'; s++) {
        if (*s == '.') {
            if (n == 0 || ++dots > 1) {
                return 0;
            }
            n = 0;
            continue;
        }

        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
              || *s == '_' || (n > 0 && *s >= '0' && *s <= '9')))
        {
            return 0;
        }

        n++;
    }

    return n > 0;
}


static int
mcpu_sink_conf_url_ok(const char *url, char *errstr, size_t errstr_size)
{
    int        ok;
    CURLU     *u;
    char      *scheme = NULL, *host = NULL, safe[512];
    CURLUcode  rc;

    mcpu_sink_conf_url_safe(url, safe, sizeof(safe));

    u = curl_url();
    if (u == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }

    rc = curl_url_set(u, CURLUPART_URL, url, 0);
    ok = rc == CURLUE_OK
         && curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK
         && curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK
         && (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);

    if (!ok) {
        snprintf(errstr, errstr_size, "option \"clickhouse_url\" (\"%s\") is "
                 "not an http:// or https:// URL%s%s", safe,
                 rc != CURLUE_OK ? ": " : "",
                 rc != CURLUE_OK ? curl_url_strerror(rc) : "");
    }

    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);

    return ok ? 0 : -1;
}


/* the last max.poll.interval.ms given wins, as in librdkafka */
static long
mcpu_sink_conf_poll_interval(const mcpu_sink_conf_t *conf)
{
    long    v = MCPU_SINK_CONF_POLL_INTERVAL_MS;
    char   *end;
    size_t  i;

    for (i = 0; i < conf->nkafka; i++) {
        if (strcmp(conf->kafka[i].name, "max.poll.interval.ms") == 0) {
            v = strtol(conf->kafka[i].value, &end, 10);
            if (*end != '\0' || v <= 0) {
                v = MCPU_SINK_CONF_POLL_INTERVAL_MS;  /* librdkafka judges */
            }
        }
    }

    return v;
}


void
mcpu_sink_conf_url_safe(const char *url, char *out, size_t out_size)
{
    char         tmp[2048];
    size_t       n;
    const char  *p, *at, *colon, *slash, *pw, *end;

    snprintf(out, out_size, "%s", url);

    /* user:password@host */
    p = strstr(url, "://");
    p = p != NULL ? p + 3 : url;
    slash = p + strcspn(p, "/?#");
    at = memchr(p, '@', (size_t) (slash - p));
    colon = at != NULL ? memchr(p, ':', (size_t) (at - p)) : NULL;

    if (colon != NULL) {
        n = (size_t) (colon - url) + 1;
        snprintf(out, out_size, "%.*s***%s", (int) n, url, at);
    }

    /* ?password=... or &password=... */
    pw = strstr(out, "password=");
    if (pw != NULL && pw > out && (pw[-1] == '?' || pw[-1] == '&')) {
        end = pw + strlen("password=");
        n = strcspn(end, "&#");
        snprintf(tmp, sizeof(tmp), "%.*s***%s", (int) (end - out), out,
                 end + n);
        snprintf(out, out_size, "%s", tmp);
    }
}
