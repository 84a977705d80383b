# tests/e2e/lib.sh: brings up the local pipeline (mcpu-kafka, nginx with the
# module, mcpu-batcher) in a private work directory, for end-to-end tests.
# Everything listens on 127.0.0.1 on free ports, and everything started here
# is stopped on exit, whatever the outcome.
#
# Programs come from $BUILD (default build/, as make's BUILD).  Several
# hosts (nginx + batcher on their own ring) share one Kafka: set E2E_HOST
# to a name before starting each host's nginx and batcher; its files are
# then named "$E2E_HOST-ring", "$E2E_HOST-nginx.log", ...  (E2E_HOST
# empty, the default: "ring", "nginx.log", ...).

set -euo pipefail

E2E_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
E2E_BIN=$E2E_TOP/${BUILD:-build}
E2E_WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcpu-e2e.XXXXXX")
E2E_TOPIC=${E2E_TOPIC:-mcpu.events}
E2E_PARTITIONS=${E2E_PARTITIONS:-8}
E2E_SEEN_TOPIC=${E2E_SEEN_TOPIC:-mcpu.last-seen}   # the batcher's default
E2E_CLEAN_TOPIC=${E2E_CLEAN_TOPIC:-mcpu.events.clean}   # mcpu-dedup's output
E2E_HOST=${E2E_HOST:-}
E2E_NGINX=${TEST_NGINX_BINARY:-$(command -v nginx || echo /usr/sbin/nginx)}

E2E_KAFKA_PID=
E2E_NGINX_PID=
E2E_BATCHER_PID=
E2E_NGINX_PIDS=        # every nginx and batcher started, stopped at exit
E2E_BATCHER_PIDS=

# the current host's file name prefix
e2e_host() { printf '%s' "${E2E_HOST:+$E2E_HOST-}"; }

e2e_log() { printf '%s %s\n' "$(date +%T.%3N)" "$*" >&2; }

