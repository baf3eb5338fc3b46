package testkit

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"testing"
)

func TestMatchReturnsOnceAWriteCompletesTheLine(t *testing.T) {
	t.Parallel()
	var b Buffer
	b.Write([]byte("listening on "))
	got := make(chan []string)
	go func() {
		m, err := b.Match(context.Background(), regexp.MustCompile(`listening on (\S+)\n`))
		if err != nil {
			t.Error(err)
		}
		got <- m
	}()
	for _, s := range []string{"127.0.0.1", ":8080", "\n"} {
		fmt.Fprint(&b, s)
	}
	if m := <-got; len(m) != 2 || m[1] != "127.0.0.1:8080" {
		t.Errorf("submatches %q, want the whole address", m)
	}
}

func TestMatchGivesUpWithTheContextsCause(t *testing.T) {
	t.Parallel()
	var b Buffer
	b.Write([]byte("something else\n"))
	stop := errors.New("the process exited")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(stop)
	if _, err := b.Match(ctx, regexp.MustCompile(`listening`)); !errors.Is(err, stop) {
		t.Errorf("error %v, want one wrapping %v", err, stop)
	}
}
