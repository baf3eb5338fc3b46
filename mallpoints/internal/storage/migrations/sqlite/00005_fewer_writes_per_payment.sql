-- +goose Up
-- The outbox worker finds a sync's payment by the sync's subject, the
-- payment's key, so this index is no longer written with every payment.
DROP INDEX transactions_by_sync;
-- Ledger entries take their seq from the rowid (AppendEntry), so the
-- counter row is no longer written with every entry.
DROP TABLE ledger_seq;

-- +goose Down
CREATE TABLE ledger_seq (
    id    INTEGER PRIMARY KEY,
    value BIGINT  NOT NULL
);
INSERT INTO ledger_seq (id, value) SELECT 1, COALESCE(MAX(seq), 0) FROM ledger_entries;
CREATE INDEX transactions_by_sync ON transactions (sync_id);
