#!/usr/bin/env bash
# bench/report.sh: mcpu-report's time on millions of events, and the
# store's disk bytes per million events.  A measurement, not a test.
#
#   bench/report.sh [CLIENTS] [HOURS]        (default 2000 4)
#
# A ClickHouse of its own (scripts/clickhouse.sh, in a temporary work
# directory) is filled by report/testdata/gen_events.sql: CLIENTS clients,
# HOURS hours, a CPU measurement every 5 s each (2000 x 4 h: 5.76 million)
# plus their activity events (file transfers, indexing, app opened/closed:
# about 0.3 million), the cause planted on FileTransferStarted, 6.04,
# Windows.  The event column holds each event's JSON as a client would send
# it (the usage array of 4 cores for measurements), as mcpu-sink stores it.
#
# Reported:
#   - the generation's time (INSERT ... SELECT inside ClickHouse);
#   - mcpu-report --json and --json --html, wall time, the median of
#     BENCH_REPORT_RUNS runs (default 3), first with the parts as inserted
#     (FINAL merges them at every read), then after OPTIMIZE TABLE
#     mcpu.events FINAL (one part per month, as background merges
#     eventually leave it);
#   - disk: bytes_on_disk of the active parts after OPTIMIZE, per million
#     events, and the columns that take most of it (system.columns);
#   - that both runs found the planted cause first and the same JSON.
. "$(dirname "$0")/../tests/e2e/lib.sh"
. "$E2E_TOP/report/testdata/e2e_report.sh"

CLIENTS=${1:-2000}
HOURS=${2:-4}
RUNS=${BENCH_REPORT_RUNS:-3}

[ -x "$E2E_BIN/mcpu-report" ] || e2e_fail "bench: $E2E_BIN/mcpu-report missing: make programs"

now_ms() { date +%s%3N; }

# median of the numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# timed NAME ARGS...: runs mcpu-report RUNS times, prints the median seconds
timed() {
    local name=$1 i t0 t1; shift
    for i in $(seq "$RUNS"); do
        t0=$(now_ms)
        "$E2E_BIN/mcpu-report" --url "$E2E_CH_URL" "$@" > "$E2E_WORK/$name.json" \
            2> "$E2E_WORK/$name.log" || e2e_fail "mcpu-report $*: $(tail -n 3 "$E2E_WORK/$name.log")"
        t1=$(now_ms)
        echo "$(( t1 - t0 ))"
    done | median | awk '{ printf "%.2f", $1 / 1000 }'
}

top() {
    perl -MJSON::PP -e 'local $/; my $s = decode_json(<>)->{suspects}[0];
        print join(" ", map { $_ // "*" } @$s{qw(event version os osVersion)})' "$1"
}

e2e_start_clickhouse

t0=$(now_ms)
e2e_report_gen clients="$CLIENTS" hours="$HOURS"
gen_s=$(awk -v ms=$(( $(now_ms) - t0 )) 'BEGIN { printf "%.1f", ms / 1000 }')
rows=$(e2e_ch_query "SELECT count() FROM mcpu.events")
measurements=$(e2e_ch_query "SELECT count() FROM mcpu.events WHERE type = 'CpuMeasurement'")
parts=$(e2e_ch_query "SELECT count() FROM system.parts WHERE database = 'mcpu' AND table = 'events' AND active")
e2e_log "generated $rows events ($measurements CPU measurements) in $gen_s s, $parts parts"

json_parts=$(timed parts --json -)
html_parts=$(timed parts-html --json - --html "$E2E_WORK/report.html")
top_parts=$(top "$E2E_WORK/parts.json")
steps=$(grep -Eo '[a-z_]+\.sql: [0-9]+ rows in [0-9.]+ s' "$E2E_WORK/parts.log" | awk '{ printf "%s %s s; ", $1, $5 }')
e2e_log "as inserted: --json ${json_parts} s, --json --html ${html_parts} s; last run: $steps"

t0=$(now_ms)
e2e_ch_query "OPTIMIZE TABLE mcpu.events FINAL" > /dev/null
opt_s=$(awk -v ms=$(( $(now_ms) - t0 )) 'BEGIN { printf "%.1f", ms / 1000 }')

read -r parts_after disk < <(e2e_ch_query "SELECT count(), sum(bytes_on_disk) FROM system.parts
    WHERE database = 'mcpu' AND table = 'events' AND active")
per_million=$(awk -v b="$disk" -v n="$rows" 'BEGIN { printf "%.1f", b / n * 1e6 / 1048576 }')
per_event=$(awk -v b="$disk" -v n="$rows" 'BEGIN { printf "%.1f", b / n }')
columns=$(e2e_ch_query "SELECT name, data_compressed_bytes FROM system.columns
    WHERE database = 'mcpu' AND table = 'events' ORDER BY data_compressed_bytes DESC LIMIT 5" \
    | awk -v n="$rows" '{ printf "%s %.1f B, ", $1, $2 / n }')

json_opt=$(timed opt --json -)
html_opt=$(timed opt-html --json - --html "$E2E_WORK/report.html")
top_opt=$(top "$E2E_WORK/opt.json")
steps=$(grep -Eo '[a-z_]+\.sql: [0-9]+ rows in [0-9.]+ s' "$E2E_WORK/opt.log" | awk '{ printf "%s %s s; ", $1, $5 }')

same=yes
cmp -s "$E2E_WORK/parts.json" "$E2E_WORK/opt.json" || same=NO

cat <<EOF

mcpu-report on $rows events ($measurements CPU measurements, $CLIENTS clients, $HOURS h), $(nproc) cores
  generated in ClickHouse:            $gen_s s ($parts parts)
  mcpu-report --json, as inserted:    $json_parts s   (--json --html: $html_parts s; median of $RUNS)
  OPTIMIZE TABLE mcpu.events FINAL:   $opt_s s ($parts_after part(s))
  mcpu-report --json, merged:         $json_opt s   (--json --html: $html_opt s; median of $RUNS)
    its queries: $steps
  disk (bytes_on_disk, active parts): $disk bytes = $per_million MiB per million events ($per_event B/event)
    largest columns per event: ${columns%, }
  top suspect: $top_parts (as inserted), $top_opt (merged); same JSON: $same
EOF

[ "$same" = yes ] || e2e_fail "the JSON differs before and after OPTIMIZE"
case $top_opt in "FileTransferStarted 6.04 Windows "*) ;; *) e2e_fail "top suspect: $top_opt" ;; esac
