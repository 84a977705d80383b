/*
 * mcpu-load: send numbered, unique telemetry events to the mcpu endpoint over
 * persistent HTTP/1.1 connections and record exactly which ones nginx
 * acknowledged (2xx), so that a test can then check that every acknowledged
 * event reached Kafka.
 *
 * One thread per connection; each takes the next event number from a shared
 * atomic counter. An event whose exchange fails (reset, refused, timeout,
 * malformed response) is counted under "errors" as unknown: the server may have
 * accepted it, so by default it is never sent again, and it is not in the
 * acked file. With --retry-errors N it is sent again up to N times (for tests
 * that break nginx on purpose and accept duplicates): it is acked only when
 * one of its attempts got a 2xx. Nothing but a 2xx ever puts an event in the
 * acked file.
 *
 * --rate spreads the events evenly over time (event i leaves no earlier than
 * i / RATE seconds after the start), --duration stops taking new events
 * after that many seconds. Each thread writes its acked lines to the file
 * with its first acknowledgement 100 ms after the previous write, and before
 * it waits for --rate, so a test can watch the file grow while the load runs.
 *
 * Build:
 *   cc -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE \
 *      -o build/mcpu-load tools/mcpu_load.c -lpthread
 *
 * Exit status: 0 when every event got a 2xx (with --duration: every event
 * sent before it ran out), 1 otherwise (also after SIGTERM or SIGINT, which
 * stop sending but still write the acked file and the summary), 2 on a usage
 * or set-up error.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>


#define MCPU_LOAD_RBUF_SIZE          16384  /* a status or header line must fit */
#define MCPU_LOAD_ACKBUF_SIZE        65536  /* per thread, written under a lock */
#define MCPU_LOAD_BODY_MAX           256    /* one event body */
#define MCPU_LOAD_REQ_RESERVE        512    /* Client-Id, Content-Length, body */
#define MCPU_LOAD_SNIPPET_MAX        200    /* response body kept for stderr */
#define MCPU_LOAD_LINE_MAX           120    /* status line kept for stderr */
#define MCPU_LOAD_REPORT_MAX         5      /* non-2xx / errors shown on stderr */
#define MCPU_LOAD_RETRY_WAIT_MAX_MS  50     /* cap on Retry-After: a test tool */
#define MCPU_LOAD_BACKOFF_MAX_MS     100
#define MCPU_LOAD_ACK_FLUSH_NS       (100 * 1000000ULL)  /* acked file lag */
#define MCPU_LOAD_MAX_CONNECTIONS    1024
#define MCPU_LOAD_MAX_EXTRA          64     /* headers besides the per-event */
#define MCPU_LOAD_DEFAULT_HEADERS    5      /* Host ... Os-Version */
#define MCPU_LOAD_VALUE_MAX          1024   /* one -H value */
#define MCPU_LOAD_PREFIX_MAX         64
/* SO_RCVTIMEO is re-set only when it is this far from the time left */
#define MCPU_LOAD_RCVTIMEO_SLACK_NS  (5 * 1000000ULL)

#define MCPU_LOAD_NS_PER_MS          1000000ULL
#define MCPU_LOAD_NS_PER_S           1000000000ULL


/* Outcome of one exchange on a connection; OK means "a response was read". */
enum mcpu_load_rc {
    MCPU_LOAD_OK = 0,
    MCPU_LOAD_ERR_CONNECT,
    MCPU_LOAD_ERR_SEND,
    MCPU_LOAD_ERR_RECV,
    MCPU_LOAD_ERR_EOF,
    MCPU_LOAD_ERR_TIMEOUT,
    MCPU_LOAD_ERR_PROTOCOL,
};

static const char *mcpu_load_rc_text[] = {
    [MCPU_LOAD_OK]           = "ok",
    [MCPU_LOAD_ERR_CONNECT]  = "connect failed",
    [MCPU_LOAD_ERR_SEND]     = "send failed",
    [MCPU_LOAD_ERR_RECV]     = "receive failed",
    [MCPU_LOAD_ERR_EOF]      = "connection closed before a complete response",
    [MCPU_LOAD_ERR_TIMEOUT]  = "response timed out",
    [MCPU_LOAD_ERR_PROTOCOL] = "malformed response",
};


/* A header sent with every request; value NULL means "do not send it". */
struct mcpu_load_header {
    const char  *name;
    const char  *value;
};

struct mcpu_load_conf {
    struct sockaddr_in       addr;
    char                    *hostport;      /* Host header value */
    char                    *path;
    uint64_t                 count;
    uint64_t                 start;
    uint64_t                 clients;
    unsigned                 connections;
    unsigned                 retry_503;
    unsigned                 retry_errors;
    uint64_t                 rate;          /* events/s, 0: unlimited */
    uint64_t                 duration_ns;   /* 0: until COUNT */
    const char              *acked_path;
    const char              *prefix;
    size_t                   prefix_len;
    uint64_t                 timeout_ns;

    /* -H 'Client-Id: x' sends x with every event; 'Client-Id:' sends none */
    const char              *client_id_fixed;
    bool                     client_id_omit;

    struct mcpu_load_header  extra[MCPU_LOAD_MAX_EXTRA];
    unsigned                 nextra;

    /* request line and every header that is the same for all events */
    char                    *head;
    size_t                   head_len;
};

/* One response, as much of it as the counters and stderr need. */
struct mcpu_load_resp {
    int       status;
    bool      close;            /* connection unusable after this response */
    bool      chunked;
    int64_t   content_length;   /* -1: not given */
    int64_t   retry_after_s;    /* -1: not given or not delta-seconds */
    size_t    line_len;
    char      line[MCPU_LOAD_LINE_MAX];
    size_t    snip_len;
    char      snip[MCPU_LOAD_SNIPPET_MAX];
};

/*
 * Per-thread state. Only its own thread touches it until main joins the
 * thread; main then reads the counters.
 */
struct mcpu_load_thread {
    pthread_t  tid;
    int        fd;              /* -1: not connected */
    int        err;             /* errno of the last failed call */
    unsigned   backoff_ms;
    uint64_t   rcvtimeo_ns;     /* SO_RCVTIMEO currently set on fd */

    uint64_t   sent;            /* events taken (retries not counted) */
    uint64_t   acked;
    uint64_t   refused;
    uint64_t   bad;
    uint64_t   errors;
    uint64_t   responses_503;   /* every 503 answer, retried ones too */
    uint64_t   bad_retry_after; /* 503s without a Retry-After >= 1 */
    uint64_t   error_retries;   /* attempts resent after a failed exchange */
    uint64_t   ack_flush_ns;    /* last write of ackbuf to the file */

    char      *req;             /* head_len + MCPU_LOAD_REQ_RESERVE */
    size_t     rpos;            /* rbuf[rpos, rlen) is received, unparsed */
    size_t     rlen;
    char       rbuf[MCPU_LOAD_RBUF_SIZE];
    size_t     acklen;
    char       ackbuf[MCPU_LOAD_ACKBUF_SIZE];
};


static void mcpu_load_usage(FILE *out);
static int mcpu_load_parse_u64(const char *s, uint64_t min, uint64_t max,
    uint64_t *out);
static int mcpu_load_parse_url(struct mcpu_load_conf *cf, const char *url);
static bool mcpu_load_is_tchar(char c);
static int mcpu_load_parse_header_opt(struct mcpu_load_conf *cf,
    char *arg);
static int mcpu_load_parse_args(struct mcpu_load_conf *cf, int argc,
    char **argv);
