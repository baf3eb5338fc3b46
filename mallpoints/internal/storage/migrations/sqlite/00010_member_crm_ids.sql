-- +goose Up
-- Members as the mall's CRM knows them, and what WeChat Pay says of them
-- (issue 22); postgres/00010_member_crm_ids.sql is the same on PostgreSQL.
--
-- member_id and unionid are the CRM's ids of the member, which the CRM feed
-- carries. phone and birthday are personal data that never leave the
-- service but in the API's and the pages' answers, masked for everyone but
-- administrators: phone is the mainland mobile number, 11 digits without
-- +86 (the form searched, exactly, through members_by_phone); birthday is
-- YYYY-MM-DD or MM-DD. Erasure empties all four.
--
-- authorize_state is the answer of the authorisation query (UNAUTHORIZED,
-- AUTHORIZED, DEAUTHORIZED; '' never asked), or what an activation implied,
-- as of authorize_checked_at; points_commit_status the answer of the
-- pending-points query as of commit_checked_at. active_at is the member's
-- last payment or activation (to the day), which the periodic re-check of
-- authorisations goes by: members_recheck holds the members with one,
-- oldest check first, and the re-check zeroes it 30 days on, so the index
-- holds about the active members only. Times are Unix microseconds, 0 for
-- never.
--
-- query_budget counts the calls to WeChat Pay's member queries per calling
-- merchant, query and second, shared by every replica (one UPSERT a call).
--
-- audit_log_no_update is replaced: an erasure may rewrite subject, and
-- nothing else, from an openid to the member's pseudonym (erased_ and 24
-- hex digits), once.
--
-- Forward only: there is no Down. Migrating down to 00001 drops members
-- with its columns; migrating down to a version in between leaves them, and
-- SQLite cannot add them a second time.
ALTER TABLE members ADD COLUMN member_id TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN unionid TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN phone TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN birthday TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN authorize_state TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN authorize_checked_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN points_commit_status TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN commit_checked_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN active_at BIGINT NOT NULL DEFAULT 0;
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

DROP TRIGGER IF EXISTS audit_log_no_update;
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT (NEW.subject LIKE 'erased\_%' ESCAPE '\' AND length(NEW.subject) = 31
    AND OLD.subject NOT LIKE 'erased\_%' ESCAPE '\'
    AND NEW.id IS OLD.id AND NEW.at IS OLD.at AND NEW.actor IS OLD.actor AND NEW.remote_addr IS OLD.remote_addr
    AND NEW.action IS OLD.action AND NEW.mall IS OLD.mall AND NEW.before_values IS OLD.before_values
    AND NEW.after_values IS OLD.after_values AND NEW.request_id IS OLD.request_id)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused');
END;
-- +goose StatementEnd
