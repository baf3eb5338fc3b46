package wxpay

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/seed2ac2593f/wxpay/internal/wxauth"
)

// SignatureScheme is the only Authorization scheme and Wechatpay-Signature-Type
// of APIv3 with RSA keys.
const SignatureScheme = wxauth.SignatureScheme

// ProbeSignaturePrefix starts every deliberately invalid signature WeChat Pay
// sends to check that merchants verify (签名探测流量).
const ProbeSignaturePrefix = "WECHATPAY/SIGNTEST/"

// Signer signs requests as a merchant: the five-line message of
// 签名生成 (https://pay.weixin.qq.com/doc/v3/merchant/4012365336) with the
// merchant API private key, SHA256withRSA, Base64. NewSigner checks the
// fields; a Signer written as a literal signs the same way, with Key.
type Signer struct {
	MchID  string // the calling merchant: a service provider signs with its own mchid
	Serial string // serial of the merchant API certificate
	// Key is the merchant API private key: an *rsa.PrivateKey (see
	// LoadPrivateKey) or any crypto.Signer whose Public is an RSA key of at
	// least MinKeyBits, such as an HSM, a cloud KMS, a PKCS#11 token or a
	// signing service. It is asked for PKCS#1 v1.5 signatures of SHA-256
	// digests; one that implements ContextSigner gets the call's context.
	// An *rsa.PrivateKey signs with crypto/rsa; NewRSASigner(key) signs
	// with the build's RSA code (libcrypto with -tags openssl), as
	// WithMerchant does.
	Key crypto.Signer
}

// ContextSigner is implemented by a merchant key that can take the call's
// context, such as the client of a KMS or a signing service, so that a
// cancelled or timed-out call stops waiting for its signature. The client
// calls SignContext instead of Sign when the key has it.
type ContextSigner interface {
	SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error)
}

// SignError reports that the merchant key could not sign a request, which
// was therefore never sent: WeChat Pay has not seen it, so it is not retried
// as an answer from WeChat Pay would be. Err is the key's own error (an HSM
// or KMS failure, a cancelled context, a signature of the wrong size).
type SignError struct {
	MchID string
	Err   error
}

// Error names the merchant whose key failed.
func (e *SignError) Error() string {
	return "wxpay: merchant " + e.MchID + ": signing the request failed, nothing was sent: " + e.Err.Error()
}

// Unwrap returns the key's error.
func (e *SignError) Unwrap() error { return e.Err }

// NewSigner checks the merchant's mchid, certificate serial (upper-cased, as
// WeChat Pay writes it) and key: any crypto.Signer with an RSA public key of
// at least MinKeyBits, used as given.
func NewSigner(mchid, certSerial string, key crypto.Signer) (*Signer, error) {
	switch {
	case mchid == "":
		return nil, errors.New("wxpay: mchid is empty")
	case certSerial == "":
		return nil, errors.New("wxpay: certificate serial is empty")
	case strings.ContainsAny(mchid+certSerial, "\"\r\n"):
		return nil, errors.New("wxpay: mchid and serial must not contain quotes or line breaks")
	}
	if rk, ok := key.(*rsa.PrivateKey); key == nil || ok && rk == nil {
		return nil, fmt.Errorf("wxpay: merchant %s: private key is nil", mchid)
	}
	pub, ok := key.Public().(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("wxpay: merchant %s: the signer's public key is %T, want an RSA key", mchid, key.Public())
	}
	if err := checkKeySize(pub); err != nil {
		return nil, fmt.Errorf("wxpay: merchant %s: %w", mchid, err)
	}
	return &Signer{MchID: mchid, Serial: strings.ToUpper(certSerial), Key: key}, nil
}

// Authorization signs one request and returns the Authorization header value.
// target is the request-target exactly as sent: escaped path plus "?" and the
// raw query if there is one; body is the exact bytes sent (nil for GET). A
// failure of the key is a *SignError.
func (s *Signer) Authorization(method, target string, body []byte, timestamp int64, nonce string) (string, error) {
	return s.AuthorizationContext(context.Background(), method, target, body, timestamp, nonce)
}

// AuthorizationContext is Authorization with the call's context, which a Key
// that implements ContextSigner receives.
func (s *Signer) AuthorizationContext(ctx context.Context, method, target string, body []byte, timestamp int64, nonce string) (string, error) {
	d := wxauth.NewDigester()
	defer d.Release()
	d.Buf = wxauth.AppendRequestHead(d.Buf, method, target, timestamp, nonce)
	sum := d.Sum(body)
	sig, err := s.sign(ctx, sum[:])
	if err != nil {
		return "", &SignError{MchID: s.MchID, Err: err}
	}
	return formatAuthorization(s.MchID, nonce, sig, timestamp, s.Serial), nil
}

// sign makes the PKCS#1 v1.5 signature of a SHA-256 digest with Key.
func (s *Signer) sign(ctx context.Context, digest []byte) ([]byte, error) {
	if s.Key == nil {
		return nil, errors.New("no private key")
	}
	var sig []byte
	var err error
	if cs, ok := s.Key.(ContextSigner); ok {
		sig, err = cs.SignContext(ctx, digest, crypto.SHA256)
	} else {
		sig, err = s.Key.Sign(rand.Reader, digest, crypto.SHA256)
	}
	if err != nil {
		return nil, err
	}
	// A short answer from an HSM or a signing service would otherwise
	// surface as WeChat Pay's SIGN_ERROR, far from its cause.
	if pub, ok := s.Key.Public().(*rsa.PublicKey); ok && len(sig) != pub.Size() {
		return nil, fmt.Errorf("the key returned a signature of %d bytes, want %d (an RSA PKCS#1 v1.5 signature)", len(sig), pub.Size())
	}
	return sig, nil
}

// formatAuthorization writes the header in the order of WeChat Pay's own
// example; servers accept any order.
func formatAuthorization(mchid, nonce string, sig []byte, timestamp int64, serial string) string {
	sigLen := base64.StdEncoding.EncodedLen(len(sig))
	var b strings.Builder
	b.Grow(len(SignatureScheme) + len(mchid) + len(nonce) + sigLen + len(serial) + 80)
	b.WriteString(SignatureScheme)
	b.WriteString(` mchid="`)
	b.WriteString(mchid)
	b.WriteString(`",nonce_str="`)
	b.WriteString(nonce)
	b.WriteString(`",signature="`)
	var enc [512]byte
	if sigLen <= len(enc) {
		base64.StdEncoding.Encode(enc[:sigLen], sig)
		b.Write(enc[:sigLen])
	} else {
		b.WriteString(base64.StdEncoding.EncodeToString(sig))
	}
	b.WriteString(`",timestamp="`)
	var ts [20]byte
	b.Write(strconv.AppendInt(ts[:0], timestamp, 10))
	b.WriteString(`",serial_no="`)
	b.WriteString(serial)
	b.WriteString(`"`)
	return b.String()
}
