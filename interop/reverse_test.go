package interop

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	gopaycrypto "github.com/go-pay/crypto/aes"
	"github.com/go-pay/crypto/xpem"
	gopaywechat "github.com/go-pay/gopay/wechat/v3"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/signers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/notify"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// TestOurRequestsVerifiedByPeers captures the requests our wxpay.Client
// sends to the sandbox, one per business-circle call and the certificate
// download, and has each peer's own verification code check their
// Authorization: nothing of our signer is used to check our signer.
func TestOurRequestsVerifiedByPeers(t *testing.T) {
	e := newEnv(t, sandbox.MigrationMode)
	k := testKeys
	c, err := wxpay.NewClient(
		wxpay.WithMerchant(k.MchID, k.MerchantSerial, k.MerchantKey),
		wxpay.WithBaseURL(e.URL),
		wxpay.WithWechatPayPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey),
		wxpay.WithPlatformCertificates(k.PlatformCert),
		wxpay.WithAPIv3Key(k.APIv3Key),
		wxpay.WithoutRetries(),
	)
	if err != nil {
		t.Fatal(err)
	}
	e.authorize()
	p := e.pay(8800)
	ctx := context.Background()
	v3 := businesscircle.New(c)
	calls := []func() error{
		func() error {
			_, err := v3.Businesscircle.Points.Notify.Post(ctx, businesscircle.PointsNotifyRequest{
				TransactionID: p.TransactionID, AppID: appID, OpenID: openID, EarnPoints: true, IncreasedPoints: 88,
				PointsUpdateTime: time.Now().In(beijing).Format(time.RFC3339), NoPointsRemarks: "商品不属于积分商品 <&>",
				TotalPoints: businesscircle.Int64(888),
			})
			return err
		},
		func() error {
			_, _, err := v3.Businesscircle.UserAuthorizations.Get(ctx, openID, businesscircle.UserAuthorizationQuery{AppID: appID})
			return err
		},
		func() error {
			_, _, err := v3.Businesscircle.Users.Points.CommitStatus.Get(ctx, openID, businesscircle.CommitStatusQuery{BrandID: 1234, AppID: appID})
			return err
		},
		func() error {
			_, err := v3.Businesscircle.Parkings.Post(ctx, businesscircle.ParkingRequest{
				BrandID: 1234, AppID: appID, OpenID: openID, PlateNumber: "粤B888888",
				State: businesscircle.ParkingStateIn, Time: time.Now().In(beijing).Format(time.RFC3339),
			})
			return err
		},
		func() error {
			// The string chain, with a path parameter that must be escaped.
			_, err := c.Chain("v3/businesscircle/user-authorizations/{openid}").Get(ctx,
				wxpay.PathParam("openid", "o/with space+plus"), wxpay.Query("appid", appID))
			return err
		},
		func() error {
			_, err := c.DownloadCertificates(ctx)
			return err
		},
	}
	for i, call := range calls {
		if err := call(); err != nil {
			t.Fatalf("our call %d against the sandbox: %v", i, err)
		}
	}
	reqs := e.log.all()
	if len(reqs) != len(calls) {
		t.Fatalf("the sandbox saw %d requests, want %d", len(reqs), len(calls))
	}

	merchantCertPEM := readKeyFile(t, sandbox.FileMerchantCert)
	for _, r := range reqs {
		t.Run(r.Method+" "+r.Target, func(t *testing.T) {
			a, err := parseAuthorizationIndependently(r.Authorization)
			if err != nil {
				t.Fatal(err)
			}
			if a["mchid"] != k.MchID || a["serial_no"] != k.MerchantSerial {
				t.Errorf("Authorization names mchid %q serial %q; want %s %s", a["mchid"], a["serial_no"], k.MchID, k.MerchantSerial)
			}
			ts, err := strconv.ParseInt(a["timestamp"], 10, 64)
			if err != nil {
				t.Fatalf("timestamp %q: %v", a["timestamp"], err)
			}

			t.Run("wechatpay-go", func(t *testing.T) {
				// wechatpay-go's own message format and its certificate verifier,
				// which finds the key by the serial it computes from the certificate.
				msg := fmt.Sprintf(consts.SignatureMessageFormat, r.Method, r.Target, ts, a["nonce_str"], r.Body)
				v := verifiers.NewSHA256WithRSAVerifier(core.NewCertificateMapWithList([]*x509.Certificate{k.MerchantCert}))
				if err := v.Verify(ctx, a["serial_no"], msg, a["signature"]); err != nil {
					t.Errorf("SHA256WithRSAVerifier: %v", err)
				}
				// RSASSA-PKCS1-v1_5 is deterministic: wechatpay-go's signer must
				// produce our signature byte for byte.
				s := &signers.SHA256WithRSASigner{MchID: k.MchID, CertificateSerialNo: k.MerchantSerial, PrivateKey: k.MerchantKey}
				res, err := s.Sign(ctx, msg)
				if err != nil {
					t.Fatal(err)
				}
				if res.Signature != a["signature"] {
					t.Errorf("wechatpay-go signs the same message as %s…, we sent %s…", res.Signature[:16], a["signature"][:16])
				}
			})

			t.Run("gopay", func(t *testing.T) {
				// gopay verifies "a\nb\nc\n"; a request's message is
				// "METHOD\nTARGET\nTS" + "\n" + nonce + "\n" + body + "\n".
				pub, err := xpem.DecodePublicKey(merchantCertPEM)
				if err != nil {
					t.Fatal(err)
				}
				head := r.Method + "\n" + r.Target + "\n" + a["timestamp"]
				if err := gopaywechat.V3VerifySignByPK(head, a["nonce_str"], r.Body, a["signature"], pub); err != nil {
					t.Errorf("V3VerifySignByPK: %v", err)
				}
			})
		})
	}

	t.Run("wechatpay-axios-plugin", func(t *testing.T) {
		n := requireNode(t)
		var res struct {
			OK      bool `json:"ok"`
			Results []struct {
				OK       bool   `json:"ok"`
				MchID    string `json:"mchid"`
				SerialNo string `json:"serial_no"`
				Reason   string `json:"reason"`
			} `json:"results"`
		}
		in := t.TempDir() + "/requests.json"
		writeJSON(t, in, reqs)
		n.step(t, "verify-requests", map[string]any{"in": in, "merchant-cert": keyFile(sandbox.FileMerchantCert)}, &res)
		if len(res.Results) != len(reqs) {
			t.Fatalf("node checked %d requests, want %d", len(res.Results), len(reqs))
		}
		for i, r := range res.Results {
			if !r.OK {
				t.Errorf("Rsa.verify(Formatter.request(…)) refused %s %s (%s)", reqs[i].Method, reqs[i].Target, r.Reason)
			}
		}
	})
}

