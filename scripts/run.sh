#!/usr/bin/env bash
# `make run`: the whole pipeline with events flowing.  Starts the local
# Kafka, ClickHouse, nginx with the module, the batcher, mcpu-dedup and
# mcpu-sink, posts sample events (one of them twice), shows them in the raw
# and the clean topic, then runs mcpu-sim (MCPU_RUN_CLIENTS clients over
# MCPU_RUN_HOURS simulated hours, scenario MCPU_RUN_SCENARIO, by default
# sim/cause-transfer.conf), writes mcpu-report's page, serves it through
# the same nginx and prints its address; keeps everything up until Ctrl-C,
# and stops it all.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/build
work=${MCPU_RUN_DIR:-$top/build/run}
topic=mcpu.events
clean=mcpu.events.clean
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

port=${MCPU_PORT:-8080}
port_free "$port" || port=$(perl -MIO::Socket::INET -e \
    'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0")->sockport')

pids=()
stop_all() {
    trap - EXIT INT TERM
    echo
    echo "stopping: sink, dedup, batcher (flushes what is in flight), nginx, ClickHouse, kafka"
    [ -n "${sink_pid:-}" ] && kill -TERM "$sink_pid" 2>/dev/null && wait "$sink_pid" 2>/dev/null
    [ -n "${dedup_pid:-}" ] && kill -TERM "$dedup_pid" 2>/dev/null && wait "$dedup_pid" 2>/dev/null
    [ -n "${batcher_pid:-}" ] && kill -TERM "$batcher_pid" 2>/dev/null && wait "$batcher_pid" 2>/dev/null
    [ -n "${nginx_pid:-}" ] && kill -QUIT "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
    [ -n "${ch_started:-}" ] && "$top/scripts/clickhouse.sh" stop "$work/clickhouse"
    [ -n "${kafka_pid:-}" ] && kill -TERM "$kafka_pid" 2>/dev/null && wait "$kafka_pid" 2>/dev/null
    echo "stopped; logs, the ring, the state and the store are in $work"
}
trap stop_all EXIT
trap 'exit 0' INT TERM

rm -rf "$work"
mkdir -p "$work/nginx/logs"

# authentication is on: a fresh HS256 demo key, and tokens made with it
"$bin/mcpu-token" --gen-key HS256 --out "$work/demo"
token() { "$bin/mcpu-token" --key "$work/demo.secret" --alg HS256 --sub "$1" --exp 86400; }

# 32 partitions: the local Kafka keeps about 5 MiB per partition (it drops
# the oldest silently), and the simulator's run must fit whole
"$bin/mcpu-kafka" -t "$topic:32" -t "$clean:32" -t mcpu.last-seen:4 -f "$work/kafka.addr" > /dev/null 2> "$work/kafka.log" &
kafka_pid=$!
for _ in $(seq 100); do [ -s "$work/kafka.addr" ] && break; sleep 0.05; done
brokers=$(cat "$work/kafka.addr")

ch_started=1
ch_url=$("$top/scripts/clickhouse.sh" start "$work/clickhouse")

scenario=${MCPU_RUN_SCENARIO:-$top/sim/cause-transfer.conf}
allow=$("$bin/mcpu-sim" -c "$scenario" -t | grep '^mcpu_event_type_allow ' || true)
mkdir -p "$work/report"
sed -e "s|@WORK@|$work|g" -e "s|@PORT@|$port|g" -e "s|@USER@|$(id -un) $(id -gn)|g" -e "s|@MODULE@|$bin/ngx_http_mcpu_module.so|g" \
    -e "s|@TYPE_ALLOW@|$allow|g" \
    "$top/conf/nginx-run.conf" > "$work/nginx/nginx.conf"
"$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx.log" &
nginx_pid=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done

"$bin/mcpu-batcher" --ring "$work/ring" --brokers "$brokers" --topic "$topic" \
    >> "$work/batcher.log" 2>&1 &
batcher_pid=$!

