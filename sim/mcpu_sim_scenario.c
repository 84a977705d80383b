/*
 * mcpu_sim_scenario.c: reads the scenario file (mcpu_sim_scenario.h).
 *
 * A line is a keyword, for some keywords a NAME, then key=value words,
 * separated by blanks; `#` starts a comment (at the start of a line or
 * after a blank).  Each keyword has a fixed list of keys; an unknown key,
 * a key given twice, a missing required key, a value out of its bounds, a
 * name that is not declared above the line using it: each stops the load
 * with FILE:LINE and what is wrong, as nginx refuses a directive.  Nothing
 * is corrected silently.
 */

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcpu_sim_scenario.h"


#define MCPU_SIM_ARGS_MAX        16     /* key=value words in a line */
#define MCPU_SIM_NAME_MAX        128    /* a version, OS or OS version: a
                                           header value for the module */
#define MCPU_SIM_CLIENTS_MAX     100000
#define MCPU_SIM_LIST_MAX        64     /* versions= of one os */
#define MCPU_SIM_WEEK_S          (7 * 86400.0)


typedef struct {
    char      *key;
    char      *value;
    unsigned   used:1;
} mcpu_sim_arg_t;


/* one line being read: where it is, its words, and where errors go */
typedef struct {
    const char      *path;
    unsigned         line;
    const char      *keyword;
    char            *name;
    mcpu_sim_arg_t   args[MCPU_SIM_ARGS_MAX];
    size_t           nargs;
    char            *errstr;
    size_t           errstr_size;
} mcpu_sim_line_t;


typedef int (*mcpu_sim_keyword_pt)(mcpu_sim_scenario_t *sc,
    mcpu_sim_line_t *l);

typedef struct {
    const char           *keyword;
    unsigned              named:1;      /* a NAME follows the keyword */
    unsigned              once:1;       /* one such line at most */
    const char           *keys;         /* the keys it takes, for checks
                                           and for the error message */
    mcpu_sim_keyword_pt   handler;
} mcpu_sim_keyword_t;


static int mcpu_sim_scenario_line(mcpu_sim_scenario_t *sc, char *text,
    mcpu_sim_line_t *l, unsigned *seen);
static int mcpu_sim_scenario_check(mcpu_sim_scenario_t *sc,
    const char *path, char *errstr, size_t errstr_size);
