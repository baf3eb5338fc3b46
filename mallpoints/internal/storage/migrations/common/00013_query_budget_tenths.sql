-- +goose Up
-- The member queries' budget is counted per tenth of a second instead of
-- per second: WeChat Pay does not say where its seconds begin, and two
-- full seconds of a per-second count could put twice the budget into one
-- of its seconds. The counts of the last minute are all the table holds;
-- those counted by the second are dropped rather than read as tenths. A
-- replica still on the previous version finds no column second: its
-- queries are not made until it is upgraded, and its status lookups answer
-- what is kept. The same SQL serves both engines.
DELETE FROM query_budget;
ALTER TABLE query_budget RENAME COLUMN second TO tenth;

-- +goose Down
DELETE FROM query_budget;
ALTER TABLE query_budget RENAME COLUMN tenth TO second;
