#!/usr/bin/env bash
# mcpu-dedup stopped with SIGTERM exits 0 with every batch committed.
# Restarted on the same state directory with nothing new in the raw topic,
# it reads nothing again, writes nothing and reports a lag of 0 in every
# partition; then copies of the events handled before the stop (resent
# through another node, byte-identical) are still dropped, and new events
# kept: the clean topic holds each unique event once.
. "$(dirname "$0")/lib.sh"

E2E_PARTITIONS=4
E2E_WAIT_S=${E2E_WAIT_S:-30}
SEED=${E2E_SEED:-41}
CLIENTS=300
N1=6000
N2=2000
BASE_MS=$(e2e_now_ms)
w=$E2E_WORK

gen() {
    perl "$E2E_DEDUP_RECORDS" --seed "$SEED" --base-ms "$BASE_MS" --clients "$CLIENTS" "$@"
}

# The mock holds a group that a member left in its rebalance for
# session.timeout.ms less 1 s before it lets a new member in: a short session.
args=(--batch-ms 20 -X session.timeout.ms=3000 -X heartbeat.interval.ms=300)

gen unique 0 "$N1" > "$w/1.unique"
gen --pick 0.1 identical 0 "$N1" > "$w/1.identical"
cat "$w/1.unique" "$w/1.identical" | gen shuffle > "$w/1.txt"
{ gen --pick 0.3 resent 0 "$N1"; gen --pick 0.2 identical 0 "$N1"; } > "$w/2.copies"
gen unique "$N1" "$N2" > "$w/2.unique"
cat "$w/2.copies" "$w/2.unique" | gen shuffle > "$w/2.txt"

e2e_start_kafka_dedup
e2e_start_dedup d "${args[@]}"
e2e_wait e2e_dedup_caught_up d || e2e_fail "mcpu-dedup did not take the $E2E_PARTITIONS partitions"

e2e_dedup_feed "$w/1.txt"
fed1=$(wc -l < "$w/1.txt")
e2e_dedup_ids "$w/1.unique" > "$w/expected.ids"
e2e_wait e2e_dedup_read_at_least d "$fed1" \
    || e2e_fail "mcpu-dedup handled $(e2e_dedup_metric d mcpu_dedup_records_read_total) of $fed1 records"
e2e_wait e2e_dedup_has_all "$w/expected.ids" || e2e_fail "unique events did not reach the clean topic"
e2e_wait e2e_dedup_caught_up d || e2e_fail "mcpu-dedup reports a lag: $(grep '^mcpu_dedup_lag' "$w/d.prom")"
e2e_log "before the stop: $(e2e_dedup_summary d)"

e2e_dedup_kill d TERM
[ "$E2E_EXIT_RC" -eq 0 ] || e2e_fail "mcpu-dedup exited $E2E_EXIT_RC after SIGTERM, not 0"
e2e_dedup_dump "$E2E_CLEAN_TOPIC" "$w/clean.before"
clean_before=$(wc -l < "$w/clean.before")

# the restart: nothing new to read
e2e_start_dedup d "${args[@]}"
owns_all() { [ "$(e2e_dedup_owned d)" -eq "$E2E_PARTITIONS" ]; }
e2e_wait owns_all || e2e_fail "the restarted mcpu-dedup did not take the partitions"
e2e_log "restarted: $(e2e_dedup_summary d)"
e2e_wait e2e_dedup_caught_up d \
    || e2e_fail "the restarted mcpu-dedup, with nothing new to read, reports a lag:" \
                "$(grep '^mcpu_dedup_lag' "$w/d.prom" | tr '\n' ' ')"
[ "$(e2e_dedup_metric d mcpu_dedup_records_read_total)" -eq 0 ] \
    || e2e_fail "the restarted mcpu-dedup read records again: $(e2e_dedup_summary d)"
e2e_dedup_dump "$E2E_CLEAN_TOPIC" "$w/clean.after"
[ "$(wc -l < "$w/clean.after")" -eq "$clean_before" ] \
    || e2e_fail "the clean topic went from $clean_before to $(wc -l < "$w/clean.after") records after the restart"

# copies of what was handled before the stop, and new events
e2e_dedup_feed "$w/2.txt"
fed2=$(wc -l < "$w/2.txt")
e2e_dedup_ids "$w/1.unique" "$w/2.unique" > "$w/expected.ids"
e2e_wait e2e_dedup_read_at_least d "$fed2" \
    || e2e_fail "the restarted mcpu-dedup handled $(e2e_dedup_metric d mcpu_dedup_records_read_total) of $fed2 records"
e2e_wait e2e_dedup_has_all "$w/expected.ids" || e2e_fail "new unique events did not reach the clean topic"
e2e_log "after the restart: $(e2e_dedup_summary d)"
e2e_dedup_check "$w/expected.ids" \
    || e2e_fail "after the restart the clean topic does not hold each unique event once"
[ "$(e2e_dedup_metric d mcpu_dedup_records_unique_total)" -eq "$N2" ] \
    || e2e_fail "the restarted mcpu-dedup wrote $(e2e_dedup_metric d mcpu_dedup_records_unique_total) records, $N2 new events were fed"

e2e_log "ok: restarted after SIGTERM, it read nothing again and dropped all" \
        "$(wc -l < "$w/2.copies") copies of events handled before the stop"