static void mcpu_sim_scenario_defaults(mcpu_sim_scenario_t *sc);
static int mcpu_sim_split(mcpu_sim_line_t *l, char *text);
static int mcpu_sim_keys_known(mcpu_sim_line_t *l, const char *keys);
static int mcpu_sim_fail(mcpu_sim_line_t *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const char *mcpu_sim_get(mcpu_sim_line_t *l, const char *key,
    int required);
static int mcpu_sim_number(mcpu_sim_line_t *l, const char *key,
    const char *text, int seconds, double min, double max, double *v);
static int mcpu_sim_get_number(mcpu_sim_line_t *l, const char *key,
    int required, int seconds, double min, double max, double *v);
static int mcpu_sim_get_range(mcpu_sim_line_t *l, const char *key,
    int required, int seconds, double min, double max,
    mcpu_sim_range_t *r);
static int mcpu_sim_name_ok(const char *s);
static int mcpu_sim_type_name_ok(const char *s);
static int mcpu_sim_find_type(const mcpu_sim_scenario_t *sc,
    const char *name);
static int mcpu_sim_rule(mcpu_sim_scenario_t *sc, mcpu_sim_line_t *l,
    mcpu_sim_rule_kind_t kind);
static int mcpu_sim_rule_filters(mcpu_sim_scenario_t *sc,
    mcpu_sim_line_t *l, mcpu_sim_rule_t *r);
static int mcpu_sim_rule_event(mcpu_sim_scenario_t *sc, mcpu_sim_line_t *l,
    mcpu_sim_rule_t *r);
static void *mcpu_sim_grow(void *array, size_t *n, size_t size);

static int mcpu_sim_kw_population(mcpu_sim_scenario_t *sc,
    mcpu_sim_line_t *l);
static int mcpu_sim_kw_version(mcpu_sim_scenario_t *sc, mcpu_sim_line_t *l);
static int mcpu_sim_kw_os(mcpu_sim_scenario_t *sc, mcpu_sim_line_t *l);
static int mcpu_sim_kw_measure(mcpu_sim_scenario_t *sc, mcpu_sim_line_t *l);
static int mcpu_sim_kw_session(mcpu_sim_scenario_t *sc, mcpu_sim_line_t *l);
static int mcpu_sim_kw_transfers(mcpu_sim_scenario_t *sc,
    mcpu_sim_line_t *l);
static int mcpu_sim_kw_activity(mcpu_sim_scenario_t *sc,
    mcpu_sim_line_t *l);
static int mcpu_sim_kw_cause(mcpu_sim_scenario_t *sc, mcpu_sim_line_t *l);
static int mcpu_sim_kw_bump(mcpu_sim_scenario_t *sc, mcpu_sim_line_t *l);
static int mcpu_sim_kw_hot(mcpu_sim_scenario_t *sc, mcpu_sim_line_t *l);
static int mcpu_sim_kw_spikes(mcpu_sim_scenario_t *sc, mcpu_sim_line_t *l);


#define MCPU_SIM_FILTER_KEYS  "version os os_version "

static const mcpu_sim_keyword_t  mcpu_sim_keywords[] = {
    { "population", 0, 1, "clients", mcpu_sim_kw_population },
    { "version", 1, 0, "weight", mcpu_sim_kw_version },
    { "os", 1, 0, "weight versions", mcpu_sim_kw_os },
    { "measure", 0, 1, "interval cores baseline noise", mcpu_sim_kw_measure },
    { "session", 0, 1, "length gap", mcpu_sim_kw_session },
    { "transfers", 0, 1, "rate_per_hour duration progress_every bytes",
      mcpu_sim_kw_transfers },
    { "activity", 1, 0, "rate_per_hour duration", mcpu_sim_kw_activity },
    { "cause", 0, 0, MCPU_SIM_FILTER_KEYS "event delay rise duration",
      mcpu_sim_kw_cause },
    { "bump", 0, 0, MCPU_SIM_FILTER_KEYS "event delay rise duration",
      mcpu_sim_kw_bump },
    { "hot", 0, 0, MCPU_SIM_FILTER_KEYS "add", mcpu_sim_kw_hot },
    { "spikes", 0, 0, MCPU_SIM_FILTER_KEYS "rate_per_hour rise duration",
      mcpu_sim_kw_spikes },
};

#define MCPU_SIM_NKEYWORDS \
    (sizeof(mcpu_sim_keywords) / sizeof(mcpu_sim_keywords[0]))


/* the built-in types, by MCPU_SIM_EV_* */
static const char  *mcpu_sim_builtin_types[] = {
    "AppOpened", "AppClosed", "FileTransferStarted", "FileTransferProgress",
    "FileTransferCompleted", "CpuMeasurement"
};

/* types the module knows that mcpu-sim never sends: an activity may not
 * take their names either (mcpu_event_type_allow refuses built-ins) */
static const char  *mcpu_sim_reserved_types[] = { "CpuSummary" };

static const char  *mcpu_sim_rule_kinds[] = {
    "cause", "bump", "hot", "spikes"
};


int
mcpu_sim_scenario_load(mcpu_sim_scenario_t *sc, const char *path,
    char *errstr, size_t errstr_size)
{
    int               rc;
    char             *text;
    FILE             *f;
    size_t            cap;
    ssize_t           n;
    unsigned          seen[MCPU_SIM_NKEYWORDS];
    mcpu_sim_line_t   l;

    memset(sc, 0, sizeof(*sc));
    memset(seen, 0, sizeof(seen));
    mcpu_sim_scenario_defaults(sc);

    sc->path = strdup(path);
    if (sc->path == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }

    f = fopen(path, "re");
    if (f == NULL) {
        snprintf(errstr, errstr_size, "cannot open scenario \"%s\": %s", path,
                 strerror(errno));
        return -1;
    }

    memset(&l, 0, sizeof(l));
    l.path = path;
    l.errstr = errstr;
    l.errstr_size = errstr_size;

    text = NULL;
    cap = 0;
    rc = -1;

    while ((n = getline(&text, &cap, f)) != -1) {
        l.line++;

        if (memchr(text, '\0', (size_t) n) != NULL) {
            mcpu_sim_fail(&l, "NUL byte in the line");
            goto done;
        }

        if (mcpu_sim_scenario_line(sc, text, &l, seen) != 0) {
            goto done;
        }
    }

    if (ferror(f)) {
        snprintf(errstr, errstr_size, "reading scenario \"%s\" failed: %s",
                 path, strerror(errno));
        goto done;
    }

    rc = mcpu_sim_scenario_check(sc, path, errstr, errstr_size);

done:

    free(text);
    fclose(f);
    return rc;
}


/* what a scenario that says nothing else plays: README "The scenario" */
static void
mcpu_sim_scenario_defaults(mcpu_sim_scenario_t *sc)
{
    sc->clients = 100;

    sc->measure_interval = 5;
    sc->cores = (mcpu_sim_range_t) { 2, 8 };
    sc->baseline = (mcpu_sim_range_t) { 2, 10 };
    sc->noise = 1.5;

    sc->session_length = (mcpu_sim_range_t) { 600, 7200 };
    sc->session_gap = (mcpu_sim_range_t) { 300, 3600 };

    sc->transfer_rate = 6;
    sc->transfer_duration = (mcpu_sim_range_t) { 20, 300 };
    sc->progress_every = 10;
    sc->transfer_bytes = (mcpu_sim_range_t) { 100000, 500000000 };
}


/* one line: comments and blank lines skipped, the rest to its keyword */
static int
mcpu_sim_scenario_line(mcpu_sim_scenario_t *sc, char *text,
    mcpu_sim_line_t *l, unsigned *seen)
{
    int                        rc;
    size_t                     i;
    const char                *word;
    const mcpu_sim_keyword_t  *kw;

    l->keyword = NULL;
    l->name = NULL;
    l->nargs = 0;

    if (mcpu_sim_split(l, text) != 0) {
        return -1;
    }

    if (l->keyword == NULL) {
        return 0;
    }

    kw = NULL;

    for (i = 0; i < MCPU_SIM_NKEYWORDS; i++) {
        if (strcmp(mcpu_sim_keywords[i].keyword, l->keyword) == 0) {
            kw = &mcpu_sim_keywords[i];
            break;
        }
    }

    if (kw == NULL) {
        word = l->keyword;
        l->keyword = NULL;
        return mcpu_sim_fail(l, "unknown keyword \"%s\" (population, "
                             "version, os, measure, session, transfers, "
                             "activity, cause, bump, hot, spikes)", word);
    }

    if (kw->once && seen[i]) {
        return mcpu_sim_fail(l, "is duplicate (first at line %u)", seen[i]);
    }

    seen[i] = l->line;

    if (kw->named && l->name == NULL) {
        return mcpu_sim_fail(l, "needs a name first: \"%s NAME key=value "
                             "...\"", kw->keyword);
    }

    if (!kw->named && l->name != NULL) {
        return mcpu_sim_fail(l, "expected key=value, found \"%s\"", l->name);
    }

    if (mcpu_sim_keys_known(l, kw->keys) != 0) {
        return -1;
    }

    rc = kw->handler(sc, l);

    return rc;
}


/*
 * Splits text in place: the keyword, an optional NAME (a word without
 * '='), then key=value words.  l->keyword stays NULL for a blank or
 * comment line.
 */
static int
mcpu_sim_split(mcpu_sim_line_t *l, char *text)
{
    char    *p, *word, *eq;
    size_t   i;

    p = text;

    for ( ;; ) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            p++;
        }

        if (*p == '\0' || *p == '#') {
            return 0;
        }

        word = p;

        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r'
               && *p != '\n')
        {
            p++;
        }

        if (*p != '\0') {
            *p++ = '\0';
        }

        if (l->keyword == NULL) {
            l->keyword = word;
            continue;
        }

        eq = strchr(word, '=');

        if (eq == NULL) {
            if (l->name != NULL || l->nargs > 0) {
                return mcpu_sim_fail(l, "expected key=value, found \"%s\"",
                                     word);
            }

            l->name = word;
            continue;
        }

        *eq = '\0';

        if (word[0] == '\0' || eq[1] == '\0') {
            return mcpu_sim_fail(l, "expected key=value, found \"%s=%s\"",
                                 word, eq + 1);
        }

        for (i = 0; i < l->nargs; i++) {
            if (strcmp(l->args[i].key, word) == 0) {
                return mcpu_sim_fail(l, "key \"%s\" is given twice", word);
            }
        }

        if (l->nargs == MCPU_SIM_ARGS_MAX) {
            return mcpu_sim_fail(l, "more than %d key=value words",
                                 MCPU_SIM_ARGS_MAX);
        }

        l->args[l->nargs].key = word;
        l->args[l->nargs].value = eq + 1;
        l->args[l->nargs].used = 0;
        l->nargs++;
    }
}