e2e_fail() {
    e2e_log "FAIL: $*"
    for f in "$E2E_WORK"/*.log; do
        [ -f "$f" ] || continue
        echo "--- last lines of $f" >&2
        tail -n 15 "$f" >&2
    done
    exit 1
}

# Waits for a condition: polls "$@" until it succeeds or the deadline passes.
e2e_wait() {
    local deadline=$((SECONDS + ${E2E_WAIT_S:-60}))
    until "$@"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
}

e2e_free_port() {
    perl -MIO::Socket::INET -e \
        'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0",
                                     ReuseAddr => 1)->sockport, "\n"'
}

e2e_stop_pid() {
    local pid=$1 sig=${2:-TERM}
    [ -n "$pid" ] || return 0
    kill -"$sig" "$pid" 2>/dev/null || return 0
    e2e_wait_gone "$pid" || { kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
}

e2e_wait_gone() {
    local pid=$1 deadline=$((SECONDS + 20))
    while kill -0 "$pid" 2>/dev/null; do
        # reap it if it is our child, so a zombie does not look alive
        if ! ps -o stat= -p "$pid" | grep -qv Z; then
            wait "$pid" 2>/dev/null || true
            return 0
        fi
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
    wait "$pid" 2>/dev/null || true
}

e2e_cleanup() {
    local rc=$? pid
    for pid in $E2E_BATCHER_PIDS; do e2e_stop_pid "$pid" TERM; done
    for pid in $E2E_NGINX_PIDS; do e2e_stop_pid "$pid" QUIT; done
    e2e_stop_pid "$E2E_KAFKA_PID" TERM
    if [ $rc -eq 0 ] && [ -z "${E2E_KEEP:-}" ]; then
        rm -rf "$E2E_WORK"
    else
        e2e_log "work directory kept: $E2E_WORK"
    fi
    exit $rc
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM

e2e_start_kafka() {
    "$E2E_BIN/mcpu-kafka" -t "$E2E_TOPIC:$E2E_PARTITIONS" -t "$E2E_SEEN_TOPIC:4" \
        -t "$E2E_CLEAN_TOPIC:$E2E_PARTITIONS" \
        -f "$E2E_WORK/kafka.addr" \
        -c "$E2E_WORK/kafka.ctl" \
        > /dev/null 2> "$E2E_WORK/kafka.log" &
    E2E_KAFKA_PID=$!
    e2e_wait test -s "$E2E_WORK/kafka.addr" || e2e_fail "mcpu-kafka did not start"
    E2E_BROKERS=$(cat "$E2E_WORK/kafka.addr")
    e2e_log "kafka at $E2E_BROKERS"
}

# e2e_start_nginx [WORKERS] [EXTRA_HTTP_DIRECTIVES]
e2e_start_nginx() {
    local workers=${1:-2} extra=${2:-} h user=
    h=$E2E_WORK/$(e2e_host)
    # as Test::Nginx: workers run as root when we do, so they can open what
    # the batcher creates in the private work directory (last-seen table)
    [ "$(id -u)" -ne 0 ] || user='user root;'
    E2E_PORT=$(e2e_free_port)
    mkdir -p "${h}nginx/logs"
    cat > "${h}nginx/nginx.conf" <<CONF
daemon off;
master_process on;
$user
worker_processes $workers;
error_log ${h}nginx.log info;
pid ${h}nginx/logs/nginx.pid;
load_module $E2E_BIN/ngx_http_mcpu_module.so;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path ${h}nginx/body;
    mcpu_ring ${h}ring size=${E2E_RING_SIZE:-64m} lanes=8;
    $extra
    server {
        listen 127.0.0.1:$E2E_PORT;
        location = /event { mcpu_ingest; }
    }
}
CONF
    "$E2E_NGINX" -p "${h}nginx" -c "${h}nginx/nginx.conf" -e "${h}nginx.log" &
    E2E_NGINX_PID=$!
    E2E_NGINX_PIDS="$E2E_NGINX_PIDS $E2E_NGINX_PID"
    e2e_wait curl -s -o /dev/null "http://127.0.0.1:$E2E_PORT/" \
        || e2e_fail "nginx did not start"
    E2E_URL=http://127.0.0.1:$E2E_PORT/event
    e2e_log "nginx at $E2E_URL, $workers workers"
}

e2e_start_batcher() {
    "$E2E_BIN/mcpu-batcher" --ring "$E2E_WORK/$(e2e_host)ring" --brokers "$E2E_BROKERS" \
        --topic "$E2E_TOPIC" "$@" >> "$E2E_WORK/$(e2e_host)batcher.log" 2>&1 &
    E2E_BATCHER_PID=$!
    E2E_BATCHER_PIDS="$E2E_BATCHER_PIDS $E2E_BATCHER_PID"
    e2e_log "batcher pid $E2E_BATCHER_PID"
}

# Sends a fault-injection command to the local Kafka (see kafka/mcpu_kafka.c).
e2e_kafka_ctl() {
    echo "$*" > "$E2E_WORK/kafka.ctl"
}

# Prints one of the ring's counters: published, released, unreleased_bytes.
e2e_ring() {
    perl -I "$E2E_TOP/t/lib" -MMCPU::Ring -e \
        'print MCPU::Ring::counters($ARGV[0])->{$ARGV[1]}, "\n"' "$E2E_WORK/$(e2e_host)ring" "$1"
}

e2e_ring_released_at_least() {
    [ "$(e2e_ring released)" -ge "$1" ]
}

# Writes "key<TAB>value" for every record of the topic to the file $1.
e2e_read_topic() {
    kcat -b "$E2E_BROKERS" -t "$E2E_TOPIC" -C -e -q -o beginning \
        -f '%k\t%s\n' > "$1" 2> "$E2E_WORK/kcat.log"
}

# Turns a topic dump into "event-id<TAB>key<TAB>client.id" lines.
e2e_topic_ids() {
    perl -ne 'print "$3\t$1\t$2\n"
                  if /^([^\t]*)\t.*"client":\{"id":"([^"]*)".*"event":\{.*"id":"([^"]*)"/' "$1"
}

e2e_topic_count() {
    e2e_read_topic "$E2E_WORK/topic.txt"
    wc -l < "$E2E_WORK/topic.txt"
}

# Succeeds once the topic holds at least $1 records.
e2e_topic_has() {
    [ "$(e2e_topic_count)" -ge "$1" ]
}

# Prints a field of the ring header's batcher block (mcpu_ring.h):
# consumer_pid, consumer_flags, heartbeat_ms, produced, acked,
# delivery_errors, in_flight, resent.
e2e_batcher_header() {
    perl -e '
        my %at = (consumer_pid => [64, "V"], consumer_flags => [68, "V"],
                  heartbeat_ms => [72, "Q<"], produced => [128, "Q<"],
                  acked => [136, "Q<"], delivery_errors => [144, "Q<"],
                  in_flight => [152, "Q<"], resent => [160, "Q<"]);
        my $f = $at{$ARGV[1]} or die "no header field $ARGV[1]\n";
        open my $fh, "<:raw", $ARGV[0] or die "cannot open $ARGV[0]: $!\n";
        read($fh, my $h, 512) == 512 or die "$ARGV[0] is too short\n";
        print unpack($f->[1], substr($h, $f->[0], 8)), "\n";
    ' "$E2E_WORK/$(e2e_host)ring" "$1"
}

# Succeeds once header field $1 is at least $2.
e2e_batcher_header_at_least() {
    [ "$(e2e_batcher_header "$1")" -ge "$2" ]
}

# Succeeds once the file $1 has a line matching the extended regex $2.
e2e_log_has() {
    grep -qE -- "$2" "$1" 2>/dev/null
}

# Prints the number of lines of file $1 matching the extended regex $2.
e2e_log_count() {
    grep -cE -- "$2" "$1" 2>/dev/null || true
}

e2e_now_ms() { date +%s%3N; }

# e2e_wait_exit PID MAX_MS: waits (polling) for our child PID to exit, at
# most MAX_MS; sets E2E_EXIT_RC to its exit status and E2E_EXIT_MS to the
# milliseconds waited.  Fails if it is still running at the deadline.
e2e_wait_exit() {
    local pid=$1 max=$2 start now state
    start=$(e2e_now_ms)
    for (( ; ; )); do
        state=$(ps -o stat= -p "$pid" 2>/dev/null || true)
        case $state in ''|Z*) break ;; esac
        now=$(e2e_now_ms)
        [ $((now - start)) -lt "$max" ] || return 1
        sleep 0.01
    done
    E2E_EXIT_MS=$(( $(e2e_now_ms) - start ))
    E2E_EXIT_RC=0
    wait "$pid" 2>/dev/null || E2E_EXIT_RC=$?
}

# --- Faults on purpose: nginx as a daemon (binary upgrade), its workers, the
# ring's lanes, a topic reader that runs all along, the status page.

# e2e_start_nginx_daemon [WORKERS] [EXTRA_HTTP_DIRECTIVES]: as e2e_start_nginx,
# with "daemon on" so that a binary upgrade works: a master that runs with
# daemon off and whose parent is still its starter ignores USR2 ("the
# changing binary signal is ignored").  E2E_NGINX_PID is the master's pid,
# read from the pid file; every master is stopped at exit.  Lanes:
# E2E_RING_LANES (default 8).  When the module has mcpu_status, it answers
# on E2E_STATUS_URL (empty otherwise).
e2e_start_nginx_daemon() {
    local workers=${1:-2} extra=${2:-} h user= status=
    h=$E2E_WORK/$(e2e_host)
    [ "$(id -u)" -ne 0 ] || user='user root;'
    # nginx re-executes argv[0] for an upgrade: an absolute path
    E2E_NGINX=$(readlink -f "$(command -v "$E2E_NGINX")")
    E2E_PORT=$(e2e_free_port)
    E2E_STATUS_URL=
    if grep -q mcpu_status "$E2E_BIN/ngx_http_mcpu_module.so"; then
        status='location = /status { mcpu_status; }'
        E2E_STATUS_URL=http://127.0.0.1:$E2E_PORT/status
    fi
    mkdir -p "${h}nginx/logs"
    cat > "${h}nginx/nginx.conf" <<CONF
daemon on;
master_process on;
$user
worker_processes $workers;
error_log ${h}nginx.log info;
pid ${h}nginx/logs/nginx.pid;
load_module $E2E_BIN/ngx_http_mcpu_module.so;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path ${h}nginx/body;
    mcpu_ring ${h}ring size=${E2E_RING_SIZE:-64m} lanes=${E2E_RING_LANES:-8};
    $extra
    server {
        listen 127.0.0.1:$E2E_PORT;
        location = /event { mcpu_ingest; }
        $status
    }
}
CONF
    E2E_NGINX_WORKERS=$workers
    "$E2E_NGINX" -p "${h}nginx" -c "${h}nginx/nginx.conf" -e "${h}nginx.log" \
        || e2e_fail "nginx did not start"
    E2E_NGINX_PID=$(cat "${h}nginx/logs/nginx.pid")
    E2E_NGINX_PIDS="$E2E_NGINX_PIDS $E2E_NGINX_PID"
    e2e_wait e2e_nginx_ready "$E2E_NGINX_PID" || e2e_fail "nginx did not start its workers"
    e2e_wait curl -s -o /dev/null "http://127.0.0.1:$E2E_PORT/" \
        || e2e_fail "nginx does not answer"
    E2E_URL=http://127.0.0.1:$E2E_PORT/event
    e2e_log "nginx (daemon, master $E2E_NGINX_PID) at $E2E_URL, $workers workers"
}

# The pids of MASTER's workers that take requests (not those shutting down,
# not a new master it forked for an upgrade).
e2e_nginx_workers() {
    ps -o pid=,args= --ppid "$1" 2>/dev/null \
        | awk '$2 == "nginx:" && $3 == "worker" && $4 == "process" && NF == 4 { print $1 }'
}

# Succeeds when MASTER runs E2E_NGINX_WORKERS workers, each of which has
# claimed its ring lane (the module logs it).
e2e_nginx_ready() {
    local w n=0
    for w in $(e2e_nginx_workers "$1"); do
        grep -q "mcpu_ring: worker $w produces into lane" "$E2E_WORK/$(e2e_host)nginx.log" \
            || return 1
        n=$((n + 1))
    done
    [ "$n" -eq "${E2E_NGINX_WORKERS:-2}" ]
}

# e2e_nginx_kill_worker: SIGKILLs one worker of the current master and waits
# until the master has respawned it; sets E2E_KILLED_WORKER.
e2e_nginx_kill_worker() {
    local before
    before=$(e2e_nginx_workers "$E2E_NGINX_PID" | tr '\n' ' ')
    E2E_KILLED_WORKER=${before%% *}
    [ -n "$E2E_KILLED_WORKER" ] || e2e_fail "nginx has no worker to kill"
    kill -KILL "$E2E_KILLED_WORKER"
    e2e_wait _e2e_respawned || e2e_fail "nginx did not respawn worker $E2E_KILLED_WORKER"
}

_e2e_respawned() {
    ! kill -0 "$E2E_KILLED_WORKER" 2>/dev/null && e2e_nginx_ready "$E2E_NGINX_PID"
}

# e2e_nginx_reload: "nginx -s reload" and waits until the new workers took
# their lanes and the old ones are gone.
e2e_nginx_reload() {
    local h old
    h=$E2E_WORK/$(e2e_host)
    old=$(e2e_nginx_workers "$E2E_NGINX_PID")
    "$E2E_NGINX" -p "${h}nginx" -c "${h}nginx/nginx.conf" -e "${h}nginx.log" -s reload \
        2>> "${h}nginx.log" || e2e_fail "nginx -s reload failed"
    e2e_wait _e2e_renewed $old || e2e_fail "nginx did not replace its workers after a reload"
}

# _e2e_renewed OLD_WORKER...: the old workers are gone, the new ones ready
_e2e_renewed() {
    local w
    for w in "$@"; do ! kill -0 "$w" 2>/dev/null || return 1; done
    e2e_nginx_ready "$E2E_NGINX_PID"
}

# e2e_nginx_upgrade: a binary upgrade as an operator does it: USR2 to the
# master (which starts a new master from the same binary, sharing the
# listening sockets), then QUIT to the old master once the new one runs.
# Sets E2E_NGINX_PID to the new master.
e2e_nginx_upgrade() {
    local h old new
    h=$E2E_WORK/$(e2e_host)
    old=$E2E_NGINX_PID
    kill -USR2 "$old"
    if ! e2e_wait _e2e_new_master "$h" "$old"; then
        # a new master that wrote its pid file late is stopped at exit too
        new=$(cat "${h}nginx/logs/nginx.pid" 2>/dev/null || true)
        [ -z "$new" ] || [ "$new" = "$old" ] || E2E_NGINX_PIDS="$E2E_NGINX_PIDS $new"
        e2e_fail "no new master after USR2 to $old"
    fi
    new=$(cat "${h}nginx/logs/nginx.pid")
    E2E_NGINX_PIDS="$E2E_NGINX_PIDS $new"
    e2e_wait e2e_nginx_ready "$new" || e2e_fail "the new master $new did not start its workers"
    kill -QUIT "$old"
    e2e_wait_gone "$old" || e2e_fail "the old master $old did not quit"
    E2E_NGINX_PID=$new
}

# _e2e_new_master H OLD: the old master renamed its pid file to .oldbin and
# a new master wrote its own
_e2e_new_master() {
    local new
    [ "$(cat "${1}nginx/logs/nginx.pid.oldbin" 2>/dev/null)" = "$2" ] || return 1
    new=$(cat "${1}nginx/logs/nginx.pid" 2>/dev/null) || return 1
    [ -n "$new" ] && [ "$new" != "$2" ]
}

# Prints one line per lane of the ring: lane owner_pid claims published
# released unreleased_bytes (layout: ngx_mcpu_module/mcpu_ring.h).
e2e_ring_lanes() {
    perl -e '
        open my $fh, "<:raw", $ARGV[0] or die "cannot open ring $ARGV[0]: $!";
        read($fh, my $head, 512) == 512 or die "short ring";
        my $lanes = unpack "x16 V", $head;
        for my $i (0 .. $lanes - 1) {
            read($fh, my $l, 192) == 192 or die "short ring";
            my ($owner, $claims) = unpack "V V", $l;
            my ($p_tail, $p_seq) = unpack "Q< Q<", substr($l, 64, 16);
            my ($c_head, $c_seq) = unpack "Q< Q<", substr($l, 128, 16);
            print join(" ", $i, $owner, $claims, $p_seq, $c_seq, $p_tail - $c_head), "\n";
        }' "$E2E_WORK/$(e2e_host)ring"
}

# e2e_topic_follow FILE: reads the topic from the beginning for as long as
# the test runs (the local Kafka keeps only ~5 MiB per partition and drops
# the oldest silently, so a long run must read while it writes), and writes
# "event-id<TAB>key<TAB>partition:offset" per record to FILE as it comes
# (kcat -E: it keeps going through a Kafka outage; -u: nothing waits in its
# buffers).  e2e_topic_follow_stop ends it once FILE is complete.
e2e_topic_follow() {
    perl -e '
        my ($out, @cmd) = @ARGV;
        my $pid = open(my $in, "-|", @cmd) or die "cannot run kcat: $!";
        $SIG{TERM} = sub { kill "TERM", $pid };
        open(my $o, ">", $out) or die "$out: $!";
        select $o; $| = 1;
        while (<$in>) {
            print "$5\t$3\t$1:$2\n"
                if /^(\d+)\t(\d+)\t([^\t]*)\t.*"client":\{"id":"([^"]*)".*"event":\{.*"id":"([^"]*)"/;
        }
        close $in;' "$1" kcat -b "$E2E_BROKERS" -t "$E2E_TOPIC" -C -E -u -q -o beginning \
            -f '%p\t%o\t%k\t%s\n' -X fetch.wait.max.ms=50 2>> "$E2E_WORK/kcat.log" &
    E2E_FOLLOW_PID=$!
    e2e_stop_at_exit "$E2E_FOLLOW_PID"
}

# e2e_stop_at_exit PID: a process started in the background (a load, a
# reader) gets SIGTERM at exit, with the batchers, whatever the outcome
e2e_stop_at_exit() {
    E2E_BATCHER_PIDS="$E2E_BATCHER_PIDS $1"
}

e2e_topic_follow_stop() {
    e2e_stop_pid "$E2E_FOLLOW_PID" TERM
}

# e2e_status_scrape FILE [INTERVAL_S]: while the test runs, appends the
# status page to FILE every INTERVAL_S (default 1) seconds, each scrape
# after a "# scrape EPOCH_MS" line.  Needs E2E_STATUS_URL.
e2e_status_scrape() {
    local file=$1 every=${2:-1}
    [ -n "${E2E_STATUS_URL:-}" ] || return 0
    (
        trap 'exit 0' TERM
        while :; do
            { echo "# scrape $(date +%s%3N)"; curl -s -m 2 "$E2E_STATUS_URL" || true; } >> "$file"
            sleep "$every" & wait $!
        done
    ) &
    E2E_SCRAPE_PID=$!
    e2e_stop_at_exit "$E2E_SCRAPE_PID"
}

# e2e_status_moves FILE METRIC...: prints, for each scrape of FILE, the
# scrape's time (s since the first) and the value of each METRIC (a sample
# name with its labels, as the page writes it; "-" when absent).
e2e_status_moves() {
    local file=$1; shift
    perl -e '
        my ($file, @m) = @ARGV;
        open my $fh, "<", $file or die "$file: $!";
        my ($t0, $t, %v, @rows);
        my $row = sub { push @rows, join("\t", sprintf("%.1f", ($t - $t0) / 1000),
                                      map { $v{$_} // "-" } @m) if defined $t };
        while (<$fh>) {
            if (/^# scrape (\d+)/) { $row->(); $t = $1; $t0 //= $1; %v = (); next }
            next if /^#/;
            $v{$1} = $2 if /^(\S+) (\S+)$/;
        }
        $row->();
        print join("\t", "t_s", @m), "\n", map { "$_\n" } @rows;' "$file" "$@"
}

# --- mcpu-dedup (dedup/): the raw topic $E2E_TOPIC to the clean topic
# $E2E_CLEAN_TOPIC without duplicates.  Records for it come from
# dedup_records.pl, straight into the raw topic (no nginx, no batcher).
# Each instance has a NAME: log $E2E_WORK/NAME.log, metrics file
# $E2E_WORK/NAME.prom, state directory $E2E_WORK/NAME.state, pid in
# $E2E_WORK/NAME.pid.

E2E_DEDUP_RECORDS=$E2E_TOP/tests/e2e/dedup_records.pl

# e2e_start_kafka_dedup: e2e_start_kafka (whose clean topic has as many
# partitions as the raw one, as mcpu-dedup requires), once mcpu-dedup is
# known to be built.
e2e_start_kafka_dedup() {
    [ -x "$E2E_BIN/mcpu-dedup" ] || e2e_fail "$E2E_BIN/mcpu-dedup is missing (make)"
    e2e_start_kafka
}

# e2e_start_dedup NAME [ARGS...]: starts mcpu-dedup in the background, its
# metrics written every 100 ms; ARGS are added to (and may override) the
# options given here.  A metrics file left by an earlier instance of NAME
# is removed first, so what NAME.prom says is the new instance's.  Sets
# E2E_DEDUP_PID; the instance is stopped (SIGTERM) at exit.
e2e_start_dedup() {
    local name=$1; shift
    rm -f "$E2E_WORK/$name.prom"
    "$E2E_BIN/mcpu-dedup" --brokers "$E2E_BROKERS" --group "${E2E_DEDUP_GROUP:-mcpu-dedup}" \
        --input-topic "$E2E_TOPIC" --output-topic "$E2E_CLEAN_TOPIC" \
        --state-dir "$E2E_WORK/$name.state" \
        --metrics-file "$E2E_WORK/$name.prom" --metrics-interval-ms 100 \
        "$@" >> "$E2E_WORK/$name.log" 2>&1 &
    E2E_DEDUP_PID=$!
    echo "$E2E_DEDUP_PID" > "$E2E_WORK/$name.pid"
    e2e_stop_at_exit "$E2E_DEDUP_PID"
    e2e_log "mcpu-dedup $name: pid $E2E_DEDUP_PID"
}

# e2e_dedup_pid NAME: the pid of NAME's last start
e2e_dedup_pid() { cat "$E2E_WORK/$1.pid"; }

# e2e_dedup_kill NAME [SIGNAL]: sends SIGNAL (default KILL) to NAME, waits
# until it is gone and reaped; sets E2E_EXIT_RC.  Its pid leaves the list
# of processes stopped at exit (a pid that is gone may be reused).
e2e_dedup_kill() {
    local pid p keep=
    pid=$(e2e_dedup_pid "$1")
    kill -"${2:-KILL}" "$pid" 2>/dev/null || true
    # (no "Killed" line from the shell when it reaps it)
    { e2e_wait_exit "$pid" 20000; } 2>/dev/null || e2e_fail "mcpu-dedup $1 (pid $pid) did not exit after SIG${2:-KILL}"
    for p in $E2E_BATCHER_PIDS; do [ "$p" = "$pid" ] || keep="$keep $p"; done
    E2E_BATCHER_PIDS=$keep
}

# e2e_dedup_metric NAME SERIES: prints the value of SERIES (a sample name
# with its labels as the file writes them, e.g.
# 'mcpu_dedup_duplicates_total{key="seq"}') from NAME's metrics file, 0 when
# the file or the series is absent.
e2e_dedup_metric() {
    local f=$E2E_WORK/$1.prom
    [ -f "$f" ] || { echo 0; return 0; }
    awk -v s="$2" '$1 == s { v = $2 } END { print (v == "" ? 0 : v) }' "$f"
}

# e2e_dedup_owned NAME: how many partitions NAME holds (and has loaded)
e2e_dedup_owned() {
    local f=$E2E_WORK/$1.prom
    [ -f "$f" ] || { echo 0; return 0; }
    awk '/^mcpu_dedup_partition_owned\{/ && $2 == 1 { n++ } END { print n + 0 }' "$f"
}

# e2e_dedup_partitions NAME: the partitions NAME holds, one line each
e2e_dedup_partitions() {
    [ -f "$E2E_WORK/$1.prom" ] || return 0
    sed -n 's/^mcpu_dedup_partition_owned{partition="\([0-9]*\)"} 1$/\1/p' "$E2E_WORK/$1.prom"
}

# e2e_dedup_caught_up NAME [PARTITIONS]: succeeds when NAME holds
# PARTITIONS partitions (default all, E2E_PARTITIONS) and reports a lag of
# 0 for each (it has read the raw topic to its end as its consumer knows it)
e2e_dedup_caught_up() {
    local f=$E2E_WORK/$1.prom n=${2:-$E2E_PARTITIONS}
    [ -f "$f" ] || return 1
    awk -v n="$n" '
        /^mcpu_dedup_partition_owned\{/ && $2 == 1 { owned++ }
        /^mcpu_dedup_lag\{/ { lags++; if ($2 != 0) busy++ }
        END { exit !(owned == n && lags == n && busy == 0) }' "$f"
}

# e2e_dedup_read_at_least NAME N: NAME has handled N records of the raw topic
e2e_dedup_read_at_least() {
    [ "$(e2e_dedup_metric "$1" mcpu_dedup_records_read_total)" -ge "$2" ]
}

# e2e_dedup_feed FILE: produces FILE's "key<TAB>value" lines to the raw
# topic, with the headers mcpu-batcher sets (mcpu-type, mcpu-schema): one
# kcat per event type, records of one type in FILE's order.
e2e_dedup_feed() {
    local file=$1 type
    for type in $(sed -n 's/^[^\t]*\t{"schema":1,"type":"\([A-Za-z0-9]*\)".*/\1/p' "$file" | sort -u); do
        grep -F "$(printf '\t{"schema":1,"type":"%s",' "$type")" "$file" \
            | kcat -b "$E2E_BROKERS" -P -t "$E2E_TOPIC" -K$'\t' \
                   -H "mcpu-type=$type" -H mcpu-schema=1 2>> "$E2E_WORK/kcat.log" \
            || e2e_fail "kcat could not produce $file to $E2E_TOPIC"
    done
}

