package notify

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/seed2ac2593f/wxpay"
)

// FuzzOpenVerifiedBody exercises what Parse does once a signature has
// verified, which random input never reaches through Parse: decoding the
// envelope and decrypting the resource. It must never panic, fail only with
// the envelope and decryption checks, and succeed only with a complete,
// trimmed envelope and a JSON plaintext.
func FuzzOpenVerifiedBody(f *testing.F) {
	raw, err := os.ReadFile("../testdata/vectors/vectors.json")
	if err != nil {
		f.Fatal(err)
	}
	var v struct {
		APIv3Key      string `json:"apiv3_key"`
		Notifications []struct {
			Body string `json:"body"`
		} `json:"notifications"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		f.Fatal(err)
	}
	for _, n := range v.Notifications {
		f.Add([]byte(n.Body))
	}
	f.Add([]byte(`{"id":" EV-1 ","event_type":"E","resource":{"algorithm":"AEAD_AES_256_GCM","ciphertext":"AAAA","nonce":"GiCVO6LB04WZ"}}`))
	f.Add([]byte(`{"id":"EV-1","event_type":"E","resource":null}`))
	f.Add([]byte(`null`))

	p := &Parser{APIv3Key: []byte(v.APIv3Key)}
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := p.open(body)
		if err != nil {
			if n != nil {
				t.Fatalf("open returned a notification with error %v", err)
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupportedAlgorithm) && !errors.Is(err, wxpay.ErrDecrypt) {
				t.Fatalf("error %v names none of the checks", err)
			}
			return
		}
		if n.ID == "" || n.EventType == "" || n.ID != strings.TrimSpace(n.ID) || n.EventType != strings.TrimSpace(n.EventType) {
			t.Fatalf("incomplete or untrimmed envelope %q %q", n.ID, n.EventType)
		}
		if n.Resource.Algorithm != wxpay.AEADAlgorithm || !json.Valid(n.Plaintext) {
			t.Fatalf("accepted algorithm %q, plaintext valid JSON: %v", n.Resource.Algorithm, json.Valid(n.Plaintext))
		}
	})
}
