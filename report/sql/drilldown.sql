-- drilldown.sql: how many sessions (app runs: a client's rows with one
-- session_id) had their CPU over {cpu_threshold} percent, per (version,
-- OS, OS version) of the session; mcpu-report adds the leaves up into its
-- tree (version, then OS, then OS version).  A session's group is its
-- measurements' (one app run has one version).
--
-- Over the threshold means an episode: consecutive measurements of the
-- session all above the threshold, the first and the last at least
-- {cpu_sustain_ms} ms apart (0: a single measurement is enough).  Its
-- start is the moment the CPU went over.  drilldown_context.sql uses the
-- same definition.
--
-- Parameters: {from_ms} {to_ms} {from_s} {to_s} the period (ms and s since
-- the epoch, to exclusive); {cpu_threshold} percent; {cpu_sustain_ms} ms.
--
-- One row per group: version, os, os_version, sessions, over (sessions
-- with an episode), episodes, clients, over_clients.

SELECT
    client_version AS version,
    client_os AS os,
    os_version,
    count() AS sessions,
    countIf(length(starts_over) > 0) AS over,
    sum(length(starts_over)) AS episodes,
    uniqExact(client_id) AS clients,
    uniqExactIf(client_id, length(starts_over) > 0) AS over_clients
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
        arrayFilter((t, a, prev) -> a AND NOT prev,
                    ts, above, arrayPushFront(arrayPopBack(above), 0)) AS starts,
        arrayFilter((t, a, next) -> a AND NOT next,
                    ts, above, arrayPushBack(arrayPopFront(above), 0)) AS ends,
        arrayFilter((s, e) -> e - s >= {cpu_sustain_ms}, starts, ends) AS starts_over
    FROM mcpu.events FINAL
    WHERE type = 'CpuMeasurement'
      AND time >= toDateTime({from_s}) AND time <= toDateTime({to_s})
      AND time_ms >= {from_ms} AND time_ms < {to_ms}
    GROUP BY client_id, session_id
)
GROUP BY version, os, os_version
ORDER BY version, os, os_version
