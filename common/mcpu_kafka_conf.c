/*
 * mcpu_kafka_conf.c: librdkafka configurations from defaults and the
 * user's properties.  See mcpu_kafka_conf.h.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "mcpu_conf.h"
#include "mcpu_kafka_conf.h"
#include "mcpu_daemon.h"
#include "mcpu_log.h"


static int mcpu_kafka_conf_applies(const char *table, const char *name,
    rd_kafka_type_t type);
static void mcpu_kafka_conf_logger(const rd_kafka_t *rk, int level,
    const char *fac, const char *buf);


rd_kafka_conf_t *
mcpu_kafka_conf_new(rd_kafka_type_t type, const char *const *defaults,
    const mcpu_conf_kafka_prop_t *props, size_t n, char *errstr,
    size_t errstr_size)
{
    char                          *table, err[512];
    FILE                          *f;
    size_t                         i, size;
    rd_kafka_conf_t               *kc;
    const char *const             *d;
    const mcpu_conf_kafka_prop_t  *p;

    /* librdkafka's own property table (CONFIGURATION.md), which says for
     * each property whether it is for consumers, producers or both */
    table = NULL;
    size = 0;

    f = open_memstream(&table, &size);
    if (f == NULL) {
        snprintf(errstr, errstr_size, "open_memstream() failed: %s",
                 strerror(errno));
        return NULL;
    }

    rd_kafka_conf_properties_show(f);
    fclose(f);

    kc = rd_kafka_conf_new();

    for (d = defaults; d != NULL && d[0] != NULL; d += 2) {
        if (rd_kafka_conf_set(kc, d[0], d[1], err, sizeof(err))
            != RD_KAFKA_CONF_OK)
        {
            snprintf(errstr, errstr_size, "default kafka property \"%s\": %s",
                     d[0], err);
            goto failed;
        }
    }

    /* untouched: librdkafka checks names and values and says what is wrong;
     * values are not echoed, they may be passwords */
    for (i = 0; i < n; i++) {
        p = &props[i];

        if (!mcpu_kafka_conf_applies(table, p->name, type)) {
            continue;
        }

        if (rd_kafka_conf_set(kc, p->name, p->value, err, sizeof(err))
            != RD_KAFKA_CONF_OK)
        {
            snprintf(errstr, errstr_size, "%s: kafka property \"%s\": %s",
                     p->origin, p->name, err);
            goto failed;
        }
    }

    rd_kafka_conf_set_log_cb(kc, mcpu_kafka_conf_logger);

    free(table);
    return kc;

failed:

    free(table);
    rd_kafka_conf_destroy(kc);
    return NULL;
}


/*
 * Whether property name applies to a handle of this type, by its row in
 * rd_kafka_conf_properties_show()'s table: "name | C/P | ...", where C is
 * consumer-only, P producer-only and * both.  A name the table lacks (a
 * plugin's, or a table whose layout changed) applies: librdkafka judges.
 */
static int
mcpu_kafka_conf_applies(const char *table, const char *name,
    rd_kafka_type_t type)
{
    size_t       len;
    const char  *line, *p;

    len = strlen(name);

    for (line = table; line != NULL && *line != '\0'; ) {
        if (strncmp(line, name, len) == 0 && line[len] == ' ') {
            for (p = line + len; *p == ' '; p++) {
                /* void */
            }

            if (*p == '|') {
                for (p++; *p == ' '; p++) {
                    /* void */
                }

                if (p[1] == ' ' || p[1] == '|') {
                    return type == RD_KAFKA_CONSUMER ? *p != 'P' : *p != 'C';
                }
            }
        }

        line = strchr(line, '\n');
        if (line != NULL) {
            line++;
        }
    }

    return 1;
}


/* librdkafka's own log lines, from any of its threads, in our format */
static void
mcpu_kafka_conf_logger(const rd_kafka_t *rk, int level, const char *fac,
    const char *buf)
{
    (void) rk;

    mcpu_log(level, "librdkafka %s: %s", fac, buf);
}


int
mcpu_kafka_cooperative(rd_kafka_t *rk)
{
    return strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
}


void
mcpu_kafka_rebalance_apply(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *tps)
{
    int                  assign, cooperative;
    rd_kafka_error_t    *error = NULL;
    rd_kafka_resp_err_t  rc = RD_KAFKA_RESP_ERR_NO_ERROR;

    assign = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
    cooperative = mcpu_kafka_cooperative(rk);

    if (cooperative) {
        error = assign ? rd_kafka_incremental_assign(rk, tps)
                       : rd_kafka_incremental_unassign(rk, tps);
    } else {
        rc = rd_kafka_assign(rk, assign ? tps : NULL);
    }

    if (error != NULL) {
        mcpu_log(MCPU_LOG_ERROR, "rebalance: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);

    } else if (rc) {
        mcpu_log(MCPU_LOG_ERROR, "rebalance: %s", rd_kafka_err2str(rc));
    }
}


int
mcpu_kafka_topic_partitions(rd_kafka_t *rk, const char *topic, int32_t *n,
    char *errstr, size_t errstr_size)
{
    rd_kafka_topic_t           *rkt;
    rd_kafka_resp_err_t         err;
    const rd_kafka_metadata_t  *md;

    rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (rkt == NULL) {
        snprintf(errstr, errstr_size, "topic \"%s\": %s", topic,
                 rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }

    for ( ;; ) {
        if (mcpu_daemon_stop) {
            errstr[0] = '\0';
            rd_kafka_topic_destroy(rkt);
            return -1;
        }

        err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
        if (err) {
            mcpu_log(MCPU_LOG_WARN, "metadata of \"%s\": %s; trying again",
                     topic, rd_kafka_err2str(err));
            rd_kafka_poll(rk, 1000);
            continue;
        }

        if (md->topic_cnt == 1 && md->topics[0].err == 0
            && md->topics[0].partition_cnt > 0)
        {
            *n = md->topics[0].partition_cnt;
            rd_kafka_metadata_destroy(md);
            rd_kafka_topic_destroy(rkt);
            return 0;
        }

        err = md->topic_cnt == 1 ? md->topics[0].err
                                 : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
        snprintf(errstr, errstr_size, "topic \"%s\" does not exist (%s)",
                 topic, err ? rd_kafka_err2str(err) : "no partitions");
        rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        return -1;
    }
}