/* every key of the line is one of keys (blank-separated) */
static int
mcpu_sim_keys_known(mcpu_sim_line_t *l, const char *keys)
{
    size_t       i, len;
    const char  *p;

    for (i = 0; i < l->nargs; i++) {
        len = strlen(l->args[i].key);

        for (p = keys; (p = strstr(p, l->args[i].key)) != NULL; p += len) {
            if ((p == keys || p[-1] == ' ')
                && (p[len] == ' ' || p[len] == '\0'))
            {
                break;
            }
        }

        if (p == NULL) {
            return mcpu_sim_fail(l, "unknown key \"%s\" (it takes: %s)",
                                 l->args[i].key, keys);
        }
    }

    return 0;
}


static int
mcpu_sim_fail(mcpu_sim_line_t *l, const char *fmt, ...)
{
    int      n;
    va_list  ap;

    n = snprintf(l->errstr, l->errstr_size, "%s:%u: ", l->path, l->line);
    if (n < 0 || (size_t) n >= l->errstr_size) {
        return -1;
    }

    if (l->keyword != NULL) {
        n += snprintf(l->errstr + n, l->errstr_size - n, "%s: ", l->keyword);
        if ((size_t) n >= l->errstr_size) {
            return -1;
        }
    }

    va_start(ap, fmt);
    vsnprintf(l->errstr + n, l->errstr_size - n, fmt, ap);
    va_end(ap);

    return -1;
}


