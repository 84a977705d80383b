#!/usr/bin/env bash
# Events per second end to end: N single-event POSTs over C connections to
# nginx (2 workers), timed until the batcher has released every one of them,
# i.e. until Kafka acknowledged them all.  Everything (load generator, nginx,
# batcher, the local Kafka) shares this machine.  A measurement, not a test.
#   bench/e2e-rate.sh [EVENTS] [CONNECTIONS]
. "$(dirname "$0")/../tests/e2e/lib.sh"

N=${1:-60000}
C=${2:-16}
E2E_PARTITIONS=16   # the local Kafka keeps ~5 MiB per partition

e2e_start_kafka
e2e_start_nginx 2
e2e_start_batcher

t0=$(date +%s%N)
"$E2E_BIN/mcpu-load" -u "$E2E_URL" -n "$N" -c "$C" -k 1000 -o /dev/null > "$E2E_WORK/load.out" \
    || e2e_fail "not every event was accepted: $(cat "$E2E_WORK/load.out")"
t1=$(date +%s%N)
e2e_wait e2e_ring_released_at_least "$N" || e2e_fail "Kafka did not acknowledge every event"
t2=$(date +%s%N)

echo "$N events over $C connections: accepted in $(( (t1 - t0) / 1000000 )) ms," \
     "acknowledged by Kafka after $(( (t2 - t0) / 1000000 )) ms:" \
     "$(( N * 1000000000 / (t2 - t0) )) events/s end to end"
