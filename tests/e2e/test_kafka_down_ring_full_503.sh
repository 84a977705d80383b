#!/usr/bin/env bash
# Kafka goes down and stays down until the ring is full.  Meanwhile nginx
# keeps accepting events into the ring (202) and nothing leaves it; once the
# lane is full, the next request gets 503 with a Retry-After of a positive
# number of seconds, and a batch is refused whole (nothing of it enters the
# ring).  Kafka comes back: the ring drains, every acknowledged event is in
# Kafka, and nginx accepts events again.
. "$(dirname "$0")/lib.sh"

E2E_WAIT_S=${E2E_WAIT_S:-60}
# one worker, so one lane: "the ring is full" is that lane being full.
# 1 MiB in 8 lanes: 128 KiB, about 280 events of mcpu-load
E2E_RING_SIZE=1m

now_ms() { date +%s%3N; }

# post FILE BODY: one request, headers into FILE.h, body into FILE; prints
# the status
post() {
    curl -sS -D "$1.h" -o "$1" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' -H 'Client-Id: outage-curl' \
        --data "$2" "$E2E_URL"
}

# the Retry-After of the headers in FILE, "" when there is none
retry_after() {
    perl -ne 'print $1 if /^Retry-After:\s*(\S*)\s*$/i' "$1"
}

e2e_start_kafka
e2e_start_nginx 1
e2e_start_batcher

# Kafka works: a first load goes through
"$E2E_BIN/mcpu-load" -u "$E2E_URL" -n 200 -c 4 -k 50 --prefix before- --retry-503 1000 \
    -o "$E2E_WORK/acked-before.txt" > "$E2E_WORK/load-before.out" \
    || e2e_fail "load before the outage: $(cat "$E2E_WORK/load-before.out")"
e2e_wait e2e_ring_released_at_least 200 || e2e_fail "Kafka did not take the first 200 events"

e2e_kafka_ctl down 1
e2e_wait e2e_log_has "$E2E_WORK/batcher.log" 'Kafka is unreachable' \
    || e2e_fail "the batcher did not notice that Kafka is down"
released=$(e2e_ring released)
e2e_log "Kafka down; $released records released so far"

# events keep being accepted until the lane is full, then 503
"$E2E_BIN/mcpu-load" -u "$E2E_URL" -n 3000 -c 4 -k 50 --prefix during- \
    -o "$E2E_WORK/acked-during.txt" > "$E2E_WORK/load-during.out" 2> "$E2E_WORK/load-during.err" || true
e2e_log "load while Kafka is down: $(cat "$E2E_WORK/load-during.out")"
read -r acked refused bad errors bad_ra < <(perl -ne '
    my %v = /(\w+)=(\d+)/g;
    print "$v{acked} $v{refused_503} $v{bad} $v{errors} $v{bad_retry_after}\n"' "$E2E_WORK/load-during.out")
[ "$acked" -gt 0 ] || e2e_fail "no event was accepted while Kafka was down"
[ "$refused" -gt 0 ] || e2e_fail "3000 events fit in a 128 KiB lane: the ring never filled"
[ "$bad" -eq 0 ] && [ "$errors" -eq 0 ] \
    || e2e_fail "answers other than 202 and 503, or failed exchanges: $(cat "$E2E_WORK/load-during.out")"
[ "$bad_ra" -eq 0 ] || e2e_fail "$bad_ra answers 503 had no Retry-After of at least 1 s"
[ "$(wc -l < "$E2E_WORK/acked-during.txt")" -eq "$acked" ] || e2e_fail "acked file incomplete"
[ "$(e2e_ring released)" -eq "$released" ] \
    || e2e_fail "records were released while Kafka was down"
published=$(e2e_ring published)
e2e_log "ring full: $acked events accepted during the outage, $refused refused with 503"

# the next request: 503, Retry-After a positive integer, error ring_full
code=$(post "$E2E_WORK/next.json" "{\"type\":\"AppOpened\",\"time\":$(now_ms)}")
[ "$code" = 503 ] || e2e_fail "the next request got $code, not 503: $(cat "$E2E_WORK/next.json")"
retry_after=$(retry_after "$E2E_WORK/next.json.h")
[[ "$retry_after" =~ ^[1-9][0-9]*$ ]] \
    || e2e_fail "503 without a Retry-After of a positive integer (\"$retry_after\"): $(cat "$E2E_WORK/next.json.h")"
grep -q '"error":"ring_full"' "$E2E_WORK/next.json" \
    || e2e_fail "the 503 body is not ring_full: $(cat "$E2E_WORK/next.json")"

# a batch is refused whole: nothing of it enters the ring
code=$(post "$E2E_WORK/batch.json" \
    "[{\"type\":\"AppOpened\",\"time\":$(now_ms)},{\"type\":\"AppClosed\",\"time\":$(now_ms)}]")
[ "$code" = 503 ] || e2e_fail "a batch into the full ring got $code: $(cat "$E2E_WORK/batch.json")"
[[ "$(retry_after "$E2E_WORK/batch.json.h")" =~ ^[1-9][0-9]*$ ]] \
    || e2e_fail "the batch's 503 has no Retry-After: $(cat "$E2E_WORK/batch.json.h")"
[ "$(e2e_ring published)" -eq "$published" ] \
    || e2e_fail "a refused batch left records in the ring"
e2e_log "next request: 503, Retry-After: $retry_after; a batch: 503, nothing enqueued"

# Kafka comes back: the ring drains and every acknowledged event arrives
t0=$(now_ms)
e2e_kafka_ctl up 1
total=$((200 + acked))
e2e_wait e2e_ring_released_at_least "$total" \
    || e2e_fail "the ring did not drain: $(e2e_ring released) of $total released"
e2e_log "Kafka up: the ring drained in $(( $(now_ms) - t0 )) ms"

cat "$E2E_WORK/acked-before.txt" "$E2E_WORK/acked-during.txt" | cut -f1 | sort > "$E2E_WORK/acked.ids"
all_there() {
    e2e_read_topic "$E2E_WORK/topic.txt"
    e2e_topic_ids "$E2E_WORK/topic.txt" | cut -f1 | sort -u > "$E2E_WORK/topic.ids"
    [ -z "$(comm -23 "$E2E_WORK/acked.ids" "$E2E_WORK/topic.ids" | head -1)" ]
}
e2e_wait all_there \
    || e2e_fail "$(comm -23 "$E2E_WORK/acked.ids" "$E2E_WORK/topic.ids" | wc -l) acknowledged events are not in Kafka, e.g. $(comm -23 "$E2E_WORK/acked.ids" "$E2E_WORK/topic.ids" | head -3 | tr '\n' ' ')"

# and there is room again
code=$(post "$E2E_WORK/after.json" "{\"type\":\"AppOpened\",\"time\":$(now_ms)}")
[ "$code" = 202 ] || e2e_fail "after the drain a request got $code: $(cat "$E2E_WORK/after.json")"

e2e_log "ok: all $total acknowledged events in Kafka after the outage ($refused refused with 503, Retry-After $retry_after)"
