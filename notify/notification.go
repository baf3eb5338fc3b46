package notify

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Notification is a callback notification whose signature verified and whose
// resource decrypted: the envelope WeChat Pay posts (通知报文) plus the
// plaintext of its resource. Its envelope strings are trimmed of the stray
// leading and trailing spaces real payloads carry.
type Notification struct {
	ID           string   // envelope id, unique per notification; the key for duplicates
	CreateTime   string   // create_time as sent (RFC 3339)
	EventType    string   // event_type, e.g. MALL_TRANSACTION.SUCCESS
	ResourceType string   // resource_type, "encrypt-resource"
	Summary      string   // summary, free text such as 支付成功
	Resource     Resource // the encrypted resource as received
	Plaintext    []byte   // the decrypted resource JSON; personal data: never log it
	Serial       string   // Wechatpay-Serial of the key that verified the signature
	RequestID    string   // the Request-ID header, if any
}

// Resource is the encrypted part of a notification (resource), as received.
// Nonce and AssociatedData are kept verbatim because decryption uses their
// exact bytes.
type Resource struct {
	OriginalType   string `json:"original_type"`   // e.g. mall_transaction
	Algorithm      string `json:"algorithm"`       // AEAD_AES_256_GCM
	Ciphertext     string `json:"ciphertext"`      // Base64 of ciphertext ‖ 16-byte GCM tag
	AssociatedData string `json:"associated_data"` // GCM associated data, possibly ""
	Nonce          string `json:"nonce"`           // the 12-byte GCM IV
}

// DecodeResource unmarshals the decrypted resource JSON into v, typically a
// struct of the event type's fields (unknown fields are ignored). A failure
// wraps ErrMalformed and names the notification, never its content.
func (n *Notification) DecodeResource(v any) error {
	if err := json.Unmarshal(n.Plaintext, v); err != nil {
		return fmt.Errorf("%w: resource of %s notification %s does not decode into %T: %w",
			ErrMalformed, n.EventType, n.ID, v, err)
	}
	return nil
}

// envelope is the notification body as WeChat Pay sends it.
type envelope struct {
	ID           string    `json:"id"`
	CreateTime   string    `json:"create_time"`
	EventType    string    `json:"event_type"`
	ResourceType string    `json:"resource_type"`
	Summary      string    `json:"summary"`
	Resource     *Resource `json:"resource"`
}

// decodeEnvelope reads a verified body into a Notification without its
// plaintext. Envelope strings are trimmed; the resource's nonce and
// associated data are not, since decryption needs them verbatim.
func decodeEnvelope(body []byte) (*Notification, error) {
	var e envelope
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("%w: body is not a JSON notification: %w", ErrMalformed, err)
	}
	n := &Notification{
		ID:           strings.TrimSpace(e.ID),
		CreateTime:   strings.TrimSpace(e.CreateTime),
		EventType:    strings.TrimSpace(e.EventType),
		ResourceType: strings.TrimSpace(e.ResourceType),
		Summary:      strings.TrimSpace(e.Summary),
	}
	switch {
	case n.ID == "":
		return nil, fmt.Errorf("%w: id is missing", ErrMalformed)
	case n.EventType == "":
		return nil, fmt.Errorf("%w: event_type of notification %s is missing", ErrMalformed, n.ID)
	case e.Resource == nil:
		return nil, fmt.Errorf("%w: resource of notification %s is missing", ErrMalformed, n.ID)
	}
	n.Resource = Resource{
		OriginalType:   strings.TrimSpace(e.Resource.OriginalType),
		Algorithm:      strings.TrimSpace(e.Resource.Algorithm),
		Ciphertext:     strings.TrimSpace(e.Resource.Ciphertext), // Base64 has no spaces
		AssociatedData: e.Resource.AssociatedData,
		Nonce:          e.Resource.Nonce,
	}
	switch {
	case n.Resource.Algorithm == "":
		return nil, fmt.Errorf("%w: resource.algorithm of notification %s is missing", ErrMalformed, n.ID)
	case n.Resource.Ciphertext == "":
		return nil, fmt.Errorf("%w: resource.ciphertext of notification %s is missing", ErrMalformed, n.ID)
	case n.Resource.Nonce == "":
		return nil, fmt.Errorf("%w: resource.nonce of notification %s is missing", ErrMalformed, n.ID)
	}
	return n, nil
}