/* the value of key, marked used; NULL when absent (an error if required) */
static const char *
mcpu_sim_get(mcpu_sim_line_t *l, const char *key, int required)
{
    size_t  i;

    for (i = 0; i < l->nargs; i++) {
        if (strcmp(l->args[i].key, key) == 0) {
            l->args[i].used = 1;
            return l->args[i].value;
        }
    }

    if (required) {
        mcpu_sim_fail(l, "key \"%s\" is required", key);
    }

    return NULL;
}


/*
 * A number, the whole text, within [min, max]; with seconds, an optional
 * unit s, m or h after it ("90", "90s", "1.5m", "2h").
 */
static int
mcpu_sim_number(mcpu_sim_line_t *l, const char *key, const char *text,
    int seconds, double min, double max, double *v)
{
    char    *end;
    double   d, unit;

    errno = 0;
    d = strtod(text, &end);
    unit = 1;

    if (seconds && end != text) {
        switch (*end) {
        case 's': unit = 1; end++; break;
        case 'm': unit = 60; end++; break;
        case 'h': unit = 3600; end++; break;
        default: break;
        }
    }

    d *= unit;

    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(d)
        || text[0] == '-' || text[0] == '+' || d < min || d > max)
    {
        return mcpu_sim_fail(l, "invalid value \"%s\" for \"%s\": must be "
                             "a number from %g to %g%s", text, key, min, max,
                             seconds ? " (seconds; or with s, m, h)" : "");
    }

    *v = d;
    return 0;
}


static int
mcpu_sim_get_number(mcpu_sim_line_t *l, const char *key, int required,
    int seconds, double min, double max, double *v)
{
    const char  *text;

    text = mcpu_sim_get(l, key, required);
    if (text == NULL) {
        return required ? -1 : 0;
    }

    return mcpu_sim_number(l, key, text, seconds, min, max, v);
}


/* "A-B" (A <= B) or "A" */
static int
mcpu_sim_get_range(mcpu_sim_line_t *l, const char *key, int required,
    int seconds, double min, double max, mcpu_sim_range_t *r)
{
    int          rc;
    char         buf[64];
    char        *dash;
    const char  *text;

    text = mcpu_sim_get(l, key, required);
    if (text == NULL) {
        return required ? -1 : 0;
    }

    if (strlen(text) >= sizeof(buf)) {
        return mcpu_sim_fail(l, "value for \"%s\" is too long", key);
    }

    strcpy(buf, text);

    /* the separator: no value is negative, so a '-' past the first byte */
    dash = buf[0] != '\0' ? strchr(buf + 1, '-') : NULL;

    if (dash == NULL) {
        rc = mcpu_sim_number(l, key, buf, seconds, min, max, &r->lo);
        r->hi = r->lo;
        return rc;
    }

    *dash = '\0';

    if (mcpu_sim_number(l, key, buf, seconds, min, max, &r->lo) != 0
        || mcpu_sim_number(l, key, dash + 1, seconds, min, max, &r->hi) != 0)
    {
        return -1;
    }

    if (r->lo > r->hi) {
        return mcpu_sim_fail(l, "invalid range \"%s\" for \"%s\": the first "
                             "value is larger than the second", text, key);
    }

    return 0;
}


/* a version, OS or OS version: it travels as a header value */
static int
mcpu_sim_name_ok(const char *s)
{
    size_t  len;

    len = strlen(s);
    if (len == 0 || len > MCPU_SIM_NAME_MAX) {
        return 0;
    }

    for ( /* void */ ; *s; s++) {
        if (*s <= ' ' || *s > '~' || *s == ',') {
            return 0;
        }
    }

    return 1;
}


/* as the module's mcpu_event_type_allow: a letter, then letters, digits */
static int
mcpu_sim_type_name_ok(const char *s)
{
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))) {
        return 0;
    }

    for ( /* void */ ; *s; s++) {
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')
              || (*s >= '0' && *s <= '9')))
        {
            return 0;
        }
    }

    return 1;
}


static void *
mcpu_sim_grow(void *array, size_t *n, size_t size)
{
    void  *more;

    more = realloc(array, (*n + 1) * size);
    if (more == NULL) {
        return NULL;
    }

    memset((char *) more + *n * size, 0, size);
    (*n)++;

    return more;
}


static int
mcpu_sim_kw_population(mcpu_sim_scenario_t *sc, mcpu_sim_line_t *l)
{
    double  d;

    if (mcpu_sim_get_number(l, "clients", 1, 0, 1, MCPU_SIM_CLIENTS_MAX, &d)
        != 0)
    {
        return -1;
    }

    if (d != floor(d)) {
        return mcpu_sim_fail(l, "\"clients\" must be an integer");
    }

    sc->clients = (long) d;
    return 0;
}


