-- report/testdata/gen_events.sql: synthetic events for mcpu-report's tests
-- and bench/report.sh, generated inside ClickHouse (INSERT ... SELECT FROM
-- numbers(N): millions of rows in seconds).  Statements are separated by
-- ";" at the end of a line; e2e_report_gen (report/testdata/e2e_report.sh)
-- substitutes the numeric parameters and sends them one by one.
--
-- Parameters (all numbers):
--   {clients}    clients; client c has version ['6.02','6.03','6.04','6.05']
--                [c % 4], OS ['Windows','macOS','Linux'][c / 4 % 3] and
--                OS version (10|11, 13|14, 22.04|24.04)[c / 12 % 2]: every
--                (version, OS, OS version) has clients / 24 clients
--   {hours}      hours of data; one session (AppOpened ... AppClosed) per
--                client and hour
--   {start_s}    the first second (epoch)
--   {seed}       changes every random draw
--   {plant}      the planted causes, bits: 1 FileTransferStarted on
--                version {plant_v} and OS {plant_os} (indexes into the
--                versions and OSes above), 2 IndexingStarted on version
--                {plant2_v} and OS {plant2_os}; 0 none
--
-- What the CPU (mean over 4 cores, every 5 s per client, its own phase) is:
--   4..7 points per client + 0..6 of noise per measurement
--   + 10..15 all the time on 6.03                  (distractor: hot version)
--   + 30..50 for 5..10 s once per half hour        (distractor: random spikes,
--                                                   on everyone)
--   + 3..6 during every file transfer              (distractor: small bump)
--   + 40..60 from 2..8 s after the planted event for 20..40 s, on the planted
--     version and OS only: after every FileTransferStarted, after half of
--     the IndexingStarted                          (the causes)
-- Activity: a file transfer in 70% of 10-minute slots (Started, Progress
-- every 10 s, Completed after 30..90 s); indexing in 40% of 15-minute slots
-- (IndexingStarted, IndexingCompleted after 40..80 s); AppOpened and
-- AppClosed at each session's ends.  Each event's draws are the same
-- hashes in the measurements' statement and in its own, so the CPU follows
-- the events exactly.

INSERT INTO mcpu.events (client_id, dedup_key, type, time, time_ms, seq,
    received_ms, node, client_version, client_os, os_version, session_id,
    cpu, cores, transfer_id, event)
SELECT
    client_id,
    concat('m', toString(i)) AS dedup_key,
    'CpuMeasurement' AS type,
    toDateTime(intDiv(time_ms, 1000)) AS time,
    time_ms,
    toInt64(-1) AS seq,
    time_ms + 300 AS received_ms,
    'gen' AS node,
    client_version, client_os, os_version, session_id,
    round(arraySum(usage) / 4, 2) AS cpu,
    toUInt16(4) AS cores,
    '' AS transfer_id,
    concat('{"type":"CpuMeasurement","time":', toString(time_ms),
           ',"sessionId":"', session_id, '","usage":[',
           arrayStringConcat(arrayMap(u -> toString(u), usage), ','), ']}') AS event
