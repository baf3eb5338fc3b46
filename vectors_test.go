package wxpay

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seed2ac2593f/wxpay/internal/wxauth"
)

// The known-answer vectors of testdata/vectors were made by code independent
// of this package; a disagreement with them is our bug.

type vectorFile struct {
	Merchant struct {
		MchID           string `json:"mchid"`
		SerialNo        string `json:"serial_no"`
		PrivateKey      string `json:"private_key"`
		PrivateKeyPKCS1 string `json:"private_key_pkcs1"`
		Certificate     string `json:"certificate"`
	} `json:"merchant"`
	WechatpayPublicKey struct {
		ID        string `json:"id"`
		PublicKey string `json:"public_key"`
	} `json:"wechatpay_public_key"`
	PlatformCertificate struct {
		SerialNo    string `json:"serial_no"`
		Certificate string `json:"certificate"`
	} `json:"platform_certificate"`
	APIv3Key          string `json:"apiv3_key"`
	RequestSignatures []struct {
		Method        string `json:"method"`
		RequestTarget string `json:"request_target"`
		Timestamp     int64  `json:"timestamp"`
		Nonce         string `json:"nonce"`
		Body          string `json:"body"`
		Message       string `json:"message"`
		Signature     string `json:"signature"`
		Authorization string `json:"authorization"`
	} `json:"request_signatures"`
	AuthorizationParsing []struct {
		Header string `json:"header"`
		Valid  bool   `json:"valid"`
		Reason string `json:"reason"`
	} `json:"authorization_parsing"`
	ResponseVerifications []struct {
		Name    string            `json:"name"`
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
		Now     int64             `json:"now"`
		Valid   bool              `json:"valid"`
		Reason  string            `json:"reason"`
	} `json:"response_verifications"`
	Notifications []struct {
		Name              string            `json:"name"`
		Headers           map[string]string `json:"headers"`
		Body              string            `json:"body"`
		Now               int64             `json:"now"`
		APIv3Key          string            `json:"apiv3_key"`
		Valid             bool              `json:"valid"`
		ResourcePlaintext *string           `json:"resource_plaintext"`
	} `json:"notifications"`
	SensitiveField struct {
		Ciphertext string `json:"ciphertext"`
		Plaintext  string `json:"plaintext"`
	} `json:"sensitive_field"`
	CertificatesDownload struct {
		Headers        map[string]string `json:"headers"`
		Body           string            `json:"body"`
		Now            int64             `json:"now"`
		CertificatePEM string            `json:"certificate_pem"`
	} `json:"certificates_download"`
}

func loadVectors(t testing.TB) *vectorFile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "vectors", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