# a short rebalance wait: the local Kafka's groups wait session.timeout.ms
"$bin/mcpu-dedup" --brokers "$brokers" --input-topic "$topic" --output-topic "$clean" \
    --state-dir "$work/dedup" --metrics-file "$work/dedup.prom" --metrics-interval-ms 1000 \
    -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 >> "$work/dedup.log" 2>&1 &
dedup_pid=$!

"$bin/mcpu-sink" --brokers "$brokers" --topic "$clean" --clickhouse-url "$ch_url" \
    --metrics-file "$work/sink.prom" --metrics-interval-ms 1000 \
    -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 >> "$work/sink.log" 2>&1 &
sink_pid=$!

url=http://127.0.0.1:$port/event
cat <<INFO

mcpu is running:
  Kafka (local, librdkafka mock)  $brokers   topic $topic
  nginx with ngx_http_mcpu_module  $url
  mcpu-batcher                     ring $work/ring
  mcpu-dedup                       $topic -> $clean, metrics $work/dedup.prom
  mcpu-sink                        $clean -> ClickHouse $ch_url (table mcpu.events)
  logs                             $work/*.log

Posting sample events:
INFO

post() {
    printf '  %-70s -> ' "$2"
    curl -s -w ' (%{http_code})\n' -X POST -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $(token "$1")" -H 'Client-Version: 6.04' -H 'Client-Os: Windows' \
        -H 'Os-Version: 10.0.19045' --data "$2" "$url" | tr -d '\n'
    echo
}
now=$(date +%s%3N)
post demo-client-1 "{\"type\":\"AppOpened\",\"time\":$now}"
post demo-client-1 "{\"type\":\"CpuMeasurement\",\"time\":$now,\"seq\":1,\"usage\":{\"0\":12.5,\"1\":81}}"
echo "  (the same event again, as a client that got no answer resends it:)"
post demo-client-1 "{\"type\":\"CpuMeasurement\",\"time\":$now,\"seq\":1,\"usage\":{\"0\":12.5,\"1\":81}}"
post demo-client-2 "{\"type\":\"FileTransferStarted\",\"time\":\"$(date -u +%FT%T.%3NZ)\",\"transferId\":\"t-1\"}"
post demo-client-2 '{"type":"CpuMeasurement","time":"not a time","usage":{"0":1}}'
printf '  %-70s -> ' "(an NDJSON batch of 2 events)"
printf '{"type":"AppOpened","time":%s}\n{"type":"AppClosed","time":%s}\n' "$now" "$now" |
    curl -s -w ' (%{http_code})' -X POST -H 'Content-Type: application/x-ndjson' \
        -H "Authorization: Bearer $(token demo-client-3)" --data-binary @- "$url" | tr -d '\n'
echo
printf '  %-70s -> ' "(a stream of 1000 lines in one chunked POST)"
perl "$top/tests/e2e/ndjson_lines.pl" 1000 demo- |
    curl -s -w ' (%{http_code})' -X POST -T - -H 'Content-Type: application/x-ndjson' \
        -H "Authorization: Bearer $(token demo-client-4)" "$url" | tr -d '\n'
echo
printf '  %-70s -> ' "(no token)"
curl -s -w ' (%{http_code})' -X POST -H 'Content-Type: application/json' \
    --data '{"type":"AppOpened","time":1}' "$url" | tr -d '\n'
echo

echo
echo "In Kafka (key, then the record), read with kcat:"
for _ in $(seq 100); do
    n=$(kcat -b "$brokers" -t "$topic" -C -e -q -f '.\n' 2>/dev/null | wc -l)
    [ "$n" -ge 5 ] && break
    sleep 0.1
done
kcat -b "$brokers" -t "$topic" -C -e -q -f '  %k  %s\n' 2>/dev/null | head -n 6 || true
raw_n=$(kcat -b "$brokers" -t "$topic" -C -e -q -f '.\n' 2>/dev/null | wc -l)
echo "  ... $raw_n records in all"

echo
echo "In the clean topic, after mcpu-dedup (the resent event once):"
for _ in $(seq 200); do
    read_n=$(sed -n 's/^mcpu_dedup_records_read_total //p' "$work/dedup.prom" 2>/dev/null)
    [ "${read_n:-0}" -ge "$raw_n" ] && break
    sleep 0.1
done
echo "  $(kcat -b "$brokers" -t "$clean" -C -e -q -f '.\n' 2>/dev/null | wc -l) records;" \
     "mcpu-dedup's counters:"
grep -E '^mcpu_dedup_(records|duplicates|exact)' "$work/dedup.prom" 2>/dev/null | sed 's/^/    /' || true

echo
echo "The last event Kafka acknowledged for demo-client-4 (GET on the ingest location):"
for _ in $(seq 100); do
    seen=$(curl -s -w '%{http_code}' -H "Authorization: Bearer $(token demo-client-4)" "$url")
    [ "${seen: -3}" = 200 ] && break
    sleep 0.1
done
echo "  ${seen%???}"

clients=${MCPU_RUN_CLIENTS:-100}
hours=${MCPU_RUN_HOURS:-3}
echo
echo "mcpu-sim: $clients clients, $hours simulated hours, scenario $scenario:"
"$bin/mcpu-sim" -c "$scenario" --url "$url" --key "$work/demo.secret" --clients "$clients" \
    --hours "$hours" --spool "$work/sim.spool" --truth "$work/sim.truth.json" \
    --log-file "$work/sim.log" | tee "$work/sim.out" | sed 's/^/  /'
accepted=$(sed -n 's/.* accepted=\([0-9]*\).*/\1/p' "$work/sim.out" | tail -n 1)
stored() { "$top/scripts/clickhouse.sh" query "$work/clickhouse" "SELECT count() FROM mcpu.events FINAL"; }
echo "  waiting for mcpu-dedup and mcpu-sink to store them in ClickHouse ..."
for _ in $(seq 300); do
    n=$(stored)
    [ "$n" -ge "${accepted:-1}" ] && break
    sleep 0.2
