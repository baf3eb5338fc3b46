-- +goose Up
-- Ledger entries numbered per mall (issue 21). Until now every entry took
-- its seq from the one row of ledger_seq, locked from the entry's write to
-- its commit, so every mall's payments committed one at a time. Now seq
-- comes from the sequence feed_seq, taken under a lock of the entry's mall
-- only: its row in ledger_malls, which also counts the mall's entries. One
-- mall's entries are still numbered in commit order (the next one is
-- numbered only after the last has committed), so a mall's feed never skips
-- one; two malls no longer wait for each other, and seq is only each mall's
-- commit order (engine.go, appendEntry).
--
-- Every entry keeps its seq. Replicas of the previous version hold
-- ledger_seq's row while they write an entry: the lock below waits for
-- those entries to commit and holds back new ones until this migration
-- has counted them; afterwards those replicas cannot write entries (their
-- notifications are answered 5xx and delivered again) until replaced.
LOCK TABLE ledger_seq IN EXCLUSIVE MODE;

-- One row per mall with entries: how many it has (the entry count is their
-- sum), and the lock each of its entries takes from numbering to commit.
CREATE TABLE ledger_malls (
    mall    TEXT   PRIMARY KEY,
    entries BIGINT NOT NULL
);
INSERT INTO ledger_malls (mall, entries) SELECT mall, COUNT(*) FROM ledger_entries GROUP BY mall;

-- The feed's numbers: an entry's seq, and whatever else is later numbered
-- in the same order (webhook events) under the same lock.
CREATE SEQUENCE feed_seq AS BIGINT;
SELECT setval('feed_seq', value) FROM ledger_seq WHERE value > 0;
DROP TABLE ledger_seq;

-- A mall's feed: its entries by seq.
CREATE INDEX ledger_by_mall ON ledger_entries (mall, seq);

-- +goose Down
DROP INDEX ledger_by_mall;
CREATE TABLE ledger_seq (
    id    INTEGER PRIMARY KEY,
    value BIGINT  NOT NULL
);
INSERT INTO ledger_seq (id, value) SELECT 1, COALESCE(MAX(seq), 0) FROM ledger_entries;
DROP SEQUENCE feed_seq;
DROP TABLE ledger_malls;
