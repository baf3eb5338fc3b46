package cputime

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"
)

func TestProcessCountsTheWorkDoneBetweenTwoReadings(t *testing.T) {
	t.Parallel()
	start := Process()
	deadline := time.Now().Add(30 * time.Millisecond)
	sum := sha256.Sum256(nil)
	for time.Now().Before(deadline) {
		sum = sha256.Sum256(sum[:])
	}
	if used := Process() - start; used < 10*time.Millisecond {
		t.Fatalf("30 ms of hashing counted as %v of CPU time", used)
	}
}

func TestMicrosPerOpDividesByTheOpsAndNeverByZero(t *testing.T) {
	t.Parallel()
	start := Process() - 3*time.Millisecond
	if got := MicrosPerOp(start, 3); got < 1000 || got > 1000+1e6 {
		t.Errorf("3 ms over 3 ops: %v µs/op, want about 1000", got)
	}
	if got := MicrosPerOp(start, 0); got < 3000 {
		t.Errorf("3 ms over 0 ops: %v µs/op, want the whole 3000 or more", got)
	}
}

func ExampleMicrosPerOp() {
	start := Process()
	const ops = 1000
	for range ops {
		sha256.Sum256([]byte("points"))
	}
	fmt.Println(MicrosPerOp(start, ops) >= 0)
	// Output: true
}
