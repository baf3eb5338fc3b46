// Package e2e holds the process-level tests of mallpointsd: the shipped
// binaries, built once per test binary with the harness of ../testkit,
// started as an operator would. One replica shows what a single process
// does under a flood of connections, a SIGKILL, a SIGHUP and a SIGTERM;
// several on one PostgreSQL database, behind a round-robin front that
// WeChat Pay's notifications (from a `wxpay sandbox` process) go through,
// show that any replica takes notifications, all of them work the outbox,
// no transaction is synced twice with different points, a replica killed
// mid-job leaves its jobs to the others, and that the whole comes through
// chaos: replicas SIGKILLed under load, WeChat Pay failing 30% of the time
// and PostgreSQL restarted, with every point where it belongs.
//
// With -short only the single-process tests run. The chaos run is short by
// default (CI runs it); MALLPOINTS_CHAOS=long runs it for five minutes.
//
// The package has no code of its own besides this comment: see the tests.
package e2e
