-- suspects.sql: for each event type and group of clients, how many of its
-- occurrences are followed, within {window_ms} ms, by a fast CPU rise of
-- the same client (mcpu-report's P(rise | event, group); baseline.sql gives
-- the rate after an arbitrary moment, and mcpu-report the lift).
--
-- A fast rise, as in baseline.sql: a measurement at least {rise} points
-- above the session's previous one, taken at most {rise_span_ms} ms after
-- it; its time is the later measurement's.  "Followed": a rise at a time r
-- with t < r <= t + {window_ms}, t the event's time.  To find it without a
-- range join (ClickHouse 18.16 joins on equality only), rises are grouped
-- in buckets of {window_ms} ms: the rises after t are in t's bucket or the
-- next one.
--
-- Parameters: {from_ms} {to_ms} {from_s} {to_s} the period (ms and s since
-- the epoch, to exclusive); {rise} points; {rise_span_ms} {window_ms} ms.
--
-- One row per event type and group: type, level (which of version 1, OS 2,
-- OS version 4 the group is narrowed by; the others are '' and mean "all"),
-- version, os, os_version, occurrences, followed, clients; and an example
-- of an occurrence followed by a rise (ex_client, ex_ms; ex_h is
-- 18446744073709551615 when there is none), chosen by a hash of its key so
-- that the choice is the same at every run.

SELECT
    type,
    level,
    if(bitAnd(level, 1) != 0, client_version, '') AS version,
    if(bitAnd(level, 2) != 0, client_os, '') AS os,
    if(bitAnd(level, 4) != 0, os_version, '') AS os_version,
    sum(n) AS occurrences,
    sum(k) AS followed,
    uniqExact(client_id) AS clients,
    min(h) AS ex_h,
    argMin(client_id, h) AS ex_client,
    argMin(ex_t, h) AS ex_ms
FROM
(
    -- per event type, client and group
    SELECT
        type, client_id, client_version, client_os, os_version,
        count() AS n,
        sum(hit) AS k,
        min(hh) AS h,
        argMin(at_ms, hh) AS ex_t
    FROM
    (
        -- each occurrence once, with whether a rise followed it
        SELECT
            client_id,
            dedup_key,
            any(type) AS type,
            any(client_version) AS client_version,
            any(client_os) AS client_os,
            any(os_version) AS os_version,
            any(et) AS at_ms,
            max(arrayExists(r -> r > et AND r <= et + {window_ms}, rs)) AS hit,
            if(hit, cityHash64(client_id, dedup_key), 18446744073709551615) AS hh
        FROM
        (
            SELECT
                client_id, dedup_key, type, client_version, client_os,
                os_version,
                toInt64(time_ms) AS et,
                arrayJoin([intDiv(et, {window_ms}), intDiv(et, {window_ms}) + 1]) AS b
            FROM mcpu.events FINAL
            WHERE type NOT IN ('CpuMeasurement', 'CpuSummary')
              AND time >= toDateTime({from_s}) AND time <= toDateTime({to_s})
              AND time_ms >= {from_ms} AND time_ms < {to_ms}
        )
        ANY LEFT JOIN
        (
            -- the fast rises of each client, by bucket
            SELECT client_id, intDiv(r, {window_ms}) AS b, groupArray(r) AS rs
            FROM
            (
                SELECT
                    client_id,
                    arraySort(groupArray((toInt64(time_ms), cpu))) AS m,
                    arrayMap(x -> x.1, m) AS ts,
                    arrayMap(x -> x.2, m) AS cs,
                    arrayFilter((t, d, g) -> d >= {rise} AND g > 0
                                             AND g <= {rise_span_ms},
                                ts, arrayDifference(cs),
                                arrayDifference(ts)) AS rise_ts
                FROM mcpu.events FINAL
                WHERE type = 'CpuMeasurement'
                  AND time >= toDateTime({from_s}) AND time <= toDateTime({to_s})
                  AND time_ms >= {from_ms} AND time_ms < {to_ms}
                GROUP BY client_id, session_id
            )
            ARRAY JOIN rise_ts AS r
            GROUP BY client_id, b
        ) USING (client_id, b)
        GROUP BY client_id, dedup_key
    )
    GROUP BY type, client_id, client_version, client_os, os_version
)
ARRAY JOIN [0, 1, 2, 3, 6, 7] AS level
GROUP BY type, level, version, os, os_version
ORDER BY type, level, version, os, os_version
