/*
 * mcpu_sink_ch.c: ClickHouse over HTTP with libcurl (mcpu_sink_ch.h).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "mcpu_sink_ch.h"
#include "mcpu_sink_conf.h"


#define MCPU_SINK_CH_CONNECT_MS  5000
#define MCPU_SINK_CH_USER_AGENT  "mcpu-sink/0.1.0"


static char *mcpu_sink_ch_url(const char *base, const char *query,
    char *errstr, size_t errstr_size);
static CURLcode mcpu_sink_ch_post(mcpu_sink_ch_t *ch, const char *url,
    const char *body, size_t len, long timeout_ms);
static size_t mcpu_sink_ch_answer(char *data, size_t size, size_t n,
    void *arg);
static int mcpu_sink_ch_query(mcpu_sink_ch_t *ch, const char *sql,
    long timeout_ms, const char *what, char *errstr, size_t errstr_size);
static const char *mcpu_sink_ch_message(mcpu_sink_ch_t *ch);


int
mcpu_sink_ch_open(mcpu_sink_ch_t *ch, const char *url, const char *table,
    char *errstr, size_t errstr_size)
{
    char  sql[512];

    memset(ch, 0, sizeof(*ch));
    ch->table = table;
    mcpu_sink_conf_url_safe(url, ch->safe_url, sizeof(ch->safe_url));

    snprintf(sql, sizeof(sql), "query=INSERT INTO %s FORMAT JSONEachRow",
             table);

    ch->insert_url = mcpu_sink_ch_url(url, sql, errstr, errstr_size);
    ch->query_url = strdup(url);
    if (ch->insert_url == NULL || ch->query_url == NULL) {
        if (ch->query_url == NULL) {
            snprintf(errstr, errstr_size, "out of memory");
        }
        goto failed;
    }

    ch->curl = curl_easy_init();
    if (ch->curl == NULL) {
        snprintf(errstr, errstr_size, "curl_easy_init() failed");
        goto failed;
    }

    /* no 100-continue round trip before each body; the rows are text */
    ch->headers = curl_slist_append(NULL, "Expect:");
    ch->headers = curl_slist_append(ch->headers,
                                    "Content-Type: text/plain; charset=utf-8");
    if (ch->headers == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        goto failed;
    }

    /* NOSIGNAL: timeouts without SIGALRM, librdkafka runs threads */
    if (curl_easy_setopt(ch->curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK
        || curl_easy_setopt(ch->curl, CURLOPT_USERAGENT,
                            MCPU_SINK_CH_USER_AGENT) != CURLE_OK
        || curl_easy_setopt(ch->curl, CURLOPT_HTTPHEADER, ch->headers)
           != CURLE_OK
        || curl_easy_setopt(ch->curl, CURLOPT_WRITEFUNCTION,
                            mcpu_sink_ch_answer) != CURLE_OK
        || curl_easy_setopt(ch->curl, CURLOPT_WRITEDATA, ch) != CURLE_OK
        || curl_easy_setopt(ch->curl, CURLOPT_ERRORBUFFER, ch->curl_err)
           != CURLE_OK
        || curl_easy_setopt(ch->curl, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK
        || curl_easy_setopt(ch->curl, CURLOPT_TCP_NODELAY, 1L) != CURLE_OK
        || curl_easy_setopt(ch->curl, CURLOPT_POST, 1L) != CURLE_OK)
    {
        snprintf(errstr, errstr_size, "libcurl refused an option");
        goto failed;
    }

    return 0;

failed:

    mcpu_sink_ch_close(ch);
    return -1;
}


void
mcpu_sink_ch_close(mcpu_sink_ch_t *ch)
{
    if (ch->curl != NULL) {
        curl_easy_cleanup(ch->curl);
    }

    curl_slist_free_all(ch->headers);
    free(ch->insert_url);
    free(ch->query_url);

    ch->curl = NULL;
    ch->headers = NULL;
    ch->insert_url = NULL;
    ch->query_url = NULL;
}


int
mcpu_sink_ch_insert(mcpu_sink_ch_t *ch, const char *body, size_t len,
    long timeout_ms, char *errstr, size_t errstr_size)
{
    CURLcode  rc;

    rc = mcpu_sink_ch_post(ch, ch->insert_url, body, len, timeout_ms);

    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
        snprintf(errstr, errstr_size, "ClickHouse at %s: %s (not applied)",
                 ch->safe_url, ch->curl_err[0] ? ch->curl_err
                                               : curl_easy_strerror(rc));
        return MCPU_SINK_CH_FAILED;
    }

    if (rc != CURLE_OK) {
        snprintf(errstr, errstr_size, "ClickHouse at %s: no answer: %s (the "
                 "INSERT may or may not have been applied; sending it again "
                 "is safe: the table folds rows with the same key)",
                 ch->safe_url, ch->curl_err[0] ? ch->curl_err
                                               : curl_easy_strerror(rc));
        return MCPU_SINK_CH_FAILED;
    }

    if (ch->status != 200) {
        snprintf(errstr, errstr_size, "ClickHouse at %s refused the INSERT "
                 "(HTTP %ld): %s", ch->safe_url, ch->status,
                 mcpu_sink_ch_message(ch));
        return MCPU_SINK_CH_FAILED;
    }

    return MCPU_SINK_CH_OK;
}


