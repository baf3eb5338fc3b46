module github.com/seed2ac2593f/wxpay/mallpoints

go 1.26

require (
	github.com/seed2ac2593f/wxpay v0.0.0
	go.yaml.in/yaml/v3 v3.0.6
)

replace github.com/seed2ac2593f/wxpay => ../
