// Package webhook signs and verifies the HTTP calls mallpointsd makes to a
// mall's own systems: the ledger events it delivers as webhooks and the
// "decide" calls that ask the mall's CRM how many points a payment earns.
// A receiver written in Go verifies them with this package alone; it
// imports only the standard library.
//
// Verify a call in a handler, on the raw body, before decoding it:
//
//	secret := []byte(os.Getenv("MALLPOINTS_WEBHOOK_SECRET"))
//	http.HandleFunc("POST /mallpoints/events", func(w http.ResponseWriter, r *http.Request) {
//		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
//		if err != nil {
//			http.Error(w, "unreadable body", http.StatusBadRequest)
//			return
//		}
//		if err := webhook.Verify(r.Header, body, secret); err != nil {
//			http.Error(w, "signature check failed", http.StatusUnauthorized)
//			return
//		}
//		// The id is the same on every retry: process each id once.
//		if err := processOnce(r.Context(), r.Header.Get(webhook.HeaderID), body); err != nil {
//			http.Error(w, "not processed", http.StatusServiceUnavailable)
//			return
//		}
//		w.WriteHeader(http.StatusNoContent) // only once processed durably
//	})
//
// A sender, or a receiver's test, signs with Sign:
//
//	req.Header = http.Header{}
//	webhook.Sign(req.Header, "evt_0001", time.Now(), body, secret)
//
// # The scheme
//
// A call carries three headers: Mallpoints-Id, the call's id, the same on
// every retry; Mallpoints-Timestamp, when it was sent, in decimal Unix
// seconds; and Mallpoints-Signature, "v1=" and the lower-case hex
// HMAC-SHA256, keyed with the shared secret's bytes, of the timestamp
// header's text, '.', the id, '.' and the exact body bytes. The id is
// visible ASCII (! to ~) without '.', so the signed string splits one way
// only.
//
// While a secret is being replaced the sender holds both and sends a v1
// value for each, comma-separated ("v1=…,v1=…"); a receiver holding either
// accepts, so the two sides can change secrets at different times. Values
// of other schemes ("v2=…") are skipped, so a later scheme can be sent
// beside v1.
//
// Verify refuses a timestamp more than DefaultTolerance (5 minutes) from
// now in either direction, so a captured call cannot be replayed later.
// Each refusal wraps one sentinel error naming the check: ErrNoSecret,
// ErrMissingHeader, ErrMalformedHeader, ErrOutsideTolerance or
// ErrBadSignature.
//
// docs/signing.md in the repository describes the scheme for receivers in
// any language, with a tested Node.js verifier.
package webhook
