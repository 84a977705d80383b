/*
 * mcpu_batcher_conf.c: the option table, the config file, the command line.
 *
 * Every option is one row of mcpu_batcher_options[]: the file and the
 * command line are parsed through it, defaults are applied through it (so
 * each default is written once, here), and --help and --list-options print
 * it.  A value that is not valid stops start-up with one line naming the
 * option and the value; nothing is corrected silently.
 */

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "mcpu_seen.h"
#include "mcpu_batcher.h"
#include "mcpu_batcher_conf.h"


#define MCPU_BATCHER_OPT_STR      1   /* any non-empty text */
#define MCPU_BATCHER_OPT_PATH     2   /* a path; empty allowed if deflt "" */
#define MCPU_BATCHER_OPT_TOPIC    3   /* a valid Kafka topic name */
#define MCPU_BATCHER_OPT_NUM      4   /* integer within [min, max] */
#define MCPU_BATCHER_OPT_POW2     5   /* NUM and a power of two */
#define MCPU_BATCHER_OPT_KAFKA    6   /* kafka.PROP = V / -X PROP=V */
#define MCPU_BATCHER_OPT_CONFIG   7   /* -c FILE: command line only */
#define MCPU_BATCHER_OPT_ACTION   8   /* --help etc.: command line only */
#define MCPU_BATCHER_OPT_TOPIC_OFF 9  /* a topic name, or empty: none */
#define MCPU_BATCHER_OPT_TOPICS   10  /* topic,topic...; empty: none */

#define MCPU_BATCHER_OPT_NONE     ((size_t) -1)

#define MCPU_BATCHER_TOPIC_MAX    249   /* Kafka's own limit */

#define MCPU_BATCHER_KAFKA_PREFIX "kafka."

#define MCPU_BATCHER_SEEN_SUFFIX  ".seen"

/* the table's defaults come from mcpu_seen.h, as text for the option rows */
#define MCPU_BATCHER_STR(x)       MCPU_BATCHER_STR_(x)
#define MCPU_BATCHER_STR_(x)      #x


typedef struct {
    const char  *name;        /* in the file, and the README heading */
    const char  *flag;        /* long command-line option, without "--" */
    int          letter;      /* short command-line option, or 0 */
    int          type;        /* MCPU_BATCHER_OPT_* */
    const char  *arg;         /* what the value looks like: PATH, N, ... */
    const char  *deflt;       /* applied before the file; NULL: none */
    const char  *deflt_doc;   /* shown instead of deflt when set */
    long         min;
    long         max;
    size_t       offset;      /* into mcpu_batcher_conf_t */
    const char  *description;
    const char  *example;     /* a command line or file line using it */
} mcpu_batcher_option_t;


static int mcpu_batcher_conf_defaults(mcpu_batcher_conf_t *conf,
    char *errstr, size_t errstr_size);
static int mcpu_batcher_conf_file(mcpu_batcher_conf_t *conf,
    const char *path, char *errstr, size_t errstr_size);
static int mcpu_batcher_conf_argv(mcpu_batcher_conf_t *conf, int argc,
    char **argv, int apply, char *errstr, size_t errstr_size);
static int mcpu_batcher_conf_set(mcpu_batcher_conf_t *conf,
    const mcpu_batcher_option_t *opt, const char *value, const char *where,
    char *errstr, size_t errstr_size);
static int mcpu_batcher_conf_kafka(mcpu_batcher_conf_t *conf,
    const char *name, const char *value, const char *origin,
    char *errstr, size_t errstr_size);
static int mcpu_batcher_conf_number(const mcpu_batcher_option_t *opt,
    const char *value, const char *where, long *n, char *errstr,
    size_t errstr_size);
static int mcpu_batcher_conf_topic_ok(const char *s);
static int mcpu_batcher_conf_topics_ok(const char *s, char *bad,
    size_t bad_size);
static int mcpu_batcher_conf_listed(const char *list, const char *name);
static int mcpu_batcher_conf_derive(mcpu_batcher_conf_t *conf, char *errstr,
    size_t errstr_size);
static const mcpu_batcher_option_t *mcpu_batcher_conf_find(const char *name);
static char *mcpu_batcher_conf_trim(char *s);
static void mcpu_batcher_conf_help(void);
static void mcpu_batcher_conf_list(void);
static void mcpu_batcher_conf_version(void);


#define MCPU_BATCHER_AT(field)  offsetof(mcpu_batcher_conf_t, field)

