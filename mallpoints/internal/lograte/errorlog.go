package lograte

import (
	"context"
	"log"
	"log/slog"
	"strings"
	"unicode"
)

// maxMessage bounds the message ErrorLog makes of a line.
const maxMessage = 64

// ErrorLog returns a logger for http.Server.ErrorLog that writes each line
// to h at level. net/http's lines name the client ("http: TLS handshake error
// from 203.0.113.9:51234: EOF"), so a flood from many ports would be as many
// messages: the record's message is the line's constant part ("http: TLS
// handshake error") and the whole line its "detail", so that a Handler limits
// the flood as one message and counts it under one label.
func ErrorLog(h slog.Handler, level slog.Level) *log.Logger {
	return log.New(lineWriter{h, level}, "", 0)
}

type lineWriter struct {
	h     slog.Handler
	level slog.Level
}

func (w lineWriter) Write(p []byte) (int, error) {
	line := strings.TrimSuffix(string(p), "\n")
	ctx := context.Background()
	if !w.h.Enabled(ctx, w.level) {
		return len(p), nil
	}
	l := slog.New(w.h)
	l.LogAttrs(ctx, w.level, messageOf(line), slog.String("detail", line))
	return len(p), nil
}

// messageOf is the constant part of a line of net/http's: its "http: " or
// "http2: " prefix and the words up to the first address, number or ": ".
func messageOf(line string) string {
	prefix, rest, ok := strings.Cut(line, ": ")
	if !ok || strings.ContainsAny(prefix, " \t") {
		prefix, rest = "", line
	}
	end := len(rest)
	for _, stop := range []string{" from ", ": "} {
		if i := strings.Index(rest, stop); i >= 0 && i < end {
			end = i
		}
	}
	if i := strings.IndexFunc(rest[:end], unicode.IsDigit); i >= 0 {
		end = i
	}
	msg := strings.TrimSpace(rest[:end])
	if prefix != "" {
		msg = prefix + ": " + msg
	}
	if len(msg) > maxMessage {
		msg = strings.ToValidUTF8(msg[:maxMessage], "")
	}
	return msg
}
