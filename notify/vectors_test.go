package notify_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/notify"
)

// notificationVector is one entry of the "notifications" section of the
// known-answer vectors, made by code independent of this project.
type notificationVector struct {
	Name              string            `json:"name"`
	Headers           map[string]string `json:"headers"`
	Body              string            `json:"body"`
	Now               int64             `json:"now"`
	APIv3Key          string            `json:"apiv3_key"`
	Valid             bool              `json:"valid"`
	Reason            string            `json:"reason"`
	ResourcePlaintext *string           `json:"resource_plaintext"`
}

type vectorFile struct {
	WechatpayPublicKey struct {
		ID        string `json:"id"`
		PublicKey string `json:"public_key"`
	} `json:"wechatpay_public_key"`
	PlatformCertificate struct {
		SerialNo    string `json:"serial_no"`
		Certificate string `json:"certificate"`
	} `json:"platform_certificate"`
	Notifications []notificationVector `json:"notifications"`
}

const vectorDir = "../testdata/vectors"

// loadVectors reads the vectors and a key ring with the vectors' WeChat Pay
// public key and platform certificate.
func loadVectors(t testing.TB) (vectorFile, *wxpay.KeyRing) {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(vectorDir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var v vectorFile
	if err := json.Unmarshal(read("vectors.json"), &v); err != nil {
		t.Fatal(err)
	}
	pub, err := wxpay.LoadPublicKey(read(v.WechatpayPublicKey.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := wxpay.LoadCertificate(read(v.PlatformCertificate.Certificate))
	if err != nil {
		t.Fatal(err)
	}
	ring := wxpay.NewKeyRing()
	if err := ring.AddPublicKey(v.WechatpayPublicKey.ID, pub); err != nil {
		t.Fatal(err)
	}
	if err := ring.AddCertificates(cert); err != nil {
		t.Fatal(err)
	}
	if len(v.Notifications) == 0 {
		t.Fatal("no notification vectors")
	}
	return v, ring
}

func (tv notificationVector) header() http.Header {
	h := http.Header{}
	for k, v := range tv.Headers {
		h.Set(k, v)
	}
	return h
}

func (tv notificationVector) parser(t testing.TB, ring *wxpay.KeyRing) *notify.Parser {
	t.Helper()
	at := time.Unix(tv.Now, 0)
	p, err := notify.NewParser(&wxpay.Verifier{Keys: ring, Now: func() time.Time { return at }}, tv.APIv3Key)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// vectorReasons maps the vectors' reasons for invalid notifications to the
// check that must fail.
var vectorReasons = map[string]error{
	"decryption fails": wxpay.ErrDecrypt,
}

func TestNotificationVectors(t *testing.T) {
	t.Parallel()
	v, ring := loadVectors(t)
	for _, tv := range v.Notifications {
		t.Run(tv.Name, func(t *testing.T) {
			t.Parallel()
			n, err := tv.parser(t, ring).Parse(tv.header(), []byte(tv.Body))
			if !tv.Valid {
				want, ok := vectorReasons[tv.Reason]
				if !ok {
					t.Fatalf("vector reason %q has no expected error; add it to vectorReasons", tv.Reason)
				}
				if !errors.Is(err, want) || n != nil {
					t.Fatalf("Parse = %v, %v; want error %v", n, err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if tv.ResourcePlaintext == nil || string(n.Plaintext) != *tv.ResourcePlaintext {
				t.Errorf("Plaintext = %s, want %v", n.Plaintext, tv.ResourcePlaintext)
			}
			var envelope struct {
				ID        string `json:"id"`
				EventType string `json:"event_type"`
			}
			if err := json.Unmarshal([]byte(tv.Body), &envelope); err != nil {
				t.Fatal(err)
			}
			if n.ID != envelope.ID || n.EventType != envelope.EventType ||
				n.Serial != tv.Headers["Wechatpay-Serial"] || n.RequestID != tv.Headers["Request-ID"] {
				t.Errorf("envelope = %q %q %q %q", n.ID, n.EventType, n.Serial, n.RequestID)
			}
		})
	}
}

// The vectors are signed for their own clock: an hour later they are stale.
func TestNotificationVectorsExpire(t *testing.T) {
	t.Parallel()
	v, ring := loadVectors(t)
	tv := v.Notifications[0]
	tv.Now += 3600
	if _, err := tv.parser(t, ring).Parse(tv.header(), []byte(tv.Body)); !errors.Is(err, wxpay.ErrClockSkew) {
		t.Fatalf("err = %v, want ErrClockSkew", err)
	}
}
