-- +goose Up
-- Expiry (issue 20): every earning (points plus bonus) and every positive
-- adjustment is a lot, with its expiry fixed when written (expires_at, Unix
-- microseconds; 0 = never). remaining = points - consumed - expired never
-- goes below zero. excused is the part of expired that the lot's own
-- refunds did not deduct again. source names the cause: 'tx:' and the
-- transaction_id, or 'adj:' and the Idempotency-Key. The same SQL serves
-- both engines (sqlite/00004_point_lots.sql is this file).
CREATE TABLE point_lots (
    mall        TEXT   NOT NULL,
    openid      TEXT   NOT NULL,
    source      TEXT   NOT NULL,
    earned_at   BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    points      BIGINT NOT NULL,
    consumed    BIGINT NOT NULL DEFAULT 0,
    expired     BIGINT NOT NULL DEFAULT 0,
    excused     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (mall, source),
    CHECK (consumed >= 0 AND expired >= 0 AND consumed + expired <= points)
);
CREATE INDEX point_lots_by_member ON point_lots (mall, openid, earned_at);
CREATE INDEX point_lots_due ON point_lots (expires_at, mall, openid) WHERE expires_at > 0;

-- Balances from before expiry become one lot per member that never expires,
-- so that earned = consumed + expired + balance holds for every member.
INSERT INTO point_lots (mall, openid, source, earned_at, expires_at, points)
    SELECT mall, openid, 'before-expiry', created_at, 0, balance FROM members WHERE balance > 0;

-- One expire entry per member per run: idempotency_key is 'expire:' and the
-- run's as_of date.
CREATE UNIQUE INDEX ledger_expire_once ON ledger_entries (mall, openid, idempotency_key) WHERE kind = 'expire';

-- +goose Down
DROP INDEX ledger_expire_once;
DROP TABLE point_lots;