static int
mcpu_sim_kw_version(mcpu_sim_scenario_t *sc, mcpu_sim_line_t *l)
{
    size_t               i;
    double               w;
    mcpu_sim_version_t  *v;

    if (!mcpu_sim_name_ok(l->name)) {
        return mcpu_sim_fail(l, "invalid name \"%s\": 1 to %d visible ASCII "
                             "characters, no comma", l->name,
                             MCPU_SIM_NAME_MAX);
    }

    for (i = 0; i < sc->nversions; i++) {
        if (strcmp(sc->versions[i].name, l->name) == 0) {
            return mcpu_sim_fail(l, "\"%s\" is declared twice", l->name);
        }
    }

    if (mcpu_sim_get_number(l, "weight", 1, 0, 1, 1000000, &w) != 0) {
        return -1;
    }

    v = mcpu_sim_grow(sc->versions, &sc->nversions, sizeof(*v));
    if (v == NULL) {
        return mcpu_sim_fail(l, "out of memory");
    }

    sc->versions = v;
    v = &sc->versions[sc->nversions - 1];
    v->weight = (long) w;
    v->name = strdup(l->name);

    return v->name != NULL ? 0 : mcpu_sim_fail(l, "out of memory");
}


static int
mcpu_sim_kw_os(mcpu_sim_scenario_t *sc, mcpu_sim_line_t *l)
{
    char           *list, *p, *comma;
    size_t          i;
    double          w;
    const char     *versions;
    mcpu_sim_os_t  *os;

    if (!mcpu_sim_name_ok(l->name)) {
        return mcpu_sim_fail(l, "invalid name \"%s\": 1 to %d visible ASCII "
                             "characters, no comma", l->name,
                             MCPU_SIM_NAME_MAX);
    }

    for (i = 0; i < sc->noses; i++) {
        if (strcmp(sc->oses[i].name, l->name) == 0) {
            return mcpu_sim_fail(l, "\"%s\" is declared twice", l->name);
        }
    }

    if (mcpu_sim_get_number(l, "weight", 1, 0, 1, 1000000, &w) != 0) {
        return -1;
    }

    versions = mcpu_sim_get(l, "versions", 1);
    if (versions == NULL) {
        return -1;
    }

    os = mcpu_sim_grow(sc->oses, &sc->noses, sizeof(*os));
    if (os == NULL) {
        return mcpu_sim_fail(l, "out of memory");
    }

    sc->oses = os;
    os = &sc->oses[sc->noses - 1];
    os->weight = (long) w;
    os->name = strdup(l->name);
    os->versions = calloc(MCPU_SIM_LIST_MAX, sizeof(char *));
    list = strdup(versions);

    if (os->name == NULL || os->versions == NULL || list == NULL) {
        free(list);
        return mcpu_sim_fail(l, "out of memory");
    }

    for (p = list; p != NULL; p = comma) {
        comma = strchr(p, ',');
        if (comma != NULL) {
            *comma++ = '\0';
        }

        if (!mcpu_sim_name_ok(p)) {
            mcpu_sim_fail(l, "invalid OS version \"%s\" in \"versions\": 1 "
                          "to %d visible ASCII characters each, "
                          "comma-separated", p, MCPU_SIM_NAME_MAX);
            goto failed;
        }

        for (i = 0; i < os->nversions; i++) {
            if (strcmp(os->versions[i], p) == 0) {
                mcpu_sim_fail(l, "OS version \"%s\" is listed twice", p);
                goto failed;
            }
        }

        if (os->nversions == MCPU_SIM_LIST_MAX) {
            mcpu_sim_fail(l, "more than %d OS versions", MCPU_SIM_LIST_MAX);
            goto failed;
        }

        os->versions[os->nversions] = strdup(p);
        if (os->versions[os->nversions++] == NULL) {
            mcpu_sim_fail(l, "out of memory");
            goto failed;
        }
    }

    free(list);
    return 0;

failed:

    /* the message names a part of list: it is freed only now */
    free(list);
    return -1;
}


static int
mcpu_sim_kw_measure(mcpu_sim_scenario_t *sc, mcpu_sim_line_t *l)
{
    if (mcpu_sim_get_number(l, "interval", 0, 1, 0.1, 3600,
                            &sc->measure_interval) != 0
        || mcpu_sim_get_range(l, "cores", 0, 0, 1, MCPU_SIM_CORES_MAX,
                              &sc->cores) != 0
        || mcpu_sim_get_range(l, "baseline", 0, 0, 0, 100, &sc->baseline)
           != 0
        || mcpu_sim_get_number(l, "noise", 0, 0, 0, 50, &sc->noise) != 0)
    {
        return -1;
    }

    if (sc->cores.lo != floor(sc->cores.lo)
        || sc->cores.hi != floor(sc->cores.hi))
    {
        return mcpu_sim_fail(l, "\"cores\" must be integers");
    }

    return 0;
}


