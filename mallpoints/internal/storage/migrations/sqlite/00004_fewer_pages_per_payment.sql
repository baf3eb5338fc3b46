-- +goose Up
-- Each commit writes every page it changed to the WAL, so each page a
-- payment touches costs a write (a syscall) per payment. This saves four of
-- about thirty, on the tables as they are:
-- * syncs_by_synced holds synced syncs only: a pending sync (synced_at 0)
--   no longer gets an entry at insert that its sync then moves.
-- * ledger_entries.seq is the rowid (INTEGER PRIMARY KEY): no separate index
--   of seq beside the table.
-- * notifications are stored in their primary key's order (WITHOUT ROWID):
--   no separate index of id beside the table.
-- * sync_attempts.id is a plain rowid, not AUTOINCREMENT: no write to
--   sqlite_sequence per attempt. Attempts are never deleted, so ids still
--   only grow.
DROP INDEX syncs_by_synced;
CREATE INDEX syncs_by_synced ON syncs (synced_at) WHERE synced_at > 0;

CREATE TABLE ledger_entries_new (
    seq             INTEGER PRIMARY KEY,
    mall            TEXT   NOT NULL,
    openid          TEXT   NOT NULL,
    kind            TEXT   NOT NULL,
    points          BIGINT NOT NULL,
    requested       BIGINT NOT NULL,
    shortfall       BIGINT NOT NULL,
    balance_after   BIGINT NOT NULL,
    transaction_id  TEXT   NOT NULL DEFAULT '',
    refund_id       TEXT   NOT NULL DEFAULT '',
    idempotency_key TEXT   NOT NULL DEFAULT '',
    notification_id TEXT   NOT NULL DEFAULT '',
    commit_tag      TEXT   NOT NULL DEFAULT '',
    rule_version    TEXT   NOT NULL DEFAULT '',
    reason          TEXT   NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL
);
INSERT INTO ledger_entries_new SELECT * FROM ledger_entries;
DROP TABLE ledger_entries;
ALTER TABLE ledger_entries_new RENAME TO ledger_entries;
CREATE INDEX ledger_by_member ON ledger_entries (mall, openid, seq);
CREATE INDEX ledger_by_transaction ON ledger_entries (mall, transaction_id);
CREATE INDEX ledger_by_time ON ledger_entries (created_at);

CREATE TABLE notifications_new (
    id           TEXT   PRIMARY KEY,
    event_type   TEXT   NOT NULL,
    mall         TEXT   NOT NULL,
    business_key TEXT   NOT NULL,
    outcome      TEXT   NOT NULL,
    request_id   TEXT   NOT NULL DEFAULT '',
    received_at  BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO notifications_new SELECT * FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_new RENAME TO notifications;
CREATE INDEX notifications_by_mall_time ON notifications (mall, received_at);

CREATE TABLE sync_attempts_new (
    id          INTEGER PRIMARY KEY,
    sync_id     INTEGER NOT NULL REFERENCES syncs (id),
    attempt     INTEGER NOT NULL,
    outcome     TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    code        TEXT    NOT NULL DEFAULT '',
    message     TEXT    NOT NULL DEFAULT '',
    request_id  TEXT    NOT NULL DEFAULT '',
    at          BIGINT  NOT NULL,
    elapsed_us  BIGINT  NOT NULL
);
INSERT INTO sync_attempts_new SELECT * FROM sync_attempts;
DROP TABLE sync_attempts;
ALTER TABLE sync_attempts_new RENAME TO sync_attempts;
CREATE INDEX sync_attempts_by_sync ON sync_attempts (sync_id, id);

-- +goose Down
CREATE TABLE sync_attempts_old (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    sync_id     INTEGER NOT NULL REFERENCES syncs (id),
    attempt     INTEGER NOT NULL,
    outcome     TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    code        TEXT    NOT NULL DEFAULT '',
    message     TEXT    NOT NULL DEFAULT '',
    request_id  TEXT    NOT NULL DEFAULT '',
    at          BIGINT  NOT NULL,
    elapsed_us  BIGINT  NOT NULL
);
INSERT INTO sync_attempts_old SELECT * FROM sync_attempts;
DROP TABLE sync_attempts;
ALTER TABLE sync_attempts_old RENAME TO sync_attempts;
CREATE INDEX sync_attempts_by_sync ON sync_attempts (sync_id, id);

CREATE TABLE notifications_old (
    id           TEXT   PRIMARY KEY,
    event_type   TEXT   NOT NULL,
    mall         TEXT   NOT NULL,
    business_key TEXT   NOT NULL,
    outcome      TEXT   NOT NULL,
    request_id   TEXT   NOT NULL DEFAULT '',
    received_at  BIGINT NOT NULL
);
INSERT INTO notifications_old SELECT * FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_old RENAME TO notifications;
CREATE INDEX notifications_by_mall_time ON notifications (mall, received_at);

CREATE TABLE ledger_entries_old (
    seq             BIGINT PRIMARY KEY,
    mall            TEXT   NOT NULL,
    openid          TEXT   NOT NULL,
    kind            TEXT   NOT NULL,
    points          BIGINT NOT NULL,
    requested       BIGINT NOT NULL,
    shortfall       BIGINT NOT NULL,
    balance_after   BIGINT NOT NULL,
    transaction_id  TEXT   NOT NULL DEFAULT '',
    refund_id       TEXT   NOT NULL DEFAULT '',
    idempotency_key TEXT   NOT NULL DEFAULT '',
    notification_id TEXT   NOT NULL DEFAULT '',
    commit_tag      TEXT   NOT NULL DEFAULT '',
    rule_version    TEXT   NOT NULL DEFAULT '',
    reason          TEXT   NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL
);
INSERT INTO ledger_entries_old SELECT * FROM ledger_entries;
DROP TABLE ledger_entries;
ALTER TABLE ledger_entries_old RENAME TO ledger_entries;
CREATE INDEX ledger_by_member ON ledger_entries (mall, openid, seq);
CREATE INDEX ledger_by_transaction ON ledger_entries (mall, transaction_id);
CREATE INDEX ledger_by_time ON ledger_entries (created_at);

DROP INDEX syncs_by_synced;
CREATE INDEX syncs_by_synced ON syncs (synced_at);
