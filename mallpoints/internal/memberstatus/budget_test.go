package memberstatus

import (
	"testing"
	"time"
)

// However WeChat Pay places its seconds, the calls the budget lets through
// in any one of them stay within 1.1 times the budget, and the default's
// within WeChat Pay's 150: counted by the whole second, callers taking all
// they may at the end of one second and the start of the next would put
// twice the budget into one of WeChat Pay's.
func TestAnySecondHoldsAtMostElevenTenthsOfTheBudget(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		budget  int
		atMost  int
		ceiling int // WeChat Pay's limit, where the budget is meant to keep under it
	}{
		{"the default", DefaultBudget, 132, 150},
		{"the least", MinBudget, 22, 150},
		{"the re-check's half of the default", DefaultBudget / 2, 66, 150},
		{"one not a multiple of ten", 75, 77, 150},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			// Callers take every call the budget allows, a millisecond
			// apart, for three seconds starting mid-second.
			start := time.Date(2026, 12, 8, 10, 0, 0, 730_000_000, time.UTC)
			used := map[int64]int{}
			var calls []time.Time
			for ms := range 3000 {
				at := start.Add(time.Duration(ms) * time.Millisecond)
				for used[tenthOf(at)] < perTenth(c.budget) {
					used[tenthOf(at)]++
					calls = append(calls, at)
				}
			}
			most := 0
			for ms := range 2000 { // every one-second span, at millisecond steps
				from := start.Add(time.Duration(ms) * time.Millisecond)
				n := 0
				for _, at := range calls {
					if !at.Before(from) && at.Before(from.Add(time.Second)) {
						n++
					}
				}
				most = max(most, n)
			}
			if most > c.atMost || most > c.ceiling {
				t.Errorf("a budget of %d a second let %d calls into one second, want at most %d (and %d)", c.budget, most, c.atMost, c.ceiling)
			}
			if most < c.budget {
				t.Errorf("a budget of %d a second let only %d calls into the busiest second", c.budget, most)
			}
		})
	}
}