func vectorFileBytes(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "vectors", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vectorKeyRing holds the vectors' WeChat Pay public key and platform certificate.
func vectorKeyRing(t testing.TB, v *vectorFile) *KeyRing {
	t.Helper()
	pub, err := LoadPublicKey(vectorFileBytes(t, v.WechatpayPublicKey.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := LoadCertificate(vectorFileBytes(t, v.PlatformCertificate.Certificate))
	if err != nil {
		t.Fatal(err)
	}
	ring := NewKeyRing()
	if err := ring.AddPublicKey(v.WechatpayPublicKey.ID, pub); err != nil {
		t.Fatal(err)
	}
	if err := ring.AddCertificates(cert); err != nil {
		t.Fatal(err)
	}
	return ring
}

func headerOf(m map[string]string) http.Header {
	h := http.Header{}
	for k, v := range m {
		h.Set(k, v)
	}
	return h
}

func TestVectorRequestSignaturesMatchByteForByte(t *testing.T) {
	t.Parallel()
	v := loadVectors(t)
	for _, keyFile := range []string{v.Merchant.PrivateKey, v.Merchant.PrivateKeyPKCS1} {
		key, err := LoadPrivateKey(vectorFileBytes(t, keyFile))
		if err != nil {
			t.Fatalf("%s: %v", keyFile, err)
		}
		s := Signer{MchID: v.Merchant.MchID, Serial: v.Merchant.SerialNo, Key: key}
		for _, c := range v.RequestSignatures {
			body := []byte(c.Body)
			if got := string(wxauth.RequestMessage(c.Method, c.RequestTarget, c.Timestamp, c.Nonce, body)); got != c.Message {
				t.Errorf("%s %s: message\n got %q\nwant %q", c.Method, c.RequestTarget, got, c.Message)
			}
			got, err := s.Authorization(c.Method, c.RequestTarget, body, c.Timestamp, c.Nonce)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.Authorization {
				t.Errorf("%s %s (%s): Authorization\n got %s\nwant %s", c.Method, c.RequestTarget, keyFile, got, c.Authorization)
			}
		}
	}
}

func TestVectorAuthorizationParsing(t *testing.T) {
	t.Parallel()
	v := loadVectors(t)
	cert, err := LoadCertificate(vectorFileBytes(t, v.Merchant.Certificate))
	if err != nil {
		t.Fatal(err)
	}
	if got := CertificateSerial(cert); got != v.Merchant.SerialNo {
		t.Fatalf("merchant certificate serial = %s, want %s", got, v.Merchant.SerialNo)
	}
	req := v.RequestSignatures[0] // the headers all claim to sign this request
	for _, c := range v.AuthorizationParsing {
		a, err := wxauth.ParseAuthorization(c.Header)
		if err == nil {
			err = a.Verify(cert.PublicKey.(*rsa.PublicKey), req.Method, req.RequestTarget, []byte(req.Body))
		}
		if c.Valid != (err == nil) {
			t.Errorf("%s: valid = %v (err %v), want %v (%s)", c.Header[:40], err == nil, err, c.Valid, c.Reason)
			continue
		}
		var want error
		switch c.Reason {
		case "scheme":
			want = wxauth.ErrAuthorizationScheme
		case "missing serial_no":
			want = wxauth.ErrAuthorizationFormat
		case "signature does not match":
			want = wxauth.ErrRequestSignature
		}
		if want != nil && !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", c.Reason, err, want)
		}
	}
}

func TestVectorResponseVerifications(t *testing.T) {
	t.Parallel()
	v := loadVectors(t)
	ring := vectorKeyRing(t, v)
	reasons := map[string]error{
		"clock skew":      ErrClockSkew,
		"unknown serial":  ErrUnknownSerial,
		"bad signature":   ErrBadSignature,
		"probe signature": ErrProbeSignature,
		"missing header":  ErrMissingHeader,
	}
	for _, c := range v.ResponseVerifications {
		t.Run(c.Name, func(t *testing.T) {
			ver := Verifier{Keys: ring, Now: func() time.Time { return time.Unix(c.Now, 0) }}
			serial, err := ver.Verify(headerOf(c.Headers), []byte(c.Body))
			if c.Valid {
				if err != nil || serial != c.Headers["Wechatpay-Serial"] {
					t.Fatalf("Verify = %q, %v; want %q, nil", serial, err, c.Headers["Wechatpay-Serial"])
				}
				return
			}
			if want := reasons[c.Reason]; want == nil || !errors.Is(err, want) {
				t.Fatalf("Verify err = %v, want %s", err, c.Reason)
			}
		})
	}
}

func TestVectorResponsesThroughTheClient(t *testing.T) {
	t.Parallel()
	v := loadVectors(t)
	key, err := LoadPrivateKey(vectorFileBytes(t, v.Merchant.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range v.ResponseVerifications {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, val := range c.Headers {
					w.Header().Set(k, val)
				}
				w.WriteHeader(c.Status)
				w.Write([]byte(c.Body))
			}))
			defer srv.Close()
			ring := vectorKeyRing(t, v)
			client, err := NewClient(WithMerchant(v.Merchant.MchID, v.Merchant.SerialNo, key),
				WithBaseURL(srv.URL), WithoutRetries(),
				WithClock(func() time.Time { return time.Unix(c.Now, 0) }),
				WithPlatformCertificates(ring.Certificates()...))
			if err != nil {
				t.Fatal(err)
			}
			pub, _ := ring.Lookup(v.WechatpayPublicKey.ID)
			if err := client.KeyRing().AddPublicKey(v.WechatpayPublicKey.ID, pub); err != nil {
				t.Fatal(err)
			}
			resp, err := client.Chain("v3/businesscircle/points/notify").Post(context.Background(), JSON(map[string]any{"k": 1}))
			if c.Valid != (err == nil) {
				t.Fatalf("err = %v, want valid=%v (%s)", err, c.Valid, c.Reason)
			}
			if err == nil && (resp.StatusCode != c.Status || string(resp.Body) != c.Body) {
				t.Fatalf("got %d %q", resp.StatusCode, resp.Body)
			}
			var ve *VerificationError
			if err != nil && (!errors.As(err, &ve) || ve.StatusCode != c.Status || ve.RequestID == "") {
				t.Fatalf("err = %#v, want a *VerificationError with status and Request-ID", err)
			}
		})
	}
}

