-- +goose Up
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

-- The part of a refund's amount beyond what was left of its payment: the
-- payment's refunded total stops at its amount, and the rest is kept here.
ALTER TABLE refunds ADD COLUMN surplus BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE refunds DROP COLUMN surplus;
DROP TABLE refusals;
