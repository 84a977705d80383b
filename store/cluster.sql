-- store/cluster.sql: mcpu's tables when one ClickHouse is outgrown.  Not
-- applied by anything here: an operator runs it (ON CLUSTER, or on each
-- node) after defining the cluster "mcpu" in remote_servers and the
-- {shard}/{replica} macros, with ZooKeeper (or ClickHouse Keeper) for the
-- replicas.  Same names for mcpu-sink and mcpu-report as store/schema.sql:
-- the Distributed table is mcpu.events, the shards' tables mcpu_local.events.
--
-- Sharded by the client id: all of a client's events are on one shard, so
-- ReplacingMergeTree's deduplication (FINAL, or a GROUP BY on the key) and
-- the per-client CPU derivatives of report/sql/ are computed shard by
-- shard, correctly, and merged by the Distributed table.  Checked on
-- ClickHouse 18.16 with a local cluster of two shards: the Distributed
-- table accepts inserts (routed by cityHash64(client_id)) and SELECT ...
-- FINAL, forwarded to each shard.  The replicated engine needs ZooKeeper
-- and was not run here.

CREATE DATABASE IF NOT EXISTS mcpu_local;
CREATE DATABASE IF NOT EXISTS mcpu;

-- on every node: its shard's part of the events, replicated
CREATE TABLE IF NOT EXISTS mcpu_local.events
(
    client_id       String,
    dedup_key       String,
    type            String,
    time            DateTime,
    time_ms         UInt64,
    seq             Int64,
    received_ms     UInt64,
    node            String,
    client_version  String,
    client_os       String,
    os_version      String,
    session_id      String,
    cpu             Float64,
    cores           UInt16,
    transfer_id     String,
    event           String
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/mcpu_local.events', '{replica}')
PARTITION BY toYYYYMM(time)
ORDER BY (client_id, dedup_key);

-- on every node that mcpu-sink writes to or mcpu-report reads from
CREATE TABLE IF NOT EXISTS mcpu.events AS mcpu_local.events
ENGINE = Distributed(mcpu, mcpu_local, events, cityHash64(client_id));
