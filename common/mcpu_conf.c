/*
 * mcpu_conf.c: the option engine: a program's option table, its config
 * file, its command line.  See mcpu_conf.h.
 *
 * Every option is one row of the program's table: the file and the command
 * line are parsed through it, defaults are applied through it (so each
 * default is written once, in the table), and --help and --list-options
 * print it.
 */

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "mcpu_conf.h"


#define MCPU_CONF_OPTIONS_MAX     64   /* rows of one table, at most */

#define MCPU_CONF_TOPIC_MAX       249  /* Kafka's own limit */

#define MCPU_CONF_KAFKA_PREFIX    "kafka."

/* getopt_long returns this plus the row index for a long option */
#define MCPU_CONF_OPT_LONG        0x100


static int mcpu_conf_defaults(const mcpu_conf_program_t *prog, void *conf,
    char *errstr, size_t errstr_size);
static int mcpu_conf_file(const mcpu_conf_program_t *prog, void *conf,
    const char *path, char *errstr, size_t errstr_size);
static int mcpu_conf_argv(const mcpu_conf_program_t *prog, void *conf,
    int argc, char **argv, int apply, char *errstr, size_t errstr_size);
static int mcpu_conf_action(const mcpu_conf_program_t *prog, void *conf,
    const mcpu_conf_option_t *opt, int apply);
static int mcpu_conf_set(const mcpu_conf_program_t *prog, void *conf,
    const mcpu_conf_option_t *opt, const char *value, const char *where,
    char *errstr, size_t errstr_size);
static int mcpu_conf_kafka(const mcpu_conf_program_t *prog, void *conf,
    const char *name, const char *value, const char *origin,
    char *errstr, size_t errstr_size);
static int mcpu_conf_kafka_seen(const mcpu_conf_program_t *prog, void *conf,
    const char *name, const char *where, char *errstr, size_t errstr_size);
static int mcpu_conf_number(const mcpu_conf_option_t *opt, const char *value,
    const char *where, long *n, char *errstr, size_t errstr_size);
static int mcpu_conf_double(const mcpu_conf_option_t *opt, const char *value,
    const char *where, double *d, char *errstr, size_t errstr_size);
static int mcpu_conf_topic_ok(const char *s);
static int mcpu_conf_topics_ok(const char *s, char *bad, size_t bad_size);
static const mcpu_conf_option_t *mcpu_conf_find(
    const mcpu_conf_program_t *prog, const char *name);
static const mcpu_conf_option_t *mcpu_conf_config_row(
    const mcpu_conf_program_t *prog);
static int mcpu_conf_is_text(int type);
static char *mcpu_conf_trim(char *s);
static void mcpu_conf_help(const mcpu_conf_program_t *prog);
static void mcpu_conf_list(const mcpu_conf_program_t *prog);
static void mcpu_conf_version(const mcpu_conf_program_t *prog);


/* a field of the program's struct, by its row's offset */
#define mcpu_conf_field(conf, offset, type)                                  \
    ((type *) ((char *) (conf) + (offset)))


int
mcpu_conf_load(const mcpu_conf_program_t *prog, void *conf, int argc,
    char **argv, char *errstr, size_t errstr_size)
{
    int                        rc;
    char                      *path;
    const mcpu_conf_option_t  *config;

    memset(conf, 0, prog->size);

    /* a table larger than the engine's arrays is a programming error */
    if (prog->noptions > MCPU_CONF_OPTIONS_MAX) {
        snprintf(errstr, errstr_size, "%s has %zu options, more than the %d "
                 "the option engine takes", prog->name, prog->noptions,
                 MCPU_CONF_OPTIONS_MAX);
        return MCPU_CONF_ERROR;
    }

    if (mcpu_conf_defaults(prog, conf, errstr, errstr_size) != MCPU_CONF_OK) {
        return MCPU_CONF_ERROR;
    }

    /* first pass: -c and the output-only options, so that --help works
     * even when the file is broken */
    rc = mcpu_conf_argv(prog, conf, argc, argv, 0, errstr, errstr_size);
    if (rc != MCPU_CONF_OK) {
        return rc;
    }

    config = mcpu_conf_config_row(prog);
    path = config ? *mcpu_conf_field(conf, config->offset, char *) : NULL;

    if (path != NULL
        && mcpu_conf_file(prog, conf, path, errstr, errstr_size)
           != MCPU_CONF_OK)
    {
        return MCPU_CONF_ERROR;
    }

    /* second pass: the command line overrides the file */
    rc = mcpu_conf_argv(prog, conf, argc, argv, 1, errstr, errstr_size);
    if (rc != MCPU_CONF_OK) {
        return rc;
    }

    if (prog->derive == NULL) {
        return MCPU_CONF_OK;
    }

    return prog->derive(conf, errstr, errstr_size);
}