static const mcpu_batcher_option_t  mcpu_batcher_options[] = {

    { "config", "config", 'c', MCPU_BATCHER_OPT_CONFIG, "FILE", NULL,
      "none", 0, 0, MCPU_BATCHER_AT(config_file),
      "Reads settings from FILE: one `name = value` per line, blank lines "
      "and lines starting with `#` ignored, no quoting (the value is the "
      "rest of the line with the spaces around it removed).  An unknown "
      "name, a name given twice or a bad value stops start-up with "
      "FILE:LINE.  Options given on the command line override the file.",
      "mcpu-batcher -c /etc/mcpu/mcpu-batcher.conf" },

    { "ring", "ring", 0, MCPU_BATCHER_OPT_PATH, "PATH",
      "/var/lib/mcpu/ring", NULL, 0, 0, MCPU_BATCHER_AT(ring),
      "The ring file that nginx's mcpu module creates and appends events "
      "to; it must name the same file as the module's ring directive.  The "
      "batcher never creates, truncates or re-creates it (its geometry is "
      "nginx's): while it does not exist the batcher logs once (and again "
      "every 10 minutes) and waits for nginx, checking every 100 ms; "
      "meanwhile SIGTERM stops it at once with exit code 0 and SIGHUP "
      "reopens its log.  One batcher per ring: a second one refuses to "
      "start and names the first one's pid.",
      "mcpu-batcher --ring /var/lib/mcpu/ring" },

    { "brokers", "brokers", 0, MCPU_BATCHER_OPT_STR, "LIST",
      "127.0.0.1:9092", NULL, 0, 0, MCPU_BATCHER_AT(brokers),
      "Kafka bootstrap servers, `host:port[,host:port...]`; sets librdkafka's "
      "`bootstrap.servers`, which a `kafka.bootstrap.servers` line or "
      "`-X bootstrap.servers=...` overrides.",
      "brokers = kafka-1:9092,kafka-2:9092" },

    { "topic", "topic", 0, MCPU_BATCHER_OPT_TOPIC, "NAME",
      "mcpu.events", NULL, 0, 0, MCPU_BATCHER_AT(topic),
      "Kafka topic of the raw events.  Each record goes out with the client "
      "id as key (so a client's events share a partition) and the JSON "
      "event as value.",
      "mcpu-batcher --topic mcpu.events.eu" },

    { "kafka.PROPERTY", NULL, 'X', MCPU_BATCHER_OPT_KAFKA, "PROPERTY=VALUE",
      NULL, "enable.idempotence=true acks=all linger.ms=5 "
      "message.timeout.ms=0 client.id=mcpu-batcher", 0, 0,
      MCPU_BATCHER_OPT_NONE,
      "Passes a librdkafka property to `rd_kafka_conf_set()` untouched "
      "(repeatable; see librdkafka's CONFIGURATION.md): `kafka.linger.ms = "
      "20` in the file, `-X linger.ms=20` on the command line.  They are "
      "applied after the batcher's defaults, file lines first, so either "
      "overrides a default.  They apply to the producer and to the consumer "
      "of `last_seen_topic` alike, except that each skips those "
      "CONFIGURATION.md marks as for the other only (`P`, `C`).  A property "
      "librdkafka refuses stops start-up "
      "with librdkafka's message and exit code 2.  `message.timeout.ms=0` "
      "(no timeout) lets librdkafka retry for as long as Kafka is away "
      "while the records wait in the ring; a record whose delivery still "
      "fails stays in the ring and is produced again.",
      "mcpu-batcher -X compression.type=lz4 -X linger.ms=20" },

    { "batch", "batch", 0, MCPU_BATCHER_OPT_NUM, "N", "1000", NULL,
      1, 1000000, MCPU_BATCHER_AT(batch),
      "Records read from one lane per pass of the main loop before moving "
      "to the next lane, so that one busy nginx worker cannot starve the "
      "others.",
      "batch = 500" },

    { "poll_ms", "poll-ms", 0, MCPU_BATCHER_OPT_NUM, "N", "10", NULL,
      1, 1000, MCPU_BATCHER_AT(poll_ms),
      "Milliseconds the main loop waits for delivery reports when a pass "
      "found no record to send; also the latency an event can wait in an "
      "idle ring before it is read.",
      "poll_ms = 5" },

    { "flush_timeout_ms", "flush-timeout-ms", 0, MCPU_BATCHER_OPT_NUM, "N",
      "10000", NULL, 0, 3600000, MCPU_BATCHER_AT(flush_timeout_ms),
      "At SIGTERM/SIGINT, milliseconds to wait for the delivery reports of "
      "records already handed to librdkafka.  What is not acknowledged by "
      "then stays in the ring and is sent again by the next start; nothing "
      "is dropped, and the exit code is 0 even with Kafka away.  Stopping "
      "takes at most this long plus about a second (threads ending), so a "
      "service manager's stop timeout (systemd's TimeoutStopSec) must be "
      "larger.",
      "mcpu-batcher --flush-timeout-ms 30000" },

    { "max_in_flight_per_lane", "max-in-flight-per-lane", 0,
      MCPU_BATCHER_OPT_POW2, "N", "65536", NULL, 16, 1048576,
      MCPU_BATCHER_AT(max_in_flight_per_lane),
      "Records of one lane handed to librdkafka and not yet released, a "
      "power of two.  When a lane reaches it, the batcher stops reading "
      "that lane until delivery reports arrive; memory is 16 bytes per "
      "record per lane.  librdkafka's own bound, "
      "`queue.buffering.max.messages` (default 100000, shared by all lanes "
      "and the last-seen publications), applies too: when its queue is "
      "full the batcher stops reading until reports arrive.  So at most "
      "min(lanes * max_in_flight_per_lane, queue.buffering.max.messages) "
      "records are in flight; their values stay in the ring (no copy), "
      "librdkafka holds a few hundred bytes of its own per record.",
      "max_in_flight_per_lane = 131072" },

    { "resend_backoff_ms", "resend-backoff-ms", 0, MCPU_BATCHER_OPT_NUM,
      "N", "1000", NULL, 0, 3600000, MCPU_BATCHER_AT(resend_backoff_ms),
      "Milliseconds before records whose delivery failed (or that "
      "librdkafka refused to take) are produced again from the ring.  Only "
      "errors librdkafka does not retry itself get here, such as an "
      "authorization failure, so the pause keeps the batcher from spinning "
      "on them.",
      "resend_backoff_ms = 5000" },

    { "log_file", "log-file", 0, MCPU_BATCHER_OPT_PATH, "PATH", "",
      "none (stderr)", 0, 0, MCPU_BATCHER_AT(log_file),
      "Appends the log to PATH instead of stderr; SIGHUP reopens it (after "
      "logrotate).  One line per event: `2026-11-23T22:00:00.123Z "
      "mcpu-batcher[PID] LEVEL message`.",
      "log_file = /var/log/mcpu/batcher.log" },

    { "last_seen_file", "last-seen-file", 0, MCPU_BATCHER_OPT_PATH, "PATH",
      NULL, "the ring's path followed by `.seen`", 0, 0,
      MCPU_BATCHER_AT(last_seen_file),
      "The \"last event seen\" table: per client id, the newest event Kafka "
      "has acknowledged, which nginx answers `GET` on the ingest location "
      "with; it must name the same file as the module's `mcpu_last_seen` "
      "(whose default is also the ring's path followed by `.seen`).  The "
      "batcher creates it and is its only writer: a second batcher on the "
      "same file refuses to start.  Only delivery reports and "
      "`last_seen_topic` change it, never the ring.  An existing file is "
      "kept across restarts, and refused if its geometry differs from "
      "`last_seen_slots` and `last_seen_value_max`.",
      "last_seen_file = /var/lib/mcpu/ring.seen" },

    { "last_seen_slots", "last-seen-slots", 0, MCPU_BATCHER_OPT_POW2, "N",
      MCPU_BATCHER_STR(MCPU_SEEN_DEFAULT_SLOTS), NULL, MCPU_SEEN_WAYS,
      MCPU_SEEN_MAX_SLOTS, MCPU_BATCHER_AT(last_seen_slots),
      "Clients the table holds, a power of two.  A client's entry lives in "
      "one of 8 slots chosen by a keyed hash of its id; when all 8 are "
      "taken, the client updated longest ago is forgotten: its `GET` then "
      "answers 404 until its next acknowledged event, so it resends more "
      "than needed (downstream dedup removes the duplicates), never less.  "
      "The file takes `last_seen_slots` times (176 + `last_seen_value_max`, "
      "rounded up to 64) bytes: 76 MiB by default.",
      "last_seen_slots = 1048576" },

    { "last_seen_value_max", "last-seen-value-max", 0, MCPU_BATCHER_OPT_NUM,
      "N", MCPU_BATCHER_STR(MCPU_SEEN_DEFAULT_VALUE_MAX), NULL,
      MCPU_SEEN_MIN_VALUE_MAX, MCPU_SEEN_MAX_VALUE_MAX,
      MCPU_BATCHER_AT(last_seen_value_max),
      "Bytes of each client's record the table keeps.  A longer record is "
      "kept with its `event` member replaced by `null`: the normalised "
      "fields a resend needs (type, time, seq, client) remain.",
      "last_seen_value_max = 4096" },

    { "last_seen_topic", "last-seen-topic", 0, MCPU_BATCHER_OPT_TOPIC_OFF,
      "NAME", "mcpu.last-seen", NULL, 0, 0, MCPU_BATCHER_AT(last_seen_topic),
      "The log-compacted Kafka topic that shares the table between "
      "batchers: key the client id, value the record.  Each batcher "
      "publishes the entries its own delivery reports changed, and reads "
      "the whole topic from the beginning without a consumer group, so a "
      "restarted batcher reloads the table and other hosts and regions "
      "learn a client's last event (eventually).  The topic must exist, "
      "with `cleanup.policy=compact` (see \"Last event seen\"); until it "
      "does the batcher checks every second and the table is fed by local "
      "delivery reports only.  Empty: nothing is shared.  It must differ "
      "from `topic`.",
      "mcpu-batcher --last-seen-topic mcpu.last-seen.eu" },

    { "last_seen_mirrors", "last-seen-mirrors", 0, MCPU_BATCHER_OPT_TOPICS,
      "LIST", "", "none", 0, 0, MCPU_BATCHER_AT(last_seen_mirrors),
      "Other regions' `last_seen_topic`, as MirrorMaker 2 copies them into "
      "this Kafka (`us.mcpu.last-seen` with its default naming), "
      "comma-separated: read like `last_seen_topic`, from the beginning, "
      "never written to, so that a client's events acknowledged in another "
      "region are answered here too.  A missing one is looked for every "
      "second while the others are read.  Needs `last_seen_topic`.",
      "last_seen_mirrors = us.mcpu.last-seen,ap.mcpu.last-seen" },

    { "last_seen_publish_interval", "last-seen-publish-interval", 0,
      MCPU_BATCHER_OPT_NUM, "N", "1000", NULL, 0, 3600000,
      MCPU_BATCHER_AT(last_seen_publish_interval),
      "Milliseconds between two publications of the table's changed "
      "entries to `last_seen_topic`: a client whose last event changed "
      "several times in between is published once, with the newest.  It is "
      "most of the delay before other hosts know an event; 0 publishes at "
      "every pass of the main loop.",
      "last_seen_publish_interval = 500" },

    { "test", "test", 't', MCPU_BATCHER_OPT_ACTION, NULL, NULL, NULL,
      0, 0, MCPU_BATCHER_OPT_NONE,
      "Checks the settings, including every Kafka property, prints "
      "\"configuration is ok\" and exits (0, or 2 with the refusal).",
      "mcpu-batcher -c /etc/mcpu/mcpu-batcher.conf -t" },

    { "list-options", "list-options", 0, MCPU_BATCHER_OPT_ACTION, NULL,
      NULL, NULL, 0, 0, MCPU_BATCHER_OPT_NONE,
      "Prints this list (for the README) and exits.",
      "mcpu-batcher --list-options" },

    { "help", "help", 'h', MCPU_BATCHER_OPT_ACTION, NULL, NULL, NULL,
      0, 0, MCPU_BATCHER_OPT_NONE,
      "Prints a usage summary and exits.",
      "mcpu-batcher --help" },

    { "version", "version", 0, MCPU_BATCHER_OPT_ACTION, NULL, NULL, NULL,
      0, 0, MCPU_BATCHER_OPT_NONE,
      "Prints the batcher's and librdkafka's versions and exits.",
      "mcpu-batcher --version" },
};

