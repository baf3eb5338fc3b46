package bench

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// BenchmarkInterleaveCost asks why a client's call is slower in
// BenchmarkPointsSyncInterleaved than on its own. It times one op right
// after each of a few kinds of other work, untimed, the kinds taking turns in
// one loop so that load on the machine hits them alike, and reports the op's
// time after each kind (after-KIND-ns). The ops: a whole wxpay points sync
// (sync), its parts alone (sign through internal/pkcs1, verify as the SDK
// does with crypto/rsa, and post: a bare net/http POST to the same server,
// no crypto). The kinds of work:
//
//	none    nothing: the op back to back
//	gorsa   one crypto/rsa signature, what the peers spend their time on:
//	        one core busy with other code for about 1 ms, little garbage
//	spin    the same time in a loop that touches no memory
//	spin2   the same on both cores at once, so neither core idles
//	garbage the garbage of a peer's call (about 170 small objects)
//	sleep   1 ms with both cores idle
//	peer    a whole wechatpay-go points sync
//
// The cost of the interleaving is the difference to none.
func BenchmarkInterleaveCost(b *testing.B) {
	f := sharedFixture(b)
	f.srv.freshen()
	ctx := context.Background()
	wx, err := newWxpaySync(f, f.srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	sign, err := newBackendSign(f, "")
	if err != nil {
		b.Fatal(err)
	}
	verify, err := newFloorVerify(f, "")
	if err != nil {
		b.Fatal(err)
	}
	peer, err := newWechatpayGoSync(f, f.srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	post := newBarePost(f.srv.URL+notifyPath, f.body)
	kinds := interleaveKinds(b, f, func() error { return peer(ctx) })
	for _, m := range []struct {
		name string
		op   op
	}{{"sync", wx}, {"sign", sign}, {"verify", verify}, {"post", post}} {
		b.Run("op="+m.name, func(b *testing.B) {
			if err := m.op(ctx); err != nil {
				b.Fatal(err)
			}
			spent := make([]time.Duration, len(kinds))
			cpu := make([]int64, len(kinds))
			turn := 0
			for b.Loop() {
				for j := range kinds {
					i := (turn + j) % len(kinds)
					if err := kinds[i].do(); err != nil {
						b.Fatal(err)
					}
					c0 := cpuTime()
					t0 := time.Now()
					if err := m.op(ctx); err != nil {
						b.Fatal(err)
					}
					spent[i] += time.Since(t0)
					cpu[i] += cpuTime() - c0
				}
				turn++
			}
			for i, k := range kinds {
				b.ReportMetric(float64(spent[i].Nanoseconds())/float64(b.N), "after-"+k.name+"-ns")
				b.ReportMetric(float64(cpu[i])/float64(b.N), "after-"+k.name+"-cpu-ns")
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}

type interleaveKind struct {
	name string
	do   func() error
}

func interleaveKinds(b *testing.B, f *fixture, peer func() error) []interleaveKind {
	sum := sha256.Sum256(f.body)
	gorsa := func() error {
		_, err := rsa.SignPKCS1v15(nil, f.keys.MerchantKey, crypto.SHA256, sum[:])
		return err
	}
	t0 := time.Now()
	if err := gorsa(); err != nil {
		b.Fatal(err)
	}
	rsaTime := time.Since(t0)
	spin := func() error {
		for end := time.Now().Add(rsaTime); time.Now().Before(end); {
			for i := 0; i < 1000; i++ {
				spinSink += uint64(i) * 2654435761
			}
		}
		return nil
	}
	return []interleaveKind{
		{"none", func() error { return nil }},
		{"gorsa", gorsa},
		{"spin", spin},
		{"spin2", func() error {
			done := make(chan struct{})
			go func() { spin(); close(done) }()
			spin()
			<-done
			return nil
		}},
		{"garbage", func() error {
			for i := 0; i < 170; i++ {
				garbageSink = make([]byte, 100)
			}
			return nil
		}},
		{"sleep", func() error { time.Sleep(time.Millisecond); return nil }},
		{"peer", peer},
	}
}

// newBarePost is a plain net/http POST of body to url, reading the answer:
// the HTTP part of a points sync without any crypto.
func newBarePost(url string, body []byte) op {
	hc := &http.Client{Transport: &http.Transport{}}
	return func(context.Context) error {
		resp, err := hc.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
}

var (
	spinSink    uint64
	garbageSink []byte
)
