/*
 * mcpu_report_ch.c: ClickHouse over HTTP.  See mcpu_report_ch.h.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "mcpu_report_ch.h"


#define MCPU_REPORT_CH_CONNECT_MS   5000
#define MCPU_REPORT_CH_FORMAT       "\nFORMAT TabSeparatedWithNames"
#define MCPU_REPORT_CH_MESSAGE_MAX  400     /* of ClickHouse's, in errstr */

/* ClickHouse's error codes (src/Common/ErrorCodes.cpp) */
#define MCPU_REPORT_CH_UNKNOWN_TABLE     60
#define MCPU_REPORT_CH_UNKNOWN_DATABASE  81


typedef struct {
    char    *data;
    size_t   len;
    size_t   cap;
} mcpu_report_ch_buf_t;


static size_t mcpu_report_ch_write(char *p, size_t size, size_t n,
    void *data);
static int mcpu_report_ch_parse(mcpu_report_rows_t *rows, char *errstr,
    size_t errstr_size);
static size_t mcpu_report_ch_split(char *line, char **cells, size_t max);
static void mcpu_report_ch_unescape(char *s);
static void mcpu_report_ch_message(const char *body, char *buf,
    size_t size);


int
mcpu_report_ch_open(mcpu_report_ch_t *ch, const char *url, long timeout_s,
    char *errstr, size_t errstr_size)
{
    int     n;
    size_t  len;

    memset(ch, 0, sizeof(*ch));
    ch->timeout_s = timeout_s;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(errstr, errstr_size, "curl_global_init() failed");
        return -1;
    }

    ch->curl = curl_easy_init();
    ch->base = strdup(url);
    len = strlen(url) + 96;
    ch->url = malloc(len);

    if (ch->curl == NULL || ch->base == NULL || ch->url == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }

    /* the settings go after the path, in the query string the URL may
     * already have (user=...&password=...) */
    n = snprintf(ch->url, len, "%s%s%swait_end_of_query=1"
                 "&max_execution_time=%ld", url,
                 strchr(url, '?') ? "" : (url[strlen(url) - 1] == '/'
                                          ? "?" : "/?"),
                 strchr(url, '?') ? "&" : "", timeout_s);
    if (n < 0 || (size_t) n >= len) {
        snprintf(errstr, errstr_size, "URL \"%s\" is too long", url);
        return -1;
    }

    return 0;
}


void
mcpu_report_ch_close(mcpu_report_ch_t *ch)
{
    if (ch->curl != NULL) {
        curl_easy_cleanup(ch->curl);
        curl_global_cleanup();
    }

    free(ch->url);
    free(ch->base);
    memset(ch, 0, sizeof(*ch));
}


