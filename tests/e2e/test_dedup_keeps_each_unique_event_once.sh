#!/usr/bin/env bash
# mcpu-dedup writes each unique event of the raw topic once to the clean
# topic, byte for byte, in the partition of the same number, and drops
# every duplicate: byte-identical records (a batcher re-send), the same
# event received again through another nginx (other receivedAt and node),
# with and without seq; while distinct events without seq that share
# client, time and type (other content) are all kept.  Some duplicates
# arrive after a generation boundary of a short window (12 s in 4
# generations: 4 s periods), about 6 s after their first copies: they are
# still dropped.  The counters add up:
# unique = the ids expected, duplicates by key kind = the copies fed.
. "$(dirname "$0")/lib.sh"

E2E_PARTITIONS=4
E2E_WAIT_S=${E2E_WAIT_S:-30}
SEED=${E2E_SEED:-11}
CLIENTS=300
N_A=10000           # uniques fed first, resent after the period boundary
N_B=10000           # uniques fed with the late resends
WINDOW_S=12
GENERATIONS=4
PERIOD_MS=$((WINDOW_S * 1000 / (GENERATIONS - 1)))
BASE_MS=$(e2e_now_ms)

gen() {
    perl "$E2E_DEDUP_RECORDS" --seed "$SEED" --base-ms "$BASE_MS" --clients "$CLIENTS" "$@"
}
w=$E2E_WORK

# Every record is made before mcpu-dedup starts, so that the time between
# the phases is the one awaited, not the generator's.
# Phase A: uniques, some byte-identical copies (in the same batches), and
# same-client same-time same-type siblings of events without seq
gen unique 0 "$N_A" > "$w/a.unique"
gen --pick 0.2 same-time-type 0 "$N_A" > "$w/a.siblings"
gen --pick 0.1 identical 0 "$N_A" > "$w/a.identical"
cat "$w/a.unique" "$w/a.siblings" "$w/a.identical" | gen shuffle > "$w/a.txt"

# Phase B, fed after a period boundary: the late resends of phase A (resent and byte-identical), new
# uniques with their own duplicates and siblings, all mixed
gen --pick 0.3 resent 0 "$N_A" > "$w/late.resent"
gen --pick 0.2 identical 0 "$N_A" > "$w/late.identical"
gen unique "$N_A" "$N_B" > "$w/b.unique"
gen --pick 0.2 same-time-type "$N_A" "$N_B" > "$w/b.siblings"
gen --pick 0.1 resent "$N_A" "$N_B" > "$w/b.resent"
gen --pick 0.1 identical "$N_A" "$N_B" > "$w/b.identical"
cat "$w/late.resent" "$w/late.identical" "$w/b.unique" "$w/b.siblings" \
    "$w/b.resent" "$w/b.identical" | gen shuffle > "$w/b.txt"

e2e_start_kafka_dedup
e2e_start_dedup d --window-s "$WINDOW_S" --generations "$GENERATIONS" \
    --keys-per-generation 20000 --batch-ms 20
e2e_wait e2e_dedup_caught_up d || e2e_fail "mcpu-dedup did not take the $E2E_PARTITIONS partitions"

# phase A
fed_a=$(wc -l < "$w/a.txt")
t_a=$(e2e_now_ms)
e2e_dedup_feed "$w/a.txt"
e2e_wait e2e_dedup_read_at_least d "$fed_a" \
    || e2e_fail "phase A: mcpu-dedup handled $(e2e_dedup_metric d mcpu_dedup_records_read_total) of $fed_a records"
t_handled=$(e2e_now_ms)
e2e_log "phase A: $fed_a records fed and handled in $((t_handled - t_a)) ms: $(e2e_dedup_summary d)"

# The late resends must come after a generation boundary, so that the
# first copies are in an older generation.  What is awaited here is time
# itself: one whole period after the last first copy was handled, so a
# boundary passed whatever the alignment of the periods.
period_passed() { [ "$(e2e_now_ms)" -ge $((t_handled + PERIOD_MS)) ]; }
e2e_wait period_passed || e2e_fail "the clock did not move"

# phase B
fed_b=$(wc -l < "$w/b.txt")
fed=$((fed_a + fed_b))
e2e_dedup_feed "$w/b.txt"
e2e_wait e2e_dedup_read_at_least d "$fed" \
    || e2e_fail "phase B: mcpu-dedup handled $(e2e_dedup_metric d mcpu_dedup_records_read_total) of $fed records"
