package notify_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/internal/wxtest"
	"github.com/seed2ac2593f/wxpay/notify"
)

func TestParseAcceptsEachBusinessCircleEvent(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		eventType, originalType, associatedData, plaintext string
	}{
		{"MALL_TRANSACTION.SUCCESS", "mall_transaction", "mall_transaction", transactionPlain},
		{"MALL_REFUND.SUCCESS", "mall_refund", "", refundPlain}, // documents show empty associated data
		{"MALL_AUTH.ACTIVATE_CARD", "mall_auth", "mall_auth", authPlain},
	} {
		t.Run(tt.eventType, func(t *testing.T) {
			t.Parallel()
			s := newSpec()
			s.EventType, s.OriginalType, s.AssociatedData, s.Plaintext = tt.eventType, tt.originalType, tt.associatedData, tt.plaintext
			h, body := s.build(t)

			n, err := newParser(t, publicKeyRing(t)).Parse(h, body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if string(n.Plaintext) != tt.plaintext {
				t.Errorf("Plaintext = %s, want %s", n.Plaintext, tt.plaintext)
			}
			var sent struct{ Resource notify.Resource }
			if err := json.Unmarshal(body, &sent); err != nil {
				t.Fatal(err)
			}
			want := notify.Notification{
				ID: s.ID, CreateTime: s.CreateTime, EventType: tt.eventType, ResourceType: "encrypt-resource",
				Summary: s.Summary, Resource: sent.Resource, Plaintext: n.Plaintext,
				Serial: wxtest.SharedKeys().PublicKeyID, RequestID: s.RequestID,
			}
			if n.Resource.Algorithm != "AEAD_AES_256_GCM" || n.Resource.OriginalType != tt.originalType ||
				n.Resource.AssociatedData != tt.associatedData || n.Resource.Nonce != s.Nonce {
				t.Errorf("Resource = %+v", n.Resource)
			}
			if !equalNotification(*n, want) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", *n, want)
			}
		})
	}
}

func equalNotification(a, b notify.Notification) bool {
	return a.ID == b.ID && a.CreateTime == b.CreateTime && a.EventType == b.EventType &&
		a.ResourceType == b.ResourceType && a.Summary == b.Summary && a.Resource == b.Resource &&
		bytes.Equal(a.Plaintext, b.Plaintext) && a.Serial == b.Serial && a.RequestID == b.RequestID
}

func TestParseTrimsStraySpacesOfTheEnvelope(t *testing.T) {
	t.Parallel()
	s := newSpec()
	s.ID, s.CreateTime, s.EventType = " EV-1 ", "2026-11-23T13:29:35+08:00 ", " MALL_TRANSACTION.SUCCESS"
	s.ResourceType, s.Summary, s.OriginalType, s.Algorithm = "encrypt-resource ", " 支付成功 ", "mall_transaction ", " AEAD_AES_256_GCM "
	h, body := s.build(t)

	n, err := newParser(t, publicKeyRing(t)).Parse(h, body)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	got := []string{n.ID, n.CreateTime, n.EventType, n.ResourceType, n.Summary, n.Resource.OriginalType, n.Resource.Algorithm}
	want := []string{"EV-1", "2026-11-23T13:29:35+08:00", "MALL_TRANSACTION.SUCCESS", "encrypt-resource", "支付成功", "mall_transaction", "AEAD_AES_256_GCM"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("fields %q, want %q", got, want)
	}
}

func TestParseKeepsNonceAndAssociatedDataVerbatim(t *testing.T) {
	t.Parallel()
	s := newSpec()
	s.AssociatedData = " mall_transaction " // sealed with the spaces: they must be kept
	h, body := s.build(t)
	n, err := newParser(t, publicKeyRing(t)).Parse(h, body)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if n.Resource.AssociatedData != " mall_transaction " {
		t.Errorf("AssociatedData = %q", n.Resource.AssociatedData)
	}
}

