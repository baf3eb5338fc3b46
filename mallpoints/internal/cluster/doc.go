// Package cluster holds the process-level tests of mallpointsd run as
// several replicas on one PostgreSQL database: the shipped binaries, built
// once per test binary, behind a round-robin front that WeChat Pay's
// notifications (from a `wxpay sandbox` process) go through. They check
// that any replica takes notifications, all of them work the outbox, no
// transaction is synced twice with different points, a replica killed
// mid-job leaves its jobs to the others, and that the whole comes through
// chaos: replicas SIGKILLed under load, WeChat Pay failing 30% of the time
// and PostgreSQL restarted, with every point where it belongs.
//
// The package has no code of its own besides this comment: see the tests.
package cluster