static int mcpu_load_build_head(struct mcpu_load_conf *cf);
static uint64_t mcpu_load_now_ns(clockid_t clock);
static void mcpu_load_sleep_ms(unsigned ms);
static void mcpu_load_sleep_ns(uint64_t ns);
static char *mcpu_load_put_u64(char *p, uint64_t v);
static char *mcpu_load_put(char *p, const char *s, size_t len);
static int mcpu_load_set_rcvtimeo(struct mcpu_load_thread *t, uint64_t ns);
static int mcpu_load_connect(struct mcpu_load_thread *t);
static void mcpu_load_disconnect(struct mcpu_load_thread *t);
static size_t mcpu_load_client_id(uint64_t n, char *buf);
static size_t mcpu_load_build_request(struct mcpu_load_thread *t, uint64_t n,
    const char *cid, size_t cid_len);
static int mcpu_load_send(struct mcpu_load_thread *t, size_t len);
static int mcpu_load_fill(struct mcpu_load_thread *t, uint64_t deadline);
static int mcpu_load_line(struct mcpu_load_thread *t, uint64_t deadline,
    char **line, size_t *len);
static void mcpu_load_keep(struct mcpu_load_resp *resp, const char *p,
    size_t len);
static int mcpu_load_consume(struct mcpu_load_thread *t,
    struct mcpu_load_resp *resp, uint64_t n, uint64_t deadline);
static int mcpu_load_parse_status(struct mcpu_load_resp *resp, char *line,
    size_t len);
static bool mcpu_load_has_token(const char *v, size_t len, const char *token);
static int mcpu_load_parse_field(struct mcpu_load_resp *resp, char *line,
    size_t len);
static int mcpu_load_read_head(struct mcpu_load_thread *t,
    struct mcpu_load_resp *resp, uint64_t deadline);
static int mcpu_load_parse_chunk_size(const char *line, size_t len,
    uint64_t *size);
static int mcpu_load_read_chunked(struct mcpu_load_thread *t,
    struct mcpu_load_resp *resp, uint64_t deadline);
static int mcpu_load_read_body(struct mcpu_load_thread *t,
    struct mcpu_load_resp *resp, uint64_t deadline);
static int mcpu_load_read_response(struct mcpu_load_thread *t,
    struct mcpu_load_resp *resp);
static int mcpu_load_exchange(struct mcpu_load_thread *t, uint64_t n,
    const char *cid, size_t cid_len, struct mcpu_load_resp *resp);
static void mcpu_load_ack(struct mcpu_load_thread *t, uint64_t n,
    const char *cid, size_t cid_len);
static void mcpu_load_ack_flush(struct mcpu_load_thread *t);
static void mcpu_load_report_status(uint64_t n,
    const struct mcpu_load_resp *resp);
static void mcpu_load_report_error(struct mcpu_load_thread *t, uint64_t n,
    int rc, bool resent);
static void mcpu_load_backoff(struct mcpu_load_thread *t);
static void mcpu_load_event(struct mcpu_load_thread *t, uint64_t n);
static void *mcpu_load_worker(void *arg);
static void mcpu_load_on_signal(int signo);
static struct mcpu_load_thread **mcpu_load_threads_create(void);
static void mcpu_load_threads_free(struct mcpu_load_thread **threads);
static void mcpu_load_run(struct mcpu_load_thread **threads,
    const sigset_t *sigs);
static int mcpu_load_summary(struct mcpu_load_thread **threads,
    uint64_t elapsed_ms);


static struct mcpu_load_conf  mcpu_load_conf;

/* CLOCK_MONOTONIC at the start, for --rate and --duration */
static uint64_t               mcpu_load_t0;
/* set when --duration ended the run */
static atomic_int             mcpu_load_timed_out;

/* Index (from 0) of the next event to send; START is added to it. */
static atomic_uint_fast64_t   mcpu_load_next;
/* Set by SIGTERM/SIGINT: take no new event, finish the one in flight. */
static atomic_int             mcpu_load_stop;
static atomic_uint            mcpu_load_reported_status;
static atomic_uint            mcpu_load_reported_errors;

/* The acked file: each thread writes whole buffers of whole lines under the
 * lock, so lines never interleave. */
static pthread_mutex_t        mcpu_load_ack_lock = PTHREAD_MUTEX_INITIALIZER;
static int                    mcpu_load_ack_fd = -1;
static atomic_int             mcpu_load_ack_failed;


static void
mcpu_load_usage(FILE *out)
{
    fprintf(out,
        "usage: mcpu-load -u http://IPV4:PORT/PATH -n COUNT [-c CONNECTIONS]"
        " [-k CLIENTS]\n"
        "                 [-s START] [-o ACKED_FILE] [-H 'Name: value']..."
        " [-t TIMEOUT_S]\n"
        "                 [--retry-503 N] [--retry-errors N] [--prefix STR]\n"
        "                 [--rate EVENTS_PER_S] [--duration S]\n"
        "\n"
        "  -u URL          http://127.0.0.1:8080/event (IPv4 address only)\n"
        "  -n COUNT        events to send, numbered START..START+COUNT-1\n"
        "  -c CONNECTIONS  keep-alive connections, one thread each"
        " (default 8)\n"
        "  -k CLIENTS      event n is sent as client <prefix>client-<n %% "
        "CLIENTS> (default 100)\n"
        "  -s START        first event number (default 0)\n"
        "  -o ACKED_FILE   truncated, then one '<prefix><n>\\t<client id>'"
        " line per 2xx\n"
        "  -H 'Name: v'    extra header; replaces a default header of the same"
        " name,\n"
        "                  'Name:' with no value drops it\n"
        "  -t TIMEOUT_S    per-response timeout in seconds (default 10)\n"
        "  --retry-503 N   resend an event refused with 503 up to N times\n"
        "  --retry-errors N  resend an event whose exchange failed (reset,"
        " timeout...)\n"
        "                  up to N times: it may then reach Kafka twice\n"
        "  --prefix STR    prefix of event ids and client ids (default none)\n"
        "  --rate N        at most N events per second, evenly spaced\n"
        "  --duration S    take no new event after S seconds\n"
        "\n"
        "Prints 'sent=N acked=N refused_503=N bad=N errors=N elapsed_ms=N"
        " rate=N/s\n"
        "responses_503=N bad_retry_after=N error_retries=N': refused_503 counts"
        " events\n"
        "given up after 503s, responses_503 every 503 answer, bad_retry_after"
        " the 503s\n"
        "without a Retry-After of at least 1 second.\n"
        "Exit 0 if every event sent got a 2xx (and all COUNT were sent, unless"
        " --duration\n"
        "ended the run), 1 otherwise, 2 on usage errors.\n");
}


/* Strict decimal: digits only, no sign, no spaces, within [min, max]. */
static int
mcpu_load_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t  v;

    if (*s == '\0') {
        return -1;
    }

    for (v = 0; *s; s++) {
        if (*s < '0' || *s > '9') {
            return -1;
        }

        if (v > (UINT64_MAX - (uint64_t) (*s - '0')) / 10) {
            return -1;
        }

        v = v * 10 + (uint64_t) (*s - '0');
    }

    if (v < min || v > max) {
        return -1;
    }

    *out = v;
    return 0;
}


/*
 * Accepts http://A.B.C.D[:PORT][/PATH] only: the tool talks to a local test
 * nginx, so there is no DNS, TLS or IPv6 to get wrong.
 */