func TestParseHandsOverUnknownEventTypesRaw(t *testing.T) {
	t.Parallel()
	s := newSpec()
	s.EventType, s.OriginalType, s.AssociatedData = "MALL_PARKING.SOMETHING_NEW", "mall_parking", "mall_parking"
	s.Plaintext = `{"new_field":[1,2,3],"nested":{"x":"y"}}`
	h, body := s.build(t)

	n, err := newParser(t, publicKeyRing(t)).Parse(h, body)
	if err != nil {
		t.Fatalf("an unknown event type is not an error: %v", err)
	}
	if n.EventType != "MALL_PARKING.SOMETHING_NEW" || string(n.Plaintext) != s.Plaintext {
		t.Errorf("got %s %s", n.EventType, n.Plaintext)
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	for _, tt := range []struct {
		rule string
		mod  func(*spec)
		want error
	}{
		// Verification comes first (docs/protocol.md §5.1, §3).
		{"a body changed after signing", func(s *spec) { s.SignedBody = []byte(`{"id":"other"}`) }, wxpay.ErrBadSignature},
		{"a signature by a foreign key", func(s *spec) { s.SignKey = k.MerchantKey }, wxpay.ErrBadSignature},
		{"a signature by the platform key under the public key id", func(s *spec) { s.SignKey = k.PlatformKey }, wxpay.ErrBadSignature},
		{"an unknown serial", func(s *spec) { s.Serial = wxtest.UnknownSerial }, wxpay.ErrUnknownSerial},
		{"a timestamp 301 s old", func(s *spec) { s.Timestamp = now.Unix() - 301 }, wxpay.ErrClockSkew},
		{"a timestamp 301 s ahead", func(s *spec) { s.Timestamp = now.Unix() + 301 }, wxpay.ErrClockSkew},
		{"the signature probe WECHATPAY/SIGNTEST/", func(s *spec) { s.Probe = true }, wxpay.ErrProbeSignature},
		{"no Wechatpay-Timestamp", func(s *spec) { s.Drop = "Wechatpay-Timestamp" }, wxpay.ErrMissingHeader},
		{"no Wechatpay-Nonce", func(s *spec) { s.Drop = "Wechatpay-Nonce" }, wxpay.ErrMissingHeader},
		{"no Wechatpay-Signature", func(s *spec) { s.Drop = "Wechatpay-Signature" }, wxpay.ErrMissingHeader},
		{"no Wechatpay-Serial", func(s *spec) { s.Drop = "Wechatpay-Serial" }, wxpay.ErrMissingHeader},
		{"an unsigned body that is not even JSON", func(s *spec) {
			s.Body, s.SignedBody = []byte("<xml>not json</xml>"), []byte("something else")
		}, wxpay.ErrBadSignature},
		{"an unsigned body with a resource for another APIv3 key", func(s *spec) {
			s.EncryptKey, s.SignKey = strings.Repeat("x", 32), k.MerchantKey
		}, wxpay.ErrBadSignature},
		{"a Wechatpay-Signature-Type other than WECHATPAY2-SHA256-RSA2048", func(s *spec) {
			s.SignatureType = "WECHATPAY2-SM2-WITH-SM3"
		}, wxpay.ErrSignatureType},
		{"an empty Wechatpay-Signature-Type, as Verifier.Verify refuses it", func(s *spec) {
			s.EmptySignatureType = true
		}, wxpay.ErrSignatureType},
		{"a timestamp that is not Unix seconds", func(s *spec) {
			s.TimestampText = "2026-11-29T12:00:00Z"
		}, wxpay.ErrMalformedTimestamp},

		// Then the envelope, which is signed but may still be unusable.
		{"a signed body that is not JSON", func(s *spec) { s.Body = []byte("not json") }, notify.ErrMalformed},
		{"a signed JSON array", func(s *spec) { s.Body = []byte(`[1,2]`) }, notify.ErrMalformed},
		{"a signed JSON null", func(s *spec) { s.Body = []byte(`null`) }, notify.ErrMalformed},
		{"an id of the wrong type", func(s *spec) { s.Body = []byte(`{"id":1,"event_type":"X","resource":{}}`) }, notify.ErrMalformed},
		{"no id", func(s *spec) { s.ID = "" }, notify.ErrMalformed},
		{"an id of spaces only", func(s *spec) { s.ID = "   " }, notify.ErrMalformed},
		{"no event_type", func(s *spec) { s.EventType = "" }, notify.ErrMalformed},
		{"no resource", func(s *spec) { s.NoResource = true }, notify.ErrMalformed},
		{"a null resource", func(s *spec) {
			s.Body = []byte(`{"id":"EV-1","event_type":"MALL_TRANSACTION.SUCCESS","resource":null}`)
		}, notify.ErrMalformed},
		{"no resource.algorithm", func(s *spec) { s.Algorithm = "" }, notify.ErrMalformed},
		{"no resource.nonce", func(s *spec) {
			s.Body = []byte(`{"id":"EV-1","event_type":"E","resource":{"algorithm":"AEAD_AES_256_GCM","ciphertext":"AAAA"}}`)
		}, notify.ErrMalformed},
		{"no resource.ciphertext", func(s *spec) {
			s.Body = []byte(`{"id":"EV-1","event_type":"E","resource":{"algorithm":"AEAD_AES_256_GCM","nonce":"GiCVO6LB04WZ"}}`)
		}, notify.ErrMalformed},
		{"a resource.algorithm other than AEAD_AES_256_GCM", func(s *spec) { s.Algorithm = "AEAD_SM4_GCM" }, notify.ErrUnsupportedAlgorithm},

		// Then decryption (docs/protocol.md §5.2).
		{"a tampered ciphertext", func(s *spec) { s.TamperCiphertext = true }, wxpay.ErrDecrypt},
		{"wrong associated data", func(s *spec) { s.EncryptAD = ptr("mall_refund") }, wxpay.ErrDecrypt},
		{"a resource sealed with another APIv3 key", func(s *spec) { s.EncryptKey = strings.Repeat("k", 32) }, wxpay.ErrDecrypt},
		{"a ciphertext that is not Base64", func(s *spec) {
			s.Body = []byte(`{"id":"EV-1","event_type":"E","resource":{"algorithm":"AEAD_AES_256_GCM","ciphertext":"%%%","nonce":"GiCVO6LB04WZ"}}`)
		}, wxpay.ErrDecrypt},
		{"a nonce that is not 12 bytes", func(s *spec) {
			s.Body = []byte(`{"id":"EV-1","event_type":"E","resource":{"algorithm":"AEAD_AES_256_GCM","ciphertext":"AAAAAAAAAAAAAAAAAAAAAA==","nonce":"short"}}`)
		}, wxpay.ErrDecrypt},
		{"a plaintext that is not JSON", func(s *spec) { s.Plaintext = "points!" }, notify.ErrMalformed},
	} {
		t.Run(tt.rule, func(t *testing.T) {
			t.Parallel()
			s := newSpec()
			tt.mod(s)
			h, body := s.build(t)

			n, err := newParser(t, publicKeyRing(t)).Parse(h, body)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse error = %v, want %v", err, tt.want)
			}
			if n != nil {
				t.Errorf("Parse returned a notification with error %v", err)
			}
			if !strings.Contains(err.Error(), tt.want.Error()) {
				t.Errorf("error %q does not name the check %q", err, tt.want)
			}
			var ve *wxpay.VerificationError
			if isVerification := errors.As(err, &ve); isVerification != isVerificationSentinel(tt.want) {
				t.Errorf("error %T, *wxpay.VerificationError expected: %v", err, !isVerification)
			} else if isVerification && ve.RequestID != s.RequestID {
				t.Errorf("VerificationError.RequestID = %q, want %q", ve.RequestID, s.RequestID)
			}
		})
	}
}

