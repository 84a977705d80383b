/*
 * mcpu_report_conf.c: mcpu-report's option table and what depends on
 * several of its options; the option engine that reads the file and the
 * command line through the table, and prints it, is common/mcpu_conf.c.
 *
 * Every option is one row of mcpu_report_options[]: each default is
 * written once, here, and --help and --list-options (the README's list)
 * print the rows.  A value that is not valid stops start-up with one line
 * naming the option and the value; nothing is corrected silently.
 */

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcpu_conf.h"
#include "mcpu_daemon.h"
#include "mcpu_report_conf.h"


#define MCPU_REPORT_CONF_NAME     "mcpu-report"
#define MCPU_REPORT_CONF_VERSION  "0.1.0"

#define MCPU_REPORT_CONF_ARGS_MAX  256


static int mcpu_report_conf_derive(void *data, char *errstr,
    size_t errstr_size);
static int mcpu_report_conf_digits(const char *s, size_t n, int *v);


#define MCPU_REPORT_AT(field)  offsetof(mcpu_report_conf_t, field)

/*
 * Columns (mcpu_conf_option_t): name, flag, letter, type, arg, default,
 * default as documented, min, max (integers), dmin, dmax (DOUBLE), offset,
 * description, example.
 */
static const mcpu_conf_option_t  mcpu_report_options[] = {

    MCPU_CONF_ROW_CONFIG("mcpu-report", MCPU_REPORT_AT(config_file)),

    { "url", "url", 0, MCPU_CONF_OPT_STR, "URL", "http://127.0.0.1:8123",
      NULL, 0, 0, 0, 0, MCPU_REPORT_AT(url),
      "ClickHouse's HTTP interface, where `mcpu.events` (store/schema.sql) "
      "is.  A user and password go in the URL "
      "(`http://user:password@host:8123`) or as `?user=...&password=...`.  "
      "Every query reads the table through `FINAL`, so duplicate rows not "
      "merged yet count once.",
      "mcpu-report --url http://clickhouse.internal:8123" },

    { "timeout_s", "timeout", 0, MCPU_CONF_OPT_NUM, "SECONDS", "300", NULL,
      1, 86400, 0, 0, MCPU_REPORT_AT(timeout_s),
      "Seconds one query may take (ClickHouse's `max_execution_time`, and "
      "the HTTP request's own limit); a query that takes longer stops the "
      "report with exit code 1.",
      "timeout_s = 900" },

    { "from", "from", 0, MCPU_CONF_OPT_STR, "TIME", NULL,
      "the first event", 0, 0, 0, 0, MCPU_REPORT_AT(from),
      "The start of the period analysed (event time, inclusive): RFC 3339 "
      "(`2026-11-23T22:00:00Z`, `2026-11-23T23:00:00.5+01:00`), a date "
      "(`2026-11-23`, midnight UTC), epoch milliseconds, or `-N` followed "
      "by `m`, `h` or `d`: that long before now (`-12h`).",
      "mcpu-report --from -12h" },

    { "to", "to", 0, MCPU_CONF_OPT_STR, "TIME", NULL, "after the last event",
      0, 0, 0, 0, MCPU_REPORT_AT(to),
      "The end of the period (exclusive), in the forms `from` takes.  It "
      "must be after `from`.",
      "mcpu-report --from 2026-11-23 --to 2026-11-24" },

    { "rise", "rise", 0, MCPU_CONF_OPT_DOUBLE, "POINTS", "20", NULL,
      0, 0, 0.01, 100, MCPU_REPORT_AT(rise),
      "A fast rise: a CPU measurement at least this many percentage points "
      "above the previous measurement of the same session (the app's CPU, "
      "mean over its cores).",
      "mcpu-report --rise 30" },

    { "rise_span_s", "rise-span", 0, MCPU_CONF_OPT_NUM, "SECONDS", "15",
      NULL, 1, 3600, 0, 0, MCPU_REPORT_AT(rise_span_s),
      "Seconds two consecutive measurements may be apart for their "
      "difference to count as a rise: after a longer gap (the app "
      "suspended, the client offline) it does not.  Make it a little "
      "longer than the clients' measurement interval.",
      "rise_span_s = 30" },

    { "window_s", "window", 0, MCPU_CONF_OPT_NUM, "SECONDS", "15", NULL,
      1, 3600, 0, 0, MCPU_REPORT_AT(window_s),
      "Seconds after an event in which a fast rise of the same client "
      "counts as following it; the baseline uses windows of the same "
      "length after every measurement.  The drill-down's context is the "
      "events this long before the CPU went over `cpu_threshold`.",
      "mcpu-report --window 30" },

    { "cpu_threshold", "cpu-threshold", 0, MCPU_CONF_OPT_DOUBLE, "PERCENT",
      "30", NULL, 0, 0, 0, 100, MCPU_REPORT_AT(cpu_threshold),
      "The drill-down counts the sessions whose CPU went over this "
      "percentage (for `cpu_sustain_s`).",
      "mcpu-report --cpu-threshold 80" },

    { "cpu_sustain_s", "cpu-sustain", 0, MCPU_CONF_OPT_NUM, "SECONDS", "10",
      NULL, 0, 3600, 0, 0, MCPU_REPORT_AT(cpu_sustain_s),
      "Seconds the CPU must stay over `cpu_threshold` for a session to "
      "count in the drill-down: consecutive measurements over it, the "
      "first and the last at least this far apart.  0: one measurement "
      "over it is enough (then a short spike, which any app has now and "
      "then, puts a session in the tree).",
      "mcpu-report --cpu-sustain 0" },

    { "min_support", "min-support", 0, MCPU_CONF_OPT_NUM, "N", "30", NULL,
      1, 1000000000, 0, 0, MCPU_REPORT_AT(min_support),
      "A suspect (an event type in a group of clients) needs at least this "
      "many occurrences in the period.",
      "mcpu-report --min-support 100" },

    { "min_clients", "min-clients", 0, MCPU_CONF_OPT_NUM, "N", "5", NULL,
      1, 1000000000, 0, 0, MCPU_REPORT_AT(min_clients),
      "A suspect needs occurrences from at least this many distinct "
      "clients, so that one client's habits do not make a suspect.",
      "mcpu-report --min-clients 20" },

    { "min_followed", "min-followed", 0, MCPU_CONF_OPT_NUM, "N", "10", NULL,
      1, 1000000000, 0, 0, MCPU_REPORT_AT(min_followed),
      "A suspect needs at least this many of its occurrences followed by a "
      "fast rise: a handful of rises is no finding, whatever the ratio.",
      "mcpu-report --min-followed 3" },

    { "z", "z", 0, MCPU_CONF_OPT_DOUBLE, "Z", "1.96", NULL, 0, 0, 0, 10,
      MCPU_REPORT_AT(z),
      "The confidence of the conservative lift that ranks the suspects, in "
      "standard deviations of one comparison (1.96: 97.5% one-sided).  The "
      "report compares every event type in every group that has the "
      "support, so the Wilson bounds are taken at z adjusted for that "
      "number of comparisons (Bonferroni): over all of them, the chance "
      "that a coincidence is listed stays that of one comparison at z.  0 "
      "ranks by the plain lift.",
      "z = 2.58" },

    { "top", "top", 0, MCPU_CONF_OPT_NUM, "N", "10", NULL, 1, 1000, 0, 0,
      MCPU_REPORT_AT(top),
      "Suspects listed, at most (the JSON's and the page's).",
      "mcpu-report --top 25" },

    { "html", "html", 0, MCPU_CONF_OPT_PATH, "FILE", "", "none", 0, 0, 0, 0,
      MCPU_REPORT_AT(html),
      "Writes the report as one self-contained HTML page (inline CSS and "
      "SVG, no external resource) to FILE, through a temporary file and "
      "rename(), so a web server never serves half a page.",
      "mcpu-report --html /var/www/mcpu/index.html" },

    { "json", "json", 0, MCPU_CONF_OPT_PATH, "FILE", "",
      "stdout when `html` is not set", 0, 0, 0, 0, MCPU_REPORT_AT(json),
      "Writes the findings as JSON to FILE (`-`: stdout; a bare `--json` "
      "means `--json -`): the ranked suspects, the drill-down, the "
      "parameters and the rows analysed.",
      "mcpu-report --json - --html report.html" },

    { "sql_dir", "sql-dir", 0, MCPU_CONF_OPT_PATH, "DIR", "",
      "the queries built into the program", 0, 0, 0, 0,
      MCPU_REPORT_AT(sql_dir),
      "Reads the queries from DIR (one `.sql` file each, as in the "
      "sources' report/sql/) instead of the copies built into the program, "
      "to try a change without rebuilding.",
      "mcpu-report --sql-dir report/sql" },

    { "log_file", "log-file", 0, MCPU_CONF_OPT_PATH, "PATH", "",
      "none (stderr)", 0, 0, 0, 0, MCPU_REPORT_AT(log_file),
      "Appends the log to PATH instead of stderr.  One line per event: "
      "`2026-11-23T22:00:00.123Z mcpu-report[PID] LEVEL message`; each "
      "query's name, rows and time at INFO.",
      "log_file = /var/log/mcpu/report.log" },

    { "test", "test", 't', MCPU_CONF_OPT_ACTION, NULL, NULL, NULL,
      0, 0, 0, 0, MCPU_CONF_OPT_NONE,
      "Checks the settings and the queries, and that ClickHouse answers "
      "and has the table `mcpu.events`; prints \"configuration is ok\" and "
      "exits (0, 1 when ClickHouse does not answer or lacks the table, or "
      "2 with the refusal).",
      "mcpu-report -c /etc/mcpu/mcpu-report.conf -t" },

    MCPU_CONF_ROWS_OUTPUT("mcpu-report"),
};

