package rules_test

import (
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
)

func TestSilenceAlertIsADurationOrNeverPerMallOverTheDefault(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, file string
		want       map[string]time.Duration // by mall; "" is a mall the file does not name
		refused    string
	}{
		{"the built-in default", "", map[string]time.Duration{"": rules.DefaultSilenceAlert}, ""},
		{"the default section's", "default: {silence_alert: 6h}\nmalls: [{mchid: \"1900000109\"}]\n",
			map[string]time.Duration{"": 6 * time.Hour, "1900000109": 6 * time.Hour}, ""},
		{"a mall's own, never for one being onboarded", "default: {silence_alert: 90m}\nmalls:\n  - {mchid: \"1900000109\", silence_alert: never}\n  - {mchid: \"1900000110\", silence_alert: 24h}\n",
			map[string]time.Duration{"": 90 * time.Minute, "1900000109": 0, "1900000110": 24 * time.Hour}, ""},
		{"too short to mean silence", "default: {silence_alert: 1m}\n", nil, "default.silence_alert: must be a duration from 10m0s to 744h0m0s"},
		{"not a duration", "malls: [{mchid: \"1900000109\", silence_alert: 2 hours}]\n", nil, "malls[0].silence_alert: must be a duration"},
		{"not empty", "default: {silence_alert: \"\"}\n", nil, "default.silence_alert: must not be empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			set, err := rules.Parse([]byte(c.file))
			if c.refused != "" {
				if err == nil || !strings.Contains(err.Error(), c.refused) {
					t.Fatalf("%v, want an error naming %q", err, c.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for mall, want := range c.want {
				if mall == "" {
					mall = "1999999999"
				}
				if got := set.Mall(mall).SilenceAlert; got != want {
					t.Errorf("mall %s: silence alert %v, want %v", mall, got, want)
				}
			}
			// The normalised rules keep it, and leave a file without it as it was.
			raw, err := set.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			again, err := rules.Parse(raw)
			if err != nil || again.Version() != set.Version() {
				t.Errorf("the normalised rules %s: %v, version %v; want %s", raw, err, again, set.Version())
			}
			if c.file == "" && strings.Contains(string(raw), "silence_alert") {
				t.Errorf("the built-in default is written: %s", raw)
			}
		})
	}
}
