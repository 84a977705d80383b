#!/usr/bin/env bash
# Two mcpu-dedup instances of one consumer group (each with its own state
# directory) share the raw topic's partitions.  One is killed with SIGKILL;
# the survivor takes its partitions over, reads what the dead one wrote
# back from the clean topic (catch-up), and so drops the duplicates of
# events the dead one handled, resent through another node or
# byte-identical, that arrive after the takeover: the clean topic holds
# each unique event once.
. "$(dirname "$0")/lib.sh"

E2E_PARTITIONS=4
E2E_WAIT_S=${E2E_WAIT_S:-30}
SEED=${E2E_SEED:-37}
CLIENTS=300
N1=8000             # uniques before the kill
N2=4000             # uniques after it
BASE_MS=$(e2e_now_ms)
w=$E2E_WORK

gen() {
    perl "$E2E_DEDUP_RECORDS" --seed "$SEED" --base-ms "$BASE_MS" --clients "$CLIENTS" "$@"
}

# the mock makes the group wait for a dead member's session to expire
args=(--batch-ms 20 -X session.timeout.ms=3000 -X heartbeat.interval.ms=300)

# before the kill: uniques, siblings, some byte-identical copies
gen unique 0 "$N1" > "$w/1.unique"
gen --pick 0.1 same-time-type 0 "$N1" > "$w/1.siblings"
gen --pick 0.05 identical 0 "$N1" > "$w/1.identical"
cat "$w/1.unique" "$w/1.siblings" "$w/1.identical" | gen shuffle > "$w/1.txt"

e2e_start_kafka_dedup
e2e_start_dedup a "${args[@]}"
e2e_start_dedup b "${args[@]}"
both_share() {
    local na nb
    na=$(e2e_dedup_owned a) nb=$(e2e_dedup_owned b)
    [ "$na" -gt 0 ] && [ "$nb" -gt 0 ] && [ $((na + nb)) -eq "$E2E_PARTITIONS" ]
}
e2e_wait both_share || e2e_fail "the instances do not share the partitions: a holds $(e2e_dedup_owned a), b $(e2e_dedup_owned b)"
e2e_log "a holds partitions $(e2e_dedup_partitions a | tr '\n' ' ')," \
        "b holds $(e2e_dedup_partitions b | tr '\n' ' ')"

e2e_dedup_feed "$w/1.txt"
fed1=$(wc -l < "$w/1.txt")
cat "$w/1.unique" "$w/1.siblings" > "$w/uniques.txt"
e2e_dedup_ids "$w/uniques.txt" > "$w/expected.ids"
e2e_wait e2e_dedup_has_all "$w/expected.ids" \
    || e2e_fail "$(comm -23 "$w/expected.ids" "$w/clean.ids" | wc -l) unique events did not reach the clean topic"
both_done() {
    e2e_dedup_caught_up a "$(e2e_dedup_owned a)" && e2e_dedup_caught_up b "$(e2e_dedup_owned b)"
}
e2e_wait both_done || e2e_fail "the instances did not read the raw topic to its end"
read_a=$(e2e_dedup_metric a mcpu_dedup_records_read_total)
read_b=$(e2e_dedup_metric b mcpu_dedup_records_read_total)
[ "$read_a" -gt 0 ] && [ "$read_b" -gt 0 ] && [ $((read_a + read_b)) -eq "$fed1" ] \
    || e2e_fail "the instances read $read_a and $read_b records, $fed1 were fed"
both_share || e2e_fail "the partitions moved while records were handled"
e2e_log "a: $(e2e_dedup_summary a)"
e2e_log "b: $(e2e_dedup_summary b)"

# the events a wrote: those of the clean partitions a holds
e2e_dedup_partitions a > "$w/a.partitions"
e2e_dedup_dump "$E2E_CLEAN_TOPIC" "$w/clean1.txt"
perl -e '
    my %p = map { chomp; ($_ => 1) } do { open my $f, "<", $ARGV[0] or die; <$f> };
    open my $c, "<", $ARGV[1] or die;
    while (<$c>) {
        my ($part) = /^(\d+)\t/;
        print "$1\n" if $p{$part} && /"event":\{.*"id":"u(\d+)"\}\}$/;
    }' "$w/a.partitions" "$w/clean1.txt" | sort -n > "$w/a.numbers"
