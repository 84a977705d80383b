#!/usr/bin/env bash
# bench/dedup.sh: mcpu-dedup's rate, memory per million keys and exact-check
# rate.  A measurement, not a test.
#
#   bench/dedup.sh [ROUNDS] [PER_ROUND] [DUP_PERCENT]      (default 4 300000 10)
#
# The local Kafka keeps about 5 MiB per partition, so the raw topic (32
# partitions) is filled in rounds of PER_ROUND records that fit, and
# mcpu-dedup drains each round before the next: the rate is records read
# over the time from the round's first read to its last (metrics file every
# 100 ms), so feeding is not counted.  Each round: PER_ROUND records, of
# which DUP_PERCENT % are copies of earlier events (half byte-identical, half
# the same event through another host), 80 % of the events with seq, 20 %
# without.  Clients: 20,000.  The Bloom filter is sized for the whole run in
# one generation (keys_per_generation = all keys / partitions), so the
# false-positive rate is the configured 1 % at the end and lower before.
#
# Reported: records/s per round and overall, mcpu-dedup's CPU time per
# record, peak RSS (VmHWM), LMDB bytes per key (mcpu_dedup_state_bytes /
# keys), Bloom bytes per key, exact checks per record read, false positives
# per unique record.  BENCH_DEDUP_ARGS adds options to mcpu-dedup's command
# line (e.g. "--batch 50000").
. "$(dirname "$0")/../tests/e2e/lib.sh"

ROUNDS=${1:-4}
PER_ROUND=${2:-300000}
DUPS=${3:-10}
PARTS=32
CLIENTS=20000

command -v kcat > /dev/null || e2e_fail "bench: needs kcat (scripts/install-deps.sh)"
[ -x "$E2E_BIN/mcpu-dedup" ] || e2e_fail "bench: $E2E_BIN/mcpu-dedup missing: make programs"

"$E2E_BIN/mcpu-kafka" -t "raw:$PARTS" -t "clean:$PARTS" -f "$E2E_WORK/kafka.addr" \
    > /dev/null 2> "$E2E_WORK/kafka.log" &
E2E_KAFKA_PID=$!
e2e_wait test -s "$E2E_WORK/kafka.addr" || e2e_fail "mcpu-kafka did not start"
B=$(cat "$E2E_WORK/kafka.addr")

total_keys=$(( ROUNDS * PER_ROUND ))
"$E2E_BIN/mcpu-dedup" --brokers "$B" --input-topic raw --output-topic clean \
    --state-dir "$E2E_WORK/state" --metrics-file "$E2E_WORK/m.prom" --metrics-interval-ms 100 \
    --keys-per-generation $(( total_keys / PARTS + 1 )) --generations 2 \
    -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 ${BENCH_DEDUP_ARGS:-} \
    > "$E2E_WORK/dedup.log" 2>&1 &
DEDUP_PID=$!
trap 'kill -TERM $DEDUP_PID 2>/dev/null; wait $DEDUP_PID 2>/dev/null; e2e_cleanup' EXIT

metric() { sed -n "s/^$1 //p" "$E2E_WORK/m.prom" 2>/dev/null | head -1; }
metric_sum() { awk -v s="$1" 'index($0, s) == 1 && $0 !~ /^#/ { t += $NF } END { print t + 0 }' "$E2E_WORK/m.prom" 2>/dev/null; }
read_at_least() { [ "$(metric mcpu_dedup_records_read_total)" -ge "$1" ] 2>/dev/null; }
owned() { [ "$(metric_sum 'mcpu_dedup_partition_owned{')" -eq "$PARTS" ] 2>/dev/null; }

e2e_wait owned || e2e_fail "mcpu-dedup did not take the partitions (dedup.log)"