t_b=$(e2e_now_ms)
late=$(($(wc -l < "$w/late.resent") + $(wc -l < "$w/late.identical")))
e2e_log "phase B: $fed_b records fed, $late of them late copies of phase A," \
        "handled $((t_b - t_a)) ms after phase A was fed"
# a late copy handled after the window may be kept: then this run tests nothing
[ $((t_b - t_a)) -lt $((WINDOW_S * 1000)) ] \
    || e2e_fail "too slow to test the window: the late copies were handled $((t_b - t_a)) ms after their first copies (window ${WINDOW_S} s)"

# the expected ids: the uniques and the siblings, nothing the copies add
cat "$w/a.unique" "$w/a.siblings" "$w/b.unique" "$w/b.siblings" > "$w/uniques.txt"
e2e_dedup_ids "$w/uniques.txt" > "$w/expected.ids"
n=$(wc -l < "$w/expected.ids")
[ "$n" -eq "$(wc -l < "$w/uniques.txt")" ] || e2e_fail "the generator repeated an id"
[ "$(e2e_dedup_ids "$w/a.txt" "$w/b.txt" | wc -l)" -eq "$n" ] \
    || e2e_fail "the generator's copies carry ids of no unique event"

e2e_wait e2e_dedup_has_all "$w/expected.ids" \
    || e2e_fail "$(comm -23 "$w/expected.ids" "$w/clean.ids" | wc -l) unique events never reached the clean topic"
e2e_wait e2e_dedup_caught_up d || e2e_fail "mcpu-dedup reports a lag: $(grep lag "$w/d.prom")"
e2e_dedup_check "$w/expected.ids" \
    || e2e_fail "the clean topic does not hold each of the $n unique events once"

# the counters
e2e_log "mcpu-dedup: $(e2e_dedup_summary d)"
metric() { e2e_dedup_metric d "$1"; }
read -r want_seq want_content <<< "$(e2e_dedup_expected_kinds "$w/a.txt" "$w/b.txt")"
read_total=$(metric mcpu_dedup_records_read_total)
unique=$(metric mcpu_dedup_records_unique_total)
dup_seq=$(metric 'mcpu_dedup_duplicates_total{key="seq"}')
dup_content=$(metric 'mcpu_dedup_duplicates_total{key="content"}')
dup_raw=$(metric 'mcpu_dedup_duplicates_total{key="raw"}')
exact=$(metric mcpu_dedup_exact_checks_total)
fp=$(metric mcpu_dedup_bloom_false_positives_total)
[ "$read_total" -eq "$fed" ] || e2e_fail "records_read_total is $read_total, $fed were fed"
[ "$unique" -eq "$n" ] || e2e_fail "records_unique_total is $unique, not the $n unique events"
[ "$want_seq" -gt 0 ] && [ "$want_content" -gt 0 ] || e2e_fail "the generator made no duplicates of a kind"
[ "$dup_seq" -eq "$want_seq" ] && [ "$dup_content" -eq "$want_content" ] && [ "$dup_raw" -eq 0 ] \
    || e2e_fail "duplicates by key: seq $dup_seq, content $dup_content, raw $dup_raw;" \
                "fed: seq $want_seq, content $want_content, raw 0"
[ "$exact" -gt 0 ] || e2e_fail "no exact check"
# every duplicate is a Bloom "maybe" confirmed by an exact check; every
# other exact check is a false positive of the filter
[ "$exact" -eq $((dup_seq + dup_content + dup_raw + fp)) ] \
    || e2e_fail "exact_checks_total $exact is not duplicates $((dup_seq + dup_content + dup_raw)) + false positives $fp"
e2e_log "exact checks: $exact of $read_total records" \
        "($(perl -e 'printf "%.2f", 100 * $ARGV[0] / $ARGV[1]' "$exact" "$read_total") %)," \
        "$fp Bloom false positives" \
        "($(perl -e 'printf "%.3f", 100 * $ARGV[0] / $ARGV[1]' "$fp" "$unique") % of the unique events)"

# SIGTERM: the batch in hand is finished, exit 0
e2e_dedup_kill d TERM
[ "$E2E_EXIT_RC" -eq 0 ] || e2e_fail "mcpu-dedup exited $E2E_EXIT_RC after SIGTERM, not 0"

e2e_log "ok: $n unique events once each in the clean topic, $((fed - n)) duplicates dropped" \
        "($late late copies after a generation boundary)"
