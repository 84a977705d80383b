#!/usr/bin/env bash
# A batcher started before nginx waits for the ring: it does not create it
# (the geometry is nginx's), stops at once with exit 0 on SIGTERM while it
# waits, and once nginx has created the ring it drains it: every event
# nginx acknowledged is in Kafka exactly once, and the ring header says
# Kafka is up.
. "$(dirname "$0")/lib.sh"

N=${E2E_EVENTS:-2000}

e2e_start_kafka

# 1. SIGTERM while waiting for a ring that never comes (another host name,
#    so another ring path)
E2E_HOST=never e2e_start_batcher
pid=$E2E_BATCHER_PID
log=$E2E_WORK/never-batcher.log
e2e_wait e2e_log_has "$log" 'does not exist yet: waiting for nginx' \
    || e2e_fail "the batcher did not say that it waits for the ring"
kill -TERM "$pid"
e2e_wait_exit "$pid" 2000 || e2e_fail "SIGTERM did not stop a waiting batcher within 2 s"
[ "$E2E_EXIT_RC" -eq 0 ] || e2e_fail "a waiting batcher stopped with status $E2E_EXIT_RC"
[ ! -e "$E2E_WORK/never-ring" ] || e2e_fail "the batcher created the ring itself"
e2e_log "waiting batcher: SIGTERM -> exit 0 in $E2E_EXIT_MS ms"

# 2. the batcher first, then nginx
e2e_start_batcher
pid=$E2E_BATCHER_PID
log=$E2E_WORK/batcher.log
e2e_wait e2e_log_has "$log" 'does not exist yet: waiting for nginx' \
    || e2e_fail "the batcher did not say that it waits for the ring"
# waiting, not failing: still running 2 s later, the path still free for nginx
running_for_2s() { [ "$(ps -o etimes= -p "$pid" | tr -d ' ')" -ge 2 ]; }
e2e_wait running_for_2s || e2e_fail "the batcher exited instead of waiting"
[ ! -e "$E2E_WORK/ring" ] || e2e_fail "the batcher created the ring itself"
waits=$(e2e_log_count "$log" 'waiting for nginx')

e2e_start_nginx 2
e2e_wait e2e_log_has "$log" 'ring ".*" appeared after [0-9]+ ms' \
    || e2e_fail "the batcher did not attach to the ring nginx created"
e2e_log "$(grep -oE 'ring ".*" appeared after [0-9]+ ms' "$log")" \
        "(said it waits $waits time(s))"

"$E2E_BIN/mcpu-load" -u "$E2E_URL" -n "$N" -c 4 -k 100 --prefix early- \
    -o "$E2E_WORK/acked.txt" > "$E2E_WORK/load.out" \
    || e2e_fail "not every event was accepted: $(cat "$E2E_WORK/load.out")"

e2e_wait e2e_topic_has "$N" || e2e_fail "only $(e2e_topic_count) of $N records reached Kafka"

e2e_read_topic "$E2E_WORK/topic.txt"
e2e_topic_ids "$E2E_WORK/topic.txt" | cut -f1 | sort > "$E2E_WORK/topic.ids"
cut -f1 "$E2E_WORK/acked.txt" | sort > "$E2E_WORK/acked.ids"
missing=$(comm -23 "$E2E_WORK/acked.ids" "$E2E_WORK/topic.ids" | wc -l)
dups=$(uniq -d "$E2E_WORK/topic.ids" | wc -l)
[ "$missing" -eq 0 ] || e2e_fail "$missing acknowledged events are not in Kafka"
[ "$dups" -eq 0 ] || e2e_fail "$dups events are in Kafka more than once"

kafka_up() { [ "$(e2e_batcher_header consumer_flags)" -eq 1 ]; }
e2e_wait kafka_up || e2e_fail "the ring header's consumer_flags say $(e2e_batcher_header consumer_flags), not 1 (Kafka up)"
[ "$(e2e_batcher_header consumer_pid)" -eq "$pid" ] \
    || e2e_fail "the ring header names consumer pid $(e2e_batcher_header consumer_pid), not $pid"
kill -0 "$pid" 2>/dev/null || e2e_fail "the batcher is gone"

e2e_log "ok: the batcher waited for nginx's ring, then all $N acknowledged events reached Kafka once"
