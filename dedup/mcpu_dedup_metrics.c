/*
 * mcpu_dedup_metrics.c: the counters in Prometheus' text format 0.0.4,
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

#include "mcpu_dedup.h"


#define MCPU_DEDUP_TYPE(f, name, type, help)                                 \
    fprintf(f, "# HELP " name " " help "\n# TYPE " name " " type "\n")


static void mcpu_dedup_metrics_partitions(mcpu_dedup_t *d, FILE *f);


typedef struct {
    const char  *name;
    size_t       offset;          /* of its uint64_t in the counters */
    const char  *help;
} mcpu_dedup_counter_t;

#define MCPU_DEDUP_COUNTER(field)  offsetof(mcpu_dedup_counters_t, field)

/* the plain counters; the labelled ones and the gauges are written below */
static const mcpu_dedup_counter_t  mcpu_dedup_counters[] = {
    { "mcpu_dedup_records_read_total",
      MCPU_DEDUP_COUNTER(read),
      "Records of the raw topic handled (in committed or "
      "retried batches)." },
    { "mcpu_dedup_records_unique_total",
      MCPU_DEDUP_COUNTER(unique),
      "Records written to the clean topic." },
    { "mcpu_dedup_exact_checks_total",
      MCPU_DEDUP_COUNTER(exact_checks),
      "Bloom filter answers of maybe-seen, each confirmed "
      "against the exact state." },
    { "mcpu_dedup_bloom_false_positives_total",
      MCPU_DEDUP_COUNTER(bloom_false_positives),
      "Exact checks that found the key new." },
    { "mcpu_dedup_batches_total",
      MCPU_DEDUP_COUNTER(batches),
      "Batches committed." },
    { "mcpu_dedup_batches_retried_total",
      MCPU_DEDUP_COUNTER(batches_retried),
      "Batches Kafka refused part of, read again." },
    { "mcpu_dedup_delivery_errors_total",
      MCPU_DEDUP_COUNTER(delivery_errors),
      "Records of the clean topic Kafka refused." },
    { "mcpu_dedup_offset_commit_errors_total",
      MCPU_DEDUP_COUNTER(commit_errors),
      "Consumer offset commits Kafka refused (the state keeps "
      "the offsets)." },
    { "mcpu_dedup_catchup_records_total",
      MCPU_DEDUP_COUNTER(catchup_records),
      "Records of the clean topic read back into the state "
      "when partitions were assigned." },
    { "mcpu_dedup_expired_keys_total",
      MCPU_DEDUP_COUNTER(expired_keys),
      "Keys dropped from the state as they left the window." },
    { "mcpu_dedup_rebalances_total",
      MCPU_DEDUP_COUNTER(rebalances),
      "Partition assignments and revocations." },
};


int
mcpu_dedup_metrics_write(mcpu_dedup_t *d, const char *path, char *errstr,
    size_t errstr_size)
{
    int     k;
    FILE   *f;
    char    tmp[4096];
    size_t  i;
    const mcpu_dedup_counter_t  *c;
    const mcpu_dedup_counters_t  *n = &d->n;

    f = mcpu_daemon_textfile_open(path, tmp, sizeof(tmp), errstr, errstr_size);
    if (f == NULL) {
        return -1;
    }

    for (i = 0; i < sizeof(mcpu_dedup_counters) / sizeof(mcpu_dedup_counters[0]);
         i++)
    {
        c = &mcpu_dedup_counters[i];
        fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n",
                c->name, c->help, c->name, c->name,
                *(const uint64_t *) ((const char *) n + c->offset));
    }

    MCPU_DEDUP_TYPE(f, "mcpu_dedup_duplicates_total", "counter",
                    "Records dropped as duplicates, by the kind of key "
                    "that matched (seq, content, raw).");
    for (k = 0; k < MCPU_DEDUP_KINDS; k++) {
        fprintf(f, "mcpu_dedup_duplicates_total{key=\"%s\"} %" PRIu64 "\n",
                mcpu_dedup_kind_name(k), n->duplicates[k]);
    }

    MCPU_DEDUP_TYPE(f, "mcpu_dedup_state_bytes", "gauge",
                    "Bytes of the LMDB file in use.");
    fprintf(f, "mcpu_dedup_state_bytes %" PRIu64 "\n",
            mcpu_dedup_state_bytes(&d->state));

    MCPU_DEDUP_TYPE(f, "mcpu_dedup_last_batch_timestamp_seconds", "gauge",
                    "When the last batch was committed.");
    fprintf(f, "mcpu_dedup_last_batch_timestamp_seconds %.3f\n",
            (double) d->last_batch_ms / 1000.0);

    mcpu_dedup_metrics_partitions(d, f);

    return mcpu_daemon_textfile_commit(f, tmp, path, errstr, errstr_size);
}