#define MCPU_BATCHER_NOPTIONS \
    (sizeof(mcpu_batcher_options) / sizeof(mcpu_batcher_options[0]))

/* getopt_long returns this plus the row index for a long option */
#define MCPU_BATCHER_OPT_LONG     0x100


int
mcpu_batcher_conf_load(mcpu_batcher_conf_t *conf, int argc, char **argv,
    char *errstr, size_t errstr_size)
{
    int  rc;

    memset(conf, 0, sizeof(*conf));

    if (mcpu_batcher_conf_defaults(conf, errstr, errstr_size)
        != MCPU_BATCHER_OK)
    {
        return MCPU_BATCHER_ERROR;
    }

    /* first pass: -c and the output-only options, so that --help works
     * even when the file is broken */
    rc = mcpu_batcher_conf_argv(conf, argc, argv, 0, errstr, errstr_size);
    if (rc != MCPU_BATCHER_OK) {
        return rc;
    }

    if (conf->config_file != NULL
        && mcpu_batcher_conf_file(conf, conf->config_file, errstr,
                                  errstr_size) != MCPU_BATCHER_OK)
    {
        return MCPU_BATCHER_ERROR;
    }

    /* second pass: the command line overrides the file */
    rc = mcpu_batcher_conf_argv(conf, argc, argv, 1, errstr, errstr_size);
    if (rc != MCPU_BATCHER_OK) {
        return rc;
    }

    return mcpu_batcher_conf_derive(conf, errstr, errstr_size);
}


