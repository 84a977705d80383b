/*
 * mcpu_conf.h: the option engine of every mcpu program.  A program
 * describes its options as a table, one row per option (its name in the
 * file, its command-line form, its type, its default, its bounds, its
 * description and an example), and a struct the rows point into by offset.
 * The engine applies the defaults, reads the `name = value` file named by
 * -c, then the command line (which wins over the file), keeps kafka.* / -X
 * properties in order for librdkafka, and prints --help, --version and
 * --list-options (the README's option lists) from the same table, so the
 * documentation cannot drift from the code.
 *
 * A value that is not valid stops start-up with one line naming the option
 * and the value (and FILE:LINE for the file); nothing is corrected
 * silently.
 */

#ifndef MCPU_CONF_H
#define MCPU_CONF_H

#include <stddef.h>


/* outcomes of mcpu_conf_load() and of a program's derive callback */
#define MCPU_CONF_OK              0
#define MCPU_CONF_ERROR          -1
#define MCPU_CONF_DONE           -3   /* the command line asked for output
                                         only (--help, --version, ...) */

/* option types: what a row's value is and where it goes */
#define MCPU_CONF_OPT_STR         1   /* char *: any non-empty text */
#define MCPU_CONF_OPT_PATH        2   /* char *: a path; empty allowed if
                                         the default is "" */
#define MCPU_CONF_OPT_TOPIC       3   /* char *: a valid Kafka topic name */
#define MCPU_CONF_OPT_NUM         4   /* long: integer within [min, max] */
#define MCPU_CONF_OPT_POW2        5   /* long: NUM and a power of two */
#define MCPU_CONF_OPT_KAFKA       6   /* kafka.PROP = V / -X PROP=V, into
                                         the program's kafka array */
#define MCPU_CONF_OPT_CONFIG      7   /* char *: -c FILE, command line only */
#define MCPU_CONF_OPT_ACTION      8   /* command line only, no value: the
                                         rows named "help", "version",
                                         "list-options" and "test" */
#define MCPU_CONF_OPT_TOPIC_OFF   9   /* char *: a topic name, or empty */
#define MCPU_CONF_OPT_TOPICS     10   /* char *: topic,topic...; empty:
                                         none */
#define MCPU_CONF_OPT_DOUBLE     11   /* double: a finite number within
                                         [dmin, dmax] */

/* the offset of a row that stores nothing (KAFKA, ACTION) */
#define MCPU_CONF_OPT_NONE        ((size_t) -1)


/* one librdkafka property, passed to rd_kafka_conf_set() untouched */
typedef struct {
    char  *name;
    char  *value;
    char  *origin;               /* "FILE:LINE" or "-X", for messages */
} mcpu_conf_kafka_prop_t;


/* one option: a row of a program's table */
typedef struct {
    const char  *name;        /* in the file, and the README heading */
    const char  *flag;        /* long command-line option, without "--" */
    int          letter;      /* short command-line option, or 0 */
    int          type;        /* MCPU_CONF_OPT_* */
    const char  *arg;         /* what the value looks like: PATH, N, ... */
    const char  *deflt;       /* applied before the file; NULL: none */
    const char  *deflt_doc;   /* shown instead of deflt when set */
    long         min;         /* NUM, POW2 */
    long         max;
    double       dmin;        /* DOUBLE */
    double       dmax;
    size_t       offset;      /* into the program's conf struct */
    const char  *description;
    const char  *example;     /* a command line or file line using it */
} mcpu_conf_option_t;


/* a program: its table and where the engine's own fields are in its struct */
typedef struct {
    const char                *name;       /* "mcpu-batcher": --help,
                                              --version */
    const char                *version;
    const char                *summary;    /* --help: what it does, after
                                              the usage line */
    const char                *epilogue;   /* --help: after the options */
    const mcpu_conf_option_t  *options;
    size_t                     noptions;
    size_t                     size;       /* sizeof the conf struct */
    size_t                     kafka;      /* offsetof its
                                              mcpu_conf_kafka_prop_t * */
    size_t                     nkafka;     /* offsetof its size_t count */
    size_t                     test;       /* offsetof the int -t sets */

    /* what depends on several options, once all are read; NULL: nothing.
     * Returns MCPU_CONF_OK, or MCPU_CONF_ERROR with one line in errstr */
    int                      (*derive)(void *conf, char *errstr,
                                       size_t errstr_size);
} mcpu_conf_program_t;


