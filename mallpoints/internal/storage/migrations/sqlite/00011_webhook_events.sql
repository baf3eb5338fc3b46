-- +goose Up
-- Outbound webhooks (issue 22). webhook_events holds what the malls' CRMs
-- are told: one event per ledger entry, numbered with the entry's seq, and
-- the member events (member.activated, member.erased,
-- member.authorization_changed), which draw their seq from feed_seq under
-- their mall's turn, as entries do (engine.go, appendEntry); on SQLite,
-- one writer at a time, every seq is the largest of both tables plus one. A mall's
-- events are thus numbered in the order they commit, and an event is never
-- changed but by an erasure, which rewrites its member's openid.
CREATE TABLE webhook_events (
    seq        INTEGER PRIMARY KEY,
    mall       TEXT   NOT NULL,
    openid     TEXT   NOT NULL,
    type       TEXT   NOT NULL,
    data       TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
-- An erasure's rewrite; the redelivery of a mall's events.
CREATE INDEX webhook_events_by_member ON webhook_events (mall, openid);
CREATE INDEX webhook_events_by_mall ON webhook_events (mall, seq);

-- One row per (webhook, event) the webhook wants: its state (pending,
-- delivered, parked), its attempts and the last one's outcome. round counts
-- the redeliveries, and tells the job of one from an earlier job's.
CREATE TABLE webhook_deliveries (
    webhook     TEXT    NOT NULL,
    seq         BIGINT  NOT NULL,
    mall        TEXT    NOT NULL,
    openid      TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    round       INTEGER NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_status INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (webhook, seq)
);
-- A member's queue: its undelivered events, oldest first.
CREATE INDEX webhook_queue ON webhook_deliveries (webhook, mall, openid, seq) WHERE state <> 'delivered';
-- The deliveries waiting or parked, for the API and the metric.
CREATE INDEX webhook_undelivered ON webhook_deliveries (state, seq) WHERE state <> 'delivered';
-- The purge of delivered rows.
CREATE INDEX webhook_delivered ON webhook_deliveries (updated_at) WHERE state = 'delivered';
-- An erasure's rewrite.
CREATE INDEX webhook_deliveries_by_member ON webhook_deliveries (mall, openid);
-- On SQLite an entry's seq is the largest of both tables plus one, and the
-- entry count subtracts the member events below the last entry's seq.
CREATE INDEX webhook_member_events ON webhook_events (seq) WHERE type LIKE 'member.%';

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhook_events;
