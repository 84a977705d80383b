#!/usr/bin/env bash
# SIGHUP reopens the batcher's log file, as logrotate needs: after the file
# is renamed, a HUP makes the batcher create a new file at the configured
# path, and its next lines go there, not into the renamed one.  It works
# while the batcher waits for the ring and while it drains it, and the
# batcher keeps running through both.
. "$(dirname "$0")/lib.sh"

N=${E2E_EVENTS:-500}
log=$E2E_WORK/mcpu-batcher.log

e2e_start_kafka

# 1. waiting for the ring (nginx not started yet)
e2e_start_batcher --log-file "$log"
pid=$E2E_BATCHER_PID
e2e_wait e2e_log_has "$log" 'waiting for nginx to create it' \
    || e2e_fail "the batcher did not log into $log"
mv "$log" "$log.1"
kill -HUP "$pid"
e2e_wait e2e_log_has "$log" 'NOTICE log reopened; still waiting for ring' \
    || e2e_fail "no new $log after SIGHUP while waiting for the ring"

e2e_start_nginx 2
e2e_wait e2e_log_has "$log" 'ring ".*" appeared after' \
    || e2e_fail "the batcher did not log the ring's arrival into the new file"
! e2e_log_has "$log.1" 'appeared after' || e2e_fail "the renamed file still gets lines"
e2e_log "waiting: $(wc -l < "$log.1") lines before the HUP, the new file has $(wc -l < "$log")"

# 2. draining
"$E2E_BIN/mcpu-load" -u "$E2E_URL" -n "$N" -c 2 -k 100 --prefix hup- \
    -o "$E2E_WORK/acked.txt" > "$E2E_WORK/load.out" \
    || e2e_fail "not every event was accepted: $(cat "$E2E_WORK/load.out")"
e2e_wait e2e_topic_has "$N" || e2e_fail "only $(e2e_topic_count) of $N records reached Kafka"

mv "$log" "$log.2"
kill -HUP "$pid"
e2e_wait e2e_log_has "$log" 'NOTICE log reopened$' \
    || e2e_fail "no new $log after SIGHUP while draining"
kill -0 "$pid" 2>/dev/null || e2e_fail "the batcher stopped after SIGHUP"

# the batcher's last lines go to the new file too
kill -TERM "$pid"
e2e_wait_exit "$pid" 15000 || e2e_fail "the batcher did not stop"
[ "$E2E_EXIT_RC" -eq 0 ] || e2e_fail "exit status $E2E_EXIT_RC"
e2e_log_has "$log" 'NOTICE exiting with status 0' || e2e_fail "the last line is not in the new file"
! e2e_log_has "$log.2" 'exiting with status' || e2e_fail "the renamed file still gets lines"
for f in "$log.1" "$log.2" "$log"; do
    bad=$(grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z mcpu-batcher\[[0-9]+\] [A-Z]+ ' "$f" || true)
    [ "$bad" -eq 0 ] || e2e_fail "$f has $bad lines not in the log format"
done
[ ! -s "$E2E_WORK/batcher.log" ] || e2e_fail "lines went to stderr: $(head -3 "$E2E_WORK/batcher.log")"

e2e_log "ok: two renames, two HUPs, three files ($(wc -l < "$log.1"), $(wc -l < "$log.2"), $(wc -l < "$log") lines); exit 0"
