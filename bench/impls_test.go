package bench

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/go-pay/gopay"
	gopaywechat "github.com/go-pay/gopay/wechat/v3"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/credentials"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/signers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/internal/pkcs1"
)

// An op is one measured unit of work; it returns an error unless the work
// fully succeeded, so a benchmark never times a failure.
type op func(ctx context.Context) error

// impl is one column of the tables: a name and how to build its op.
type impl struct {
	name string
	new  func(f *fixture, baseURL string) (op, error)
}

// syncImpls build a whole points sync (sign, send, read, verify) against
// baseURL, each with verification on.
var syncImpls = []impl{
	{"floor", newFloorSync},
	{"pkcs1", newBackendFloorSync},
	{"wxpay", newWxpaySync},
	{"wechatpay-go", newWechatpayGoSync},
	{"gopay", newGopaySync},
}

// Fixed values for the cells that take them as arguments.
const (
	fixedTimestamp = 1795435200
	fixedNonce     = "593BEC0C930BF1AFEB40B4A08C8FB242"
)

// newFloorSync is the least a verifying client must do per call: one bare
// RSA-2048 signature, one plain net/http POST and one bare verification of
// a signature decoded ahead of time. It verifies the answer the server sent
// when the op was built, not the one it receives, so it is a floor, not a
// client.
func newFloorSync(f *fixture, baseURL string) (op, error) {
	k := f.keys
	return floorSync(f, baseURL,
		func(digest []byte) error {
			_, err := rsa.SignPKCS1v15(nil, k.MerchantKey, crypto.SHA256, digest)
			return err
		},
		func(digest, sig []byte) error {
			return rsa.VerifyPKCS1v15(&k.WechatPayKey.PublicKey, crypto.SHA256, digest, sig)
		})
}

// newBackendFloorSync is the floor with the signature of the SDK's seam,
// internal/pkcs1 (the SDK verifies with crypto/rsa in every build): in the
// openssl binary, the least any client on net/http and libcrypto could do
// per call, wxpay's own work and every check but the signature's left out.
// The ratio of a peer's call to it bounds what any such client can reach
// against that peer on this machine.
func newBackendFloorSync(f *fixture, baseURL string) (op, error) {
	s := pkcs1.NewSigner(f.keys.MerchantKey)
	pub := &f.keys.WechatPayKey.PublicKey
	return floorSync(f, baseURL,
		func(digest []byte) error {
			_, err := s.Sign(nil, digest, crypto.SHA256)
			return err
		},
		func(digest, sig []byte) error { return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig) })
}

// floorSync is a floor's call with the given signature and verification.
func floorSync(f *fixture, baseURL string, sign func(digest []byte) error, verify func(digest, sig []byte) error) (op, error) {
	hc := &http.Client{Timeout: 30 * time.Second}
	msg := requestMessage(http.MethodPost, notifyPath, fixedTimestamp, fixedNonce, f.body)
	ans := f.srv.current()
	ansMsg := []byte(ans.Get("Wechatpay-Timestamp") + "\n" + ans.Get("Wechatpay-Nonce") + "\n\n")
	sig, err := base64.StdEncoding.DecodeString(ans.Get("Wechatpay-Signature"))
	if err != nil {
		return nil, err
	}
	url := baseURL + notifyPath
	return func(context.Context) error {
		sum := sha256.Sum256(msg)
		if err := sign(sum[:]); err != nil {
			return err
		}
		resp, err := hc.Post(url, "application/json", bytes.NewReader(f.body))
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("floor: status %d", resp.StatusCode)
		}
		sum = sha256.Sum256(ansMsg)
		return verify(sum[:], sig)
	}, nil
}

// newWxpaySync is this SDK's declarative chain with the JSON already encoded.
func newWxpaySync(f *fixture, baseURL string) (op, error) {
	k := f.keys
	c, err := wxpay.NewClient(
		wxpay.WithMerchant(k.MchID, k.MerchantSerial, k.MerchantKey),
		wxpay.WithWechatPayPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey),
		wxpay.WithBaseURL(baseURL))
	if err != nil {
		return nil, err
	}
	ch := c.Chain("v3/businesscircle/points/notify")
	return func(ctx context.Context) error {
		resp, err := ch.Post(ctx, wxpay.RawJSON(f.body))
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("wxpay: status %d", resp.StatusCode)
		}
		return nil
	}, nil
}

// newWechatpayGoSync is wechatpay-go's core.Client in public-key mode (its
// response validator is on) with its default http.Client; it encodes the map
// on every call.
func newWechatpayGoSync(f *fixture, baseURL string) (op, error) {
	k := f.keys
	c, err := core.NewClient(context.Background(), option.WithWechatPayPublicKeyAuthCipher(
		k.MchID, k.MerchantSerial, k.MerchantKey, k.PublicKeyID, &k.WechatPayKey.PublicKey))
	if err != nil {
		return nil, err
	}
	url := baseURL + notifyPath
	return func(ctx context.Context) error {
		res, err := c.Post(ctx, url, pointsBody)
		if err != nil {
			return err
		}
		res.Response.Body.Close() // already read by the validator
		if res.Response.StatusCode != http.StatusNoContent {
			return fmt.Errorf("wechatpay-go: status %d", res.Response.StatusCode)
		}
		return nil
	}, nil
}