void
mcpu_conf_free(const mcpu_conf_program_t *prog, void *conf)
{
    size_t                     i, n;
    mcpu_conf_kafka_prop_t    *props;
    const mcpu_conf_option_t  *opt;

    for (i = 0; i < prog->noptions; i++) {
        opt = &prog->options[i];

        if (mcpu_conf_is_text(opt->type)) {
            free(*mcpu_conf_field(conf, opt->offset, char *));
        }
    }

    props = *mcpu_conf_field(conf, prog->kafka, mcpu_conf_kafka_prop_t *);
    n = *mcpu_conf_field(conf, prog->nkafka, size_t);

    for (i = 0; i < n; i++) {
        free(props[i].name);
        free(props[i].value);
        free(props[i].origin);
    }

    free(props);
    memset(conf, 0, prog->size);
}


static int
mcpu_conf_defaults(const mcpu_conf_program_t *prog, void *conf,
    char *errstr, size_t errstr_size)
{
    size_t                     i;
    const mcpu_conf_option_t  *opt;

    for (i = 0; i < prog->noptions; i++) {
        opt = &prog->options[i];

        if (opt->deflt != NULL
            && mcpu_conf_set(prog, conf, opt, opt->deflt, "default", errstr,
                             errstr_size) != MCPU_CONF_OK)
        {
            return MCPU_CONF_ERROR;
        }
    }

    return MCPU_CONF_OK;
}


/*
 * The file: `name = value` lines, `kafka.PROPERTY = value` lines, blank
 * lines and `#` comment lines.  A name twice is refused, as nginx refuses a
 * duplicate directive: one of the two would be ignored.
 */
static int
mcpu_conf_file(const mcpu_conf_program_t *prog, void *conf, const char *path,
    char *errstr, size_t errstr_size)
{
    int                        rc;
    char                      *line, *name, *value, *eq;
    char                       where[PATH_MAX + 32];
    FILE                      *f;
    size_t                     cap, i;
    ssize_t                    n;
    unsigned                   lineno;
    unsigned                   seen[MCPU_CONF_OPTIONS_MAX];
    const mcpu_conf_option_t  *opt;

    f = fopen(path, "re");
    if (f == NULL) {
        snprintf(errstr, errstr_size, "cannot open config file \"%s\": %s",
                 path, strerror(errno));
        return MCPU_CONF_ERROR;
    }

    memset(seen, 0, sizeof(seen));
    line = NULL;
    cap = 0;
    lineno = 0;
    rc = MCPU_CONF_ERROR;

    while ((n = getline(&line, &cap, f)) != -1) {
        lineno++;
        snprintf(where, sizeof(where), "%s:%u", path, lineno);

        if (memchr(line, '\0', (size_t) n) != NULL) {
            snprintf(errstr, errstr_size, "%s: NUL byte in the line", where);
            goto failed;
        }

        name = mcpu_conf_trim(line);
        if (name[0] == '\0' || name[0] == '#') {
            continue;
        }

        eq = strchr(name, '=');
        if (eq == NULL) {
            snprintf(errstr, errstr_size, "%s: expected \"name = value\", "
                     "found \"%.64s\"", where, name);
            goto failed;
        }

        *eq = '\0';
        name = mcpu_conf_trim(name);
        value = mcpu_conf_trim(eq + 1);

        if (name[0] == '\0') {
            snprintf(errstr, errstr_size, "%s: expected \"name = value\", "
                     "the name is missing", where);
            goto failed;
        }

        if (strncmp(name, MCPU_CONF_KAFKA_PREFIX,
                    sizeof(MCPU_CONF_KAFKA_PREFIX) - 1) == 0)
        {
            name += sizeof(MCPU_CONF_KAFKA_PREFIX) - 1;

            if (mcpu_conf_kafka_seen(prog, conf, name, where, errstr,
                                     errstr_size) != MCPU_CONF_OK
                || mcpu_conf_kafka(prog, conf, name, value, where, errstr,
                                   errstr_size) != MCPU_CONF_OK)
            {
                goto failed;
            }

            continue;
        }

        opt = mcpu_conf_find(prog, name);
        if (opt == NULL) {
            snprintf(errstr, errstr_size, "%s: unknown option \"%s\"", where,
                     name);
            goto failed;
        }

        i = (size_t) (opt - prog->options);

        if (seen[i]) {
            snprintf(errstr, errstr_size, "%s: option \"%s\" is duplicate "
                     "(first at line %u)", where, name, seen[i]);
            goto failed;
        }

        seen[i] = lineno;

        if (mcpu_conf_set(prog, conf, opt, value, where, errstr, errstr_size)
            != MCPU_CONF_OK)
        {
            goto failed;
        }
    }

    if (ferror(f)) {
        snprintf(errstr, errstr_size, "reading config file \"%s\" failed: %s",
                 path, strerror(errno));
        goto failed;
    }

    rc = MCPU_CONF_OK;

failed:

    free(line);
    fclose(f);
    return rc;
}