void
mcpu_batcher_conf_free(mcpu_batcher_conf_t *conf)
{
    size_t  i;

    free(conf->config_file);
    free(conf->ring);
    free(conf->brokers);
    free(conf->topic);
    free(conf->log_file);
    free(conf->last_seen_file);
    free(conf->last_seen_topic);
    free(conf->last_seen_mirrors);

    for (i = 0; i < conf->nkafka; i++) {
        free(conf->kafka[i].name);
        free(conf->kafka[i].value);
        free(conf->kafka[i].origin);
    }

    free(conf->kafka);
    memset(conf, 0, sizeof(*conf));
}


static int
mcpu_batcher_conf_defaults(mcpu_batcher_conf_t *conf, char *errstr,
    size_t errstr_size)
{
    size_t                        i;
    const mcpu_batcher_option_t  *opt;

    for (i = 0; i < MCPU_BATCHER_NOPTIONS; i++) {
        opt = &mcpu_batcher_options[i];

        if (opt->deflt != NULL
            && mcpu_batcher_conf_set(conf, opt, opt->deflt, "default",
                                     errstr, errstr_size) != MCPU_BATCHER_OK)
        {
            return MCPU_BATCHER_ERROR;
        }
    }

    return MCPU_BATCHER_OK;
}


/*
 * The file: `name = value` lines, `kafka.PROPERTY = value` lines, blank
 * lines and `#` comment lines.  A name twice is refused, as nginx refuses a
 * duplicate directive: one of the two would be ignored.
 */
