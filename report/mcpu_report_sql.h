/*
 * mcpu_report_sql.h: mcpu-report's queries, one .sql file each in
 * report/sql/ (what each answers and its parameters are in its header
 * comment), built into the program, or read from --sql-dir.
 *
 * A query's parameters are {name} placeholders in its text.  Only numbers
 * are substituted (ClickHouse 18.16 has no query parameters over HTTP): a
 * value must be a decimal number, or, for a name ending in _hex, hex digits
 * that the query decodes itself with unhex(); anything else is refused, so
 * no text from the command line or the data reaches the SQL as such.
 */

#ifndef MCPU_REPORT_SQL_H
#define MCPU_REPORT_SQL_H

#include <stddef.h>


/* one placeholder's value */
typedef struct {
    const char  *name;
    const char  *value;
} mcpu_report_param_t;


/**
 * @brief The text of query name ("baseline" for report/sql/baseline.sql):
 *        dir/name.sql when dir is set and not empty, else the built-in
 *        copy.  *text is malloc()ed.
 * @returns 0, or -1 with a sentence in errstr (no such query, a file that
 *          cannot be read).
 */
int mcpu_report_sql_load(const char *dir, const char *name, char **text,
    char *errstr, size_t errstr_size);

/**
 * @brief Replaces every {name} of text with its value from params (n of
 *        them); *out is malloc()ed.  Braces around anything but a name
 *        ([a-z0-9_]) are left as they are.
 * @returns 0, or -1 with a sentence in errstr: a placeholder without a
 *          value, or a value that is not a number (not hex digits for a
 *          _hex name).
 */
int mcpu_report_sql_expand(const char *query, const char *text,
    const mcpu_report_param_t *params, size_t n, char **out, char *errstr,
    size_t errstr_size);

#endif /* MCPU_REPORT_SQL_H */
