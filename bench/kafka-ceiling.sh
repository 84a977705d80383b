#!/usr/bin/env bash
# The batcher against the Kafka ceiling: how fast mcpu-batcher drains a full
# ring into Kafka, next to a plain librdkafka producer (bench/plain_producer.c)
# sending the same records from memory with the same producer settings.
# A measurement, not a test: the target (batcher >= 0.80 of the plain
# producer) is reported, never asserted.
#
#   bench/kafka-ceiling.sh [RUNS] [EVENTS] [STREAMS]
#       RUNS     pairs of measurements, default 3
#       EVENTS   events per fill, default 1000000 (about 460 ring bytes
#                each: 440 MiB, so the default ring is 1 GiB; a drain
#                takes about a second, so the batcher's start-up weighs
#                little)
#       STREAMS  concurrent NDJSON streams that fill the ring, each with its
#                own Client-Id (one key, so one partition, per stream),
#                default 16
#   env: BUILD (programs, as make's), CEILING_RING (ring size, default 1g),
#        CEILING_WORKERS (nginx workers, default 2), CEILING_LANES (ring
#        lanes, default 2: 512 MiB each, so that one lane holds a whole fill
#        even when one worker happens to accept every stream),
#        CEILING_PARTITIONS (default 16), CEILING_X ("-X p=v ..." for both
#        producers alike), CEILING_BATCHER_ARGS (more batcher options).
#
# One run: fill the ring with EVENTS events through nginx while no batcher
# runs (streamed bodies), copy the ring file aside, then, in turns (odd runs
# the batcher first, even runs the plain producer first):
#   - the batcher, timed from its start until the ring's released counter
#     equals published (polled every 2 ms), then stopped;
#   - plain_producer on the copy: it loads the records into memory first
#     (not timed), then is timed from rd_kafka_new() to its last delivery
#     report.
# Both talk to the same mcpu-kafka (topic with CEILING_PARTITIONS
# partitions).  Everything shares this machine with the local Kafka mock.
#
# Output, key=value lines on stdout (logs on stderr):
#   run=I order=batcher-first|plain-first events=N batcher_ms= batcher_eps=
#       batcher_steady_eps= (from the first release the poll saw: the drain
#       without start-up) plain_ms= plain_eps= plain_produce_eps= (from the
#       first send: without rd_kafka_new and metadata) ratio= batcher_cpu_ms=
#       plain_cpu_ms= batcher_peak_rss_kb=
#       batcher_rss_anon_kb=          one line per run
#   events=            events per run
#   record_bytes=      mean key + value bytes per record
#   plain_eps=         median over runs, records/s
#   plain_bytes_per_s= median over runs
#   batcher_eps=       median over runs, records/s
#   batcher_bytes_per_s=
#   ratio=             median of the runs' batcher_eps / plain_eps
#   steady_ratio=      median of batcher_steady_eps / plain_produce_eps: the
#                      two without their start-up (the batcher's: exec,
#                      ring check, last-seen table, producer, metadata)
#   cpu_ratio=         median of the runs' batcher_cpu_ms / plain_cpu_ms: CPU
#                      time (user + system, every thread) each spent on its
#                      drain, the batcher's start-up included; less
#                      sensitive than the rates to what else runs here
#   target=0.80 target_met=yes|no
#   loadavg_before= loadavg_after=  the 1-minute load average: anything
#                      else running here skews the rates (not the CPU times)
#   batcher_peak_rss_kb=  largest VmHWM of the batcher over the runs (it
#                      counts the ring pages the batcher touched, shared
#                      file pages); batcher_rss_anon_kb= its largest RssAnon
#                      at the end of a drain (its own memory)
# shellcheck source=../tests/e2e/lib.sh
. "$(dirname "$0")/../tests/e2e/lib.sh"

RUNS=${1:-3}
N=${2:-1000000}
STREAMS=${3:-16}
# shellcheck disable=SC2034  # E2E_* are read by lib.sh
E2E_RING_SIZE=${CEILING_RING:-1g}
WORKERS=${CEILING_WORKERS:-2}
# shellcheck disable=SC2034
E2E_RING_LANES=${CEILING_LANES:-2}
# shellcheck disable=SC2034
E2E_PARTITIONS=${CEILING_PARTITIONS:-16}
read -r -a XPROPS <<< "${CEILING_X:-}"
read -r -a BARGS <<< "${CEILING_BATCHER_ARGS:-}"

