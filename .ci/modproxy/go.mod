module github.com/seed2ac2593f/wxpay/ci/modproxy

go 1.26.0

require golang.org/x/mod v0.43.0
