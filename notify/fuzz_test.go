package notify_test

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/notify"
)

// FuzzParse feeds Parse arbitrary headers and bodies, starting from the
// signed vectors. Parse must never panic, must fail with an error naming one
// of the documented checks, and may succeed only for a notification whose
// signature an independent verifier accepts and whose resource an
// independent AES-GCM decrypts to the same plaintext. Random input therefore
// always fails.
func FuzzParse(f *testing.F) {
	v, ring := loadVectors(f)
	at := v.Notifications[0].Now
	for _, tv := range v.Notifications {
		if tv.Now != at {
			f.Fatalf("vector %s has another clock", tv.Name)
		}
		h := tv.Headers
		f.Add(h["Wechatpay-Timestamp"], h["Wechatpay-Nonce"], h["Wechatpay-Signature"], h["Wechatpay-Serial"], h["Wechatpay-Signature-Type"], tv.Body)
	}
	h := v.Notifications[0].Headers
	f.Add(h["Wechatpay-Timestamp"], h["Wechatpay-Nonce"], wxpay.ProbeSignaturePrefix+h["Wechatpay-Signature"], h["Wechatpay-Serial"], "", v.Notifications[0].Body)
	f.Add("", "", "", "", "", "")
	f.Add("1795435260", "n", "AAAA", v.PlatformCertificate.SerialNo, "WECHATPAY2-SHA256-RSA2048", `{"id":"x","event_type":"y","resource":{}}`)

	apiv3Key := v.Notifications[0].APIv3Key
	p, err := notify.NewParser(&wxpay.Verifier{Keys: ring, Now: func() time.Time { return time.Unix(at, 0) }}, apiv3Key)
	if err != nil {
		f.Fatal(err)
	}
	checks := []error{wxpay.ErrMissingHeader, wxpay.ErrSignatureType, wxpay.ErrMalformedTimestamp, wxpay.ErrClockSkew, wxpay.ErrUnknownSerial, wxpay.ErrBadSignature,
		wxpay.ErrProbeSignature, wxpay.ErrDecrypt, notify.ErrBodyTooLarge, notify.ErrMalformed, notify.ErrUnsupportedAlgorithm}

	f.Fuzz(func(t *testing.T, ts, nonce, sig, serial, sigType, body string) {
		h := http.Header{}
		h.Set("Wechatpay-Timestamp", ts)
		h.Set("Wechatpay-Nonce", nonce)
		h.Set("Wechatpay-Signature", sig)
		h.Set("Wechatpay-Serial", serial)
		if sigType != "" {
			h.Set("Wechatpay-Signature-Type", sigType)
		}
		n, err := p.Parse(h, []byte(body))
		if err != nil {
			if n != nil {
				t.Fatalf("Parse returned a notification with error %v", err)
			}
			for _, c := range checks {
				if errors.Is(err, c) {
					return
				}
			}
			t.Fatalf("error %v names none of the checks", err)
		}
		if n == nil {
			t.Fatal("Parse returned neither a notification nor an error")
		}
		// Success: the signature must really verify...
		pub, ok := ring.Lookup(serial)
		if !ok || serial != n.Serial {
			t.Fatalf("accepted serial %q (notification says %q)", serial, n.Serial)
		}
		if sigType != "" && sigType != "WECHATPAY2-SHA256-RSA2048" {
			t.Fatalf("accepted Wechatpay-Signature-Type %q", sigType)
		}
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || sec < at-300 || sec > at+300 {
			t.Fatalf("accepted timestamp %q", ts)
		}
		raw, err := base64.StdEncoding.DecodeString(sig)
		sum := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + body + "\n"))
		if err != nil || rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], raw) != nil {
			t.Fatalf("accepted a signature the independent verifier rejects")
		}
		// ...and the plaintext must be what the resource decrypts to.
		var e struct {
			Resource struct {
				Ciphertext     string `json:"ciphertext"`
				Nonce          string `json:"nonce"`
				AssociatedData string `json:"associated_data"`
			} `json:"resource"`
		}
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			t.Fatal(err)
		}
		block, _ := aes.NewCipher([]byte(apiv3Key))
		gcm, _ := cipher.NewGCM(block)
		ct, err := base64.StdEncoding.DecodeString(strings.TrimSpace(e.Resource.Ciphertext))
		if err != nil || len(e.Resource.Nonce) != gcm.NonceSize() {
			t.Fatalf("accepted ciphertext %q with nonce %q", e.Resource.Ciphertext, e.Resource.Nonce)
		}
		plain, err := gcm.Open(nil, []byte(e.Resource.Nonce), ct, []byte(e.Resource.AssociatedData))
		if err != nil || string(plain) != string(n.Plaintext) {
			t.Fatalf("plaintext %q, independent decryption %q, %v", n.Plaintext, plain, err)
		}
	})
}