static int
mcpu_load_parse_url(struct mcpu_load_conf *cf, const char *url)
{
    const char  *host, *slash, *colon, *p;
    char         addr[INET_ADDRSTRLEN], port[8];
    size_t       hostlen, addrlen;
    uint64_t     portnum;

    if (strncmp(url, "http://", 7) != 0) {
        fprintf(stderr, "mcpu-load: -u %s: only http:// URLs are supported\n",
            url);
        return -1;
    }

    host = url + 7;
    slash = strchr(host, '/');
    hostlen = slash ? (size_t) (slash - host) : strlen(host);
    colon = memchr(host, ':', hostlen);
    addrlen = colon ? (size_t) (colon - host) : hostlen;

    if (addrlen == 0 || addrlen >= sizeof(addr)) {
        goto bad_host;
    }

    memcpy(addr, host, addrlen);
    addr[addrlen] = '\0';

    /* inet_pton(AF_INET) takes exactly four decimal parts: no names, no
     * "[::1]", no "user@" */
    if (inet_pton(AF_INET, addr, &cf->addr.sin_addr) != 1) {
        goto bad_host;
    }

    portnum = 80;

    if (colon) {
        size_t  len = hostlen - addrlen - 1;

        if (len == 0 || len >= sizeof(port)) {
            goto bad_port;
        }

        memcpy(port, colon + 1, len);
        port[len] = '\0';

        if (mcpu_load_parse_u64(port, 1, 65535, &portnum) != 0) {
            goto bad_port;
        }
    }

    for (p = slash ? slash : ""; *p; p++) {
        if ((unsigned char) *p <= ' ' || *p == '#' || *p == 0x7f) {
            fprintf(stderr, "mcpu-load: -u %s: the path may not contain"
                " spaces, control characters or a fragment\n", url);
            return -1;
        }
    }

    cf->addr.sin_family = AF_INET;
    cf->addr.sin_port = htons((uint16_t) portnum);
    cf->hostport = strndup(host, hostlen);
    cf->path = strdup(slash ? slash : "/");

    if (cf->hostport == NULL || cf->path == NULL) {
        fprintf(stderr, "mcpu-load: out of memory\n");
        return -1;
    }

    return 0;

bad_host:

    fprintf(stderr, "mcpu-load: -u %s: the host must be an IPv4 address such"
        " as 127.0.0.1\n", url);
    return -1;

bad_port:

    fprintf(stderr, "mcpu-load: -u %s: the port must be 1..65535\n", url);
    return -1;
}


static bool
mcpu_load_is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}


/*
 * -H 'Name: value'. A name matching a default header replaces it, so a test
 * can send a bad Client-Os; an empty value drops the header (as in curl), so
 * a test can send none. Content-Length and Transfer-Encoding are ours.
 */
static int
mcpu_load_parse_header_opt(struct mcpu_load_conf *cf, char *arg)
{
    char    *colon, *value, *p;
    size_t   i;

    colon = strchr(arg, ':');

    if (colon == NULL || colon == arg) {
        fprintf(stderr, "mcpu-load: -H '%s': expected 'Name: value'\n", arg);
        return -1;
    }

    for (p = arg; p < colon; p++) {
        if (!mcpu_load_is_tchar(*p)) {
            fprintf(stderr, "mcpu-load: -H '%s': invalid header name\n", arg);
            return -1;
        }
    }

    *colon = '\0';
    value = colon + 1;
    value += strspn(value, " \t");

    for (p = value; *p; p++) {
        if ((unsigned char) *p < ' ' && *p != '\t') {
            fprintf(stderr, "mcpu-load: -H '%s': control character in the"
                " value\n", arg);
            return -1;
        }
    }

    if (strlen(value) > MCPU_LOAD_VALUE_MAX) {
        fprintf(stderr, "mcpu-load: -H %s: value longer than %d bytes\n",
            arg, MCPU_LOAD_VALUE_MAX);
        return -1;
    }

    if (strcasecmp(arg, "Content-Length") == 0
        || strcasecmp(arg, "Transfer-Encoding") == 0)
    {
        fprintf(stderr, "mcpu-load: -H %s: this header cannot be set\n", arg);
        return -1;
    }

    if (strcasecmp(arg, "Client-Id") == 0) {
        /* the client id is also the second column of the acked file */
        if (strchr(value, '\t') != NULL) {
            fprintf(stderr, "mcpu-load: -H Client-Id: tab in the value\n");
            return -1;
        }

        cf->client_id_omit = (*value == '\0');
        cf->client_id_fixed = *value ? value : NULL;
        return 0;
    }

    for (i = 0; i < cf->nextra; i++) {
        if (strcasecmp(cf->extra[i].name, arg) == 0) {
            cf->extra[i].value = *value ? value : NULL;
            return 0;
        }
    }

    cf->extra[cf->nextra].name = arg;
    cf->extra[cf->nextra].value = *value ? value : NULL;
    cf->nextra++;

    return 0;
}


static int
mcpu_load_parse_args(struct mcpu_load_conf *cf, int argc, char **argv)
{
    static const struct option  longopts[] = {
        { "retry-503", required_argument, NULL, 'R' },
        { "retry-errors", required_argument, NULL, 'E' },
        { "rate",      required_argument, NULL, 'r' },
        { "duration",  required_argument, NULL, 'D' },
        { "prefix",    required_argument, NULL, 'P' },
        { "help",      no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };

    const char  *url = NULL, *p;
    uint64_t     v;
    unsigned     nhopts = 0, i;
    double       timeout_s = 10.0, duration_s;
    char        *end, *hopts[MCPU_LOAD_MAX_EXTRA];
    int          c;
    bool         have_count = false;

    cf->connections = 8;
    cf->clients = 100;
    cf->prefix = "";

    while ((c = getopt_long(argc, argv, "u:n:c:k:s:o:H:t:h", longopts, NULL))
           != -1)
    {
        switch (c) {

        case 'u':
            url = optarg;
            break;

        case 'n':
            if (mcpu_load_parse_u64(optarg, 0, UINT64_MAX, &cf->count) != 0) {
                goto invalid;
            }
            have_count = true;
            break;

        case 'c':
            if (mcpu_load_parse_u64(optarg, 1, MCPU_LOAD_MAX_CONNECTIONS, &v)
                != 0)
            {
                goto invalid;
            }
            cf->connections = (unsigned) v;
            break;

        case 'k':
            if (mcpu_load_parse_u64(optarg, 1, UINT64_MAX, &cf->clients) != 0)
            {
                goto invalid;
            }
            break;

        case 's':
            if (mcpu_load_parse_u64(optarg, 0, UINT64_MAX, &cf->start) != 0) {
                goto invalid;
            }
            break;

        case 'o':
            cf->acked_path = optarg;
            break;

        case 'H':
            /* applied after the URL, which gives the default Host */
            if (nhopts == MCPU_LOAD_MAX_EXTRA - MCPU_LOAD_DEFAULT_HEADERS) {
                fprintf(stderr, "mcpu-load: too many -H options\n");
                return -1;
            }
            hopts[nhopts++] = optarg;
            break;

        case 't':
            errno = 0;
            timeout_s = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(timeout_s >= 0.001)
                || timeout_s > 86400)
            {
                goto invalid;
            }
            break;

        case 'R':
            if (mcpu_load_parse_u64(optarg, 0, 1000000, &v) != 0) {
                goto invalid;
            }
            cf->retry_503 = (unsigned) v;
            break;

        case 'E':
            if (mcpu_load_parse_u64(optarg, 0, 1000000, &v) != 0) {
                goto invalid;
            }
            cf->retry_errors = (unsigned) v;
            break;

        case 'r':
            if (mcpu_load_parse_u64(optarg, 1, 100000000, &cf->rate) != 0) {
                goto invalid;
            }
            break;

        case 'D':
            errno = 0;
            duration_s = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(duration_s >= 0.001)
                || duration_s > 31 * 86400)
            {
                goto invalid;
            }
            cf->duration_ns = (uint64_t) (duration_s * MCPU_LOAD_NS_PER_S);
            break;

        case 'P':
            cf->prefix = optarg;
            break;

        case 'h':
            mcpu_load_usage(stdout);
            exit(0);

        default:
            mcpu_load_usage(stderr);
            return -1;
        }
    }

    if (optind != argc || url == NULL || !have_count) {
        fprintf(stderr, "mcpu-load: %s\n", optind != argc
                ? "unexpected argument" : "-u and -n are required");
        mcpu_load_usage(stderr);
        return -1;
    }

    if (cf->count > 0 && cf->start > UINT64_MAX - (cf->count - 1)) {
        fprintf(stderr, "mcpu-load: START + COUNT overflows\n");
        return -1;
    }

    /* the prefix goes into a JSON string, a header and a TSV line as is */
    cf->prefix_len = strlen(cf->prefix);

    for (p = cf->prefix; *p; p++) {
        if ((unsigned char) *p <= ' ' || (unsigned char) *p >= 0x7f
            || *p == '"' || *p == '\\')
        {
            break;
        }
    }

    if (*p || cf->prefix_len > MCPU_LOAD_PREFIX_MAX) {
        fprintf(stderr, "mcpu-load: --prefix: at most %d printable ASCII"
            " characters, no space, '\"' or '\\'\n", MCPU_LOAD_PREFIX_MAX);
        return -1;
    }

    cf->timeout_ns = (uint64_t) (timeout_s * MCPU_LOAD_NS_PER_S);

    if (mcpu_load_parse_url(cf, url) != 0) {
        return -1;
    }

    /* the defaults, in the order they are sent; -H may replace or drop each */
    cf->extra[0] = (struct mcpu_load_header) { "Host", cf->hostport };
    cf->extra[1] = (struct mcpu_load_header)
                   { "Content-Type", "application/json" };
    cf->extra[2] = (struct mcpu_load_header) { "Client-Version", "6.04" };
    cf->extra[3] = (struct mcpu_load_header) { "Client-Os", "Windows" };
    cf->extra[4] = (struct mcpu_load_header) { "Os-Version", "10.0.19045" };
    cf->nextra = MCPU_LOAD_DEFAULT_HEADERS;

    for (i = 0; i < nhopts; i++) {
        if (mcpu_load_parse_header_opt(cf, hopts[i]) != 0) {
            return -1;
        }
    }

    return 0;

