-- drilldown_context.sql: what was happening when the CPU went over
-- {cpu_threshold} percent: per (version, OS, OS version) of the session
-- and event type, how many sessions saw an event of that type within
-- {window_ms} ms before the start of one of their episodes over the
-- threshold (drilldown.sql's definition, repeated here: consecutive
-- measurements above it, the first and the last at least {cpu_sustain_ms}
-- ms apart).  Events are matched to the episode on the client and the
-- time, so an event without a session id counts too.  mcpu-report adds the
-- leaves up into its tree, as for drilldown.sql.
--
-- An episode starting at x and an event at t match when
-- t <= x <= t + {window_ms}; episodes are grouped in buckets of
-- {window_ms} ms, so those after t are in t's bucket or the next one
-- (ClickHouse 18.16 joins on equality only).
--
-- Parameters: {from_ms} {to_ms} {from_s} {to_s} the period (ms and s since
-- the epoch, to exclusive); {cpu_threshold} percent; {cpu_sustain_ms}
-- {window_ms} ms.
--
-- One row per group and event type: version, os, os_version, type,
-- sessions.

SELECT
    s.2 AS version,
    s.3 AS os,
    s.4 AS os_version,
    type,
    uniqExact(client_id, s.1) AS sessions
FROM
(
    -- each event with the episodes it came before: (session, group)
    SELECT
        client_id,
        type,
        arrayJoin(arrayMap(x -> (x.2, x.3, x.4, x.5),
                           arrayFilter(x -> x.1 >= et AND x.1 <= et + {window_ms},
                                       xs))) AS s
    FROM
    (
        SELECT client_id, type, et, xs
        FROM
        (
            SELECT
                client_id, type,
                toInt64(time_ms) AS et,
                arrayJoin([intDiv(et, {window_ms}), intDiv(et, {window_ms}) + 1]) AS b
            FROM mcpu.events FINAL
            WHERE type NOT IN ('CpuMeasurement', 'CpuSummary')
              AND time >= toDateTime({from_s}) AND time <= toDateTime({to_s})
              AND time_ms >= {from_ms} AND time_ms < {to_ms}
        )
        ANY INNER JOIN
        (
            -- the episodes' starts of each client, by bucket, with their
            -- session and its group
            SELECT
                client_id,
                intDiv(x, {window_ms}) AS b,
                groupArray((x, session_id, client_version, client_os,
                            os_version)) AS xs
            FROM
            (
                SELECT
                    client_id,
                    session_id,
                    any(client_version) AS client_version,
                    any(client_os) AS client_os,
                    any(os_version) AS os_version,
                    arraySort(groupArray((toInt64(time_ms), cpu))) AS m,
                    arrayMap(x -> x.1, m) AS ts,
                    arrayMap(x -> x.2 > {cpu_threshold}, m) AS above,
                    arrayFilter((t, a, prev) -> a AND NOT prev, ts, above,
                                arrayPushFront(arrayPopBack(above), 0)) AS starts,
                    arrayFilter((t, a, next) -> a AND NOT next, ts, above,
                                arrayPushBack(arrayPopFront(above), 0)) AS ends,
                    arrayFilter((s, e) -> e - s >= {cpu_sustain_ms},
                                starts, ends) AS starts_over
                FROM mcpu.events FINAL
                WHERE type = 'CpuMeasurement'
                  AND time >= toDateTime({from_s}) AND time <= toDateTime({to_s})
                  AND time_ms >= {from_ms} AND time_ms < {to_ms}
                GROUP BY client_id, session_id
            )
            ARRAY JOIN starts_over AS x
            GROUP BY client_id, b
        ) USING (client_id, b)
    )
    -- always true; it names et outside the lambda, without which
    -- ClickHouse 18.16 does not read it from the subquery for the lambda
    WHERE et >= 0
)
GROUP BY version, os, os_version, type
ORDER BY version, os, os_version, type
