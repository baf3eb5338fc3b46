-- +goose Up
-- Indexes for the dashboard and the metrics: the members search by openid
-- across malls, and the time of each mall's last notification (read as a
-- loose index scan, one seek per mall).
CREATE INDEX members_by_openid ON members (openid);
CREATE INDEX notifications_by_mall_time ON notifications (mall, received_at);

-- +goose Down
DROP INDEX notifications_by_mall_time;
DROP INDEX members_by_openid;