func isVerificationSentinel(err error) bool {
	for _, s := range []error{wxpay.ErrMissingHeader, wxpay.ErrSignatureType, wxpay.ErrMalformedTimestamp, wxpay.ErrClockSkew,
		wxpay.ErrUnknownSerial, wxpay.ErrBadSignature, wxpay.ErrProbeSignature} {
		if err == s {
			return true
		}
	}
	return false
}

func TestParseRejectsASignatureThatIsNotBase64(t *testing.T) {
	t.Parallel()
	h, body := newSpec().build(t)
	h.Set("Wechatpay-Signature", "not base64!")
	if _, err := newParser(t, publicKeyRing(t)).Parse(h, body); !errors.Is(err, wxpay.ErrBadSignature) {
		t.Fatalf("err = %v, want ErrBadSignature", err)
	}
}

func TestParseAllowsFiveMinutesOfClockSkew(t *testing.T) {
	t.Parallel()
	for _, ts := range []int64{now.Unix() - 300, now.Unix() + 300} {
		s := newSpec()
		s.Timestamp = ts
		h, body := s.build(t)
		if _, err := newParser(t, publicKeyRing(t)).Parse(h, body); err != nil {
			t.Errorf("timestamp %+d s: %v", ts-now.Unix(), err)
		}
	}
}

