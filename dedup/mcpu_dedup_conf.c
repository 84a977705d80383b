/*
 * mcpu_dedup_conf.c: mcpu-dedup's option table and what depends on several
 * of its options; the option engine that reads the file and the command
 * line through the table, and prints it, is common/mcpu_conf.c.
 *
 * Every option is one row of mcpu_dedup_options[]: each default is written
 * once, here, and --help and --list-options (the README's list) print the
 * rows.  A value that is not valid stops start-up with one line naming the
 * option and the value; nothing is corrected silently.
 */

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "mcpu_conf.h"
#include "mcpu_dedup_conf.h"


#define MCPU_DEDUP_CONF_NAME     "mcpu-dedup"
#define MCPU_DEDUP_CONF_VERSION  "0.1.0"


static int mcpu_dedup_conf_derive(void *data, char *errstr,
    size_t errstr_size);


#define MCPU_DEDUP_AT(field)  offsetof(mcpu_dedup_conf_t, field)

/*
 * Columns (mcpu_conf_option_t): name, flag, letter, type, arg, default,
 * default as documented, min, max (integers), dmin, dmax (DOUBLE), offset,
 * description, example.
 */
static const mcpu_conf_option_t  mcpu_dedup_options[] = {

    MCPU_CONF_ROW_CONFIG("mcpu-dedup", MCPU_DEDUP_AT(config_file)),

    { "brokers", "brokers", 0, MCPU_CONF_OPT_STR, "LIST",
      "127.0.0.1:9092", NULL, 0, 0, 0, 0, MCPU_DEDUP_AT(brokers),
      "Kafka bootstrap servers, `host:port[,host:port...]`; sets librdkafka's "
      "`bootstrap.servers`, which a `kafka.bootstrap.servers` line or "
      "`-X bootstrap.servers=...` overrides.",
      "brokers = kafka-1:9092,kafka-2:9092" },

    { "group", "group", 0, MCPU_CONF_OPT_STR, "NAME", "mcpu-dedup", NULL,
      0, 0, 0, 0, MCPU_DEDUP_AT(group),
      "The Kafka consumer group (librdkafka's `group.id`) that reads "
      "`input_topic`.  Every instance of one deduplication job uses the "
      "same group: the partitions of `input_topic` are shared among them.",
      "group = mcpu-dedup-eu" },

    { "input_topic", "input-topic", 0, MCPU_CONF_OPT_TOPIC, "NAME",
      "mcpu.events", NULL, 0, 0, 0, 0, MCPU_DEDUP_AT(input_topic),
      "Kafka topic of the raw events, the one the batchers write (their "
      "`topic`).",
      "mcpu-dedup --input-topic mcpu.events.eu" },

    { "output_topic", "output-topic", 0, MCPU_CONF_OPT_TOPIC, "NAME",
      "mcpu.events.clean", NULL, 0, 0, 0, 0, MCPU_DEDUP_AT(output_topic),
      "Kafka topic of the clean events, the duplicates removed.  It must "
      "exist, with as many partitions as `input_topic` (checked at start), "
      "and differ from `input_topic`.",
      "mcpu-dedup --output-topic mcpu.events.eu.clean" },

    { "state_dir", "state-dir", 0, MCPU_CONF_OPT_PATH, "DIR",
      "/var/lib/mcpu-dedup", NULL, 0, 0, 0, 0, MCPU_DEDUP_AT(state_dir),
      "Directory of the LMDB environment that holds the exact state.  "
      "mcpu-dedup creates it (mode 0750) if it is missing.",
      "state_dir = /srv/mcpu/dedup" },

    { "state_map_mb", "state-map-mb", 0, MCPU_CONF_OPT_NUM, "N", "16384",
      NULL, 16, 16777216, 0, 0, MCPU_DEDUP_AT(state_map_mb),
      "LMDB map size in MiB: address space reserved, not disk; the file "
      "grows only as it is used.  When the map is full, mcpu-dedup stops "
      "with an error naming this option.",
      "state_map_mb = 65536" },

    { "window_s", "window-s", 0, MCPU_CONF_OPT_NUM, "N", "604800",
      "604800 (7 days)", 2, 31536000, 0, 0, MCPU_DEDUP_AT(window_s),
      "Seconds: a duplicate is caught when it arrives within this many "
      "seconds of the first copy.",
      "window_s = 86400" },

    { "generations", "generations", 0, MCPU_CONF_OPT_NUM, "N", "8", NULL,
      2, 8, 0, 0, MCPU_DEDUP_AT(generations),
      "Bloom filter generations: the window is cut into `generations` - 1 "
      "periods of `window_s` / (`generations` - 1) seconds, which must be "
      "at least 1.",
      "generations = 4" },

    { "keys_per_generation", "keys-per-generation", 0, MCPU_CONF_OPT_NUM,
      "N", "1000000", NULL, 1, 4294967296, 0, 0,
      MCPU_DEDUP_AT(keys_per_generation),
      "Bloom filter sizing: the most new keys one partition receives in one "
      "period.  Beyond it the false-positive rate (events checked against "
      "the exact state) grows, never the false-negative rate.",
      "keys_per_generation = 5000000" },

    { "fp_rate", "fp-rate", 0, MCPU_CONF_OPT_DOUBLE, "RATE", "0.01", NULL,
      0, 0, 1e-9, 0.5, MCPU_DEDUP_AT(fp_rate),
      "The Bloom filter's false-positive rate at the designed fill "
      "(`keys_per_generation`): the share of new events checked against "
      "the exact state.",
      "fp_rate = 0.001" },

    { "batch", "batch", 0, MCPU_CONF_OPT_NUM, "N", "10000", NULL,
      1, 1000000, 0, 0, MCPU_DEDUP_AT(batch),
      "Records per batch at most.  One batch is one produce round, one "
      "state commit and one offset commit (one Kafka transaction with "
      "`transactional.id`).",
      "batch = 50000" },

    { "batch_ms", "batch-ms", 0, MCPU_CONF_OPT_NUM, "N", "100", NULL,
      1, 60000, 0, 0, MCPU_DEDUP_AT(batch_ms),
      "Milliseconds after which a batch is closed even when it is not "
      "full.",
      "batch_ms = 20" },

    { "flush_timeout_ms", "flush-timeout-ms", 0, MCPU_CONF_OPT_NUM, "N",
      "10000", NULL, 0, 3600000, 0, 0, MCPU_DEDUP_AT(flush_timeout_ms),
      "At SIGTERM, milliseconds to wait for the delivery reports of the "
      "current batch.  What is not confirmed by then is neither committed "
      "nor recorded in the state, so it is read again at the next start.",
      "mcpu-dedup --flush-timeout-ms 30000" },

    { "metrics_file", "metrics-file", 0, MCPU_CONF_OPT_PATH, "PATH", "",
      "none", 0, 0, 0, 0, MCPU_DEDUP_AT(metrics_file),
      "Writes counters in Prometheus text format to PATH every "
      "`metrics_interval_ms`, atomically (a temporary file, then "
      "rename()), for node_exporter's textfile collector or a static "
      "location of nginx.",
      "metrics_file = /var/lib/node_exporter/mcpu-dedup.prom" },

    { "metrics_interval_ms", "metrics-interval-ms", 0, MCPU_CONF_OPT_NUM,
      "N", "5000", NULL, 100, 3600000, 0, 0,
      MCPU_DEDUP_AT(metrics_interval_ms),
      "Milliseconds between two writes of `metrics_file`.",
      "metrics_interval_ms = 15000" },

    MCPU_CONF_ROW_LOG_FILE("mcpu-dedup", "/var/log/mcpu/dedup.log", MCPU_DEDUP_AT(log_file)),

    { "kafka.PROPERTY", NULL, 'X', MCPU_CONF_OPT_KAFKA, "PROPERTY=VALUE",
      NULL, "consumer: enable.auto.commit=false auto.offset.reset=earliest "
      "isolation.level=read_committed; producer: enable.idempotence=true "
      "acks=all linger.ms=5 client.id=mcpu-dedup", 0, 0, 0, 0,
      MCPU_CONF_OPT_NONE,
      "Passes a librdkafka property to `rd_kafka_conf_set()` untouched "
      "(repeatable; see librdkafka's CONFIGURATION.md): `kafka.linger.ms = "
      "20` in the file, `-X linger.ms=20` on the command line.  They are "
      "applied after mcpu-dedup's defaults, file lines first, so either "
      "overrides a default.  They apply to its consumer, its producer and "
      "its state catch-up reader alike, except that each skips those "
      "CONFIGURATION.md marks as for the other only (`P`, `C`).  A property "
      "librdkafka refuses stops start-up with librdkafka's message and exit "
      "code 2.  `-X transactional.id=ID`, unique per instance, turns on "
      "Kafka transactions: the produced records and the consumer's offsets "
      "are committed together.",
      "mcpu-dedup -X transactional.id=mcpu-dedup-1 -X compression.type=lz4" },

    MCPU_CONF_ROWS_ACTIONS("mcpu-dedup"),
};