# e2e_dedup_dump TOPIC FILE: writes "partition<TAB>offset<TAB>timestamp
# (ms)<TAB>key<TAB>headers<TAB>value" for every record of TOPIC to FILE.
e2e_dedup_dump() {
    kcat -b "$E2E_BROKERS" -t "$1" -C -e -q -o beginning \
        -f '%p\t%o\t%T\t%k\t%h\t%s\n' > "$2" 2>> "$E2E_WORK/kcat.log"
}

# e2e_dedup_ids FILE: the event ids of the "key<TAB>value" lines of FILE
# (dedup_records.pl's output), one a line, sorted, each once
e2e_dedup_ids() {
    perl -ne 'print "$1\n" if /"event":\{.*"id":"([^"]*)"/' "$@" | sort -u
}

# e2e_dedup_has_all EXPECTED: succeeds once every event id of the file
# EXPECTED (one a line) is in the clean topic (for e2e_wait: no loss yet;
# e2e_dedup_check says whether it holds them each once and nothing else).
e2e_dedup_has_all() {
    e2e_dedup_dump "$E2E_CLEAN_TOPIC" "$E2E_WORK/clean.txt"
    perl -ne 'print "$1\n" if /"event":\{.*"id":"([^"]*)"/' "$E2E_WORK/clean.txt" \
        | sort -u > "$E2E_WORK/clean.ids"
    [ -z "$(comm -23 "$1" "$E2E_WORK/clean.ids" | head -1)" ]
}

