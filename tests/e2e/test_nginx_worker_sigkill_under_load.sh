#!/usr/bin/env bash
# nginx workers are killed with SIGKILL while events flow, 7 times, in a
# ring of 8 lanes with 2 workers.  Each time the master respawns the worker,
# events keep being acknowledged (nothing stalls), and the batcher drains
# the dead worker's lane to its last published record.  The first 6
# respawned workers take free lanes; the 7th finds none and takes over the
# lane of a dead worker (reclaimed).  At the end every acknowledged event
# is in Kafka, each record conforms to the schema, the ring is drained to
# the last record and the batcher never met a corrupt record.
. "$(dirname "$0")/lib.sh"

N=${E2E_EVENTS:-30000}
KILLS=7
E2E_RING_LANES=8

e2e_start_kafka
e2e_start_nginx_daemon 2
e2e_start_batcher

# a killed worker resets the connections it held: those events are sent
# again (--retry-errors); a duplicate is allowed, a loss is not
"$E2E_BIN/mcpu-load" -u "$E2E_URL" -n "$N" -c 8 -k 200 --prefix kill- --rate 3000 \
    --retry-503 1000 --retry-errors 10 -o "$E2E_WORK/acked.txt" \
    > "$E2E_WORK/load.out" 2> "$E2E_WORK/load.err" &
load_pid=$!
e2e_stop_at_exit "$load_pid"

acked() { wc -l < "$E2E_WORK/acked.txt"; }
acked_at_least() { [ "$(acked)" -ge "$1" ]; }

# lane_of PID: the lane a worker produces into
lane_of() { e2e_ring_lanes | awk -v p="$1" '$2 == p { print $1 }'; }

# drained LANE: the batcher released the lane's last published record
drained() { e2e_ring_lanes | awk -v l="$1" '$1 == l { exit !($4 == $5 && $6 == 0) }'; }

for round in $(seq 1 $KILLS); do
    e2e_wait acked_at_least $((round * N / (KILLS + 2))) \
        || e2e_fail "round $round: the load stalled at $(acked) acknowledged events"
    victim=$(e2e_nginx_workers "$E2E_NGINX_PID" | head -1)
    lane=$(lane_of "$victim")
    [ -n "$lane" ] || e2e_fail "round $round: worker $victim owns no lane"
    e2e_nginx_kill_worker
    at=$(acked)
    e2e_wait acked_at_least $((at + 500)) \
        || e2e_fail "round $round: nothing acknowledged after worker $victim was killed ($(acked))"
    e2e_wait drained "$lane" \
        || e2e_fail "round $round: lane $lane of the killed worker $victim is not drained: $(e2e_ring_lanes | awk -v l="$lane" '$1 == l')"
    e2e_log "round $round: worker $victim (lane $lane) killed at $at acked; respawned," \
            "load going on, lane $lane drained"
done

# the 7th respawn found no free lane and took over a dead worker's
reclaimed=$(e2e_ring_lanes | awk '$3 >= 2 && $2 != 0 { print $1 }' | head -1)
[ -n "$reclaimed" ] \
    || e2e_fail "no lane of a dead worker was reclaimed: $(e2e_ring_lanes | tr '\n' ';')"
owner=$(e2e_ring_lanes | awk -v l="$reclaimed" '$1 == l { print $2 }')
kill -0 "$owner" 2>/dev/null || e2e_fail "lane $reclaimed is owned by $owner, which is not alive"
e2e_log "lane $reclaimed was reclaimed by the live worker $owner"

wait "$load_pid" || true
e2e_log "load: $(cat "$E2E_WORK/load.out")"
grep -q ' bad=0 ' "$E2E_WORK/load.out" || e2e_fail "answers other than 2xx and 503: $(head -3 "$E2E_WORK/load.err")"
total=$(acked)
[ "$total" -gt $((N / 2)) ] || e2e_fail "only $total of $N events were acknowledged"
[ "$(e2e_log_count "$E2E_WORK/nginx.log" 'exited on signal 9')" -eq $KILLS ] \
    || e2e_fail "nginx did not report $KILLS workers killed"

# everything published is released: the ring is drained, lane by lane
ring_drained() { e2e_ring_lanes | awk '$4 != $5 || $6 != 0 { bad = 1 } END { exit bad }'; }
e2e_wait ring_drained || e2e_fail "the ring is not drained: $(e2e_ring_lanes | tr '\n' ';')"

kill -0 "$E2E_BATCHER_PID" 2>/dev/null || e2e_fail "the batcher died"
if e2e_log_has "$E2E_WORK/batcher.log" ' CRIT |no valid record'; then
    e2e_fail "the batcher met a corrupt ring: $(grep -E ' CRIT |no valid record' "$E2E_WORK/batcher.log" | head -2)"
fi

cut -f1 "$E2E_WORK/acked.txt" | sort > "$E2E_WORK/acked.ids"
all_there() {
    e2e_read_topic "$E2E_WORK/topic.txt"
    e2e_topic_ids "$E2E_WORK/topic.txt" | cut -f1 | sort -u > "$E2E_WORK/topic.ids"
    [ -z "$(comm -23 "$E2E_WORK/acked.ids" "$E2E_WORK/topic.ids" | head -1)" ]
}
e2e_wait all_there \
    || e2e_fail "$(comm -23 "$E2E_WORK/acked.ids" "$E2E_WORK/topic.ids" | wc -l) acknowledged events are not in Kafka, e.g. $(comm -23 "$E2E_WORK/acked.ids" "$E2E_WORK/topic.ids" | head -3 | tr '\n' ' ')"

perl "$E2E_TOP/tests/e2e/record_conforms.pl" "$E2E_TOP/ngx_mcpu_module/mcpu_record.schema.json" \
    < "$E2E_WORK/topic.txt" > "$E2E_WORK/schema.out" \
    || e2e_fail "records differ from mcpu_record.schema.json: $(head -3 "$E2E_WORK/schema.out")"

records=$(wc -l < "$E2E_WORK/topic.txt")
e2e_log "ok: $KILLS workers killed under load; all $total acknowledged events in Kafka" \
        "($((records - $(wc -l < "$E2E_WORK/topic.ids"))) duplicates), every record valid, ring drained"
