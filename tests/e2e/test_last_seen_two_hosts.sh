#!/usr/bin/env bash
# Two hosts, each nginx + batcher on its own ring and last-seen table, share
# one Kafka.  GET on the ingest location answers the client's newest event
# that Kafka acknowledged: an event posted to host A is answered by host B
# once acknowledged (through the last-seen topic), and the other way round;
# an event that is only in A's ring (A's batcher stopped) is answered by
# neither host, until A's batcher is back and Kafka has it.
. "$(dirname "$0")/lib.sh"

E2E_WAIT_S=${E2E_WAIT_S:-30}
CLIENT=seen-$$

now_ms() { date +%s%3N; }

# post URL SEQ: one event of $CLIENT, prints the status
post() {
    curl -sS -o "$E2E_WORK/post.json" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' -H "Client-Id: $CLIENT" \
        --data "{\"type\":\"AppOpened\",\"time\":$(now_ms),\"seq\":$2}" "$1"
}

# get URL [CLIENT]: GET into $E2E_WORK/get.json, prints the status
get() {
    curl -sS -o "$E2E_WORK/get.json" -w '%{http_code}' \
        -H "Client-Id: ${2:-$CLIENT}" "$1"
}

# answers URL SEQ: GET is 200 with the record of $CLIENT's event SEQ
answers() {
    [ "$(get "$1")" = 200 ] && perl -MJSON::PP -0777 -e '
        my ($seq, $client) = @ARGV[0, 1];
        my $r = decode_json(<STDIN>);
        exit !($r->{seq} == $seq && $r->{type} eq "AppOpened"
               && $r->{client}{id} eq $client && $r->{event}{seq} == $seq
               && $r->{schema} == 1)' "$2" "$CLIENT" < "$E2E_WORK/get.json"
}

answers_404() { [ "$(get "$@")" = 404 ]; }

# the seq GET answers on URL, or the status when it is not 200
seq_of() {
    local code
    code=$(get "$1")
    if [ "$code" = 200 ]; then
        perl -MJSON::PP -0777 -e 'print decode_json(<STDIN>)->{seq}' < "$E2E_WORK/get.json"
    else
        echo "$code"
    fi
}

# propagate NAME URL SEQ T0 [SINCE]: waits until URL answers SEQ, logs the
# delay since T0 (SINCE says what happened then)
propagate() {
    e2e_wait answers "$2" "$3" \
        || e2e_fail "$1: GET still answers $(seq_of "$2") ${E2E_WAIT_S} s after event $3 was posted"
    e2e_log "$1: event $3 answered $(( $(now_ms) - $4 )) ms after ${5:-it was posted}"
}

e2e_start_kafka
E2E_HOST=a; e2e_start_nginx 1; A_URL=$E2E_URL; e2e_start_batcher; A_BATCHER=$E2E_BATCHER_PID
E2E_HOST=b; e2e_start_nginx 1; B_URL=$E2E_URL; e2e_start_batcher

# nothing yet: 404 once each batcher has created its table (503 before)
e2e_wait answers_404 "$A_URL" || e2e_fail "host A: GET answers $(get "$A_URL") before any event, not 404"
e2e_wait answers_404 "$B_URL" || e2e_fail "host B: GET answers $(get "$B_URL") before any event, not 404"

# A -> B
t0=$(now_ms)
[ "$(post "$A_URL" 5)" = 202 ] || e2e_fail "POST to A: $(cat "$E2E_WORK/post.json")"
propagate "host A (own delivery report)" "$A_URL" 5 "$t0"
propagate "host B (through the last-seen topic)" "$B_URL" 5 "$t0"

# B -> A, a newer event
t0=$(now_ms)
[ "$(post "$B_URL" 7)" = 202 ] || e2e_fail "POST to B: $(cat "$E2E_WORK/post.json")"
propagate "host B (own delivery report)" "$B_URL" 7 "$t0"
propagate "host A (through the last-seen topic)" "$A_URL" 7 "$t0"

# a stale record of the client in the topic, as a batcher that had not
# heard of event 7 yet would publish, moves neither table back, and is
# answered with event 7: the compacted topic's last word is the newest
reloaded() {
    grep -q "last-seen: read \"$E2E_SEEN_TOPIC\" to its end" "$E2E_WORK/$1-batcher.log"
}
e2e_wait reloaded a && e2e_wait reloaded b \
    || e2e_fail "a batcher did not read the last-seen topic to its end"
last_word() {
    kcat -b "$E2E_BROKERS" -t "$E2E_SEEN_TOPIC" -C -e -q -o beginning \
        -f '%k\t%s\n' 2>> "$E2E_WORK/kcat.log" \
        | awk -F'\t' -v k="$CLIENT" '$1 == k { v = $2 } END { print v }'
}
last_word_is() { last_word | grep -q "\"seq\":$1,"; }
stale='{"schema":1,"type":"AppOpened","time":"2026-01-01T00:00:00.000Z",'
stale+='"timeMs":1767225600000,"seq":3,"client":{"id":"'$CLIENT'"},"event":null}'
echo "$stale" | kcat -b "$E2E_BROKERS" -t "$E2E_SEEN_TOPIC" -P -k "$CLIENT" \
    2>> "$E2E_WORK/kcat.log" || e2e_fail "kcat could not produce to $E2E_SEEN_TOPIC"
e2e_wait last_word_is 7 || e2e_fail "the topic's last record of $CLIENT is not event 7: $(last_word)"
answers "$A_URL" 7 && answers "$B_URL" 7 || e2e_fail "a stale record moved a table back"
e2e_log "a stale record in the topic was answered with event 7"

# an older event acknowledged later does not move it back
[ "$(post "$A_URL" 6)" = 202 ] || e2e_fail "POST to A: $(cat "$E2E_WORK/post.json")"
E2E_HOST=a    # e2e_ring reads A's ring from here on
e2e_wait e2e_ring_released_at_least 2 || e2e_fail "host A did not release event 6"
answers "$A_URL" 7 || e2e_fail "host A: an older event replaced the newer one: GET answers $(seq_of "$A_URL")"

# the guarantee: an event only in the ring is never answered
{ kill -KILL "$A_BATCHER"; e2e_wait_gone "$A_BATCHER"; } 2>/dev/null
e2e_log "host A's batcher killed"
[ "$(post "$A_URL" 9)" = 202 ] || e2e_fail "POST to A: $(cat "$E2E_WORK/post.json")"
[ "$(e2e_ring published)" -eq 3 ] && [ "$(e2e_ring unreleased_bytes)" -gt 0 ] \
    || e2e_fail "event 9 is not waiting in A's ring: $(e2e_ring published) published, $(e2e_ring unreleased_bytes) bytes unreleased"
answers "$A_URL" 7 || e2e_fail "host A answers $(seq_of "$A_URL") while event 9 is only in its ring"
answers "$B_URL" 7 || e2e_fail "host B answers $(seq_of "$B_URL") while event 9 is only in A's ring"
answers_404 "$A_URL" other-$$ || e2e_fail "host A: an unknown client gets $(get "$A_URL" other-$$), not 404"
e2e_log "event 9 in A's ring only: both hosts still answer event 7"

t0=$(now_ms)
e2e_start_batcher
propagate "host A (restarted batcher)" "$A_URL" 9 "$t0" "the restart"
propagate "host B (through the last-seen topic)" "$B_URL" 9 "$t0" "the restart"

e2e_log "ok: each host answers the other's acknowledged events, never an event only in a ring"
