#!/usr/bin/env bash
# bench/run.sh: the benchmarks side by side, run by `make bench`; writes
# bench/RESULTS.md.  A measurement, not a test: targets are reported
# met/missed, never asserted.
#
# One local Kafka (mcpu-kafka), one nginx (the same workers for every
# scenario), one batcher on a large ring.  Each round runs, back to back:
#   1    ceiling  the same request to a location that only does `return 204;`
#   2    hs256    mcpu, one event per request, HS256 token (token cache warm)
#   2b   nojwt    the same request to an otherwise identical location with
#                 `mcpu_jwt off;` (what JWT verification costs)
#   3    ndjson   mcpu, NDJSON batches of 100 events per request, HS256
#   4    kafka    bench/kafka-ceiling.sh when it exists: the batcher draining a
#                 full ring against a plain librdkafka producer (key=value lines)
# and the rounds repeat (BENCH_ROUNDS, at least 3), so that each ratio is the
# median of the ratios of the pairs of one round.  Then, unless
# BENCH_STREAM_EVENTS=0, bench/stream-memory.sh BENCH_STREAM_EVENTS (one
# streamed NDJSON body, the worker's RSS sampled).
#
# Per scenario: requests/s and events/s accepted (wrk; events from the
# module's mcpu_events_accepted_total), events/s that reached Kafka (the sum
# of the topic's high watermarks, kcat -Q, before and after the run: the
# local Kafka keeps only ~5 MiB per partition, so offsets are counted, not
# records), latency p50/p99 (wrk --latency), nginx CPU per event (utime +
# stime of the workers, /proc/PID/stat, over the run), peak RSS (VmHWM) of
# the workers and the batcher.  After each run the ring is left to drain.
#
# Knobs (environment): BUILD (programs, default build), BENCH_SECONDS (5),
# BENCH_ROUNDS (3), BENCH_CONNECTIONS (64), BENCH_THREADS (1), BENCH_WORKERS
# (nproc, as `worker_processes auto`), BENCH_PIN (1, for one worker only:
# the worker on CPU 0, wrk on CPU 1; 0: no pinning, the default with more
# workers), BENCH_RING_SIZE (256m), BENCH_STREAM_EVENTS (10000000; 0 skips),
# BENCH_KAFKA_CEILING (0 skips scenario 4), BENCH_RESULTS (output file,
# default bench/RESULTS.md), E2E_KEEP=1 (keep the work directory).
#   make bench
#   BENCH_ROUNDS=1 BENCH_SECONDS=2 BENCH_STREAM_EVENTS=0 bench/run.sh   # quick

export E2E_PARTITIONS=${E2E_PARTITIONS:-16}
. "$(dirname "$0")/../tests/e2e/lib.sh"

SECS=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-1}
WORKERS=${BENCH_WORKERS:-$(nproc)}   # as worker_processes auto
PIN=${BENCH_PIN:-$(( WORKERS == 1 ))}   # pinning is for one worker only
RING_SIZE=${BENCH_RING_SIZE:-256m}
STREAM_EVENTS=${BENCH_STREAM_EVENTS:-10000000}
KAFKA_CEILING=${BENCH_KAFKA_CEILING:-1}
OUT=${BENCH_RESULTS:-$E2E_TOP/bench/RESULTS.md}
LINES=100
CLK_TCK=$(getconf CLK_TCK)
BENCH_T0=$SECONDS
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

command -v wrk > /dev/null || e2e_fail "bench: needs wrk (scripts/install-deps.sh)"
command -v kcat > /dev/null || e2e_fail "bench: needs kcat (scripts/install-deps.sh)"
for p in ngx_http_mcpu_module.so mcpu-batcher mcpu-kafka mcpu-token; do
    [ -e "$E2E_BIN/$p" ] || e2e_fail "bench: $E2E_BIN/$p missing: make all${BUILD:+ BUILD=$BUILD}"
done

W=$E2E_WORK
mkdir -p "$W/results"

# --- the pipeline: Kafka, nginx, batcher
e2e_start_kafka

"$E2E_BIN/mcpu-token" --gen-key HS256 --out "$W/hs" > /dev/null
TOKEN=$("$E2E_BIN/mcpu-token" --key "$W/hs.secret" --alg HS256 --sub bench-client --exp 86400)
export TOKEN LINES

