-- +goose Up
-- Ledger entries numbered per mall (issue 21): on PostgreSQL each mall's
-- entries now take turns among themselves only (postgres/00009). On SQLite,
-- one writer at a time, seq stays the rowid, in commit order across malls;
-- what both engines need is each mall's feed: its entries by seq. Every
-- entry keeps its seq.
CREATE INDEX ledger_by_mall ON ledger_entries (mall, seq);

-- +goose Down
DROP INDEX ledger_by_mall;