# e2e_dedup_check EXPECTED: the clean topic holds exactly the event ids of
# the file EXPECTED (one a line), each once; and each of its records is a
# record of the raw topic byte for byte (key, headers, value), in the
# partition of the same number.  Sets E2E_DEDUP_MISSING, E2E_DEDUP_DUPLICATED
# (ids present more than once), E2E_DEDUP_EXTRA (ids not expected) and
# E2E_DEDUP_FOREIGN (records not found so in the raw topic), prints what
# is wrong to stderr (the first ids of each list; for an id present more
# than once, where: partition:offset@time of each copy), and fails if
# anything is.
e2e_dedup_check() {
    local counts
    e2e_dedup_dump "$E2E_TOPIC" "$E2E_WORK/raw.txt"
    e2e_dedup_dump "$E2E_CLEAN_TOPIC" "$E2E_WORK/clean.txt"
    counts=$(perl -MPOSIX=strftime -e '
        my ($expected, $raw, $clean) = @ARGV;
        my (%want, %seen, %where, %raw, @foreign);
        open my $e, "<", $expected or die "$expected: $!";
        while (<$e>) { chomp; $want{$_} = 1 if length }
        open my $r, "<", $raw or die "$raw: $!";
        while (<$r>) {
            chomp;
            my ($p, $o, $t, $rest) = split /\t/, $_, 4;
            $raw{$rest}{$p} = 1;
        }
        open my $c, "<", $clean or die "$clean: $!";
        while (<$c>) {
            chomp;
            my ($p, $o, $t, $rest) = split /\t/, $_, 4;
            my ($id) = /"event":\{.*"id":"([^"]*)"/;
            $id //= "(no id: $_)";
            $seen{$id}++;
            push @{ $where{$id} }, sprintf "%d:%d@%s.%03d", $p, $o,
                strftime("%H:%M:%S", localtime(int($t / 1000))), $t % 1000;
            push @foreign, "$id (partition $p)" unless $raw{$rest}{$p};
        }
        my @missing = sort grep { !$seen{$_} } keys %want;
        my @dup = sort grep { $seen{$_} > 1 } keys %seen;
        my @extra = sort grep { !$want{$_} } keys %seen;
        my $show = sub {
            my ($what, @l) = @_;
            return unless @l;
            my @s = @l > 20 ? (@l[0 .. 19], "...") : @l;
            print STDERR "clean topic: ", scalar(@l), " $what: @s\n";
        };
        $show->("expected ids missing", @missing);
        $show->("ids more than once", map { "$_ x$seen{$_} [@{ $where{$_} }]" } @dup);
        $show->("ids not expected", @extra);
        $show->("records not in the raw topic as they are (key, headers, value, partition)", @foreign);
        printf "%d %d %d %d\n", scalar @missing, scalar @dup, scalar @extra, scalar @foreign;
    ' "$1" "$E2E_WORK/raw.txt" "$E2E_WORK/clean.txt") || e2e_fail "e2e_dedup_check: the checker failed"
    read -r E2E_DEDUP_MISSING E2E_DEDUP_DUPLICATED E2E_DEDUP_EXTRA E2E_DEDUP_FOREIGN <<< "$counts"
    e2e_log "clean topic: $(wc -l < "$E2E_WORK/clean.txt") records, raw topic:" \
            "$(wc -l < "$E2E_WORK/raw.txt"); $(wc -l < "$1") ids expected:" \
            "$E2E_DEDUP_MISSING missing, $E2E_DEDUP_DUPLICATED more than once," \
            "$E2E_DEDUP_EXTRA not expected, $E2E_DEDUP_FOREIGN not as in the raw topic"
    [ "$counts" = "0 0 0 0" ]
}

