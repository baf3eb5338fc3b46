package server

import "context"

// DailyExpiry runs what the daily expiry job runs, for tests that cannot
// wait for 00:05 Beijing time.
func (s *Server) DailyExpiry(ctx context.Context, asOf string) error { return s.dailyExpiry(ctx, asOf) }
