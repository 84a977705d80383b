#!/usr/bin/env bash
# Kafka goes down and comes back while the batcher is idle: the batcher
# logs both and the ring header's consumer_flags follow (1 up, 0 down).
# With Kafka down again and records handed to librdkafka, SIGTERM stops the
# batcher with exit 0 within flush_timeout_ms plus a margin; the records it
# could not deliver stay in the ring (nothing released past them), and the
# next batcher, with Kafka back, sends them: every acknowledged event is in
# Kafka.
. "$(dirname "$0")/lib.sh"

N=${E2E_EVENTS:-1000}
M=${E2E_EVENTS_DOWN:-500}
FLUSH=2000
MARGIN=3000

log=$E2E_WORK/batcher.log
flags() { e2e_batcher_header consumer_flags; }
flags_are() { [ "$(flags)" -eq "$1" ]; }

e2e_start_kafka
e2e_start_nginx 2
e2e_start_batcher --flush-timeout-ms "$FLUSH"
pid=$E2E_BATCHER_PID

# Kafka up: events flow, the header says so
"$E2E_BIN/mcpu-load" -u "$E2E_URL" -n "$N" -c 2 -k 100 --prefix up- \
    -o "$E2E_WORK/acked-up.txt" > "$E2E_WORK/load.out" \
    || e2e_fail "not every event was accepted: $(cat "$E2E_WORK/load.out")"
e2e_wait e2e_topic_has "$N" || e2e_fail "only $(e2e_topic_count) of $N records reached Kafka"
e2e_wait flags_are 1 || e2e_fail "consumer_flags $(flags) with Kafka up, not 1"

# down and up again while idle: both are logged, the flags follow
e2e_kafka_ctl down -1
e2e_wait e2e_log_has "$log" 'WARN Kafka is unreachable' || e2e_fail "Kafka down was not logged"
e2e_wait flags_are 0 || e2e_fail "consumer_flags $(flags) with Kafka down, not 0"
e2e_kafka_ctl up -1
e2e_wait e2e_log_has "$log" 'Kafka is reachable again' || e2e_fail "Kafka back was not logged"
e2e_wait flags_are 1 || e2e_fail "consumer_flags $(flags) with Kafka back, not 1"
e2e_log "idle batcher: $(grep -oE 'Kafka is (un)?reachable[^;]*' "$log" | tail -2 | paste -sd '|')"

# down again, and M events accepted by nginx, handed to librdkafka
e2e_kafka_ctl down -1
e2e_wait flags_are 0 || e2e_fail "consumer_flags $(flags) with Kafka down again, not 0"
"$E2E_BIN/mcpu-load" -u "$E2E_URL" -n "$M" -c 2 -k 100 --prefix down- \
    -o "$E2E_WORK/acked-down.txt" > "$E2E_WORK/load.out" \
    || e2e_fail "not every event was accepted: $(cat "$E2E_WORK/load.out")"
e2e_wait e2e_batcher_header_at_least in_flight "$M" \
    || e2e_fail "only $(e2e_batcher_header in_flight) of $M records were handed to librdkafka"
released=$(e2e_ring released)

kill -TERM "$pid"
e2e_wait_exit "$pid" $((FLUSH + MARGIN)) \
    || e2e_fail "SIGTERM with Kafka down: still running after $((FLUSH + MARGIN)) ms"
[ "$E2E_EXIT_RC" -eq 0 ] || e2e_fail "SIGTERM with Kafka down: exit status $E2E_EXIT_RC"
[ "$E2E_EXIT_MS" -ge $((FLUSH - 100)) ] \
    || e2e_fail "the batcher exited after $E2E_EXIT_MS ms, without waiting flush_timeout_ms for the reports"
e2e_log "SIGTERM with Kafka down: exit 0 after $E2E_EXIT_MS ms (flush_timeout_ms $FLUSH)"

e2e_log_has "$log" "WARN $M records not acknowledged stay in the ring" \
    || e2e_fail "the batcher did not say that $M records stay in the ring"
[ "$(e2e_ring released)" -eq "$released" ] \
    || e2e_fail "records were released while Kafka was down: $released, then $(e2e_ring released)"
held=$(e2e_ring unreleased_bytes)
[ "$held" -gt 0 ] || e2e_fail "nothing left in the ring"
[ "$(e2e_batcher_header consumer_pid)" -eq 0 ] || e2e_fail "the batcher left its pid in the ring header"

# Kafka back, the next batcher sends them
e2e_kafka_ctl up -1
e2e_start_batcher
e2e_wait e2e_log_has "$log" "NOTICE $M records \\([0-9]+ bytes\\) unreleased in [0-9]+ lanes will be sent" \
    || e2e_fail "the next batcher did not say it sends the $M records left"

all_there() {
    e2e_read_topic "$E2E_WORK/topic.txt" || return 1
    e2e_topic_ids "$E2E_WORK/topic.txt" | cut -f1 | sort -u > "$E2E_WORK/topic.ids"
    cat "$E2E_WORK/acked-up.txt" "$E2E_WORK/acked-down.txt" | cut -f1 | sort > "$E2E_WORK/acked.ids"
    [ -z "$(comm -23 "$E2E_WORK/acked.ids" "$E2E_WORK/topic.ids" | head -1)" ]
}
e2e_wait all_there \
    || e2e_fail "$(comm -23 "$E2E_WORK/acked.ids" "$E2E_WORK/topic.ids" | wc -l) acknowledged events are not in Kafka"
drained() { [ "$(e2e_ring unreleased_bytes)" -eq 0 ]; }
e2e_wait drained || e2e_fail "$(e2e_ring unreleased_bytes) bytes still unreleased"

total=$(wc -l < "$E2E_WORK/topic.txt")
e2e_log "ok: $((N + M)) acknowledged events in Kafka ($held bytes kept in the ring over the stop; $((total - N - M)) duplicates)"
