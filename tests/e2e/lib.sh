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
