-- profile.sql: the CPU around one suspect: the mean CPU of the clients of a
-- group, from {before_ms} ms before to {after_ms} ms after each occurrence
-- of an event type, in steps of {step_ms} ms (mcpu-report's "CPU around
-- the event" chart; its reference line is the group's mean CPU from
-- baseline.sql).
--
-- The event type and the group's values are given hex-encoded
-- ({type_hex}, {version_hex}, {os_hex}, {os_version_hex}), so that only
-- hex digits are substituted into the text; {level} says which of them
-- narrow the group (version 1, OS 2, OS version 4; the others are ignored).
-- Measurements and occurrences are matched in buckets of
-- {before_ms} + {after_ms} ms ({span_ms}): the measurements around an
-- occurrence at t, from t - {before_ms} to t + {after_ms}, are in the
-- bucket of t - {before_ms} or the next one; only the measurements of
-- those buckets of the clients with an occurrence are read into arrays.
--
-- Parameters: {from_ms} {to_ms} {from_s} {to_s} the period; the above.
--
-- One row per step: offset_ms (the step's start, relative to the event),
-- measurements, cpu (their mean), occurrences (how many occurrences had a
-- measurement in the step).

SELECT
    intDiv(off + {before_ms}, {step_ms}) * {step_ms} - {before_ms} AS offset_ms,
    count() AS measurements,
    avg(c) AS cpu,
    uniqExact(client_id, et) AS occurrences
FROM
(
    SELECT client_id, et, x.1 - et AS off, x.2 AS c
    FROM
    (
    -- (a subquery of its own: ClickHouse 18.16 runs ARRAY JOIN before JOIN)
    SELECT client_id, et, xs
    FROM
    (
        SELECT
            client_id,
            toInt64(time_ms) AS et,
            arrayJoin([intDiv(et - {before_ms}, {span_ms}),
                       intDiv(et - {before_ms}, {span_ms}) + 1]) AS b
        FROM mcpu.events FINAL
        WHERE type = unhex('{type_hex}')
          AND (bitAnd({level}, 1) = 0 OR client_version = unhex('{version_hex}'))
          AND (bitAnd({level}, 2) = 0 OR client_os = unhex('{os_hex}'))
          AND (bitAnd({level}, 4) = 0 OR os_version = unhex('{os_version_hex}'))
          AND time >= toDateTime({from_s}) AND time <= toDateTime({to_s})
          AND time_ms >= {from_ms} AND time_ms < {to_ms}
    )
    ANY INNER JOIN
    (
        -- the measurements in the buckets around the occurrences, by bucket
        SELECT
            client_id,
            intDiv(toInt64(time_ms), {span_ms}) AS b,
            groupArray((toInt64(time_ms), cpu)) AS xs
        FROM mcpu.events FINAL
        WHERE type = 'CpuMeasurement'
          AND (client_id, intDiv(toInt64(time_ms), {span_ms})) IN
          (
              SELECT
                  client_id,
                  arrayJoin([intDiv(toInt64(time_ms) - {before_ms}, {span_ms}),
                             intDiv(toInt64(time_ms) - {before_ms}, {span_ms}) + 1])
              FROM mcpu.events
              WHERE type = unhex('{type_hex}')
                AND (bitAnd({level}, 1) = 0 OR client_version = unhex('{version_hex}'))
                AND (bitAnd({level}, 2) = 0 OR client_os = unhex('{os_hex}'))
                AND (bitAnd({level}, 4) = 0 OR os_version = unhex('{os_version_hex}'))
                AND time >= toDateTime({from_s}) AND time <= toDateTime({to_s})
                AND time_ms >= {from_ms} AND time_ms < {to_ms}
          )
          AND time >= toDateTime({from_s}) AND time <= toDateTime({to_s})
          AND time_ms >= {from_ms} AND time_ms < {to_ms}
        GROUP BY client_id, b
    ) USING (client_id, b)
    )
    ARRAY JOIN xs AS x
)
WHERE off >= -{before_ms} AND off < {after_ms}
GROUP BY offset_ms
ORDER BY offset_ms