invalid:

    fprintf(stderr, "mcpu-load: %s: invalid value \"%s\"\n",
        c == 'R' ? "--retry-503" : c == 'E' ? "--retry-errors"
        : c == 'r' ? "--rate" : c == 'D' ? "--duration"
        : (char []) { '-', (char) c, '\0' }, optarg);
    return -1;
}


/* Request line and every header that does not change from event to event,
 * built once; each request appends Client-Id, Content-Length and the body. */
static int
mcpu_load_build_head(struct mcpu_load_conf *cf)
{
    size_t    len, i;
    char     *p;

    len = sizeof("POST  HTTP/1.1\r\n") + strlen(cf->path);

    for (i = 0; i < cf->nextra; i++) {
        if (cf->extra[i].value) {
            len += strlen(cf->extra[i].name) + strlen(cf->extra[i].value) + 4;
        }
    }

    cf->head = malloc(len);
    if (cf->head == NULL) {
        fprintf(stderr, "mcpu-load: out of memory\n");
        return -1;
    }

    p = cf->head;
    p += sprintf(p, "POST %s HTTP/1.1\r\n", cf->path);

    for (i = 0; i < cf->nextra; i++) {
        if (cf->extra[i].value) {
            p += sprintf(p, "%s: %s\r\n", cf->extra[i].name,
                         cf->extra[i].value);
        }
    }

    cf->head_len = (size_t) (p - cf->head);

    return 0;
}


static uint64_t
mcpu_load_now_ns(clockid_t clock)
{
    struct timespec  ts;

    clock_gettime(clock, &ts);

    return (uint64_t) ts.tv_sec * MCPU_LOAD_NS_PER_S + (uint64_t) ts.tv_nsec;
}


static void
mcpu_load_sleep_ms(unsigned ms)
{
    struct timespec  ts = { ms / 1000, (long) (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        /* the remainder is in ts */
    }
}


static void
mcpu_load_sleep_ns(uint64_t ns)
{
    struct timespec  ts = { (time_t) (ns / MCPU_LOAD_NS_PER_S),
                            (long) (ns % MCPU_LOAD_NS_PER_S) };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        /* the remainder is in ts */
    }
}


/* snprintf costs more than the rest of a request; numbers are all we need. */
static char *
mcpu_load_put_u64(char *p, uint64_t v)
{
    char    tmp[20];
    size_t  n = 0;

    do {
        tmp[n++] = (char) ('0' + v % 10);
        v /= 10;
    } while (v);

    while (n) {
        *p++ = tmp[--n];
    }

    return p;
}


static char *
mcpu_load_put(char *p, const char *s, size_t len)
{
    memcpy(p, s, len);
    return p + len;
}

#define mcpu_load_put_lit(p, s)  mcpu_load_put(p, s, sizeof(s) - 1)


/* SO_RCVTIMEO 0 would mean "forever", so at least 1 ms. */
static int
mcpu_load_set_rcvtimeo(struct mcpu_load_thread *t, uint64_t ns)
{
    struct timeval  tv;

    if (ns < MCPU_LOAD_NS_PER_MS) {
        ns = MCPU_LOAD_NS_PER_MS;
    }

    tv.tv_sec = (time_t) (ns / MCPU_LOAD_NS_PER_S);
    tv.tv_usec = (suseconds_t) (ns % MCPU_LOAD_NS_PER_S / 1000);

    if (setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
        t->err = errno;
        return -1;
    }

    t->rcvtimeo_ns = ns;
    return 0;
}


/*
 * Blocking socket with SO_SNDTIMEO/SO_RCVTIMEO: a request costs one send and
 * usually one read, with no poll in between. On Linux SO_SNDTIMEO also bounds
 * connect().
 */
