/*
 * mcpu_sink_metrics.c: the counters in Prometheus' text format 0.0.4,
 * written whole to a temporary file and renamed over metrics_file, so a
 * reader (node_exporter's textfile collector, an nginx location) never
 * sees half of it.
 */

#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mcpu_sink.h"


#define MCPU_SINK_WATERMARK_TIMEOUT_MS  500

#define MCPU_SINK_TYPE(f, name, type, help)                                  \
    fprintf(f, "# HELP " name " " help "\n# TYPE " name " " type "\n")


static void mcpu_sink_metrics_partitions(mcpu_sink_t *d, FILE *f);


typedef struct {
    const char  *name;
    size_t       offset;          /* of its uint64_t in the counters */
    const char  *help;
} mcpu_sink_counter_t;

#define MCPU_SINK_COUNTER(field)  offsetof(mcpu_sink_counters_t, field)

/* the plain counters; the gauges are written below */
static const mcpu_sink_counter_t  mcpu_sink_counters[] = {
    { "mcpu_sink_records_read_total",
      MCPU_SINK_COUNTER(read),
      "Records of the clean topic taken into a batch (rows and skipped)." },
    { "mcpu_sink_rows_inserted_total",
      MCPU_SINK_COUNTER(rows_inserted),
      "Rows of the INSERTs ClickHouse answered 200 to." },
    { "mcpu_sink_bytes_inserted_total",
      MCPU_SINK_COUNTER(bytes_inserted),
      "Bytes (JSONEachRow) of the INSERTs ClickHouse answered 200 to." },
    { "mcpu_sink_records_skipped_total",
      MCPU_SINK_COUNTER(skipped),
      "Records that could not be mapped to a row (not JSON, another "
      "schema), skipped and committed." },
    { "mcpu_sink_inserts_total",
      MCPU_SINK_COUNTER(inserts),
      "INSERTs ClickHouse answered 200 to." },
    { "mcpu_sink_insert_failures_total",
      MCPU_SINK_COUNTER(insert_failures),
      "INSERTs not answered 200 (refused, no answer, no connection)." },
    { "mcpu_sink_insert_retries_total",
      MCPU_SINK_COUNTER(retries),
      "INSERTs of a batch that had been sent before." },
    { "mcpu_sink_batches_dropped_total",
      MCPU_SINK_COUNTER(batches_dropped),
      "Batches given up uncommitted at a revocation or a stop, after "
      "flush_timeout_ms (read again by the next reader)." },
    { "mcpu_sink_offset_commits_total",
      MCPU_SINK_COUNTER(commits),
      "Offset commits Kafka confirmed." },
    { "mcpu_sink_offset_commit_errors_total",
      MCPU_SINK_COUNTER(commit_errors),
      "Offset commits Kafka refused (the rows are in ClickHouse; the records "
      "are read again and folded by the table's key)." },
    { "mcpu_sink_consumer_errors_total",
      MCPU_SINK_COUNTER(consumer_errors),
      "Errors reading the topic." },
    { "mcpu_sink_rebalances_total",
      MCPU_SINK_COUNTER(rebalances),
      "Partition assignments and revocations." },
};


