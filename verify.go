package wxpay

import (
	"crypto"
	"crypto/rsa"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/seed2ac2593f/wxpay/internal/clip"
	"github.com/seed2ac2593f/wxpay/internal/wxauth"
)

// DefaultMaxClockSkew is how far Wechatpay-Timestamp may be from our clock:
// five minutes either way, as WeChat Pay allows for requests.
const DefaultMaxClockSkew = 300 * time.Second

// Verifier checks signed answers and notifications (验签,
// https://pay.weixin.qq.com/doc/v3/merchant/4012365342): the four Wechatpay-*
// headers, the clock, the key named by Wechatpay-Serial and the signature
// over "timestamp\nnonce\nbody\n". Its zero value, with Keys set, is ready.
type Verifier struct {
	Keys         *KeyRing
	MaxClockSkew time.Duration    // 0 means DefaultMaxClockSkew
	Now          func() time.Time // nil means time.Now
}

// Verify checks header and the exact body bytes received, in the order of
// docs/protocol.md §3.2: headers present, signature type, probe prefix,
// timestamp form, clock, serial known, signature. It returns the serial of
// the key that verified, or a *VerificationError wrapping ErrMissingHeader,
// ErrSignatureType, ErrProbeSignature, ErrMalformedTimestamp, ErrClockSkew,
// ErrUnknownSerial or ErrBadSignature. Header values in its Reason are
// bounded and stripped of control characters.
func (v *Verifier) Verify(header http.Header, body []byte) (serial string, err error) {
	tsText := header.Get("Wechatpay-Timestamp")
	nonce := header.Get("Wechatpay-Nonce")
	sigText := header.Get("Wechatpay-Signature")
	serial = header.Get("Wechatpay-Serial")
	fail := func(sentinel error, format string, args ...any) (string, error) {
		return "", &VerificationError{Err: sentinel, Reason: fmt.Sprintf(format, args...), Serial: serial}
	}
	for _, h := range [...]struct{ name, value string }{
		{"Wechatpay-Timestamp", tsText}, {"Wechatpay-Nonce", nonce},
		{"Wechatpay-Signature", sigText}, {"Wechatpay-Serial", serial},
	} {
		if h.value == "" {
			return fail(ErrMissingHeader, "%s is missing", h.name)
		}
	}
	// Absent is accepted (not every sender sets it); present, it must name the
	// one scheme, so an empty or repeated value is refused too.
	if typ, ok := header[http.CanonicalHeaderKey("Wechatpay-Signature-Type")]; ok && (len(typ) != 1 || typ[0] != SignatureScheme) {
		return fail(ErrSignatureType, "Wechatpay-Signature-Type %s, want %s", clip.Quote(strings.Join(typ, ", "), 64), SignatureScheme)
	}
	if strings.HasPrefix(sigText, ProbeSignaturePrefix) {
		return fail(ErrProbeSignature, "deliberately invalid; a notification carrying it is answered with a failure and re-sent")
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	ts, perr := wxauth.ParseTimestamp(tsText)
	if perr != nil {
		return fail(ErrMalformedTimestamp, "Wechatpay-Timestamp %s", clip.Quote(tsText, 32))
	}
	maxSkew := v.MaxClockSkew
	if maxSkew <= 0 {
		maxSkew = DefaultMaxClockSkew
	}
	t := now()
	if d := t.Unix() - ts; d > int64(maxSkew/time.Second) || -d > int64(maxSkew/time.Second) {
		return fail(ErrClockSkew, "Wechatpay-Timestamp %d is %ds from our clock, limit %s", ts, d, maxSkew)
	}
	set := &keySet{}
	if v.Keys != nil {
		set = v.Keys.load()
	}
	k, ok := set.byID[serial]
	if !ok {
		return fail(ErrUnknownSerial, "the answer is signed with %s, which the client does not trust; it trusts %s. %s",
			clip.Quote(serial, 64), set.describe(), set.unknownSerialHint(serial))
	}
	// An expired platform certificate no longer vouches for anything. NotBefore
	// is not checked: WeChat Pay starts signing with a new certificate at once.
	if k.cert != nil && t.After(k.cert.NotAfter) {
		return fail(ErrUnknownSerial, "platform certificate %s expired at %s; download the current ones (Client.DownloadCertificates)",
			serial, k.cert.NotAfter.Format(time.RFC3339))
	}
	var sig wxauth.RawSignature
	if !wxauth.DecodeSignature(sigText, &sig) {
		return fail(ErrBadSignature, "Wechatpay-Signature is not Base64")
	}
	d := wxauth.NewDigester()
	d.Buf = append(d.Buf, tsText...)
	d.Buf = append(d.Buf, '\n')
	d.Buf = append(d.Buf, nonce...)
	d.Buf = append(d.Buf, '\n')
	sum := d.Sum(body)
	d.Release()
	if rsa.VerifyPKCS1v15(k.key, crypto.SHA256, sum[:], sig.Bytes()) != nil {
		return fail(ErrBadSignature, "signature does not match the body with key %s", serial)
	}
	return serial, nil
}