static int
mcpu_load_connect(struct mcpu_load_thread *t)
{
    struct timeval  tv;
    int             one = 1;
    uint64_t        ns = mcpu_load_conf.timeout_ns;

    t->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (t->fd == -1) {
        t->err = errno;
        return MCPU_LOAD_ERR_CONNECT;
    }

    tv.tv_sec = (time_t) (ns / MCPU_LOAD_NS_PER_S);
    tv.tv_usec = (suseconds_t) (ns % MCPU_LOAD_NS_PER_S / 1000);

    if (setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0
        || setsockopt(t->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0
        || mcpu_load_set_rcvtimeo(t, ns) != 0
        || connect(t->fd, (struct sockaddr *) &mcpu_load_conf.addr,
                   sizeof(mcpu_load_conf.addr)) != 0)
    {
        t->err = errno;
        mcpu_load_disconnect(t);
        return MCPU_LOAD_ERR_CONNECT;
    }

    t->rpos = 0;
    t->rlen = 0;

    return MCPU_LOAD_OK;
}


static void
mcpu_load_disconnect(struct mcpu_load_thread *t)
{
    if (t->fd != -1) {
        close(t->fd);
        t->fd = -1;
    }

    t->rpos = 0;
    t->rlen = 0;
}


/* <prefix>client-<n % CLIENTS>, or the -H Client-Id value. buf holds
 * MCPU_LOAD_VALUE_MAX + 1 bytes. */
static size_t
mcpu_load_client_id(uint64_t n, char *buf)
{
    const struct mcpu_load_conf  *cf = &mcpu_load_conf;
    char                         *p;

    if (cf->client_id_omit) {
        return 0;
    }

    if (cf->client_id_fixed) {
        size_t  len = strlen(cf->client_id_fixed);

        memcpy(buf, cf->client_id_fixed, len);
        return len;
    }

    p = mcpu_load_put(buf, cf->prefix, cf->prefix_len);
    p = mcpu_load_put_lit(p, "client-");
    p = mcpu_load_put_u64(p, n % cf->clients);

    return (size_t) (p - buf);
}


static size_t
mcpu_load_build_request(struct mcpu_load_thread *t, uint64_t n,
    const char *cid, size_t cid_len)
{
    const struct mcpu_load_conf  *cf = &mcpu_load_conf;
    char                          body[MCPU_LOAD_BODY_MAX], *b, *p;
    size_t                        body_len;

    /* at most ~80 fixed bytes + 3 numbers of 20 digits + the prefix (64) */
    b = mcpu_load_put_lit(body,
        "{\"type\":\"FileTransferProgress\",\"time\":");
    b = mcpu_load_put_u64(b, mcpu_load_now_ns(CLOCK_REALTIME)
                             / MCPU_LOAD_NS_PER_MS);
    b = mcpu_load_put_lit(b, ",\"transferId\":\"t-");
    b = mcpu_load_put_u64(b, n);
    b = mcpu_load_put_lit(b, "\",\"n\":");
    b = mcpu_load_put_u64(b, n);
    b = mcpu_load_put_lit(b, ",\"id\":\"");
    b = mcpu_load_put(b, cf->prefix, cf->prefix_len);
    b = mcpu_load_put_u64(b, n);
    b = mcpu_load_put_lit(b, "\"}");
    body_len = (size_t) (b - body);

    p = mcpu_load_put(t->req, cf->head, cf->head_len);

    if (!cf->client_id_omit) {
        p = mcpu_load_put_lit(p, "Client-Id: ");
        p = mcpu_load_put(p, cid, cid_len);
        p = mcpu_load_put_lit(p, "\r\n");
    }

    p = mcpu_load_put_lit(p, "Content-Length: ");
    p = mcpu_load_put_u64(p, body_len);
    p = mcpu_load_put_lit(p, "\r\n\r\n");
    p = mcpu_load_put(p, body, body_len);

    return (size_t) (p - t->req);
}


/* One send() per request; MSG_NOSIGNAL so a reset is an error, not SIGPIPE. */
static int
mcpu_load_send(struct mcpu_load_thread *t, size_t len)
{
    const char  *p = t->req;
    ssize_t      n;

    while (len) {
        n = send(t->fd, p, len, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }

            t->err = errno;
            return (errno == EAGAIN || errno == EWOULDBLOCK)
                   ? MCPU_LOAD_ERR_TIMEOUT : MCPU_LOAD_ERR_SEND;
        }

        p += n;
        len -= (size_t) n;
    }

    return MCPU_LOAD_OK;
}


/*
 * Read more bytes into rbuf. SO_RCVTIMEO is kept at the full timeout and only
 * lowered to the time left when a response is slow, so the usual response
 * costs one read and no setsockopt.
 */
static int
mcpu_load_fill(struct mcpu_load_thread *t, uint64_t deadline)
{
    uint64_t  now, left;
    ssize_t   n;

    if (t->rpos > 0) {
        memmove(t->rbuf, t->rbuf + t->rpos, t->rlen - t->rpos);
        t->rlen -= t->rpos;
        t->rpos = 0;
    }

    if (t->rlen == sizeof(t->rbuf)) {
        return MCPU_LOAD_ERR_PROTOCOL;      /* a line longer than rbuf */
    }

    for (;;) {
        now = mcpu_load_now_ns(CLOCK_MONOTONIC);
        if (now >= deadline) {
            return MCPU_LOAD_ERR_TIMEOUT;
        }

        left = deadline - now;

        if ((t->rcvtimeo_ns > left + MCPU_LOAD_RCVTIMEO_SLACK_NS
             || t->rcvtimeo_ns + MCPU_LOAD_RCVTIMEO_SLACK_NS < left)
            && mcpu_load_set_rcvtimeo(t, left) != 0)
        {
            return MCPU_LOAD_ERR_RECV;
        }

        n = read(t->fd, t->rbuf + t->rlen, sizeof(t->rbuf) - t->rlen);

        if (n > 0) {
            t->rlen += (size_t) n;
            return MCPU_LOAD_OK;
        }

        if (n == 0) {
            return MCPU_LOAD_ERR_EOF;
        }

        if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
            t->err = errno;
            return MCPU_LOAD_ERR_RECV;
        }

        /* EAGAIN: SO_RCVTIMEO expired; the loop checks the deadline */
    }
}


/* Next line of the head or of chunked framing, without CRLF (bare LF too).
 * The line stays valid until the next fill. */
static int
mcpu_load_line(struct mcpu_load_thread *t, uint64_t deadline, char **line,
    size_t *len)
{
    char  *start, *lf;
    int    rc;

    for (;;) {
        start = t->rbuf + t->rpos;
        lf = memchr(start, '\n', t->rlen - t->rpos);

        if (lf) {
            break;
        }

        rc = mcpu_load_fill(t, deadline);
        if (rc != MCPU_LOAD_OK) {
            return rc;
        }
    }

    t->rpos = (size_t) (lf + 1 - t->rbuf);
    *line = start;
    *len = (size_t) (lf - start);

    if (*len && start[*len - 1] == '\r') {
        (*len)--;
    }

    return MCPU_LOAD_OK;
}


static void
mcpu_load_keep(struct mcpu_load_resp *resp, const char *p, size_t len)
{
    size_t  room = sizeof(resp->snip) - resp->snip_len;

    if (len > room) {
        len = room;
    }

    memcpy(resp->snip + resp->snip_len, p, len);
    resp->snip_len += len;
}


/* Skip n body bytes (or up to EOF when n is UINT64_MAX), keeping the first
 * ones for diagnosis. */
static int
mcpu_load_consume(struct mcpu_load_thread *t, struct mcpu_load_resp *resp,
    uint64_t n, uint64_t deadline)
{
    size_t  avail;
    int     rc;

    while (n) {
        avail = t->rlen - t->rpos;

        if (avail == 0) {
            rc = mcpu_load_fill(t, deadline);

            if (rc == MCPU_LOAD_ERR_EOF && n == UINT64_MAX) {
                return MCPU_LOAD_OK;
            }

            if (rc != MCPU_LOAD_OK) {
                return rc;
            }

            continue;
        }

        if (avail > n) {
            avail = (size_t) n;
        }

        mcpu_load_keep(resp, t->rbuf + t->rpos, avail);
        t->rpos += avail;

        if (n != UINT64_MAX) {
            n -= avail;
        }
    }

    return MCPU_LOAD_OK;
}


/* "HTTP/1.x SSS reason" */
static int
mcpu_load_parse_status(struct mcpu_load_resp *resp, char *line, size_t len)
{
    resp->line_len = len < sizeof(resp->line) ? len : sizeof(resp->line);
    memcpy(resp->line, line, resp->line_len);

    if (len < 12 || memcmp(line, "HTTP/1.", 7) != 0
        || (line[7] != '0' && line[7] != '1') || line[8] != ' '
        || line[9] < '1' || line[9] > '5'
        || line[10] < '0' || line[10] > '9'
        || line[11] < '0' || line[11] > '9'
        || (len > 12 && line[12] != ' '))
    {
        return MCPU_LOAD_ERR_PROTOCOL;
    }

    resp->status = (line[9] - '0') * 100 + (line[10] - '0') * 10
                   + (line[11] - '0');

    /* HTTP/1.0 closes unless the server says keep-alive */
    resp->close = (line[7] == '0');

    return MCPU_LOAD_OK;
}


static bool
mcpu_load_has_token(const char *v, size_t len, const char *token)
{
    size_t  tlen = strlen(token), i = 0, start;

    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) {
            i++;
        }

        start = i;

        while (i < len && v[i] != ',' && v[i] != ' ' && v[i] != '\t') {
            i++;
        }

        if (i - start == tlen && strncasecmp(v + start, token, tlen) == 0) {
            return true;
        }
    }

    return false;
}


