#!/usr/bin/env bash
# 10,000 events over 16 concurrent connections to nginx with 2 workers: each
# acknowledged event is in Kafka exactly once, keyed by its client id.
. "$(dirname "$0")/lib.sh"

N=${E2E_EVENTS:-10000}

e2e_start_kafka
e2e_start_nginx 2
e2e_start_batcher

"$E2E_BIN/mcpu-load" -u "$E2E_URL" -n "$N" -c 16 -k 200 --prefix e2e- \
    -o "$E2E_WORK/acked.txt" > "$E2E_WORK/load.out" \
    || e2e_fail "not every event was accepted: $(cat "$E2E_WORK/load.out")"
e2e_log "load: $(cat "$E2E_WORK/load.out")"

[ "$(wc -l < "$E2E_WORK/acked.txt")" -eq "$N" ] || e2e_fail "acked file incomplete"

e2e_wait e2e_topic_has "$N" || e2e_fail "only $(e2e_topic_count) of $N records reached Kafka"

e2e_read_topic "$E2E_WORK/topic.txt"
e2e_topic_ids "$E2E_WORK/topic.txt" | sort > "$E2E_WORK/topic.ids"

[ "$(wc -l < "$E2E_WORK/topic.ids")" -eq "$(wc -l < "$E2E_WORK/topic.txt")" ] \
    || e2e_fail "some records in the topic are not event records"

dups=$(cut -f1 "$E2E_WORK/topic.ids" | uniq -d | wc -l)
[ "$dups" -eq 0 ] || e2e_fail "$dups events are in Kafka more than once"

# every acknowledged id is there, keyed by the client id it was sent with
awk -F'\t' '{ print $1 "\t" $2 "\t" $2 }' "$E2E_WORK/acked.txt" | sort > "$E2E_WORK/acked.ids"
missing=$(comm -23 "$E2E_WORK/acked.ids" "$E2E_WORK/topic.ids" | wc -l)
[ "$missing" -eq 0 ] || e2e_fail "$missing acknowledged events missing or with the wrong key: $(comm -23 "$E2E_WORK/acked.ids" "$E2E_WORK/topic.ids" | head -3)"

# every record conforms to the documented schema
perl "$E2E_TOP/tests/e2e/record_conforms.pl" "$E2E_TOP/ngx_mcpu_module/mcpu_record.schema.json" \
    < "$E2E_WORK/topic.txt" > "$E2E_WORK/schema.out" \
    || e2e_fail "records differ from mcpu_record.schema.json: $(cat "$E2E_WORK/schema.out")"

# the type and schema version ride along as Kafka headers
kcat -b "$E2E_BROKERS" -t "$E2E_TOPIC" -C -e -q -o beginning -f '%h\n' \
    > "$E2E_WORK/headers.txt" 2>> "$E2E_WORK/kcat.log"
bad=$(grep -cvxF 'mcpu-type=FileTransferProgress,mcpu-schema=1' "$E2E_WORK/headers.txt" || true)
[ "$(wc -l < "$E2E_WORK/headers.txt")" -eq "$N" ] && [ "$bad" -eq 0 ] \
    || e2e_fail "$bad records lack the mcpu-type/mcpu-schema headers: $(grep -vxF 'mcpu-type=FileTransferProgress,mcpu-schema=1' "$E2E_WORK/headers.txt" | head -2)"

e2e_log "ok: $N events, each in Kafka exactly once with its client id as key, type and schema in headers"