static int
mcpu_sim_kw_session(mcpu_sim_scenario_t *sc, mcpu_sim_line_t *l)
{
    if (mcpu_sim_get_range(l, "length", 0, 1, 1, MCPU_SIM_WEEK_S,
                           &sc->session_length) != 0
        || mcpu_sim_get_range(l, "gap", 0, 1, 0, MCPU_SIM_WEEK_S,
                              &sc->session_gap) != 0)
    {
        return -1;
    }

    return 0;
}


static int
mcpu_sim_kw_transfers(mcpu_sim_scenario_t *sc, mcpu_sim_line_t *l)
{
    if (mcpu_sim_get_number(l, "rate_per_hour", 0, 0, 0, 3600,
                            &sc->transfer_rate) != 0
        || mcpu_sim_get_range(l, "duration", 0, 1, 0.001, MCPU_SIM_WEEK_S,
                              &sc->transfer_duration) != 0
        || mcpu_sim_get_number(l, "progress_every", 0, 1, 0.1, 86400,
                               &sc->progress_every) != 0
        || mcpu_sim_get_range(l, "bytes", 0, 0, 0, 9007199254740992.0,
                              &sc->transfer_bytes) != 0)
    {
        return -1;
    }

    return 0;
}


/* activity NAME: sends NAMEStarted and NAMECompleted */
static int
mcpu_sim_kw_activity(mcpu_sim_scenario_t *sc, mcpu_sim_line_t *l)
{
    char                  started[MCPU_SIM_TYPE_MAX + 1];
    char                  completed[MCPU_SIM_TYPE_MAX + 1];
    size_t                len;
    mcpu_sim_activity_t  *a;

    len = strlen(l->name);

    if (!mcpu_sim_type_name_ok(l->name)
        || len + sizeof("Completed") - 1 > MCPU_SIM_TYPE_MAX)
    {
        return mcpu_sim_fail(l, "invalid name \"%s\": a letter, then letters "
                             "and digits, at most %zu (NAMECompleted is an "
                             "event type of at most %d)", l->name,
                             MCPU_SIM_TYPE_MAX - (sizeof("Completed") - 1),
                             MCPU_SIM_TYPE_MAX);
    }

    snprintf(started, sizeof(started), "%sStarted", l->name);
    snprintf(completed, sizeof(completed), "%sCompleted", l->name);

    /* the new types may not be taken already, by the module or above */
    if (mcpu_sim_find_type(sc, started) != -1
        || mcpu_sim_find_type(sc, completed) != -1
        || mcpu_sim_find_type(sc, l->name) != -1)
    {
        return mcpu_sim_fail(l, "\"%s\" is declared twice, or makes an event "
                             "type that exists already (%s, %s)", l->name,
                             started, completed);
    }

    a = mcpu_sim_grow(sc->activities, &sc->nactivities, sizeof(*a));
    if (a == NULL) {
        return mcpu_sim_fail(l, "out of memory");
    }

    sc->activities = a;
    a = &sc->activities[sc->nactivities - 1];
    a->line = l->line;
    a->name = strdup(l->name);
    a->started = strdup(started);
    a->completed = strdup(completed);

    if (a->name == NULL || a->started == NULL || a->completed == NULL) {
        return mcpu_sim_fail(l, "out of memory");
    }

    if (mcpu_sim_get_number(l, "rate_per_hour", 1, 0, 0, 3600,
                            &a->rate_per_hour) != 0
        || mcpu_sim_get_range(l, "duration", 1, 1, 0.001, MCPU_SIM_WEEK_S,
                              &a->duration) != 0)
    {
        return -1;
    }

    return 0;
}


static int
mcpu_sim_kw_cause(mcpu_sim_scenario_t *sc, mcpu_sim_line_t *l)
{
    return mcpu_sim_rule(sc, l, MCPU_SIM_RULE_CAUSE);
}


static int
mcpu_sim_kw_bump(mcpu_sim_scenario_t *sc, mcpu_sim_line_t *l)
{
    return mcpu_sim_rule(sc, l, MCPU_SIM_RULE_BUMP);
}


static int
mcpu_sim_kw_hot(mcpu_sim_scenario_t *sc, mcpu_sim_line_t *l)
{
    return mcpu_sim_rule(sc, l, MCPU_SIM_RULE_HOT);
}


static int
mcpu_sim_kw_spikes(mcpu_sim_scenario_t *sc, mcpu_sim_line_t *l)
{
    return mcpu_sim_rule(sc, l, MCPU_SIM_RULE_SPIKES);
}


/*
 * cause, bump: [filters] event=TYPE [delay=A-B] rise=A-B
 *              duration=A-B|until-completed
 * hot:         [filters] add=A-B
 * spikes:      [filters] rate_per_hour=R rise=A-B duration=A-B
 */