# e2e_dedup_expected_kinds FILE...: from the records fed (FILEs of
# "key<TAB>value" lines), prints "SEQ CONTENT": how many duplicates of each
# key kind mcpu-dedup must drop (copies of an id beyond the first, by
# whether the record has a seq)
e2e_dedup_expected_kinds() {
    perl -ne '
        next unless /"seq":(null|\d+).*"event":\{.*"id":"([^"]*)"/;
        $k{$2} = $1 eq "null" ? "content" : "seq";
        $n{$2}++;
        END { $d{$k{$_}} += $n{$_} - 1 for keys %n; printf "%d %d\n", $d{seq} // 0, $d{content} // 0 }' "$@"
}

# e2e_dedup_summary NAME: one line of NAME's counters, for the log
e2e_dedup_summary() {
    local n=$1
    echo "read $(e2e_dedup_metric "$n" mcpu_dedup_records_read_total)," \
         "unique $(e2e_dedup_metric "$n" mcpu_dedup_records_unique_total)," \
         "duplicates seq $(e2e_dedup_metric "$n" 'mcpu_dedup_duplicates_total{key="seq"}')" \
         "content $(e2e_dedup_metric "$n" 'mcpu_dedup_duplicates_total{key="content"}')" \
         "raw $(e2e_dedup_metric "$n" 'mcpu_dedup_duplicates_total{key="raw"}')," \
         "exact checks $(e2e_dedup_metric "$n" mcpu_dedup_exact_checks_total)," \
         "bloom false positives $(e2e_dedup_metric "$n" mcpu_dedup_bloom_false_positives_total)," \
         "batches $(e2e_dedup_metric "$n" mcpu_dedup_batches_total)" \
         "(retried $(e2e_dedup_metric "$n" mcpu_dedup_batches_retried_total))," \
         "catch-up records $(e2e_dedup_metric "$n" mcpu_dedup_catchup_records_total)," \
         "partitions $(e2e_dedup_owned "$n")"
}

# --- mcpu-sink (sink/): the clean topic $E2E_CLEAN_TOPIC into ClickHouse.
# Records for it come from dedup_records.pl, straight into the clean topic
# (no nginx, batcher or mcpu-dedup).  ClickHouse is the project's own
# (scripts/clickhouse.sh), its data in $E2E_WORK/clickhouse.  Each sink
# has a NAME, as mcpu-dedup's instances: log $E2E_WORK/NAME.log, metrics
# $E2E_WORK/NAME.prom, pid in $E2E_WORK/NAME.pid.  At exit, whatever the
# outcome, the sinks get SIGTERM first (while ClickHouse still takes their
# last batch), then ClickHouse is stopped, then e2e_cleanup runs as before.

E2E_CH_WORK=$E2E_WORK/clickhouse
E2E_CH_URL=
E2E_SINK_PIDS=

# Set as the EXIT trap by the first e2e_start_clickhouse or e2e_start_sink,
# in place of e2e_cleanup, which it ends with (the test's status kept).
e2e_sink_cleanup() {
    local rc=$? pid
    for pid in $E2E_SINK_PIDS; do e2e_stop_pid "$pid" TERM; done
    [ -z "$E2E_CH_URL" ] || "$E2E_TOP/scripts/clickhouse.sh" stop "$E2E_CH_WORK" || true
    (exit $rc) || e2e_cleanup    # e2e_cleanup reads $? as the test's status
    e2e_cleanup
}

# e2e_start_clickhouse [HTTP_PORT]: starts ClickHouse on $E2E_CH_WORK (a
# free port unless given; the same work directory again keeps the data),
# store/schema.sql applied; sets E2E_CH_URL.
e2e_start_clickhouse() {
    trap e2e_sink_cleanup EXIT
    E2E_CH_URL=$("$E2E_TOP/scripts/clickhouse.sh" start "$E2E_CH_WORK" "$@" 2> "$E2E_WORK/clickhouse.log") \
        || { E2E_CH_URL=x; e2e_fail "ClickHouse did not start: $(cat "$E2E_WORK/clickhouse.log")"; }
    e2e_log "clickhouse at $E2E_CH_URL (pid $(cat "$E2E_CH_WORK/clickhouse.pid"))"
}

# e2e_stop_clickhouse: SIGTERM, waits for the end
e2e_stop_clickhouse() {
    "$E2E_TOP/scripts/clickhouse.sh" stop "$E2E_CH_WORK"
}

# e2e_kill_clickhouse: SIGKILL, waits until it is gone; the data stay
e2e_kill_clickhouse() {
    local pid
    pid=$(cat "$E2E_CH_WORK/clickhouse.pid")
    kill -KILL "$pid"
    e2e_wait_gone "$pid" || e2e_fail "ClickHouse (pid $pid) did not die of SIGKILL"
    e2e_log "clickhouse (pid $pid) killed"
}

# e2e_restart_clickhouse: starts it again on the same data and port
e2e_restart_clickhouse() {
    e2e_start_clickhouse "${E2E_CH_URL##*:}"
}

# e2e_ch_query SQL: prints ClickHouse's answer; fails the test on an error
e2e_ch_query() {
    "$E2E_TOP/scripts/clickhouse.sh" query "$E2E_CH_WORK" "$1" 2>> "$E2E_WORK/clickhouse.log" \
        || e2e_fail "ClickHouse refused: $1 ($(tail -n 2 "$E2E_WORK/clickhouse.log"))"
}

