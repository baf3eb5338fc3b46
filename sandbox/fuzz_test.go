package sandbox_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/seed2ac2593f/wxpay/sandbox"
)

// FuzzPipeline sends arbitrary requests to the emulated API. Whatever comes
// in, the sandbox does not panic, every answer has a Request-ID and a JSON
// body (or none), 401 is never signed, and a 2xx only ever answers a request
// whose Authorization verifies with the merchant's key, checked here by code
// of the test's own.
func FuzzPipeline(f *testing.F) {
	srv := newServer(f)
	k := srv.Keys
	txID := pay(f, srv.Sandbox, "", true)
	sign := func(method, target, body string) string {
		ts := strconv.FormatInt(fixedNow.Unix(), 10)
		nonce := "Cwv1gjeBcezpe3T7vXVc8ns6fx2RQ6b5"
		sig := signRaw(k.MerchantKey, method+"\n"+target+"\n"+ts+"\n"+nonce+"\n"+body+"\n")
		return `WECHATPAY2-SHA256-RSA2048 mchid="` + k.MchID + `",nonce_str="` + nonce + `",timestamp="` + ts +
			`",serial_no="` + k.MerchantSerial + `",signature="` + sig + `"`
	}
	seed := func(method, target, body string) {
		f.Add(method, target, sign(method, target, body), "application/json", "fuzz/1.0", k.PublicKeyID, body)
	}
	seed("POST", "/v3/businesscircle/points/notify", pointsBody(txID))
	seed("POST", "/v3/businesscircle/points/notify", pointsBody(txID)+"\n")
	seed("GET", "/v3/businesscircle/user-authorizations/"+openID+"?appid="+appID, "")
	seed("GET", "/v3/businesscircle/users/"+openID+"/points/commit_status?brandid=1&appid="+appID, "")
	seed("POST", "/v3/businesscircle/parkings", `{"brandid":1,"appid":"wx","openid":"o","plate_number":"粤B888888","state":"IN","time":"2022-06-01T10:43:39+08:00"}`)
	seed("GET", "/v3/certificates", "")
	seed("POST", "/v3/businesscircle/points/notify", `{"transaction_id":null}`)
	f.Add("GET", "/v3/../sandbox/faults", "", "", "", "", "")
	f.Add("POST", "/v3/businesscircle/parkings", `WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="",signature="=",timestamp="9999999999999999999",serial_no=""`, "*/*", "x", "", "{}")

	verify := independentVerifier(k)
	f.Fuzz(func(t *testing.T, method, target, auth, accept, ua, serial, body string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || !validToken(method) || strings.HasPrefix(u.Path, "/sandbox/") {
			return // not a request net/http would hand over; or the admin API, unsigned by design
		}
		req := (&http.Request{Method: method, URL: u, RequestURI: target, Host: "sandbox.test",
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{},
			Body: io.NopCloser(strings.NewReader(body))}).WithContext(context.Background())
		for name, v := range map[string]string{"Authorization": auth, "Accept": accept, "User-Agent": ua, "Wechatpay-Serial": serial} {
			if v != "" {
				req.Header.Set(name, v)
			}
		}
		rec := httptest.NewRecorder()
		srv.Sandbox.ServeHTTP(rec, req)
		a := answer{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}

		if a.header.Get("Request-ID") == "" {
			t.Errorf("%d answer without Request-ID", a.status)
		}
		if len(a.body) > 0 && !json.Valid(a.body) {
			t.Errorf("%d answer is not JSON: %q", a.status, a.body)
		}
		switch {
		case a.status >= 200 && a.status <= 299:
			if !verify(method, target, auth, body) {
				t.Fatalf("%d for a request whose signature does not verify: %s %q Authorization %q", a.status, method, target, auth)
			}
			verifyAnswer(t, k, a)
		case a.status == 401 && a.header.Get("Wechatpay-Signature") != "":
			t.Error("a 401 is signed")
		}
	})
}

// independentVerifier checks an Authorization header without package wxpay:
// five k="v" pairs, the merchant's mchid and serial, a timestamp within
// 300 s of the test clock and the signature over the request as sent.
func independentVerifier(k *sandbox.Keys) func(method, target, auth, body string) bool {
	header := regexp.MustCompile(`^WECHATPAY2-SHA256-RSA2048 (.*)$`)
	pair := regexp.MustCompile(`^ *([a-z_]+)="([^"]*)"$`)
	return func(method, target, auth, body string) bool {
		m := header.FindStringSubmatch(auth)
		if m == nil {
			return false
		}
		pairs := map[string]string{}
		for p := range strings.SplitSeq(m[1], ",") {
			pm := pair.FindStringSubmatch(p)
			if pm == nil {
				return false
			}
			pairs[pm[1]] = pm[2]
		}
		ts, err := strconv.ParseInt(pairs["timestamp"], 10, 64)
		if len(pairs) != 5 || err != nil || pairs["mchid"] != k.MchID || !strings.EqualFold(pairs["serial_no"], k.MerchantSerial) ||
			ts < fixedNow.Unix()-300 || ts > fixedNow.Unix()+300 {
			return false
		}
		sig, err := base64.StdEncoding.DecodeString(pairs["signature"])
		if err != nil {
			return false
		}
		sum := sha256.Sum256([]byte(method + "\n" + target + "\n" + pairs["timestamp"] + "\n" + pairs["nonce_str"] + "\n" + body + "\n"))
		return rsa.VerifyPKCS1v15(&k.MerchantKey.PublicKey, crypto.SHA256, sum[:], sig) == nil
	}
}

// validToken reports whether s is an HTTP method token.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, c) {
			return false
		}
	}
	return true
}
