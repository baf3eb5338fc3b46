module github.com/seed2ac2593f/wxpay/bench

go 1.26

require (
	github.com/go-pay/gopay v1.5.123
	github.com/seed2ac2593f/wxpay v0.3.0
	github.com/wechatpay-apiv3/wechatpay-go v0.2.21
)

require (
	github.com/go-pay/crypto v0.0.3 // indirect
	github.com/go-pay/errgroup v0.0.3 // indirect
	github.com/go-pay/smap v0.0.2 // indirect
	github.com/go-pay/util v0.0.4 // indirect
	github.com/go-pay/xlog v0.0.3 // indirect
	github.com/go-pay/xtime v0.0.2 // indirect
)
