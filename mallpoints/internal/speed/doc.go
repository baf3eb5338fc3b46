// Package speed holds the in-process benchmark of mallpointsd's payment
// path: a sandbox notifies, the service's handler records the payment, its
// outbox worker syncs the points back, all in one process over loopback,
// so that `go test -bench . -cpuprofile` shows where the service's CPU time
// per payment goes. The sandbox's own work (signing notifications, checking
// syncs) runs under the pprof label side=wechatpay, to be left out with
// `go tool pprof -tagignore side=wechatpay`.
//
// BenchmarkHTTPExchangeFloor is the least the two HTTP exchanges of a
// payment cost, beside outbox's BenchmarkRiverCostPerSync and ledger's
// BenchmarkPaymentDatabaseWork: together, floors under the service's cost
// per payment (docs/BENCHMARKS.md adds them up).
//
// The package has no code of its own besides this comment: see the
// benchmarks. The process-level figures are mallpoints-load's.
package speed
