#!/usr/bin/env bash
# The chaos test at scale, by hand: EVENTS unique events spread over
# DURATION seconds (0: as fast as 2500/s), 32 connections, 10,000 clients,
# 32 partitions, a 64 MiB ring; meanwhile the batcher is killed twice, an
# nginx worker is killed, nginx is reloaded and upgraded, and Kafka is down
# until the ring is full (tests/e2e/test_chaos_every_fault_loses_nothing.sh
# says when).  The topic is read while the run goes on.  Prints sent,
# acknowledged, found in Kafka, missing (must be 0), duplicates and 503s;
# exits non-zero when an acknowledged event is missing.
#   bench/chaos.sh [EVENTS] [DURATION]        e.g. bench/chaos.sh 1000000 60
#   BUILD=build-x bench/chaos.sh ...          programs from another build dir
# Other knobs: E2E_CONNECTIONS, E2E_CLIENTS, E2E_PARTITIONS, E2E_RING_SIZE,
# CHAOS_COUNTS=FILE (the figures on two lines), E2E_KEEP=1 (keep the work
# directory, with the acked ids, the ids read back and the status scrapes).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)

export E2E_EVENTS=${1:-1000000}
export E2E_DURATION=${2:-60}
export E2E_CONNECTIONS=${E2E_CONNECTIONS:-32}
export E2E_CLIENTS=${E2E_CLIENTS:-10000}
export E2E_PARTITIONS=${E2E_PARTITIONS:-32}
export E2E_RING_SIZE=${E2E_RING_SIZE:-64m}

exec bash "$top/tests/e2e/test_chaos_every_fault_loses_nothing.sh"