in_a=$(perl -e '
    my %p = map { chomp; ($_ => 1) } do { open my $f, "<", $ARGV[0] or die; <$f> };
    open my $c, "<", $ARGV[1] or die;
    my $n = 0;
    while (<$c>) { $n++ if /^(\d+)\t/ && $p{$1} }
    print "$n\n"' "$w/a.partitions" "$w/clean1.txt")
[ "$in_a" -gt 0 ] && [ -s "$w/a.numbers" ] || e2e_fail "instance a wrote nothing"
catchup_before=$(e2e_dedup_metric b mcpu_dedup_catchup_records_total)

e2e_dedup_kill a KILL
e2e_log "a killed with SIGKILL; its partitions of the clean topic hold $in_a records"
b_holds_all() { [ "$(e2e_dedup_owned b)" -eq "$E2E_PARTITIONS" ]; }
t0=$(e2e_now_ms)
e2e_wait b_holds_all || e2e_fail "b did not take a's partitions over: it holds $(e2e_dedup_partitions b | tr '\n' ' ')"
e2e_log "b holds all $E2E_PARTITIONS partitions $(( $(e2e_now_ms) - t0 )) ms after the kill"

# after the takeover: resends (another node) and byte-identical copies of
# events a wrote, mixed with new uniques and their siblings
awk 'NR % 3 == 1' "$w/a.numbers" > "$w/a.sample"
{ gen --only "$w/a.sample" --pick 0.4 resent 0 "$N1"
  gen --only "$w/a.sample" --pick 0.3 identical 0 "$N1"; } > "$w/2.copies"
gen unique "$N1" "$N2" > "$w/2.unique"
gen --pick 0.1 same-time-type "$N1" "$N2" > "$w/2.siblings"
cat "$w/2.copies" "$w/2.unique" "$w/2.siblings" | gen shuffle > "$w/2.txt"
copies=$(wc -l < "$w/2.copies")
[ "$copies" -gt 0 ] || e2e_fail "no copies of a's events were made"
e2e_dedup_feed "$w/2.txt"
fed2=$(wc -l < "$w/2.txt")
cat "$w/2.unique" "$w/2.siblings" >> "$w/uniques.txt"
e2e_dedup_ids "$w/uniques.txt" > "$w/expected.ids"
e2e_log "after the takeover: $fed2 records fed, $copies of them copies of events a wrote"

e2e_wait e2e_dedup_has_all "$w/expected.ids" \
    || e2e_fail "$(comm -23 "$w/expected.ids" "$w/clean.ids" | wc -l) unique events did not reach the clean topic"
e2e_wait e2e_dedup_caught_up b || e2e_fail "b does not read the raw topic to its end: $(grep '^mcpu_dedup_lag' "$w/b.prom")"
e2e_log "b: $(e2e_dedup_summary b)"
e2e_dedup_check "$w/expected.ids" \
    || e2e_fail "after the takeover the clean topic does not hold each of the $(wc -l < "$w/expected.ids") unique events once"

catchup=$(e2e_dedup_metric b mcpu_dedup_catchup_records_total)
# b never held a's partitions: it has no state of them, and reads back all
# that a wrote
[ "$catchup" -gt "$catchup_before" ] && [ $((catchup - catchup_before)) -ge "$in_a" ] \
    || e2e_fail "b read $((catchup - catchup_before)) records back from the clean topic when it took a's partitions, which held $in_a"
dropped=$(( $(e2e_dedup_metric b 'mcpu_dedup_duplicates_total{key="seq"}') \
          + $(e2e_dedup_metric b 'mcpu_dedup_duplicates_total{key="content"}') ))
[ "$dropped" -ge "$copies" ] || e2e_fail "b dropped $dropped duplicates, $copies copies of a's events were fed"

e2e_dedup_kill b TERM
[ "$E2E_EXIT_RC" -eq 0 ] || e2e_fail "mcpu-dedup b exited $E2E_EXIT_RC after SIGTERM, not 0"
e2e_log "ok: b took over a's $(wc -l < "$w/a.partitions") partitions, read $((catchup - catchup_before))" \
        "records back from the clean topic, and dropped all $copies copies of a's events"
