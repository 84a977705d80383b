-- timeline.sql: one client's CPU and events around one moment (mcpu-report
-- shows an occurrence of the top suspect followed by a fast rise, as an
-- example): every row of the client from {before_ms} ms before {at_ms} to
-- {after_ms} ms after it.  The client id is hex-encoded ({client_hex}), so
-- that only hex digits are substituted into the text.
--
-- Parameters: {client_hex}; {at_ms} ms since the epoch; {before_ms}
-- {after_ms} ms.
--
-- One row per event, in time order: time_ms, type, cpu (the CPU of a
-- measurement, 0 for other events).

SELECT time_ms, type, cpu
FROM mcpu.events FINAL
WHERE client_id = unhex('{client_hex}')
  AND time >= toDateTime(intDiv({at_ms} - {before_ms}, 1000))
  AND time <= toDateTime(intDiv({at_ms} + {after_ms}, 1000) + 1)
  AND time_ms >= {at_ms} - {before_ms} AND time_ms <= {at_ms} + {after_ms}
ORDER BY time_ms, type
