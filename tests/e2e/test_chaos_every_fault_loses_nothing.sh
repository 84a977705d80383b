#!/usr/bin/env bash
# The chaos test: unique events over many connections, every id that got a
# 2xx recorded, and meanwhile every fault we promise to survive, each at a
# point of the run given by the acknowledged count:
#
#   10%  the batcher killed with SIGKILL; restarted after 2% more events
#   20%  an nginx worker killed with SIGKILL (the master respawns it)
#   30%  nginx -s reload
#   40%  Kafka down until the ring is full and clients get 503s, then up
#   55%  the batcher killed with SIGKILL again; restarted after 2% more
#   65%  a binary upgrade: USR2 to the master, then QUIT to the old one
#
# The topic is read all along (the local Kafka keeps ~5 MiB per partition
# and drops the oldest silently), and at the end every acknowledged id must
# be in it.  Prints sent, acknowledged, found in Kafka, duplicates, 503s.
# When the module has mcpu_status, its page is scraped every second and a
# few lines of how its figures moved are printed.
#
# make test runs a small version (20,000 events in about 10 s, in a 4 MiB
# ring so that the outage fills it); bench/chaos.sh EVENTS DURATION runs a
# large one.  Parameters: E2E_EVENTS, E2E_DURATION (seconds, 0: 2500
# events/s), E2E_CONNECTIONS, E2E_CLIENTS, E2E_PARTITIONS, E2E_RING_SIZE.
. "$(dirname "$0")/lib.sh"

N=${E2E_EVENTS:-20000}
DURATION=${E2E_DURATION:-0}
CONNECTIONS=${E2E_CONNECTIONS:-16}
CLIENTS=${E2E_CLIENTS:-1000}
E2E_RING_SIZE=${E2E_RING_SIZE:-4m}
E2E_RING_LANES=8
if [ "$DURATION" -gt 0 ]; then RATE=$(( (N + DURATION - 1) / DURATION )); else RATE=2500; fi
W=$E2E_WORK

e2e_start_kafka
e2e_start_nginx_daemon 2
e2e_start_batcher
e2e_topic_follow "$W/found.txt"
# hook: the status page's figures during the run (mcpu_status; when the
# module has none, E2E_STATUS_URL is empty and this does nothing)
e2e_status_scrape "$W/status.txt" 1
e2e_log "chaos: $N events at $RATE/s over $CONNECTIONS connections," \
        "$CLIENTS clients, $E2E_PARTITIONS partitions, ring $E2E_RING_SIZE"

# 503s are resent (a client honours Retry-After; the tool caps the wait at
# 50 ms) up to 200 times, failed exchanges (a killed worker, a closing old
# worker) up to 10 times: an event is acked only by a 2xx
t_start=$(date +%s%3N)
: > "$W/acked.txt"
"$E2E_BIN/mcpu-load" -u "$E2E_URL" -n "$N" -c "$CONNECTIONS" -k "$CLIENTS" --prefix chaos- \
    --rate "$RATE" --retry-503 200 --retry-errors 10 -o "$W/acked.txt" \
    > "$W/load.out" 2> "$W/load.err" &
load_pid=$!
e2e_stop_at_exit "$load_pid"

acked() { wc -l < "$W/acked.txt"; }
acked_at_least() { [ "$(acked)" -ge "$1" ]; }
load_running() { kill -0 "$load_pid" 2>/dev/null; }

# at PERCENT: waits until PERCENT% of the events are acknowledged
at() {
    local want=$(($1 * N / 100))
    E2E_WAIT_S=$((60 + 3 * N / RATE)) e2e_wait acked_at_least "$want" \
        || e2e_fail "the load stalled at $(acked) acknowledged events, waiting for $want"
    load_running || e2e_fail "the load ended before $1% of the events were acknowledged"
}

fault() { e2e_log "fault at $(acked) acked: $*"; }

# 503s answered so far (nginx logs each refusal of a full ring)
full_503s() { e2e_log_count "$W/nginx.log" 'ring lane full, event refused with 503'; }

