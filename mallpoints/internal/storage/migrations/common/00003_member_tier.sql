-- +goose Up
-- A member's tier set through the API (PUT /api/members/{mall}/{openid}/tier,
-- issue 20): it overrides the tier computed from spend until tier_until, an
-- inclusive Beijing date written YYYY-MM-DD, so dates compare as text. ''
-- when none is set.
ALTER TABLE members ADD COLUMN tier TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN tier_until TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE members DROP COLUMN tier_until;
ALTER TABLE members DROP COLUMN tier;
