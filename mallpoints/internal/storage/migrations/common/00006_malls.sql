-- +goose Up
-- The malls the service has had notifications of (--merchants, issue 21):
-- merchant is the merchant whose URL received them, which signs the syncs of
-- a mall the merchants file does not list; name is the mall's merchant_name
-- as WeChat Pay last gave it, its display name unless the file gives one.
-- The same SQL serves both engines.
CREATE TABLE malls (
    mall       TEXT   PRIMARY KEY,
    merchant   TEXT   NOT NULL,
    name       TEXT   NOT NULL DEFAULT '',
    first_seen BIGINT NOT NULL
);

-- +goose Down
DROP TABLE malls;