int
mcpu_sink_ch_check(mcpu_sink_ch_t *ch, const char *const *columns,
    long timeout_ms, char *errstr, size_t errstr_size)
{
    int          rc, found;
    char         sql[512], missing[512], *line, *save, *end;
    const char  *dot;
    size_t       i, n;

    snprintf(sql, sizeof(sql), "EXISTS TABLE %s", ch->table);
    rc = mcpu_sink_ch_query(ch, sql, timeout_ms, "EXISTS TABLE", errstr,
                            errstr_size);
    if (rc != MCPU_SINK_CH_OK) {
        return rc;
    }

    if (strcmp(ch->answer, "1\n") != 0) {
        snprintf(errstr, errstr_size, "table %s does not exist in ClickHouse "
                 "at %s: create it with store/schema.sql (clickhouse-client "
                 "--multiquery < store/schema.sql; scripts/clickhouse.sh "
                 "start applies it to its own server)", ch->table,
                 ch->safe_url);
        return MCPU_SINK_CH_REFUSED;
    }

    /* the names only (DESCRIBE's types and defaults could pass the
     * answer's limit); the table's name is letters, digits and _
     * (mcpu_sink_conf.c), safe between quotes */
    dot = strchr(ch->table, '.');
    if (dot != NULL) {
        snprintf(sql, sizeof(sql), "SELECT name FROM system.columns WHERE "
                 "database = '%.*s' AND table = '%s' FORMAT TabSeparated",
                 (int) (dot - ch->table), ch->table, dot + 1);
    } else {
        snprintf(sql, sizeof(sql), "SELECT name FROM system.columns WHERE "
                 "database = currentDatabase() AND table = '%s' "
                 "FORMAT TabSeparated", ch->table);
    }

    rc = mcpu_sink_ch_query(ch, sql, timeout_ms, "the columns of", errstr,
                            errstr_size);
    if (rc != MCPU_SINK_CH_OK) {
        return rc;
    }

    missing[0] = '\0';

    for (i = 0; columns[i] != NULL; i++) {
        found = 0;
        n = strlen(columns[i]);

        for (line = ch->answer; line != NULL && *line != '\0'; ) {
            end = strchr(line, '\n');
            if (end != NULL && (size_t) (end - line) == n
                && memcmp(line, columns[i], n) == 0)
            {
                found = 1;
                break;
            }

            line = strchr(line, '\n');
            line = line != NULL ? line + 1 : NULL;
        }

        if (!found) {
            save = missing + strlen(missing);
            snprintf(save, sizeof(missing) - (size_t) (save - missing),
                     "%s%s", missing[0] ? ", " : "", columns[i]);
        }
    }

    if (missing[0] != '\0') {
        snprintf(errstr, errstr_size, "table %s in ClickHouse at %s lacks "
                 "the column(s) %s of store/schema.sql", ch->table,
                 ch->safe_url, missing);
        return MCPU_SINK_CH_REFUSED;
    }

    return MCPU_SINK_CH_OK;
}