int
mcpu_report_ch_query(mcpu_report_ch_t *ch, const char *name,
    const char *sql, mcpu_report_rows_t *rows, char *errstr,
    size_t errstr_size)
{
    int                    code;
    char                  *body, *p, curl_err[CURL_ERROR_SIZE];
    char                   message[MCPU_REPORT_CH_MESSAGE_MAX];
    long                   status;
    size_t                 len;
    CURLcode               rc;
    struct curl_slist     *headers;
    mcpu_report_ch_buf_t   buf;

    memset(rows, 0, sizeof(*rows));
    memset(&buf, 0, sizeof(buf));

    /* the statement, without a trailing ";", then the format */
    len = strlen(sql);
    while (len > 0 && strchr(" \t\r\n;", sql[len - 1]) != NULL) {
        len--;
    }

    body = malloc(len + sizeof(MCPU_REPORT_CH_FORMAT));
    if (body == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return MCPU_REPORT_CH_FAILED;
    }

    memcpy(body, sql, len);
    memcpy(body + len, MCPU_REPORT_CH_FORMAT, sizeof(MCPU_REPORT_CH_FORMAT));

    headers = curl_slist_append(NULL, "Content-Type: text/plain; "
                                      "charset=utf-8");

    curl_easy_reset(ch->curl);
    curl_err[0] = '\0';
    curl_easy_setopt(ch->curl, CURLOPT_URL, ch->url);
    curl_easy_setopt(ch->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(ch->curl, CURLOPT_POSTFIELDSIZE,
                     (long) (len + sizeof(MCPU_REPORT_CH_FORMAT) - 1));
    curl_easy_setopt(ch->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(ch->curl, CURLOPT_WRITEFUNCTION, mcpu_report_ch_write);
    curl_easy_setopt(ch->curl, CURLOPT_WRITEDATA, &buf);
    curl_easy_setopt(ch->curl, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(ch->curl, CURLOPT_CONNECTTIMEOUT_MS,
                     (long) MCPU_REPORT_CH_CONNECT_MS);
    /* ClickHouse stops at max_execution_time; a little more for the
     * answer to arrive */
    curl_easy_setopt(ch->curl, CURLOPT_TIMEOUT, ch->timeout_s + 10);
    curl_easy_setopt(ch->curl, CURLOPT_NOSIGNAL, 1L);

    rc = curl_easy_perform(ch->curl);

    curl_slist_free_all(headers);
    free(body);

    if (buf.data == NULL && rc == CURLE_OK) {
        buf.data = strdup("");
        if (buf.data == NULL) {
            snprintf(errstr, errstr_size, "out of memory");
            return MCPU_REPORT_CH_FAILED;
        }
    }

    rows->body = buf.data;

    if (rc != CURLE_OK) {
        snprintf(errstr, errstr_size, "%s: cannot reach ClickHouse at %s: "
                 "%s", name, ch->base,
                 curl_err[0] ? curl_err : curl_easy_strerror(rc));
        return rc == CURLE_OUT_OF_MEMORY ? MCPU_REPORT_CH_FAILED
                                         : MCPU_REPORT_CH_UNREACHABLE;
    }

    status = 0;
    curl_easy_getinfo(ch->curl, CURLINFO_RESPONSE_CODE, &status);

    if (status != 200) {
        mcpu_report_ch_message(rows->body, message, sizeof(message));

        code = 0;
        p = strstr(rows->body, "Code: ");
        if (p != NULL) {
            code = atoi(p + 6);
        }

        if (code == MCPU_REPORT_CH_UNKNOWN_TABLE
            || code == MCPU_REPORT_CH_UNKNOWN_DATABASE)
        {
            snprintf(errstr, errstr_size, "%s: ClickHouse at %s has no table "
                     "mcpu.events (store/schema.sql creates it): %s", name,
                     ch->base, message);
            return MCPU_REPORT_CH_NO_TABLE;
        }

        snprintf(errstr, errstr_size, "%s: ClickHouse at %s answered HTTP "
                 "%ld: %s", name, ch->base, status, message);
        return MCPU_REPORT_CH_FAILED;
    }

    if (mcpu_report_ch_parse(rows, errstr, errstr_size) != 0) {
        return MCPU_REPORT_CH_FAILED;
    }

    return MCPU_REPORT_CH_OK;
}


void
mcpu_report_rows_free(mcpu_report_rows_t *rows)
{
    free(rows->body);
    free(rows->names);
    free(rows->cells);
    memset(rows, 0, sizeof(*rows));
}


int
mcpu_report_rows_col(const mcpu_report_rows_t *rows, const char *name)
{
    size_t  i;

    for (i = 0; i < rows->ncols; i++) {
        if (strcmp(rows->names[i], name) == 0) {
            return (int) i;
        }
    }

    return -1;
}


const char *
mcpu_report_rows_str(const mcpu_report_rows_t *rows, size_t row, int col)
{
    return rows->cells[row * rows->ncols + (size_t) col];
}


double
mcpu_report_rows_num(const mcpu_report_rows_t *rows, size_t row, int col)
{
    char        *end;
    double       v;
    const char  *s;

    s = mcpu_report_rows_str(rows, row, col);
    v = strtod(s, &end);

    return end == s ? 0 : v;
}


uint64_t
mcpu_report_rows_u64(const mcpu_report_rows_t *rows, size_t row, int col)
{
    return strtoull(mcpu_report_rows_str(rows, row, col), NULL, 10);
}


int64_t
mcpu_report_rows_i64(const mcpu_report_rows_t *rows, size_t row, int col)
{
    return strtoll(mcpu_report_rows_str(rows, row, col), NULL, 10);
}


static size_t
mcpu_report_ch_write(char *p, size_t size, size_t n, void *data)
{
    char                  *more;
    size_t                 len, cap;
    mcpu_report_ch_buf_t  *buf = data;

    len = size * n;

    if (buf->len + len + 1 > buf->cap) {
        cap = buf->cap ? buf->cap : 65536;
        while (cap < buf->len + len + 1) {
            cap *= 2;
        }

        more = realloc(buf->data, cap);
        if (more == NULL) {
            return 0;               /* curl fails with a write error */
        }

        buf->data = more;
        buf->cap = cap;
    }

    memcpy(buf->data + buf->len, p, len);
    buf->len += len;
    buf->data[buf->len] = '\0';

    return len;
}


/*
 * TabSeparatedWithNames: a line of names, then a line per row; cells
 * separated by tabs, with \t \n \\ and the other escapes of the format.
 */
static int
mcpu_report_ch_parse(mcpu_report_rows_t *rows, char *errstr,
    size_t errstr_size)
{
    char    *p, *nl, **cells;
    size_t   lines, row, n;

    lines = 0;
    for (p = rows->body; *p != '\0'; p++) {
        lines += *p == '\n';
    }

    if (lines == 0) {
        snprintf(errstr, errstr_size, "ClickHouse's answer has no line of "
                 "column names");
        return -1;
    }

    p = rows->body;
    nl = strchr(p, '\n');
    *nl = '\0';

    rows->ncols = 1;
    for (char *q = p; *q != '\0'; q++) {
        rows->ncols += *q == '\t';
    }

    rows->names = calloc(rows->ncols, sizeof(char *));
    rows->cells = calloc((lines - 1) * rows->ncols + 1, sizeof(char *));
    if (rows->names == NULL || rows->cells == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }

    mcpu_report_ch_split(p, rows->names, rows->ncols);

    row = 0;
    for (p = nl + 1; *p != '\0'; p = nl + 1) {
        nl = strchr(p, '\n');
        if (nl == NULL) {
            snprintf(errstr, errstr_size, "ClickHouse's answer ends in the "
                     "middle of a line");
            return -1;
        }

        *nl = '\0';
        cells = &rows->cells[row * rows->ncols];
        n = mcpu_report_ch_split(p, cells, rows->ncols);

        if (n != rows->ncols) {
            snprintf(errstr, errstr_size, "ClickHouse's answer has a line "
                     "of %zu cells, not %zu", n, rows->ncols);
            return -1;
        }

        row++;
    }

    rows->nrows = row;
    return 0;
}


/* cuts line at its tabs into at most max cells, unescaped; returns how
 * many there are (max + 1 when there are more) */
static size_t
mcpu_report_ch_split(char *line, char **cells, size_t max)
{
    char    *p, *tab;
    size_t   n;

    n = 0;
    p = line;

    for ( ;; ) {
        tab = strchr(p, '\t');
        if (tab != NULL) {
            *tab = '\0';
        }

        if (n == max) {
            return max + 1;
        }

        mcpu_report_ch_unescape(p);
        cells[n++] = p;

        if (tab == NULL) {
            return n;
        }

        p = tab + 1;
    }
}


static void
mcpu_report_ch_unescape(char *s)
{
    char  *w;

    for (w = s; *s != '\0'; s++) {
        if (*s != '\\' || s[1] == '\0') {
            *w++ = *s;
            continue;
        }

        s++;

        switch (*s) {
        case 't':  *w++ = '\t'; break;
        case 'n':  *w++ = '\n'; break;
        case 'r':  *w++ = '\r'; break;
        case 'b':  *w++ = '\b'; break;
        case 'f':  *w++ = '\f'; break;
        case '0':  *w++ = ' '; break;    /* a NUL byte: not in a C string */
        default:   *w++ = *s; break;     /* \\ \' and the others */
        }
    }

    *w = '\0';
}


/* ClickHouse's message: its first line, without the "e.what()" tail */
static void
mcpu_report_ch_message(const char *body, char *buf, size_t size)
{
    size_t       len;
    const char  *end;

    if (body == NULL || body[0] == '\0') {
        snprintf(buf, size, "(no message)");
        return;
    }

    end = strchr(body, '\n');
    len = end ? (size_t) (end - body) : strlen(body);

    end = strstr(body, ", e.what()");
    if (end != NULL && (size_t) (end - body) < len) {
        len = (size_t) (end - body);
    }

    snprintf(buf, size, "%.*s", (int) len, body);
}