/*
 * Two passes over argv with getopt_long: the first (apply = 0) takes -c and
 * runs the output-only options, the second (apply = 1, after the file) sets
 * every other option, so the command line wins over the file.
 */
static int
mcpu_conf_argv(const mcpu_conf_program_t *prog, void *conf, int argc,
    char **argv, int apply, char *errstr, size_t errstr_size)
{
    int                        c, nlong;
    char                       shorts[2 * MCPU_CONF_OPTIONS_MAX + 2];
    char                      *p;
    size_t                     i;
    struct option              longs[MCPU_CONF_OPTIONS_MAX + 1];
    const mcpu_conf_option_t  *opt;

    p = shorts;
    *p++ = ':';               /* report a missing argument as ':' */
    nlong = 0;

    for (i = 0; i < prog->noptions; i++) {
        opt = &prog->options[i];

        if (opt->letter) {
            *p++ = (char) opt->letter;
            if (opt->type != MCPU_CONF_OPT_ACTION) {
                *p++ = ':';
            }
        }

        if (opt->flag != NULL) {
            longs[nlong].name = opt->flag;
            longs[nlong].has_arg = opt->type == MCPU_CONF_OPT_ACTION
                                   ? no_argument : required_argument;
            longs[nlong].flag = NULL;
            longs[nlong].val = MCPU_CONF_OPT_LONG + (int) i;
            nlong++;
        }
    }

    *p = '\0';
    memset(&longs[nlong], 0, sizeof(longs[nlong]));

    opterr = 0;
    optind = 0;                /* glibc: full re-initialisation */

    while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {

        if (c == '?' || c == ':') {
            if (optopt >= MCPU_CONF_OPT_LONG) {
                opt = &prog->options[optopt - MCPU_CONF_OPT_LONG];
                snprintf(errstr, errstr_size, "option \"--%s\" needs a value "
                         "(%s)", opt->flag, opt->arg);

            } else if (optopt != 0) {
                snprintf(errstr, errstr_size, c == ':'
                         ? "option \"-%c\" needs a value"
                         : "unknown option \"-%c\" (see --help)", optopt);

            } else {
                snprintf(errstr, errstr_size, "unknown option \"%s\" (see "
                         "--help)", argv[optind - 1]);
            }

            return MCPU_CONF_ERROR;
        }

        opt = NULL;

        if (c >= MCPU_CONF_OPT_LONG) {
            opt = &prog->options[c - MCPU_CONF_OPT_LONG];

        } else {
            for (i = 0; i < prog->noptions; i++) {
                if (prog->options[i].letter == c) {
                    opt = &prog->options[i];
                }
            }
        }

        if (opt == NULL) {
            snprintf(errstr, errstr_size, "unknown option \"-%c\"", c);
            return MCPU_CONF_ERROR;
        }

        if (opt->type == MCPU_CONF_OPT_ACTION) {
            if (mcpu_conf_action(prog, conf, opt, apply) == MCPU_CONF_DONE) {
                return MCPU_CONF_DONE;
            }

            continue;
        }

        if ((opt->type == MCPU_CONF_OPT_CONFIG) == apply) {
            continue;
        }

        if (mcpu_conf_set(prog, conf, opt, optarg, "command line", errstr,
                          errstr_size) != MCPU_CONF_OK)
        {
            return MCPU_CONF_ERROR;
        }
    }

    if (optind < argc) {
        snprintf(errstr, errstr_size, "unexpected argument \"%s\" (options "
                 "take the form --name VALUE; see --help)", argv[optind]);
        return MCPU_CONF_ERROR;
    }

    return MCPU_CONF_OK;
}


