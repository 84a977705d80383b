#!/usr/bin/env bash
# One streamed NDJSON POST of N lines (default 1,000,000) through nginx (one
# worker), the batcher and the local Kafka, with the worker's resident memory
# sampled every 0.2 s while the body flows.  Flat memory means the body is
# processed as it arrives, whatever its length.  A measurement, not a test.
#   bench/stream-memory.sh [LINES]        STREAM_GZIP=1: the body gzip-compressed
. "$(dirname "$0")/../tests/e2e/lib.sh"

N=${1:-1000000}

e2e_start_kafka
e2e_start_nginx 1 "client_max_body_size 0;"
e2e_start_batcher

worker=$(pgrep -P "$E2E_NGINX_PID" | head -1)
[ -n "$worker" ] || e2e_fail "no nginx worker"
# RssAnon is the worker's own memory; VmRSS also counts the ring pages it
# wrote through (shared file pages, up to its lane's size)
rss() { awk '/^RssAnon/ { a = $2 } /^VmRSS/ { v = $2 } END { print a, v }' "/proc/$worker/status"; }

rss0=$(rss)
t0=$(date +%s%N)
if [ -n "${STREAM_GZIP:-}" ]; then zip=(gzip -1); enc='Content-Encoding: gzip'; else zip=(cat); enc='X-Plain: 1'; fi
perl "$E2E_TOP/tests/e2e/ndjson_lines.pl" "$N" m- | "${zip[@]}" \
    | curl -sS -X POST -T - -H 'Content-Type: application/x-ndjson' -H "$enc" \
        -H 'Client-Id: stream-mem' -o "$E2E_WORK/answer.json" \
        -w '%{http_code} %{size_upload}\n' "$E2E_URL" > "$E2E_WORK/status.txt" &
CURL_PID=$!

: > "$E2E_WORK/rss.txt"
while kill -0 "$CURL_PID" 2>/dev/null; do
    rss >> "$E2E_WORK/rss.txt"
    sleep 0.2       # the sampling period of a measurement, not a wait
done
wait "$CURL_PID" || e2e_fail "curl failed"
t1=$(date +%s%N)
rss1=$(rss)

read -r status bytes < "$E2E_WORK/status.txt"
[ "$status" = 202 ] || e2e_fail "answer $status: $(cat "$E2E_WORK/answer.json")"
cut -d' ' -f1 "$E2E_WORK/rss.txt" | sort -n > "$E2E_WORK/anon.sorted"
cut -d' ' -f2 "$E2E_WORK/rss.txt" | sort -n > "$E2E_WORK/rss.sorted"
ms=$(( (t1 - t0) / 1000000 ))

echo "$N lines, $bytes bytes in one request, $ms ms ($(( N * 1000 / (ms ? ms : 1) )) lines/s)"
echo "answer: $(cat "$E2E_WORK/answer.json")"
echo "worker RssAnon kB: before ${rss0% *}, during min $(head -1 "$E2E_WORK/anon.sorted")" \
     "max $(tail -1 "$E2E_WORK/anon.sorted"), after ${rss1% *}" \
     "($(wc -l < "$E2E_WORK/rss.txt") samples)"
echo "worker VmRSS kB: before ${rss0#* }, during min $(head -1 "$E2E_WORK/rss.sorted")" \
     "max $(tail -1 "$E2E_WORK/rss.sorted"), after ${rss1#* }"
