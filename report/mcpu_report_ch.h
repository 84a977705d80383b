/*
 * mcpu_report_ch.h: queries to ClickHouse's HTTP interface (libcurl), and
 * their answers as rows of named columns (TabSeparatedWithNames).
 *
 * A query is one statement, POSTed as the body; the URL carries
 * wait_end_of_query=1, so that an error found late still comes as an HTTP
 * error and never after half an answer, and max_execution_time.
 */

#ifndef MCPU_REPORT_CH_H
#define MCPU_REPORT_CH_H

#include <stddef.h>
#include <stdint.h>


/* outcomes of mcpu_report_ch_query() */
#define MCPU_REPORT_CH_OK           0
#define MCPU_REPORT_CH_UNREACHABLE  -1   /* no connection, no answer in
                                            time */
#define MCPU_REPORT_CH_NO_TABLE     -2   /* ClickHouse: unknown table or
                                            database (codes 60, 81) */
#define MCPU_REPORT_CH_FAILED       -3   /* any other error */


typedef struct {
    void                      *curl;       /* CURL * */
    char                      *url;        /* with the settings */
    char                      *base;       /* as given, for messages */
    long                       timeout_s;
} mcpu_report_ch_t;


/* an answer: every cell a string in body, unescaped in place */
typedef struct {
    char                      *body;
    size_t                     ncols;
    size_t                     nrows;
    char                     **names;      /* ncols */
    char                     **cells;      /* nrows * ncols, row by row */
} mcpu_report_rows_t;


/**
 * @brief Prepares queries to url (http://host:port, optionally with a
 *        user, a password and a query string).
 * @returns 0, or -1 with a sentence in errstr.
 */
int mcpu_report_ch_open(mcpu_report_ch_t *ch, const char *url,
    long timeout_s, char *errstr, size_t errstr_size);

/** @brief Frees what open made; accepts a half-made or zeroed ch. */
void mcpu_report_ch_close(mcpu_report_ch_t *ch);

/**
 * @brief Runs sql (one statement without FORMAT; a trailing ";" is
 *        dropped) and parses its answer into rows.  name names the query
 *        in messages.
 * @returns MCPU_REPORT_CH_OK, or one of the errors above with a sentence
 *          in errstr naming the query, the URL and ClickHouse's own
 *          message; rows is to be freed in every case.
 */
int mcpu_report_ch_query(mcpu_report_ch_t *ch, const char *name,
    const char *sql, mcpu_report_rows_t *rows, char *errstr,
    size_t errstr_size);

/** @brief Frees an answer; accepts a zeroed one. */
void mcpu_report_rows_free(mcpu_report_rows_t *rows);

/** @returns the index of the column called name, or -1. */
int mcpu_report_rows_col(const mcpu_report_rows_t *rows, const char *name);

/** @returns the cell's text (row < nrows, col a valid index). */
const char *mcpu_report_rows_str(const mcpu_report_rows_t *rows, size_t row,
    int col);

/** @returns the cell as a number (0 when it is not one). */
double mcpu_report_rows_num(const mcpu_report_rows_t *rows, size_t row,
    int col);

/** @returns the cell as an unsigned integer (0 when it is not one). */
uint64_t mcpu_report_rows_u64(const mcpu_report_rows_t *rows, size_t row,
    int col);

/** @returns the cell as a signed integer (0 when it is not one). */
int64_t mcpu_report_rows_i64(const mcpu_report_rows_t *rows, size_t row,
    int col);

#endif /* MCPU_REPORT_CH_H */
