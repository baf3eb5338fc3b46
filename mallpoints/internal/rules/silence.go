package rules

import "time"

// silence_alert: how long a mall may go without a notification before the
// silence alert pages (docs/alerts.yml compares the metric
// mallpoints_seconds_since_last_notification with
// mallpoints_silence_threshold_seconds, which is this). "never" for a mall
// being onboarded, or one that has left. It decides no points; it is in the
// file because the file is where each mall is described, reloaded on SIGHUP.

// DefaultSilenceAlert is silence_alert when the file gives none.
const DefaultSilenceAlert = 2 * time.Hour

// The bounds of silence_alert: under ten minutes it pages between two
// quiet payments; over 31 days, "never" is what is meant.
const (
	minSilenceAlert = 10 * time.Minute
	maxSilenceAlert = 31 * 24 * time.Hour
)

// silenceNever is how the file writes a silence that never pages.
const silenceNever = "never"

// silenceAlert reads silence_alert: a duration such as 2h or 90m, or
// never (0).
func (s *scalar) silenceAlert(field string) (time.Duration, error) {
	text, err := s.Value(field)
	if err != nil {
		return 0, err
	}
	if text == silenceNever {
		return 0, nil
	}
	d, perr := time.ParseDuration(text)
	if perr != nil || d < minSilenceAlert || d > maxSilenceAlert {
		return 0, s.Fail(field, "must be a duration from %v to %v such as 2h, or never, got %q", minSilenceAlert, maxSilenceAlert, text)
	}
	return d, nil
}

// silenceText writes a silence_alert as the file does.
func silenceText(d time.Duration) string {
	if d == 0 {
		return silenceNever
	}
	return d.String()
}
