package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/internal/wxauth"
)

// DefaultMaxBodyBytes bounds a notification body when Parser.MaxBodyBytes is
// zero. Business-circle notifications are under 2 KiB.
const DefaultMaxBodyBytes = 64 << 10

// Parser verifies and decrypts notifications. Build it with NewParser; a
// Parser is safe for concurrent use as long as its fields are not changed.
type Parser struct {
	// Verifier checks signatures exactly as for API answers: its key ring
	// (WeChat Pay public key and/or platform certificates), clock and skew.
	Verifier *wxpay.Verifier
	// APIv3Key is the 32-byte APIv3 key (APIv3密钥) resources are encrypted with.
	APIv3Key []byte
	// MaxBodyBytes bounds the body; zero or less means DefaultMaxBodyBytes.
	MaxBodyBytes int64
}

// NewParser returns a parser that verifies with v and decrypts with the
// APIv3 key. v must have a key ring; the key must be 32 bytes.
func NewParser(v *wxpay.Verifier, apiv3Key string) (*Parser, error) {
	if v == nil {
		return nil, errors.New("notify: NewParser: verifier is nil")
	}
	if v.Keys == nil {
		return nil, errors.New("notify: NewParser: verifier has no key ring")
	}
	key := []byte(apiv3Key)
	if err := wxauth.CheckAPIv3Key(key); err != nil {
		return nil, fmt.Errorf("notify: NewParser: %w", err)
	}
	return &Parser{Verifier: v, APIv3Key: key}, nil
}

func (p *Parser) maxBodyBytes() int64 {
	if p.MaxBodyBytes <= 0 {
		return DefaultMaxBodyBytes
	}
	return p.MaxBodyBytes
}

// Parse verifies a notification's signature over the exact body bytes and
// only then decodes the envelope and decrypts the resource. Every failure
// names its check (see the package documentation): verification failures are
// *wxpay.VerificationError, decryption failures wrap wxpay.ErrDecrypt, and the
// rest wrap ErrBodyTooLarge, ErrUnsupportedAlgorithm or ErrMalformed.
func (p *Parser) Parse(h http.Header, body []byte) (*Notification, error) {
	if p.Verifier == nil {
		return nil, fmt.Errorf("%w: no Verifier", errConfig)
	}
	if err := wxauth.CheckAPIv3Key(p.APIv3Key); err != nil {
		return nil, fmt.Errorf("%w: %v", errConfig, err)
	}
	if limit := p.maxBodyBytes(); int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBodyTooLarge, len(body), limit)
	}
	requestID := h.Get("Request-ID")
	serial, err := p.Verifier.Verify(h, body)
	if err != nil {
		if ve, ok := errors.AsType[*wxpay.VerificationError](err); ok && ve.RequestID == "" {
			ve.RequestID = requestID
		}
		return nil, err
	}

	n, err := p.open(body)
	if err != nil {
		return nil, err
	}
	n.Serial = serial
	n.RequestID = requestID
	return n, nil
}

// open decodes the envelope of a body whose signature verified and decrypts
// its resource.
func (p *Parser) open(body []byte) (*Notification, error) {
	n, err := decodeEnvelope(body)
	if err != nil {
		return nil, err
	}
	if n.Resource.Algorithm != wxpay.AEADAlgorithm {
		return nil, fmt.Errorf("%w: resource.algorithm %s of notification %s, want %s",
			ErrUnsupportedAlgorithm, quoteShort(n.Resource.Algorithm), n.ID, wxpay.AEADAlgorithm)
	}
	plain, err := wxpay.DecryptAEAD(p.APIv3Key, n.Resource.Nonce, n.Resource.AssociatedData, n.Resource.Ciphertext)
	if err != nil {
		return nil, fmt.Errorf("notify: resource of notification %s: %w", n.ID, err)
	}
	if !json.Valid(plain) {
		return nil, fmt.Errorf("%w: decrypted resource of notification %s is not JSON", ErrMalformed, n.ID)
	}
	n.Plaintext = plain
	return n, nil
}

// ParseRequest reads a notification request, at most MaxBodyBytes of body,
// and parses it. Only POST is accepted (ErrWrongMethod). The body is left
// for the server to close.
func (p *Parser) ParseRequest(r *http.Request) (*Notification, error) {
	if r.Method != http.MethodPost {
		return nil, fmt.Errorf("%w: %s, want POST", ErrWrongMethod, quoteShort(r.Method))
	}
	limit := p.maxBodyBytes()
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: Content-Length %d, limit %d", ErrBodyTooLarge, r.ContentLength, limit)
	}
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			return nil, fmt.Errorf("notify: read body: %w", err)
		}
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, limit)
	}
	return p.Parse(r.Header, body)
}

// quoteShort quotes an untrusted value for an error message, cut to 64 bytes
// so a hostile header cannot flood logs.
func quoteShort(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "…"
	}
	return strconv.Quote(s)
}