FROM
(
    SELECT
        toUInt64(intDiv(number, {hours} * 720)) AS c,
        toUInt64(number % ({hours} * 720)) AS i,
        concat('client-', toString(c)) AS client_id,
        ['6.02', '6.03', '6.04', '6.05'][c % 4 + 1] AS client_version,
        ['Windows', 'macOS', 'Linux'][intDiv(c, 4) % 3 + 1] AS client_os,
        [['10', '11'], ['13', '14'], ['22.04', '24.04']][intDiv(c, 4) % 3 + 1][intDiv(c, 12) % 2 + 1] AS os_version,
        toUInt64(c % 5000 + i * 5000) AS rel,
        toUInt64({start_s}) * 1000 + rel AS time_ms,
        concat('s-', toString(c), '-', toString(intDiv(rel, 3600000))) AS session_id,

        toUInt64({seed}) AS seed,
        4 + cityHash64(seed, c, 'base') % 4
          + (cityHash64(seed, c, i, 'noise') % 600) / 100 AS base,
        if(c % 4 = 1, 10 + cityHash64(seed, c, 'hot') % 6, 0) AS hot,

        toUInt64(intDiv(rel, 1800000)) AS sk,
        sk * 1800000 + cityHash64(seed, c, sk, 'so') % 1790000 AS s0,
        if(rel >= s0 AND rel < s0 + 5000 + cityHash64(seed, c, sk, 'sd') % 5001,
           30 + cityHash64(seed, c, sk, 'sa') % 21, 0) AS spike,

        toUInt64(intDiv(rel, 600000)) AS tk,
        cityHash64(seed, c, tk, 'th') % 10 < 7 AS th,
        tk * 600000 + cityHash64(seed, c, tk, 'ts') % 500000 AS t0,
        if(th AND rel >= t0 AND rel < t0 + 30000 + cityHash64(seed, c, tk, 'tl') % 60001,
           3 + cityHash64(seed, c, tk, 'tb') % 4, 0) AS bump,
        t0 + 2000 + cityHash64(seed, c, tk, 'pd') % 6001 AS tp,
        if(bitAnd({plant}, 1) != 0 AND c % 4 = {plant_v} AND intDiv(c, 4) % 3 = {plant_os} AND th
           AND rel >= tp AND rel < tp + 20000 + cityHash64(seed, c, tk, 'pl') % 20001,
           40 + cityHash64(seed, c, tk, 'pa') % 21, 0) AS tplant,

        toUInt64(intDiv(rel, 900000)) AS xk,
        cityHash64(seed, c, xk, 'xh') % 10 < 4 AS xh,
        xk * 900000 + cityHash64(seed, c, xk, 'xs') % 800000 AS x0,
        x0 + 2000 + cityHash64(seed, c, xk, 'pd') % 6001 AS xp,
        if(bitAnd({plant}, 2) != 0 AND c % 4 = {plant2_v} AND intDiv(c, 4) % 3 = {plant2_os} AND xh
           AND cityHash64(seed, c, xk, 'xhalf') % 2 = 0
           AND rel >= xp AND rel < xp + 20000 + cityHash64(seed, c, xk, 'pl') % 20001,
           40 + cityHash64(seed, c, xk, 'pa') % 21, 0) AS xplant,

        base + hot + spike + bump + tplant + xplant AS level,
        arrayMap(k -> round(greatest(0, least(100, level + (k - 1.5) * 1.5)), 1),
                 [0, 1, 2, 3]) AS usage
    FROM numbers({clients} * {hours} * 720)
);

INSERT INTO mcpu.events (client_id, dedup_key, type, time, time_ms, seq,
    received_ms, node, client_version, client_os, os_version, session_id,
    cpu, cores, transfer_id, event)
SELECT
    client_id,
    concat('t', toString(tk), '-', toString(e.2)) AS dedup_key,
    e.1 AS type,
    toDateTime(intDiv(time_ms, 1000)) AS time,
    time_ms,
    toInt64(-1) AS seq,
    time_ms + 300 AS received_ms,
    'gen' AS node,
    client_version, client_os, os_version, session_id,
    toFloat64(0) AS cpu,
    toUInt16(0) AS cores,
    transfer_id,
    concat('{"type":"', type, '","time":', toString(time_ms), ',"sessionId":"',
           session_id, '","transferId":"', transfer_id, '"}') AS event
FROM
(
    SELECT
        toUInt64(intDiv(number, {hours} * 6)) AS c,
        toUInt64(number % ({hours} * 6)) AS tk,
        concat('client-', toString(c)) AS client_id,
        ['6.02', '6.03', '6.04', '6.05'][c % 4 + 1] AS client_version,
        ['Windows', 'macOS', 'Linux'][intDiv(c, 4) % 3 + 1] AS client_os,
        [['10', '11'], ['13', '14'], ['22.04', '24.04']][intDiv(c, 4) % 3 + 1][intDiv(c, 12) % 2 + 1] AS os_version,
        toUInt64({seed}) AS seed,
        cityHash64(seed, c, tk, 'th') % 10 < 7 AS th,
        tk * 600000 + cityHash64(seed, c, tk, 'ts') % 500000 AS t0,
        30000 + cityHash64(seed, c, tk, 'tl') % 60001 AS tl,
        concat('x-', toString(c), '-', toString(tk)) AS transfer_id,
        arrayJoin(arrayConcat(
            [('FileTransferStarted', toUInt64(0), toUInt64(0))],
            arrayMap(j -> ('FileTransferProgress', j + 1, (j + 1) * 10000), range(intDiv(tl, 10000))),
            [('FileTransferCompleted', toUInt64(999), tl)])) AS e,
        toUInt64({start_s}) * 1000 + t0 + e.3 AS time_ms,
        concat('s-', toString(c), '-', toString(intDiv(t0 + e.3, 3600000))) AS session_id
    FROM numbers({clients} * {hours} * 6)
    WHERE th
);