int
mcpu_sink_metrics_write(mcpu_sink_t *d, const char *path, char *errstr,
    size_t errstr_size)
{
    FILE    *f;
    char     tmp[4096];
    size_t   i;
    const mcpu_sink_counter_t   *c;
    const mcpu_sink_counters_t  *n = &d->n;

    f = mcpu_daemon_textfile_open(path, tmp, sizeof(tmp), errstr, errstr_size);
    if (f == NULL) {
        return -1;
    }

    for (i = 0; i < sizeof(mcpu_sink_counters) / sizeof(mcpu_sink_counters[0]);
         i++)
    {
        c = &mcpu_sink_counters[i];
        fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n",
                c->name, c->help, c->name, c->name,
                *(const uint64_t *) ((const char *) n + c->offset));
    }

    MCPU_SINK_TYPE(f, "mcpu_sink_batch_rows", "gauge",
                   "Rows of the batch in hand (not inserted yet).");
    fprintf(f, "mcpu_sink_batch_rows %" PRIu64 "\n", d->batch_rows);

    MCPU_SINK_TYPE(f, "mcpu_sink_batch_bytes", "gauge",
                   "Bytes of the batch in hand, as JSONEachRow rows.");
    fprintf(f, "mcpu_sink_batch_bytes %zu\n", d->rows.len);

    MCPU_SINK_TYPE(f, "mcpu_sink_backoff_seconds", "gauge",
                   "The wait before the next attempt of a failed INSERT; 0 "
                   "while ClickHouse takes the batches.");
    fprintf(f, "mcpu_sink_backoff_seconds %.3f\n",
            (double) d->backoff_ms / 1000.0);

    MCPU_SINK_TYPE(f, "mcpu_sink_paused", "gauge",
                   "1 while reading is paused (a batch waits for ClickHouse).");
    fprintf(f, "mcpu_sink_paused %d\n", d->paused);

    MCPU_SINK_TYPE(f, "mcpu_sink_last_insert_timestamp_seconds", "gauge",
                   "When ClickHouse last answered 200 to an INSERT.");
    fprintf(f, "mcpu_sink_last_insert_timestamp_seconds %.3f\n",
            (double) d->last_insert_wall_ms / 1000.0);

    MCPU_SINK_TYPE(f, "mcpu_sink_last_insert_duration_seconds", "gauge",
                   "How long the last successful INSERT took.");
    fprintf(f, "mcpu_sink_last_insert_duration_seconds %.3f\n",
            (double) d->last_insert_took_ms / 1000.0);

    mcpu_sink_metrics_partitions(d, f);

    return mcpu_daemon_textfile_commit(f, tmp, path, errstr, errstr_size);
}


static void
mcpu_sink_metrics_partitions(mcpu_sink_t *d, FILE *f)
{
    int                  i;
    int32_t              p;
    int64_t              lo, hi, off;
    mcpu_sink_part_t    *ps;
    rd_kafka_resp_err_t  err;
    rd_kafka_topic_partition_list_t  *pos;

    MCPU_SINK_TYPE(f, "mcpu_sink_partition_owned", "gauge",
                   "1 for each partition this instance holds.");
    MCPU_SINK_TYPE(f, "mcpu_sink_committed_offset", "gauge",
                   "The group's committed offset, as Kafka last confirmed "
                   "it, per partition held (-1: none yet).");
    MCPU_SINK_TYPE(f, "mcpu_sink_lag", "gauge",
                   "Records of the partition not read yet (high watermark "
                   "minus position).");

    pos = rd_kafka_topic_partition_list_new(8);

    for (p = 0; p < d->nparts; p++) {
        ps = &d->parts[p];
        if (!ps->owned) {
            continue;
        }

        rd_kafka_topic_partition_list_add(pos, d->conf->topic, p);

        fprintf(f, "mcpu_sink_partition_owned{partition=\"%" PRId32 "\"} 1\n",
                p);
        fprintf(f, "mcpu_sink_committed_offset{partition=\"%" PRId32 "\"} %"
                PRId64 "\n", p, ps->committed);
    }

    if (d->consumer != NULL && pos->cnt > 0
        && rd_kafka_position(d->consumer, pos) == RD_KAFKA_RESP_ERR_NO_ERROR)
    {
        for (i = 0; i < pos->cnt; i++) {
            /* librdkafka's cached high watermark comes with fetches, of
             * which a paused partition has none: then it is asked for */
            err = d->paused
                  ? rd_kafka_query_watermark_offsets(d->consumer,
                        d->conf->topic, pos->elems[i].partition, &lo, &hi,
                        MCPU_SINK_WATERMARK_TIMEOUT_MS)
                  : rd_kafka_get_watermark_offsets(d->consumer,
                        d->conf->topic, pos->elems[i].partition, &lo, &hi);

            if (err != RD_KAFKA_RESP_ERR_NO_ERROR || hi < 0) {
                continue;
            }

            /* the position is known once a record was read since the
             * assignment; before, the group's committed offset; without
             * one, all of the partition is to read */
            off = pos->elems[i].offset;
            if (off < 0) {
                off = d->parts[pos->elems[i].partition].committed;
            }
            if (off < 0) {
                off = lo;
            }

            fprintf(f, "mcpu_sink_lag{partition=\"%" PRId32 "\"} %" PRId64
                    "\n", pos->elems[i].partition, hi > off ? hi - off : 0);
        }
    }

    rd_kafka_topic_partition_list_destroy(pos);
}
