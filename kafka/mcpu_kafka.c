/*
 * mcpu-kafka: a small local Kafka for the demo and the tests.
 *
 * Debian 12 packages no Kafka broker, so this wraps librdkafka's mock
 * cluster (rdkafka_mock.h) in a process: it starts N mock brokers on
 * 127.0.0.1, creates the requested topics, publishes the bootstrap address
 * and then idles until SIGTERM/SIGINT.  An optional control FIFO lets tests
 * inject faults (broker down/up, RTT, request errors) at run time.
 *
 * Limits inherited from the librdkafka 2.0.2 mock: random ports only, about
 * 5 MiB / 100000 messages kept per partition (oldest dropped silently), no
 * compaction, group rebalances wait session.timeout.ms, the replication
 * factor passed to topic creation is ignored (replicas = min(3, brokers)),
 * and unknown topics are auto-created on Metadata requests (4 partitions).
 * Broker commands (down/up/rtt) are synchronous ops on the mock thread,
 * which has a wake-up race: one issued right after another can wait up to
 * 1 s (its poll timeout) before it is applied.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MCPU_KAFKA_PROG "mcpu-kafka"
#define MCPU_KAFKA_MAX_TOPICS 64
#define MCPU_KAFKA_MAX_PARTITIONS 1000
#define MCPU_KAFKA_MAX_BROKERS 32
#define MCPU_KAFKA_MAX_ERRCOUNT 100000
#define MCPU_KAFKA_TOPIC_NAME_MAX 249 /* Kafka's own limit */
#define MCPU_KAFKA_LINE_MAX 256

struct mcpu_kafka_topic {
    const char *name; /* points into argv, which outlives main's loop */
    int partitions;
};

struct mcpu_kafka_opts {
    int brokers;
    int replication; /* 0 = not given */
    const char *addr_file;
    const char *ctl_path;
    struct mcpu_kafka_topic topics[MCPU_KAFKA_MAX_TOPICS];
    int topic_cnt;
};

/* Control FIFO state; the read end is polled by the main loop. */
struct mcpu_kafka_ctl {
    int rfd;
    int wfd;
    char buf[MCPU_KAFKA_LINE_MAX];
    size_t len;
    int overlong; /* discarding the rest of a too-long line */
};

static volatile sig_atomic_t mcpu_kafka_stop;

static void mcpu_kafka_on_signal(int sig)
{
    (void)sig;
    mcpu_kafka_stop = 1;
}

static void mcpu_kafka_log(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void mcpu_kafka_log(const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    /* Format first so each event is a single write(): tests grep stderr
     * while librdkafka threads may log concurrently. */
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, MCPU_KAFKA_PROG ": %s\n", line);
}

static void mcpu_kafka_usage(FILE *out)
{
    fprintf(out,
            "usage: " MCPU_KAFKA_PROG " [-b BROKERS] [-t NAME:PARTITIONS]... "
            "[-f FILE] [-r REPLICATION] [-c CONTROL_FIFO] [-h]\n"
            "  -b BROKERS         number of mock brokers (1..%d, default 1)\n"
            "  -t NAME:PARTITIONS create topic NAME (partitions 1..%d); "
            "repeatable\n"
            "  -f FILE            also write the bootstrap address to FILE "
            "(atomically)\n"
            "  -r REPLICATION     replication factor (1..BROKERS)\n"
            "  -c CONTROL_FIFO    create a FIFO accepting: down ID | up ID | "
            "rtt ID MS | error APIKEY ERRCODE COUNT\n"
            "  -h                 show this help\n",
            MCPU_KAFKA_MAX_BROKERS, MCPU_KAFKA_MAX_PARTITIONS);
}