// newGopaySync is gopay's V3BusinessPointsSync with AutoVerifySignByCert,
// which is what turns its verification on; its default HTTP client is left
// as it ships (v1.5.123's keeps connections alive; v1.5.109's dialled a new
// one per call). gopay reports
// success as Code == Success (0), which it sets only for a 204; any other
// status comes back as Code = the status with a nil error.
func newGopaySync(f *fixture, baseURL string) (op, error) {
	k := f.keys
	c, err := gopaywechat.NewClientV3(k.MchID, k.MerchantSerial, k.APIv3Key, string(f.privPEM))
	if err != nil {
		return nil, err
	}
	c.SetProxyHost(baseURL)
	if err := c.AutoVerifySignByCert(f.pubPEM, k.PublicKeyID); err != nil {
		return nil, err
	}
	bm := gopay.BodyMap(pointsBody)
	return func(ctx context.Context) error {
		rsp, err := c.V3BusinessPointsSync(ctx, bm)
		if err != nil {
			return err
		}
		if rsp.Code != gopaywechat.Success {
			return fmt.Errorf("gopay: status %d: %s", rsp.Code, rsp.Error)
		}
		return nil
	}, nil
}

// signImpls build one request signature: the Authorization header for the
// points sync. gopay has no cell: its authorization and rsaSign methods are
// unexported, and its exported PaySignOf… helpers sign a different message
// (the payment parameters for the front end) and make no header.
var signImpls = []impl{
	{"floor", newFloorSign},
	{"pkcs1", newBackendSign},
	{"wxpay", headerOp(wxpayAuthorizer)},
	{"wechatpay-go", headerOp(wechatpayGoAuthorizer)},
}

// newFloorSign is SHA-256 and an RSA-2048 PKCS#1 v1.5 signature of the
// message, with nothing around it.
func newFloorSign(f *fixture, _ string) (op, error) {
	msg := requestMessage(http.MethodPost, notifyPath, fixedTimestamp, fixedNonce, f.body)
	return func(context.Context) error {
		sum := sha256.Sum256(msg)
		_, err := rsa.SignPKCS1v15(nil, f.keys.MerchantKey, crypto.SHA256, sum[:])
		return err
	}, nil
}

// newBackendSign is the same as the floor through the SDK's RSA seam,
// internal/pkcs1: crypto/rsa, BoringCrypto or OpenSSL's libcrypto as the
// binary was built. It is the cell to set beside openssl speed.
func newBackendSign(f *fixture, _ string) (op, error) {
	msg := requestMessage(http.MethodPost, notifyPath, fixedTimestamp, fixedNonce, f.body)
	s := pkcs1.NewSigner(f.keys.MerchantKey)
	return func(context.Context) error {
		sum := sha256.Sum256(msg)
		_, err := s.Sign(nil, sum[:], crypto.SHA256)
		return err
	}, nil
}

// An authorizer makes one Authorization header; the sign cells of the SDKs
// are ops around one, and the tests check the headers they make.
type authorizer func(ctx context.Context) (string, error)

// headerOp turns an authorizer's constructor into a sign cell.
func headerOp(newAuth func(f *fixture) authorizer) func(*fixture, string) (op, error) {
	return func(f *fixture, _ string) (op, error) {
		auth := newAuth(f)
		return func(ctx context.Context) error {
			_, err := auth(ctx)
			return err
		}, nil
	}
}

// wxpayAuthorizer is wxpay.Signer.Authorization of a Signer made as
// WithMerchant makes it, with the key through wxpay.NewRSASigner (so with
// -tags openssl it signs with libcrypto). The caller passes the time and the nonce (the client
// makes them itself); here they are the clock and a nonce from crypto/rand
// on each call, as wechatpay-go makes its own.
func wxpayAuthorizer(f *fixture) authorizer {
	k := f.keys
	s, err := wxpay.NewSigner(k.MchID, k.MerchantSerial, wxpay.NewRSASigner(k.MerchantKey))
	if err != nil {
		panic(err) // GenerateKeys makes valid keys
	}
	return func(context.Context) (string, error) {
		return s.Authorization(http.MethodPost, notifyPath, f.body, time.Now().Unix(), rand.Text())
	}
}