#define MCPU_REPORT_NOPTIONS \
    (sizeof(mcpu_report_options) / sizeof(mcpu_report_options[0]))


static const mcpu_conf_program_t  mcpu_report_program = {
    MCPU_REPORT_CONF_NAME,
    MCPU_REPORT_CONF_VERSION,

    /* --help: the summary, then after the options the epilogue */
    "Reads mcpu.events from ClickHouse and reports which event types are\n"
    "followed by a fast CPU rise, per client version, OS and OS version, and\n"
    "which sessions went over a CPU threshold: JSON, or an HTML page.",

    "In the file (-c) each option is a `name = value` line, e.g.\n"
    "`window_s = 30`; --list-options describes them all.\n"
    "Exit codes: 0 report written, 1 ClickHouse unreachable, the table "
    "missing, no event\nin the period or a query failed, 2 a setting was "
    "refused.\n",

    mcpu_report_options,
    MCPU_REPORT_NOPTIONS,
    sizeof(mcpu_report_conf_t),
    MCPU_REPORT_AT(kafka),
    MCPU_REPORT_AT(nkafka),
    MCPU_REPORT_AT(test),
    mcpu_report_conf_derive
};


int
mcpu_report_conf_load(mcpu_report_conf_t *conf, int argc, char **argv,
    char *errstr, size_t errstr_size)
{
    int    i;
    char  *args[MCPU_REPORT_CONF_ARGS_MAX + 1];

    if (argc > MCPU_REPORT_CONF_ARGS_MAX) {
        memset(conf, 0, sizeof(*conf));
        snprintf(errstr, errstr_size, "more than %d arguments",
                 MCPU_REPORT_CONF_ARGS_MAX);
        return MCPU_CONF_ERROR;
    }

    /* a bare --json: the last argument, or followed by another option */
    for (i = 0; i < argc; i++) {
        args[i] = argv[i];

        if (strcmp(argv[i], "--json") == 0
            && (i + 1 == argc
                || (argv[i + 1][0] == '-' && argv[i + 1][1] != '\0')))
        {
            args[i] = "--json=-";
        }
    }

    args[argc] = NULL;

    return mcpu_conf_load(&mcpu_report_program, conf, argc, args, errstr,
                          errstr_size);
}


