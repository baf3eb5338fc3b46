//go:build openssl && cgo

package ossl

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// TestSoakKeepsRSSFlat signs WXPAY_OSSL_SOAK times (a million
// for the figure in bench/README.md) and makes and drops a key every
// thousand signatures, half of them closed and half left to the garbage
// collector, then checks that the resident set grew by less than 8 MiB after
// the first tenth. A leak of one EVP_PKEY_CTX per signature would be about
// 200 MB. It is skipped unless the variable is set: a million signatures take
// minutes of both cores.
func TestSoakKeepsRSSFlat(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("WXPAY_OSSL_SOAK"))
	if n <= 0 {
		t.Skip("set WXPAY_OSSL_SOAK=1000000 to run")
	}
	k := keys(t).merchant
	sk := newPrivate(t, k)
	var done, baseline atomic.Int64
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			var msg [16]byte
			for i := w; i < n; i += workers {
				binary.LittleEndian.PutUint64(msg[:], uint64(i))
				sum := sha256.Sum256(msg[:])
				if _, err := sk.Sign(nil, sum[:], crypto.SHA256); err != nil {
					t.Error(err)
					return
				}
				if i%1000 == 0 {
					extra, err := NewPrivateKey(k)
					if err != nil {
						t.Error(err)
						return
					}
					if i%2000 == 0 {
						extra.Close()
					}
				}
				if d := done.Add(1); d == int64(n/10) {
					runtime.GC()
					debug.FreeOSMemory()
					baseline.Store(rss(t))
				}
			}
		})
	}
	wg.Wait()
	runtime.GC()
	debug.FreeOSMemory()
	end := rss(t)
	t.Logf("%d signatures, %d keys made: RSS %d KiB after a tenth, %d KiB at the end",
		n, n/1000, baseline.Load()/1024, end/1024)
	if grew := end - baseline.Load(); grew > 8<<20 {
		t.Errorf("RSS grew by %d KiB", grew/1024)
	}
}

// rss returns the process's resident set size in bytes, from /proc.
func rss(t *testing.T) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := bytes.CutPrefix(s.Bytes(), []byte("VmRSS:")); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.TrimSuffix(v, []byte("kB")))), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb * 1024
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}