user=
[ "$(id -u)" -ne 0 ] || user='user root;'
affinity=
wrk_cmd=(wrk)
if [ "$PIN" = 1 ]; then
    [ "$WORKERS" = 1 ] || e2e_fail "bench: BENCH_PIN=1 is for BENCH_WORKERS=1"
    affinity="worker_cpu_affinity 01;"
    wrk_cmd=(taskset -c 1 wrk)
fi
E2E_PORT=$(e2e_free_port)
mkdir -p "$W/nginx/logs"
cat > "$W/nginx/nginx.conf" <<CONF
daemon off;
master_process on;
$user
worker_processes $WORKERS;
$affinity
error_log $W/nginx.log info;
pid $W/nginx/logs/nginx.pid;
load_module $E2E_BIN/ngx_http_mcpu_module.so;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $W/nginx/body;
    client_max_body_size 1m;
    client_body_buffer_size 64k;
    mcpu_ring $W/ring size=$RING_SIZE lanes=$(( WORKERS < 2 ? 2 : WORKERS ));
    mcpu_jwt_cache 1024;
    server {
        listen 127.0.0.1:$E2E_PORT backlog=1024 reuseport;
        mcpu_jwt_key $W/hs.secret alg=HS256;
        location = /ceiling { return 204; }
        location = /event { mcpu_ingest; }
        location = /event-nojwt { mcpu_ingest; mcpu_jwt off; }
        location = /status { mcpu_status; mcpu_jwt off; }
    }
}
CONF
"$E2E_NGINX" -p "$W/nginx" -c "$W/nginx/nginx.conf" -e "$W/nginx.log" &
E2E_NGINX_PID=$!
E2E_NGINX_PIDS="$E2E_NGINX_PIDS $E2E_NGINX_PID"
E2E_NGINX_WORKERS=$WORKERS
e2e_wait e2e_nginx_ready "$E2E_NGINX_PID" || e2e_fail "nginx did not start its workers"
BASE=http://127.0.0.1:$E2E_PORT
e2e_wait curl -sf -o /dev/null "$BASE/status" || e2e_fail "nginx does not answer"
e2e_start_batcher
e2e_log "nginx at $BASE, $WORKERS worker(s); batcher pid $E2E_BATCHER_PID"

status() { curl -sf -m 5 "$BASE/status"; }
# metric NAME: its value on the status page (0 when absent)
metric() { status | awk -v m="$1" '$1 == m { v = $2 } END { print v + 0 }'; }
batcher_up() { [ "$(metric mcpu_batcher_up)" = 1 ] && [ "$(metric mcpu_batcher_kafka_up)" = 1 ]; }
ring_drained() { [ "$(metric mcpu_ring_used_bytes)" = 0 ]; }

# the sum of the high watermarks of the topic's partitions
kafka_hw() {
    local args=() p
    for ((p = 0; p < E2E_PARTITIONS; p++)); do args+=(-t "$E2E_TOPIC:$p:-1"); done
    kcat -b "$E2E_BROKERS" -Q "${args[@]}" 2>> "$W/kcat.log" \
        | awk '/ offset / { s += $NF; n++ } END { if (n == 0) exit 1; print s }'
}

