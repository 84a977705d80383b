-- store/schema.sql: mcpu's tables in ClickHouse.  Valid on Debian 12's
-- ClickHouse 18.16 and on current releases (no DateTime64, no JSON type,
-- no window functions; every statement idempotent).  Applied by
-- scripts/clickhouse.sh and by mcpu-sink at start.
--
-- One row per clean event.  mcpu-sink writes what the clean topic holds;
-- a record delivered twice (a sink restarted before its offset commit, a
-- copy that reached the clean topic) has the same (client_id, dedup_key),
-- and ReplacingMergeTree keeps one of them once its parts merge.  Until
-- then both are stored, so every query reads through FINAL or groups by
-- the key (report/*.sql do).
--
-- dedup_key: mcpu-dedup's key without the client id (dedup/mcpu_dedup_key.h),
-- in hex: 's' + seq for events with a seq, 'c' + time, type and a hash of
-- the event's bytes for the others.

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
