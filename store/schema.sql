-- store/schema.sql: mcpu's tables in ClickHouse.  Valid on Debian 12's
-- ClickHouse 18.16 and on current releases (no DateTime64, no JSON type,
-- no window functions; every statement idempotent).  Applied by
-- scripts/clickhouse.sh (or by hand: clickhouse-client --multiquery <
-- store/schema.sql).  mcpu-sink never creates it: at start it checks that
-- the table exists with every column it writes, and refuses to start
-- (exit 2) otherwise.
--
-- One row per clean event.  mcpu-sink writes what the clean topic holds,
-- at least once: a record delivered twice (a sink killed or revoked
-- between its INSERT and its offset commit, an INSERT sent again because
-- its answer was lost, a copy that reached the clean topic) has the same
-- (client_id, dedup_key), and ReplacingMergeTree keeps one of them once
-- their parts merge.  Until then both are stored, so every query reads
-- through FINAL or groups by (client_id, dedup_key) (report/*.sql do);
-- a plain count() counts the copies.  Re-sending an INSERT is safe only
-- because of this key.
--
-- dedup_key: mcpu-dedup's key (dedup/mcpu_dedup_key.h) after the client id
-- and its NUL byte, in hex: '53' ('S') and the seq in 16 hex digits for
-- events with a seq; '43' ('C'), timeMs in 16 hex digits, the type, '00'
-- and a 128-bit hash of the event's bytes for the others; '52' ('R') and
-- two 128-bit hashes for a record not in the module's layout.

CREATE DATABASE IF NOT EXISTS mcpu;

CREATE TABLE IF NOT EXISTS mcpu.events
(
    client_id       String,
    dedup_key       String,
    type            String,
    time            DateTime,           -- event time, UTC, seconds
    time_ms         UInt64,             -- event time, ms since the epoch
    seq             Int64,              -- the event's seq, -1 without one
    received_ms     UInt64,             -- when nginx received it
    node            String,             -- the nginx host that did
    client_version  String,
    client_os       String,
    os_version      String,
    session_id      String,             -- the event's sessionId, or ''
    cpu             Float64,            -- CpuMeasurement: mean of usage, else 0
    cores           UInt16,             -- CpuMeasurement: entries in usage
    transfer_id     String,             -- transfer events' transferId, or ''
    event           String              -- the event as the client sent it
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(time)
ORDER BY (client_id, dedup_key);
