/*
 * mcpu_report_sql.c: the queries of report/sql/, built in with the
 * assembler's .incbin (the compiler runs in the source tree's top
 * directory, as make does), and their placeholders.  See mcpu_report_sql.h.
 */

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcpu_report_sql.h"


/*
 * MCPU_REPORT_SQL_FILE(sym, "report/sql/x.sql"): the file's bytes and a
 * NUL, read-only, as the array sym.
 */
#define MCPU_REPORT_SQL_FILE(sym, path)                                     \
    __asm__(".section .rodata\n"                                            \
            ".type " #sym ", @object\n"                                     \
            ".hidden " #sym "\n"                                            \
            ".globl " #sym "\n"                                             \
            #sym ":\n"                                                      \
            ".incbin \"" path "\"\n"                                        \
            ".byte 0\n"                                                     \
            ".previous\n");                                                 \
    extern const char  sym[]

MCPU_REPORT_SQL_FILE(mcpu_report_sql_rows, "report/sql/rows.sql");
MCPU_REPORT_SQL_FILE(mcpu_report_sql_baseline, "report/sql/baseline.sql");
MCPU_REPORT_SQL_FILE(mcpu_report_sql_suspects, "report/sql/suspects.sql");
MCPU_REPORT_SQL_FILE(mcpu_report_sql_drilldown, "report/sql/drilldown.sql");
MCPU_REPORT_SQL_FILE(mcpu_report_sql_drilldown_context,
                     "report/sql/drilldown_context.sql");
MCPU_REPORT_SQL_FILE(mcpu_report_sql_profile, "report/sql/profile.sql");
MCPU_REPORT_SQL_FILE(mcpu_report_sql_timeline, "report/sql/timeline.sql");


static const struct {
    const char  *name;
    const char  *text;
} mcpu_report_sql_builtin[] = {
    { "rows", mcpu_report_sql_rows },
    { "baseline", mcpu_report_sql_baseline },
    { "suspects", mcpu_report_sql_suspects },
    { "drilldown", mcpu_report_sql_drilldown },
    { "drilldown_context", mcpu_report_sql_drilldown_context },
    { "profile", mcpu_report_sql_profile },
    { "timeline", mcpu_report_sql_timeline },
};

#define MCPU_REPORT_SQL_NBUILTIN \
    (sizeof(mcpu_report_sql_builtin) / sizeof(mcpu_report_sql_builtin[0]))

#define MCPU_REPORT_SQL_NAME_MAX  64


static int mcpu_report_sql_value_ok(const char *name, size_t name_len,
    const char *value);


int
mcpu_report_sql_load(const char *dir, const char *name, char **text,
    char *errstr, size_t errstr_size)
{
    long    size;
    char    path[PATH_MAX];
    FILE   *f;
    size_t  i;

    *text = NULL;

    if (dir == NULL || dir[0] == '\0') {
        for (i = 0; i < MCPU_REPORT_SQL_NBUILTIN; i++) {
            if (strcmp(mcpu_report_sql_builtin[i].name, name) == 0) {
                *text = strdup(mcpu_report_sql_builtin[i].text);
                if (*text == NULL) {
                    snprintf(errstr, errstr_size, "out of memory");
                    return -1;
                }
                return 0;
            }
        }

        snprintf(errstr, errstr_size, "no query \"%s\" is built in", name);
        return -1;
    }

    if (snprintf(path, sizeof(path), "%s/%s.sql", dir, name)
        >= (int) sizeof(path))
    {
        snprintf(errstr, errstr_size, "option \"sql_dir\": path too long");
        return -1;
    }

    f = fopen(path, "re");
    if (f == NULL) {
        snprintf(errstr, errstr_size, "cannot open \"%s\" (option "
                 "\"sql_dir\"): %s", path, strerror(errno));
        return -1;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        snprintf(errstr, errstr_size, "cannot read \"%s\": %s", path,
                 strerror(errno));
        fclose(f);
        return -1;
    }

    *text = malloc((size_t) size + 1);
    if (*text == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        fclose(f);
        return -1;
    }

    if (fread(*text, 1, (size_t) size, f) != (size_t) size) {
        snprintf(errstr, errstr_size, "cannot read \"%s\"", path);
        fclose(f);
        free(*text);
        *text = NULL;
        return -1;
    }

    (*text)[size] = '\0';
    fclose(f);
    return 0;
}


int
mcpu_report_sql_expand(const char *query, const char *text,
    const mcpu_report_param_t *params, size_t n, char **out, char *errstr,
    size_t errstr_size)
{
    char        *o;
    size_t       i, len, cap, vlen, used;
    const char  *p, *end;

    *out = NULL;

    /* the longest value times the placeholders, at most */
    cap = strlen(text) + 1;
    for (i = 0; i < n; i++) {
        vlen = strlen(params[i].value);
        for (p = text; (p = strchr(p, '{')) != NULL; p++) {
            cap += vlen;
        }
    }

    o = malloc(cap);
    if (o == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }

    used = 0;

    for (p = text; *p != '\0'; p++) {
        if (*p != '{') {
            o[used++] = *p;
            continue;
        }

        for (end = p + 1; islower((unsigned char) *end)
                          || isdigit((unsigned char) *end) || *end == '_';
             end++)
        {
            /* the name */
        }

        len = (size_t) (end - p - 1);

        if (*end != '}' || len == 0 || len > MCPU_REPORT_SQL_NAME_MAX) {
            o[used++] = *p;
            continue;
        }

        for (i = 0; i < n; i++) {
            if (strncmp(params[i].name, p + 1, len) == 0
                && params[i].name[len] == '\0')
            {
                break;
            }
        }

        if (i == n) {
            snprintf(errstr, errstr_size, "query \"%s\": no value for "
                     "{%.*s}", query, (int) len, p + 1);
            free(o);
            return -1;
        }

        if (!mcpu_report_sql_value_ok(p + 1, len, params[i].value)) {
            snprintf(errstr, errstr_size, "query \"%s\": value \"%.64s\" for "
                     "{%.*s} is not a %s", query, params[i].value, (int) len,
                     p + 1, len > 4 && strncmp(p + 1 + len - 4, "_hex", 4) == 0
                            ? "string of hex digits" : "number");
            free(o);
            return -1;
        }

        vlen = strlen(params[i].value);
        memcpy(o + used, params[i].value, vlen);
        used += vlen;
        p = end;
    }

    o[used] = '\0';
    *out = o;
    return 0;
}


/* a decimal number, -?D+(.D+)?; hex digits for a name ending in _hex */
static int
mcpu_report_sql_value_ok(const char *name, size_t name_len,
    const char *value)
{
    const char  *p;

    if (name_len > 4 && strncmp(name + name_len - 4, "_hex", 4) == 0) {
        return strspn(value, "0123456789abcdef") == strlen(value)
               && strlen(value) % 2 == 0;
    }

    p = value;
    if (*p == '-') {
        p++;
    }

    if (!isdigit((unsigned char) *p)) {
        return 0;
    }

    while (isdigit((unsigned char) *p)) {
        p++;
    }

    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char) *p)) {
            return 0;
        }
        while (isdigit((unsigned char) *p)) {
            p++;
        }
    }

    return *p == '\0';
}