/*
 * The output-only options print in the first pass, before the file is read;
 * -t is recorded in the second, with the other settings.
 */
static int
mcpu_conf_action(const mcpu_conf_program_t *prog, void *conf,
    const mcpu_conf_option_t *opt, int apply)
{
    if (apply) {
        if (strcmp(opt->name, "test") == 0) {
            *mcpu_conf_field(conf, prog->test, int) = 1;
        }

        return MCPU_CONF_OK;
    }

    if (strcmp(opt->name, "help") == 0) {
        mcpu_conf_help(prog);
        return MCPU_CONF_DONE;
    }

    if (strcmp(opt->name, "version") == 0) {
        mcpu_conf_version(prog);
        return MCPU_CONF_DONE;
    }

    if (strcmp(opt->name, "list-options") == 0) {
        mcpu_conf_list(prog);
        return MCPU_CONF_DONE;
    }

    return MCPU_CONF_OK;
}


static int
mcpu_conf_set(const mcpu_conf_program_t *prog, void *conf,
    const mcpu_conf_option_t *opt, const char *value, const char *where,
    char *errstr, size_t errstr_size)
{
    int          rc;
    long         n;
    char        *copy, **field, bad[MCPU_CONF_TOPIC_MAX + 2];
    double       d;
    const char  *eq;

    switch (opt->type) {

    case MCPU_CONF_OPT_KAFKA:
        /* from the command line: -X PROPERTY=VALUE */
        eq = strchr(value, '=');
        if (eq == NULL || eq == value) {
            snprintf(errstr, errstr_size, "%s: invalid value \"%s\" for "
                     "option \"-X\": expected PROPERTY=VALUE", where, value);
            return MCPU_CONF_ERROR;
        }

        copy = strndup(value, (size_t) (eq - value));
        if (copy == NULL) {
            snprintf(errstr, errstr_size, "out of memory");
            return MCPU_CONF_ERROR;
        }

        rc = mcpu_conf_kafka(prog, conf, copy, eq + 1, "-X", errstr,
                             errstr_size);
        free(copy);
        return rc;

    case MCPU_CONF_OPT_NUM:
    case MCPU_CONF_OPT_POW2:
        if (mcpu_conf_number(opt, value, where, &n, errstr, errstr_size)
            != MCPU_CONF_OK)
        {
            return MCPU_CONF_ERROR;
        }

        *mcpu_conf_field(conf, opt->offset, long) = n;
        return MCPU_CONF_OK;

    case MCPU_CONF_OPT_DOUBLE:
        if (mcpu_conf_double(opt, value, where, &d, errstr, errstr_size)
            != MCPU_CONF_OK)
        {
            return MCPU_CONF_ERROR;
        }

        *mcpu_conf_field(conf, opt->offset, double) = d;
        return MCPU_CONF_OK;

    case MCPU_CONF_OPT_TOPIC:
    case MCPU_CONF_OPT_TOPIC_OFF:
        if (!mcpu_conf_topic_ok(value)
            && !(opt->type == MCPU_CONF_OPT_TOPIC_OFF && value[0] == '\0'))
        {
            snprintf(errstr, errstr_size, "%s: invalid value \"%s\" for "
                     "option \"%s\": a topic name is 1 to %d of [a-zA-Z0-9._-]"
                     ", not \".\" or \"..\"%s", where, value, opt->name,
                     MCPU_CONF_TOPIC_MAX,
                     opt->type == MCPU_CONF_OPT_TOPIC_OFF
                     ? " (or empty: none)" : "");
            return MCPU_CONF_ERROR;
        }
        break;

    case MCPU_CONF_OPT_TOPICS:
        if (!mcpu_conf_topics_ok(value, bad, sizeof(bad))) {
            snprintf(errstr, errstr_size, "%s: invalid value \"%s\" for "
                     "option \"%s\": \"%s\" is not a topic name (1 to %d "
                     "of [a-zA-Z0-9._-], not \".\" or \"..\"), or is "
                     "there twice", where, value, opt->name, bad,
                     MCPU_CONF_TOPIC_MAX);
            return MCPU_CONF_ERROR;
        }
        break;

    case MCPU_CONF_OPT_PATH:
        /* an empty value is allowed only where the default is empty */
        if (value[0] == '\0' && (opt->deflt == NULL || opt->deflt[0] != '\0'))
        {
            snprintf(errstr, errstr_size, "%s: empty value for option \"%s\"",
                     where, opt->name);
            return MCPU_CONF_ERROR;
        }

        if (strlen(value) >= PATH_MAX) {
            snprintf(errstr, errstr_size, "%s: value for option \"%s\" is "
                     "longer than %d bytes", where, opt->name, PATH_MAX - 1);
            return MCPU_CONF_ERROR;
        }
        break;

    default: /* STR, CONFIG */
        if (value[0] == '\0') {
            snprintf(errstr, errstr_size, "%s: empty value for option \"%s\"",
                     where, opt->name);
            return MCPU_CONF_ERROR;
        }
        break;
    }

    copy = strdup(value);
    if (copy == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return MCPU_CONF_ERROR;
    }

    field = mcpu_conf_field(conf, opt->offset, char *);
    free(*field);
    *field = copy;

    return MCPU_CONF_OK;
}


