/*
 * mcpu_batcher_conf.c: the batcher's option table and what depends on
 * several of its options; the option engine that reads the file and the
 * command line through the table, and prints it, is common/mcpu_conf.c.
 *
 * Every option is one row of mcpu_batcher_options[]: the file and the
 * command line are parsed through it, defaults are applied through it (so
 * each default is written once, here), and --help and --list-options print
 * it.  A value that is not valid stops start-up with one line naming the
 * option and the value; nothing is corrected silently.
 */

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcpu_conf.h"
#include "mcpu_seen.h"
#include "mcpu_batcher.h"
#include "mcpu_batcher_conf.h"


#define MCPU_BATCHER_SEEN_SUFFIX  ".seen"

/* the table's defaults come from mcpu_seen.h, as text for the option rows */
#define MCPU_BATCHER_STR(x)       MCPU_BATCHER_STR_(x)
#define MCPU_BATCHER_STR_(x)      #x


static int mcpu_batcher_conf_derive(void *data, char *errstr,
    size_t errstr_size);


#define MCPU_BATCHER_AT(field)  offsetof(mcpu_batcher_conf_t, field)

/*
 * Columns (mcpu_conf_option_t): name, flag, letter, type, arg, default,
 * default as documented, min, max (integers), dmin, dmax (DOUBLE), offset,
 * description, example.
 */
