module github.com/seed2ac2593f/wxpay

go 1.26