static int
mcpu_batcher_conf_file(mcpu_batcher_conf_t *conf, const char *path,
    char *errstr, size_t errstr_size)
{
    int                           rc;
    char                         *line, *name, *value, *eq;
    char                          where[PATH_MAX + 32];
    FILE                         *f;
    size_t                        cap, i, k;
    ssize_t                       n;
    unsigned                      lineno;
    unsigned                      seen[MCPU_BATCHER_NOPTIONS];
    const mcpu_batcher_option_t  *opt;

    f = fopen(path, "re");
    if (f == NULL) {
        snprintf(errstr, errstr_size, "cannot open config file \"%s\": %s",
                 path, strerror(errno));
        return MCPU_BATCHER_ERROR;
    }

    memset(seen, 0, sizeof(seen));
    line = NULL;
    cap = 0;
    lineno = 0;
    rc = MCPU_BATCHER_ERROR;

    while ((n = getline(&line, &cap, f)) != -1) {
        lineno++;
        snprintf(where, sizeof(where), "%s:%u", path, lineno);

        if (memchr(line, '\0', (size_t) n) != NULL) {
            snprintf(errstr, errstr_size, "%s: NUL byte in the line", where);
            goto failed;
        }

        name = mcpu_batcher_conf_trim(line);
        if (name[0] == '\0' || name[0] == '#') {
            continue;
        }

        eq = strchr(name, '=');
        if (eq == NULL) {
            snprintf(errstr, errstr_size, "%s: expected \"name = value\", "
                     "found \"%.64s\"", where, name);
            goto failed;
        }

        *eq = '\0';
        name = mcpu_batcher_conf_trim(name);
        value = mcpu_batcher_conf_trim(eq + 1);

        if (name[0] == '\0') {
            snprintf(errstr, errstr_size, "%s: expected \"name = value\", "
                     "the name is missing", where);
            goto failed;
        }

        if (strncmp(name, MCPU_BATCHER_KAFKA_PREFIX,
                    sizeof(MCPU_BATCHER_KAFKA_PREFIX) - 1) == 0)
        {
            name += sizeof(MCPU_BATCHER_KAFKA_PREFIX) - 1;

            for (k = 0; k < conf->nkafka; k++) {
                if (strcmp(conf->kafka[k].name, name) == 0) {
                    snprintf(errstr, errstr_size, "%s: option \"%s%s\" is "
                             "duplicate (first at %s)", where,
                             MCPU_BATCHER_KAFKA_PREFIX, name,
                             conf->kafka[k].origin);
                    goto failed;
                }
            }

            if (mcpu_batcher_conf_kafka(conf, name, value, where, errstr,
                                        errstr_size) != MCPU_BATCHER_OK)
            {
                goto failed;
            }

            continue;
        }

        opt = mcpu_batcher_conf_find(name);
        if (opt == NULL) {
            snprintf(errstr, errstr_size, "%s: unknown option \"%s\"", where,
                     name);
            goto failed;
        }

        i = (size_t) (opt - mcpu_batcher_options);

        if (seen[i]) {
            snprintf(errstr, errstr_size, "%s: option \"%s\" is duplicate "
                     "(first at line %u)", where, name, seen[i]);
            goto failed;
        }

        seen[i] = lineno;

        if (mcpu_batcher_conf_set(conf, opt, value, where, errstr,
                                  errstr_size) != MCPU_BATCHER_OK)
        {
            goto failed;
        }
    }

    if (ferror(f)) {
        snprintf(errstr, errstr_size, "reading config file \"%s\" failed: %s",
                 path, strerror(errno));
        goto failed;
    }

    rc = MCPU_BATCHER_OK;

failed:

    free(line);
    fclose(f);
    return rc;
}


/*
 * Two passes over argv with getopt_long: the first (apply = 0) takes -c and
 * runs the output-only options, the second (apply = 1, after the file) sets
 * every other option, so the command line wins over the file.
 */
static int
mcpu_batcher_conf_argv(mcpu_batcher_conf_t *conf, int argc, char **argv,
    int apply, char *errstr, size_t errstr_size)
{
    int                           c, nlong;
    char                          shorts[2 * MCPU_BATCHER_NOPTIONS + 2];
    char                         *p;
    size_t                        i;
    struct option                 longs[MCPU_BATCHER_NOPTIONS + 1];
    const mcpu_batcher_option_t  *opt;

    p = shorts;
    *p++ = ':';               /* report a missing argument as ':' */
    nlong = 0;

    for (i = 0; i < MCPU_BATCHER_NOPTIONS; i++) {
        opt = &mcpu_batcher_options[i];

        if (opt->letter) {
            *p++ = (char) opt->letter;
            if (opt->type != MCPU_BATCHER_OPT_ACTION) {
                *p++ = ':';
            }
        }

        if (opt->flag != NULL) {
            longs[nlong].name = opt->flag;
            longs[nlong].has_arg = opt->type == MCPU_BATCHER_OPT_ACTION
                                   ? no_argument : required_argument;
            longs[nlong].flag = NULL;
            longs[nlong].val = MCPU_BATCHER_OPT_LONG + (int) i;
            nlong++;
        }
    }

    *p = '\0';
    memset(&longs[nlong], 0, sizeof(longs[nlong]));

    opterr = 0;
    optind = 0;                /* glibc: full re-initialisation */

    while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {

        if (c == '?' || c == ':') {
            if (optopt >= MCPU_BATCHER_OPT_LONG) {
                opt = &mcpu_batcher_options[optopt - MCPU_BATCHER_OPT_LONG];
                snprintf(errstr, errstr_size, "option \"--%s\" needs a value "
                         "(%s)", opt->flag, opt->arg);

            } else if (optopt != 0) {
                snprintf(errstr, errstr_size, c == ':'
                         ? "option \"-%c\" needs a value"
                         : "unknown option \"-%c\" (see --help)", optopt);

            } else {
                snprintf(errstr, errstr_size, "unknown option \"%s\" (see "
                         "--help)", argv[optind - 1]);
            }

            return MCPU_BATCHER_ERROR;
        }

        opt = NULL;

        if (c >= MCPU_BATCHER_OPT_LONG) {
            opt = &mcpu_batcher_options[c - MCPU_BATCHER_OPT_LONG];

        } else {
            for (i = 0; i < MCPU_BATCHER_NOPTIONS; i++) {
                if (mcpu_batcher_options[i].letter == c) {
                    opt = &mcpu_batcher_options[i];
                }
            }
        }

        if (opt == NULL) {
            snprintf(errstr, errstr_size, "unknown option \"-%c\"", c);
            return MCPU_BATCHER_ERROR;
        }

        if (opt->type == MCPU_BATCHER_OPT_ACTION) {
            if (apply) {
                if (strcmp(opt->name, "test") == 0) {
                    conf->test = 1;
                }

                continue;
            }

            if (strcmp(opt->name, "help") == 0) {
                mcpu_batcher_conf_help();
                return MCPU_BATCHER_DONE;
            }

            if (strcmp(opt->name, "version") == 0) {
                mcpu_batcher_conf_version();
                return MCPU_BATCHER_DONE;
            }

            if (strcmp(opt->name, "list-options") == 0) {
                mcpu_batcher_conf_list();
                return MCPU_BATCHER_DONE;
            }

            continue;
        }

        if ((opt->type == MCPU_BATCHER_OPT_CONFIG) == apply) {
            continue;
        }

        if (mcpu_batcher_conf_set(conf, opt, optarg, "command line", errstr,
                                  errstr_size) != MCPU_BATCHER_OK)
        {
            return MCPU_BATCHER_ERROR;
        }
    }

    if (optind < argc) {
        snprintf(errstr, errstr_size, "unexpected argument \"%s\" (options "
                 "take the form --name VALUE; see --help)", argv[optind]);
        return MCPU_BATCHER_ERROR;
    }

    return MCPU_BATCHER_OK;
}