# the batcher stays dead until 2% more events are acknowledged, or the ring
# is full and refused 200 more requests (as after the outage, when the ring
# may still be full)
kill_batcher() {
    local from from_503
    { kill -KILL "$E2E_BATCHER_PID"; e2e_wait_gone "$E2E_BATCHER_PID"; } 2>/dev/null
    fault "batcher killed (SIGKILL); ring: $(e2e_ring published) published, $(e2e_ring released) released"
    from=$(acked)
    from_503=$(full_503s)
    dead_long_enough() {
        acked_at_least $((from + N / 50)) || [ "$(full_503s)" -ge $((from_503 + 200)) ]
    }
    e2e_wait dead_long_enough || e2e_fail "the load stalled while the batcher was dead"
    e2e_start_batcher
}
kafka_applied() { grep -qF "control '$1': applied" "$W/kafka.log"; }

at 10
kill_batcher

at 20
e2e_nginx_kill_worker
fault "nginx worker $E2E_KILLED_WORKER killed (SIGKILL), respawned"

at 30
e2e_nginx_reload
fault "nginx reloaded"

at 40
before_503=$(full_503s)
e2e_kafka_ctl down 1
e2e_wait kafka_applied 'down 1' || e2e_fail "mcpu-kafka did not take the broker down"
fault "Kafka down"
# down until the ring is full and 200 requests were refused, or 20% more
# events fit in the ring
outage_over() {
    [ "$(full_503s)" -ge $((before_503 + 200)) ] || acked_at_least $((outage_from + N / 5))
}
outage_from=$(acked)
E2E_WAIT_S=$((60 + N / RATE)) e2e_wait outage_over \
    || e2e_fail "neither a full ring nor progress while Kafka was down ($(acked) acked)"
e2e_kafka_ctl up 1
e2e_wait kafka_applied 'up 1' || e2e_fail "mcpu-kafka did not bring the broker up"
fault "Kafka up; $(( $(full_503s) - before_503 )) requests refused with 503 meanwhile"

at 55
kill_batcher

at 65
old_master=$E2E_NGINX_PID
e2e_nginx_upgrade
fault "binary upgrade: master $old_master -> $E2E_NGINX_PID"

wait "$load_pid" || true
t_load=$(date +%s%3N)
e2e_log "load: $(cat "$W/load.out")"
grep -q ' bad=0 ' "$W/load.out" || e2e_fail "answers other than 2xx and 503: $(head -3 "$W/load.err")"

# the ring drains to its last record, the reader catches up with it
ring_drained() { e2e_ring_lanes | awk '$4 != $5 || $6 != 0 { bad = 1 } END { exit bad }'; }
E2E_WAIT_S=300 e2e_wait ring_drained || e2e_fail "the ring is not drained: $(e2e_ring_lanes | tr '\n' ';')"
n_acked=$(acked)
cut -f1 "$W/acked.txt" | sort > "$W/acked.ids"
found_all() {
    [ "$(wc -l < "$W/found.txt")" -ge "$n_acked" ] || return 1
    cut -f1 "$W/found.txt" | sort -u > "$W/found.ids"
    [ -z "$(comm -23 "$W/acked.ids" "$W/found.ids" | head -1)" ]
}
E2E_WAIT_S=300 e2e_wait found_all || true
e2e_topic_follow_stop
t_end=$(date +%s%3N)
cut -f1 "$W/found.txt" | sort -u > "$W/found.ids"

