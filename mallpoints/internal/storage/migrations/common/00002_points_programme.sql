-- +goose Up
-- The points programme (issue 20, the rules file): a payment's
-- first_payment_bonus, stored apart from its points (caps count points
-- only; refunds deduct from points plus bonus); the member's tier when it
-- paid; and the explanation as data, steps of {step, name, multiplier|cap|
-- bonus, points} as JSON, on the payment and on its ledger entry. Rows
-- written before have no bonus, no tier and no steps ('').
ALTER TABLE transactions ADD COLUMN bonus BIGINT NOT NULL DEFAULT 0;
ALTER TABLE transactions ADD COLUMN tier TEXT NOT NULL DEFAULT '';
ALTER TABLE transactions ADD COLUMN steps TEXT NOT NULL DEFAULT '';
ALTER TABLE ledger_entries ADD COLUMN steps TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE ledger_entries DROP COLUMN steps;
ALTER TABLE transactions DROP COLUMN steps;
ALTER TABLE transactions DROP COLUMN tier;
ALTER TABLE transactions DROP COLUMN bonus;
