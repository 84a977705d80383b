#!/usr/bin/env bash
# While events flow into the clean topic, ClickHouse is killed (SIGKILL)
# under mcpu-sink: its INSERTs fail, it backs off with its partitions
# paused (it reads nothing more, inserts nothing, commits nothing), and
# every record below the offsets it committed is in ClickHouse.
# ClickHouse comes back on the same data and port, and the sink goes on.
# Then mcpu-sink itself is killed (SIGKILL) and started again: the batch
# it had in hand, maybe inserted but not committed, is read again.  In the
# end every unique event is in ClickHouse exactly once as queries read it
# (FINAL, GROUP BY the key), none missing.  E2E_SEED picks other events
# and another moment for the sink's kill.
. "$(dirname "$0")/lib.sh"

E2E_PARTITIONS=8
E2E_WAIT_S=${E2E_WAIT_S:-40}
SEED=${E2E_SEED:-47}
CLIENTS=300
CHUNKS=20
CHUNK=2000
N=$((CHUNKS * CHUNK))
BASE_MS=$(e2e_now_ms)
RANDOM=$SEED
w=$E2E_WORK

gen() {
    perl "$E2E_DEDUP_RECORDS" --seed "$SEED" --base-ms "$BASE_MS" --clients "$CLIENTS" "$@"
}

# Chunk k: the uniques k*CHUNK.. and byte-identical copies of 5 % of them,
# shuffled
gen unique 0 "$N" > "$w/all.unique"
gen --pick 0.05 identical 0 "$N" > "$w/all.copies"
perl -e '
    my ($dir, $chunk) = @ARGV;
    my %out;
    for my $f (qw(unique copies)) {
        open my $in, "<", "$dir/all.$f" or die "$dir/all.$f: $!";
        while (<$in>) {
            my ($i) = /"id":"u(\d+)"\}\}$/ or die "no id: $_";
            my $k = int($i / $chunk);
            open($out{$k}, ">", "$dir/raw.$k") or die $! unless $out{$k};
            print { $out{$k} } $_;
        }
    }' "$w" "$CHUNK"
for ((k = 0; k < CHUNKS; k++)); do
    gen --seed $((SEED + k)) shuffle < "$w/raw.$k" > "$w/chunk.$k"
done
e2e_dedup_ids "$w/all.unique" > "$w/expected.ids"
records=$(cat "$w"/chunk.* | wc -l)
e2e_log "$N unique events, $records records in $CHUNKS chunks"

# Small batches and a short backoff ceiling, so that a few seconds hold
# several INSERTs and retries; batches that collect for half of each
# chunk's 0.6 s, so that the sink's kill falls as often as not on a batch
# in hand; a short session, so that a restarted sink gets the partitions
# of the killed one soon.
args=(--batch 2000 --batch-ms 300 --retry-max-ms 2000
      -X session.timeout.ms=3000 -X heartbeat.interval.ms=300)

e2e_start_clickhouse
sink_url=$E2E_CH_URL
e2e_start_kafka
e2e_start_sink s "${args[@]}"

# The load: a chunk every 0.6 s (pacing: records keep coming through both
# kills)
(
    for ((k = 0; k < CHUNKS; k++)); do
        e2e_sink_feed "$w/chunk.$k"
        echo "$k" > "$w/fed.chunks"
        sleep 0.6
    done
) &
feeder=$!
e2e_stop_at_exit "$feeder"

# --- ClickHouse killed under the sink
e2e_wait e2e_sink_inserted_at_least s 6000 || e2e_fail "mcpu-sink does not insert: $(e2e_sink_summary s)"
e2e_kill_clickhouse
e2e_wait e2e_sink_failed_at_least s 2 \
    || e2e_fail "mcpu-sink saw no failed INSERT with ClickHouse dead: $(e2e_sink_summary s)"
e2e_log "ClickHouse dead: $(e2e_sink_summary s)"

# Two looks 1.5 s apart while ClickHouse is dead: nothing inserted,
# committed or read in between (paused, with a batch in hand and a
# backoff), while the topic grows
look() {
    echo "$(e2e_sink_metric s mcpu_sink_rows_inserted_total)" \
         "$(e2e_sink_metric s mcpu_sink_records_read_total)" \
         "$(e2e_sink_committed s | sort -n | tr '\n' ' ')"
}
before=$(look)
cp "$w/s.prom" "$w/s.prom.dead"
sleep 1.5
after=$(look)
[ "$before" = "$after" ] \
    || e2e_fail "mcpu-sink moved while ClickHouse was dead: inserted read committed '$before' then '$after'"
[ "$(e2e_sink_metric s mcpu_sink_paused)" -eq 1 ] || e2e_fail "the partitions are not paused"
[ "$(e2e_sink_metric s mcpu_sink_batch_rows)" -gt 0 ] || e2e_fail "no batch in hand while ClickHouse is dead"
awk '$1 == "mcpu_sink_backoff_seconds" { exit !($2 >= 1) }' "$w/s.prom" \
    || e2e_fail "no backoff: $(grep backoff "$w/s.prom")"
e2e_log "nothing inserted, read or committed for 1.5 s: $(e2e_sink_summary s)"