# the figures
read -r sent refused errors r503 bad_ra retries < <(perl -ne '
    my %v = /(\w+)=(\d+)/g;
    print "$v{sent} $v{refused_503} $v{errors} $v{responses_503} $v{bad_retry_after} $v{error_retries}\n"' "$W/load.out")
records=$(cut -f3 "$W/found.txt" | sort -u | wc -l)     # distinct partition:offset
found=$(comm -12 "$W/acked.ids" "$W/found.ids" | wc -l)
missing=$(comm -23 "$W/acked.ids" "$W/found.ids" | wc -l)
unacked_found=$(comm -13 "$W/acked.ids" "$W/found.ids" | wc -l)
dups=$((records - $(wc -l < "$W/found.ids")))
uniq_acked=$(uniq "$W/acked.ids" | wc -l)

if [ -s "$W/status.txt" ]; then
    {
        echo "how the status page moved (about 12 of its scrapes, one a second):"
        e2e_status_moves "$W/status.txt" mcpu_events_accepted_total mcpu_ring_used_bytes \
            mcpu_batcher_up mcpu_batcher_kafka_up mcpu_batcher_acked_total \
            'mcpu_error_responses_total{error="ring_full"}' \
            | awk -v n="$(grep -c '^# scrape' "$W/status.txt")" \
                'NR == 1 { print; next } { k = int(n / 12); if (k < 1) k = 1 } (NR - 2) % k == 0'
    } | tee "$W/status-moves.txt" >&2
    moves=$(e2e_status_moves "$W/status.txt" mcpu_events_accepted_total | awk 'NR > 1 && $2 != "-"' | cut -f2 | sort -u | wc -l)
    [ "$moves" -ge 3 ] || e2e_fail "the status page's accepted count did not move during the run"
else
    e2e_log "no status page (the module has no mcpu_status): figures not scraped"
fi

cat >&2 <<REPORT
chaos run: $N events planned at $RATE/s, $CONNECTIONS connections, $CLIENTS clients, $E2E_PARTITIONS partitions
  sent:            $sent
  acknowledged:    $n_acked ($uniq_acked distinct)
  found in Kafka:  $found of the acknowledged ($unacked_found more ids not acknowledged: exchanges that failed or were refused after the server took them)
  missing:         $missing
  duplicates:      $dups (records in Kafka: $records)
  503s:            $r503 answers ($bad_ra without a valid Retry-After); $refused events given up after 200 of them
  failed exchanges: $retries resent, $errors given up
  duration:        load $(( (t_load - t_start) / 1000 )) s, until everything was read back $(( (t_end - t_start) / 1000 )) s
REPORT
printf '%s\n' "sent=$sent acked=$n_acked found=$found missing=$missing duplicates=$dups responses_503=$r503 refused_503=$refused" \
    "errors=$errors load_s=$(( (t_load - t_start) / 1000 )) total_s=$(( (t_end - t_start) / 1000 ))" > "$W/counts.txt"
[ -z "${CHAOS_COUNTS:-}" ] || cp "$W/counts.txt" "$CHAOS_COUNTS"

[ "$missing" -eq 0 ] \
    || e2e_fail "$missing acknowledged events are not in Kafka, e.g. $(comm -23 "$W/acked.ids" "$W/found.ids" | head -3 | tr '\n' ' ')"
[ "$uniq_acked" -eq "$n_acked" ] || e2e_fail "an id was acknowledged twice in the acked file"
[ "$bad_ra" -eq 0 ] || e2e_fail "$bad_ra answers 503 without a Retry-After of at least 1 s"
[ "$r503" -gt 0 ] || e2e_fail "no 503 during the outage: the ring never filled"
kill -0 "$E2E_BATCHER_PID" 2>/dev/null || e2e_fail "the batcher died"
if e2e_log_has "$W/batcher.log" ' CRIT |no valid record'; then
    e2e_fail "the batcher met a corrupt ring: $(grep -E ' CRIT |no valid record' "$W/batcher.log" | head -2)"
fi
alerts=$(grep -E '\[(alert|crit|emerg)\]' "$W/nginx.log" | grep -vc 'exited on signal 9' || true)
[ "$alerts" -eq 0 ] || e2e_fail "nginx logged alerts: $(grep -E '\[(alert|crit|emerg)\]' "$W/nginx.log" | grep -v 'exited on signal 9' | head -2)"

e2e_log "ok: every acknowledged event survived every fault"