/* the property is checked by librdkafka itself, when a handle is made */
static int
mcpu_conf_kafka(const mcpu_conf_program_t *prog, void *conf,
    const char *name, const char *value, const char *origin, char *errstr,
    size_t errstr_size)
{
    size_t                   *n;
    mcpu_conf_kafka_prop_t  **props, *more, *p;

    if (name[0] == '\0') {
        snprintf(errstr, errstr_size, "%s: a kafka property needs a name: "
                 "kafka.PROPERTY = VALUE, -X PROPERTY=VALUE", origin);
        return MCPU_CONF_ERROR;
    }

    props = mcpu_conf_field(conf, prog->kafka, mcpu_conf_kafka_prop_t *);
    n = mcpu_conf_field(conf, prog->nkafka, size_t);

    more = realloc(*props, (*n + 1) * sizeof(*more));
    if (more == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return MCPU_CONF_ERROR;
    }

    *props = more;
    p = &more[*n];
    p->name = strdup(name);
    p->value = strdup(value);
    p->origin = strdup(origin);
    (*n)++;                    /* counted now: mcpu_conf_free() frees it */

    if (p->name == NULL || p->value == NULL || p->origin == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return MCPU_CONF_ERROR;
    }

    return MCPU_CONF_OK;
}


/* a kafka.* line of the file whose property an earlier line already set */
static int
mcpu_conf_kafka_seen(const mcpu_conf_program_t *prog, void *conf,
    const char *name, const char *where, char *errstr, size_t errstr_size)
{
    size_t                   i, n;
    mcpu_conf_kafka_prop_t  *props;

    props = *mcpu_conf_field(conf, prog->kafka, mcpu_conf_kafka_prop_t *);
    n = *mcpu_conf_field(conf, prog->nkafka, size_t);

    for (i = 0; i < n; i++) {
        if (strcmp(props[i].name, name) == 0) {
            snprintf(errstr, errstr_size, "%s: option \"%s%s\" is duplicate "
                     "(first at %s)", where, MCPU_CONF_KAFKA_PREFIX, name,
                     props[i].origin);
            return MCPU_CONF_ERROR;
        }
    }

    return MCPU_CONF_OK;
}