done
echo "  $(stored) events in ClickHouse (mcpu.events FINAL) of $accepted accepted"

"$bin/mcpu-report" --url "$ch_url" --html "$work/report/index.html" 2> "$work/report.log" \
    && "$bin/mcpu-report" --url "$ch_url" --json > "$work/report/report.json" 2>> "$work/report.log" \
    || echo "  mcpu-report failed: see $work/report.log"
echo
echo "What mcpu-report finds (the planted cause: $(grep -m1 '^cause' "$scenario")):"
perl -MJSON::PP -e 'local $/; my $r = decode_json(<STDIN>); my $i = 0;
    for my $s (@{ $r->{suspects} }[0 .. 2]) { next unless $s; $i++;
        printf "  %d. %s on %s / %s: lift %.1f (%d occurrences, %d clients)\n", $i,
            $s->{event}, $s->{version} // "every version", $s->{os} // "every OS",
            $s->{lift}, $s->{support}, $s->{clients} }' < "$work/report/report.json" 2>/dev/null || true

cat <<INFO

The report:  http://127.0.0.1:$port/report/   (JSON: http://127.0.0.1:$port/report/report.json)

Send one by hand (this token is valid for 24 hours, its sub is "me"):
  curl -i -X POST -H 'Content-Type: application/json' \\
       -H 'Authorization: Bearer $(token me)' \\
       --data '{"type":"AppOpened","time":'\$(date +%s%3N)'}' $url
Its last event seen:
  curl -H 'Authorization: Bearer $(token me)' $url
More tokens: $bin/mcpu-token --key $work/demo.secret --alg HS256 --sub ID
Watch the topics:
  kcat -b $brokers -t $topic -C -f '%k %s\\n'
  kcat -b $brokers -t $clean -C -f '%k %s\\n'

Press Ctrl-C to stop everything.
INFO

wait "$batcher_pid"
