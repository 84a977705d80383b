-- report/testdata/gen_duplicates.sql: duplicate rows, as a sink restarted
-- before its offset commit or a retried event would leave them: one row in
-- {every} inserted again with the same (client_id, dedup_key), received
-- again later by another node.  Until ReplacingMergeTree merges the parts
-- both copies are stored; mcpu-report must count each event once.  Run
-- after "SYSTEM STOP MERGES mcpu.events" to keep them apart.
--
-- Parameters: {every} (a number).

INSERT INTO mcpu.events (client_id, dedup_key, type, time, time_ms, seq,
    received_ms, node, client_version, client_os, os_version, session_id,
    cpu, cores, transfer_id, event)
SELECT client_id, dedup_key, type, time, time_ms, seq, received_ms + 60000,
       'gen-retry', client_version, client_os, os_version, session_id, cpu,
       cores, transfer_id, event
FROM mcpu.events
WHERE cityHash64(client_id, dedup_key) % {every} = 0;
