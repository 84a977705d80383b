#!/usr/bin/env bash
# Fatal producer errors do not stop the batcher and lose nothing.  The
# local Kafka makes librdkafka 2.0.2 raise two fatal errors for the
# idempotent producer, as a real cluster can:
#   - a Produce request answered OUT_OF_ORDER_SEQUENCE_NUMBER while it is
#     the oldest in flight of its partition: "sequence desynchronization"
#     (rdkafka_request.c, rd_kafka_handle_idempotent_Produce_error);
#   - the next producer's InitProducerId answered PRODUCER_FENCED: "fenced
#     by newer instance" (rdkafka_idempotence.c, rd_kafka_idemp_check_error).
# Each time the batcher replaces its producer, the records the dead one
# held are produced again by the next one, and the same batcher process
# delivers every event nginx acknowledged.  The broker answers after 50 ms,
# so records are in flight when each error strikes.
. "$(dirname "$0")/lib.sh"

N=${E2E_EVENTS:-20000}
log=$E2E_WORK/batcher.log

e2e_start_kafka
e2e_kafka_ctl rtt 1 50
e2e_start_nginx 2
e2e_start_batcher
pid=$E2E_BATCHER_PID
e2e_wait e2e_log_has "$log" 'Kafka is reachable' || e2e_fail "the batcher never reached Kafka"

# the next Produce request fails, and so does the next InitProducerId
# (the first producer got its id at start; the second one asks for one)
e2e_kafka_ctl error 22 90 1      # InitProducerId: PRODUCER_FENCED
e2e_kafka_ctl error 0 45 1       # Produce: OUT_OF_ORDER_SEQUENCE_NUMBER
applied() { [ "$(e2e_log_count "$E2E_WORK/kafka.log" "control 'error .*': applied")" -eq 2 ]; }
e2e_wait applied || e2e_fail "mcpu-kafka did not apply the errors"

"$E2E_BIN/mcpu-load" -u "$E2E_URL" -n "$N" -c 2 -k 100 --prefix fatal- \
    --retry-503 100 -o "$E2E_WORK/acked.txt" > "$E2E_WORK/load.out" \
    || e2e_fail "not every event was accepted: $(cat "$E2E_WORK/load.out")"
e2e_log "load: $(cat "$E2E_WORK/load.out")"

rebuilt_twice() { [ "$(e2e_log_count "$log" 'Kafka producer [0-9]+ \(.*\) replaces the old one')" -ge 2 ]; }
e2e_wait rebuilt_twice || e2e_fail "the producer was not replaced twice"
e2e_log_has "$log" 'CRIT Kafka producer 1 \(.*\): fatal error: OUT_OF_ORDER_SEQUENCE_NUMBER' \
    || e2e_fail "no fatal sequence error logged"
e2e_log_has "$log" 'CRIT Kafka producer 2 \(.*\): fatal error: _FENCED' \
    || e2e_fail "no fatal fencing logged"
kill -0 "$pid" 2>/dev/null || e2e_fail "the batcher exited"

all_there() {
    e2e_read_topic "$E2E_WORK/topic.txt" || return 1
    e2e_topic_ids "$E2E_WORK/topic.txt" | cut -f1 | sort -u > "$E2E_WORK/topic.ids"
    cut -f1 "$E2E_WORK/acked.txt" | sort > "$E2E_WORK/acked.ids"
    [ -z "$(comm -23 "$E2E_WORK/acked.ids" "$E2E_WORK/topic.ids" | head -1)" ]
}
e2e_wait all_there \
    || e2e_fail "$(comm -23 "$E2E_WORK/acked.ids" "$E2E_WORK/topic.ids" | wc -l) acknowledged events are not in Kafka"
drained() { [ "$(e2e_ring unreleased_bytes)" -eq 0 ]; }
e2e_wait drained || e2e_fail "$(e2e_ring unreleased_bytes) bytes still unreleased"
[ "$(e2e_batcher_header consumer_pid)" -eq "$pid" ] || e2e_fail "another process consumes the ring"

acked=$(wc -l < "$E2E_WORK/acked.ids")
total=$(wc -l < "$E2E_WORK/topic.txt")
resent=$(grep -oE 'replaces the old one after [0-9]+ ms: [0-9]+ records' "$log" \
         | awk '{ printf "%s%s records after %s ms", sep, $8, $6; sep = ", " }')
e2e_log "ok: producers 1 and 2 died (sequence error, fenced), the same batcher resent $resent;" \
        "all $acked acknowledged events in Kafka, $((total - acked)) duplicates"
