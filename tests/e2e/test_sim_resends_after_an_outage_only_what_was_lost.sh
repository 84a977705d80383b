#!/usr/bin/env bash
# mcpu-sim plays 50 clients for one simulated hour at 200 times real time
# (about 18 s; clients keep generating and spooling whatever the server
# does) while the server fails three ways:
#   1. nginx's workers freeze for 2.5 s (SIGSTOP): requests time out
#      (--timeout-ms 1000), and the workers handle them when they run again,
#      so the server has events whose answers the clients never got;
#   2. nginx is killed (SIGKILL, master and workers) and restarted 2 s later
#      on the same port: connections are refused meanwhile;
#   3. Kafka goes down for 3 s with a small ring: the lanes fill and nginx
#      answers 503 with Retry-After (mcpu_retry_after 1s), which the
#      simulator honours.
# After each failure a client asks GET and resends only the spooled events
# after the server's answer.  At the end:
#   - every event generated is in the raw topic (nothing lost);
#   - every event a client did not resend because GET said the server had
#     it is in the topic exactly once (the server did have it);
#   - duplicates are bounded: no more than the events the simulator sent
#     again after a request that got no answer (after a 503 nothing was
#     taken), which the server did not report having when asked;
#   - each failure happened (timeouts, refused connections, 503s) and was
#     followed by GETs.
. "$(dirname "$0")/lib.sh"

E2E_PARTITIONS=${E2E_PARTITIONS:-32}     # ~5 MiB kept per partition
E2E_RING_SIZE=2m                         # 256 KiB a lane: ~800 events
SCENARIO=$E2E_TOP/sim/cause-transfer.conf

e2e_start_kafka
e2e_sim_key
e2e_start_nginx 2 "$(e2e_sim_directives "$SCENARIO" 'mcpu_retry_after 1s;')"
e2e_start_batcher

e2e_sim_start sim "$SCENARIO" --clients 50 --hours 1 --speed 200 --seed 11 \
    --timeout-ms 1000 --flush-interval-s 120

# 1. frozen workers: the requests of that moment wait in their sockets
sleep 3
e2e_sim_nginx_freeze
e2e_log "nginx workers frozen: $E2E_SIM_FROZEN"
sleep 2.5
e2e_sim_nginx_thaw
e2e_log "nginx workers running again"

# 2. nginx killed, then started again on the same port
sleep 2
e2e_sim_nginx_kill
e2e_log "nginx killed"
sleep 2
e2e_sim_nginx_restart
e2e_log "nginx started again"

# 3. Kafka away: the lanes fill, 503 with Retry-After
sleep 2
e2e_kafka_ctl down 1
e2e_log "Kafka down"
sleep 3
e2e_kafka_ctl up 1
e2e_log "Kafka up"

e2e_sim_wait sim 40

generated=$(e2e_sim_field sim generated)
resent=$(e2e_sim_field sim resent)
unanswered=$(e2e_sim_field sim resent_unanswered)
known=$(e2e_sim_field sim known)
[ "$(e2e_sim_field sim refused)" -eq 0 ] || e2e_fail "events were refused: $(grep refused "$E2E_WORK/sim.log" | tail -n 3)"
[ "$(e2e_sim_field sim failures)" -gt 0 ] || e2e_fail "no request failed: the outages were missed"
[ "$(e2e_sim_field sim http_503)" -gt 0 ] || e2e_fail "no 503: the ring never filled"
[ "$(e2e_sim_field sim gets)" -gt 50 ] || e2e_fail "no client asked GET after a failure"
[ "$known" -gt 0 ] || e2e_fail "no spooled event was known to the server after the freeze"
grep -q 'request failed (Timeout' "$E2E_WORK/sim.log" || e2e_fail "no request timed out while nginx was frozen"
grep -q 'request failed (Couldn.t connect' "$E2E_WORK/sim.log" || e2e_fail "no connection was refused while nginx was down"

e2e_wait e2e_topic_has "$generated" || e2e_fail "only $(e2e_topic_count) of $generated events reached Kafka"
e2e_read_topic "$E2E_WORK/topic.txt"

e2e_sim_check "$E2E_WORK/topic.txt" "$E2E_WORK/sim.truth.json" "$E2E_WORK/sim.log"
[ "$E2E_SIM_MISSING" -eq 0 ] && [ "$E2E_SIM_UNIQUE" -eq "$generated" ] \
    || e2e_fail "$E2E_SIM_MISSING events lost: the topic holds $E2E_SIM_UNIQUE of $generated"
[ "$E2E_SIM_KNOWN" -eq "$known" ] && [ "$E2E_SIM_KNOWN_BAD" -eq 0 ] \
    || e2e_fail "of $known events not resent because the server had them, $E2E_SIM_KNOWN" \
                "checked, $E2E_SIM_KNOWN_BAD not in the topic once"
[ "$E2E_SIM_BAD" -eq 0 ] || e2e_fail "$E2E_SIM_BAD problems in the topic (above)"
[ "$E2E_SIM_DUPLICATES" -le "$unanswered" ] \
    || e2e_fail "$E2E_SIM_DUPLICATES duplicates, more than the $unanswered events sent again" \
                "after a request without an answer"

e2e_log "ok: $generated events in Kafka, none lost; $known not resent (the server had them," \
        "each in Kafka once); $resent sends again ($unanswered after no answer)," \
        "$E2E_SIM_DUPLICATES duplicates;" \
        "$(e2e_sim_field sim failures) failed requests, $(e2e_sim_field sim http_503) answers 503"