static int
mcpu_sim_rule(mcpu_sim_scenario_t *sc, mcpu_sim_line_t *l,
    mcpu_sim_rule_kind_t kind)
{
    const char       *duration;
    mcpu_sim_rule_t  *r, rule;

    memset(&rule, 0, sizeof(rule));
    rule.kind = kind;
    rule.line = l->line;
    rule.event = -1;

    if (mcpu_sim_rule_filters(sc, l, &rule) != 0) {
        goto failed;
    }

    switch (kind) {

    case MCPU_SIM_RULE_HOT:
        if (mcpu_sim_get_range(l, "add", 1, 0, 0, 100, &rule.rise) != 0) {
            goto failed;
        }
        break;

    case MCPU_SIM_RULE_SPIKES:
        if (mcpu_sim_get_number(l, "rate_per_hour", 1, 0, 0.001, 3600,
                                &rule.rate_per_hour) != 0
            || mcpu_sim_get_range(l, "rise", 1, 0, 0, 100, &rule.rise) != 0
            || mcpu_sim_get_range(l, "duration", 1, 1, 0.001,
                                  MCPU_SIM_WEEK_S, &rule.duration) != 0)
        {
            goto failed;
        }
        break;

    default: /* cause, bump */
        if (mcpu_sim_rule_event(sc, l, &rule) != 0
            || mcpu_sim_get_range(l, "delay", 0, 1, 0, 86400, &rule.delay)
               != 0
            || mcpu_sim_get_range(l, "rise", 1, 0, 0, 100, &rule.rise) != 0)
        {
            goto failed;
        }

        duration = mcpu_sim_get(l, "duration", 1);
        if (duration == NULL) {
            goto failed;
        }

        if (strcmp(duration, "until-completed") != 0) {
            if (mcpu_sim_get_range(l, "duration", 1, 1, 0.001,
                                   MCPU_SIM_WEEK_S, &rule.duration) != 0)
            {
                goto failed;
            }
            break;
        }

        if (rule.event != MCPU_SIM_EV_APP_OPENED
            && rule.event != MCPU_SIM_EV_TRANSFER_STARTED
            && !(rule.event >= MCPU_SIM_EV_ACTIVITY
                 && (rule.event - MCPU_SIM_EV_ACTIVITY) % 2 == 0))
        {
            mcpu_sim_fail(l, "duration=until-completed needs an event that "
                          "something completes: AppOpened (until "
                          "AppClosed), FileTransferStarted or an activity's "
                          "...Started");
            goto failed;
        }

        rule.until = 1;
        break;
    }

    r = mcpu_sim_grow(sc->rules, &sc->nrules, sizeof(*r));
    if (r == NULL) {
        mcpu_sim_fail(l, "out of memory");
        goto failed;
    }

    sc->rules = r;
    sc->rules[sc->nrules - 1] = rule;
    return 0;

failed:

    free(rule.os_version);
    return -1;
}


/* version=, os=, os_version=: each must be declared above */
static int
mcpu_sim_rule_filters(mcpu_sim_scenario_t *sc, mcpu_sim_line_t *l,
    mcpu_sim_rule_t *r)
{
    size_t       i, j;
    const char  *v;

    r->version = -1;
    r->os = -1;

    v = mcpu_sim_get(l, "version", 0);
    if (v != NULL) {
        for (i = 0; i < sc->nversions; i++) {
            if (strcmp(sc->versions[i].name, v) == 0) {
                r->version = (int) i;
            }
        }

        if (r->version < 0) {
            return mcpu_sim_fail(l, "version \"%s\" is not declared by a "
                                 "\"version\" line above", v);
        }
    }

    v = mcpu_sim_get(l, "os", 0);
    if (v != NULL) {
        for (i = 0; i < sc->noses; i++) {
            if (strcmp(sc->oses[i].name, v) == 0) {
                r->os = (int) i;
            }
        }

        if (r->os < 0) {
            return mcpu_sim_fail(l, "os \"%s\" is not declared by an \"os\" "
                                 "line above", v);
        }
    }

    v = mcpu_sim_get(l, "os_version", 0);
    if (v == NULL) {
        return 0;
    }

    for (i = 0; i < sc->noses; i++) {
        if (r->os >= 0 && (size_t) r->os != i) {
            continue;
        }

        for (j = 0; j < sc->oses[i].nversions; j++) {
            if (strcmp(sc->oses[i].versions[j], v) == 0) {
                r->os_version = strdup(v);
                return r->os_version != NULL
                       ? 0 : mcpu_sim_fail(l, "out of memory");
            }
        }
    }

    return mcpu_sim_fail(l, "os_version \"%s\" is in no \"versions\" of %s "
                         "above", v, r->os >= 0 ? "that os" : "an os line");
}


