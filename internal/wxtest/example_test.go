package wxtest_test

import (
	"fmt"
	"io"
	"net/http"

	"github.com/seed2ac2593f/wxpay/internal/wxtest"
)

// An unsigned request is recorded and refused with an unsigned 401, as WeChat Pay does.
func ExampleNewServer() {
	srv := wxtest.NewServer(wxtest.SharedKeys())
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/v3/certificates?algorithm_type=RSA", nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "example/1.0")
	resp, err := srv.Client().Do(req)
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	fmt.Println(resp.StatusCode, string(body))
	fmt.Println(resp.Header.Get("Wechatpay-Signature") == "")
	r := srv.Requests()[0]
	fmt.Println(r.RequestTarget, r.AuthErr)
	// Output:
	// 401 {"code":"SIGN_ERROR","message":"Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》"}
	// true
	// /v3/certificates?algorithm_type=RSA wxtest: missing Authorization header
}
