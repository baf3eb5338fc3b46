package notify_test

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/internal/wxtest"
	"github.com/seed2ac2593f/wxpay/notify"
)

// This file builds notifications the way WeChat Pay does, with code written
// from the protocol text (crypto/rsa, crypto/aes and cipher.NewGCM used
// directly), not with the signer or cipher of the package under test.

// now is the parser's clock in these tests. It is the real time so that the
// generated platform certificate (valid from an hour ago) is in force.
var now = time.Now().Truncate(time.Second)

// Sample resources of the three business-circle events (docs/protocol.md §7).
const (
	transactionPlain = `{"mchid":"1230000109","merchant_name":"腾讯广场","shop_name":"微信支付","shop_number":"123456","appid":"wxd678efh567hg6787","openid":"oUpF8uMuAJ2pxb1Q9zNjWUHsd","amount":200,"time_end":"2020-05-20T13:29:35+08:00","transaction_id":"1234567890"}`
	refundPlain      = `{"mchid":"1234567890","merchant_name":"万象天地","shop_name":"重庆烤鱼（万象天地店）","shop_number":"50001","openid":"swe23be954ffots3jrvjweslfmde","appid":"wx2c23be954ff1624f","refund_time":"2018-05-23T12:13:50+08:00","pay_amount":100,"refund_amount":100,"transaction_id":"42000001217201407033233368018","refund_id":"1217752501201407033233368999"}`
	authPlain        = `{"openid":"oWmnN4xxxxxxxxxxe92NHIGf1xd8","code":"478515832665","mchid":"1230000109","auth_type":"REGISTERED_MODE"}`
)

// spec describes one notification delivery. newSpec fills it with a valid
// MALL_TRANSACTION.SUCCESS signed with the WeChat Pay public key; tests
// change what their rule is about.
type spec struct {
	// The envelope; empty strings are left out of the JSON.
	ID, CreateTime, EventType, ResourceType, Summary string
	OriginalType, Algorithm, AssociatedData, Nonce   string
	NoResource                                       bool
	Plaintext                                        string

	// Encryption.
	EncryptKey       string  // APIv3 key the resource is sealed with
	EncryptAD        *string // associated data sealed with, if not AssociatedData
	TamperCiphertext bool    // flip a bit of the sealed ciphertext before signing

	// Body, if set, is sent instead of the envelope above.
	Body []byte

	// Signing.
	SignKey       *rsa.PrivateKey
	Serial        string
	Timestamp     int64
	SigNonce      string
	SignedBody    []byte // the signature covers this instead of the body sent
	Probe         bool   // prefix the signature with WECHATPAY/SIGNTEST/
	SignatureType string // Wechatpay-Signature-Type; "" leaves it out
	// EmptySignatureType sends Wechatpay-Signature-Type with an empty value.
	EmptySignatureType bool
	// TimestampText, if set, replaces the Wechatpay-Timestamp header sent.
	TimestampText string
	Drop          string // a header to leave out
	RequestID     string
}

func newSpec() *spec {
	k := wxtest.SharedKeys()
	return &spec{
		ID:             "EV-2018022511223320873",
		CreateTime:     "2026-11-23T13:29:35+08:00",
		EventType:      "MALL_TRANSACTION.SUCCESS",
		ResourceType:   "encrypt-resource",
		Summary:        "支付成功",
		OriginalType:   "mall_transaction",
		Algorithm:      "AEAD_AES_256_GCM",
		AssociatedData: "mall_transaction",
		Nonce:          "GiCVO6LB04WZ",
		Plaintext:      transactionPlain,
		EncryptKey:     k.APIv3Key,
		SignKey:        k.WechatPayKey,
		Serial:         k.PublicKeyID,
		Timestamp:      now.Unix() - 2,
		SigNonce:       "a8c5d0b1e2f34a5b6c7d8e9f0a1b2c3d",
		SignatureType:  "WECHATPAY2-SHA256-RSA2048",
		RequestID:      "08F5B8C2B506102C18FDDFEEA30620BE821E28EDC405-0",
	}
}

