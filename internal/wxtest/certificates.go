package wxtest

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"time"
)

// certificatesAnswer builds the GET /v3/certificates body: the platform certificate as PEM,
// encrypted with AEAD_AES_256_GCM under the APIv3 key (associated data "certificate", the 16-byte
// tag appended to the ciphertext). See https://pay.weixin.qq.com/docs/merchant/apis/platform-certificate/api-v3-get-certificates/get.html.
func (s *Server) certificatesAnswer(*Request) (int, []byte) {
	nonce := randomString(12, alnum)
	block, err := aes.NewCipher([]byte(s.keys.APIv3Key))
	if err != nil {
		return errorAnswer(500, "SYSTEM_ERROR", "APIv3 key is not 32 bytes: "+err.Error(), nil)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return errorAnswer(500, "SYSTEM_ERROR", err.Error(), nil)
	}
	ct := gcm.Seal(nil, []byte(nonce), EncodeCertPEM(s.keys.PlatformCert), []byte("certificate"))

	type encrypted struct {
		Algorithm      string `json:"algorithm"`
		Nonce          string `json:"nonce"`
		AssociatedData string `json:"associated_data"`
		Ciphertext     string `json:"ciphertext"`
	}
	type certificate struct {
		SerialNo           string    `json:"serial_no"`
		EffectiveTime      string    `json:"effective_time"`
		ExpireTime         string    `json:"expire_time"`
		EncryptCertificate encrypted `json:"encrypt_certificate"`
	}
	beijing := time.FixedZone("CST", 8*3600)
	c := s.keys.PlatformCert
	return 200, jsonBody(map[string][]certificate{"data": {{
		SerialNo:      s.keys.PlatformSerial,
		EffectiveTime: c.NotBefore.In(beijing).Format(time.RFC3339),
		ExpireTime:    c.NotAfter.In(beijing).Format(time.RFC3339),
		EncryptCertificate: encrypted{
			Algorithm:      "AEAD_AES_256_GCM",
			Nonce:          nonce,
			AssociatedData: "certificate",
			Ciphertext:     base64.StdEncoding.EncodeToString(ct),
		},
	}}})
}
