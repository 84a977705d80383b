/*
 * mcpu_sink_ch.h: ClickHouse's HTTP interface, through one libcurl easy
 * handle, so one keep-alive connection is reused from INSERT to INSERT
 * (curl reconnects by itself when ClickHouse closed it).
 *
 * An INSERT is one POST: the statement in the URL's query parameter, the
 * rows (JSONEachRow) in the body.  ClickHouse answers 200 once the rows
 * are written (a part per INSERT and month), anything else when it
 * refused them.  When the answer is lost (a timeout, a reset connection,
 * ClickHouse killed), the INSERT may or may not have been applied: the
 * caller sends it again, which is safe only because the table folds rows
 * of the same (client_id, dedup_key) into one.
 */

#ifndef MCPU_SINK_CH_H
#define MCPU_SINK_CH_H

#include <stddef.h>

#include <curl/curl.h>


#define MCPU_SINK_CH_OK        0
#define MCPU_SINK_CH_FAILED   -1   /* not answered, or not 200: retry */
#define MCPU_SINK_CH_REFUSED  -2   /* a check ClickHouse answered "no" to:
                                      retrying will not help */

#define MCPU_SINK_CH_ANSWER_MAX  16384  /* of an answer: ClickHouse's
                                           message, the table's columns */


typedef struct {
    CURL                *curl;
    struct curl_slist   *headers;
    char                *insert_url;   /* base + ?query=INSERT ... */
    char                *query_url;    /* base: the statement in the body */
    const char          *table;
    char                 safe_url[512];   /* for log lines */
    char                 curl_err[CURL_ERROR_SIZE];
    char                 answer[MCPU_SINK_CH_ANSWER_MAX + 1];
    size_t               answer_len;
    long                 status;       /* HTTP status of the last request */
} mcpu_sink_ch_t;


/**
 * @brief Prepares the handle for url and table (no connection yet).
 * @returns 0, or -1 with a sentence in errstr.
 * @locality main thread, after curl_global_init().
 */
int mcpu_sink_ch_open(mcpu_sink_ch_t *ch, const char *url, const char *table,
    char *errstr, size_t errstr_size);

void mcpu_sink_ch_close(mcpu_sink_ch_t *ch);

/**
 * @brief INSERT INTO table FORMAT JSONEachRow with the rows of body.
 * @returns MCPU_SINK_CH_OK when ClickHouse answered 200; MCPU_SINK_CH_FAILED
 *          with a sentence in errstr (ClickHouse's message, or why there was
 *          no answer, and whether the rows may have been applied).
 * @locality main thread.
 */
int mcpu_sink_ch_insert(mcpu_sink_ch_t *ch, const char *body, size_t len,
    long timeout_ms, char *errstr, size_t errstr_size);

/**
 * @brief Whether the table exists and has every column in columns (a NULL
 *        terminated list): EXISTS TABLE, then its columns' names from
 *        system.columns.
 * @returns MCPU_SINK_CH_OK; MCPU_SINK_CH_REFUSED (no such table, a column
 *          missing, credentials refused) or MCPU_SINK_CH_FAILED (no answer,
 *          a server error: worth another try), with a sentence in errstr.
 * @locality main thread.
 */
int mcpu_sink_ch_check(mcpu_sink_ch_t *ch, const char *const *columns,
    long timeout_ms, char *errstr, size_t errstr_size);

#endif /* MCPU_SINK_CH_H */
