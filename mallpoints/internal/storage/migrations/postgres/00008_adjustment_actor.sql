-- +goose Up
-- Who made an adjustment: "local" (the implicit administrator on loopback,
-- no token) or "token" (the admin token). Earlier adjustments name nobody.
ALTER TABLE adjustments ADD COLUMN actor TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE adjustments DROP COLUMN actor;