workers() { e2e_nginx_workers "$E2E_NGINX_PID"; }
# CPU ticks (utime + stime) of the workers; the comm field has no spaces here
workers_cpu() {
    local w s=0
    for w in $(workers); do
        s=$(( s + $(awk '{ print $14 + $15 }' "/proc/$w/stat") ))
    done
    echo "$s"
}
# hwm PID...: the largest VmHWM (kB) of the processes
hwm() {
    local p m=0 v
    for p in "$@"; do
        v=$(awk '/^VmHWM/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
        [ "${v:-0}" -le "$m" ] || m=$v
    done
    echo "$m"
}
rss_anon() {
    local p m=0 v
    for p in "$@"; do
        v=$(awk '/^RssAnon/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
        [ "${v:-0}" -le "$m" ] || m=$v
    done
    echo "$m"
}

e2e_wait batcher_up || e2e_fail "the batcher is not attached, or Kafka is not up"
hw=$(kafka_hw) || e2e_fail "kcat -Q cannot read the topic's offsets"

# the wrk command of a scenario (what RESULTS.md shows)
wrk_line() {   # script path
    echo "wrk -t$THREADS -c$CONNS -d${SECS}s --latency -s bench/wrk/$1 $BASE$2"
}

# run NAME SCRIPT PATH ROUND: one measured run; appends a key=value line to
# $W/results/NAME
run() {
    local name=$1 script=$2 path=$3 round=$4 out=$W/wrk-$1-$4.txt
    local acc0 acc1 hw0 hw1 hwd cpu0 cpu1 t0 t1 n2xx refused0 refused1 e0 e1
    acc0=$(metric mcpu_events_accepted_total)
    refused0=$(status | awk '$1 ~ /^mcpu_events_refused_total/ { s += $2 } END { print s + 0 }')
    e0=$(status | awk '$1 ~ /^mcpu_error_responses_total/ { s += $2 } END { print s + 0 }')
    hw0=$(kafka_hw)
    cpu0=$(workers_cpu)
    t0=$(date +%s%N)
    "${wrk_cmd[@]}" -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency \
        -s "$E2E_TOP/bench/wrk/$script" "$BASE$path" > "$out" 2>&1 \
        || e2e_fail "wrk failed: $(cat "$out")"
    cpu1=$(workers_cpu)
    hw1=$(kafka_hw)
    t1=$(date +%s%N)
    acc1=$(metric mcpu_events_accepted_total)
    refused1=$(status | awk '$1 ~ /^mcpu_events_refused_total/ { s += $2 } END { print s + 0 }')
    e1=$(status | awk '$1 ~ /^mcpu_error_responses_total/ { s += $2 } END { print s + 0 }')
    e2e_wait ring_drained || e2e_log "bench: the ring did not drain within ${E2E_WAIT_S:-60} s"
    hwd=$(kafka_hw)
    perl -e '
        my ($name, $round, $file, $acc, $hw, $hwd, $cpu, $ns, $tck, $ref, $err, $whwm, $bhwm, $wanon, $banon) = @ARGV;
        open my $fh, "<", $file or die "$file: $!";
        my %r = (scenario => $name, round => $round);
        my $us = sub { my ($v, $u) = @_; $v * { us => 1, ms => 1e3, s => 1e6, m => 6e7 }->{$u} };
        while (<$fh>) {
            $r{requests} = $1, $r{secs} = $2 if /^\s*(\d+) requests in ([\d.]+)s/;
            $r{non2xx} = $1 if /Non-2xx or 3xx responses: (\d+)/;
            $r{sockerr} = "$1/$2/$3/$4" if /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/;
            $r{p50_us} = $us->($1, $2) if /^\s*50%\s+([\d.]+)(us|ms|s|m)\b/;
            $r{p99_us} = $us->($1, $2) if /^\s*99%\s+([\d.]+)(us|ms|s|m)\b/;
        }
        die "cannot read wrk output $file\n" unless $r{requests} && defined $r{p99_us};
        $r{non2xx} //= 0;
        my $ok = $r{requests} - $r{non2xx};
        # the ceiling accepts no event: its "event" is the request
        my $events = $name eq "ceiling" ? $ok : $acc;
        $r{rps} = sprintf "%.0f", $r{requests} / $r{secs};
        $r{rps_2xx} = sprintf "%.0f", $ok / $r{secs};
        $r{events} = $events;
        $r{eps} = sprintf "%.0f", $events / $r{secs};
        $r{kafka_eps} = sprintf "%.0f", $hw / ($ns / 1e9);
        $r{kafka_after_drain} = $hwd;
        $r{cpu_us_per_event} = $events ? sprintf("%.2f", $cpu * 1e6 / $tck / $events) : "-";
        $r{cpu_pct} = sprintf "%.0f", 100 * $cpu / $tck / ($ns / 1e9);
        $r{refused_events} = $ref;
        $r{error_answers} = $err;
        $r{worker_hwm_kb} = $whwm;
        $r{worker_anon_kb} = $wanon;
        $r{batcher_hwm_kb} = $bhwm;
        $r{batcher_anon_kb} = $banon;
        print join(" ", map { "$_=" . ($r{$_} // "-") } qw(scenario round requests secs rps rps_2xx non2xx
            sockerr events eps kafka_eps kafka_after_drain p50_us p99_us cpu_us_per_event cpu_pct
            refused_events error_answers worker_hwm_kb worker_anon_kb batcher_hwm_kb batcher_anon_kb)), "\n";
    ' "$name" "$round" "$out" $((acc1 - acc0)) $((hw1 - hw0)) $((hwd - hw0)) $((cpu1 - cpu0)) \
        $((t1 - t0)) "$CLK_TCK" $((refused1 - refused0)) $((e1 - e0)) \
        "$(hwm $(workers))" "$(hwm "$E2E_BATCHER_PID")" "$(rss_anon $(workers))" \
        "$(rss_anon "$E2E_BATCHER_PID")" \
        | tee -a "$W/results/$name" >&2
}

# --- warm-up: connections, the token cache, and every page of the ring
# (NDJSON for 3 s writes more than 256m: no run pays for first touches)
e2e_log "warm-up"
"${wrk_cmd[@]}" -t1 -c"$CONNS" -d3s -s "$E2E_TOP/bench/wrk/ndjson.lua" "$BASE/event" > /dev/null
"${wrk_cmd[@]}" -t1 -c"$CONNS" -d1s -s "$E2E_TOP/bench/wrk/event.lua" "$BASE/event" > /dev/null
"${wrk_cmd[@]}" -t1 -c"$CONNS" -d1s -s "$E2E_TOP/bench/wrk/event.lua" "$BASE/ceiling" > /dev/null
e2e_wait ring_drained || true

kc=$E2E_TOP/bench/kafka-ceiling.sh
have_kc=
[ "$KAFKA_CEILING" != 0 ] && [ -f "$kc" ] && have_kc=1

for r in $(seq "$ROUNDS"); do
    e2e_log "round $r of $ROUNDS"
    run ceiling event.lua /ceiling "$r"
    run hs256 event.lua /event "$r"
    run nojwt event.lua /event-nojwt "$r"
    run ndjson ndjson.lua /event "$r"
    if [ -n "$have_kc" ]; then
        # scenario 4: its own script (key=value lines); it is told our Kafka
        e2e_log "kafka-ceiling.sh (round $r)"
        if BUILD=${BUILD:-build} KAFKA_BROKERS=$E2E_BROKERS BENCH_BROKERS=$E2E_BROKERS \
            bash "$kc" > "$W/kc-$r.txt" 2> "$W/kc-$r.err"; then
            # its summary lines in one line; its per-run lines apart
            { printf 'scenario=kafka round=%s' "$r"
              grep -E '^[A-Za-z_][A-Za-z0-9_]*=' "$W/kc-$r.txt" | grep -v '^run=' \
                  | tr '\n' ' ' | sed 's/^/ /; s/ $//'; echo; } | tee -a "$W/results/kafka" >&2
            sed -n "s/^run=/round=$r run=/p" "$W/kc-$r.txt" >> "$W/results/kafka-runs"
        else
            e2e_log "kafka-ceiling.sh failed (round $r): $(tail -3 "$W/kc-$r.err")"
        fi
    fi
done

# --- memory over time
stream_out=
if [ "$STREAM_EVENTS" != 0 ]; then
    e2e_log "stream-memory.sh $STREAM_EVENTS"
    BUILD=${BUILD:-build} bash "$E2E_TOP/bench/stream-memory.sh" "$STREAM_EVENTS" \
        > "$W/stream.txt" 2> "$W/stream.err" \
        || e2e_log "stream-memory.sh failed: $(tail -3 "$W/stream.err")"
    stream_out=$W/stream.txt
fi

# --- bench/RESULTS.md
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
nginx_v=$({ "$E2E_NGINX" -v 2>&1 || true; } | sed 's/^nginx version: //')
rdkafka_v=$(pkg-config --modversion rdkafka 2>/dev/null || echo '?')
wrk_v=$({ wrk -v 2>&1 || true; } | awk 'NR == 1 { print $2; exit }')
kcat_v=$({ kcat -V 2>&1 || true; } | awk '/^Version/ { print $2; exit }')
elapsed=$((SECONDS - BENCH_T0))

report_args=("$W/results" "$OUT" "${stream_out:-}"
    "$(nproc)" "$cpu_model" "$(uname -r)" "$nginx_v" "$rdkafka_v" "$wrk_v" "$kcat_v"
    "$WORKERS" "$THREADS" "$CONNS" "$SECS" "$ROUNDS" "$PIN" "$RING_SIZE" "$E2E_PARTITIONS"
    "$STREAM_EVENTS" "${BUILD:-build}" "$elapsed" "$(cat "$W/nginx/nginx.conf")" "$have_kc" "$LOAD0"
    "$(wrk_line event.lua /ceiling)" "$(wrk_line event.lua /event)"
    "$(wrk_line event.lua /event-nojwt)" "$(wrk_line ndjson.lua /event)")
perl - "${report_args[@]}" <<'PERL'
use strict;
use warnings;
my ($dir, $out, $stream, $nproc, $cpu_model, $kernel, $nginx, $rdkafka, $wrk, $kcat,
    $workers, $threads, $conns, $secs, $rounds, $pin, $ring, $parts, $sevents,
    $build, $elapsed, $conf, $have_kc, $load, @cmds) = @ARGV;

my %runs;   # scenario -> [ {k => v} per round ]
for my $s (qw(ceiling hs256 nojwt ndjson kafka)) {
    open my $fh, "<", "$dir/$s" or next;
    while (<$fh>) {
        my %r = map { /^([^=]+)=(.*)$/ ? ($1, $2) : () } split ' ';
        push @{ $runs{$s} }, \%r;
    }
}
sub median {
    my @v = sort { $a <=> $b } grep { defined && /^-?[\d.]+(e[-+]?\d+)?$/i } @_;
    return undef unless @v;
    return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}
sub col { my ($s, $k) = @_; map { $_->{$k} } @{ $runs{$s} || [] } }
sub med { median(col(@_)) }
# the median over rounds of the ratio a/b of one round's pair
sub pair {
    my ($sa, $ka, $sb, $kb) = @_;
    my @a = col($sa, $ka); my @b = col($sb, $kb);
    my @r;
    for my $i (0 .. $#a) {
        next unless defined $b[$i] && $b[$i] =~ /^[\d.]+$/ && $b[$i] > 0
            && defined $a[$i] && $a[$i] =~ /^[\d.]+$/;
        push @r, $a[$i] / $b[$i];
    }
    return (median(@r), @r);
}
sub sum { my $t = 0; $t += $_ for grep { defined && /^[\d.]+$/ } @_; $t }
sub fmt { my ($v, $d) = @_; defined $v ? sprintf("%.${d}f", $v) : "n/a" }
sub num { my $v = shift; return "n/a" unless defined $v; my $s = sprintf "%.0f", $v;
          1 while $s =~ s/^(\d+)(\d{3})/$1,$2/; $s }
sub mib { my $v = shift; defined $v ? sprintf("%.1f", $v / 1024) : "n/a" }

my @L;
push @L, "# Benchmarks side by side", "",
  "Written by `make bench` (`bench/run.sh`); do not edit by hand. A measurement,",
  "not a test: targets are reported met or missed, never asserted.", "",
  "## Machine", "",
  "- $nproc cores, $cpu_model, kernel $kernel",
  "- nginx $nginx, librdkafka $rdkafka, wrk $wrk" . ($kcat ? ", kcat $kcat" : ""),
  "- programs from `$build/`; run took $elapsed s; load average before it: $load",
  "  (nothing else is stopped: anything else running on the machine shares its cores)", "",
  "## Setup", "",
  "One local Kafka (`mcpu-kafka`, topic `mcpu.events`, $parts partitions), one nginx with",
  "**worker_processes $workers** for every scenario" . ($pin
      ? " (the worker pinned to CPU 0 by `worker_cpu_affinity`, wrk to CPU 1 by `taskset`, the batcher and Kafka unpinned),"
      : " (no CPU pinning: nginx, wrk -t$threads -c$conns, the batcher and Kafka share the $nproc cores),"),
  "one `mcpu-batcher` draining a $ring ring all along (so single events and batches reach Kafka while they are sent).",
  "Each round runs the scenarios back to back, $secs s each, and there are $rounds rounds:",
  "a value below is the median over rounds, a ratio the median of the ratios of each",
  "round's pair. A warm-up (1 s of each single-event location, 3 s of NDJSON: the ring's",
  "pages all written once) comes first; after each run the ring drains before the next starts.", "",
  ($have_kc ? ("Scenario 4 is `bench/kafka-ceiling.sh` (see its header: it fills a ring of its own",
    "through nginx, then times the batcher draining it against `bench/plain_producer.c` sending the",
    "same records from memory, alternating which goes first; it starts its own `mcpu-kafka`),",
    "called once per round: its `ratio=` is the median of its own runs, the ratio below the",
    "median over rounds.", "") : ()),
  "- requests/s: all answers (wrk); non-2xx counted apart; events/s: accepted events",
  "  (`mcpu_events_accepted_total` of `mcpu_status`; for the ceiling, 2xx requests);",
  "- Kafka ev/s: sum over partitions of the topic's high watermarks (`kcat -Q -t mcpu.events:P:-1`)",
  "  after the run minus before, over the run's wall time (the local Kafka keeps ~5 MiB per",
  "  partition, so offsets are counted, not records); \"in Kafka\" counts again once the ring drained;",
  "- p50/p99: `wrk --latency`; CPU: utime+stime of the workers (`/proc/PID/stat`) over the run",
  "  divided by the events (ceiling: requests); worker CPU % of one core;",
  "- peak RSS: VmHWM of the workers (it includes the ring pages the worker wrote through,",
  "  up to its lane) and of the batcher (the ring pages it read), read after each run (peak",
  "  since start, so it only grows); RssAnon: the process's own memory after the run",
  "  (the largest worker's);",
  "- `listen ... reuseport` spreads wrk's connections over the workers.", "",
  "Commands (TOKEN: an HS256 token from `mcpu-token --alg HS256 --sub bench-client --exp 86400`;",
  "ndjson.lua sends LINES=100 events per request, ~19 KB):", "",
  "```sh";
my @names = ("1 ceiling", "2 hs256", "2b nojwt", "3 ndjson");
for my $i (0 .. $#cmds) { push @L, "# $names[$i]", ($i ? "TOKEN=\$TOKEN " : "TOKEN=\$TOKEN ") . $cmds[$i] }
push @L, "bench/kafka-ceiling.sh   # 4" if $have_kc;
push @L, "bench/stream-memory.sh $sevents" if $stream;
push @L, "```", "", "<details><summary>nginx.conf</summary>", "", "```nginx", $conf, "```", "", "</details>", "";

push @L, "## Results", "",
  "| scenario | req/s | non-2xx | events/s accepted | Kafka ev/s | in Kafka after drain / accepted (all rounds) | p50 ms | p99 ms | nginx CPU µs/event | worker CPU % | worker VmHWM MiB | worker RssAnon MiB | batcher VmHWM MiB | batcher RssAnon MiB |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |";
my %label = (ceiling => "1 ceiling (`return 204;`)", hs256 => "2 one event, HS256",
             nojwt => "2b one event, `mcpu_jwt off`", ndjson => "3 NDJSON, 100 events/request");
for my $s (qw(ceiling hs256 nojwt ndjson)) {
    next unless $runs{$s};
    push @L, sprintf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", $label{$s},
        num(med($s, "rps")), num(med($s, "non2xx")), num(med($s, "eps")), num(med($s, "kafka_eps")),
        $s eq "ceiling" ? "-" : num(sum(col($s, "kafka_after_drain"))) . " / " . num(sum(col($s, "events"))),
        fmt(med($s, "p50_us") && med($s, "p50_us") / 1000, 3), fmt(med($s, "p99_us") && med($s, "p99_us") / 1000, 3),
        fmt(med($s, "cpu_us_per_event"), 2), num(med($s, "cpu_pct")),
        mib(med($s, "worker_hwm_kb")), mib(med($s, "worker_anon_kb")), mib(med($s, "batcher_hwm_kb")),
        mib(med($s, "batcher_anon_kb"));
}
push @L, "", "Every run (rounds in order):", "", "```";
for my $s (qw(ceiling hs256 nojwt ndjson kafka kafka-runs)) {
    open my $fh, "<", "$dir/$s" or next;
    push @L, map { chomp; $_ } <$fh>;
}
push @L, "```", "";

# --- targets
my @T;
my ($rq, @rq) = pair("hs256", "rps", "ceiling", "rps");
my ($p99, @p99) = pair("hs256", "p99_us", "ceiling", "p99_us");
my ($cpu, @cpu) = pair("hs256", "cpu_us_per_event", "ceiling", "cpu_us_per_event");
my ($jwt, @jwt) = pair("hs256", "cpu_us_per_event", "nojwt", "cpu_us_per_event");
my $nd_acc = med("ndjson", "eps"); my $nd_kafka = med("ndjson", "kafka_eps");
my $t = sub {
    my ($what, $target, $v, $ok, @r) = @_;
    push @T, sprintf "| %s | %s | %s | %s | %s |", $what, $target, $v,
        !defined $ok ? "n/a" : $ok ? "**met**" : "**missed**",
        join(" ", map { $_ >= 100 ? num($_) : sprintf "%.3f", $_ } @r);
};
$t->("2 vs 1: requests/s at $conns connections", ">= 0.80", fmt($rq, 3), defined $rq ? $rq >= 0.80 : undef, @rq);
$t->("2 vs 1: p99 latency", "<= 1.25", fmt($p99, 3), defined $p99 ? $p99 <= 1.25 : undef, @p99);
$t->("2 vs 1: nginx CPU per event / per request", "<= 1.5", fmt($cpu, 3), defined $cpu ? $cpu <= 1.5 : undef, @cpu);
$t->("2 vs 2b: JWT (cache warm) on nginx CPU per event", "<= 1.10", fmt($jwt, 3), defined $jwt ? $jwt <= 1.10 : undef, @jwt);
$t->("3: NDJSON events/s accepted", ">= 500,000", num($nd_acc), defined $nd_acc ? $nd_acc >= 500000 : undef, col("ndjson", "eps"));
$t->("3: NDJSON events/s delivered to Kafka", ">= 500,000", num($nd_kafka), defined $nd_kafka ? $nd_kafka >= 500000 : undef, col("ndjson", "kafka_eps"));
if ($runs{kafka}) {
    my @kr = grep { defined } col("kafka", "ratio");
    my $k = median(@kr);
    $t->("4: batcher vs plain librdkafka producer (ev/s)" . (@kr < $rounds ? ", " . scalar(@kr) . " of $rounds rounds (the others failed)" : ""),
         ">= 0.80", fmt($k, 3), defined $k ? $k >= 0.80 : undef, @kr);
} else {
    $t->("4: batcher vs plain librdkafka producer (ev/s)", ">= 0.80", "not run", undef);
}
my ($growth, @slines);
if ($stream && open my $fh, "<", $stream) {
    @slines = map { chomp; $_ } <$fh>;
    for (@slines) {
        $growth = ($2 > $3 ? $2 : $3) - $1
            if /^worker RssAnon kB: before (\d+), during min \d+ max (\d+), after (\d+)/;
    }
}
$t->("memory: worker RssAnon growth over $sevents streamed events (max of during and after, minus before)", "< 1 MiB",
     defined $growth ? "$growth kB" : "not run", defined $growth ? $growth < 1024 : undef);

push @L, "## Targets", "",
  "Ratios are medians of the per-round ratios (listed in the last column). Latency tails",
  "move with scheduling when wrk, nginx, the batcher and Kafka share the cores: read p99",
  "with its per-round values.", "",
  "| target | wanted | measured | | per round |", "| --- | --- | ---: | --- | --- |", @T, "";
if (!$runs{kafka}) {
    push @L, "Scenario 4 (`bench/kafka-ceiling.sh`: the batcher draining a full ring against a plain",
      "librdkafka producer sending the same records from memory) did not run: "
      . ($have_kc ? "the script failed (see the work directory)." : "the script was not there."),
      "`bench/run.sh` calls it in every round when it exists and reads its `key=value`",
      "lines (`ratio=`, `plain_eps=`, `batcher_eps=`).", "";
}
push @L, "## Memory over time", "";
if (@slines) {
    push @L, "`bench/stream-memory.sh $sevents`: one streamed NDJSON POST through one worker,",
      "the worker's memory sampled every 0.2 s:", "", "```", @slines, "```", "";
} else {
    push @L, "Not run (BENCH_STREAM_EVENTS=0).", "";
}
open my $o, ">", $out or die "$out: $!";
print $o join("\n", @L), "\n";
close $o;
print STDERR join("\n", "", @T), "\n";
PERL
e2e_log "bench: results in $OUT (${elapsed} s)"
