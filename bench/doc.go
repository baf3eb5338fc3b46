// Package bench measures this SDK against the two Go peers, wechatpay-go
// v0.2.21 and gopay v1.5.123, in one run: a points sync over loopback, the
// request signature and the answer verification. It is its own module so
// the SDK never depends on a peer; it holds no code outside its tests.
//
//	cd bench
//	go test -run='^$' -bench=. -count=6 . | tee bench.txt
//	benchstat -col /impl bench.txt
//
// See README.md for the figures and what they do and do not show.
package bench