PLAIN=$E2E_BIN/bench/plain_producer

# plain_producer: the Makefile's rule, into the same build directory
build_plain() {
    make -s -C "$E2E_TOP" BUILD="${BUILD:-build}" "${BUILD:-build}/bench/plain_producer" >&2 \
        || e2e_fail "building plain_producer failed"
}

# the ring's published - released, and published
ring_unreleased() {
    perl -I "$E2E_TOP/t/lib" -MMCPU::Ring -e \
        'my $c = MCPU::Ring::counters($ARGV[0]);
         print $c->{published} - $c->{released}, " ", $c->{published}, "\n"' \
        "$E2E_WORK/ring"
}

# fill RUN: EVENTS events in STREAMS concurrent streams, no batcher running
fill() {
    local run=$1 s per pids=() rc=0 want got
    per=$(( N / STREAMS ))
    for (( s = 0; s < STREAMS; s++ )); do
        local lines=$per
        [ "$s" -lt $(( N % STREAMS )) ] && lines=$(( per + 1 ))
        perl "$E2E_TOP/tests/e2e/ndjson_lines.pl" "$lines" "c$run-$s-" \
            | curl -sS -X POST -T - -H 'Content-Type: application/x-ndjson' \
                -H "Client-Id: ceiling-$run-$s" -o "$E2E_WORK/fill-$s.json" \
                -w '%{http_code}\n' "$E2E_URL" > "$E2E_WORK/fill-$s.code" \
                2> "$E2E_WORK/fill-$s.err" &
        pids+=($!)
    done
    for s in "${pids[@]}"; do wait "$s" || rc=1; done
    [ $rc -eq 0 ] || e2e_fail "a fill stream failed: $(cat "$E2E_WORK"/fill-*.err)"
    for (( s = 0; s < STREAMS; s++ )); do
        [ "$(cat "$E2E_WORK/fill-$s.code")" = 202 ] \
            || e2e_fail "fill stream $s: $(cat "$E2E_WORK/fill-$s.code") $(cat "$E2E_WORK/fill-$s.json")"
    done
    read -r got _ <<< "$(ring_unreleased)"
    want=$N
    [ "$got" -eq "$want" ] || e2e_fail "the ring holds $got unreleased records, not $want"
}