static int
mcpu_conf_number(const mcpu_conf_option_t *opt, const char *value,
    const char *where, long *n, char *errstr, size_t errstr_size)
{
    long   v;
    char  *end;

    errno = 0;
    v = strtol(value, &end, 10);

    if (value[0] == '\0' || *end != '\0' || errno == ERANGE
        || v < opt->min || v > opt->max
        || (opt->type == MCPU_CONF_OPT_POW2 && (v & (v - 1)) != 0))
    {
        snprintf(errstr, errstr_size, "%s: invalid value \"%s\" for option "
                 "\"%s\": must be %s from %ld to %ld", where, value, opt->name,
                 opt->type == MCPU_CONF_OPT_POW2 ? "a power of two"
                                                 : "an integer",
                 opt->min, opt->max);
        return MCPU_CONF_ERROR;
    }

    *n = v;
    return MCPU_CONF_OK;
}


/* strtod's syntax, the whole string; "nan" and "inf" are not numbers here */
static int
mcpu_conf_double(const mcpu_conf_option_t *opt, const char *value,
    const char *where, double *d, char *errstr, size_t errstr_size)
{
    char    *end;
    double   v;

    errno = 0;
    v = strtod(value, &end);

    if (value[0] == '\0' || *end != '\0' || errno == ERANGE || !isfinite(v)
        || v < opt->dmin || v > opt->dmax)
    {
        snprintf(errstr, errstr_size, "%s: invalid value \"%s\" for option "
                 "\"%s\": must be a number from %g to %g", where, value,
                 opt->name, opt->dmin, opt->dmax);
        return MCPU_CONF_ERROR;
    }

    *d = v;
    return MCPU_CONF_OK;
}