static int
mcpu_batcher_conf_set(mcpu_batcher_conf_t *conf,
    const mcpu_batcher_option_t *opt, const char *value, const char *where,
    char *errstr, size_t errstr_size)
{
    long         n;
    char        *copy, **field, bad[MCPU_BATCHER_TOPIC_MAX + 2];
    const char  *eq;

    switch (opt->type) {

    case MCPU_BATCHER_OPT_KAFKA:
        /* from the command line: -X PROPERTY=VALUE */
        eq = strchr(value, '=');
        if (eq == NULL || eq == value) {
            snprintf(errstr, errstr_size, "%s: invalid value \"%s\" for "
                     "option \"-X\": expected PROPERTY=VALUE", where, value);
            return MCPU_BATCHER_ERROR;
        }

        copy = strndup(value, (size_t) (eq - value));
        if (copy == NULL) {
            snprintf(errstr, errstr_size, "out of memory");
            return MCPU_BATCHER_ERROR;
        }

        n = mcpu_batcher_conf_kafka(conf, copy, eq + 1, "-X", errstr,
                                    errstr_size);
        free(copy);
        return (int) n;

    case MCPU_BATCHER_OPT_NUM:
    case MCPU_BATCHER_OPT_POW2:
        if (mcpu_batcher_conf_number(opt, value, where, &n, errstr,
                                     errstr_size) != MCPU_BATCHER_OK)
        {
            return MCPU_BATCHER_ERROR;
        }

        *(long *) ((char *) conf + opt->offset) = n;
        return MCPU_BATCHER_OK;

    case MCPU_BATCHER_OPT_TOPIC:
    case MCPU_BATCHER_OPT_TOPIC_OFF:
        if (!mcpu_batcher_conf_topic_ok(value)
            && !(opt->type == MCPU_BATCHER_OPT_TOPIC_OFF && value[0] == '\0'))
        {
            snprintf(errstr, errstr_size, "%s: invalid value \"%s\" for "
                     "option \"%s\": a topic name is 1 to %d of [a-zA-Z0-9._-]"
                     ", not \".\" or \"..\"%s", where, value, opt->name,
                     MCPU_BATCHER_TOPIC_MAX,
                     opt->type == MCPU_BATCHER_OPT_TOPIC_OFF
                     ? " (or empty: none)" : "");
            return MCPU_BATCHER_ERROR;
        }
        break;

    case MCPU_BATCHER_OPT_TOPICS:
        if (!mcpu_batcher_conf_topics_ok(value, bad, sizeof(bad))) {
            snprintf(errstr, errstr_size, "%s: invalid value \"%s\" for "
                     "option \"%s\": \"%s\" is not a topic name (1 to %d "
                     "of [a-zA-Z0-9._-], not \".\" or \"..\"), or is "
                     "there twice", where, value, opt->name, bad,
                     MCPU_BATCHER_TOPIC_MAX);
            return MCPU_BATCHER_ERROR;
        }
        break;

    case MCPU_BATCHER_OPT_PATH:
        /* an empty value is allowed only where the default is empty */
        if (value[0] == '\0' && (opt->deflt == NULL || opt->deflt[0] != '\0'))
        {
            snprintf(errstr, errstr_size, "%s: empty value for option \"%s\"",
                     where, opt->name);
            return MCPU_BATCHER_ERROR;
        }

        if (strlen(value) >= PATH_MAX) {
            snprintf(errstr, errstr_size, "%s: value for option \"%s\" is "
                     "longer than %d bytes", where, opt->name, PATH_MAX - 1);
            return MCPU_BATCHER_ERROR;
        }
        break;

    default: /* STR, CONFIG */
        if (value[0] == '\0') {
            snprintf(errstr, errstr_size, "%s: empty value for option \"%s\"",
                     where, opt->name);
            return MCPU_BATCHER_ERROR;
        }
        break;
    }

    copy = strdup(value);
    if (copy == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return MCPU_BATCHER_ERROR;
    }

    field = (char **) ((char *) conf + opt->offset);
    free(*field);
    *field = copy;

    return MCPU_BATCHER_OK;
}


