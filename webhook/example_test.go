package webhook_test

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/seed2ac2593f/wxpay/webhook"
)

// A sender signs each attempt of a call; a receiver's test signs the calls
// it feeds its handler.
func ExampleSign() {
	body := []byte(`{"id":"evt_0001"}`)
	h := http.Header{}
	webhook.Sign(h, "evt_0001", time.Unix(1767225600, 0), body, []byte("whsec-test-secret"))
	fmt.Println(webhook.HeaderID+":", h.Get(webhook.HeaderID))
	fmt.Println(webhook.HeaderTimestamp+":", h.Get(webhook.HeaderTimestamp))
	fmt.Println(webhook.HeaderSignature+":", h.Get(webhook.HeaderSignature))
	// Output:
	// Mallpoints-Id: evt_0001
	// Mallpoints-Timestamp: 1767225600
	// Mallpoints-Signature: v1=06d35a934695d70ae2a2e641cf6d8c976d5a8ac5cb035e286c6e4ef98aa4a9b2
}

// A sender that holds two secrets while they are replaced sends a v1 value
// for each.
func ExampleSign_rotation() {
	h := http.Header{}
	webhook.Sign(h, "evt_0001", time.Unix(1767225600, 0), []byte(`{"id":"evt_0001"}`),
		[]byte("whsec-test-secret"), []byte("whsec-new-secret"))
	fmt.Println(h.Get(webhook.HeaderSignature))
	// Output:
	// v1=06d35a934695d70ae2a2e641cf6d8c976d5a8ac5cb035e286c6e4ef98aa4a9b2,v1=70830243a8d4a03d843b5872b13354c6917107e1d4db0f2f392632180cc9ce16
}

// A receiver verifies the raw body before decoding it, and tells the
// failed check by its error.
func ExampleVerify() {
	secret := []byte("whsec-test-secret")
	body := []byte(`{"id":"evt_0001","type":"points.earned"}`)
	h := http.Header{}
	webhook.Sign(h, "evt_0001", time.Now(), body, secret)

	if err := webhook.Verify(h, body, secret); err == nil {
		fmt.Println("verified", h.Get(webhook.HeaderID))
	}

	tampered := []byte(`{"id":"evt_0001","type":"points.spent"}`)
	err := webhook.Verify(h, tampered, secret)
	fmt.Println(errors.Is(err, webhook.ErrBadSignature), err)

	err = webhook.Verify(h, body, []byte("whsec-old-secret"), secret) // during a rotation
	fmt.Println(err)
	// Output:
	// verified evt_0001
	// true webhook: no Mallpoints-Signature v1 value matches a secret
	// <nil>
}

// A call replayed after the tolerance is refused even with its valid
// signature.
func ExampleVerifyAt() {
	secret := []byte("whsec-test-secret")
	body := []byte(`{"id":"evt_0001"}`)
	sent := time.Unix(1767225600, 0)
	h := http.Header{}
	webhook.Sign(h, "evt_0001", sent, body, secret)

	fmt.Println(webhook.VerifyAt(h, body, sent.Add(time.Minute), webhook.DefaultTolerance, secret))
	err := webhook.VerifyAt(h, body, sent.Add(time.Hour), webhook.DefaultTolerance, secret)
	fmt.Println(errors.Is(err, webhook.ErrOutsideTolerance), err)
	// Output:
	// <nil>
	// true webhook: Mallpoints-Timestamp outside the tolerance: sent 1h0m0s ago, more than 5m0s
}
