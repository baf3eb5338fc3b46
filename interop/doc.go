// Package interop runs three WeChat Pay APIv3 clients that nobody on this
// project wrote against the sandbox (package sandbox), and feeds requests made
// by this SDK to their verification code: wechatpay-go v0.2.21 (the official
// Go SDK), gopay v1.5.109 (wechat/v3) and, through node, the Node.js
// wechatpay-axios-plugin 0.9.6.
//
// Our SDK and our sandbox were written by the same team; a misunderstanding
// they share would pass every test of either. These tests break that circle.
// The package has tests only. It is its own module, so the SDK module never
// depends on the peers: run it from this directory,
//
//	npm ci && go test -race ./...
//
// The README beside this file has the peer × key mode × scenario table, which
// TestREADMETable keeps equal to the expectations the tests assert, and how to
// point each peer at `wxpay sandbox`.
package interop
