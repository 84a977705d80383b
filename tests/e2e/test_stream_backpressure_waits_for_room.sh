#!/usr/bin/env bash
# A streamed NDJSON body larger than the ring: while no batcher drains the
# ring, nginx stops reading the body (the request stays open, nothing is
# refused); once a batcher starts, the stream resumes and every line reaches
# Kafka exactly once, and the answer counts them all.
. "$(dirname "$0")/lib.sh"

# one client: one key, one partition; the local Kafka keeps 5 MiB of it
N=${E2E_EVENTS:-8000}

E2E_RING_SIZE=2m    # a 256 KiB lane: about 600 records, far fewer than N
e2e_start_kafka
e2e_start_nginx 1 "client_max_body_size 0; mcpu_stream_ring_wait 120s;"

perl "$E2E_TOP/tests/e2e/ndjson_lines.pl" "$N" bp- \
    | curl -sS -X POST -T - -H 'Content-Type: application/x-ndjson' \
        -H 'Client-Id: stream-1' -o "$E2E_WORK/answer.json" \
        -w '%{http_code}\n' "$E2E_URL" > "$E2E_WORK/status.txt" \
        2> "$E2E_WORK/curl.log" &
CURL_PID=$!

paused() { grep -q 'stream paused after' "$E2E_WORK/nginx.log"; }
e2e_wait paused || e2e_fail "the stream never waited for the full ring"
kill -0 "$CURL_PID" 2>/dev/null || e2e_fail "the request ended while the ring was full: $(cat "$E2E_WORK/answer.json")"
published=$(e2e_ring published)
e2e_log "ring full after $published records; the request is still open"
[ "$published" -lt "$N" ] || e2e_fail "the ring took all $N records: no backpressure was needed"

e2e_start_batcher
e2e_wait_gone "$CURL_PID" || e2e_fail "the stream did not finish once the ring drained"

[ "$(cat "$E2E_WORK/status.txt")" = 202 ] \
    || e2e_fail "answer $(cat "$E2E_WORK/status.txt"): $(cat "$E2E_WORK/answer.json")"
grep -q "^{\"accepted\":$N,\"processed\":$N,\"refusedTotal\":0,\"refused\":\[\]}" "$E2E_WORK/answer.json" \
    || e2e_fail "unexpected answer: $(cat "$E2E_WORK/answer.json")"

e2e_wait e2e_topic_has "$N" || e2e_fail "only $(e2e_topic_count) of $N records reached Kafka"
e2e_read_topic "$E2E_WORK/topic.txt"
e2e_topic_ids "$E2E_WORK/topic.txt" | cut -f1 | sort > "$E2E_WORK/topic.ids"
seq 0 $((N - 1)) | sed 's/^/bp-/' | sort > "$E2E_WORK/sent.ids"
cmp -s "$E2E_WORK/sent.ids" "$E2E_WORK/topic.ids" \
    || e2e_fail "the topic differs from what was streamed: $(diff "$E2E_WORK/sent.ids" "$E2E_WORK/topic.ids" | head -3)"

e2e_log "ok: $N streamed events waited for room and reached Kafka exactly once"