func TestParseWithoutSignatureTypeHeaderAssumesRSA(t *testing.T) {
	t.Parallel()
	s := newSpec()
	s.SignatureType = ""
	h, body := s.build(t)
	if _, err := newParser(t, publicKeyRing(t)).Parse(h, body); err != nil {
		t.Fatal(err)
	}
}

// The key is chosen by Wechatpay-Serial: a public key id (PUB_KEY_ID_…) or a
// platform certificate serial, and during a migration both arrive (docs/protocol.md §3.4).
func TestParseVerifiesWithTheKeyNamedBySerial(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	signers := []struct {
		mode, serial string
		sign         func(*spec)
	}{
		{"public key", k.PublicKeyID, func(s *spec) { s.SignKey, s.Serial = k.WechatPayKey, k.PublicKeyID }},
		{"platform certificate", k.PlatformSerial, func(s *spec) { s.SignKey, s.Serial = k.PlatformKey, k.PlatformSerial }},
	}
	rings := []struct {
		name  string
		ring  func(testing.TB) *wxpay.KeyRing
		holds map[string]bool
	}{
		{"public key ring", publicKeyRing, map[string]bool{"public key": true}},
		{"platform certificate ring", platformRing, map[string]bool{"platform certificate": true}},
		{"ring holding both", bothRing, map[string]bool{"public key": true, "platform certificate": true}},
	}
	for _, sg := range signers {
		for _, rg := range rings {
			t.Run(sg.mode+" with "+rg.name, func(t *testing.T) {
				t.Parallel()
				s := newSpec()
				sg.sign(s)
				h, body := s.build(t)
				n, err := newParser(t, rg.ring(t)).Parse(h, body)
				switch {
				case rg.holds[sg.mode] && err != nil:
					t.Fatalf("Parse: %v", err)
				case rg.holds[sg.mode] && n.Serial != sg.serial:
					t.Errorf("Serial = %s, want %s", n.Serial, sg.serial)
				case !rg.holds[sg.mode] && !errors.Is(err, wxpay.ErrUnknownSerial):
					t.Errorf("err = %v, want ErrUnknownSerial", err)
				}
			})
		}
	}
}

func TestParseBoundsTheBody(t *testing.T) {
	t.Parallel()
	t.Run("default limit is 64 KiB", func(t *testing.T) {
		t.Parallel()
		s := newSpec()
		_, body := s.build(t)
		s.Body = append(body, bytes.Repeat([]byte(" "), notify.DefaultMaxBodyBytes-len(body))...) // JSON allows trailing spaces
		h, body := s.build(t)
		p := newParser(t, publicKeyRing(t))
		if _, err := p.Parse(h, body); err != nil {
			t.Fatalf("exactly %d bytes: %v", len(body), err)
		}
		s.Body = append(body, ' ')
		h, body = s.build(t)
		if _, err := p.Parse(h, body); !errors.Is(err, notify.ErrBodyTooLarge) {
			t.Fatalf("one byte more: err = %v, want ErrBodyTooLarge", err)
		}
	})
	t.Run("oversized bodies are refused before verification", func(t *testing.T) {
		t.Parallel()
		p := newParser(t, publicKeyRing(t))
		p.MaxBodyBytes = 10
		if _, err := p.Parse(http.Header{}, []byte(`{"id":"EV-1234"}`)); !errors.Is(err, notify.ErrBodyTooLarge) {
			t.Fatalf("err = %v, want ErrBodyTooLarge", err)
		}
	})
}

