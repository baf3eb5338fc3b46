module github.com/seed2ac2593f/wxpay/mallpoints

go 1.26

require github.com/seed2ac2593f/wxpay v0.0.0

replace github.com/seed2ac2593f/wxpay => ../
