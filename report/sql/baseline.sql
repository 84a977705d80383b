-- baseline.sql: how often a fast CPU rise follows an arbitrary moment, per
-- group of clients: for each CPU measurement, whether the same session has
-- a fast rise within the next {window_ms} ms; summed per (version, OS, OS
-- version) and at the coarser levels (mcpu-report's baseline(group)).
--
-- A fast rise: a measurement at least {rise} points above the session's
-- previous measurement, taken at most {rise_span_ms} ms after it (a longer
-- gap, the app suspended or offline, is no rise).  Its time is the later
-- measurement's.  suspects.sql uses the same definition.
--
-- Parameters: {from_ms} {to_ms} {from_s} {to_s} the period (ms and s since
-- the epoch, to exclusive); {rise} points; {rise_span_ms} {window_ms} ms.
--
-- One row per group: level (which of version 1, OS 2, OS version 4 the
-- group is narrowed by; the others are '' and mean "all"), version, os,
-- os_version, measurements, followed (measurements followed by a rise
-- within the window), rises, clients, cpu_sum (the sum of the measured CPU,
-- for the group's mean).

SELECT
    level,
    if(bitAnd(level, 1) != 0, client_version, '') AS version,
    if(bitAnd(level, 2) != 0, client_os, '') AS os,
    if(bitAnd(level, 4) != 0, os_version, '') AS os_version,
    sum(n) AS measurements,
    sum(k) AS followed,
    sum(r) AS rises,
    uniqExact(client_id) AS clients,
    sum(s) AS cpu_sum
FROM
(
    -- per client and group: measurements, followed, rises, CPU sum
    SELECT
        client_id, client_version, client_os, os_version,
        sum(length(ts)) AS n,
        sum(arraySum(followed)) AS k,
        sum(length(rise_ts)) AS r,
        sum(arraySum(cs)) AS s
    FROM
    (
        -- per session: its measurements in time order, as arrays
        SELECT
            client_id,
            session_id,
            any(client_version) AS client_version,
            any(client_os) AS client_os,
            any(os_version) AS os_version,
            arraySort(groupArray((toInt64(time_ms), cpu))) AS m,
            arrayMap(x -> x.1, m) AS ts,
            arrayMap(x -> x.2, m) AS cs,
            arrayMap((d, g) -> d >= {rise} AND g > 0 AND g <= {rise_span_ms},
                     arrayDifference(cs), arrayDifference(ts)) AS is_rise,
            arrayFilter((t, f) -> f, ts, is_rise) AS rise_ts,
            -- the rises up to each measurement: the next one after it is
            -- rise_ts[upto + 1], if there is one
            arrayCumSum(is_rise) AS upto,
            arrayMap((t, u) -> u < length(rise_ts)
                               AND rise_ts[u + 1] - t <= {window_ms},
                     ts, upto) AS followed
        FROM mcpu.events FINAL
        WHERE type = 'CpuMeasurement'
          AND time >= toDateTime({from_s}) AND time <= toDateTime({to_s})
          AND time_ms >= {from_ms} AND time_ms < {to_ms}
        GROUP BY client_id, session_id
    )
    GROUP BY client_id, client_version, client_os, os_version
)
ARRAY JOIN [0, 1, 2, 3, 6, 7] AS level
GROUP BY level, version, os, os_version
ORDER BY level, version, os, os_version