INSERT INTO mcpu.events (client_id, dedup_key, type, time, time_ms, seq,
    received_ms, node, client_version, client_os, os_version, session_id,
    cpu, cores, transfer_id, event)
SELECT
    client_id,
    concat('x', toString(xk), '-', toString(e.2)) AS dedup_key,
    e.1 AS type,
    toDateTime(intDiv(time_ms, 1000)) AS time,
    time_ms,
    toInt64(-1) AS seq,
    time_ms + 300 AS received_ms,
    'gen' AS node,
    client_version, client_os, os_version, session_id,
    toFloat64(0) AS cpu,
    toUInt16(0) AS cores,
    '' AS transfer_id,
    concat('{"type":"', type, '","time":', toString(time_ms), ',"sessionId":"',
           session_id, '"}') AS event
FROM
(
    SELECT
        toUInt64(intDiv(number, {hours} * 4)) AS c,
        toUInt64(number % ({hours} * 4)) AS xk,
        concat('client-', toString(c)) AS client_id,
        ['6.02', '6.03', '6.04', '6.05'][c % 4 + 1] AS client_version,
        ['Windows', 'macOS', 'Linux'][intDiv(c, 4) % 3 + 1] AS client_os,
        [['10', '11'], ['13', '14'], ['22.04', '24.04']][intDiv(c, 4) % 3 + 1][intDiv(c, 12) % 2 + 1] AS os_version,
        toUInt64({seed}) AS seed,
        cityHash64(seed, c, xk, 'xh') % 10 < 4 AS xh,
        xk * 900000 + cityHash64(seed, c, xk, 'xs') % 800000 AS x0,
        40000 + cityHash64(seed, c, xk, 'xl') % 40001 AS xl,
        arrayJoin([('IndexingStarted', 0, toUInt64(0)),
                   ('IndexingCompleted', 1, xl)]) AS e,
        toUInt64({start_s}) * 1000 + x0 + e.3 AS time_ms,
        concat('s-', toString(c), '-', toString(intDiv(x0 + e.3, 3600000))) AS session_id
    FROM numbers({clients} * {hours} * 4)
    WHERE xh
);

INSERT INTO mcpu.events (client_id, dedup_key, type, time, time_ms, seq,
    received_ms, node, client_version, client_os, os_version, session_id,
    cpu, cores, transfer_id, event)
SELECT
    client_id,
    concat('a', toString(h), '-', toString(e.2)) AS dedup_key,
    e.1 AS type,
    toDateTime(intDiv(time_ms, 1000)) AS time,
    time_ms,
    toInt64(-1) AS seq,
    time_ms + 300 AS received_ms,
    'gen' AS node,
    client_version, client_os, os_version, session_id,
    toFloat64(0) AS cpu,
    toUInt16(0) AS cores,
    '' AS transfer_id,
    concat('{"type":"', type, '","time":', toString(time_ms), ',"sessionId":"',
           session_id, '"}') AS event
FROM
(
    SELECT
        toUInt64(intDiv(number, {hours})) AS c,
        toUInt64(number % {hours}) AS h,
        concat('client-', toString(c)) AS client_id,
        ['6.02', '6.03', '6.04', '6.05'][c % 4 + 1] AS client_version,
        ['Windows', 'macOS', 'Linux'][intDiv(c, 4) % 3 + 1] AS client_os,
        [['10', '11'], ['13', '14'], ['22.04', '24.04']][intDiv(c, 4) % 3 + 1][intDiv(c, 12) % 2 + 1] AS os_version,
        arrayJoin([('AppOpened', 0, toUInt64(0)),
                   ('AppClosed', 1, toUInt64(3599000))]) AS e,
        toUInt64({start_s}) * 1000 + h * 3600000 + e.3 AS time_ms,
        concat('s-', toString(c), '-', toString(h)) AS session_id
    FROM numbers({clients} * {hours})
);