/* Only the fields that frame the body or steer the client matter. */
static int
mcpu_load_parse_field(struct mcpu_load_resp *resp, char *line, size_t len)
{
    char      *colon, *v, num[24];
    size_t     nlen, vlen;
    uint64_t   u;

    colon = memchr(line, ':', len);
    if (colon == NULL || colon == line) {
        return MCPU_LOAD_ERR_PROTOCOL;
    }

    nlen = (size_t) (colon - line);
    v = colon + 1;
    vlen = len - nlen - 1;

    while (vlen && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }

    while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) {
        vlen--;
    }

#define mcpu_load_field_is(s) \
    (nlen == sizeof(s) - 1 && strncasecmp(line, s, nlen) == 0)

    if (mcpu_load_field_is("Content-Length")
        || mcpu_load_field_is("Retry-After"))
    {
        bool  ok = vlen > 0 && vlen < sizeof(num);

        if (ok) {
            memcpy(num, v, vlen);
            num[vlen] = '\0';
            ok = mcpu_load_parse_u64(num, 0, INT64_MAX, &u) == 0;
        }

        if (mcpu_load_field_is("Retry-After")) {
            /* an HTTP-date is legal; it just gets the capped wait */
            resp->retry_after_s = ok ? (int64_t) u : -1;

        } else if (!ok || (resp->content_length != -1
                           && resp->content_length != (int64_t) u))
        {
            return MCPU_LOAD_ERR_PROTOCOL;

        } else {
            resp->content_length = (int64_t) u;
        }

    } else if (mcpu_load_field_is("Transfer-Encoding")) {
        if (!mcpu_load_has_token(v, vlen, "chunked")) {
            return MCPU_LOAD_ERR_PROTOCOL;   /* we cannot find the body end */
        }

        resp->chunked = true;

    } else if (mcpu_load_field_is("Connection")) {
        if (mcpu_load_has_token(v, vlen, "close")) {
            resp->close = true;

        } else if (mcpu_load_has_token(v, vlen, "keep-alive")) {
            resp->close = false;
        }
    }

#undef mcpu_load_field_is

    return MCPU_LOAD_OK;
}


static int
mcpu_load_read_head(struct mcpu_load_thread *t, struct mcpu_load_resp *resp,
    uint64_t deadline)
{
    char    *line;
    size_t   len;
    int      rc;

    rc = mcpu_load_line(t, deadline, &line, &len);
    if (rc != MCPU_LOAD_OK) {
        return rc;
    }

    rc = mcpu_load_parse_status(resp, line, len);
    if (rc != MCPU_LOAD_OK) {
        return rc;
    }

    for (;;) {
        rc = mcpu_load_line(t, deadline, &line, &len);
        if (rc != MCPU_LOAD_OK) {
            return rc;
        }

        if (len == 0) {
            return MCPU_LOAD_OK;
        }

        rc = mcpu_load_parse_field(resp, line, len);
        if (rc != MCPU_LOAD_OK) {
            return rc;
        }
    }
}


/* "1a" or "1a;ext=x" or "1a  "; the line is not NUL-terminated. */
static int
mcpu_load_parse_chunk_size(const char *line, size_t len, uint64_t *size)
{
    size_t    i;
    uint64_t  v = 0;
    int       d;

    for (i = 0; i < len; i++) {
        char  c = line[i];

        if (c >= '0' && c <= '9') {
            d = c - '0';
        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            d = (c | 0x20) - 'a' + 10;
        } else {
            break;
        }

        if (v >> 60) {
            return MCPU_LOAD_ERR_PROTOCOL;      /* would overflow */
        }

        v = v << 4 | (uint64_t) d;
    }

    if (i == 0 || (i < len && line[i] != ';' && line[i] != ' '
                   && line[i] != '\t'))
    {
        return MCPU_LOAD_ERR_PROTOCOL;
    }

    *size = v;
    return MCPU_LOAD_OK;
}


static int
mcpu_load_read_chunked(struct mcpu_load_thread *t,
    struct mcpu_load_resp *resp, uint64_t deadline)
{
    char      *line;
    size_t     len;
    uint64_t   size;
    int        rc;

    for (;;) {
        rc = mcpu_load_line(t, deadline, &line, &len);
        if (rc != MCPU_LOAD_OK) {
            return rc;
        }

        rc = mcpu_load_parse_chunk_size(line, len, &size);
        if (rc != MCPU_LOAD_OK) {
            return rc;
        }

        if (size == 0) {
            break;
        }

        rc = mcpu_load_consume(t, resp, size, deadline);
        if (rc != MCPU_LOAD_OK) {
            return rc;
        }

        rc = mcpu_load_line(t, deadline, &line, &len);
        if (rc != MCPU_LOAD_OK) {
            return rc;
        }

        if (len != 0) {
            return MCPU_LOAD_ERR_PROTOCOL;
        }
    }

    /* trailer fields up to the empty line */
    do {
        rc = mcpu_load_line(t, deadline, &line, &len);
        if (rc != MCPU_LOAD_OK) {
            return rc;
        }
    } while (len != 0);

    return MCPU_LOAD_OK;
}


static int
mcpu_load_read_body(struct mcpu_load_thread *t, struct mcpu_load_resp *resp,
    uint64_t deadline)
{
    if (resp->status < 200 || resp->status == 204 || resp->status == 304) {
        return MCPU_LOAD_OK;
    }

    if (resp->chunked) {
        return mcpu_load_read_chunked(t, resp, deadline);
    }

    if (resp->content_length >= 0) {
        return mcpu_load_consume(t, resp, (uint64_t) resp->content_length,
                                 deadline);
    }

    /* no framing: the body ends when the server closes */
    resp->close = true;

    return mcpu_load_consume(t, resp, UINT64_MAX, deadline);
}


/* Read one final response; interim 1xx responses are skipped. */
static int
mcpu_load_read_response(struct mcpu_load_thread *t,
    struct mcpu_load_resp *resp)
{
    uint64_t  deadline;
    int       rc;

    deadline = mcpu_load_now_ns(CLOCK_MONOTONIC) + mcpu_load_conf.timeout_ns;

    do {
        resp->status = 0;
        resp->close = false;
        resp->chunked = false;
        resp->content_length = -1;
        resp->retry_after_s = -1;
        resp->line_len = 0;
        resp->snip_len = 0;

        rc = mcpu_load_read_head(t, resp, deadline);
        if (rc != MCPU_LOAD_OK) {
            return rc;
        }

        rc = mcpu_load_read_body(t, resp, deadline);
        if (rc != MCPU_LOAD_OK) {
            return rc;
        }

    } while (resp->status < 200);

    /* we never pipeline, so anything left over means the stream is out of
     * step: use the response, but not the connection */
    if (t->rpos != t->rlen) {
        resp->close = true;
    }

    return MCPU_LOAD_OK;
}


static int
mcpu_load_exchange(struct mcpu_load_thread *t, uint64_t n, const char *cid,
    size_t cid_len, struct mcpu_load_resp *resp)
{
    size_t  len;
    int     rc;

    if (t->fd == -1) {
        rc = mcpu_load_connect(t);
        if (rc != MCPU_LOAD_OK) {
            return rc;
        }
    }

    len = mcpu_load_build_request(t, n, cid, cid_len);

    rc = mcpu_load_send(t, len);
    if (rc != MCPU_LOAD_OK) {
        return rc;
    }

    return mcpu_load_read_response(t, resp);
}