# What was committed was inserted: ClickHouse is started on its data on
# another port, which the sink does not know, to look; every record of
# the topic below the committed offsets must be there.
e2e_start_clickhouse "$(e2e_free_port)"
e2e_ch_ids "$w/ch.ids.dead"
e2e_dedup_dump "$E2E_CLEAN_TOPIC" "$w/clean.dead"
e2e_sink_committed s > "$w/committed.dead"
perl -e '
    my ($committed, $clean, $ids) = @ARGV;
    my (%c, %in, @lost, $below);
    open my $f, "<", $committed or die $!;
    while (<$f>) { my ($p, $o) = split; $c{$p} = $o }
    open $f, "<", $ids or die $!;
    while (<$f>) { chomp; $in{$_} = 1 }
    open $f, "<", $clean or die $!;
    while (<$f>) {
        my ($p, $o) = split /\t/;
        next unless defined $c{$p} && $o < $c{$p};
        $below++;
        my ($id) = /"id":"([^"]*)"\}\}$/ or die "no id: $_";
        push @lost, "$id ($p:$o)" unless $in{$id};
    }
    print STDERR "records below the committed offsets: $below, not in ClickHouse: ", scalar(@lost),
        @lost ? " (@lost[0 .. ($#lost < 9 ? $#lost : 9)])" : "", "\n";
    exit(@lost || !$below ? 1 : 0);
' "$w/committed.dead" "$w/clean.dead" "$w/ch.ids.dead" \
    || e2e_fail "offsets were committed past what ClickHouse has"
e2e_stop_clickhouse
e2e_log "committed offsets $(tr '\n' ' ' < "$w/committed.dead")- all below them in ClickHouse"

# ClickHouse back where the sink expects it
e2e_start_clickhouse "${sink_url##*:}"
failures=$(e2e_sink_metric s mcpu_sink_insert_failures_total)
inserted=$(e2e_sink_metric s mcpu_sink_rows_inserted_total)
read=$(e2e_sink_metric s mcpu_sink_records_read_total)
e2e_wait e2e_sink_inserted_at_least s $((inserted + 2000)) \
    || e2e_fail "mcpu-sink does not insert again after ClickHouse came back: $(e2e_sink_summary s)"
e2e_log "ClickHouse back after $failures failed INSERTs: $(e2e_sink_summary s)"

# --- the sink killed mid-stream, at a seeded moment once it reads again
# (most often with a batch in hand, or between an INSERT and its commit),
# and started again
e2e_wait e2e_sink_read_at_least s $((read + 4000)) \
    || e2e_fail "mcpu-sink does not read again after ClickHouse came back: $(e2e_sink_summary s)"
delay_ms=$((RANDOM % 300))
sleep "$(printf '0.%03d' "$delay_ms")"
e2e_log "SIGKILL mcpu-sink $delay_ms ms later (chunks fed: 0..$(cat "$w/fed.chunks"));" \
        "its last metrics: $(e2e_sink_summary s)"
e2e_sink_kill s KILL
cp "$w/s.prom" "$w/s.prom.killed"
killed_inserted=$(e2e_sink_metric s mcpu_sink_rows_inserted_total)
killed_read=$(e2e_sink_metric s mcpu_sink_records_read_total)
e2e_start_sink s "${args[@]}"

wait "$feeder" || e2e_fail "the load failed"
e2e_log "all $CHUNKS chunks fed"

done_all() { [ "$(e2e_ch_count)" -ge "$N" ] && e2e_sink_caught_up s; }
e2e_wait done_all || e2e_fail "$(e2e_ch_count) of $N events in ClickHouse; sink: $(e2e_sink_summary s)"
e2e_log "restarted sink: $(e2e_sink_summary s); it read from the committed offsets" \
        "$(sed -n 's/.*partition \([0-9]*\): reading .* from offset \([0-9]*\)$/\1:\2/p' "$w/s.log" \
           | tail -n "$E2E_PARTITIONS" | tr '\n' ' ')(the killed one's metrics, at most 100 ms" \
        "before the kill: $killed_read read, $killed_inserted inserted)"

e2e_ch_ids "$w/ch.ids"
missing=$(comm -23 "$w/expected.ids" "$w/ch.ids" | wc -l)
extra=$(comm -13 "$w/expected.ids" "$w/ch.ids" | wc -l)
twice=$(uniq -d "$w/ch.ids" | wc -l)
stored=$(e2e_ch_query "SELECT count() FROM mcpu.events")
final=$(e2e_ch_count)
grouped=$(e2e_ch_query "SELECT count() FROM (SELECT client_id, dedup_key FROM mcpu.events GROUP BY client_id, dedup_key)")
e2e_log "ClickHouse: $stored rows stored (copies and re-deliveries included), count() FINAL $final," \
        "GROUP BY (client_id, dedup_key) $grouped; $missing missing, $twice twice, $extra unexpected"
[ "$missing" -eq 0 ] || e2e_fail "$missing events lost: $(comm -23 "$w/expected.ids" "$w/ch.ids" | head -10 | tr '\n' ' ')"
[ "$twice" -eq 0 ] || e2e_fail "$twice events twice through FINAL: $(uniq -d "$w/ch.ids" | head -10 | tr '\n' ' ')"
[ "$extra" -eq 0 ] || e2e_fail "$extra unexpected events"
[ "$final" -eq "$N" ] && [ "$grouped" -eq "$N" ] || e2e_fail "FINAL counts $final, GROUP BY $grouped, not $N"

e2e_sink_kill s TERM
[ "$E2E_EXIT_RC" -eq 0 ] || e2e_fail "mcpu-sink exited $E2E_EXIT_RC after SIGTERM, not 0"
e2e_log "ok: ClickHouse and mcpu-sink killed mid-stream; all $N events once each, none missing"
