package outbox

import (
	"testing"
	"time"
)

// The daily run fires once a day, DefaultExpiryAt after 00:00 Beijing time,
// whatever the zone of the clock asking.
func TestTheExpiryScheduleIsShortlyAfterBeijingMidnight(t *testing.T) {
	t.Parallel()
	d := dailyAt{DefaultExpiryAt}
	for _, c := range []struct{ now, want time.Time }{
		{time.Date(2026, 12, 31, 15, 0, 0, 0, time.UTC), time.Date(2026, 12, 31, 16, 5, 0, 0, time.UTC)}, // 23:00 Beijing → 00:05 next day
		{time.Date(2026, 12, 31, 16, 5, 0, 0, time.UTC), time.Date(2027, 1, 1, 16, 5, 0, 0, time.UTC)},   // at 00:05: the next day's
		{time.Date(2027, 1, 1, 3, 0, 0, 0, beijing), time.Date(2027, 1, 2, 0, 5, 0, 0, beijing)},
		{time.Date(2027, 1, 1, 0, 1, 0, 0, beijing), time.Date(2027, 1, 1, 0, 5, 0, 0, beijing)},
	} {
		if got := d.Next(c.now); !got.Equal(c.want) {
			t.Errorf("Next(%v) = %v, want %v", c.now, got, c.want)
		}
	}
}