static void
mcpu_load_ack(struct mcpu_load_thread *t, uint64_t n, const char *cid,
    size_t cid_len)
{
    const struct mcpu_load_conf  *cf = &mcpu_load_conf;
    char                         *p;

    t->acked++;

    if (mcpu_load_ack_fd == -1) {
        return;
    }

    /* prefix, 20 digits, tab, the client id, newline */
    if (sizeof(t->ackbuf) - t->acklen
        < cf->prefix_len + 22 + cid_len)
    {
        mcpu_load_ack_flush(t);
    }

    p = t->ackbuf + t->acklen;
    p = mcpu_load_put(p, cf->prefix, cf->prefix_len);
    p = mcpu_load_put_u64(p, n);
    *p++ = '\t';
    p = mcpu_load_put(p, cid, cid_len);
    *p++ = '\n';
    t->acklen = (size_t) (p - t->ackbuf);

    /* a test watching the file's growth sees it at most 100 ms late */
    if (mcpu_load_now_ns(CLOCK_MONOTONIC) - t->ack_flush_ns
        >= MCPU_LOAD_ACK_FLUSH_NS)
    {
        mcpu_load_ack_flush(t);
    }
}


/* Whole lines, one thread at a time: the file never has torn lines. */
static void
mcpu_load_ack_flush(struct mcpu_load_thread *t)
{
    const char  *p = t->ackbuf;
    size_t       len = t->acklen;
    ssize_t      n;

    if (len == 0 || mcpu_load_ack_fd == -1) {
        return;
    }

    pthread_mutex_lock(&mcpu_load_ack_lock);

    while (len) {
        n = write(mcpu_load_ack_fd, p, len);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }

            if (atomic_exchange(&mcpu_load_ack_failed, 1) == 0) {
                fprintf(stderr, "mcpu-load: write to %s: %s\n",
                    mcpu_load_conf.acked_path, strerror(errno));
            }

            break;
        }

        p += n;
        len -= (size_t) n;
    }

    pthread_mutex_unlock(&mcpu_load_ack_lock);

    t->acklen = 0;
    t->ack_flush_ns = mcpu_load_now_ns(CLOCK_MONOTONIC);
}


/* One write(2) per message, so lines from threads do not mix on stderr. */
static void
mcpu_load_report_status(uint64_t n, const struct mcpu_load_resp *resp)
{
    char    msg[512], body[MCPU_LOAD_SNIPPET_MAX];
    size_t  i;
    int     len;

    if (atomic_fetch_add(&mcpu_load_reported_status, 1)
        >= MCPU_LOAD_REPORT_MAX)
    {
        return;
    }

    for (i = 0; i < resp->snip_len; i++) {
        unsigned char  c = (unsigned char) resp->snip[i];

        body[i] = (c < ' ' || c >= 0x7f) ? '.' : (char) c;
    }

    len = snprintf(msg, sizeof(msg), "mcpu-load: event %s%" PRIu64
                   ": \"%.*s\" body: %.*s\n", mcpu_load_conf.prefix, n,
                   (int) resp->line_len, resp->line, (int) resp->snip_len,
                   body);

    if (len > 0) {
        (void) !write(STDERR_FILENO, msg,
                      (size_t) len < sizeof(msg) ? (size_t) len
                                                 : sizeof(msg) - 1);
    }
}


static void
mcpu_load_report_error(struct mcpu_load_thread *t, uint64_t n, int rc,
    bool resent)
{
    char  msg[256];
    int   len;

    if (atomic_fetch_add(&mcpu_load_reported_errors, 1)
        >= MCPU_LOAD_REPORT_MAX)
    {
        return;
    }

    if (rc == MCPU_LOAD_ERR_CONNECT || rc == MCPU_LOAD_ERR_SEND
        || rc == MCPU_LOAD_ERR_RECV)
    {
        len = snprintf(msg, sizeof(msg), "mcpu-load: event %s%" PRIu64
                       ": %s: %s (unknown, %s)\n",
                       mcpu_load_conf.prefix, n, mcpu_load_rc_text[rc],
                       strerror(t->err), resent ? "resent" : "not resent");
    } else {
        len = snprintf(msg, sizeof(msg), "mcpu-load: event %s%" PRIu64
                       ": %s (unknown, %s)\n",
                       mcpu_load_conf.prefix, n, mcpu_load_rc_text[rc],
                       resent ? "resent" : "not resent");
    }

    if (len > 0) {
        (void) !write(STDERR_FILENO, msg,
                      (size_t) len < sizeof(msg) ? (size_t) len
                                                 : sizeof(msg) - 1);
    }
}


/* 1, 2, 4 ... 100 ms between reconnects; reset by any response. */
static void
mcpu_load_backoff(struct mcpu_load_thread *t)
{
    t->backoff_ms = t->backoff_ms ? t->backoff_ms * 2 : 1;

    if (t->backoff_ms > MCPU_LOAD_BACKOFF_MAX_MS) {
        t->backoff_ms = MCPU_LOAD_BACKOFF_MAX_MS;
    }

    mcpu_load_sleep_ms(t->backoff_ms);
}


/*
 * Send event n and count its outcome exactly once. A 503 may be resent (the
 * server said it did not take it); after a failed exchange the server may
 * hold the event, so it is resent only with --retry-errors (a duplicate is
 * then possible, a loss never: only a 2xx acks it).
 */
static void
mcpu_load_event(struct mcpu_load_thread *t, uint64_t n)
{
    struct mcpu_load_resp  resp;
    unsigned               attempt, failed;
    uint64_t               wait_ms;
    size_t                 cid_len;
    char                   cid[MCPU_LOAD_VALUE_MAX + 1];
    bool                   resend;
    int                    rc;

    cid_len = mcpu_load_client_id(n, cid);
    t->sent++;
    failed = 0;

    for (attempt = 0; /* void */; attempt++) {
        rc = mcpu_load_exchange(t, n, cid, cid_len, &resp);

        if (rc != MCPU_LOAD_OK) {
            resend = failed < mcpu_load_conf.retry_errors
                     && !atomic_load_explicit(&mcpu_load_stop,
                                              memory_order_relaxed);
            mcpu_load_report_error(t, n, rc, resend);
            mcpu_load_disconnect(t);
            mcpu_load_backoff(t);

            if (resend) {
                failed++;
                t->error_retries++;
                continue;
            }

            t->errors++;
            return;
        }

        t->backoff_ms = 0;

        if (resp.close) {
            mcpu_load_disconnect(t);
        }

        if (resp.status >= 200 && resp.status < 300) {
            mcpu_load_ack(t, n, cid, cid_len);
            return;
        }

        if (resp.status == 503) {
            t->responses_503++;

            if (resp.retry_after_s < 1) {
                t->bad_retry_after++;
            }
        }

        if (resp.status != 503
            || attempt - failed >= mcpu_load_conf.retry_503
            || atomic_load_explicit(&mcpu_load_stop, memory_order_relaxed))
        {
            break;
        }

        /* honour Retry-After up to 50 ms: a test wants throughput */
        wait_ms = resp.retry_after_s >= 0
                  ? (uint64_t) resp.retry_after_s * 1000
                  : MCPU_LOAD_RETRY_WAIT_MAX_MS;

        if (wait_ms > MCPU_LOAD_RETRY_WAIT_MAX_MS) {
            wait_ms = MCPU_LOAD_RETRY_WAIT_MAX_MS;
        }

        mcpu_load_sleep_ms((unsigned) wait_ms);
    }

    if (resp.status == 503) {
        t->refused++;
    } else {
        t->bad++;
    }

    mcpu_load_report_status(n, &resp);
}