/*
 * One statement, its answer in ch->answer.  ClickHouse 18.16 answers 401
 * (unknown user), 403 or 516 (wrong password, in later versions) to
 * credentials it refuses: not worth retrying.
 */
static int
mcpu_sink_ch_query(mcpu_sink_ch_t *ch, const char *sql, long timeout_ms,
    const char *what, char *errstr, size_t errstr_size)
{
    CURLcode  rc;

    rc = mcpu_sink_ch_post(ch, ch->query_url, sql, strlen(sql), timeout_ms);

    if (rc != CURLE_OK) {
        snprintf(errstr, errstr_size, "ClickHouse at %s: %s", ch->safe_url,
                 ch->curl_err[0] ? ch->curl_err : curl_easy_strerror(rc));
        return MCPU_SINK_CH_FAILED;
    }

    if (ch->status == 200) {
        return MCPU_SINK_CH_OK;
    }

    snprintf(errstr, errstr_size, "ClickHouse at %s refused %s %s (HTTP %ld): "
             "%s", ch->safe_url, what, ch->table, ch->status,
             mcpu_sink_ch_message(ch));

    return (ch->status == 401 || ch->status == 403 || ch->status == 516)
           ? MCPU_SINK_CH_REFUSED : MCPU_SINK_CH_FAILED;
}


static CURLcode
mcpu_sink_ch_post(mcpu_sink_ch_t *ch, const char *url, const char *body,
    size_t len, long timeout_ms)
{
    CURLcode  rc;

    ch->answer_len = 0;
    ch->answer[0] = '\0';
    ch->curl_err[0] = '\0';
    ch->status = 0;

    curl_easy_setopt(ch->curl, CURLOPT_URL, url);
    curl_easy_setopt(ch->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(ch->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len);
    curl_easy_setopt(ch->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(ch->curl, CURLOPT_CONNECTTIMEOUT_MS,
                     timeout_ms < MCPU_SINK_CH_CONNECT_MS
                     ? timeout_ms : (long) MCPU_SINK_CH_CONNECT_MS);

    rc = curl_easy_perform(ch->curl);

    if (rc == CURLE_OK) {
        curl_easy_getinfo(ch->curl, CURLINFO_RESPONSE_CODE, &ch->status);
    }

    return rc;
}


/* keeps the first MCPU_SINK_CH_ANSWER_MAX bytes, takes (drops) the rest */
static size_t
mcpu_sink_ch_answer(char *data, size_t size, size_t n, void *arg)
{
    size_t           len = size * n, room;
    mcpu_sink_ch_t  *ch = arg;

    room = MCPU_SINK_CH_ANSWER_MAX - ch->answer_len;
    if (room > len) {
        room = len;
    }

    memcpy(ch->answer + ch->answer_len, data, room);
    ch->answer_len += room;
    ch->answer[ch->answer_len] = '\0';

    return len;
}


/* the first line of ClickHouse's answer, for one log line */
static const char *
mcpu_sink_ch_message(mcpu_sink_ch_t *ch)
{
    char  *nl;

    nl = strchr(ch->answer, '\n');
    if (nl != NULL) {
        *nl = '\0';
    }

    return ch->answer[0] ? ch->answer : "(no message)";
}


/* base with query appended as one more URL parameter, encoded */
static char *
mcpu_sink_ch_url(const char *base, const char *query, char *errstr,
    size_t errstr_size)
{
    char       *url = NULL, *copy;
    CURLU      *u;
    CURLUcode   rc;

    u = curl_url();
    if (u == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }

    rc = curl_url_set(u, CURLUPART_URL, base, 0);
    if (rc == CURLUE_OK) {
        rc = curl_url_set(u, CURLUPART_QUERY, query,
                          CURLU_APPENDQUERY | CURLU_URLENCODE);
    }
    if (rc == CURLUE_OK) {
        rc = curl_url_get(u, CURLUPART_URL, &url, 0);
    }

    curl_url_cleanup(u);

    if (rc != CURLUE_OK) {
        snprintf(errstr, errstr_size, "clickhouse_url: %s",
                 curl_url_strerror(rc));
        return NULL;
    }

    copy = strdup(url);
    curl_free(url);

    if (copy == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
    }

    return copy;
}