void
mcpu_report_conf_free(mcpu_report_conf_t *conf)
{
    mcpu_conf_free(&mcpu_report_program, conf);
}


/*
 * What depends on other options, once all are read: the period, in
 * milliseconds ("now", for the relative forms, is read here), and output
 * paths that look like options.
 */
static int
mcpu_report_conf_derive(void *data, char *errstr, size_t errstr_size)
{
    int64_t              now_ms;
    mcpu_report_conf_t  *conf = data;

    now_ms = mcpu_daemon_wall_ms();

    conf->from_ms = 0;
    conf->to_ms = MCPU_REPORT_TIME_MAX_MS;

    if (conf->from != NULL
        && mcpu_report_conf_time(conf->from, now_ms, &conf->from_ms) != 0)
    {
        snprintf(errstr, errstr_size, "invalid value \"%s\" for option "
                 "\"from\": expected RFC 3339 (2026-11-23T22:00:00Z), a "
                 "date (2026-11-23), epoch milliseconds or -N[mhd], between "
                 "1970 and 2106", conf->from);
        return MCPU_CONF_ERROR;
    }

    if (conf->to != NULL
        && mcpu_report_conf_time(conf->to, now_ms, &conf->to_ms) != 0)
    {
        snprintf(errstr, errstr_size, "invalid value \"%s\" for option "
                 "\"to\": expected RFC 3339 (2026-11-23T22:00:00Z), a date "
                 "(2026-11-23), epoch milliseconds or -N[mhd], between 1970 "
                 "and 2106", conf->to);
        return MCPU_CONF_ERROR;
    }

    if (conf->to_ms <= conf->from_ms) {
        snprintf(errstr, errstr_size, "option \"to\" (\"%s\") must be after "
                 "option \"from\" (\"%s\")", conf->to ? conf->to : "",
                 conf->from ? conf->from : "the first event");
        return MCPU_CONF_ERROR;
    }

    if (conf->json[0] == '-' && conf->json[1] != '\0') {
        snprintf(errstr, errstr_size, "invalid value \"%s\" for option "
                 "\"json\": a file name starting with \"-\" (an option "
                 "given as its value?); write ./%s for such a file",
                 conf->json, conf->json);
        return MCPU_CONF_ERROR;
    }

    if (conf->html[0] == '-') {
        snprintf(errstr, errstr_size, "invalid value \"%s\" for option "
                 "\"html\": a file name starting with \"-\" (an option "
                 "given as its value?); write ./%s for such a file",
                 conf->html, conf->html);
        return MCPU_CONF_ERROR;
    }

    return MCPU_CONF_OK;
}