/* the property is checked by librdkafka itself, when the producer is made */
static int
mcpu_batcher_conf_kafka(mcpu_batcher_conf_t *conf, const char *name,
    const char *value, const char *origin, char *errstr, size_t errstr_size)
{
    mcpu_batcher_kafka_prop_t  *props, *p;

    if (name[0] == '\0') {
        snprintf(errstr, errstr_size, "%s: a kafka property needs a name: "
                 "kafka.PROPERTY = VALUE, -X PROPERTY=VALUE", origin);
        return MCPU_BATCHER_ERROR;
    }

    props = realloc(conf->kafka, (conf->nkafka + 1) * sizeof(*props));
    if (props == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return MCPU_BATCHER_ERROR;
    }

    conf->kafka = props;
    p = &props[conf->nkafka];
    p->name = strdup(name);
    p->value = strdup(value);
    p->origin = strdup(origin);
    conf->nkafka++;

    if (p->name == NULL || p->value == NULL || p->origin == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return MCPU_BATCHER_ERROR;
    }

    return MCPU_BATCHER_OK;
}


static int
mcpu_batcher_conf_number(const mcpu_batcher_option_t *opt, const char *value,
    const char *where, long *n, char *errstr, size_t errstr_size)
{
    long   v;
    char  *end;

    errno = 0;
    v = strtol(value, &end, 10);

    if (value[0] == '\0' || *end != '\0' || errno == ERANGE
        || v < opt->min || v > opt->max
        || (opt->type == MCPU_BATCHER_OPT_POW2 && (v & (v - 1)) != 0))
    {
        snprintf(errstr, errstr_size, "%s: invalid value \"%s\" for option "
                 "\"%s\": must be %s from %ld to %ld", where, value, opt->name,
                 opt->type == MCPU_BATCHER_OPT_POW2 ? "a power of two"
                                                     : "an integer",
                 opt->min, opt->max);
        return MCPU_BATCHER_ERROR;
    }

    *n = v;
    return MCPU_BATCHER_OK;
}


