#!/usr/bin/env bash
# mcpu-dedup is killed with SIGKILL at seeded random moments while records
# flow into the raw topic, and restarted each time on the same state
# directory: some kills fall in the middle of batches, others before the
# instance has its partitions (group join, catch-up from the clean topic).
# In the end every unique event is in the clean topic (no loss), and none
# twice: the design re-reads the clean topic on restart, so it needs no
# Kafka transactions for that.  E2E_DEDUP_TXN=1 runs the same with
# -X transactional.id (test_dedup_survives_sigkill_at_random_points_with_transactions.sh).
# E2E_SEED picks another set of moments.
. "$(dirname "$0")/lib.sh"

# 48,000 records of about 450 bytes per topic: in 4 partitions they would
# pass the 5 MiB the local Kafka keeps per partition (it drops the oldest
# silently)
E2E_PARTITIONS=8
E2E_WAIT_S=${E2E_WAIT_S:-40}
SEED=${E2E_SEED:-23}
TXN=${E2E_DEDUP_TXN:-}
CLIENTS=300
CHUNKS=20
CHUNK=2000
N=$((CHUNKS * CHUNK))
KILLS=5
BASE_MS=$(e2e_now_ms)
RANDOM=$SEED
w=$E2E_WORK

gen() {
    perl "$E2E_DEDUP_RECORDS" --seed "$SEED" --base-ms "$BASE_MS" --clients "$CLIENTS" "$@"
}

# Small batches, so that kills fall between and inside many of them; a
# Bloom filter sized for 2,000 keys per partition gets 5,000: overfilled on
# purpose, so that many unique events also take the exact-check path.  The
# mock makes a restarted member wait for the dead one's session to expire:
# a short session.
args=(--batch 1000 --batch-ms 20 --keys-per-generation 2000
      -X session.timeout.ms=3000 -X heartbeat.interval.ms=300)
[ -z "$TXN" ] || args+=(-X transactional.id=dedup-test-1)

# Chunk k: the uniques k*CHUNK.., byte-identical copies of 10 % of them,
# siblings (same client, time and type, other content) of 5 %, and resends
# through another node of 10 % of chunk k-1's, shuffled.
gen unique 0 "$N" > "$w/all.unique"
gen --pick 0.05 same-time-type 0 "$N" > "$w/all.siblings"
gen --pick 0.1 identical 0 "$N" > "$w/all.identical"
gen --pick 0.1 resent 0 $((N - CHUNK)) > "$w/all.resent"
perl -e '
    my ($dir, $chunk) = @ARGV;
    my %out;
    for my $f (qw(unique siblings identical resent)) {
        open my $in, "<", "$dir/all.$f" or die "$dir/all.$f: $!";
        while (<$in>) {
            my ($i) = /"id":"[ut](\d+)"\}\}$/ or die "no id: $_";
            my $k = int($i / $chunk) + ($f eq "resent" ? 1 : 0);
            open($out{$k}, ">", "$dir/raw.$k") or die $! unless $out{$k};
            print { $out{$k} } $_;
        }
    }' "$w" "$CHUNK"
for ((k = 0; k < CHUNKS; k++)); do
    gen --seed $((SEED + k)) shuffle < "$w/raw.$k" > "$w/chunk.$k"
done
cat "$w/all.unique" "$w/all.siblings" > "$w/uniques.txt"
e2e_dedup_ids "$w/uniques.txt" > "$w/expected.ids"
n=$(wc -l < "$w/expected.ids")
fed=$(cat "$w"/chunk.* | wc -l)
[ "$(cat "$w"/raw.* | wc -l)" -eq "$fed" ] || e2e_fail "chunks lost records"
e2e_log "$n unique events, $fed records in $CHUNKS chunks${TXN:+, transactions on}"

e2e_start_kafka_dedup
# The broker answers after 50 ms: a batch then lasts long enough (produce,
# delivery reports, state and offset commits) for the kills to fall inside
# batches, between the produce and the commits, not only between them.
e2e_kafka_ctl rtt 1 50
e2e_start_dedup d "${args[@]}"