static int
mcpu_sim_rule_event(mcpu_sim_scenario_t *sc, mcpu_sim_line_t *l,
    mcpu_sim_rule_t *r)
{
    const char  *v;

    v = mcpu_sim_get(l, "event", 1);
    if (v == NULL) {
        return -1;
    }

    r->event = mcpu_sim_find_type(sc, v);

    if (r->event < 0 || r->event == MCPU_SIM_EV_CPU) {
        return mcpu_sim_fail(l, "event \"%s\" is not one mcpu-sim sends that "
                             "can start an effect: AppOpened, AppClosed, "
                             "FileTransferStarted, FileTransferProgress, "
                             "FileTransferCompleted, or an activity's "
                             "...Started, ...Completed declared above", v);
    }

    return 0;
}


/* the MCPU_SIM_EV_* of a type name, -1 when mcpu-sim does not send it;
 * reserved names (the module's other built-ins) count as taken: -2 */
static int
mcpu_sim_find_type(const mcpu_sim_scenario_t *sc, const char *name)
{
    size_t  i;

    for (i = 0; i < sizeof(mcpu_sim_builtin_types) / sizeof(char *); i++) {
        if (strcmp(mcpu_sim_builtin_types[i], name) == 0) {
            return (int) i;
        }
    }

    for (i = 0; i < sc->nactivities; i++) {
        if (strcmp(sc->activities[i].started, name) == 0) {
            return MCPU_SIM_EV_ACTIVITY + 2 * (int) i;
        }

        if (strcmp(sc->activities[i].completed, name) == 0) {
            return MCPU_SIM_EV_ACTIVITY + 2 * (int) i + 1;
        }

        if (strcmp(sc->activities[i].name, name) == 0) {
            return -2;
        }
    }

    for (i = 0; i < sizeof(mcpu_sim_reserved_types) / sizeof(char *); i++) {
        if (strcmp(mcpu_sim_reserved_types[i], name) == 0) {
            return -2;
        }
    }

    return -1;
}


/* what a whole file must have, once every line is read */
static int
mcpu_sim_scenario_check(mcpu_sim_scenario_t *sc, const char *path,
    char *errstr, size_t errstr_size)
{
    if (sc->nversions == 0) {
        snprintf(errstr, errstr_size, "%s: the scenario declares no client "
                 "version: at least one \"version NAME weight=W\" line is "
                 "needed", path);
        return -1;
    }

    if (sc->noses == 0) {
        snprintf(errstr, errstr_size, "%s: the scenario declares no OS: at "
                 "least one \"os NAME weight=W versions=V,...\" line is "
                 "needed", path);
        return -1;
    }

    return 0;
}


void
mcpu_sim_scenario_free(mcpu_sim_scenario_t *sc)
{
    size_t  i, j;

    for (i = 0; i < sc->nversions; i++) {
        free(sc->versions[i].name);
    }

    for (i = 0; i < sc->noses; i++) {
        free(sc->oses[i].name);

        for (j = 0; sc->oses[i].versions != NULL
                    && j < sc->oses[i].nversions; j++)
        {
            free(sc->oses[i].versions[j]);
        }

        free(sc->oses[i].versions);
    }

    for (i = 0; i < sc->nactivities; i++) {
        free(sc->activities[i].name);
        free(sc->activities[i].started);
        free(sc->activities[i].completed);
    }

    for (i = 0; i < sc->nrules; i++) {
        free(sc->rules[i].os_version);
    }

    free(sc->versions);
    free(sc->oses);
    free(sc->activities);
    free(sc->rules);
    free(sc->path);
    memset(sc, 0, sizeof(*sc));
}


const char *
mcpu_sim_scenario_type(const mcpu_sim_scenario_t *sc, int ev)
{
    const mcpu_sim_activity_t  *a;

    if (ev < MCPU_SIM_EV_ACTIVITY) {
        return mcpu_sim_builtin_types[ev];
    }

    a = &sc->activities[(ev - MCPU_SIM_EV_ACTIVITY) / 2];

    return (ev - MCPU_SIM_EV_ACTIVITY) % 2 ? a->completed : a->started;
}


void
mcpu_sim_scenario_allow(const mcpu_sim_scenario_t *sc, char *buf,
    size_t size)
{
    int     n;
    size_t  i, len;

    buf[0] = '\0';

    if (sc->nactivities == 0 || size == 0) {
        return;
    }

    len = 0;
    n = snprintf(buf, size, "mcpu_event_type_allow");

    for (i = 0; n >= 0 && (size_t) n < size - len && i < sc->nactivities;
         i++)
    {
        len += (size_t) n;
        n = snprintf(buf + len, size - len, " %s %s",
                     sc->activities[i].started, sc->activities[i].completed);
    }

    if (n >= 0 && (size_t) n < size - len) {
        len += (size_t) n;
        snprintf(buf + len, size - len, ";");
    }
}


const char *
mcpu_sim_rule_kind(mcpu_sim_rule_kind_t kind)
{
    return mcpu_sim_rule_kinds[kind];
}
