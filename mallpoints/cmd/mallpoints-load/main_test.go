package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

func TestFlagsNeedASandboxOrSpawnAndSaneCounts(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"neither", nil, "either --sandbox URL or --spawn"},
		{"both", []string{"--spawn", "--sandbox", "http://127.0.0.1:1/"}, "either --sandbox URL or --spawn"},
		{"no payments", []string{"--spawn", "--payments", "0"}, "must be positive"},
		{"a negative rate", []string{"--spawn", "--rate", "-1"}, "must be positive"},
		{"expire without spawn", []string{"--sandbox", "http://127.0.0.1:1/", "--expire", "10"}, "--expire needs --spawn"},
		{"a stray argument", []string{"--spawn", "go"}, `unexpected argument "go"`},
		{"no malls", []string{"--spawn", "--malls", "0"}, "must be positive"},
		{"malls of a sandbox run by somebody else", []string{"--sandbox", "http://127.0.0.1:1/", "--malls", "2"}, "need --spawn"},
		{"direct merchants of a sandbox run by somebody else", []string{"--sandbox", "http://127.0.0.1:1/", "--direct", "2"}, "need --spawn"},
		{"no replicas", []string{"--spawn", "--replicas", "0"}, "must be positive"},
		{"replicas on SQLite", []string{"--spawn", "--replicas", "2"}, "need PostgreSQL"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var stderr strings.Builder
			if code := run(context.Background(), c.args, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), c.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr.String(), c.want)
			}
		})
	}
}