static void mcpu_kafka_bad_arg(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void mcpu_kafka_bad_arg(const char *fmt, ...)
{
    va_list ap;

    fputs(MCPU_KAFKA_PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    mcpu_kafka_usage(stderr);
    exit(2);
}

/* Strict decimal parse: the whole string must be a number in [lo, hi]. */
static int mcpu_kafka_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    if (*s == '\0')
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int mcpu_kafka_valid_topic_name(const char *name, size_t len)
{
    size_t i;

    if (len == 0 || len > MCPU_KAFKA_TOPIC_NAME_MAX)
        return 0;
    if ((len == 1 && name[0] == '.') ||
        (len == 2 && name[0] == '.' && name[1] == '.'))
        return 0;
    for (i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static void mcpu_kafka_add_topic(struct mcpu_kafka_opts *o, char *arg)
{
    char *colon = strrchr(arg, ':');
    long parts;
    int i;

    if (!colon)
        mcpu_kafka_bad_arg("-t '%s': missing ':PARTITIONS'", arg);
    if (mcpu_kafka_parse_long(colon + 1, 1, MCPU_KAFKA_MAX_PARTITIONS,
                              &parts) != 0)
        mcpu_kafka_bad_arg("-t '%s': partitions '%s' is not an integer "
                           "in 1..%d",
                           arg, colon + 1, MCPU_KAFKA_MAX_PARTITIONS);
    if (!mcpu_kafka_valid_topic_name(arg, (size_t)(colon - arg)))
        mcpu_kafka_bad_arg("-t '%s': invalid topic name (allowed: 1..%d of "
                           "[A-Za-z0-9._-])",
                           arg, MCPU_KAFKA_TOPIC_NAME_MAX);
    *colon = '\0'; /* argv is ours to modify; keeps NAME as a C string */
    for (i = 0; i < o->topic_cnt; i++)
        if (strcmp(o->topics[i].name, arg) == 0)
            mcpu_kafka_bad_arg("-t '%s': topic given twice", arg);
    if (o->topic_cnt == MCPU_KAFKA_MAX_TOPICS)
        mcpu_kafka_bad_arg("-t '%s': more than %d topics", arg,
                           MCPU_KAFKA_MAX_TOPICS);
    o->topics[o->topic_cnt].name = arg;
    o->topics[o->topic_cnt].partitions = (int)parts;
    o->topic_cnt++;
}

static void mcpu_kafka_parse_args(int argc, char **argv,
                                  struct mcpu_kafka_opts *o)
{
    long v;
    int c;

    memset(o, 0, sizeof(*o));
    o->brokers = 1;
    opterr = 0; /* we print our own one-line error naming the value */
    while ((c = getopt(argc, argv, ":b:t:f:r:c:h")) != -1) {
        switch (c) {
        case 'b':
            if (mcpu_kafka_parse_long(optarg, 1, MCPU_KAFKA_MAX_BROKERS, &v))
                mcpu_kafka_bad_arg("-b '%s': not an integer in 1..%d",
                                   optarg, MCPU_KAFKA_MAX_BROKERS);
            o->brokers = (int)v;
            break;
        case 't':
            mcpu_kafka_add_topic(o, optarg);
            break;
        case 'f':
            if (*optarg == '\0')
                mcpu_kafka_bad_arg("-f: empty file name");
            o->addr_file = optarg;
            break;
        case 'r':
            if (mcpu_kafka_parse_long(optarg, 1, MCPU_KAFKA_MAX_BROKERS, &v))
                mcpu_kafka_bad_arg("-r '%s': not an integer in 1..%d",
                                   optarg, MCPU_KAFKA_MAX_BROKERS);
            o->replication = (int)v;
            break;
        case 'c':
            if (*optarg == '\0')
                mcpu_kafka_bad_arg("-c: empty file name");
            o->ctl_path = optarg;
            break;
        case 'h':
            mcpu_kafka_usage(stdout);
            exit(0);
        case ':':
            mcpu_kafka_bad_arg("option '-%c' needs a value", optopt);
        default:
            mcpu_kafka_bad_arg("unknown option '-%c'", optopt);
        }
    }
    if (optind < argc)
        mcpu_kafka_bad_arg("unexpected argument '%s'", argv[optind]);
    /* Checked after the loop because -r may precede -b. */
    if (o->replication > o->brokers)
        mcpu_kafka_bad_arg("-r '%d': exceeds the number of brokers (%d)",
                           o->replication, o->brokers);
}

/* Route librdkafka's own logs through our one-line-per-event format. */
static void mcpu_kafka_rd_log(const rd_kafka_t *rk, int level, const char *fac,
                              const char *buf)
{
    (void)rk;
    mcpu_kafka_log("rdkafka[%d] %s: %s", level, fac, buf);
}

static rd_kafka_t *mcpu_kafka_new_handle(void)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;

    /* The handle only hosts the mock cluster and its threads; it never
     * produces, so no other configuration is needed. */
    rd_kafka_conf_set_log_cb(conf, mcpu_kafka_rd_log);
    /* Warnings and worse only: at the default level the host handle logs a
     * misleading "No bootstrap.servers configured" notice. */
    if (rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
        mcpu_kafka_log("cannot configure rdkafka handle: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        mcpu_kafka_log("cannot create rdkafka handle: %s", errstr);
        return NULL; /* rd_kafka_new frees conf only on success */
    }
    return rk;
}

static int mcpu_kafka_create_topics(rd_kafka_mock_cluster_t *mc,
                                    const struct mcpu_kafka_opts *o,
                                    int replication)
{
    int i;

    for (i = 0; i < o->topic_cnt; i++) {
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(
            mc, o->topics[i].name, o->topics[i].partitions, replication);
        if (err) {
            mcpu_kafka_log("cannot create topic %s(%d): %s",
                           o->topics[i].name, o->topics[i].partitions,
                           rd_kafka_err2str(err));
            return -1;
        }
    }
    return 0;
}

/* Write-then-rename so a reader polling for the file never sees a
 * partial address. */
static int mcpu_kafka_write_addr_file(const char *path, const char *addr)
{
    char tmp[PATH_MAX];
    FILE *f;
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);

    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        mcpu_kafka_log("address file path too long: %s", path);
        return -1;
    }
    f = fopen(tmp, "w");
    if (!f) {
        mcpu_kafka_log("cannot open %s: %s", tmp, strerror(errno));
        return -1;
    }
    if (fprintf(f, "%s\n", addr) < 0 || fflush(f) != 0 ||
        fsync(fileno(f)) != 0) {
        mcpu_kafka_log("cannot write %s: %s", tmp, strerror(errno));
        fclose(f);
        unlink(tmp);
        return -1;
    }
    if (fclose(f) != 0) {
        mcpu_kafka_log("cannot close %s: %s", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        mcpu_kafka_log("cannot rename %s to %s: %s", tmp, path,
                       strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int mcpu_kafka_ctl_open(struct mcpu_kafka_ctl *ctl, const char *path)
{
    struct stat st;

    ctl->rfd = ctl->wfd = -1;
    ctl->len = 0;
    ctl->overlong = 0;

    /* A FIFO left behind by a killed run is ours to replace; anything
     * else at that path is not, so refuse rather than delete it. */
    if (lstat(path, &st) == 0) {
        if (!S_ISFIFO(st.st_mode)) {
            mcpu_kafka_log("control path %s exists and is not a FIFO", path);
            return -1;
        }
        if (unlink(path) != 0) {
            mcpu_kafka_log("cannot remove stale FIFO %s: %s", path,
                           strerror(errno));
            return -1;
        }
    }
    if (mkfifo(path, 0600) != 0) {
        mcpu_kafka_log("cannot create FIFO %s: %s", path, strerror(errno));
        return -1;
    }
    ctl->rfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    /* Holding our own write end means the read end never reports EOF when
     * a client (e.g. `echo down 1 > FIFO`) closes, so poll() stays quiet
     * between commands instead of spinning on POLLHUP. */
    if (ctl->rfd >= 0)
        ctl->wfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (ctl->rfd < 0 || ctl->wfd < 0) {
        mcpu_kafka_log("cannot open FIFO %s: %s", path, strerror(errno));
        if (ctl->rfd >= 0)
            close(ctl->rfd);
        ctl->rfd = -1;
        unlink(path);
        return -1;
    }
    return 0;
}

static void mcpu_kafka_ctl_close(struct mcpu_kafka_ctl *ctl, const char *path)
{
    if (ctl->rfd >= 0)
        close(ctl->rfd);
    if (ctl->wfd >= 0)
        close(ctl->wfd);
    ctl->rfd = ctl->wfd = -1;
    if (unlink(path) != 0 && errno != ENOENT)
        mcpu_kafka_log("cannot remove FIFO %s: %s", path, strerror(errno));
}

/* Control lines carry a wall-clock timestamp so test logs can be lined up
 * with client-side events. */
static void mcpu_kafka_ctl_log(const char *line, const char *outcome)
{
    struct timespec ts;
    struct tm tm;
    char when[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    mcpu_kafka_log("%s.%03ldZ control '%s': %s", when, ts.tv_nsec / 1000000L,
                   line, outcome);
}

/* Splits LINE into at most MAX whitespace-separated words in place. */
static int mcpu_kafka_split(char *line, char **words, int max)
{
    int n = 0;
    char *save = NULL;
    char *w = strtok_r(line, " \t\r", &save);

    while (w) {
        if (n == max)
            return -1;
        words[n++] = w;
        w = strtok_r(NULL, " \t\r", &save);
    }
    return n;
}

/* Broker ids in the mock are 1..N; -1 addresses every broker at once. */
static int mcpu_kafka_parse_broker(const char *s, int brokers, int32_t *id)
{
    long v;

    if (mcpu_kafka_parse_long(s, -1, brokers, &v) != 0 || v == 0)
        return -1;
    *id = (int32_t)v;
    return 0;
}

/* Returns NULL when applied, else why the command was refused. */
static const char *mcpu_kafka_ctl_broker(rd_kafka_mock_cluster_t *mc,
                                         int brokers, char **w, int n)
{
    rd_kafka_resp_err_t err;
    int32_t id;
    long ms;

    if (n != (strcmp(w[0], "rtt") == 0 ? 3 : 2))
        return "wrong number of arguments";
    if (mcpu_kafka_parse_broker(w[1], brokers, &id) != 0)
        return "broker id must be 1..BROKERS or -1 for all";
    if (strcmp(w[0], "down") == 0) {
        err = rd_kafka_mock_broker_set_down(mc, id);
    } else if (strcmp(w[0], "up") == 0) {
        err = rd_kafka_mock_broker_set_up(mc, id);
    } else {
        if (mcpu_kafka_parse_long(w[2], 0, INT_MAX, &ms) != 0)
            return "MS must be a non-negative integer";
        err = rd_kafka_mock_broker_set_rtt(mc, id, (int)ms);
    }
    return err ? rd_kafka_err2str(err) : NULL;
}

static const char *mcpu_kafka_ctl_error(rd_kafka_mock_cluster_t *mc, char **w,
                                        int n)
{
    rd_kafka_resp_err_t *errs;
    long apikey, code, cnt, i;

    if (n != 4)
        return "wrong number of arguments";
    if (mcpu_kafka_parse_long(w[1], 0, INT16_MAX, &apikey) != 0)
        return "APIKEY must be 0..32767 (0=Produce, 1=Fetch, 3=Metadata)";
    /* Negative codes are librdkafka-local; -195 (_TRANSPORT) makes the
     * mock drop the connection, which is useful for tests. */
    if (mcpu_kafka_parse_long(w[2], RD_KAFKA_RESP_ERR__BEGIN + 1,
                              RD_KAFKA_RESP_ERR_END_ALL - 1, &code) != 0)
        return "ERRCODE is not a known Kafka/librdkafka error code";
    if (mcpu_kafka_parse_long(w[3], 1, MCPU_KAFKA_MAX_ERRCOUNT, &cnt) != 0)
        return "COUNT must be 1..100000";
    errs = malloc((size_t)cnt * sizeof(*errs));
    if (!errs)
        return "out of memory";
    for (i = 0; i < cnt; i++)
        errs[i] = (rd_kafka_resp_err_t)code;
    /* The _array variant is the va-arg one without its alloca, so a large
     * COUNT cannot overflow the stack. */
    rd_kafka_mock_push_request_errors_array(mc, (int16_t)apikey, (size_t)cnt,
                                            errs);
    free(errs);
    return NULL;
}

static void mcpu_kafka_ctl_apply(rd_kafka_mock_cluster_t *mc, int brokers,
                                 const char *line)
{
    char copy[MCPU_KAFKA_LINE_MAX];
    char msg[200];
    const char *why;
    char *w[5];
    int n;

    snprintf(copy, sizeof(copy), "%s", line);
    n = mcpu_kafka_split(copy, w, 5);
    if (n == 0)
        return; /* blank lines are harmless, e.g. a trailing "\n\n" */

    if (n < 0)
        why = "too many arguments";
    else if (strcmp(w[0], "down") == 0 || strcmp(w[0], "up") == 0 ||
             strcmp(w[0], "rtt") == 0)
        why = mcpu_kafka_ctl_broker(mc, brokers, w, n);
    else if (strcmp(w[0], "error") == 0)
        why = mcpu_kafka_ctl_error(mc, w, n);
    else
        why = "unknown command; expected: down ID | up ID | rtt ID MS | "
              "error APIKEY ERRCODE COUNT";

    if (why) {
        snprintf(msg, sizeof(msg), "refused (%s)", why);
        mcpu_kafka_ctl_log(line, msg);
    } else if (strcmp(w[0], "error") == 0) {
        snprintf(msg, sizeof(msg), "applied (%s x %s on ApiKey %s)", w[3],
                 rd_kafka_err2name((rd_kafka_resp_err_t)atoi(w[2])), w[1]);
        mcpu_kafka_ctl_log(line, msg);
    } else {
        mcpu_kafka_ctl_log(line, "applied");
    }
}

/* Drains whatever is readable and applies each complete line. */
static void mcpu_kafka_ctl_read(struct mcpu_kafka_ctl *ctl,
                                rd_kafka_mock_cluster_t *mc, int brokers)
{
    for (;;) {
        ssize_t r = read(ctl->rfd, ctl->buf + ctl->len,
                         sizeof(ctl->buf) - 1 - ctl->len);
        char *nl;

        if (r < 0) {
            if (errno != EAGAIN && errno != EINTR)
                mcpu_kafka_log("control read: %s", strerror(errno));
            return;
        }
        if (r == 0)
            return; /* cannot happen while we hold wfd; be safe anyway */
        ctl->len += (size_t)r;
        ctl->buf[ctl->len] = '\0';

        while ((nl = memchr(ctl->buf, '\n', ctl->len)) != NULL) {
            size_t used = (size_t)(nl - ctl->buf) + 1;

            *nl = '\0';
            if (ctl->overlong)
                ctl->overlong = 0; /* tail of a dropped line */
            else
                mcpu_kafka_ctl_apply(mc, brokers, ctl->buf);
            memmove(ctl->buf, ctl->buf + used, ctl->len - used);
            ctl->len -= used;
        }
        if (ctl->len == sizeof(ctl->buf) - 1) {
            if (!ctl->overlong)
                mcpu_kafka_ctl_log("...", "refused (line too long)");
            ctl->overlong = 1;
            ctl->len = 0;
        }
    }
}

static void mcpu_kafka_log_listening(const char *addr,
                                     const struct mcpu_kafka_opts *o)
{
    char topics[1024] = "none";
    size_t off = 0;
    int i;

    for (i = 0; i < o->topic_cnt && off < sizeof(topics); i++) {
        int n = snprintf(topics + off, sizeof(topics) - off, "%s%s(%d)",
                         i ? ", " : "", o->topics[i].name,
                         o->topics[i].partitions);
        if (n < 0)
            break;
        off += (size_t)n;
    }
    mcpu_kafka_log("listening on %s, topics: %s", addr, topics);
}

/* Publishes the address on stdout and, if asked, in the address file.
 * stdout failing (closed in CI) is fatal only when it is the sole channel. */
static int mcpu_kafka_publish(const char *addr, const char *addr_file)
{
    int out_ok = printf("%s\n", addr) >= 0 && fflush(stdout) == 0;

    if (!out_ok) {
        if (!addr_file) {
            mcpu_kafka_log("cannot write address to stdout: %s",
                           strerror(errno));
            return -1;
        }
        mcpu_kafka_log("cannot write address to stdout (%s); using %s only",
                       strerror(errno), addr_file);
    }
    if (addr_file && mcpu_kafka_write_addr_file(addr_file, addr) != 0)
        return -1;
    return 0;
}

/* Signals stay blocked except inside ppoll(), which makes the flag check
 * race-free and keeps librdkafka's threads (which inherit the mask) from
 * ever taking them. */
static int mcpu_kafka_setup_signals(sigset_t *wait_mask)
{
    struct sigaction sa;
    sigset_t block;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = mcpu_kafka_on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        return -1;
    /* A reader of our stdout going away must not kill the cluster. */
    signal(SIGPIPE, SIG_IGN);

    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    if (sigprocmask(SIG_BLOCK, &block, wait_mask) != 0)
        return -1;
    sigdelset(wait_mask, SIGTERM);
    sigdelset(wait_mask, SIGINT);
    return 0;
}

static void mcpu_kafka_run(rd_kafka_mock_cluster_t *mc, int brokers,
                           struct mcpu_kafka_ctl *ctl,
                           const sigset_t *wait_mask)
{
    struct pollfd pfd = {.fd = ctl ? ctl->rfd : -1, .events = POLLIN};

    while (!mcpu_kafka_stop) {
        int r = ppoll(&pfd, 1, NULL, wait_mask);

        if (r < 0) {
            if (errno == EINTR)
                continue;
            mcpu_kafka_log("ppoll: %s", strerror(errno));
            mcpu_kafka_stop = 1;
            break;
        }
        if (ctl && (pfd.revents & POLLIN))
            mcpu_kafka_ctl_read(ctl, mc, brokers);
    }
}

int main(int argc, char **argv)
{
    struct mcpu_kafka_opts opts;
    struct mcpu_kafka_ctl ctl;
    rd_kafka_mock_cluster_t *mc = NULL;
    rd_kafka_t *rk = NULL;
    sigset_t wait_mask;
    const char *addr;
    int effective_rf;
    int have_ctl = 0;
    int published = 0;
    int rc = 1;

    mcpu_kafka_parse_args(argc, argv, &opts);

    /* Before rd_kafka_new(), so its threads start with signals blocked. */
    if (mcpu_kafka_setup_signals(&wait_mask) != 0) {
        mcpu_kafka_log("cannot install signal handlers: %s", strerror(errno));
        return 1;
    }

    rk = mcpu_kafka_new_handle();
    if (!rk)
        return 1;
    mc = rd_kafka_mock_cluster_new(rk, opts.brokers);
    if (!mc) {
        mcpu_kafka_log("cannot start mock cluster with %d broker(s)",
                       opts.brokers);
        goto out;
    }

    /* The 2.0.2 mock ignores the factor given at topic creation and always
     * assigns min(3, brokers) replicas; say so rather than pretend. */
    effective_rf = opts.brokers < 3 ? opts.brokers : 3;
    if (opts.replication && opts.replication != effective_rf)
        mcpu_kafka_log("note: -r %d requested but the mock assigns %d "
                       "replica(s) per partition",
                       opts.replication, effective_rf);
    if (mcpu_kafka_create_topics(mc, &opts, opts.replication
                                                ? opts.replication
                                                : effective_rf) != 0)
        goto out;

    /* The FIFO must exist before the address is published: tests start
     * injecting faults as soon as they see the address. */
    if (opts.ctl_path) {
        if (mcpu_kafka_ctl_open(&ctl, opts.ctl_path) != 0)
            goto out;
        have_ctl = 1;
        mcpu_kafka_log("control FIFO at %s", opts.ctl_path);
    }

    addr = rd_kafka_mock_cluster_bootstraps(mc);
    mcpu_kafka_log_listening(addr, &opts);
    if (mcpu_kafka_publish(addr, opts.addr_file) != 0)
        goto out;
    published = 1;

    mcpu_kafka_run(mc, opts.brokers, have_ctl ? &ctl : NULL, &wait_mask);
    mcpu_kafka_log("shutting down");
    rc = 0;

out:
    if (have_ctl)
        mcpu_kafka_ctl_close(&ctl, opts.ctl_path);
    /* Only remove a file we wrote: it may belong to another instance. */
    if (published && opts.addr_file && unlink(opts.addr_file) != 0 && errno != ENOENT)
        mcpu_kafka_log("cannot remove %s: %s", opts.addr_file,
                       strerror(errno));
    if (mc)
        rd_kafka_mock_cluster_destroy(mc);
    if (rk)
        rd_kafka_destroy(rk);
    if (rc == 0)
        mcpu_kafka_log("stopped");
    return rc;
}
