package wxpay

import (
	"crypto"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"fmt"

	"github.com/seed2ac2593f/wxpay/internal/wxauth"
)

// AEADAlgorithm names the cipher of notification resources and downloaded
// certificates.
const AEADAlgorithm = "AEAD_AES_256_GCM"

// DecryptAEAD opens an AEAD_AES_256_GCM resource (回调报文解密,
// https://pay.weixin.qq.com/doc/v3/merchant/4012071382): key is the APIv3
// key, nonce the 12-byte IV as sent, associatedData used verbatim and
// ciphertext the Base64 of ciphertext ‖ 16-byte tag. Any failure wraps ErrDecrypt.
func DecryptAEAD(apiv3Key []byte, nonce, associatedData, ciphertext string) ([]byte, error) {
	gcm, err := newGCM(apiv3Key, nonce)
	if err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(ciphertext)
	if err != nil {
		return nil, fmt.Errorf("%w: ciphertext is not Base64", ErrDecrypt)
	}
	if len(raw) < gcm.Overhead() {
		return nil, fmt.Errorf("%w: ciphertext shorter than the GCM tag", ErrDecrypt)
	}
	plain, err := gcm.Open(nil, []byte(nonce), raw, []byte(associatedData))
	if err != nil {
		return nil, fmt.Errorf("%w: AES-GCM authentication failed (wrong APIv3 key, nonce or associated data, or tampered ciphertext)", ErrDecrypt)
	}
	return plain, nil
}

func newGCM(key []byte, nonce string) (cipher.AEAD, error) {
	gcm, err := wxauth.NewGCM(key, nonce)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	return gcm, nil
}

// encryptOAEP encrypts a sensitive field (敏感信息加密) to a WeChat Pay key
// with RSAES-OAEP, SHA-1 and MGF1-SHA-1 as WeChat Pay specifies, Base64.
func encryptOAEP(pub *rsa.PublicKey, plaintext string) (string, error) {
	ct, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, []byte(plaintext), nil)
	if err != nil {
		return "", fmt.Errorf("wxpay: encrypt sensitive field: %w", err)
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}

// decryptOAEP decrypts with any crypto.Decrypter holding the merchant key:
// an *rsa.PrivateKey, or an HSM or KMS key that decrypts RSA-OAEP.
func decryptOAEP(key crypto.Decrypter, ciphertext string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(ciphertext)
	if err != nil {
		return "", fmt.Errorf("%w: ciphertext is not Base64", ErrDecrypt)
	}
	plain, err := key.Decrypt(rand.Reader, raw, &rsa.OAEPOptions{Hash: crypto.SHA1})
	if err != nil {
		return "", fmt.Errorf("%w: RSA-OAEP: wrong key or corrupted ciphertext", ErrDecrypt)
	}
	return string(plain), nil
}
