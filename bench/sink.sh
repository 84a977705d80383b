#!/usr/bin/env bash
# bench/sink.sh: mcpu-sink's rate into ClickHouse and the store's disk per
# million events.  A measurement, not a test.
#
#   bench/sink.sh [RECORDS] [CLIENTS]         (default 300000 20000)
#
# RECORDS events of dedup_records.pl (four types in turn, two clients in
# three with seq; about 450 bytes a record) are produced to the clean
# topic (32 partitions, under the local Kafka's ~5 MiB per partition) before
# mcpu-sink starts; the rate is the rows over the time from its first
# record read to its last row inserted (metrics file every 100 ms), so the
# group join and the feeding are not counted.  Then OPTIMIZE TABLE ...
# FINAL merges the table into one part per month, and the disk is
# system.parts' bytes_on_disk (and du of the table's directory) per
# million rows.  BENCH_SINK_ARGS adds options to mcpu-sink's command line
# (e.g. "--batch 50000").  ClickHouse and Kafka share the machine with it.
. "$(dirname "$0")/../tests/e2e/lib.sh"

RECORDS=${1:-300000}
CLIENTS=${2:-20000}
E2E_PARTITIONS=32
E2E_WAIT_S=600
w=$E2E_WORK

command -v kcat > /dev/null || e2e_fail "bench: needs kcat (scripts/install-deps.sh)"
[ -x "$E2E_BIN/mcpu-sink" ] || e2e_fail "bench: $E2E_BIN/mcpu-sink missing: make programs"

perl "$E2E_DEDUP_RECORDS" --seed 5 --clients "$CLIENTS" unique 0 "$RECORDS" > "$w/records.txt"
bytes=$(wc -c < "$w/records.txt")

e2e_start_clickhouse
e2e_start_kafka
kcat -b "$E2E_BROKERS" -P -t "$E2E_CLEAN_TOPIC" -K$'\t' -X linger.ms=20 \
    -X batch.num.messages=10000 < "$w/records.txt" || e2e_fail "kcat failed"
e2e_log "$RECORDS records ($bytes bytes) in $E2E_CLEAN_TOPIC"

# shellcheck disable=SC2086
e2e_start_sink s -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 ${BENCH_SINK_ARGS:-}
pid=$E2E_SINK_PID
chpid=$(cat "$E2E_CH_WORK/clickhouse.pid")

cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
e2e_wait e2e_sink_read_at_least s 1 || e2e_fail "mcpu-sink reads nothing: $(e2e_sink_summary s)"
t0=$(e2e_now_ms)
c0=$(cpu "$pid")
h0=$(cpu "$chpid")
k0=$(cpu "$E2E_KAFKA_PID")
e2e_wait e2e_sink_inserted_at_least s "$RECORDS" || e2e_fail "not all inserted: $(e2e_sink_summary s)"
t1=$(e2e_now_ms)
c1=$(cpu "$pid")
h1=$(cpu "$chpid")
k1=$(cpu "$E2E_KAFKA_PID")
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
inserts=$(e2e_sink_metric s mcpu_sink_inserts_total)
sent=$(e2e_sink_metric s mcpu_sink_bytes_inserted_total)
e2e_log "mcpu-sink: $(e2e_sink_summary s)"

tick=$(getconf CLK_TCK)
e2e_ch_query "OPTIMIZE TABLE mcpu.events FINAL" > /dev/null
read -r rows parts disk compressed raw <<< "$(e2e_ch_query "
    SELECT sum(rows), count(), sum(bytes_on_disk), sum(data_compressed_bytes),
           sum(data_uncompressed_bytes)
    FROM system.parts WHERE database = 'mcpu' AND table = 'events' AND active
    FORMAT TabSeparated")"
# the active parts only: the merged-away ones stay on disk for minutes
du=$(e2e_ch_query "SELECT path FROM system.parts
                   WHERE database = 'mcpu' AND table = 'events' AND active FORMAT TabSeparated" \
     | xargs du -sbc | tail -n 1 | cut -f1)

perl -e '
    my ($n, $ms, $cpu, $chcpu, $kcpu, $tick, $hwm, $inserts, $sent, $bytes,
        $rows, $parts, $disk, $compressed, $raw, $du) = @ARGV;
    my $s = $ms / 1000;
    printf "| | |\n| --- | ---: |\n";
    printf "| rows inserted | %d in %d INSERTs (%.0f rows each) |\n", $n, $inserts, $n / $inserts;
    printf "| time, first record read to last row inserted | %.2f s |\n", $s;
    printf "| **rows per second into ClickHouse** | **%.0f** |\n", $n / $s;
    printf "| mcpu-sink CPU per row (user + system) | %.1f us |\n", $cpu / $tick / $n * 1e6;
    printf "| ClickHouse CPU per row (user + system) | %.1f us |\n", $chcpu / $tick / $n * 1e6;
    printf "| local Kafka (mcpu-kafka) CPU per row | %.1f us |\n", $kcpu / $tick / $n * 1e6;
    printf "| mcpu-sink peak RSS (VmHWM) | %.1f MiB |\n", $hwm / 1024;
    printf "| records in Kafka, bytes per event | %.0f |\n", $bytes / $n;
    printf "| JSONEachRow sent, bytes per row | %.0f |\n", $sent / $n;
    printf "| after OPTIMIZE FINAL: rows, active parts | %d, %d |\n", $rows, $parts;
    printf "| **disk per million events** (bytes_on_disk) | **%.1f MB** |\n", $disk / $rows;
    printf "| du of its parts per million events | %.1f MB |\n", $du / $rows;
    printf "| compression (uncompressed / compressed column data) | %.1f x |\n", $raw / $compressed;
' "$RECORDS" $((t1 - t0)) $((c1 - c0)) $((h1 - h0)) $((k1 - k0)) "$tick" "$hwm" "$inserts" "$sent" \
  "$bytes" "$rows" "$parts" "$disk" "$compressed" "$raw" "$du"

echo
echo "| column | compressed bytes per event |"
echo "| --- | ---: |"
e2e_ch_query "SELECT name, data_compressed_bytes / $rows FROM system.columns
              WHERE database = 'mcpu' AND table = 'events'
              ORDER BY data_compressed_bytes DESC FORMAT TabSeparated" \
    | awk -F'\t' '{ printf "| %s | %.1f |\n", $1, $2 }'