func TestVectorNotificationResourcesDecrypt(t *testing.T) {
	t.Parallel()
	v := loadVectors(t)
	for _, c := range v.Notifications {
		var env struct {
			Resource struct {
				Nonce          string `json:"nonce"`
				AssociatedData string `json:"associated_data"`
				Ciphertext     string `json:"ciphertext"`
			} `json:"resource"`
		}
		if err := json.Unmarshal([]byte(c.Body), &env); err != nil {
			t.Fatal(err)
		}
		plain, err := DecryptAEAD([]byte(c.APIv3Key), env.Resource.Nonce, env.Resource.AssociatedData, env.Resource.Ciphertext)
		if c.ResourcePlaintext == nil {
			if !errors.Is(err, ErrDecrypt) {
				t.Errorf("%s: err = %v, want ErrDecrypt", c.Name, err)
			}
			continue
		}
		if err != nil || string(plain) != *c.ResourcePlaintext {
			t.Errorf("%s: DecryptAEAD = %q, %v; want %q", c.Name, plain, err, *c.ResourcePlaintext)
		}
	}
}

func TestVectorSensitiveFieldDecrypts(t *testing.T) {
	t.Parallel()
	v := loadVectors(t)
	key, err := LoadPrivateKey(vectorFileBytes(t, v.Merchant.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	got, err := decryptOAEP(key, v.SensitiveField.Ciphertext)
	if err != nil || got != v.SensitiveField.Plaintext {
		t.Fatalf("decryptOAEP = %q, %v; want %q", got, err, v.SensitiveField.Plaintext)
	}
}

func TestVectorCertificatesDownload(t *testing.T) {
	t.Parallel()
	v := loadVectors(t)
	c := v.CertificatesDownload
	now := c.Now
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v3/certificates" {
			http.NotFound(w, r)
			return
		}
		for k, val := range c.Headers {
			w.Header().Set(k, val)
		}
		w.Write([]byte(c.Body))
	}))
	defer srv.Close()
	key, err := LoadPrivateKey(vectorFileBytes(t, v.Merchant.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		apiv3   string
		wantErr error
	}{
		{"right APIv3 key", v.APIv3Key, nil},
		{"wrong APIv3 key", "WRONGapiv3key0123456789abcdefghi", ErrDecrypt},
	} {
		client, err := NewClient(WithMerchant(v.Merchant.MchID, v.Merchant.SerialNo, key),
			WithBaseURL(srv.URL), WithAPIv3Key(tc.apiv3),
			WithClock(func() time.Time { return time.Unix(now, 0) }))
		if err != nil {
			t.Fatal(err)
		}
		certs, err := client.DownloadCertificates(context.Background())
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("%s: err = %v, want %v", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want, _ := LoadCertificate([]byte(c.CertificatePEM))
		if len(certs) != 1 || !certs[0].Equal(want) || CertificateSerial(certs[0]) != v.PlatformCertificate.SerialNo {
			t.Fatalf("%s: got %d certificates, want the vector's", tc.name, len(certs))
		}
	}
}