// seal encrypts plaintext as AEAD_AES_256_GCM: AES-256 with the APIv3 key,
// the nonce's bytes as IV, Base64 of ciphertext ‖ tag.
func seal(t testing.TB, key, nonce, ad string, plaintext []byte) []byte {
	block, err := aes.NewCipher([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return gcm.Seal(nil, []byte(nonce), plaintext, []byte(ad))
}

// signature signs "timestamp\nnonce\nbody\n" with RSASSA-PKCS1-v1_5 SHA-256.
func signature(key *rsa.PrivateKey, ts int64, nonce string, body []byte) string {
	msg := strconv.FormatInt(ts, 10) + "\n" + nonce + "\n" + string(body) + "\n"
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// build returns the headers and body of the delivery s describes.
func (s *spec) build(t testing.TB) (http.Header, []byte) {
	t.Helper()
	body := s.Body
	if body == nil {
		type resource struct {
			OriginalType   string `json:"original_type,omitempty"`
			Algorithm      string `json:"algorithm,omitempty"`
			Ciphertext     string `json:"ciphertext,omitempty"`
			AssociatedData string `json:"associated_data"`
			Nonce          string `json:"nonce,omitempty"`
		}
		type envelope struct {
			ID           string    `json:"id,omitempty"`
			CreateTime   string    `json:"create_time,omitempty"`
			ResourceType string    `json:"resource_type,omitempty"`
			EventType    string    `json:"event_type,omitempty"`
			Summary      string    `json:"summary,omitempty"`
			Resource     *resource `json:"resource,omitempty"`
		}
		e := envelope{ID: s.ID, CreateTime: s.CreateTime, ResourceType: s.ResourceType, EventType: s.EventType, Summary: s.Summary}
		if !s.NoResource {
			ad := s.AssociatedData
			if s.EncryptAD != nil {
				ad = *s.EncryptAD
			}
			ct := seal(t, s.EncryptKey, s.Nonce, ad, []byte(s.Plaintext))
			if s.TamperCiphertext {
				ct[len(ct)/2] ^= 0x01
			}
			e.Resource = &resource{
				OriginalType: s.OriginalType, Algorithm: s.Algorithm, AssociatedData: s.AssociatedData,
				Nonce: s.Nonce, Ciphertext: base64.StdEncoding.EncodeToString(ct),
			}
		}
		var err error
		if body, err = json.Marshal(e); err != nil {
			t.Fatal(err)
		}
	}
	signed := body
	if s.SignedBody != nil {
		signed = s.SignedBody
	}
	sig := signature(s.SignKey, s.Timestamp, s.SigNonce, signed)
	if s.Probe {
		sig = wxpay.ProbeSignaturePrefix + sig
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Request-ID", s.RequestID)
	h.Set("Wechatpay-Timestamp", strconv.FormatInt(s.Timestamp, 10))
	h.Set("Wechatpay-Nonce", s.SigNonce)
	h.Set("Wechatpay-Signature", sig)
	h.Set("Wechatpay-Serial", s.Serial)
	if s.SignatureType != "" {
		h.Set("Wechatpay-Signature-Type", s.SignatureType)
	}
	if s.EmptySignatureType {
		h["Wechatpay-Signature-Type"] = []string{""}
	}
	if s.TimestampText != "" {
		h.Set("Wechatpay-Timestamp", s.TimestampText)
	}
	if s.Drop != "" {
		h.Del(s.Drop)
	}
	return h, body
}

// Key rings of the two verification modes (docs/protocol.md §3.3, §3.4) and of a
// migration between them, from the keys generated once per test binary.
func publicKeyRing(t testing.TB) *wxpay.KeyRing {
	k := wxtest.SharedKeys()
	r := wxpay.NewKeyRing()
	if err := r.AddPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey); err != nil {
		t.Fatal(err)
	}
	return r
}

func platformRing(t testing.TB) *wxpay.KeyRing {
	r := wxpay.NewKeyRing()
	if err := r.AddCertificates(wxtest.SharedKeys().PlatformCert); err != nil {
		t.Fatal(err)
	}
	return r
}

func bothRing(t testing.TB) *wxpay.KeyRing {
	r := publicKeyRing(t)
	if err := r.AddCertificates(wxtest.SharedKeys().PlatformCert); err != nil {
		t.Fatal(err)
	}
	return r
}

// newParser returns a parser with the test clock, the given ring and the
// shared APIv3 key.
func newParser(t testing.TB, ring *wxpay.KeyRing) *notify.Parser {
	t.Helper()
	p, err := notify.NewParser(&wxpay.Verifier{Keys: ring, Now: func() time.Time { return now }}, wxtest.SharedKeys().APIv3Key)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ptr[T any](v T) *T { return &v }