fed=0
printf '| round | records | duplicates fed | s | records/s |\n| ---: | ---: | ---: | ---: | ---: |\n' > "$E2E_WORK/rounds.md"
cpu0=$(awk '{ print $14 + $15 }' /proc/$DEDUP_PID/stat)
t_all=0
for r in $(seq "$ROUNDS"); do
    perl -e '
        my ($round, $n, $dups, $clients) = @ARGV;
        srand(42 + $round);
        my (@seen);
        for my $i (1 .. $n) {
            my $dup = @seen && rand(100) < $dups;
            my ($c, $seq, $id, $node, $rx);
            if ($dup) { ($c, $seq, $id) = @{ $seen[int rand @seen] }; }
            else {
                $id = "r$round-$i"; $c = "client-" . int(rand $clients);
                $seq = rand(100) < 80 ? $round * 10_000_000 + $i : "null";
                push @seen, [$c, $seq, $id];
            }
            $node = ($dup && rand() < 0.5) ? "edge-2" : "edge-1";
            $rx = ($node eq "edge-2") ? 1795471209004 : 1795471201004;
            my $s = $seq eq "null" ? "" : ",\"seq\":$seq";
            print "$c\t{\"schema\":1,\"type\":\"CpuMeasurement\",\"time\":\"2026-11-23T22:00:00.250Z\",\"timeMs\":1795471200250,\"seq\":$seq,\"receivedAt\":\"2026-11-23T22:00:01.004Z\",\"receivedAtMs\":$rx,\"sentAt\":null,\"sentAtMs\":null,\"skewMs\":null,\"node\":\"$node\",\"client\":{\"id\":\"$c\",\"version\":\"6.04\",\"os\":\"Windows\",\"osVersion\":\"10.0.19045\"},\"event\":{\"type\":\"CpuMeasurement\",\"time\":1795471200250$s,\"id\":\"$id\",\"usage\":{\"0\":12.5,\"1\":81}}}\n";
        }' "$r" "$PER_ROUND" "$DUPS" "$CLIENTS" > "$E2E_WORK/round.txt"
    start=$(metric mcpu_dedup_records_read_total)
    kcat -b "$B" -P -t raw -K$'\t' -X linger.ms=20 -X batch.num.messages=10000 < "$E2E_WORK/round.txt"
    fed=$(( fed + PER_ROUND ))
    # timing starts at the first record read, ends at the last
    e2e_wait read_at_least $(( start + 1 )) || e2e_fail "round $r: nothing read"
    t0=$(date +%s%N)
    E2E_WAIT_SECONDS=300 e2e_wait read_at_least "$fed" || e2e_fail "round $r: read $(metric mcpu_dedup_records_read_total) of $fed"
    t1=$(date +%s%N)
    ms=$(( (t1 - t0) / 1000000 ))
    t_all=$(( t_all + ms ))
    printf '| %d | %d | %d %% | %.2f | %d |\n' "$r" "$PER_ROUND" "$DUPS" "$(echo "$ms / 1000" | bc -l)" \
        $(( PER_ROUND * 1000 / (ms > 0 ? ms : 1) )) >> "$E2E_WORK/rounds.md"
done
cpu1=$(awk '{ print $14 + $15 }' /proc/$DEDUP_PID/stat)
hwm=$(awk '/VmHWM/ { print $2 }' /proc/$DEDUP_PID/status)
rss_anon=$(awk '/RssAnon/ { print $2 }' /proc/$DEDUP_PID/status)
rss_file=$(awk '/RssFile/ { print $2 }' /proc/$DEDUP_PID/status)

# one more write of the metrics after the last batch
sleep_until_metrics() { [ "$(metric mcpu_dedup_records_read_total)" -ge "$fed" ]; }
e2e_wait sleep_until_metrics

read_n=$(metric mcpu_dedup_records_read_total)
uniq_n=$(metric mcpu_dedup_records_unique_total)
dup_n=$(metric_sum 'mcpu_dedup_duplicates_total{')
exact=$(metric mcpu_dedup_exact_checks_total)
fp=$(metric mcpu_dedup_bloom_false_positives_total)
keys=$(metric_sum 'mcpu_dedup_state_keys{')
state_bytes=$(metric mcpu_dedup_state_bytes)
bloom_bytes=$(metric_sum 'mcpu_dedup_bloom_bytes{')
clk=$(getconf CLK_TCK)

cat "$E2E_WORK/rounds.md"
echo
awk -v read_n="$read_n" -v uniq_n="$uniq_n" -v dup_n="$dup_n" -v exact="$exact" -v fp="$fp" \
    -v keys="$keys" -v sb="$state_bytes" -v bb="$bloom_bytes" -v t="$t_all" -v hwm="$hwm" \
    -v ra="$rss_anon" -v rf="$rss_file" -v cpu=$(( cpu1 - cpu0 )) -v clk="$clk" -v parts="$PARTS" 'BEGIN {
    printf "records read %d, unique %d, duplicates %d, in %.2f s: %.0f records/s\n", read_n, uniq_n, dup_n, t / 1000, read_n / (t / 1000)
    printf "mcpu-dedup CPU: %.2f us per record (user+system, over the rounds)\n", cpu / clk / read_n * 1e6
    printf "exact checks: %d = %.2f %% of records read (duplicates are %.2f %%); false positives: %d = %.3f %% of unique\n", exact, 100 * exact / read_n, 100 * dup_n / read_n, fp, 100 * fp / uniq_n
    printf "keys in the state: %d; LMDB: %.1f MB = %.1f bytes per key = %.1f MB per million keys (on disk, mapped)\n", keys, sb / 1e6, sb / keys, sb / keys
    printf "Bloom filters (%d partitions, 2 generations at 1 %%): %.1f MB = %.2f bytes per key = %.2f MB per million keys (memory)\n", parts, bb / 1e6, bb / keys, bb / keys
    printf "mcpu-dedup memory: peak RSS (VmHWM) %.1f MB; at the end RssAnon %.1f MB (heap: librdkafka queues, filters), RssFile %.1f MB (LMDB pages in the page cache, shared, reclaimable)\n", hwm / 1024, ra / 1024, rf / 1024
}'