# The load: chunks 0 .. CHUNKS-2 one after the other, a pause between them
# so that records keep coming while the instances are killed and restarted
# (what is awaited is time: pacing).  The last chunk comes after the last
# restart: the final instance has work to do, and the end is seen in its
# metrics (lag 0).
(
    for ((k = 0; k < CHUNKS - 1; k++)); do
        e2e_dedup_feed "$w/chunk.$k"
        echo "$k" > "$w/fed.chunks"
        sleep 0.5
    done
) &
feeder=$!
e2e_stop_at_exit "$feeder"

owns_all() { [ "$(e2e_dedup_owned d)" -eq "$E2E_PARTITIONS" ]; }

# Succeeds once the instance has read $1 records, or has held its
# partitions for 3 s without reading as many (it read everything there
# was: the kill then falls between batches)
read_or_idle() {
    e2e_dedup_read_at_least d "$1" && return 0
    owns_all || return 1
    owned_at=${owned_at:-$(e2e_now_ms)}
    [ "$(e2e_now_ms)" -ge $((owned_at + 3000)) ] || return 1
    when="3 s idle with its partitions ($(e2e_dedup_metric d mcpu_dedup_records_read_total) records read)"
}

for ((r = 1; r <= KILLS; r++)); do
    # Two kills in three come once the instance reads (the backlog that
    # piled up while it was down): after a random number of records it
    # has read, and a random delay; the others at a random delay from its
    # start (group join, catch-up from the clean topic).  What the delay
    # awaits is time: the kill's random moment.
    if ((RANDOM % 3)); then
        records=$((1 + RANDOM % 3000))
        delay_ms=$((RANDOM % 300))
        when="$records records read"
        owned_at=
        e2e_wait read_or_idle "$records" \
            || e2e_fail "kill $r: mcpu-dedup does not read: $(e2e_dedup_summary d)"
    else
        delay_ms=$((RANDOM % 2500))
        when="start"
    fi
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    e2e_log "kill $r: SIGKILL ${delay_ms} ms after $when" \
            "(chunks fed: 0..$(cat "$w/fed.chunks" 2>/dev/null || echo none));" \
            "its last metrics: $(e2e_dedup_summary d)"
    e2e_dedup_kill d KILL
    cp "$w/d.prom" "$w/d.prom.$r" 2>/dev/null || true
    e2e_start_dedup d "${args[@]}"
done

wait "$feeder" || e2e_fail "the load failed"
e2e_kafka_ctl rtt 1 0
e2e_wait owns_all || e2e_fail "the last instance did not take the partitions: $(e2e_dedup_summary d)"
e2e_dedup_feed "$w/chunk.$((CHUNKS - 1))"
e2e_log "all $CHUNKS chunks fed"

# Done when every unique event is in the clean topic and the last instance
# has read the raw topic to its end in all partitions.
e2e_wait e2e_dedup_has_all "$w/expected.ids" \
    || e2e_fail "$(comm -23 "$w/expected.ids" "$w/clean.ids" | wc -l) of $n unique events never reached the clean topic; last instance: $(e2e_dedup_summary d)"
e2e_wait e2e_dedup_caught_up d || e2e_fail "the last instance does not catch up: $(grep '^mcpu_dedup_lag' "$w/d.prom")"
e2e_log "last instance: $(e2e_dedup_summary d)"
e2e_log "partition assignments: $(grep -c 'keys read back from' "$w/d.log"), of which" \
        "$(grep 'keys read back from' "$w/d.log" | grep -vc '; 0 keys read back')" \
        "read keys back from the clean topic (an instance was killed between producing and committing)"

if ! e2e_dedup_check "$w/expected.ids"; then
    e2e_fail "after $KILLS SIGKILLs${TXN:+ (transactions on)}: $E2E_DEDUP_MISSING unique events lost," \
             "$E2E_DEDUP_DUPLICATED written twice or more, $E2E_DEDUP_EXTRA unexpected," \
             "$E2E_DEDUP_FOREIGN not as in the raw topic"
fi

e2e_dedup_kill d TERM
[ "$E2E_EXIT_RC" -eq 0 ] || e2e_fail "mcpu-dedup exited $E2E_EXIT_RC after SIGTERM, not 0"
e2e_log "ok: $KILLS SIGKILLs${TXN:+ (transactions on)}, all $n unique events in the clean topic, none twice"
