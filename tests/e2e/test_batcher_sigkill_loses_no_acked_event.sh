#!/usr/bin/env bash
# The batcher is killed with SIGKILL twice while events flow and restarted:
# every event nginx acknowledged is in Kafka (duplicates allowed, loss not).
# The broker answers after 50 ms, so at each kill records are in flight:
# handed to librdkafka, not yet acknowledged, still held in the ring.
. "$(dirname "$0")/lib.sh"

N=${E2E_EVENTS:-40000}

e2e_start_kafka
e2e_kafka_ctl rtt 1 50
e2e_start_nginx 2
e2e_start_batcher

"$E2E_BIN/mcpu-load" -u "$E2E_URL" -n "$N" -c 2 -k 100 --prefix kill- \
    --retry-503 100 -o "$E2E_WORK/acked.txt" > "$E2E_WORK/load.out" &
load_pid=$!

for round in 1 2; do
    e2e_wait e2e_ring_released_at_least $((round * N / 4)) \
        || e2e_fail "round $round: the batcher released no records"
    kill -KILL "$E2E_BATCHER_PID"
    wait "$E2E_BATCHER_PID" 2>/dev/null || true
    e2e_log "round $round: batcher killed; ring: $(e2e_ring published) published," \
            "$(e2e_ring released) released, $(e2e_ring unreleased_bytes) bytes held"
    e2e_start_batcher
done

wait "$load_pid" || true
e2e_log "load: $(cat "$E2E_WORK/load.out")"
acked=$(wc -l < "$E2E_WORK/acked.txt")
[ "$acked" -gt $((N / 2)) ] || e2e_fail "only $acked events were acknowledged"

e2e_wait e2e_topic_has "$acked" || e2e_fail "records stopped short of $acked"

check_all_there() {
    e2e_read_topic "$E2E_WORK/topic.txt"
    e2e_topic_ids "$E2E_WORK/topic.txt" | cut -f1 | sort -u > "$E2E_WORK/topic.ids"
    cut -f1 "$E2E_WORK/acked.txt" | sort > "$E2E_WORK/acked.ids"
    [ -z "$(comm -23 "$E2E_WORK/acked.ids" "$E2E_WORK/topic.ids" | head -1)" ]
}
e2e_wait check_all_there \
    || e2e_fail "$(comm -23 "$E2E_WORK/acked.ids" "$E2E_WORK/topic.ids" | wc -l) acknowledged events are not in Kafka"

total=$(wc -l < "$E2E_WORK/topic.txt")
e2e_log "ok: all $acked acknowledged events in Kafka ($((total - $(wc -l < "$E2E_WORK/topic.ids"))) duplicates from re-sends)"