/**
 * @brief Fills conf (zeroed first) from the defaults, then the file named
 *        by -c (the CONFIG row; the path is kept in its field), then the
 *        rest of the command line, which wins over the file; then calls
 *        prog->derive.  --help, --version and --list-options print their
 *        output to stdout.
 * @returns MCPU_CONF_OK; MCPU_CONF_DONE when an output-only option was
 *          handled; MCPU_CONF_ERROR with one line in errstr naming the
 *          option and the value (and FILE:LINE for the file).  conf is to
 *          be freed with mcpu_conf_free() in every case.
 * @locality main thread, at start-up (getopt_long's state is global).
 */
int mcpu_conf_load(const mcpu_conf_program_t *prog, void *conf, int argc,
    char **argv, char *errstr, size_t errstr_size);

/**
 * @brief Frees the strings of every row with text (the derive callback's
 *        too, when it filled a row's field with malloc()) and the kafka
 *        properties, then zeroes conf.  Accepts a half-filled conf.
 */
void mcpu_conf_free(const mcpu_conf_program_t *prog, void *conf);

/**
 * @brief Whether the comma-separated list (a TOPICS value) holds name, for
 *        a derive callback's checks across options.
 * @returns 1 or 0.
 */
int mcpu_conf_listed(const char *list, const char *name);


/*
 * The rows every program's table has, written once: -c, log_file and the
 * output-only actions.  prog is the program's name as a string literal;
 * offset is offsetof() its field.
 */
#define MCPU_CONF_ROW_CONFIG(prog, offset)                                  \
    { "config", "config", 'c', MCPU_CONF_OPT_CONFIG, "FILE", NULL,          \
      "none", 0, 0, 0, 0, offset,                                          \
      "Reads settings from FILE: one `name = value` per line, blank lines " \
      "and lines starting with `#` ignored, no quoting (the value is the "  \
      "rest of the line with the spaces around it removed).  An unknown "   \
      "name, a name given twice or a bad value stops start-up with "        \
      "FILE:LINE.  Options given on the command line override the file.",  \
      prog " -c /etc/mcpu/" prog ".conf" }

#define MCPU_CONF_ROW_LOG_FILE(prog, example_path, offset)                  \
    { "log_file", "log-file", 0, MCPU_CONF_OPT_PATH, "PATH", "",            \
      "none (stderr)", 0, 0, 0, 0, offset,                                 \
      "Appends the log to PATH instead of stderr; SIGHUP reopens it (after " \
      "logrotate).  One line per event: `2026-11-23T22:00:00.123Z "         \
      prog "[PID] LEVEL message`.",                                        \
      "log_file = " example_path }

#define MCPU_CONF_ROW_TEST(prog)                                            \
    { "test", "test", 't', MCPU_CONF_OPT_ACTION, NULL, NULL, NULL,          \
      0, 0, 0, 0, MCPU_CONF_OPT_NONE,                                      \
      "Checks the settings, including every Kafka property, prints "       \
      "\"configuration is ok\" and exits (0, or 2 with the refusal).",     \
      prog " -c /etc/mcpu/" prog ".conf -t" }

/* the output-only actions; a program whose -t does more writes its own
 * test row and uses this one */
#define MCPU_CONF_ROWS_OUTPUT(prog)                                         \
    { "list-options", "list-options", 0, MCPU_CONF_OPT_ACTION, NULL,        \
      NULL, NULL, 0, 0, 0, 0, MCPU_CONF_OPT_NONE,                          \
      "Prints this list (for the README) and exits.",                      \
      prog " --list-options" },                                            \
                                                                           \
    { "help", "help", 'h', MCPU_CONF_OPT_ACTION, NULL, NULL, NULL,          \
      0, 0, 0, 0, MCPU_CONF_OPT_NONE,                                      \
      "Prints a usage summary and exits.",                                 \
      prog " --help" },                                                    \
                                                                           \
    { "version", "version", 0, MCPU_CONF_OPT_ACTION, NULL, NULL, NULL,      \
      0, 0, 0, 0, MCPU_CONF_OPT_NONE,                                      \
      "Prints " prog "'s and librdkafka's versions and exits.",            \
      prog " --version" }

#define MCPU_CONF_ROWS_ACTIONS(prog)                                        \
    MCPU_CONF_ROW_TEST(prog),                                               \
    MCPU_CONF_ROWS_OUTPUT(prog)

#endif /* MCPU_CONF_H */
