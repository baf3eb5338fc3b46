package sandbox

import (
	"net/http"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/internal/wxauth"
)

// certificateEntry is one item of GET /v3/certificates (docs/protocol.md §3.3).
type certificateEntry struct {
	SerialNo           string               `json:"serial_no"`
	EffectiveTime      string               `json:"effective_time"`
	ExpireTime         string               `json:"expire_time"`
	EncryptCertificate encryptedCertificate `json:"encrypt_certificate"`
}

type encryptedCertificate struct {
	Algorithm      string `json:"algorithm"`
	Nonce          string `json:"nonce"`
	AssociatedData string `json:"associated_data"`
	Ciphertext     string `json:"ciphertext"`
}

// certificates is 下载平台证书: every platform certificate, its PEM encrypted
// with the caller's APIv3 key (associated data "certificate"). Without
// platform certificates, as for merchants onboarded with a public key,
// WeChat Pay answers 404 RESOURCE_NOT_EXISTS. algorithm_type=SM2 lists
// nothing: the sandbox has RSA keys only.
func (s *Sandbox) certificates(x *exchange) (int, []byte, *apiError) {
	if len(s.keys.platform) == 0 {
		return 0, nil, newError(http.StatusNotFound, "RESOURCE_NOT_EXISTS", msgNoPlatformCert, "no platform certificate configured")
	}
	data := []certificateEntry{}
	if x.query.Get("algorithm_type") != "SM2" {
		for i := len(s.keys.platform) - 1; i >= 0; i-- { // newest first
			k := s.keys.platform[i]
			nonce := randomString(12, alnum)
			ct, err := wxauth.EncryptAEAD(x.merchant.apiv3Key, nonce, "certificate", certPEM(k.cert))
			if err != nil {
				return 0, nil, systemError("encrypt certificate: " + err.Error())
			}
			data = append(data, certificateEntry{
				SerialNo:      k.serial,
				EffectiveTime: formatTime(k.cert.NotBefore),
				ExpireTime:    formatTime(k.cert.NotAfter),
				EncryptCertificate: encryptedCertificate{
					Algorithm: wxpay.AEADAlgorithm, Nonce: nonce, AssociatedData: "certificate", Ciphertext: ct,
				},
			})
		}
	}
	return http.StatusOK, marshal(struct {
		Data []certificateEntry `json:"data"`
	}{data}), nil
}
