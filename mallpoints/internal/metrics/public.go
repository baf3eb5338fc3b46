package metrics

import (
	"net/http"
	"strconv"
)

// Public wraps the public listener's handler, a *http.ServeMux, so that
// each answer is counted by the route it matched and its status code. Both
// labels are bounded: the routes are the mux's patterns (a request that
// matches none counts under ""), and a code outside 100–599 counts as
// "other".
func (m *Metrics) Public(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		mux.ServeHTTP(rec, r)
		// The mux sets the pattern it matched on the request it was given.
		m.responses.WithLabelValues(r.Pattern, statusCode(rec.status)).Inc()
	})
}

// statusCode is the code label of status; 200 when nothing was written.
func statusCode(status int) string {
	switch {
	case status == 0:
		return "200"
	case status < 100 || status > 599:
		return "other"
	}
	return strconv.Itoa(status)
}

// statusRecorder remembers the status a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController the connection's own writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
