-- +goose Up
-- The service's tables on SQLite; postgres/00001_init.sql is the same schema
-- on PostgreSQL. Times are Unix microseconds (BIGINT) on both engines, so
-- that one set of queries serves both.

-- A member of a mall's points programme. mall is the mchid of the mall
-- (sub_mchid in partner mode).
CREATE TABLE members (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    mall        TEXT    NOT NULL,
    openid      TEXT    NOT NULL,
    appid       TEXT    NOT NULL DEFAULT '',
    auth_type   TEXT    NOT NULL DEFAULT '',
    card_code   TEXT    NOT NULL DEFAULT '',
    balance     BIGINT  NOT NULL DEFAULT 0,
    erased      INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    UNIQUE (mall, openid)
);
CREATE INDEX members_by_openid ON members (openid);

-- Every verified notification that reached the service, once per id, stored
-- in id order (WITHOUT ROWID: the table is its primary key's index).
CREATE TABLE notifications (
    id           TEXT   PRIMARY KEY,
    event_type   TEXT   NOT NULL,
    mall         TEXT   NOT NULL,
    business_key TEXT   NOT NULL,
    outcome      TEXT   NOT NULL,
    request_id   TEXT   NOT NULL DEFAULT '',
    received_at  BIGINT NOT NULL
) WITHOUT ROWID;
-- The time of each mall's last notification, read as a loose index scan.
CREATE INDEX notifications_by_mall_time ON notifications (mall, received_at);

-- Outbound syncs (points, parking): their state lives here, not in the job
-- queue, so nothing the API shows disappears when finished jobs are deleted.
CREATE TABLE syncs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL,
    mall            TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_code       TEXT    NOT NULL DEFAULT '',
    last_message    TEXT    NOT NULL DEFAULT '',
    last_request_id TEXT    NOT NULL DEFAULT '',
    last_attempt_at BIGINT  NOT NULL DEFAULT 0,
    synced_at       BIGINT  NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL,
    UNIQUE (kind, mall, subject)
);
CREATE INDEX syncs_by_state ON syncs (state, created_at);
CREATE INDEX syncs_by_synced ON syncs (synced_at) WHERE synced_at > 0;

-- Every attempt at a sync, whatever became of it. Attempts are never
-- deleted, so the rowid id only grows.
CREATE TABLE sync_attempts (
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
CREATE INDEX sync_attempts_by_sync ON sync_attempts (sync_id, id);

-- A payment (MALL_TRANSACTION.SUCCESS) and what the rules made of it.
CREATE TABLE transactions (
    mall               TEXT    NOT NULL,
    transaction_id     TEXT    NOT NULL,
    notification_id    TEXT    NOT NULL,
    openid             TEXT    NOT NULL,
    appid              TEXT    NOT NULL,
    shop_number        TEXT    NOT NULL,
    shop_name          TEXT    NOT NULL,
    amount             BIGINT  NOT NULL,
    time_end           BIGINT  NOT NULL,
    commit_tag         TEXT    NOT NULL DEFAULT '',
    points             BIGINT  NOT NULL,
    earn_points        INTEGER NOT NULL,
    no_points_remarks  TEXT    NOT NULL DEFAULT '',
    uncapped           BIGINT  NOT NULL,
    capped             INTEGER NOT NULL,
    rule_version       TEXT    NOT NULL,
    explain            TEXT    NOT NULL DEFAULT '',
    total_points       BIGINT  NOT NULL,
    points_update_time TEXT    NOT NULL,
    refunded           BIGINT  NOT NULL DEFAULT 0,
    points_deducted    BIGINT  NOT NULL DEFAULT 0,
    sync_id            INTEGER NOT NULL REFERENCES syncs (id),
    created_at         BIGINT  NOT NULL,
    PRIMARY KEY (mall, transaction_id)
);
CREATE INDEX transactions_by_member_day ON transactions (mall, openid, time_end);
CREATE INDEX transactions_by_time ON transactions (created_at);

-- A refund (MALL_REFUND.SUCCESS), once per refund_id. surplus is the part of
-- refund_amount beyond what was left of the payment's amount: the payment's
-- refunded total stops at its amount.
CREATE TABLE refunds (
    mall            TEXT   NOT NULL,
    refund_id       TEXT   NOT NULL,
    transaction_id  TEXT   NOT NULL,
    notification_id TEXT   NOT NULL,
    openid          TEXT   NOT NULL,
    refund_amount   BIGINT NOT NULL,
    deducted        BIGINT NOT NULL,
    shortfall       BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    surplus         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (mall, refund_id)
);
CREATE INDEX refunds_by_transaction ON refunds (mall, transaction_id);

-- Adjustments made in the mall's own systems (redemptions, corrections),
-- once per Idempotency-Key. actor is who asked: "local" (the implicit
-- administrator on loopback) or "token" (the admin token).
CREATE TABLE adjustments (
    mall            TEXT   NOT NULL,
    idempotency_key TEXT   NOT NULL,
    request_hash    TEXT   NOT NULL,
    openid          TEXT   NOT NULL,
    points          BIGINT NOT NULL,
    reason          TEXT   NOT NULL,
    entry_seq       BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    actor           TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (mall, idempotency_key)
);

-- Parking states sent to WeChat Pay.
CREATE TABLE parkings (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    mall            TEXT   NOT NULL,
    openid          TEXT   NOT NULL,
    appid           TEXT   NOT NULL,
    plate_number    TEXT   NOT NULL,
    state           TEXT   NOT NULL,
    time            TEXT   NOT NULL,
    idempotency_key TEXT,
    sync_id         BIGINT NOT NULL REFERENCES syncs (id),
    created_at      BIGINT NOT NULL,
    UNIQUE (mall, idempotency_key)
);
CREATE INDEX parkings_by_time ON parkings (created_at);
CREATE INDEX parkings_by_sync ON parkings (sync_id);

-- The ledger: append-only (erasure only replaces openid). seq is the CRM
-- feed's cursor and the rowid: SQLite has one writer at a time and hands out
-- the largest rowid plus one, so seq order is commit order, without gaps.
CREATE TABLE ledger_entries (
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
CREATE INDEX ledger_by_member ON ledger_entries (mall, openid, seq);
CREATE INDEX ledger_by_transaction ON ledger_entries (mall, transaction_id);
CREATE INDEX ledger_by_time ON ledger_entries (created_at);

-- Notifications refused at intake (a field too long, a control character,
-- an amount out of range), one row per notification id however often
-- WeChat Pay delivers it: the dead letters an operator looks at, since
-- WeChat Pay drops a notification after a day of retries. Never the value
-- that broke the rule, which may be personal data.
CREATE TABLE refusals (
    notification_id TEXT    PRIMARY KEY,
    event_type      TEXT    NOT NULL,
    mall            TEXT    NOT NULL,
    field           TEXT    NOT NULL,
    rule            TEXT    NOT NULL,
    deliveries      INTEGER NOT NULL,
    first_at        BIGINT  NOT NULL,
    last_at         BIGINT  NOT NULL
);
CREATE INDEX refusals_by_time ON refusals (last_at);

-- +goose Down
DROP TABLE refusals;
DROP TABLE ledger_entries;
DROP TABLE parkings;
DROP TABLE adjustments;
DROP TABLE refunds;
DROP TABLE transactions;
DROP TABLE sync_attempts;
DROP TABLE syncs;
DROP TABLE notifications;
DROP TABLE members;