static int
mcpu_conf_topic_ok(const char *s)
{
    size_t  i, len;

    len = strlen(s);

    if (len == 0 || len > MCPU_CONF_TOPIC_MAX || strcmp(s, ".") == 0
        || strcmp(s, "..") == 0)
    {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_'
              || s[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * A comma-separated list of topic names, each once, or nothing.  On
 * failure bad holds the element at fault.
 */
static int
mcpu_conf_topics_ok(const char *s, char *bad, size_t bad_size)
{
    size_t       len;
    const char  *p, *end;

    for (p = s; *p != '\0'; p = *end ? end + 1 : end) {
        end = strchr(p, ',');
        if (end == NULL) {
            end = p + strlen(p);
        }

        len = (size_t) (end - p);
        snprintf(bad, bad_size, "%.*s", (int) len, p);

        if (len > MCPU_CONF_TOPIC_MAX || !mcpu_conf_topic_ok(bad)
            || mcpu_conf_listed(end[0] ? end + 1 : end, bad))
        {
            return 0;
        }

        if (*end == ',' && end[1] == '\0') {
            bad[0] = '\0';            /* "a,": an empty last name */
            return 0;
        }
    }

    return 1;
}


/* whether the comma-separated list holds name */
int
mcpu_conf_listed(const char *list, const char *name)
{
    size_t       len;
    const char  *p;

    len = strlen(name);

    for (p = list; *p != '\0'; p++) {
        if ((p == list || p[-1] == ',') && strncmp(p, name, len) == 0
            && (p[len] == ',' || p[len] == '\0'))
        {
            return 1;
        }
    }

    return 0;
}


/* options that may appear in the file: those with a value, except -c */
static const mcpu_conf_option_t *
mcpu_conf_find(const mcpu_conf_program_t *prog, const char *name)
{
    size_t                     i;
    const mcpu_conf_option_t  *opt;

    for (i = 0; i < prog->noptions; i++) {
        opt = &prog->options[i];

        if (opt->type != MCPU_CONF_OPT_ACTION
            && opt->type != MCPU_CONF_OPT_CONFIG
            && opt->type != MCPU_CONF_OPT_KAFKA
            && strcmp(opt->name, name) == 0)
        {
            return opt;
        }
    }

    return NULL;
}


/* the -c row, which holds the config file's path; NULL: none */
static const mcpu_conf_option_t *
mcpu_conf_config_row(const mcpu_conf_program_t *prog)
{
    size_t  i;

    for (i = 0; i < prog->noptions; i++) {
        if (prog->options[i].type == MCPU_CONF_OPT_CONFIG) {
            return &prog->options[i];
        }
    }

    return NULL;
}


/* the types whose field is a malloc()ed char * */
static int
mcpu_conf_is_text(int type)
{
    switch (type) {

    case MCPU_CONF_OPT_STR:
    case MCPU_CONF_OPT_PATH:
    case MCPU_CONF_OPT_TOPIC:
    case MCPU_CONF_OPT_TOPIC_OFF:
    case MCPU_CONF_OPT_TOPICS:
    case MCPU_CONF_OPT_CONFIG:
        return 1;

    default:
        return 0;
    }
}


static char *
mcpu_conf_trim(char *s)
{
    char  *e;

    while (*s == ' ' || *s == '\t') {
        s++;
    }

    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n'
                     || e[-1] == '\r'))
    {
        *--e = '\0';
    }

    return s;
}


static void
mcpu_conf_help(const mcpu_conf_program_t *prog)
{
    size_t                     i;
    char                       form[64];
    const mcpu_conf_option_t  *opt;

    printf("usage: %s [-c FILE] [options]\n\n%s\n\n", prog->name,
           prog->summary);

    for (i = 0; i < prog->noptions; i++) {
        opt = &prog->options[i];

        if (opt->type == MCPU_CONF_OPT_KAFKA) {
            printf("  -X %-31s librdkafka property (repeatable)\n",
                   opt->arg);
            continue;

        } else if (opt->letter && opt->arg != NULL) {
            snprintf(form, sizeof(form), "-%c, --%s %s", opt->letter,
                     opt->flag, opt->arg);

        } else if (opt->letter) {
            snprintf(form, sizeof(form), "-%c, --%s", opt->letter, opt->flag);

        } else if (opt->arg != NULL) {
            snprintf(form, sizeof(form), "    --%s %s", opt->flag, opt->arg);

        } else {
            snprintf(form, sizeof(form), "    --%s", opt->flag);
        }

        if (opt->deflt_doc != NULL) {
            printf("  %-34s default: %s\n", form, opt->deflt_doc);

        } else if (opt->deflt != NULL) {
            printf("  %-34s default: %s\n", form, opt->deflt);

        } else {
            printf("  %s\n", form);
        }
    }

    printf("\n%s", prog->epilogue);
}


/*
 * markdown for the README, one "###" section per row, in the shape of
 * nginx's directive docs: Syntax / Default / Context, text, example
 */
static void
mcpu_conf_list(const mcpu_conf_program_t *prog)
{
    int                        file;
    size_t                     i;
    const mcpu_conf_option_t  *opt;

    /* a program without -c FILE (mcpu-sim) has no `name = value` form */
    file = mcpu_conf_config_row(prog) != NULL;

    for (i = 0; i < prog->noptions; i++) {
        opt = &prog->options[i];

        printf("%s### %s\n\n", i ? "\n" : "", opt->name);

        switch (opt->type) {

        case MCPU_CONF_OPT_KAFKA:
            printf("    Syntax:  -X %s\n"
                   "             kafka.PROPERTY = VALUE\n", opt->arg);
            break;

        case MCPU_CONF_OPT_CONFIG:
            printf("    Syntax:  -c %s | --%s %s\n", opt->arg, opt->flag,
                   opt->arg);
            break;

        case MCPU_CONF_OPT_ACTION:
            if (opt->letter) {
                printf("    Syntax:  -%c | --%s\n", opt->letter, opt->flag);

            } else {
                printf("    Syntax:  --%s\n", opt->flag);
            }
            break;

        default:
            if (opt->letter) {
                printf("    Syntax:  -%c %s | --%s %s\n", opt->letter,
                       opt->arg, opt->flag, opt->arg);

            } else {
                printf("    Syntax:  --%s %s\n", opt->flag, opt->arg);
            }

            if (file) {
                printf("             %s = %s\n", opt->name, opt->arg);
            }
            break;
        }

        if (opt->deflt_doc != NULL) {
            printf("    Default: %s\n", opt->deflt_doc);

        } else if (opt->deflt != NULL) {
            printf("    Default: %s\n", opt->deflt);

        } else {
            printf("    Default: —\n");
        }

        printf("    Context: %s\n\n%s\n\n    %s\n",
               opt->type == MCPU_CONF_OPT_ACTION
               || opt->type == MCPU_CONF_OPT_CONFIG || !file
               ? "command line" : "command line, config file",
               opt->description, opt->example);
    }
}


static void
mcpu_conf_version(const mcpu_conf_program_t *prog)
{
    printf("%s %s (librdkafka %s)\n", prog->name, prog->version,
           rd_kafka_version_str());
}
