package wxauth

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"fmt"
)

// APIv3KeyLength is the length of the APIv3 key (APIv3密钥): 32 ASCII characters.
const APIv3KeyLength = 32

// CheckAPIv3Key reports whether key has the length AES-256 needs.
func CheckAPIv3Key(key []byte) error {
	if len(key) != APIv3KeyLength {
		return fmt.Errorf("wxpay: APIv3 key has %d bytes, want %d", len(key), APIv3KeyLength)
	}
	return nil
}

// NewGCM returns AES-256-GCM under the APIv3 key, checking the key and the
// nonce's length first.
func NewGCM(apiv3Key []byte, nonce string) (cipher.AEAD, error) {
	if err := CheckAPIv3Key(apiv3Key); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(apiv3Key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if len(nonce) != gcm.NonceSize() {
		return nil, fmt.Errorf("nonce has %d bytes, want %d", len(nonce), gcm.NonceSize())
	}
	return gcm, nil
}

// EncryptAEAD is the inverse of wxpay.DecryptAEAD, for emulators and tests
// that build notifications and certificate downloads: the Base64 of
// ciphertext ‖ tag.
func EncryptAEAD(apiv3Key []byte, nonce, associatedData string, plaintext []byte) (string, error) {
	gcm, err := NewGCM(apiv3Key, nonce)
	if err != nil {
		return "", fmt.Errorf("wxpay: encrypt: %w", err)
	}
	return base64.StdEncoding.EncodeToString(gcm.Seal(nil, []byte(nonce), plaintext, []byte(associatedData))), nil
}