static void *
mcpu_load_worker(void *arg)
{
    const struct mcpu_load_conf  *cf = &mcpu_load_conf;
    struct mcpu_load_thread      *t = arg;
    uint64_t                      i, now, due;

    while (!atomic_load_explicit(&mcpu_load_stop, memory_order_relaxed)) {
        if (cf->duration_ns
            && mcpu_load_now_ns(CLOCK_MONOTONIC) - mcpu_load_t0
               >= cf->duration_ns)
        {
            atomic_store(&mcpu_load_timed_out, 1);
            break;
        }

        i = atomic_fetch_add_explicit(&mcpu_load_next, 1,
                                      memory_order_relaxed);
        if (i >= cf->count) {
            break;
        }

        if (cf->rate) {
            /* event i is due i / RATE seconds after the start */
            due = mcpu_load_t0 + (uint64_t) ((double) i * MCPU_LOAD_NS_PER_S
                                             / (double) cf->rate);
            now = mcpu_load_now_ns(CLOCK_MONOTONIC);

            if (due > now) {
                if (t->acklen) {
                    mcpu_load_ack_flush(t);   /* idle anyway */
                }

                mcpu_load_sleep_ns(due - now);
            }
        }

        mcpu_load_event(t, cf->start + i);
    }

    mcpu_load_ack_flush(t);
    mcpu_load_disconnect(t);

    return NULL;
}


/* Runs in the main thread only: workers block these signals, so a blocking
 * read in flight is never cut short. */
static void
mcpu_load_on_signal(int signo)
{
    (void) signo;
    atomic_store(&mcpu_load_stop, 1);
}


/* Allocate every thread's state and connect it: a server that is not there
 * is a set-up error, not COUNT "unknown" events spread over minutes of
 * backoff. */
static struct mcpu_load_thread **
mcpu_load_threads_create(void)
{
    const struct mcpu_load_conf  *cf = &mcpu_load_conf;
    struct mcpu_load_thread     **threads;
    unsigned                      i;

    threads = calloc(cf->connections, sizeof(threads[0]));
    if (threads == NULL) {
        fprintf(stderr, "mcpu-load: out of memory\n");
        return NULL;
    }

    for (i = 0; i < cf->connections; i++) {
        threads[i] = calloc(1, sizeof(*threads[i]));
        if (threads[i] == NULL) {
            fprintf(stderr, "mcpu-load: out of memory\n");
            goto failed;
        }

        threads[i]->fd = -1;
        threads[i]->req = malloc(cf->head_len + MCPU_LOAD_REQ_RESERVE);
        if (threads[i]->req == NULL) {
            fprintf(stderr, "mcpu-load: out of memory\n");
            goto failed;
        }

        if (cf->count > 0 && mcpu_load_connect(threads[i]) != MCPU_LOAD_OK) {
            fprintf(stderr, "mcpu-load: connect to %s: %s\n", cf->hostport,
                strerror(threads[i]->err));
            goto failed;
        }
    }

    return threads;

failed:

    mcpu_load_threads_free(threads);
    return NULL;
}


/* Accepts a half-built array (NULL entries, NULL req, fd -1). */
static void
mcpu_load_threads_free(struct mcpu_load_thread **threads)
{
    unsigned  i;

    for (i = 0; i < mcpu_load_conf.connections; i++) {
        if (threads[i]) {
            mcpu_load_disconnect(threads[i]);
            free(threads[i]->req);
            free(threads[i]);
        }
    }

    free(threads);
}


/* Start one worker per connection and wait for all of them. SIGTERM/SIGINT
 * are blocked in the workers (they inherit the mask) and handled here, where
 * they only set mcpu_load_stop. */
static void
mcpu_load_run(struct mcpu_load_thread **threads, const sigset_t *sigs)
{
    unsigned  i, started;
    int       err;

    for (started = 0; started < mcpu_load_conf.connections; started++) {
        err = pthread_create(&threads[started]->tid, NULL, mcpu_load_worker,
                             threads[started]);
        if (err != 0) {
            fprintf(stderr, "mcpu-load: pthread_create: %s\n", strerror(err));
            atomic_store(&mcpu_load_stop, 1);
            break;
        }
    }

    pthread_sigmask(SIG_UNBLOCK, sigs, NULL);

    for (i = 0; i < started; i++) {
        pthread_join(threads[i]->tid, NULL);
    }

    pthread_sigmask(SIG_BLOCK, sigs, NULL);
}


/* The one stdout line; returns the exit status. */
static int
mcpu_load_summary(struct mcpu_load_thread **threads, uint64_t elapsed_ms)
{
    const struct mcpu_load_conf  *cf = &mcpu_load_conf;
    uint64_t                      sent, acked, refused, bad, errors;
    uint64_t                      r503, bad_ra, eretries;
    unsigned                      i;
    int                           rc;

    sent = acked = refused = bad = errors = 0;
    r503 = bad_ra = eretries = 0;

    for (i = 0; threads && i < cf->connections; i++) {
        sent += threads[i]->sent;
        acked += threads[i]->acked;
        refused += threads[i]->refused;
        bad += threads[i]->bad;
        errors += threads[i]->errors;
        r503 += threads[i]->responses_503;
        bad_ra += threads[i]->bad_retry_after;
        eretries += threads[i]->error_retries;
    }

    /* --duration ends a run early without failing it */
    rc = (threads && acked == sent
          && (sent == cf->count || atomic_load(&mcpu_load_timed_out)))
         ? 0 : 1;

    if (atomic_load(&mcpu_load_ack_failed)) {
        rc = 1;
    }

    if (atomic_load(&mcpu_load_stop)) {
        fprintf(stderr, "mcpu-load: stopped by a signal after %" PRIu64
            " of %" PRIu64 " events\n", sent, cf->count);
    }

    printf("sent=%" PRIu64 " acked=%" PRIu64 " refused_503=%" PRIu64
           " bad=%" PRIu64 " errors=%" PRIu64 " elapsed_ms=%" PRIu64
           " rate=%" PRIu64 "/s responses_503=%" PRIu64 " bad_retry_after=%"
           PRIu64 " error_retries=%" PRIu64 "\n", sent, acked, refused, bad,
           errors, elapsed_ms, sent * 1000 / (elapsed_ms ? elapsed_ms : 1),
           r503, bad_ra, eretries);

    if (fflush(stdout) != 0) {
        rc = 1;
    }

    return rc;
}


int
main(int argc, char **argv)
{
    struct mcpu_load_conf     *cf = &mcpu_load_conf;
    struct mcpu_load_thread  **threads;
    struct sigaction           sa;
    sigset_t                   sigs;
    uint64_t                   t0, elapsed_ms;
    int                        rc;

    if (mcpu_load_parse_args(cf, argc, argv) != 0
        || mcpu_load_build_head(cf) != 0)
    {
        return 2;
    }

    /* blocked until the workers run, so they inherit the mask; a signal
     * that arrives earlier stays pending and stops the run at once */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = mcpu_load_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    if (cf->acked_path) {
        mcpu_load_ack_fd = open(cf->acked_path,
                                O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                                0644);
        if (mcpu_load_ack_fd == -1) {
            fprintf(stderr, "mcpu-load: open %s: %s\n", cf->acked_path,
                strerror(errno));
            return 2;
        }
    }

    t0 = mcpu_load_now_ns(CLOCK_MONOTONIC);
    mcpu_load_t0 = t0;

    threads = mcpu_load_threads_create();
    if (threads) {
        mcpu_load_run(threads, &sigs);
    }

    elapsed_ms = (mcpu_load_now_ns(CLOCK_MONOTONIC) - t0)
                 / MCPU_LOAD_NS_PER_MS;

    /* every worker has flushed its acked lines before it returned */
    if (mcpu_load_ack_fd != -1 && close(mcpu_load_ack_fd) != 0) {
        fprintf(stderr, "mcpu-load: close %s: %s\n", cf->acked_path,
            strerror(errno));
        atomic_store(&mcpu_load_ack_failed, 1);
    }

    rc = mcpu_load_summary(threads, elapsed_ms);

    if (threads) {
        mcpu_load_threads_free(threads);
    }

    free(cf->head);
    free(cf->hostport);
    free(cf->path);

    return rc;
}