# e2e_ch_count [WHERE]: unique events in the store, the way queries read it:
# count() FROM mcpu.events FINAL
e2e_ch_count() {
    e2e_ch_query "SELECT count() FROM mcpu.events FINAL${1:+ WHERE $1}"
}

# e2e_ch_ids FILE: the event ids of the stored rows (through FINAL), one a
# line, sorted (with repeats if a key was stored twice)
e2e_ch_ids() {
    e2e_ch_query "SELECT visitParamExtractString(event, 'id') FROM mcpu.events FINAL" \
        | sort > "$1"
}

# e2e_start_sink NAME [ARGS...]: starts mcpu-sink in the background on the
# clean topic and E2E_CH_URL, its metrics written every 100 ms; ARGS are
# added to (and may override) the options given here.  A metrics file left
# by an earlier instance of NAME is removed first.  Sets E2E_SINK_PID; the
# instance is stopped (SIGTERM) at exit.
e2e_start_sink() {
    local name=$1; shift
    [ -x "$E2E_BIN/mcpu-sink" ] || e2e_fail "$E2E_BIN/mcpu-sink is missing (make)"
    trap e2e_sink_cleanup EXIT
    rm -f "$E2E_WORK/$name.prom"
    "$E2E_BIN/mcpu-sink" --brokers "$E2E_BROKERS" --group "${E2E_SINK_GROUP:-mcpu-sink}" \
        --topic "$E2E_CLEAN_TOPIC" --clickhouse-url "$E2E_CH_URL" \
        --metrics-file "$E2E_WORK/$name.prom" --metrics-interval-ms 100 \
        "$@" >> "$E2E_WORK/$name.log" 2>&1 &
    E2E_SINK_PID=$!
    echo "$E2E_SINK_PID" > "$E2E_WORK/$name.pid"
    E2E_SINK_PIDS="$E2E_SINK_PIDS $E2E_SINK_PID"
    e2e_log "mcpu-sink $name: pid $E2E_SINK_PID"
}

# e2e_sink_kill NAME [SIGNAL]: sends SIGNAL (default KILL) to NAME, waits
# until it is gone and reaped; sets E2E_EXIT_RC.  Its pid leaves the list
# of processes stopped at exit.
e2e_sink_kill() {
    local pid p keep=
    pid=$(cat "$E2E_WORK/$1.pid")
    kill -"${2:-KILL}" "$pid" 2>/dev/null || true
    { e2e_wait_exit "$pid" 30000; } 2>/dev/null || e2e_fail "mcpu-sink $1 (pid $pid) did not exit after SIG${2:-KILL}"
    for p in $E2E_SINK_PIDS; do [ "$p" = "$pid" ] || keep="$keep $p"; done
    E2E_SINK_PIDS=$keep
}

# e2e_sink_metric NAME SERIES: the value of SERIES (a sample name with its
# labels as the file writes them) in NAME's metrics file, 0 when absent
e2e_sink_metric() {
    local f=$E2E_WORK/$1.prom
    [ -f "$f" ] || { echo 0; return 0; }
    awk -v s="$2" '$1 == s { v = $2 } END { print (v == "" ? 0 : v) }' "$f"
}

# e2e_sink_metric_sum NAME NAME_PREFIX: the sum of a labelled series over
# its labels (e.g. mcpu_sink_lag)
e2e_sink_metric_sum() {
    local f=$E2E_WORK/$1.prom
    [ -f "$f" ] || { echo 0; return 0; }
    awk -v s="$2{" 'index($1, s) == 1 { t += $2 } END { print t + 0 }' "$f"
}

# e2e_sink_committed NAME: "partition offset" per partition NAME holds, as
# Kafka confirmed its commits (-1: none yet)
e2e_sink_committed() {
    [ -f "$E2E_WORK/$1.prom" ] || return 0
    sed -n 's/^mcpu_sink_committed_offset{partition="\([0-9]*\)"} \(-\{0,1\}[0-9]*\)$/\1 \2/p' "$E2E_WORK/$1.prom"
}

# e2e_sink_owned NAME: how many partitions NAME holds
e2e_sink_owned() {
    local f=$E2E_WORK/$1.prom
    [ -f "$f" ] || { echo 0; return 0; }
    awk '/^mcpu_sink_partition_owned\{/ && $2 == 1 { n++ } END { print n + 0 }' "$f"
}

# e2e_sink_inserted_at_least NAME N: NAME has inserted N rows
e2e_sink_inserted_at_least() {
    [ "$(e2e_sink_metric "$1" mcpu_sink_rows_inserted_total)" -ge "$2" ]
}

# e2e_sink_read_at_least NAME N: NAME has taken N records
e2e_sink_read_at_least() {
    [ "$(e2e_sink_metric "$1" mcpu_sink_records_read_total)" -ge "$2" ]
}

# e2e_sink_failed_at_least NAME N: N INSERTs of NAME failed
e2e_sink_failed_at_least() {
    [ "$(e2e_sink_metric "$1" mcpu_sink_insert_failures_total)" -ge "$2" ]
}

