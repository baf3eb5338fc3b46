-- +goose Up
-- Members as the mall's CRM knows them, and what WeChat Pay says of them
-- (issue 22); sqlite/00010_member_crm_ids.sql is the same on SQLite, where
-- its comment says what each column holds. audit_log_append_only is
-- replaced: an erasure may rewrite subject, and nothing else, from an
-- openid to the member's pseudonym (erased_ and 24 hex digits), once.
-- Forward only: there is no Down.
ALTER TABLE members ADD COLUMN IF NOT EXISTS member_id TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN IF NOT EXISTS unionid TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN IF NOT EXISTS phone TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN IF NOT EXISTS birthday TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN IF NOT EXISTS authorize_state TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN IF NOT EXISTS authorize_checked_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN IF NOT EXISTS points_commit_status TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN IF NOT EXISTS commit_checked_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN IF NOT EXISTS active_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS members_by_phone ON members (phone) WHERE phone <> '';
CREATE INDEX IF NOT EXISTS members_recheck ON members (authorize_checked_at, active_at) WHERE active_at > 0;
-- Erasure rewrites the subjects of the member's audit entries.
CREATE INDEX IF NOT EXISTS audit_log_by_subject ON audit_log (mall, subject);

CREATE TABLE IF NOT EXISTS query_budget (
    mchid  TEXT    NOT NULL,
    query  TEXT    NOT NULL,
    second BIGINT  NOT NULL,
    used   INTEGER NOT NULL,
    PRIMARY KEY (mchid, query, second)
);

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.subject LIKE 'erased\_%' AND length(NEW.subject) = 31
        AND OLD.subject NOT LIKE 'erased\_%'
        AND (NEW.id, NEW.at, NEW.actor, NEW.remote_addr, NEW.action, NEW.mall, NEW.before_values,
             NEW.after_values, NEW.request_id) IS NOT DISTINCT FROM
            (OLD.id, OLD.at, OLD.actor, OLD.remote_addr, OLD.action, OLD.mall, OLD.before_values,
             OLD.after_values, OLD.request_id) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END
$$;
-- +goose StatementEnd
