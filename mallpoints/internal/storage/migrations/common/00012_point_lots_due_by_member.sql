-- +goose Up
-- An expiry run reads the members with lots due in (mall, openid) order,
-- 500 at a time, and then each member's due lots. Led by expires_at, the
-- index before this one made every batch read all the lots due by the
-- run's date, those already expired included, so a run's cost grew with
-- the square of its members; led by the member, a batch reads from where
-- the last one stopped and a member's due lots are found by its key. The
-- same SQL serves both engines.
DROP INDEX point_lots_due;
CREATE INDEX point_lots_due_by_member ON point_lots (mall, openid, expires_at) WHERE expires_at > 0;

-- +goose Down
DROP INDEX point_lots_due_by_member;
CREATE INDEX point_lots_due ON point_lots (expires_at, mall, openid) WHERE expires_at > 0;
