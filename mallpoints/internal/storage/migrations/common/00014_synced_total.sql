-- +goose Up
-- A points sync's total_points is the member's balance when it is sent, so
-- what WeChat Pay last heard of a member's total is the figure of the
-- attempt it accepted, not the payment's: each attempt records what it
-- sent (total_points), and a synced points sync what WeChat Pay accepted
-- (synced_total). NULL: a parking sync, or one sent before this version.
-- The same SQL serves both engines.
ALTER TABLE sync_attempts ADD COLUMN total_points BIGINT;
ALTER TABLE syncs ADD COLUMN synced_total BIGINT;

-- +goose Down
ALTER TABLE syncs DROP COLUMN synced_total;
ALTER TABLE sync_attempts DROP COLUMN total_points;
