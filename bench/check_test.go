package bench

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/go-pay/gopay"
	gopaywechat "github.com/go-pay/gopay/wechat/v3"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	wgnotify "github.com/wechatpay-apiv3/wechatpay-go/core/notify"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/notify"
)

// The benchmarks mean something only if every impl does the whole job; these
// tests run each op once, so `go test ./...` in CI catches a benchmark that
// has stopped working (a peer upgrade, an SDK change) in a few seconds.

// TestEveryImplSyncsPoints: each points sync sends pointsBody, signed (the
// floor sends no Authorization: it signs and drops the signature), and
// accepts the signed 204.
func TestEveryImplSyncsPoints(t *testing.T) {
	f := sharedFixture(t)
	k := f.keys
	var want map[string]any
	if err := json.Unmarshal(f.body, &want); err != nil {
		t.Fatal(err)
	}
	checkBody := func(r *http.Request, body []byte) error {
		if r.Method != http.MethodPost || r.URL.RequestURI() != notifyPath {
			return fmt.Errorf("got %s %s", r.Method, r.URL.RequestURI())
		}
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil {
			return err
		}
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("body %s, want %s", body, f.body)
		}
		return nil
	}
	checkSigned := func(r *http.Request, body []byte) error {
		if err := checkBody(r, body); err != nil {
			return err
		}
		a, err := parseAuthorization(r.Header.Get("Authorization"))
		if err != nil {
			return err
		}
		if a.MchID != k.MchID || a.SerialNo != k.MerchantSerial {
			return fmt.Errorf("mchid %s serial %s", a.MchID, a.SerialNo)
		}
		return a.verify(&k.MerchantKey.PublicKey, r.Method, r.URL.RequestURI(), body)
	}
	plain, signed := newStaticServer(k, checkBody), newStaticServer(k, checkSigned)
	defer plain.Close()
	defer signed.Close()
	for _, im := range syncImpls {
		t.Run(im.name, func(t *testing.T) {
			srv := signed
			if isFloor(im.name) {
				srv = plain
			}
			do, err := im.new(f, srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			if err := do(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// isFloor tells the floors, which send no Authorization and verify a
// signature decoded ahead of time, from the clients.
func isFloor(name string) bool { return name == "floor" || name == "pkcs1" }

// TestEveryClientRejectsABadSignature: each client really verifies the
// answer it is timed on. The answer carries a signature by the right key
// over another message. The floor is not a client (it verifies a signature
// decoded ahead of time) and is left out.
func TestEveryClientRejectsABadSignature(t *testing.T) {
	f := sharedFixture(t)
	srv := newStaticServer(f.keys, nil)
	defer srv.Close()
	h := srv.current().Clone()
	ts, _ := strconv.ParseInt(h.Get("Wechatpay-Timestamp"), 10, 64)
	h.Set("Wechatpay-Signature", signedAnswer(f.keys, ts, []byte("{}")).Get("Wechatpay-Signature"))
	srv.answer.Store(&answer{header: h})
	for _, im := range syncImpls {
		if isFloor(im.name) {
			continue
		}
		t.Run(im.name, func(t *testing.T) {
			do, err := im.new(f, srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			switch err := do(context.Background()); {
			case err == nil:
				t.Fatal("accepted an answer with a bad signature")
			case errors.Is(err, wxpay.ErrBadSignature), errors.Is(err, gopay.VerifySignatureErr),
				strings.Contains(err.Error(), "verify signature with public key error"): // wechatpay-go
			default:
				t.Fatalf("rejected, but not for the signature: %v", err)
			}
		})
	}
}

// TestEverySignCellSigns: each Authorization verifies with the merchant key.
func TestEverySignCellSigns(t *testing.T) {
	f := sharedFixture(t)
	for _, im := range signImpls {
		t.Run(im.name, func(t *testing.T) {
			do, err := im.new(f, "")
			if err != nil {
				t.Fatal(err)
			}
			if err := do(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
	// The cells drop their output; check the headers of the two that make one.
	for name, auth := range map[string]authorizer{
		"wxpay":        wxpayAuthorizer(f),
		"wechatpay-go": wechatpayGoAuthorizer(f),
	} {
		got, err := auth(context.Background())
		if err != nil {
			t.Fatal(name, err)
		}
		a, err := parseAuthorization(got)
		if err != nil {
			t.Fatal(name, err)
		}
		if err := a.verify(&f.keys.MerchantKey.PublicKey, http.MethodPost, notifyPath, f.body); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestEveryVerifyCellVerifies: each verify cell accepts the signed answer.
func TestEveryVerifyCellVerifies(t *testing.T) {
	f := sharedFixture(t)
	for _, im := range verifyImpls {
		t.Run(im.name, func(t *testing.T) {
			do, err := im.new(f, "")
			if err != nil {
				t.Fatal(err)
			}
			for range 2 { // twice: the wechatpay-go cell rewinds its body
				if err := do(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestEveryParseCellParses: each notification cell verifies, decrypts and
// decodes a signed notification, and refuses one whose signature, by the
// right key, covers another body.
func TestEveryParseCellParses(t *testing.T) {
	f := sharedFixture(t)
	for _, im := range parseImpls {
		t.Run(im.name, func(t *testing.T) {
			do, err := im.new(f, "")
			if err != nil {
				t.Fatal(err)
			}
			for range 2 { // twice: the peer cells rewind their request body
				if err := do(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	good, err := newNotification(f)
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := strconv.ParseInt(good.header.Get("Wechatpay-Timestamp"), 10, 64)
	forged := good.header.Clone()
	forged.Set("Wechatpay-Signature", signedAnswer(f.keys, ts, []byte("{}")).Get("Wechatpay-Signature"))
	for _, check := range []struct {
		name  string
		parse func() error
	}{
		{"wxpay", func() error {
			ring := wxpay.NewKeyRing()
			if err := ring.AddPublicKey(f.keys.PublicKeyID, &f.keys.WechatPayKey.PublicKey); err != nil {
				return nil
			}
			p, err := notify.NewParser(&wxpay.Verifier{Keys: ring}, f.keys.APIv3Key)
			if err != nil {
				return nil
			}
			_, err = p.Parse(forged, good.body)
			return err
		}},
		{"wechatpay-go", func() error {
			h, err := wgnotify.NewRSANotifyHandler(f.keys.APIv3Key,
				verifiers.NewSHA256WithRSAPubkeyVerifier(f.keys.PublicKeyID, f.keys.WechatPayKey.PublicKey))
			if err != nil {
				return nil
			}
			req := &http.Request{Method: http.MethodPost, Header: forged, Body: io.NopCloser(bytes.NewReader(good.body))}
			_, err = h.ParseNotifyRequest(context.Background(), req, &mallTransaction{})
			return err
		}},
		{"gopay", func() error {
			req := &http.Request{Method: http.MethodPost, Header: forged, Body: io.NopCloser(bytes.NewReader(good.body))}
			nr, err := gopaywechat.V3ParseNotify(req)
			if err != nil {
				return nil
			}
			return nr.VerifySignByPKMap(map[string]*rsa.PublicKey{f.keys.PublicKeyID: &f.keys.WechatPayKey.PublicKey})
		}},
	} {
		if check.parse() == nil {
			t.Errorf("%s accepted a notification with a forged signature", check.name)
		}
	}
}
