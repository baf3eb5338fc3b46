-- +goose Up
-- Points decided by the mall's CRM (rules key decide, issue 20). A payment
-- or refund of such a mall is recorded with decision 'pending' and decided
-- by a job that asks the CRM; 'parked' after a day of failed calls, until a
-- person retries it or has the rules file decide it. '' is decided by the
-- rules file at intake (every row before this migration), 'crm' by the
-- CRM, 'file' by the rules file after the CRM could not. decision_note is
-- the last failure while undecided, and who decided a parked one.
-- crm_total is the CRM's member total (its answer's total_points), which
-- the payment's sync sends instead of the ledger's balance; NULL: none.
-- The same SQL serves both engines.
ALTER TABLE transactions ADD COLUMN decision TEXT NOT NULL DEFAULT '';
ALTER TABLE transactions ADD COLUMN decision_note TEXT NOT NULL DEFAULT '';
ALTER TABLE transactions ADD COLUMN crm_total BIGINT;
ALTER TABLE refunds ADD COLUMN decision TEXT NOT NULL DEFAULT '';
ALTER TABLE refunds ADD COLUMN decision_note TEXT NOT NULL DEFAULT '';
CREATE INDEX transactions_undecided ON transactions (created_at) WHERE decision IN ('pending', 'parked');
CREATE INDEX refunds_undecided ON refunds (created_at) WHERE decision IN ('pending', 'parked');

-- +goose Down
DROP INDEX refunds_undecided;
DROP INDEX transactions_undecided;
ALTER TABLE refunds DROP COLUMN decision_note;
ALTER TABLE refunds DROP COLUMN decision;
ALTER TABLE transactions DROP COLUMN crm_total;
ALTER TABLE transactions DROP COLUMN decision_note;
ALTER TABLE transactions DROP COLUMN decision;