static int
mcpu_batcher_conf_topic_ok(const char *s)
{
    size_t  i, len;

    len = strlen(s);

    if (len == 0 || len > MCPU_BATCHER_TOPIC_MAX || strcmp(s, ".") == 0
        || strcmp(s, "..") == 0)
    {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_'
              || s[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * What depends on other options, once all are read: the table's default
 * path follows the ring's, and the two topics must differ (the delivery
 * reports of the table's publications are told apart by their topic).
 */
static int
mcpu_batcher_conf_derive(mcpu_batcher_conf_t *conf, char *errstr,
    size_t errstr_size)
{
    size_t  len;

    if (conf->last_seen_file == NULL) {
        len = strlen(conf->ring) + sizeof(MCPU_BATCHER_SEEN_SUFFIX);

        if (len > PATH_MAX) {
            snprintf(errstr, errstr_size, "option \"last_seen_file\": the "
                     "default, the ring's path followed by \"%s\", is "
                     "longer than %d bytes", MCPU_BATCHER_SEEN_SUFFIX,
                     PATH_MAX - 1);
            return MCPU_BATCHER_ERROR;
        }

        conf->last_seen_file = malloc(len);
        if (conf->last_seen_file == NULL) {
            snprintf(errstr, errstr_size, "out of memory");
            return MCPU_BATCHER_ERROR;
        }

        snprintf(conf->last_seen_file, len, "%s" MCPU_BATCHER_SEEN_SUFFIX,
                 conf->ring);
    }

    if (conf->last_seen_mirrors[0] != '\0') {
        if (conf->last_seen_topic[0] == '\0') {
            snprintf(errstr, errstr_size, "option \"last_seen_mirrors\" "
                     "needs option \"last_seen_topic\", which is empty");
            return MCPU_BATCHER_ERROR;
        }

        if (mcpu_batcher_conf_listed(conf->last_seen_mirrors, conf->topic)
            || mcpu_batcher_conf_listed(conf->last_seen_mirrors,
                                        conf->last_seen_topic))
        {
            snprintf(errstr, errstr_size, "option \"last_seen_mirrors\" "
                     "(\"%s\") lists \"topic\" or \"last_seen_topic\"",
                     conf->last_seen_mirrors);
            return MCPU_BATCHER_ERROR;
        }
    }

    if (strcmp(conf->last_seen_topic, conf->topic) == 0) {
        snprintf(errstr, errstr_size, "option \"last_seen_topic\" "
                 "(\"%s\") must differ from option \"topic\": the table "
                 "is shared through a topic of its own",
                 conf->last_seen_topic);
        return MCPU_BATCHER_ERROR;
    }

    return MCPU_BATCHER_OK;
}


/*
 * A comma-separated list of topic names, each once, or nothing.  On
 * failure bad holds the element at fault.
 */
static int
mcpu_batcher_conf_topics_ok(const char *s, char *bad, size_t bad_size)
{
    size_t       len;
    const char  *p, *end;

    for (p = s; *p != '\0'; p = *end ? end + 1 : end) {
        end = strchr(p, ',');
        if (end == NULL) {
            end = p + strlen(p);
        }

        len = (size_t) (end - p);
        snprintf(bad, bad_size, "%.*s", (int) len, p);

        if (len > MCPU_BATCHER_TOPIC_MAX || !mcpu_batcher_conf_topic_ok(bad)
            || mcpu_batcher_conf_listed(end[0] ? end + 1 : end, bad))
        {
            return 0;
        }

        if (*end == ',' && end[1] == '\0') {
            bad[0] = '\0';            /* "a,": an empty last name */
            return 0;
        }
    }

    return 1;
}


/* whether the comma-separated list holds name */
static int
mcpu_batcher_conf_listed(const char *list, const char *name)
{
    size_t       len;
    const char  *p;

    len = strlen(name);

    for (p = list; *p != '\0'; p++) {
        if ((p == list || p[-1] == ',') && strncmp(p, name, len) == 0
            && (p[len] == ',' || p[len] == '\0'))
        {
            return 1;
        }
    }

    return 0;
}


/* options that may appear in the file: those with a value, except -c */
static const mcpu_batcher_option_t *
mcpu_batcher_conf_find(const char *name)
{
    size_t                        i;
    const mcpu_batcher_option_t  *opt;

    for (i = 0; i < MCPU_BATCHER_NOPTIONS; i++) {
        opt = &mcpu_batcher_options[i];

        if (opt->type != MCPU_BATCHER_OPT_ACTION
            && opt->type != MCPU_BATCHER_OPT_CONFIG
            && opt->type != MCPU_BATCHER_OPT_KAFKA
            && strcmp(opt->name, name) == 0)
        {
            return opt;
        }
    }

    return NULL;
}


static char *
mcpu_batcher_conf_trim(char *s)
{
    char  *e;

    while (*s == ' ' || *s == '\t') {
        s++;
    }

    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n'
                     || e[-1] == '\r'))
    {
        *--e = '\0';
    }

    return s;
}


static void
mcpu_batcher_conf_help(void)
{
    size_t                        i;
    char                          form[64];
    const mcpu_batcher_option_t  *opt;

    printf("usage: " MCPU_BATCHER_NAME " [-c FILE] [options]\n\n"
           "Drains the mcpu shared-memory ring into Kafka; a record leaves "
           "the ring\nonly after Kafka acknowledged it.\n\n");

    for (i = 0; i < MCPU_BATCHER_NOPTIONS; i++) {
        opt = &mcpu_batcher_options[i];

        if (opt->type == MCPU_BATCHER_OPT_KAFKA) {
            printf("  -X %-31s librdkafka property (repeatable)\n",
                   opt->arg);
            continue;

        } else if (opt->letter && opt->arg != NULL) {
            snprintf(form, sizeof(form), "-%c, --%s %s", opt->letter,
                     opt->flag, opt->arg);

        } else if (opt->letter) {
            snprintf(form, sizeof(form), "-%c, --%s", opt->letter, opt->flag);

        } else if (opt->arg != NULL) {
            snprintf(form, sizeof(form), "    --%s %s", opt->flag, opt->arg);

        } else {
            snprintf(form, sizeof(form), "    --%s", opt->flag);
        }

        if (opt->deflt_doc != NULL && opt->type != MCPU_BATCHER_OPT_KAFKA) {
            printf("  %-34s default: %s\n", form, opt->deflt_doc);

        } else if (opt->deflt != NULL) {
            printf("  %-34s default: %s\n", form, opt->deflt);

        } else {
            printf("  %s\n", form);
        }
    }

    printf("\nIn the file (-c) each option is a `name = value` line, e.g.\n"
           "`poll_ms = 10`, `kafka.linger.ms = 20`; --list-options describes "
           "them all.\n"
           "Signals: TERM/INT flush and stop, HUP reopens the log file.\n"
           "Exit codes: %d clean stop (also with Kafka away: what it did not "
           "acknowledge\nstays in the ring), %d runtime failure (corrupt "
           "ring, another batcher, a Kafka\nproducer that could not be "
           "re-created), %d a setting was refused.\n",
           MCPU_BATCHER_EXIT_OK, MCPU_BATCHER_EXIT_FAILURE,
           MCPU_BATCHER_EXIT_CONFIG);
}


/*
 * markdown for the README, one "###" section per row, in the shape of
 * nginx's directive docs: Syntax / Default / Context, text, example
 */
static void
mcpu_batcher_conf_list(void)
{
    size_t                        i;
    const mcpu_batcher_option_t  *opt;

    for (i = 0; i < MCPU_BATCHER_NOPTIONS; i++) {
        opt = &mcpu_batcher_options[i];

        printf("%s### %s\n\n", i ? "\n" : "", opt->name);

        switch (opt->type) {

        case MCPU_BATCHER_OPT_KAFKA:
            printf("    Syntax:  -X %s\n"
                   "             kafka.PROPERTY = VALUE\n", opt->arg);
            break;

        case MCPU_BATCHER_OPT_CONFIG:
            printf("    Syntax:  -c %s | --%s %s\n", opt->arg, opt->flag,
                   opt->arg);
            break;

        case MCPU_BATCHER_OPT_ACTION:
            if (opt->letter) {
                printf("    Syntax:  -%c | --%s\n", opt->letter, opt->flag);

            } else {
                printf("    Syntax:  --%s\n", opt->flag);
            }
            break;

        default:
            printf("    Syntax:  --%s %s\n"
                   "             %s = %s\n", opt->flag, opt->arg, opt->name,
                   opt->arg);
            break;
        }

        if (opt->deflt_doc != NULL) {
            printf("    Default: %s\n", opt->deflt_doc);

        } else if (opt->deflt != NULL) {
            printf("    Default: %s\n", opt->deflt);

        } else {
            printf("    Default: —\n");
        }

        printf("    Context: %s\n\n%s\n\n    %s\n",
               opt->type == MCPU_BATCHER_OPT_ACTION
               || opt->type == MCPU_BATCHER_OPT_CONFIG
               ? "command line" : "command line, config file",
               opt->description, opt->example);
    }
}


static void
mcpu_batcher_conf_version(void)
{
    printf(MCPU_BATCHER_NAME " " MCPU_BATCHER_VERSION " (librdkafka %s)\n",
           rd_kafka_version_str());
}
