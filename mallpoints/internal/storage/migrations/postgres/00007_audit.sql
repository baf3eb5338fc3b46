-- +goose Up
-- The audit log (issue 21): who changed what on the admin surface, when and
-- from where, and what the service did by itself (the daily expiry run, a
-- rules reload). One row per change, never updated or deleted: the triggers
-- below refuse both, and no code path of the service does either. Issue 22's
-- erasure will rewrite subject to the member's pseudonym, the one change
-- allowed, by replacing audit_log_append_only. at is Unix microseconds;
-- remote_addr the client's address (behind --admin-trusted-proxies, the
-- right-most untrusted X-Forwarded-For entry); action a code such as
-- 'adjustment.create'; before_values and after_values JSON objects, '' when
-- none, with personal data written as "changed". Forward only: there is no
-- Down, so migrating down leaves the log and its rows in place, and the
-- statements below may run again over them (sqlite/00007_audit.sql is the
-- same table on SQLite).
CREATE TABLE IF NOT EXISTS audit_log (
    id            BIGSERIAL PRIMARY KEY,
    at            BIGINT NOT NULL,
    actor         TEXT   NOT NULL,
    remote_addr   TEXT   NOT NULL DEFAULT '',
    action        TEXT   NOT NULL,
    mall          TEXT   NOT NULL DEFAULT '',
    subject       TEXT   NOT NULL DEFAULT '',
    before_values TEXT   NOT NULL DEFAULT '',
    after_values  TEXT   NOT NULL DEFAULT '',
    request_id    TEXT   NOT NULL DEFAULT ''
);
-- The filters of GET /api/audit, each read newest first by id.
CREATE INDEX IF NOT EXISTS audit_log_by_at ON audit_log (at);
CREATE INDEX IF NOT EXISTS audit_log_by_actor ON audit_log (actor, id);
CREATE INDEX IF NOT EXISTS audit_log_by_action ON audit_log (action, id);
CREATE INDEX IF NOT EXISTS audit_log_by_mall ON audit_log (mall, id);

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END
$$;
-- +goose StatementEnd
CREATE OR REPLACE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE OR REPLACE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
