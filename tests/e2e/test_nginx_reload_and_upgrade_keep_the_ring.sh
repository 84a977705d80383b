#!/usr/bin/env bash
# nginx is reloaded twice and upgraded (USR2 to the master, then QUIT to the
# old master) while events flow.  The ring file is never re-created (same
# inode), its counters never go back, and events waiting in it survive: the
# second reload and the upgrade happen while the batcher is stopped, with
# thousands of events held in the ring, and each of them is still there
# afterwards.  Once the batcher is back, every acknowledged event is in
# Kafka and the ring is drained.
. "$(dirname "$0")/lib.sh"

N=${E2E_EVENTS:-30000}
E2E_RING_LANES=8      # 2 workers, twice as many during a reload or upgrade

e2e_start_kafka
e2e_start_nginx_daemon 2
e2e_start_batcher
ring=$E2E_WORK/ring
inode=$(stat -c %i "$ring")

# connections of old workers are closed when they finish: those events are
# sent again (--retry-errors); a duplicate is allowed, a loss is not
"$E2E_BIN/mcpu-load" -u "$E2E_URL" -n "$N" -c 8 -k 200 --prefix up- --rate 3000 \
    --retry-503 1000 --retry-errors 10 -o "$E2E_WORK/acked.txt" \
    > "$E2E_WORK/load.out" 2> "$E2E_WORK/load.err" &
load_pid=$!
e2e_stop_at_exit "$load_pid"

acked() { wc -l < "$E2E_WORK/acked.txt"; }
acked_at_least() { [ "$(acked)" -ge "$1" ]; }

# at STEP: waits until STEP/12 of the events are acknowledged
at() {
    e2e_wait acked_at_least $(($1 * N / 12)) \
        || e2e_fail "the load stalled at $(acked) acknowledged events"
}

# the ids of the events held in the ring (published, not released)
ring_ids() {
    perl -I "$E2E_TOP/t/lib" -MMCPU::Ring -e '
        for (MCPU::Ring::records($ARGV[0])) {
            print "$1\n" if $_->{value} =~ /"event":\{.*"id":"([^"]*)"/;
        }' "$ring" | sort
}

# still_there WHAT: same ring file, counters not back, held events all there
published=0
still_there() {
    local p
    [ "$(stat -c %i "$ring")" = "$inode" ] || e2e_fail "$1: the ring file was re-created"
    p=$(e2e_ring published)
    [ "$p" -ge "$published" ] || e2e_fail "$1: published went back from $published to $p"
    published=$p
    if [ -s "$E2E_WORK/held.ids" ]; then
        ring_ids > "$E2E_WORK/now.ids"
        [ -z "$(comm -23 "$E2E_WORK/held.ids" "$E2E_WORK/now.ids" | head -1)" ] \
            || e2e_fail "$1: $(comm -23 "$E2E_WORK/held.ids" "$E2E_WORK/now.ids" | wc -l) events held in the ring are gone"
    fi
}

at 2
e2e_nginx_reload
still_there "reload with the batcher running"
e2e_log "reloaded at $(acked) acked: new workers, same ring, $published published"

at 4
e2e_stop_pid "$E2E_BATCHER_PID" TERM
at 5
ring_ids > "$E2E_WORK/held.ids"
held=$(wc -l < "$E2E_WORK/held.ids")
[ "$held" -gt 0 ] || e2e_fail "no event is waiting in the ring with the batcher stopped"
e2e_log "batcher stopped: $held events held in the ring"

e2e_nginx_reload
still_there "reload with events in the ring"
e2e_log "reloaded at $(acked) acked: all $held held events still in the ring"

at 6
old_master=$E2E_NGINX_PID
e2e_nginx_upgrade
[ "$E2E_NGINX_PID" != "$old_master" ] || e2e_fail "the master did not change"
still_there "binary upgrade with events in the ring"
e2e_log "upgraded at $(acked) acked: master $old_master -> $E2E_NGINX_PID, all $held held events still in the ring"

at 7
e2e_start_batcher

wait "$load_pid" || true
e2e_log "load: $(cat "$E2E_WORK/load.out")"
grep -q ' bad=0 ' "$E2E_WORK/load.out" || e2e_fail "answers other than 2xx and 503: $(head -3 "$E2E_WORK/load.err")"
total=$(acked)
[ "$total" -gt $((N / 2)) ] || e2e_fail "only $total of $N events were acknowledged"

ring_drained() { e2e_ring_lanes | awk '$4 != $5 || $6 != 0 { bad = 1 } END { exit bad }'; }
e2e_wait ring_drained || e2e_fail "the ring is not drained: $(e2e_ring_lanes | tr '\n' ';')"
cp "$E2E_WORK/held.ids" "$E2E_WORK/held-then.ids"
: > "$E2E_WORK/held.ids"      # released now, as they should be
still_there "the end"

cut -f1 "$E2E_WORK/acked.txt" | sort > "$E2E_WORK/acked.ids"
all_there() {
    e2e_read_topic "$E2E_WORK/topic.txt"
    e2e_topic_ids "$E2E_WORK/topic.txt" | cut -f1 | sort -u > "$E2E_WORK/topic.ids"
    [ -z "$(comm -23 "$E2E_WORK/acked.ids" "$E2E_WORK/topic.ids" | head -1)" ]
}
e2e_wait all_there \
    || e2e_fail "$(comm -23 "$E2E_WORK/acked.ids" "$E2E_WORK/topic.ids" | wc -l) acknowledged events are not in Kafka, e.g. $(comm -23 "$E2E_WORK/acked.ids" "$E2E_WORK/topic.ids" | head -3 | tr '\n' ' ')"
[ -z "$(comm -23 "$E2E_WORK/held-then.ids" "$E2E_WORK/topic.ids" | head -1)" ] \
    || e2e_fail "events held in the ring through the reload and upgrade are not in Kafka"

records=$(wc -l < "$E2E_WORK/topic.txt")
e2e_log "ok: 2 reloads and a binary upgrade under load; all $total acknowledged events in Kafka" \
        "($((records - $(wc -l < "$E2E_WORK/topic.ids"))) duplicates), $held held in the ring through them"
