/*
 * plain_producer: the Kafka ceiling for mcpu-batcher (bench/kafka-ceiling.sh).
 *
 * Loads every unreleased record of a ring file (a copy taken before the
 * batcher drained the original) into memory, then produces them all as fast
 * as it can with the batcher's own producer settings, and waits for every
 * delivery report.  The Kafka records are the batcher's: same key, same
 * value, same two headers (mcpu-type, mcpu-schema, computed here at load
 * time, not per send), the value handed over without RD_KAFKA_MSG_F_COPY as
 * the batcher does; lanes are taken in turns of `batch` records, as the
 * batcher's passes do.  What it leaves out is the batcher's own work: the
 * ring walk, the in-flight FIFOs, releases, the last-seen table.
 *
 *   plain_producer -r RING_COPY -b BROKERS -t TOPIC [-X PROP=VALUE]...
 *                  [-n MAX_RECORDS] [-B BATCH] [-H (no headers)]
 *
 * Prints key=value lines: records, bytes (values + keys), load_ms,
 * elapsed_ms (from rd_kafka_new() to the last report, as the batcher's
 * time runs from its start), eps and bytes_per_s over that, produce_ms and
 * produce_eps (from the first rd_kafka_producev() only), cpu_ms (CPU
 * time of every thread over elapsed_ms, user + system), errors.
 * Exit status 0 when every record was acknowledged.
 *
 * Build: make build/bench/plain_producer (bench/kafka-ceiling.sh does it).
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "mcpu_event.h"
#include "mcpu_ring.h"


typedef struct {
    const char  *key;
    const char  *value;
    const char  *schema;
    const char  *type;
    uint32_t     key_len;
    uint32_t     value_len;
    uint32_t     schema_len;
    uint32_t     type_len;
} pp_rec_t;

typedef struct {
    pp_rec_t  *recs;
    size_t     n;
    size_t     next;
} pp_lane_t;


static uint64_t  pp_acked, pp_errors;
static char      pp_first_error[256];


static uint64_t
pp_now_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}


/* CPU time of the process so far (every thread), ms */
static double
pp_cpu_ms(void)
{
    struct rusage  ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3
           + (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}


static void
pp_dr(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
    (void) rk;
    (void) opaque;

    if (rkm->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        pp_acked++;
        return;
    }

    if (pp_errors++ == 0) {
        snprintf(pp_first_error, sizeof(pp_first_error), "%s",
                 rd_kafka_err2str(rkm->err));
    }
}


static void
pp_usage(void)
{
    fprintf(stderr, "usage: plain_producer -r RING_COPY -b BROKERS -t TOPIC "
            "[-X PROP=VALUE]... [-n MAX_RECORDS] [-B BATCH] [-H]\n");
    exit(2);
}


int
main(int argc, char **argv)
{
    int                  c, headers, rc;
    char                 err[512], *ring_path, *brokers, *topic, *eq;
    char                *arena;
    size_t               i, total, max, batch, nprops, at, left, k;
    uint32_t             lane;
    uint64_t             t_load, t0, t1, t2, bytes;
    double               cpu0;
    pp_lane_t           *lanes;
    pp_rec_t            *r;
    mcpu_ring_t          ring;
    mcpu_ring_view_t     v;
    rd_kafka_t          *rk;
    rd_kafka_conf_t     *kc;
    rd_kafka_topic_t    *rkt;
    rd_kafka_resp_err_t  e;
    char                *props[64];
    const char          *schema, *type;
    size_t               schema_len, type_len;

    /* mcpu_batcher_kafka.c's defaults, in the same order; -X after them */
    static const char *const  defaults[][2] = {
        { "enable.idempotence", "true" },
        { "acks", "all" },
        { "message.timeout.ms", "0" },
        { "linger.ms", "5" },
        { "client.id", "mcpu-plain-producer" },
    };

    ring_path = brokers = topic = NULL;
    max = SIZE_MAX;
    batch = 1000;                 /* the batcher's default "batch" */
    headers = 1;
    nprops = 0;

    while ((c = getopt(argc, argv, "r:b:t:X:n:B:H")) != -1) {
        switch (c) {
        case 'r': ring_path = optarg; break;
        case 'b': brokers = optarg; break;
        case 't': topic = optarg; break;
        case 'n': max = strtoull(optarg, NULL, 10); break;
        case 'B': batch = strtoull(optarg, NULL, 10); break;
        case 'H': headers = 0; break;
        case 'X':
            if (nprops == sizeof(props) / sizeof(props[0])) {
                pp_usage();
            }
            props[nprops++] = optarg;
            break;
        default:
            pp_usage();
        }
    }

    if (ring_path == NULL || brokers == NULL || topic == NULL || batch == 0) {
        pp_usage();
    }

    /* --- load: every unreleased record, lane by lane, into one arena */

    t_load = pp_now_ns();

    if (mcpu_ring_open(&ring, ring_path, NULL, 0, 0, err, sizeof(err))
        != MCPU_RING_OK)
    {
        fprintf(stderr, "plain_producer: %s\n", err);
        return 1;
    }

    total = 0;
    for (lane = 0; lane < ring.nlanes; lane++) {
        total += ring.lanes[lane].p_tail - ring.lanes[lane].c_head;
    }

    arena = malloc(total ? total : 1);
    lanes = calloc(ring.nlanes, sizeof(pp_lane_t));
    if (arena == NULL || lanes == NULL) {
        fprintf(stderr, "plain_producer: out of memory for %zu bytes\n",
                total);
        return 1;
    }

    at = 0;
    bytes = 0;
    k = 0;

    for (lane = 0; lane < ring.nlanes; lane++) {
        uint64_t  cursor = ring.lanes[lane].c_head;
        size_t    cap = 0;

        while (k < max
               && (rc = mcpu_ring_peek(&ring, (int) lane, &cursor, &v))
                  == MCPU_RING_OK)
        {
            if (lanes[lane].n == cap) {
                cap = cap ? cap * 2 : 4096;
                lanes[lane].recs = realloc(lanes[lane].recs,
                                           cap * sizeof(pp_rec_t));
                if (lanes[lane].recs == NULL) {
                    fprintf(stderr, "plain_producer: out of memory\n");
                    return 1;
                }
            }

            r = &lanes[lane].recs[lanes[lane].n++];

            memcpy(arena + at, v.key, v.key_len);
            r->key = arena + at;
            r->key_len = v.key_len;
            at += v.key_len;

            memcpy(arena + at, v.value, v.value_len);
            r->value = arena + at;
            r->value_len = v.value_len;
            at += v.value_len;

            if (mcpu_record_peek(r->value, r->value_len, &schema, &schema_len,
                                 &type, &type_len)
                != 0)
            {
                schema = type = "";
                schema_len = type_len = 0;
            }

            r->schema = schema;
            r->schema_len = (uint32_t) schema_len;
            r->type = type;
            r->type_len = (uint32_t) type_len;

            bytes += v.key_len + v.value_len;
            k++;
        }
    }

    mcpu_ring_close(&ring);

    fprintf(stdout, "records=%zu\nbytes=%" PRIu64 "\nload_ms=%.1f\n", k,
            bytes, (double) (pp_now_ns() - t_load) / 1e6);
    fflush(stdout);

    /* --- the producer, configured as the batcher's */

    t0 = pp_now_ns();
    cpu0 = pp_cpu_ms();

    kc = rd_kafka_conf_new();

    for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        if (rd_kafka_conf_set(kc, defaults[i][0], defaults[i][1], err,
                              sizeof(err)) != RD_KAFKA_CONF_OK)
        {
            fprintf(stderr, "plain_producer: %s: %s\n", defaults[i][0], err);
            return 2;
        }
    }

    if (rd_kafka_conf_set(kc, "bootstrap.servers", brokers, err, sizeof(err))
        != RD_KAFKA_CONF_OK)
    {
        fprintf(stderr, "plain_producer: bootstrap.servers: %s\n", err);
        return 2;
    }

    for (i = 0; i < nprops; i++) {
        eq = strchr(props[i], '=');
        if (eq == NULL) {
            pp_usage();
        }

        *eq = '\0';
        if (rd_kafka_conf_set(kc, props[i], eq + 1, err, sizeof(err))
            != RD_KAFKA_CONF_OK)
        {
            fprintf(stderr, "plain_producer: %s: %s\n", props[i], err);
            return 2;
        }
    }

    rd_kafka_conf_set_dr_msg_cb(kc, pp_dr);

    rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, err, sizeof(err));
    if (rk == NULL) {
        fprintf(stderr, "plain_producer: rd_kafka_new: %s\n", err);
        return 1;
    }

    rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (rkt == NULL) {
        fprintf(stderr, "plain_producer: rd_kafka_topic_new: %s\n",
                rd_kafka_err2str(rd_kafka_last_error()));
        return 1;
    }

    /* --- produce: lanes in turns of `batch` records, a poll(0) after each
     * turn of all lanes, as the batcher's pass; a full queue waits for
     * reports as the batcher does (its poll returns at the first one) */

    t1 = pp_now_ns();
    left = k;

    while (left > 0) {
        for (lane = 0; lane < ring.nlanes; lane++) {
            pp_lane_t  *l = &lanes[lane];
            size_t      end = l->next + batch;

            if (end > l->n) {
                end = l->n;
            }

            while (l->next < end) {
                r = &l->recs[l->next];

                if (headers) {
                    e = rd_kafka_producev(rk,
                            RD_KAFKA_V_RKT(rkt),
                            RD_KAFKA_V_KEY(r->key, (size_t) r->key_len),
                            RD_KAFKA_V_VALUE((void *) r->value,
                                             (size_t) r->value_len),
                            RD_KAFKA_V_HEADER("mcpu-type", r->type,
                                              (ssize_t) r->type_len),
                            RD_KAFKA_V_HEADER("mcpu-schema", r->schema,
                                              (ssize_t) r->schema_len),
                            RD_KAFKA_V_MSGFLAGS(0),
                            RD_KAFKA_V_END);
                } else {
                    e = rd_kafka_producev(rk,
                            RD_KAFKA_V_RKT(rkt),
                            RD_KAFKA_V_KEY(r->key, (size_t) r->key_len),
                            RD_KAFKA_V_VALUE((void *) r->value,
                                             (size_t) r->value_len),
                            RD_KAFKA_V_MSGFLAGS(0),
                            RD_KAFKA_V_END);
                }

                if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                    rd_kafka_poll(rk, 100);
                    continue;
                }

                if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
                    fprintf(stderr, "plain_producer: produce: %s\n",
                            rd_kafka_err2str(e));
                    return 1;
                }

                l->next++;
                left--;
            }
        }

        rd_kafka_poll(rk, 0);
    }

    while (pp_acked + pp_errors < k) {
        rd_kafka_poll(rk, 100);
    }

    t2 = pp_now_ns();

    printf("elapsed_ms=%.1f\neps=%.0f\nbytes_per_s=%.0f\nproduce_ms=%.1f\n"
           "produce_eps=%.0f\ncpu_ms=%.0f\nerrors=%" PRIu64 "\n",
           (double) (t2 - t0) / 1e6, (double) k * 1e9 / (double) (t2 - t0),
           (double) bytes * 1e9 / (double) (t2 - t0),
           (double) (t2 - t1) / 1e6, (double) k * 1e9 / (double) (t2 - t1),
           pp_cpu_ms() - cpu0, pp_errors);

    if (pp_errors) {
        fprintf(stderr, "plain_producer: %" PRIu64 " delivery errors, the "
                "first: %s\n", pp_errors, pp_first_error);
    }

    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);

    return pp_errors ? 1 : 0;
}
