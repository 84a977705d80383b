#!/usr/bin/env bash
# As test_dedup_survives_sigkill_at_random_points.sh, with Kafka
# transactions (-X transactional.id=dedup-test-1): the clean records and
# the consumer offsets of a batch are committed together.  The local Kafka
# accepts the transaction calls without enforcing isolation, so what this
# adds is the transactional code path under SIGKILL; the outcome required
# is the same: every unique event once.
E2E_DEDUP_TXN=1 exec bash "$(dirname "$0")/test_dedup_survives_sigkill_at_random_points.sh"
