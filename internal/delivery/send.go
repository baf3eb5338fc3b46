package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// maxAnswerBytes bounds how much of a receiver's answer is read.
const maxAnswerBytes = 64 << 10

// maxReasonRunes bounds the receiver's message quoted in Attempt.Error.
const maxReasonRunes = 128

// userAgent is what WeChat Pay's notification requests carry.
const userAgent = "Mozilla/4.0"

// send makes attempt n of m and reports it. It never returns an error: every
// failure is described in Attempt.Error.
func (q *Queue) send(m Message, n int) Attempt {
	a := Attempt{N: n, At: time.Now()}
	status, err := q.post(m, n)
	a.Duration = time.Since(a.At)
	a.Status = status
	if err != nil {
		a.Error = err.Error()
	}
	return a
}

// post builds and sends attempt n of m and reads the answer. A status other
// than 200 or 204 comes with an error describing the answer.
func (q *Queue) post(m Message, n int) (int, error) {
	if m.Build == nil {
		return 0, errors.New("build: message has no Build function")
	}
	header, body, err := m.Build(n)
	if err != nil {
		return 0, fmt.Errorf("build: %v", err)
	}

	ctx, cancel := context.WithTimeout(q.ctx, q.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header = header.Clone() // Build's header is the caller's; never change it
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", userAgent)
	}

	resp, err := q.client.Do(req)
	if err != nil {
		return 0, q.transportError(ctx, err)
	}
	defer resp.Body.Close()
	// Read the answer (bounded) so the connection can be reused; only the
	// status decides, so a failed read of a 200 or 204 still counts as
	// received.
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, answerError(resp.StatusCode, answer)
}

// transportError says why no answer came, in words fit for the record.
func (q *Queue) transportError(ctx context.Context, err error) error {
	switch {
	case q.ctx.Err() != nil:
		return errors.New("cancelled: queue closed")
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("timeout: no answer within %v", q.timeout)
	}
	return err
}

// answerError describes a failure answer: "answered 500", followed by the
// receiver's code and message when it sent WeChat Pay's failure JSON
// {"code":"FAIL","message":"…"}.
func answerError(status int, answer []byte) error {
	var fail struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(answer, &fail) != nil || (fail.Code == "" && fail.Message == "") {
		return fmt.Errorf("answered %d", status)
	}
	parts := make([]string, 0, 2)
	for _, s := range []string{fail.Code, fail.Message} {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, truncate(s, maxReasonRunes))
		}
	}
	return fmt.Errorf("answered %d: %s", status, strings.Join(parts, ": "))
}

// truncate shortens s to at most n runes, marking the cut with "…".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
