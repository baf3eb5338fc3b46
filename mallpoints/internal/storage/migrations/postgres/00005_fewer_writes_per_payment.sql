-- +goose Up
-- The outbox worker finds a sync's payment by the sync's subject, the
-- payment's key, so this index is no longer written with every payment.
DROP INDEX transactions_by_sync;

-- +goose Down
CREATE INDEX transactions_by_sync ON transactions (sync_id);
