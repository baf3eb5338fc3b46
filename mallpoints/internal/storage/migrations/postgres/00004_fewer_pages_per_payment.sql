-- +goose Up
-- syncs_by_synced holds synced syncs only: a pending sync (synced_at 0) no
-- longer gets an index entry at insert that its sync then moves.
DROP INDEX syncs_by_synced;
CREATE INDEX syncs_by_synced ON syncs (synced_at) WHERE synced_at > 0;

-- +goose Down
DROP INDEX syncs_by_synced;
CREATE INDEX syncs_by_synced ON syncs (synced_at);
