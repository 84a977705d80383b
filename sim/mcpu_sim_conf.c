/*
 * mcpu_sim_conf.c: mcpu-sim's option table and what depends on several of
 * its options; the option engine that reads the command line through the
 * table, and prints it, is common/mcpu_conf.c.
 *
 * Every option is one row of mcpu_sim_options[]: each default is written
 * once, here, and --help and --list-options (the README's list) print the
 * rows.  A value that is not valid stops start-up with one line naming the
 * option and the value; nothing is corrected silently.
 */

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "mcpu_conf.h"
#include "mcpu_sim_conf.h"


#define MCPU_SIM_CONF_NAME     "mcpu-sim"
#define MCPU_SIM_CONF_VERSION  "0.1.0"


static int mcpu_sim_conf_derive(void *data, char *errstr,
    size_t errstr_size);


#define MCPU_SIM_AT(field)  offsetof(mcpu_sim_conf_t, field)

/*
 * Columns (mcpu_conf_option_t): name, flag, letter, type, arg, default,
 * default as documented, min, max (integers), dmin, dmax (DOUBLE), offset,
 * description, example.
 */
static const mcpu_conf_option_t  mcpu_sim_options[] = {

    /* a PATH row, not the engine's CONFIG row: the scenario has its own
     * format (mcpu_sim_scenario.c), which the engine must not read */
    { "config", "config", 'c', MCPU_CONF_OPT_PATH, "FILE", NULL,
      "none: required", 0, 0, 0, 0, MCPU_SIM_AT(scenario),
      "The scenario: the population of clients (versions, operating "
      "systems and their weights), their activity (sessions, transfers, "
      "other activities) and the CPU effects planted in it (causes and "
      "distractors), one `keyword key=value ...` line each; see \"The "
      "scenario\".  A line that is not understood stops start-up with "
      "FILE:LINE.  `sim/cause-transfer.conf` and `sim/cause-indexing.conf` "
      "are examples.",
      "mcpu-sim -c sim/cause-transfer.conf --url http://127.0.0.1:8080/event" },

    { "url", "url", 0, MCPU_CONF_OPT_STR, "URL",
      "http://127.0.0.1:8080/event", NULL, 0, 0, 0, 0, MCPU_SIM_AT(url),
      "The ingest location (`mcpu_ingest`): events are POSTed to it in "
      "NDJSON batches, and a `GET` on it asks for the last event the server "
      "has durably received from the client.  `http://` or `https://`.",
      "mcpu-sim --url https://ingest.example.com/event" },

    { "key", "key", 0, MCPU_CONF_OPT_PATH, "FILE", "", "none (no token)",
      0, 0, 0, 0, MCPU_SIM_AT(key_file),
      "Signs a JWT per client with this key (`sub` = the client id, "
      "`iat` = now, `exp` = now + `token_ttl_s`), sent as `Authorization: "
      "Bearer`; a token is made again when it has less than a tenth of "
      "its time left.  HS256/384/512: the secret as `mcpu-token --gen-key "
      "HS256 --out PREFIX` writes it (PREFIX.secret; its bytes without one "
      "trailing newline, the module's rule); RS* and ES*: a PEM private "
      "key (PREFIX.key).  Without a key, requests carry only `Client-Id`, "
      "for a location without `mcpu_jwt_key`.",
      "mcpu-sim --key /etc/mcpu/jwt/hs256.secret --alg HS256" },

    { "alg", "alg", 0, MCPU_CONF_OPT_STR, "ALG", "HS256", NULL,
      0, 0, 0, 0, MCPU_SIM_AT(alg),
      "The key's algorithm: HS256, HS384, HS512, RS256, RS384, RS512, "
      "ES256, ES384 or ES512, as in the `mcpu_jwt_key` that verifies it.",
      "mcpu-sim --key /tmp/rsa.key --alg RS256" },

    { "token_ttl_s", "token-ttl-s", 0, MCPU_CONF_OPT_NUM, "N", "86400",
      "86400 (a day)", 60, 31536000, 0, 0, MCPU_SIM_AT(token_ttl_s),
      "Seconds of real time a client's token is valid (`exp` - `iat`).",
      "mcpu-sim --token-ttl-s 600" },

    { "clients", "clients", 0, MCPU_CONF_OPT_NUM, "N", "0",
      "0: the scenario's `population clients=N`", 0, 100000, 0, 0,
      MCPU_SIM_AT(clients),
      "How many clients to play, instead of the scenario's population "
      "size.  Their versions and operating systems are drawn with the "
      "scenario's weights.",
      "mcpu-sim -c sim/cause-transfer.conf --clients 50" },

    { "hours", "hours", 0, MCPU_CONF_OPT_DOUBLE, "H", "8", NULL,
      0, 0, 0.01, 696, MCPU_SIM_AT(hours),
      "Hours of simulated time, ending at `end_ms`: events carry times from "
      "`end_ms` - H hours on.  At most 696 (29 days), so that every event "
      "is younger than nginx's default `mcpu_event_max_age` (30d); a server "
      "with a shorter one refuses the oldest events (`time_too_old`), "
      "which mcpu-sim counts as refused.",
      "mcpu-sim --hours 1" },

    { "end_ms", "end-ms", 0, MCPU_CONF_OPT_NUM, "MS", "0", "0: now",
      0, 4102444800000, 0, 0, MCPU_SIM_AT(end_ms),
      "Where simulated time ends, in milliseconds since the epoch; with "
      "`seed`, it makes two runs send byte for byte the same events (given "
      "empty spools and a server that answers `GET` the same).  It may "
      "not be in the future.",
      "mcpu-sim --end-ms 1795471200000" },

    { "seed", "seed", 0, MCPU_CONF_OPT_NUM, "N", "1", NULL,
      0, 2147483647, 0, 0, MCPU_SIM_AT(seed),
      "Seeds every random draw: client ids, their population, activity, "
      "CPU and planted effects.  Each client draws from its own stream, so "
      "what it generates does not depend on how fast the server answers.",
      "mcpu-sim --seed 42" },

    { "speed", "speed", 0, MCPU_CONF_OPT_DOUBLE, "X", "0",
      "0: as fast as the server accepts", 0, 0, 0, 1e9,
      MCPU_SIM_AT(speed),
      "Simulated seconds per real second.  0: the simulated clock moves on "
      "as soon as no client has more than two batches waiting, so the run "
      "goes as fast as the server takes events and stops while it takes "
      "none.  X > 0: the clock follows real time X times faster whatever "
      "the server does, and clients keep generating, and spooling, during "
      "an outage, as real ones would.",
      "mcpu-sim --speed 60" },

    { "spool", "spool", 0, MCPU_CONF_OPT_PATH, "DIR", "mcpu-sim.spool",
      NULL, 0, 0, 0, 0, MCPU_SIM_AT(spool_dir),
      "Directory of the clients' spools (created if missing): one file "
      "per client, `CLIENT-ID.spool`, that every event is appended to "
      "before it is sent and that keeps it until an answer 2xx covers it; "
      "it also keeps the client's next `seq`, so a second run continues "
      "the sequence and first resends what the first one left.",
      "mcpu-sim --spool /var/tmp/mcpu-sim" },

    { "batch", "batch", 0, MCPU_CONF_OPT_NUM, "N", "100", NULL,
      1, 10000, 0, 0, MCPU_SIM_AT(batch),
      "Events per request at most (one NDJSON line each).",
      "mcpu-sim --batch 500" },

    { "max_body", "max-body", 0, MCPU_CONF_OPT_NUM, "BYTES", "65536",
      "65536 (the module's mcpu_max_body_size)", 1024, 16777216, 0, 0,
      MCPU_SIM_AT(max_body),
      "Bytes per request body at most; a batch stops short of `batch` "
      "events rather than exceed it.  Keep it at most the location's "
      "`mcpu_max_body_size`: a longer NDJSON body is a stream, answered "
      "differently.",
      "mcpu-sim --max-body 32768" },

    { "flush_interval_s", "flush-interval-s", 0, MCPU_CONF_OPT_NUM, "S",
      "300", NULL, 1, 86400, 0, 0, MCPU_SIM_AT(flush_interval_s),
      "A client sends when it has `batch` events waiting, or when its "
      "oldest waiting event is this many simulated seconds old.",
      "mcpu-sim --flush-interval-s 60" },

    { "connections", "connections", 0, MCPU_CONF_OPT_NUM, "N", "16", NULL,
      1, 1024, 0, 0, MCPU_SIM_AT(connections),
      "HTTP/1.1 keep-alive connections to the server at most, shared by "
      "all clients (libcurl's multi interface queues the other requests).",
      "mcpu-sim --connections 64" },

    { "timeout_ms", "timeout-ms", 0, MCPU_CONF_OPT_NUM, "MS", "10000",
      NULL, 100, 600000, 0, 0, MCPU_SIM_AT(timeout_ms),
      "A request without an answer after this long (connecting included) "
      "has failed: the client backs off and then asks the server what it "
      "has.",
      "mcpu-sim --timeout-ms 2000" },

    { "drain_timeout_s", "drain-timeout-s", 0, MCPU_CONF_OPT_NUM, "S",
      "300", NULL, 0, 86400, 0, 0, MCPU_SIM_AT(drain_timeout_s),
      "Once simulated time has ended, how long (real seconds) the clients "
      "may take to deliver what they still hold; then mcpu-sim stops with "
      "exit code 1, the rest kept in the spools.",
      "mcpu-sim --drain-timeout-s 30" },

    { "truth", "truth", 0, MCPU_CONF_OPT_PATH, "FILE", "", "none",
      0, 0, 0, 0, MCPU_SIM_AT(truth_file),
      "Writes, at the end, a JSON file of what was planted, for checking "
      "an analysis: the causes and the distractors with the clients they "
      "apply to and how often they fired, and each client's id, version, "
      "OS, baseline CPU and sequence range.",
      "mcpu-sim --truth /tmp/truth.json" },

    MCPU_CONF_ROW_LOG_FILE("mcpu-sim", "/var/log/mcpu/sim.log",
                           MCPU_SIM_AT(log_file)),

    { "test", "test", 't', MCPU_CONF_OPT_ACTION, NULL, NULL, NULL,
      0, 0, 0, 0, MCPU_CONF_OPT_NONE,
      "Reads the scenario and makes a token with the key, prints "
      "\"configuration is ok\" and the `mcpu_event_type_allow` line the "
      "ingest location needs for the scenario's activities (none when it "
      "has none), and exits (0, or 2 with the refusal).",
      "mcpu-sim -c sim/cause-indexing.conf --key /tmp/demo.secret -t" },

    MCPU_CONF_ROWS_OUTPUT("mcpu-sim"),
};

