-- +goose Up
-- Indexes no query searches: each cost a page written (SQLite) or an index
-- tuple and its WAL (PostgreSQL) on every payment, attempt or balance update.
-- The last notification per mall reads notifications_by_mall_time; nothing
-- looks notifications up by time alone or by business key, members by update
-- time, or attempts by time. Without members_by_update, PostgreSQL updates a
-- member's balance in place (a HOT update: no index touched).
DROP INDEX members_by_update;
DROP INDEX notifications_by_time;
DROP INDEX notifications_by_key;
DROP INDEX sync_attempts_by_time;

-- +goose Down
CREATE INDEX sync_attempts_by_time ON sync_attempts (at);
CREATE INDEX notifications_by_key ON notifications (mall, business_key);
CREATE INDEX notifications_by_time ON notifications (received_at);
CREATE INDEX members_by_update ON members (mall, updated_at);
