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