// wechatpayGoAuthorizer is the credential core.Client signs with:
// WechatPayCredentials around a SHA256WithRSASigner.
func wechatpayGoAuthorizer(f *fixture) authorizer {
	k := f.keys
	cred := &credentials.WechatPayCredentials{Signer: &signers.SHA256WithRSASigner{
		MchID: k.MchID, CertificateSerialNo: k.MerchantSerial, PrivateKey: k.MerchantKey,
	}}
	body := string(f.body)
	return func(ctx context.Context) (string, error) {
		return cred.GenerateAuthorizationHeader(ctx, http.MethodPost, notifyPath, body)
	}
}

// verifyBody is the answer the verify cells check: a 200 with a small JSON
// body (the authorization query's), so the body is part of the message.
var verifyBody = []byte(`{"openid":"oWmnN4xxxxxxxxxxe92NHIGf1xd8","authorize_state":"AUTHORIZED","authorize_time":"2020-05-20T13:29:35+08:00"}`)

// verifyImpls check one signed answer: its headers and verifyBody.
var verifyImpls = []impl{
	{"floor", newFloorVerify},
	{"wxpay", newWxpayVerify},
	{"wechatpay-go", newWechatpayGoVerify},
	{"gopay", newGopayVerify},
}

// verifyAnswer signs verifyBody now, for a verify cell.
func verifyAnswer(f *fixture) http.Header {
	return signedAnswer(f.keys, time.Now().Unix(), verifyBody)
}

// newFloorVerify is SHA-256 and an RSA-2048 PKCS#1 v1.5 verification of a
// message and signature prepared ahead of time.
func newFloorVerify(f *fixture, _ string) (op, error) {
	h := verifyAnswer(f)
	msg := []byte(h.Get("Wechatpay-Timestamp") + "\n" + h.Get("Wechatpay-Nonce") + "\n" + string(verifyBody) + "\n")
	sig, err := base64.StdEncoding.DecodeString(h.Get("Wechatpay-Signature"))
	if err != nil {
		return nil, err
	}
	return func(context.Context) error {
		sum := sha256.Sum256(msg)
		return rsa.VerifyPKCS1v15(&f.keys.WechatPayKey.PublicKey, crypto.SHA256, sum[:], sig)
	}, nil
}

// newWxpayVerify is wxpay.Verifier.Verify: the four headers, the clock, the
// key by serial, the signature.
func newWxpayVerify(f *fixture, _ string) (op, error) {
	ring := wxpay.NewKeyRing()
	if err := ring.AddPublicKey(f.keys.PublicKeyID, &f.keys.WechatPayKey.PublicKey); err != nil {
		return nil, err
	}
	v := &wxpay.Verifier{Keys: ring}
	h := verifyAnswer(f)
	return func(context.Context) error {
		_, err := v.Verify(h, verifyBody)
		return err
	}, nil
}

// newWechatpayGoVerify is the response validator core.Client runs on every
// 2xx answer: it reads the body, checks the headers and the clock and calls
// the public-key verifier. The cell rewinds one reader instead of making a
// new body per call, so only the validator's own work is counted.
func newWechatpayGoVerify(f *fixture, _ string) (op, error) {
	k := f.keys
	val := validators.NewWechatPayResponseValidator(
		verifiers.NewSHA256WithRSAPubkeyVerifier(k.PublicKeyID, k.WechatPayKey.PublicKey))
	rd := bytes.NewReader(verifyBody)
	body := io.NopCloser(rd)
	resp := &http.Response{StatusCode: http.StatusOK, Header: verifyAnswer(f)}
	return func(ctx context.Context) error {
		rd.Reset(verifyBody)
		resp.Body = body
		return val.Validate(ctx, resp)
	}, nil
}

// newGopayVerify does what gopay does after a call, with its exported
// pieces: read the four headers and the body into a SignInfo, look the key
// up in the client's SnCertMap and call V3VerifySignByPK (the unexported
// verifySyncSign inlines the same code). gopay checks no timestamp.
func newGopayVerify(f *fixture, _ string) (op, error) {
	k := f.keys
	c, err := gopaywechat.NewClientV3(k.MchID, k.MerchantSerial, k.APIv3Key, string(f.privPEM))
	if err != nil {
		return nil, err
	}
	if err := c.AutoVerifySignByCert(f.pubPEM, k.PublicKeyID); err != nil {
		return nil, err
	}
	h := verifyAnswer(f)
	return func(context.Context) error {
		si := &gopaywechat.SignInfo{
			HeaderTimestamp: h.Get("Wechatpay-Timestamp"),
			HeaderNonce:     h.Get("Wechatpay-Nonce"),
			HeaderSignature: h.Get("Wechatpay-Signature"),
			HeaderSerial:    h.Get("Wechatpay-Serial"),
			SignBody:        string(verifyBody),
		}
		pub, ok := c.SnCertMap.Load(si.HeaderSerial)
		if !ok {
			return fmt.Errorf("gopay: no key %s", si.HeaderSerial)
		}
		return gopaywechat.V3VerifySignByPK(si.HeaderTimestamp, si.HeaderNonce, si.SignBody, si.HeaderSignature, pub)
	}, nil
}
