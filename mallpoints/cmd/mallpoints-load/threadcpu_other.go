//go:build !linux

package main

import "time"

// threadCPU has no per-thread CPU clock to read here; the sampler then
// makes no rounds and only the measurement after the run is reported.
func threadCPU() time.Duration { return 0 }