func TestParseRequest(t *testing.T) {
	t.Parallel()
	request := func(method string, body []byte, h http.Header) *http.Request {
		r := httptest.NewRequest(method, "/wechatpay/notify", bytes.NewReader(body))
		for k, v := range h {
			r.Header[k] = v
		}
		return r
	}
	h, body := newSpec().build(t)
	p := newParser(t, publicKeyRing(t))

	t.Run("a POST is parsed", func(t *testing.T) {
		t.Parallel()
		n, err := p.ParseRequest(request(http.MethodPost, body, h))
		if err != nil || string(n.Plaintext) != transactionPlain {
			t.Fatalf("ParseRequest = %v, %v", n, err)
		}
	})
	t.Run("other methods are refused", func(t *testing.T) {
		t.Parallel()
		for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodHead} {
			if _, err := p.ParseRequest(request(m, body, h)); !errors.Is(err, notify.ErrWrongMethod) {
				t.Errorf("%s: err = %v, want ErrWrongMethod", m, err)
			}
		}
	})
	t.Run("a declared length over the limit is refused unread", func(t *testing.T) {
		t.Parallel()
		small := &notify.Parser{Verifier: p.Verifier, APIv3Key: p.APIv3Key, MaxBodyBytes: 100}
		r := request(http.MethodPost, body, h)
		r.Body = iotestErrReader{} // must not be read
		r.ContentLength = 101
		if _, err := small.ParseRequest(r); !errors.Is(err, notify.ErrBodyTooLarge) {
			t.Fatalf("err = %v, want ErrBodyTooLarge", err)
		}
	})
	t.Run("an undeclared length over the limit is refused", func(t *testing.T) {
		t.Parallel()
		small := &notify.Parser{Verifier: p.Verifier, APIv3Key: p.APIv3Key, MaxBodyBytes: 100}
		r := request(http.MethodPost, body, h)
		r.ContentLength = -1 // chunked
		if _, err := small.ParseRequest(r); !errors.Is(err, notify.ErrBodyTooLarge) {
			t.Fatalf("err = %v, want ErrBodyTooLarge", err)
		}
	})
	t.Run("a read error is reported", func(t *testing.T) {
		t.Parallel()
		r := request(http.MethodPost, body, h)
		r.Body = iotestErrReader{}
		r.ContentLength = -1
		if _, err := p.ParseRequest(r); err == nil || !errors.Is(err, iotest.ErrTimeout) {
			t.Fatalf("err = %v, want the read error", err)
		}
	})
}

// iotestErrReader fails every read.
type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, iotest.ErrTimeout }
func (iotestErrReader) Close() error             { return nil }

func TestNewParserValidates(t *testing.T) {
	t.Parallel()
	k := wxtest.SharedKeys()
	v := &wxpay.Verifier{Keys: publicKeyRing(t)}
	for _, tt := range []struct {
		rule string
		v    *wxpay.Verifier
		key  string
	}{
		{"a nil verifier", nil, k.APIv3Key},
		{"a verifier without key ring", &wxpay.Verifier{}, k.APIv3Key},
		{"an APIv3 key of 31 bytes", v, k.APIv3Key[:31]},
		{"an APIv3 key of 33 bytes", v, k.APIv3Key + "x"},
		{"an empty APIv3 key", v, ""},
	} {
		if p, err := notify.NewParser(tt.v, tt.key); err == nil || p != nil {
			t.Errorf("%s: NewParser = %v, %v; want an error", tt.rule, p, err)
		}
	}
	if _, err := notify.NewParser(v, k.APIv3Key); err != nil {
		t.Errorf("valid arguments: %v", err)
	}
}

// A Parser built by hand without a verifier fails closed.
func TestParserWithoutVerifierRejectsEverything(t *testing.T) {
	t.Parallel()
	h, body := newSpec().build(t)
	p := &notify.Parser{APIv3Key: []byte(wxtest.SharedKeys().APIv3Key)}
	if n, err := p.Parse(h, body); err == nil || n != nil {
		t.Fatalf("Parse = %v, %v; want an error", n, err)
	}
}

func TestParseIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	h, body := newSpec().build(t)
	p := newParser(t, bothRing(t))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := p.Parse(h, body); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func TestDecodeResource(t *testing.T) {
	t.Parallel()
	h, body := newSpec().build(t)
	n, err := newParser(t, publicKeyRing(t)).Parse(h, body)
	if err != nil {
		t.Fatal(err)
	}
	var paid struct {
		TransactionID string `json:"transaction_id"`
		Amount        int64  `json:"amount"`
	}
	if err := n.DecodeResource(&paid); err != nil || paid.TransactionID != "1234567890" || paid.Amount != 200 {
		t.Errorf("DecodeResource = %+v, %v", paid, err)
	}

	var wrong struct {
		Amount string `json:"amount"`
	}
	err = n.DecodeResource(&wrong)
	if !errors.Is(err, notify.ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
	if !strings.Contains(err.Error(), n.ID) || strings.Contains(err.Error(), "oUpF8uMuAJ2pxb1Q9zNjWUHsd") {
		t.Errorf("error %q should name the notification and not show its content", err)
	}
}