#define MCPU_SIM_NOPTIONS \
    (sizeof(mcpu_sim_options) / sizeof(mcpu_sim_options[0]))


static const mcpu_conf_program_t  mcpu_sim_program = {
    MCPU_SIM_CONF_NAME,
    MCPU_SIM_CONF_VERSION,

    /* --help: the summary, then after the options the epilogue */
    "Plays desktop clients sending telemetry to the ingest path (nginx with\n"
    "the mcpu module), over simulated hours, with CPU causes planted from\n"
    "the scenario (-c FILE) so that an analysis can be checked against them.",

    "Every option is on the command line; --list-options describes them "
    "all.\n"
    "Activities of the scenario (`activity Indexing ...` sends "
    "IndexingStarted and\nIndexingCompleted) must be allowed by the ingest "
    "location, e.g.\n"
    "  mcpu_event_type_allow IndexingStarted IndexingCompleted;\n"
    "-t prints the line a scenario needs.\n"
    "At the end one line on stdout: clients=N generated=N accepted=N "
    "refused=N ...\n"
    "Signals: TERM/INT stop (what is not delivered stays in the spools), "
    "HUP reopens\nthe log file.\n"
    "Exit codes: 0 every event was delivered or refused, 1 some stay in the "
    "spools\n(stopped, or drain_timeout_s passed) or a spool failed, 2 a "
    "setting or the\nscenario was refused.\n",

    mcpu_sim_options,
    MCPU_SIM_NOPTIONS,
    sizeof(mcpu_sim_conf_t),
    MCPU_SIM_AT(kafka),
    MCPU_SIM_AT(nkafka),
    MCPU_SIM_AT(test),
    mcpu_sim_conf_derive
};