static void
mcpu_dedup_metrics_partitions(mcpu_dedup_t *d, FILE *f)
{
    int                   i;
    int32_t               p;
    int64_t               lo, hi, off;
    mcpu_dedup_part_t    *ps;
    rd_kafka_topic_partition_list_t  *pos;

    MCPU_DEDUP_TYPE(f, "mcpu_dedup_partition_owned", "gauge",
                    "1 for each raw partition this instance holds.");
    MCPU_DEDUP_TYPE(f, "mcpu_dedup_state_keys", "gauge",
                    "Keys in the window, per partition held.");
    MCPU_DEDUP_TYPE(f, "mcpu_dedup_bloom_fill_ratio", "gauge",
                    "Share of the newest Bloom generation's bits set "
                    "(about 0.5 at keys_per_generation).");
    MCPU_DEDUP_TYPE(f, "mcpu_dedup_bloom_bytes", "gauge",
                    "Memory of the partition's Bloom filter.");
    MCPU_DEDUP_TYPE(f, "mcpu_dedup_lag", "gauge",
                    "Records of the raw partition not read yet (high "
                    "watermark minus position).");

    pos = rd_kafka_topic_partition_list_new(8);

    for (p = 0; p < d->partitions; p++) {
        ps = &d->parts[p];
        if (!ps->owned || !ps->loaded) {
            continue;
        }

        rd_kafka_topic_partition_list_add(pos, d->conf->input_topic, p);

        fprintf(f, "mcpu_dedup_partition_owned{partition=\"%" PRId32
                "\"} 1\n", p);
        fprintf(f, "mcpu_dedup_state_keys{partition=\"%" PRId32 "\"} %"
                PRId64 "\n", p, ps->keys);
        fprintf(f, "mcpu_dedup_bloom_fill_ratio{partition=\"%" PRId32
                "\"} %.6f\n", p, mcpu_bloom_fill_ratio(&ps->bloom));
        fprintf(f, "mcpu_dedup_bloom_bytes{partition=\"%" PRId32 "\"} %zu\n",
                p, mcpu_bloom_memory(&ps->bloom));
    }

    if (d->consumer != NULL && pos->cnt > 0
        && rd_kafka_position(d->consumer, pos) == RD_KAFKA_RESP_ERR_NO_ERROR)
    {
        for (i = 0; i < pos->cnt; i++) {
            if (rd_kafka_get_watermark_offsets(d->consumer,
                    d->conf->input_topic, pos->elems[i].partition, &lo, &hi)
                != RD_KAFKA_RESP_ERR_NO_ERROR
                || hi < 0)
            {
                continue;
            }

            /*
             * The position is known once a record was read since the
             * assignment; before that, an instance with nothing new to
             * read is as far as its state says (all is lag without one).
             */
            off = pos->elems[i].offset;
            if (off < 0) {
                off = d->parts[pos->elems[i].partition].raw_next;
            }
            if (off < 0) {
                off = lo;
            }

            fprintf(f, "mcpu_dedup_lag{partition=\"%" PRId32 "\"} %" PRId64
                    "\n", pos->elems[i].partition, hi > off ? hi - off : 0);
        }
    }

    rd_kafka_topic_partition_list_destroy(pos);
}