# e2e_sink_caught_up NAME [PARTITIONS]: NAME holds PARTITIONS partitions
# (default all), has read each to its end and has no batch in hand
e2e_sink_caught_up() {
    local f=$E2E_WORK/$1.prom n=${2:-$E2E_PARTITIONS}
    [ -f "$f" ] || return 1
    awk -v n="$n" '
        /^mcpu_sink_partition_owned\{/ && $2 == 1 { owned++ }
        /^mcpu_sink_lag\{/ { lags++; if ($2 != 0) busy++ }
        $1 == "mcpu_sink_batch_rows" && $2 != 0 { busy++ }
        END { exit !(owned == n && lags == n && busy == 0) }' "$f"
}

# e2e_sink_feed FILE: produces FILE's "key<TAB>value" lines to the clean
# topic, in FILE's order
e2e_sink_feed() {
    kcat -b "$E2E_BROKERS" -P -t "$E2E_CLEAN_TOPIC" -K$'\t' -X linger.ms=5 \
        < "$1" 2>> "$E2E_WORK/kcat.log" \
        || e2e_fail "kcat could not produce $1 to $E2E_CLEAN_TOPIC"
}

# e2e_sink_summary NAME: one line of NAME's counters, for the log, all
# from one version of its metrics file
e2e_sink_summary() {
    local f=$E2E_WORK/$1.prom
    [ -f "$f" ] || { echo "no metrics yet"; return 0; }
    awk '
        !/^#/ { v[$1] = $2 }
        /^mcpu_sink_partition_owned\{/ && $2 == 1 { owned++ }
        /^mcpu_sink_lag\{/ { lag += $2 }
        END {
            printf "read %d, inserted %d in %d INSERTs, skipped %d, failed INSERTs %d " \
                   "(retries %d), dropped batches %d, batch in hand %d, backoff %s s, " \
                   "commits %d, partitions %d, lag %d\n",
                v["mcpu_sink_records_read_total"], v["mcpu_sink_rows_inserted_total"],
                v["mcpu_sink_inserts_total"], v["mcpu_sink_records_skipped_total"],
                v["mcpu_sink_insert_failures_total"], v["mcpu_sink_insert_retries_total"],
                v["mcpu_sink_batches_dropped_total"], v["mcpu_sink_batch_rows"],
                v["mcpu_sink_backoff_seconds"], v["mcpu_sink_offset_commits_total"],
                owned, lag
        }' "$f"
}

# --- mcpu-sim (sim/): simulated clients through nginx and the batcher.  The
# program is $MCPU_SIM, by default $E2E_BIN/mcpu-sim.  Each run has a NAME:
# its spools in $E2E_WORK/NAME.spool, its log $E2E_WORK/NAME.log, its
# summary line (stdout) in $E2E_WORK/NAME.out, its truth file
# $E2E_WORK/NAME.truth.json.

E2E_SIM=${MCPU_SIM:-$E2E_BIN/mcpu-sim}

# e2e_sim_key: an HS256 secret for nginx and the simulator, E2E_SIM_KEY
e2e_sim_key() {
    [ -x "$E2E_SIM" ] || e2e_fail "$E2E_SIM is missing (make, or MCPU_SIM=...)"
    E2E_SIM_KEY=$E2E_WORK/sim.secret
    "$E2E_BIN/mcpu-token" --gen-key HS256 --out "$E2E_WORK/sim" \
        || e2e_fail "mcpu-token could not make a key"
}

# e2e_sim_directives SCENARIO [MORE]: the http directives nginx needs for
# the simulator (for e2e_start_nginx): the key, the mcpu_event_type_allow
# line the scenario's activities need (as mcpu-sim -t prints it), request
# bodies kept in memory, and MORE
e2e_sim_directives() {
    local allow
    allow=$("$E2E_SIM" -c "$1" -t | grep '^mcpu_event_type_allow ' || true)
    echo "mcpu_jwt_key $E2E_SIM_KEY alg=HS256; $allow client_body_buffer_size 64k; ${2:-}"
}

# e2e_sim_start NAME SCENARIO [ARGS...]: runs mcpu-sim in the background
# against E2E_URL with the key; sets E2E_SIM_PID (stopped at exit)
e2e_sim_start() {
    local name=$1 scenario=$2; shift 2
    "$E2E_SIM" -c "$scenario" --url "$E2E_URL" --key "$E2E_SIM_KEY" \
        --spool "$E2E_WORK/$name.spool" --truth "$E2E_WORK/$name.truth.json" \
        --log-file "$E2E_WORK/$name.log" "$@" > "$E2E_WORK/$name.out" 2>&1 &
    E2E_SIM_PID=$!
    e2e_stop_at_exit "$E2E_SIM_PID"
    e2e_log "mcpu-sim $name: pid $E2E_SIM_PID"
}

# e2e_sim_wait NAME MAX_S: waits for the simulator to exit; fails unless it
# exits 0 within MAX_S seconds
e2e_sim_wait() {
    e2e_wait_exit "$E2E_SIM_PID" $(( $2 * 1000 )) \
        || e2e_fail "mcpu-sim $1 still runs after $2 s: $(tail -n 3 "$E2E_WORK/$1.log")"
    [ "$E2E_EXIT_RC" -eq 0 ] \
        || e2e_fail "mcpu-sim $1 exited $E2E_EXIT_RC: $(cat "$E2E_WORK/$1.out")"
    e2e_log "mcpu-sim $1: $(cat "$E2E_WORK/$1.out")"
}

# e2e_sim_field NAME FIELD: a field of NAME's summary line (generated=,
# accepted=, refused=, known=, resent=, resent_unanswered=, http_503=,
# failures=, ...)
e2e_sim_field() {
    sed -n "s/.* $2=\([0-9.]*\).*/\1/p" "$E2E_WORK/$1.out" | tail -n 1
}

# e2e_sim_nginx_kill: SIGKILL to nginx's master and its workers at once,
# as a crash: requests in flight get no answer
e2e_sim_nginx_kill() {
    local w workers
    workers=$(e2e_nginx_workers "$E2E_NGINX_PID" | tr '\n' ' ')
    # shellcheck disable=SC2086
    kill -KILL "$E2E_NGINX_PID" $workers 2>/dev/null || true
    # (no "Killed" line from the shell when it reaps the master)
    { e2e_wait_gone "$E2E_NGINX_PID"; } 2>/dev/null \
        || e2e_fail "nginx $E2E_NGINX_PID survived SIGKILL"
    for w in $workers; do
        e2e_wait_gone "$w" || e2e_fail "nginx worker $w survived SIGKILL"
    done
}

# e2e_sim_nginx_restart: nginx again from the configuration and on the port
# e2e_start_nginx chose; the ring is attached again as it is
e2e_sim_nginx_restart() {
    local h=$E2E_WORK/$(e2e_host)
    "$E2E_NGINX" -p "${h}nginx" -c "${h}nginx/nginx.conf" -e "${h}nginx.log" &
    E2E_NGINX_PID=$!
    E2E_NGINX_PIDS="$E2E_NGINX_PIDS $E2E_NGINX_PID"
    e2e_wait curl -s -o /dev/null "http://127.0.0.1:$E2E_PORT/" \
        || e2e_fail "nginx did not start again"
}

# e2e_sim_nginx_freeze / e2e_sim_nginx_thaw: SIGSTOP / SIGCONT to nginx's
# workers: connections are accepted by the kernel, nothing is answered,
# and what was sent meanwhile is handled when they run again
e2e_sim_nginx_freeze() {
    E2E_SIM_FROZEN=$(e2e_nginx_workers "$E2E_NGINX_PID" | tr '\n' ' ')
    # shellcheck disable=SC2086
    kill -STOP $E2E_SIM_FROZEN
}

e2e_sim_nginx_thaw() {
    # shellcheck disable=SC2086
    kill -CONT $E2E_SIM_FROZEN
}

# e2e_sim_check TOPIC TRUTH [SIMLOG]: checks the raw topic's records
# ("key<TAB>value" lines, e2e_read_topic) against the truth file: every
# event of each client is there, seq firstSeq + refused .. lastSeq (the
# refused ones are its oldest: time_too_old), each record keyed by its
# client with the client's metadata, types and fields as mcpu-sim sends
# them, every event inside its session.  With SIMLOG (the simulator's
# log), every event a client did not send again because GET said the
# server had it must be in the topic, once.  Then measures the cause: for
# each client, its baseline (the 20th percentile of its CPU: an effect
# that lasts most of a client's time would move the median) and, after
# each of its cause events, the mean CPU from delay.high + 2 s to
# delay.low + duration.low (at most 10 s later), fully inside every
# occurrence's effect; the lift is the difference.  Sets E2E_SIM_RECORDS, _UNIQUE,
# _DUPLICATES, _MISSING, _BAD, _KNOWN (events checked from SIMLOG),
# _KNOWN_BAD, _MATCHING (clients the cause applies to, with a measured
# lift), _LIFT_MATCHING (their mean lift), _LIFT_MIN_MATCHING, _OTHERS,
# _LIFT_OTHERS, _LIFT_MAX_OTHERS.  Problems go to stderr (the first 20).
e2e_sim_check() {
    local out
    out=$(perl -MJSON::PP -e '
        my ($topic, $truthf, $simlog) = @ARGV;
        open my $tf, "<", $truthf or die "$truthf: $!";
        my $truth = decode_json(do { local $/; <$tf> });
        my %cl = map { $_->{id} => $_ } @{ $truth->{clients} };
        my %types = map { $_ => 1 } qw(CpuMeasurement FileTransferStarted
            FileTransferProgress FileTransferCompleted AppOpened AppClosed);
        my $allow = $truth->{eventTypeAllow} // "";
        $allow =~ s/^mcpu_event_type_allow\s+//; $allow =~ s/;$//;
        $types{$_} = 1 for split " ", $allow;
        my ($start, $end) = ($truth->{startMs}, $truth->{endMs});
        my (@bad, %n, %ev, %cpu, %count);
        my $bad = sub { push @bad, $_[0] if @bad < 20; $n{bad}++ };

        open my $t, "<", $topic or die "$topic: $!";
        while (my $line = <$t>) {
            chomp $line;
            $n{records}++;
            my ($key, $v) = split /\t/, $line, 2;
            my ($id, $ver, $os, $osv) = $v =~
                /"client":\{"id":"([^"]*)","version":"([^"]*)","os":"([^"]*)","osVersion":"([^"]*)"\}/
                or do { $bad->("record without client metadata: " . substr($v, 0, 120)); next };
            my ($e) = $v =~ /"event":(\{.*\})\}$/
                or do { $bad->("record without event: " . substr($v, 0, 120)); next };
            my $c = $cl{$id} or do { $bad->("record of an unknown client $id"); next };
            $bad->("$id: key \"$key\" is not the client id") if $key ne $id;
            $bad->("$id: metadata $ver/$os/$osv, truth $c->{version}/$c->{os}/$c->{osVersion}")
                if $ver ne $c->{version} || $os ne $c->{os} || $osv ne $c->{osVersion};
            my ($type) = $e =~ /^\{"type":"([A-Za-z0-9]+)"/;
            my ($time) = $e =~ /"time":(\d+)/;
            my ($seq) = $e =~ /"seq":(\d+)/;
            my ($sid) = $e =~ /"sessionId":"(s-[0-9a-f]{12}-\d+)"/;
            unless (defined $type && $types{$type} && defined $time && defined $seq && defined $sid) {
                $bad->("$id: event without a known type, time, seq or sessionId: $e");
                next;
            }
            $bad->("$id seq $seq: time $time outside $start..$end") if $time < $start || $time > $end;
            next if $count{$id}{$seq}++;
            $n{unique}++;
            $ev{$id}{$seq} = [$type, $time, $sid];
            if ($type eq "CpuMeasurement") {
                my ($u) = $e =~ /"usage":\{([^}]*)\}/;
                my @v = ($u // "") =~ /"\d+":(\d+(?:\.\d+)?)/g;
                my $sum = 0; $sum += $_ for @v;
                $bad->("$id seq $seq: " . scalar(@v) . " cores, truth $c->{cores}: $e")
                    if @v != $c->{cores} || grep { $_ > 100 } @v;
                push @{ $cpu{$id} }, [$time, @v ? $sum / @v : 0];
            } elsif ($type =~ /^FileTransfer/) {
                $bad->("$id seq $seq: no transferId: $e") unless $e =~ /"transferId":"t-[0-9a-f]{12}-\d+"/;
            } elsif ($type !~ /^App/) {
                $bad->("$id seq $seq: no attributes.activityId: $e")
                    unless $e =~ /"attributes":\{"activityId":"a-[0-9a-f]{12}-\d+"/;
            }
        }

        # completeness and order, per client: seqs, sessions
        for my $c (values %cl) {
            my $id = $c->{id};
            my $first = $c->{firstSeq} + $c->{refused};
            for my $s ($first .. $c->{lastSeq}) {
                next if $ev{$id}{$s};
                $n{missing}++;
                $bad->("$id: seq $s is not in the topic");
            }
            for my $s (keys %{ $ev{$id} }) {
                $bad->("$id: seq $s was not generated in this run (firstSeq $c->{firstSeq}, refused $c->{refused}, lastSeq $c->{lastSeq})")
                    if $s < $first || $s > $c->{lastSeq};
            }
            $n{duplicates} += $_ - 1 for values %{ $count{$id} };
            my ($session, $open) = (undef, 0);
            for my $s (sort { $a <=> $b } keys %{ $ev{$id} }) {
                my ($type, $time, $sid) = @{ $ev{$id}{$s} };
                if ($type eq "AppOpened") {
                    $bad->("$id seq $s: AppOpened inside a session") if $open;
                    $bad->("$id seq $s: AppOpened with sessionId $sid") if $sid !~ /-$s$/;
                    ($session, $open) = ($sid, 1);
                    next;
                }
                # events of a session whose opening was refused as too old
                # cannot be checked against it
                next unless defined $session;
                $bad->("$id seq $s: $type outside a session") unless $open;
                $bad->("$id seq $s: $type with sessionId $sid in session $session") if $sid ne $session;
                $open = 0 if $type eq "AppClosed";
            }
        }

        # events GET said the server had: in the topic, once
        if ($simlog) {
            open my $l, "<", $simlog or die "$simlog: $!";
            while (<$l>) {
                next unless /client (\S+): the server has seq \d+: \d+ spooled events .*\(seq (\d+)\.\.(\d+)\)/;
                for my $s ($2 .. $3) {
                    $n{known}++;
                    my $k = $count{$1}{$s} // 0;
                    next if $k == 1;
                    $n{known_bad}++;
                    $bad->("$1 seq $s: the simulator did not resend it (GET said the server had it) and the topic has it $k times");
                }
            }
        }

        # the cause: mean CPU in a window after each cause event, against
        # the client baseline
        my ($cause) = @{ $truth->{causes} };
        my (@match, @other);
        if ($cause) {
            my $from = ($cause->{delayS}[1] + 2) * 1000;
            my $to = $cause->{untilCompleted} ? $from + 10000
                     : ($cause->{delayS}[0] + $cause->{durationS}[0]) * 1000;
            $to = $from + 10000 if $to > $from + 10000;
            for my $c (values %cl) {
                my $m = $cpu{$c->{id}} or next;
                my @s = sort { $a <=> $b } map { $_->[1] } @$m;
                my $base = $s[int(@s / 5)];
                my ($sum, $k) = (0, 0);
                for my $s (keys %{ $ev{$c->{id}} }) {
                    my ($type, $time) = @{ $ev{$c->{id}}{$s} };
                    next unless $type eq $cause->{event};
                    my @w = grep { $_->[0] >= $time + $from && $_->[0] <= $time + $to } @$m;
                    next unless @w;
                    my $mean = 0; $mean += $_->[1] for @w; $mean /= @w;
                    $sum += $mean - $base; $k++;
                }
                next unless $k;
                my $applies = grep { $_ == $cause->{line} } @{ $c->{rules} };
                push @{ $applies ? \@match : \@other }, $sum / $k;
            }
        }
        my $mean = sub { my $s = 0; $s += $_ for @_; @_ ? $s / @_ : 0 };
        my @sm = sort { $a <=> $b } @match;
        my @so = sort { $a <=> $b } @other;
        print STDERR "$_\n" for @bad;
        printf "%d %d %d %d %d %d %d %d %.1f %.1f %d %.1f %.1f\n",
            $n{records} // 0, $n{unique} // 0, $n{duplicates} // 0, $n{missing} // 0,
            $n{bad} // 0, $n{known} // 0, $n{known_bad} // 0,
            scalar @match, $mean->(@match), @sm ? $sm[0] : 0,
            scalar @other, $mean->(@other), @so ? $so[-1] : 0;
    ' "$1" "$2" "${3:-}") || e2e_fail "e2e_sim_check: the checker failed"
    read -r E2E_SIM_RECORDS E2E_SIM_UNIQUE E2E_SIM_DUPLICATES E2E_SIM_MISSING \
        E2E_SIM_BAD E2E_SIM_KNOWN E2E_SIM_KNOWN_BAD E2E_SIM_MATCHING \
        E2E_SIM_LIFT_MATCHING E2E_SIM_LIFT_MIN_MATCHING E2E_SIM_OTHERS \
        E2E_SIM_LIFT_OTHERS E2E_SIM_LIFT_MAX_OTHERS <<< "$out"
    e2e_log "topic: $E2E_SIM_RECORDS records, $E2E_SIM_UNIQUE events, $E2E_SIM_DUPLICATES" \
            "duplicates, $E2E_SIM_MISSING missing, $E2E_SIM_BAD problems; cause lift:" \
            "$E2E_SIM_MATCHING clients it applies to: mean $E2E_SIM_LIFT_MATCHING, least" \
            "$E2E_SIM_LIFT_MIN_MATCHING; $E2E_SIM_OTHERS others: mean $E2E_SIM_LIFT_OTHERS," \
            "most $E2E_SIM_LIFT_MAX_OTHERS"
}
