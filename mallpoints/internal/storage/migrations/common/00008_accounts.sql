-- +goose Up
-- The people and programs of the admin surface (issue 21). An account has a
-- role (admin, operator, viewer or app) and the malls it is confined to:
-- mchids separated by commas, '' for every mall. password_hash is argon2id
-- in the PHC string form ($argon2id$v=19$m=…,t=…,p=…$salt$hash); '' for an
-- app account, which has personal API tokens only. lang is the console's
-- language, '' to follow the browser's Accept-Language. A disabled account
-- keeps its row, so its name stays on record and is never reused.
-- Sessions and personal API tokens are kept as the hex SHA-256 of their
-- secret, never the secret: the database holds nothing a request can use.
-- Disabling an account or resetting its password deletes both, and every
-- replica reads them on every request. The same SQL serves both engines.
CREATE TABLE accounts (
    name          TEXT    PRIMARY KEY,
    role          TEXT    NOT NULL,
    malls         TEXT    NOT NULL DEFAULT '',
    password_hash TEXT    NOT NULL DEFAULT '',
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    lang          TEXT    NOT NULL DEFAULT '',
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);

-- A browser's sign-in; expired rows are deleted as new ones are made.
CREATE TABLE sessions (
    id_hash      TEXT   PRIMARY KEY,
    account      TEXT   NOT NULL REFERENCES accounts (name),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_account ON sessions (account);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- A personal API token; prefix is its first characters, shown to tell
-- tokens apart.
CREATE TABLE api_tokens (
    token_hash   TEXT   PRIMARY KEY,
    prefix       TEXT   NOT NULL,
    account      TEXT   NOT NULL REFERENCES accounts (name),
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_by_account ON api_tokens (account);

-- +goose Down
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE accounts;