// authPair is one k="v" of an Authorization header.
var authPair = regexp.MustCompile(`^([a-z_]+)="([^"]*)"$`)

// parseAuthorizationIndependently reads an Authorization header without
// our SDK's parser: the scheme, then exactly the five pairs, in any order.
func parseAuthorizationIndependently(h string) (map[string]string, error) {
	rest, ok := strings.CutPrefix(h, "WECHATPAY2-SHA256-RSA2048 ")
	if !ok {
		return nil, fmt.Errorf("Authorization %.40q…: not the WECHATPAY2-SHA256-RSA2048 scheme", h)
	}
	out := map[string]string{}
	for _, p := range strings.Split(rest, ",") {
		m := authPair.FindStringSubmatch(p)
		if m == nil {
			return nil, fmt.Errorf("Authorization pair %q", p)
		}
		out[m[1]] = m[2]
	}
	for _, k := range []string{"mchid", "nonce_str", "timestamp", "serial_no", "signature"} {
		if out[k] == "" {
			return nil, fmt.Errorf("Authorization lacks %s", k)
		}
	}
	if len(out) != 5 {
		return nil, fmt.Errorf("Authorization has %d pairs, want 5", len(out))
	}
	return out, nil
}

// TestPeerNotificationsParsedByOurs builds notifications with the peers'
// code and has our notify.Parser verify and decrypt them.
func TestPeerNotificationsParsedByOurs(t *testing.T) {
	k := testKeys
	ring := wxpay.NewKeyRing()
	if err := ring.AddPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey); err != nil {
		t.Fatal(err)
	}
	if err := ring.AddCertificates(k.PlatformCert); err != nil {
		t.Fatal(err)
	}
	parser, err := notify.NewParser(&wxpay.Verifier{Keys: ring}, k.APIv3Key)
	if err != nil {
		t.Fatal(err)
	}
	plaintext := map[string]any{
		"mchid": k.MchID, "merchant_name": "腾讯广场", "shop_name": "微信支付", "shop_number": "123456",
		"appid": appID, "openid": openID, "amount": 200.0, "time_end": "2020-05-20T13:29:35+08:00",
		"transaction_id": "4200000000202605200000000001",
	}

	check := func(t *testing.T, h http.Header, body []byte) {
		t.Helper()
		n, err := parser.Parse(h, body)
		if err != nil {
			t.Fatalf("notify.Parser refused a peer's notification: %v", err)
		}
		var got map[string]any
		if err := n.DecodeResource(&got); err != nil {
			t.Fatal(err)
		}
		if n.EventType != "MALL_TRANSACTION.SUCCESS" || fmt.Sprint(got) != fmt.Sprint(plaintext) {
			t.Errorf("parsed %s %v; want MALL_TRANSACTION.SUCCESS %v", n.EventType, got, plaintext)
		}
		// One byte changed after signing: our parser must refuse it.
		tampered := []byte(strings.Replace(string(body), "MALL_TRANSACTION", "MALL_TRANSACTIOM", 1))
		if _, err := parser.Parse(h, tampered); !errors.Is(err, wxpay.ErrBadSignature) {
			t.Errorf("tampered notification: %v, want ErrBadSignature", err)
		}
	}

	for _, signer := range []struct{ name, keyFile, serial string }{
		{"public key", sandbox.FileWechatPayKey, k.PublicKeyID},
		{"platform certificate", sandbox.FilePlatformKey, k.PlatformSerial},
	} {
		t.Run("wechatpay-axios-plugin/"+signer.name, func(t *testing.T) {
			n := requireNode(t)
			var res struct {
				Headers map[string]string `json:"headers"`
				Body    string            `json:"body"`
			}
			n.step(t, "build-notification", map[string]any{
				"plaintext": string(mustJSON(plaintext)), "event-type": "MALL_TRANSACTION.SUCCESS",
				"apiv3-key": k.APIv3Key, "signing-key": keyFile(signer.keyFile), "serial-out": signer.serial,
			}, &res)
			h := http.Header{}
			for name, v := range res.Headers {
				h.Set(name, v)
			}
			check(t, h, []byte(res.Body))
		})
	}

	t.Run("gopay encrypts, wechatpay-go signs", func(t *testing.T) {
		// go-pay/crypto's AES-GCM seals the resource; wechatpay-go's signer
		// signs "timestamp\nnonce\nbody\n" with WeChat Pay's key.
		nonce := "GiCVO6LB04WZ"
		ct, err := gopaycrypto.GCMEncrypt(mustJSON(plaintext), []byte(nonce), []byte("mall_transaction"), []byte(k.APIv3Key))
		if err != nil {
			t.Fatal(err)
		}
		body := mustJSON(map[string]any{
			"id": "c7d5b540-95d9-5bff-8494-be7984ad08e6", "create_time": "2026-05-20T13:29:35+08:00",
			"resource_type": "encrypt-resource", "event_type": "MALL_TRANSACTION.SUCCESS", "summary": "支付成功",
			"resource": map[string]any{
				"original_type": "mall_transaction", "algorithm": "AEAD_AES_256_GCM", "associated_data": "mall_transaction",
				"nonce": nonce, "ciphertext": base64.StdEncoding.EncodeToString(ct),
			},
		})
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		headerNonce := "593BEC0C930BF1AFEB40B4A08C8FB242"
		s := &signers.SHA256WithRSASigner{MchID: k.MchID, CertificateSerialNo: k.PublicKeyID, PrivateKey: k.WechatPayKey}
		sig, err := s.Sign(context.Background(), ts+"\n"+headerNonce+"\n"+string(body)+"\n")
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		h.Set("Wechatpay-Timestamp", ts)
		h.Set("Wechatpay-Nonce", headerNonce)
		h.Set("Wechatpay-Serial", k.PublicKeyID)
		h.Set("Wechatpay-Signature", sig.Signature)
		h.Set("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
		check(t, h, body)
	})
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
