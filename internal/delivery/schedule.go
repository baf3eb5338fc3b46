package delivery

import (
	"fmt"
	"strings"
	"time"
)

// DefaultSchedule returns WeChat Pay's retry schedule for payment and refund
// notifications, the waits before each retry after the first attempt:
// 15s, 15s, 30s, 3m, 10m, 20m, 30m, 30m, 30m, 60m, 3h, 3h, 3h, 6h, 6h
// (15 retries, 24h4m in all; docs/protocol.md §5.4). Each call returns a new slice.
func DefaultSchedule() []time.Duration {
	const s, m, h = time.Second, time.Minute, time.Hour
	return []time.Duration{
		15 * s, 15 * s, 30 * s, 3 * m, 10 * m, 20 * m, 30 * m, 30 * m, 30 * m, 60 * m,
		3 * h, 3 * h, 3 * h, 6 * h, 6 * h,
	}
}

// ParseSchedule parses a comma-separated list of waits such as
// "15s,15s,30s,3m", each item in time.ParseDuration syntax and greater than
// zero; spaces around items are ignored. The error names the first bad item
// by its position (from 1) and text. An empty string is an error: a schedule
// with no retries cannot be written this way, pass an empty slice instead.
func ParseSchedule(s string) ([]time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("delivery: empty retry schedule")
	}
	items := strings.Split(s, ",")
	out := make([]time.Duration, 0, len(items))
	for i, item := range items {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("delivery: retry schedule item %d is empty", i+1)
		}
		d, err := time.ParseDuration(item)
		if err != nil {
			return nil, fmt.Errorf("delivery: retry schedule item %d %q: %w", i+1, item, err)
		}
		if d <= 0 {
			return nil, fmt.Errorf("delivery: retry schedule item %d %q: must be greater than zero", i+1, item)
		}
		out = append(out, d)
	}
	return out, nil
}
