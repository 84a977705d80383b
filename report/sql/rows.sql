-- rows.sql: what the period holds: events (each once), CPU measurements,
-- clients, sessions, and the first and last event times.  mcpu-report
-- stops when the table is missing or the period has no event, and reports
-- rows as "rows".
--
-- Parameters: {from_ms} {to_ms} {from_s} {to_s} the period (ms and s since
-- the epoch, to exclusive).

SELECT
    count() AS rows,
    countIf(type = 'CpuMeasurement') AS measurements,
    uniqExact(client_id) AS clients,
    uniqExact(client_id, session_id) AS sessions,
    min(time_ms) AS first_ms,
    max(time_ms) AS last_ms
FROM mcpu.events FINAL
WHERE time >= toDateTime({from_s}) AND time <= toDateTime({to_s})
  AND time_ms >= {from_ms} AND time_ms < {to_ms}