#define MCPU_DEDUP_NOPTIONS \
    (sizeof(mcpu_dedup_options) / sizeof(mcpu_dedup_options[0]))


static const mcpu_conf_program_t  mcpu_dedup_program = {
    MCPU_DEDUP_CONF_NAME,
    MCPU_DEDUP_CONF_VERSION,

    /* --help: the summary, then after the options the epilogue */
    "Copies the raw events of a Kafka topic to a clean topic, without the\n"
    "duplicates that arrive within a window.",

    "In the file (-c) each option is a `name = value` line, e.g.\n"
    "`window_s = 86400`, `kafka.linger.ms = 20`; --list-options describes "
    "them all.\n"
    "Signals: TERM/INT finish the batch in hand and stop, HUP reopens the "
    "log file.\n"
    "Exit codes: 0 clean stop, 1 runtime failure (the state, a fatal Kafka "
    "error; a restart\nresumes without loss), 2 a setting or a topic was "
    "refused (a restart would not help).\n",

    mcpu_dedup_options,
    MCPU_DEDUP_NOPTIONS,
    sizeof(mcpu_dedup_conf_t),
    MCPU_DEDUP_AT(kafka),
    MCPU_DEDUP_AT(nkafka),
    MCPU_DEDUP_AT(test),
    mcpu_dedup_conf_derive
};


