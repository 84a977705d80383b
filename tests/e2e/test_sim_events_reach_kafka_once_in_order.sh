#!/usr/bin/env bash
# mcpu-sim plays 50 clients for one simulated hour (sim/cause-transfer.conf)
# through nginx (JWT HS256, the scenario's activities allowed) and the
# batcher into the raw topic, as fast as they take it.  nginx keeps events
# for 55 minutes only (mcpu_event_max_age), so the oldest five minutes are
# refused per event (time_too_old): counted and dropped by the simulator,
# never resent.  Then:
#   - the topic holds every event generated less those refused, once: per
#     client the seqs firstSeq + refused .. lastSeq, no gap, no duplicate;
#   - each record is keyed by its client with the client's metadata, types
#     and fields are the simulator's, every event lies in its session;
#   - the planted cause shows in the raw data: for the clients it applies
#     to (6.04 on Windows) the CPU 10-20 s after FileTransferStarted is more
#     than 30 points above their baseline, for the others it is not.
. "$(dirname "$0")/lib.sh"

E2E_PARTITIONS=${E2E_PARTITIONS:-32}     # ~5 MiB kept per partition
SCENARIO=$E2E_TOP/sim/cause-transfer.conf

e2e_start_kafka
e2e_sim_key
e2e_start_nginx 2 "$(e2e_sim_directives "$SCENARIO" 'mcpu_event_max_age 55m;')"
grep -q 'mcpu_event_type_allow IndexingStarted IndexingCompleted;' "$E2E_WORK/nginx/nginx.conf" \
    || e2e_fail "mcpu-sim -t did not give the mcpu_event_type_allow line"
e2e_start_batcher

e2e_sim_start sim "$SCENARIO" --clients 50 --hours 1 --seed 7
e2e_sim_wait sim 30

generated=$(e2e_sim_field sim generated)
refused=$(e2e_sim_field sim refused)
accepted=$(e2e_sim_field sim accepted)
[ "$generated" -gt 20000 ] || e2e_fail "only $generated events generated"
[ "$refused" -gt 0 ] || e2e_fail "no event was refused as older than mcpu_event_max_age"
[ "$((accepted + refused))" -eq "$generated" ] \
    || e2e_fail "accepted $accepted + refused $refused is not generated $generated"
[ "$(e2e_sim_field sim resent)" -eq 0 ] || e2e_fail "events were resent without any failure"
grep -q 'refused events by reason: time_too_old=' "$E2E_WORK/sim.log" \
    || e2e_fail "the refusals are not counted by reason: $(grep -i refused "$E2E_WORK/sim.log" | tail -n 2)"

want=$((generated - refused))
e2e_wait e2e_topic_has "$want" || e2e_fail "only $(e2e_topic_count) of $want events reached Kafka"
e2e_read_topic "$E2E_WORK/topic.txt"

e2e_sim_check "$E2E_WORK/topic.txt" "$E2E_WORK/sim.truth.json"
[ "$E2E_SIM_BAD" -eq 0 ] || e2e_fail "$E2E_SIM_BAD problems in the topic (above)"
[ "$E2E_SIM_UNIQUE" -eq "$want" ] && [ "$E2E_SIM_DUPLICATES" -eq 0 ] \
    || e2e_fail "the topic holds $E2E_SIM_UNIQUE events and $E2E_SIM_DUPLICATES duplicates, not $want once each"

# the cause, seen in the raw data
[ "$E2E_SIM_MATCHING" -ge 3 ] || e2e_fail "only $E2E_SIM_MATCHING clients of 6.04 on Windows had a transfer"
awk -v m="$E2E_SIM_LIFT_MIN_MATCHING" -v o="$E2E_SIM_LIFT_MAX_OTHERS" -v mo="$E2E_SIM_LIFT_OTHERS" \
    'BEGIN { exit !(m > 30 && o < 30 && mo < 10) }' \
    || e2e_fail "the cause does not stand out: least lift where it applies $E2E_SIM_LIFT_MIN_MATCHING," \
                "most elsewhere $E2E_SIM_LIFT_MAX_OTHERS (mean $E2E_SIM_LIFT_OTHERS)"

# every record conforms to the documented schema
perl "$E2E_TOP/tests/e2e/record_conforms.pl" "$E2E_TOP/ngx_mcpu_module/mcpu_record.schema.json" \
    < "$E2E_WORK/topic.txt" > "$E2E_WORK/schema.out" \
    || e2e_fail "records differ from mcpu_record.schema.json: $(head -c 600 "$E2E_WORK/schema.out")"

e2e_log "ok: $want events of 50 clients in Kafka once each, in order; $refused refused as" \
        "too old; the cause lifts CPU by $E2E_SIM_LIFT_MATCHING points where it applies" \
        "(least $E2E_SIM_LIFT_MIN_MATCHING), $E2E_SIM_LIFT_OTHERS elsewhere"