int
mcpu_sim_conf_load(mcpu_sim_conf_t *conf, int argc, char **argv,
    char *errstr, size_t errstr_size)
{
    return mcpu_conf_load(&mcpu_sim_program, conf, argc, argv, errstr,
                          errstr_size);
}


void
mcpu_sim_conf_free(mcpu_sim_conf_t *conf)
{
    mcpu_conf_free(&mcpu_sim_program, conf);
}


/*
 * What the table cannot say: the scenario is required (it has no default
 * that would make sense), the URL's scheme is one libcurl is asked to
 * speak, and the algorithm is one the module verifies.
 */
static int
mcpu_sim_conf_derive(void *data, char *errstr, size_t errstr_size)
{
    size_t               i;
    mcpu_sim_conf_t     *conf = data;
    static const char   *algs[] = {
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
        "ES256", "ES384", "ES512"
    };

    if (conf->scenario == NULL) {
        snprintf(errstr, errstr_size, "option \"config\" (-c FILE, the "
                 "scenario) is required; sim/cause-transfer.conf is an "
                 "example");
        return MCPU_CONF_ERROR;
    }

    if (strncmp(conf->url, "http://", 7) != 0
        && strncmp(conf->url, "https://", 8) != 0)
    {
        snprintf(errstr, errstr_size, "invalid value \"%s\" for option "
                 "\"url\": must start with http:// or https://", conf->url);
        return MCPU_CONF_ERROR;
    }

    for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (strcmp(conf->alg, algs[i]) == 0) {
            break;
        }
    }

    if (i == sizeof(algs) / sizeof(algs[0])) {
        snprintf(errstr, errstr_size, "invalid value \"%s\" for option "
                 "\"alg\": must be one of HS256, HS384, HS512, RS256, RS384, "
                 "RS512, ES256, ES384, ES512", conf->alg);
        return MCPU_CONF_ERROR;
    }

    return MCPU_CONF_OK;
}
