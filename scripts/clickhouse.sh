#!/usr/bin/env bash
# scripts/clickhouse.sh: a ClickHouse server of mcpu's own, a child of
# whoever starts it, everything under one work directory, 127.0.0.1 only.
#
#   scripts/clickhouse.sh start WORKDIR [HTTP_PORT]
#       starts clickhouse-server with store/clickhouse.xml.in (free ports
#       unless HTTP_PORT is given), waits until it answers, applies
#       store/schema.sql, writes WORKDIR/clickhouse.url (http://127.0.0.1:PORT)
#       and WORKDIR/clickhouse.pid, prints the URL.  The data stay in
#       WORKDIR/data: starting again on the same WORKDIR keeps them.
#   scripts/clickhouse.sh stop WORKDIR
#       SIGTERM, then waits for it to end (SIGKILL after 30 s).
#   scripts/clickhouse.sh query WORKDIR SQL
#       runs one statement over HTTP, prints the answer.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cmd=${1:?usage: clickhouse.sh start|stop|query WORKDIR ...}
work=${2:?usage: clickhouse.sh start|stop|query WORKDIR ...}
server=$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)

free_port() {
    perl -MIO::Socket::INET -e \
        'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0")->sockport'
}

query() {
    curl -sS --fail-with-body --max-time 60 "$(cat "$work/clickhouse.url")/" --data-binary "$1"
}

# the statements of a .sql file one by one: ClickHouse's HTTP interface
# takes one per request
apply_sql() {
    perl -0777 -ne 's/--[^\n]*//g; print "$_\0" for grep { /\S/ } split /;\s*/' "$1" |
        while IFS= read -r -d '' stmt; do
            query "$stmt" > /dev/null
        done
}

case $cmd in
start)
    [ -x "$server" ] || { echo "clickhouse.sh: clickhouse-server not found (scripts/install-deps.sh)" >&2; exit 1; }
    if [ -s "$work/clickhouse.pid" ] && kill -0 "$(cat "$work/clickhouse.pid")" 2>/dev/null; then
        cat "$work/clickhouse.url"; exit 0
    fi
    mkdir -p "$work/log" "$work/data" "$work/tmp"
    http=${3:-$(free_port)}
    tcp=$(free_port)
    sed -e "s|@WORK@|$work|g" -e "s|@HTTP_PORT@|$http|g" -e "s|@TCP_PORT@|$tcp|g" \
        "$top/store/clickhouse.xml.in" > "$work/clickhouse.xml"
    echo "http://127.0.0.1:$http" > "$work/clickhouse.url"
    "$server" --config-file="$work/clickhouse.xml" > "$work/log/stdout.log" 2>&1 &
    echo $! > "$work/clickhouse.pid"
    for _ in $(seq 300); do
        curl -s --max-time 1 "http://127.0.0.1:$http/ping" > /dev/null 2>&1 && break
        kill -0 "$(cat "$work/clickhouse.pid")" 2>/dev/null \
            || { echo "clickhouse.sh: clickhouse-server exited; see $work/log" >&2; exit 1; }
        sleep 0.1
    done
    curl -s --max-time 1 "http://127.0.0.1:$http/ping" > /dev/null \
        || { echo "clickhouse.sh: no answer on port $http after 30 s; see $work/log" >&2; exit 1; }
    apply_sql "$top/store/schema.sql"
    cat "$work/clickhouse.url"
    ;;
stop)
    [ -s "$work/clickhouse.pid" ] || exit 0
    pid=$(cat "$work/clickhouse.pid")
    kill -TERM "$pid" 2>/dev/null || { rm -f "$work/clickhouse.pid"; exit 0; }
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$work/clickhouse.pid"
    ;;
query)
    query "${3:?usage: clickhouse.sh query WORKDIR SQL}"
    ;;
*)
    echo "usage: clickhouse.sh start|stop|query WORKDIR ..." >&2
    exit 2
    ;;
esac