# run_batcher: sets b_ms b_hwm b_anon b_steady b_cpu (no subshell: e2e_fail must reach the
# script's own exit trap)
run_batcher() {
    local t0 target out pid
    read -r _ target <<< "$(ring_unreleased)"
    t0=$(date +%s%N)
    e2e_start_batcher "${XPROPS[@]}" "${BARGS[@]}"
    pid=$E2E_BATCHER_PID
    out=$(perl -I "$E2E_TOP/t/lib" -MMCPU::Ring -MTime::HiRes=time,sleep -e '
        my ($ring, $target, $pid, $t0) = @ARGV;
        my $deadline = time() + 600;
        my ($r, $t1, $r1);
        while (($r = MCPU::Ring::counters($ring)->{released}) < $target) {
            ($t1, $r1) = (time(), $r) if !defined $t1 && $r > $target - $ARGV[4];
            die "batcher gone\n" unless kill 0, $pid;
            die "timeout\n" if time() > $deadline;
            sleep 0.002;
        }
        my $now = time();
        my $ms = ($now * 1e9 - $t0) / 1e6;
        # from the first release seen: the drain without the start-up
        my $steady = defined $t1 && $now > $t1 ? ($target - $r1) / ($now - $t1) : 0;
        my %s;
        if (open my $fh, "<", "/proc/$pid/status") {
            while (<$fh>) { $s{$1} = $2 if /^(\w+):\s+(\d+)/ }
        }
        # utime + stime of every thread, in clock ticks
        my $cpu = 0;
        if (open my $fh, "<", "/proc/$pid/stat") {
            my @f = split " ", (<$fh> =~ s/.*\) //r);
            $cpu = ($f[11] + $f[12]) * 1000 / $ARGV[5];
        }
        printf "%.1f %d %d %.0f %.0f\n", $ms, $s{VmHWM} // 0, $s{RssAnon} // 0, $steady, $cpu;
    ' "$E2E_WORK/ring" "$target" "$pid" "$t0" "$N" "$(getconf CLK_TCK)") || e2e_fail "the batcher did not drain the ring"
    e2e_stop_pid "$pid" TERM
    read -r b_ms b_hwm b_anon b_steady b_cpu <<< "$out"
}

# run_plain: sets p_ms p_eps p_prod_eps bytes recs p_cpu
run_plain() {
    "$PLAIN" -r "$E2E_WORK/ring.copy" -b "$E2E_BROKERS" -t "$E2E_TOPIC" "${XPROPS[@]}" \
        > "$E2E_WORK/plain.out" 2> "$E2E_WORK/plain.log" \
        || e2e_fail "plain_producer failed: $(cat "$E2E_WORK/plain.log")"
    read -r p_ms p_eps p_prod_eps bytes recs p_cpu <<< "$(perl -ne '$v{$1} = $2 if /^(\w+)=(\S+)/;
        END { print "$v{elapsed_ms} $v{eps} $v{produce_eps} $v{bytes} $v{records} $v{cpu_ms}\n" }' \
        "$E2E_WORK/plain.out")"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

build_plain
e2e_start_kafka
e2e_start_nginx_daemon "$WORKERS" "client_max_body_size 0;"
echo "loadavg_before=$(cut -d' ' -f1 /proc/loadavg)"

steady_all=() cpu_all=() plain_all=() batcher_all=() ratio_all=() pbps_all=() bbps_all=()
peak=0 anon=0 rec_bytes=0

for (( run = 1; run <= RUNS; run++ )); do
    e2e_log "run $run: filling the ring with $N events"
    fill "$run"
    cp "$E2E_WORK/ring" "$E2E_WORK/ring.copy"

    if (( run % 2 )); then
        order=batcher-first
        run_batcher
        run_plain
    else
        order=plain-first
        run_plain
        run_batcher
    fi
    rm -f "$E2E_WORK/ring.copy"
    [ "$recs" -eq "$N" ] || e2e_fail "plain_producer loaded $recs records, not $N"

    b_eps=$(awk -v n="$N" -v ms="$b_ms" 'BEGIN { printf "%.0f", n * 1000 / ms }')
    ratio=$(awk -v b="$b_eps" -v p="$p_eps" 'BEGIN { printf "%.3f", b / p }')
    rec_bytes=$(( bytes / N ))
    echo "run=$run order=$order events=$N batcher_ms=$b_ms batcher_eps=$b_eps" \
         "batcher_steady_eps=$b_steady plain_ms=$p_ms plain_eps=$p_eps plain_produce_eps=$p_prod_eps ratio=$ratio" \
         "batcher_cpu_ms=$b_cpu plain_cpu_ms=$p_cpu" \
         "batcher_peak_rss_kb=$b_hwm batcher_rss_anon_kb=$b_anon"

    steady_all+=("$(awk -v b="$b_steady" -v p="$p_prod_eps" 'BEGIN { printf "%.3f", b / p }')")
    cpu_all+=("$(awk -v b="$b_cpu" -v p="$p_cpu" 'BEGIN { printf "%.3f", b / p }')")
    plain_all+=("$p_eps") batcher_all+=("$b_eps") ratio_all+=("$ratio")
    pbps_all+=("$(awk -v e="$p_eps" -v b="$bytes" -v n="$N" 'BEGIN { printf "%.0f", e * b / n }')")
    bbps_all+=("$(awk -v e="$b_eps" -v b="$bytes" -v n="$N" 'BEGIN { printf "%.0f", e * b / n }')")
    [ "$b_hwm" -gt "$peak" ] && peak=$b_hwm
    [ "$b_anon" -gt "$anon" ] && anon=$b_anon
done

ratio=$(median "${ratio_all[@]}")
echo "events=$N"
echo "runs=$RUNS"
echo "record_bytes=$rec_bytes"
echo "plain_eps=$(median "${plain_all[@]}")"
echo "plain_bytes_per_s=$(median "${pbps_all[@]}")"
echo "batcher_eps=$(median "${batcher_all[@]}")"
echo "batcher_bytes_per_s=$(median "${bbps_all[@]}")"
echo "ratio=$ratio"
echo "steady_ratio=$(median "${steady_all[@]}")"
echo "cpu_ratio=$(median "${cpu_all[@]}")"
echo "target=0.80 target_met=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.80) ? "yes" : "no" }')"
echo "batcher_peak_rss_kb=$peak"
echo "batcher_rss_anon_kb=$anon"
echo "loadavg_after=$(cut -d' ' -f1 /proc/loadavg)"