int
mcpu_report_conf_time(const char *s, int64_t now_ms, int64_t *ms)
{
    int         y, mo, d, h, mi, sec, oh, om, frac_ms, i, sign;
    char       *end;
    size_t      len;
    int64_t     v, unit;
    struct tm   tm;

    len = strlen(s);

    /* -N[mhd]: relative to now */
    if (len >= 3 && s[0] == '-' && strchr("mhd", s[len - 1]) != NULL) {
        errno = 0;
        v = strtoll(s + 1, &end, 10);
        if (errno != 0 || end != s + len - 1 || !isdigit((unsigned char) s[1])
            || v < 0 || v > 1000000000)
        {
            return -1;
        }

        unit = s[len - 1] == 'm' ? 60000 : s[len - 1] == 'h' ? 3600000
                                                             : 86400000;
        *ms = now_ms - v * unit;
        return *ms >= 0 && *ms <= MCPU_REPORT_TIME_MAX_MS ? 0 : -1;
    }

    /* epoch milliseconds */
    if (len > 0 && strspn(s, "0123456789") == len) {
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || len > 15 || v > MCPU_REPORT_TIME_MAX_MS) {
            return -1;
        }

        *ms = v;
        return 0;
    }

    /* YYYY-MM-DD, then THH:MM:SS[.fff][Z|±HH:MM] */
    if (len < 10 || s[4] != '-' || s[7] != '-'
        || mcpu_report_conf_digits(s, 4, &y) != 0
        || mcpu_report_conf_digits(s + 5, 2, &mo) != 0
        || mcpu_report_conf_digits(s + 8, 2, &d) != 0)
    {
        return -1;
    }

    h = mi = sec = oh = om = frac_ms = 0;
    sign = 0;
    i = 10;

    if (len > 10) {
        if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || len < 19
            || s[13] != ':' || s[16] != ':'
            || mcpu_report_conf_digits(s + 11, 2, &h) != 0
            || mcpu_report_conf_digits(s + 14, 2, &mi) != 0
            || mcpu_report_conf_digits(s + 17, 2, &sec) != 0)
        {
            return -1;
        }

        i = 19;

        if (s[i] == '.') {
            int  scale = 100, n = 0;

            for (i++; isdigit((unsigned char) s[i]); i++, n++) {
                frac_ms += (s[i] - '0') * scale;
                scale /= 10;
            }

            if (n == 0) {
                return -1;
            }
        }

        if (s[i] == 'Z' || s[i] == 'z') {
            i++;

        } else if (s[i] == '+' || s[i] == '-') {
            sign = s[i] == '+' ? 1 : -1;
            if (s[i + 3] != ':'
                || mcpu_report_conf_digits(s + i + 1, 2, &oh) != 0
                || mcpu_report_conf_digits(s + i + 4, 2, &om) != 0
                || oh > 23 || om > 59)
            {
                return -1;
            }
            i += 6;

        } else {
            return -1;             /* RFC 3339 requires the offset */
        }
    }

    if ((size_t) i != len || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23
        || mi > 59 || sec > 60)
    {
        return -1;
    }

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;

    v = (int64_t) timegm(&tm);
    if (tm.tm_mday != d) {
        return -1;                 /* 2026-02-30 */
    }

    v = (v - sign * (oh * 3600 + om * 60)) * 1000 + frac_ms;

    if (v < 0 || v > MCPU_REPORT_TIME_MAX_MS) {
        return -1;
    }

    *ms = v;
    return 0;
}


/* exactly n decimal digits */
static int
mcpu_report_conf_digits(const char *s, size_t n, int *v)
{
    size_t  i;

    *v = 0;

    for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char) s[i])) {
            return -1;
        }

        *v = *v * 10 + (s[i] - '0');
    }

    return 0;
}
