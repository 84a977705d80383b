#!/usr/bin/env bash
# The batcher tells the operator when the ring fills up: with Kafka down,
# nginx's lanes fill until it answers 503; the batcher logs "nearly full"
# (a lane over 80%) with Kafka's state, once, and "back under 50%" once
# Kafka is back and the lanes drained, counting the events refused
# meanwhile: as many as nginx answered 503.  Every accepted event then
# reaches Kafka.
. "$(dirname "$0")/lib.sh"

N=${E2E_EVENTS:-2000}
log=$E2E_WORK/batcher.log

E2E_RING_SIZE=1m      # 8 lanes of 128 KiB: about 300 records each
e2e_start_kafka
e2e_start_nginx 2
e2e_start_batcher
e2e_wait e2e_log_has "$log" 'Kafka is reachable' || e2e_fail "the batcher never reached Kafka"

e2e_kafka_ctl down -1
e2e_wait e2e_log_has "$log" 'WARN Kafka is unreachable' || e2e_fail "Kafka down was not logged"

"$E2E_BIN/mcpu-load" -u "$E2E_URL" -n "$N" -c 2 -k 100 --prefix full- \
    -o "$E2E_WORK/acked.txt" > "$E2E_WORK/load.out" 2> "$E2E_WORK/load.err" || true
e2e_log "load: $(cat "$E2E_WORK/load.out")"
refused=$(sed -nE 's/.* responses_503=([0-9]+).*/\1/p' "$E2E_WORK/load.out")
[ "$refused" -gt 0 ] || e2e_fail "nginx refused nothing: the ring never filled"

e2e_wait e2e_log_has "$log" 'WARN ring ".*" nearly full: lane' \
    || e2e_fail "the batcher did not log that the ring is nearly full"
line=$(grep -E 'nearly full: lane' "$log")
case $line in *"Kafka is unreachable"*) ;; *) e2e_fail "the line does not say Kafka is unreachable: $line" ;; esac
e2e_log "${line#* WARN }"

e2e_kafka_ctl up -1
e2e_wait e2e_log_has "$log" 'NOTICE ring ".*" back under 50%' \
    || e2e_fail "the batcher did not log that the ring drained"
line=$(grep -E 'back under 50%' "$log")
e2e_log "${line#* NOTICE }"
said=$(grep -E 'back under 50%' "$log" | sed -nE 's/.*; ([0-9]+) events were refused.*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
[ "$said" -eq "$refused" ] || e2e_fail "the batcher counted $said refused events, nginx answered $refused 503s"
[ "$(e2e_log_count "$log" 'nearly full: lane')" -eq 1 ] || e2e_fail "\"nearly full\" logged more than once"

acked=$(wc -l < "$E2E_WORK/acked.txt")
e2e_wait e2e_topic_has "$acked" || e2e_fail "only $(e2e_topic_count) of $acked accepted events reached Kafka"
e2e_log "ok: $acked events accepted, $refused refused with 503 and counted by the batcher, all accepted in Kafka"