int
mcpu_dedup_conf_load(mcpu_dedup_conf_t *conf, int argc, char **argv,
    char *errstr, size_t errstr_size)
{
    return mcpu_conf_load(&mcpu_dedup_program, conf, argc, argv, errstr,
                          errstr_size);
}


void
mcpu_dedup_conf_free(mcpu_dedup_conf_t *conf)
{
    mcpu_conf_free(&mcpu_dedup_program, conf);
}


/*
 * What depends on other options, once all are read: reading and writing
 * one topic would feed the output back as input, and a generation must
 * last a whole second at least (the window is kept in seconds).
 */
static int
mcpu_dedup_conf_derive(void *data, char *errstr, size_t errstr_size)
{
    mcpu_dedup_conf_t  *conf = data;

    if (strcmp(conf->output_topic, conf->input_topic) == 0) {
        snprintf(errstr, errstr_size, "option \"output_topic\" (\"%s\") "
                 "must differ from option \"input_topic\"",
                 conf->output_topic);
        return MCPU_CONF_ERROR;
    }

    if (conf->window_s / (conf->generations - 1) < 1) {
        snprintf(errstr, errstr_size, "option \"window_s\" (%ld) is shorter "
                 "than option \"generations\" - 1 (%ld): each of the "
                 "window's periods must last 1 second at least",
                 conf->window_s, conf->generations - 1);
        return MCPU_CONF_ERROR;
    }

    return MCPU_CONF_OK;
}