static const mcpu_conf_option_t  mcpu_batcher_options[] = {

    MCPU_CONF_ROW_CONFIG("mcpu-batcher", MCPU_BATCHER_AT(config_file)),

    { "ring", "ring", 0, MCPU_CONF_OPT_PATH, "PATH",
      "/var/lib/mcpu/ring", NULL, 0, 0, 0, 0, MCPU_BATCHER_AT(ring),
      "The ring file that nginx's mcpu module creates and appends events "
      "to; it must name the same file as the module's ring directive.  The "
      "batcher never creates, truncates or re-creates it (its geometry is "
      "nginx's): while it does not exist the batcher logs once (and again "
      "every 10 minutes) and waits for nginx, checking every 100 ms; "
      "meanwhile SIGTERM stops it at once with exit code 0 and SIGHUP "
      "reopens its log.  One batcher per ring: a second one refuses to "
      "start and names the first one's pid.",
      "mcpu-batcher --ring /var/lib/mcpu/ring" },

    { "brokers", "brokers", 0, MCPU_CONF_OPT_STR, "LIST",
      "127.0.0.1:9092", NULL, 0, 0, 0, 0, MCPU_BATCHER_AT(brokers),
      "Kafka bootstrap servers, `host:port[,host:port...]`; sets librdkafka's "
      "`bootstrap.servers`, which a `kafka.bootstrap.servers` line or "
      "`-X bootstrap.servers=...` overrides.",
      "brokers = kafka-1:9092,kafka-2:9092" },

    { "topic", "topic", 0, MCPU_CONF_OPT_TOPIC, "NAME",
      "mcpu.events", NULL, 0, 0, 0, 0, MCPU_BATCHER_AT(topic),
      "Kafka topic of the raw events.  Each record goes out with the client "
      "id as key (so a client's events share a partition) and the JSON "
      "event as value.",
      "mcpu-batcher --topic mcpu.events.eu" },

    { "kafka.PROPERTY", NULL, 'X', MCPU_CONF_OPT_KAFKA, "PROPERTY=VALUE",
      NULL, "enable.idempotence=true acks=all linger.ms=5 "
      "message.timeout.ms=0 client.id=mcpu-batcher", 0, 0, 0, 0,
      MCPU_CONF_OPT_NONE,
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

    { "batch", "batch", 0, MCPU_CONF_OPT_NUM, "N", "1000", NULL,
      1, 1000000, 0, 0, MCPU_BATCHER_AT(batch),
      "Records read from one lane per pass of the main loop before moving "
      "to the next lane, so that one busy nginx worker cannot starve the "
      "others.",
      "batch = 500" },

    { "poll_ms", "poll-ms", 0, MCPU_CONF_OPT_NUM, "N", "10", NULL,
      1, 1000, 0, 0, MCPU_BATCHER_AT(poll_ms),
      "Milliseconds the main loop waits for delivery reports when a pass "
      "found no record to send; also the latency an event can wait in an "
      "idle ring before it is read.",
      "poll_ms = 5" },

    { "flush_timeout_ms", "flush-timeout-ms", 0, MCPU_CONF_OPT_NUM, "N",
      "10000", NULL, 0, 3600000, 0, 0, MCPU_BATCHER_AT(flush_timeout_ms),
      "At SIGTERM/SIGINT, milliseconds to wait for the delivery reports of "
      "records already handed to librdkafka.  What is not acknowledged by "
      "then stays in the ring and is sent again by the next start; nothing "
      "is dropped, and the exit code is 0 even with Kafka away.  Stopping "
      "takes at most this long plus about a second (threads ending), so a "
      "service manager's stop timeout (systemd's TimeoutStopSec) must be "
      "larger.",
      "mcpu-batcher --flush-timeout-ms 30000" },

    { "max_in_flight_per_lane", "max-in-flight-per-lane", 0,
      MCPU_CONF_OPT_POW2, "N", "65536", NULL, 16, 1048576,
      0, 0, MCPU_BATCHER_AT(max_in_flight_per_lane),
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

    { "resend_backoff_ms", "resend-backoff-ms", 0, MCPU_CONF_OPT_NUM,
      "N", "1000", NULL, 0, 3600000, 0, 0, MCPU_BATCHER_AT(resend_backoff_ms),
      "Milliseconds before records whose delivery failed (or that "
      "librdkafka refused to take) are produced again from the ring.  Only "
      "errors librdkafka does not retry itself get here, such as an "
      "authorization failure, so the pause keeps the batcher from spinning "
      "on them.",
      "resend_backoff_ms = 5000" },

    MCPU_CONF_ROW_LOG_FILE("mcpu-batcher", "/var/log/mcpu/batcher.log", MCPU_BATCHER_AT(log_file)),

    { "last_seen_file", "last-seen-file", 0, MCPU_CONF_OPT_PATH, "PATH",
      NULL, "the ring's path followed by `.seen`", 0, 0,
      0, 0, MCPU_BATCHER_AT(last_seen_file),
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

    { "last_seen_slots", "last-seen-slots", 0, MCPU_CONF_OPT_POW2, "N",
      MCPU_BATCHER_STR(MCPU_SEEN_DEFAULT_SLOTS), NULL, MCPU_SEEN_WAYS,
      MCPU_SEEN_MAX_SLOTS, 0, 0, MCPU_BATCHER_AT(last_seen_slots),
      "Clients the table holds, a power of two.  A client's entry lives in "
      "one of 8 slots chosen by a keyed hash of its id; when all 8 are "
      "taken, the client updated longest ago is forgotten: its `GET` then "
      "answers 404 until its next acknowledged event, so it resends more "
      "than needed (downstream dedup removes the duplicates), never less.  "
      "The file takes `last_seen_slots` times (176 + `last_seen_value_max`, "
      "rounded up to 64) bytes: 76 MiB by default.",
      "last_seen_slots = 1048576" },

    { "last_seen_value_max", "last-seen-value-max", 0, MCPU_CONF_OPT_NUM,
      "N", MCPU_BATCHER_STR(MCPU_SEEN_DEFAULT_VALUE_MAX), NULL,
      MCPU_SEEN_MIN_VALUE_MAX, MCPU_SEEN_MAX_VALUE_MAX,
      0, 0, MCPU_BATCHER_AT(last_seen_value_max),
      "Bytes of each client's record the table keeps.  A longer record is "
      "kept with its `event` member replaced by `null`: the normalised "
      "fields a resend needs (type, time, seq, client) remain.",
      "last_seen_value_max = 4096" },

    { "last_seen_topic", "last-seen-topic", 0, MCPU_CONF_OPT_TOPIC_OFF,
      "NAME", "mcpu.last-seen", NULL, 0, 0, 0, 0,
      MCPU_BATCHER_AT(last_seen_topic),
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

    { "last_seen_mirrors", "last-seen-mirrors", 0, MCPU_CONF_OPT_TOPICS,
      "LIST", "", "none", 0, 0, 0, 0, MCPU_BATCHER_AT(last_seen_mirrors),
      "Other regions' `last_seen_topic`, as MirrorMaker 2 copies them into "
      "this Kafka (`us.mcpu.last-seen` with its default naming), "
      "comma-separated: read like `last_seen_topic`, from the beginning, "
      "never written to, so that a client's events acknowledged in another "
      "region are answered here too.  A missing one is looked for every "
      "second while the others are read.  Needs `last_seen_topic`.",
      "last_seen_mirrors = us.mcpu.last-seen,ap.mcpu.last-seen" },

    { "last_seen_publish_interval", "last-seen-publish-interval", 0,
      MCPU_CONF_OPT_NUM, "N", "1000", NULL, 0, 3600000,
      0, 0, MCPU_BATCHER_AT(last_seen_publish_interval),
      "Milliseconds between two publications of the table's changed "
      "entries to `last_seen_topic`: a client whose last event changed "
      "several times in between is published once, with the newest.  It is "
      "most of the delay before other hosts know an event; 0 publishes at "
      "every pass of the main loop.",
      "last_seen_publish_interval = 500" },

    MCPU_CONF_ROWS_ACTIONS("mcpu-batcher"),
};

#define MCPU_BATCHER_NOPTIONS \
    (sizeof(mcpu_batcher_options) / sizeof(mcpu_batcher_options[0]))


static const mcpu_conf_program_t  mcpu_batcher_program = {
    MCPU_BATCHER_NAME,
    MCPU_BATCHER_VERSION,

    /* --help: the summary, then after the options the epilogue */
    "Drains the mcpu shared-memory ring into Kafka; a record leaves the ring\n"
    "only after Kafka acknowledged it.",

    "In the file (-c) each option is a `name = value` line, e.g.\n"
    "`poll_ms = 10`, `kafka.linger.ms = 20`; --list-options describes them "
    "all.\n"
    "Signals: TERM/INT flush and stop, HUP reopens the log file.\n"
    "Exit codes: " MCPU_BATCHER_STR(MCPU_BATCHER_EXIT_OK) " clean stop (also "
    "with Kafka away: what it did not acknowledge\nstays in the ring), "
    MCPU_BATCHER_STR(MCPU_BATCHER_EXIT_FAILURE) " runtime failure (corrupt "
    "ring, another batcher, a Kafka\nproducer that could not be "
    "re-created), " MCPU_BATCHER_STR(MCPU_BATCHER_EXIT_CONFIG) " a setting "
    "was refused.\n",

    mcpu_batcher_options,
    MCPU_BATCHER_NOPTIONS,
    sizeof(mcpu_batcher_conf_t),
    MCPU_BATCHER_AT(kafka),
    MCPU_BATCHER_AT(nkafka),
    MCPU_BATCHER_AT(test),
    mcpu_batcher_conf_derive
};


int
mcpu_batcher_conf_load(mcpu_batcher_conf_t *conf, int argc, char **argv,
    char *errstr, size_t errstr_size)
{
    switch (mcpu_conf_load(&mcpu_batcher_program, conf, argc, argv, errstr,
                           errstr_size))
    {
    case MCPU_CONF_OK:
        return MCPU_BATCHER_OK;

    case MCPU_CONF_DONE:
        return MCPU_BATCHER_DONE;

    default:
        return MCPU_BATCHER_ERROR;
    }
}


void
mcpu_batcher_conf_free(mcpu_batcher_conf_t *conf)
{
    mcpu_conf_free(&mcpu_batcher_program, conf);
}


/*
 * What depends on other options, once all are read: the table's default
 * path follows the ring's, and the two topics must differ (the delivery
 * reports of the table's publications are told apart by their topic).
 */
static int
mcpu_batcher_conf_derive(void *data, char *errstr, size_t errstr_size)
{
    size_t                len;
    mcpu_batcher_conf_t  *conf = data;

    if (conf->last_seen_file == NULL) {
        len = strlen(conf->ring) + sizeof(MCPU_BATCHER_SEEN_SUFFIX);

        if (len > PATH_MAX) {
            snprintf(errstr, errstr_size, "option \"last_seen_file\": the "
                     "default, the ring's path followed by \"%s\", is "
                     "longer than %d bytes", MCPU_BATCHER_SEEN_SUFFIX,
                     PATH_MAX - 1);
            return MCPU_CONF_ERROR;
        }

        conf->last_seen_file = malloc(len);
        if (conf->last_seen_file == NULL) {
            snprintf(errstr, errstr_size, "out of memory");
            return MCPU_CONF_ERROR;
        }

        snprintf(conf->last_seen_file, len, "%s" MCPU_BATCHER_SEEN_SUFFIX,
                 conf->ring);
    }

    if (conf->last_seen_mirrors[0] != '\0') {
        if (conf->last_seen_topic[0] == '\0') {
            snprintf(errstr, errstr_size, "option \"last_seen_mirrors\" "
                     "needs option \"last_seen_topic\", which is empty");
            return MCPU_CONF_ERROR;
        }

        if (mcpu_conf_listed(conf->last_seen_mirrors, conf->topic)
            || mcpu_conf_listed(conf->last_seen_mirrors,
                                conf->last_seen_topic))
        {
            snprintf(errstr, errstr_size, "option \"last_seen_mirrors\" "
                     "(\"%s\") lists \"topic\" or \"last_seen_topic\"",
                     conf->last_seen_mirrors);
            return MCPU_CONF_ERROR;
        }
    }

    if (strcmp(conf->last_seen_topic, conf->topic) == 0) {
        snprintf(errstr, errstr_size, "option \"last_seen_topic\" "
                 "(\"%s\") must differ from option \"topic\": the table "
                 "is shared through a topic of its own",
                 conf->last_seen_topic);
        return MCPU_CONF_ERROR;
    }

    return MCPU_CONF_OK;
}
