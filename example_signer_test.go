package wxpay_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// kmsKey stands for the merchant key held by a KMS or an HSM: the process
// sees only its public half and asks it for signatures. A real one would
// call the KMS in SignContext, under the call's deadline.
type kmsKey struct{ held *rsa.PrivateKey }

func (k kmsKey) Public() crypto.PublicKey { return &k.held.PublicKey }

func (k kmsKey) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.SignContext(context.Background(), digest, opts)
}

// SignContext makes kmsKey a wxpay.ContextSigner: a cancelled call stops
// waiting for the KMS.
func (k kmsKey) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return k.held.Sign(nil, digest, opts)
}

func ExampleWithMerchantSigner() {
	srv := sandbox.NewServer()
	defer srv.Close()
	k := srv.Keys

	c, err := wxpay.NewClient(
		wxpay.WithMerchantSigner(k.MchID, k.MerchantSerial, kmsKey{k.MerchantKey}),
		wxpay.WithWechatPayPublicKey(k.PublicKeyID, &k.WechatPayKey.PublicKey),
		wxpay.WithBaseURL(srv.URL),
	)
	if err != nil {
		log.Fatal(err)
	}
	resp, err := c.Chain("v3/businesscircle/user-authorizations/{openid}").Get(context.Background(),
		wxpay.PathParam("openid", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"), wxpay.Query("appid", "wxd678efh567hg6787"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode)

	// kmsKey cannot decrypt, and DecryptSensitive says so.
	_, err = c.DecryptSensitive("bm90IHVzZWQ=")
	fmt.Println(err)
	// Output:
	// 200
	// wxpay: decryption failed: the key of merchant 1900000109 (wxpay_test.kmsKey) is not a crypto.Decrypter, so it cannot decrypt RSA-OAEP fields
}

// A Signer on its own makes the Authorization header of one request, for
// code that sends requests with its own HTTP stack.
func ExampleNewSigner() {
	keys, err := sandbox.GenerateKeys() // in production: LoadPrivateKey(apiclient_key.pem)
	if err != nil {
		log.Fatal(err)
	}
	s, err := wxpay.NewSigner(keys.MchID, "5e6a1b2c3d4e5f60718293a4b5c6d7e8f9010203", keys.MerchantKey)
	if err != nil {
		log.Fatal(err)
	}
	auth, err := s.Authorization("POST", "/v3/businesscircle/points/notify", []byte(`{}`), 1795435200, "593BEC0C930BF1AFEB40B4A08C8FB242")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Serial)
	fmt.Println(auth[:strings.Index(auth, ",signature=")])
	// Output:
	// 5E6A1B2C3D4E5F60718293A4B5C6D7E8F9010203
	// WECHATPAY2-SHA256-RSA2048 mchid="1900000109",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242"
}

// The build's RSA code as a plain crypto.Signer: with -tags openssl it signs
// with libcrypto, and the signature is the same as crypto/rsa's.
func ExampleNewRSASigner() {
	keys, err := sandbox.GenerateKeys()
	if err != nil {
		log.Fatal(err)
	}
	sum := sha256.Sum256([]byte("1795435200\n593BEC0C930BF1AFEB40B4A08C8FB242\n{}\n"))
	sig, err := wxpay.NewRSASigner(keys.MerchantKey).Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		log.Fatal(err)
	}
	want, _ := rsa.SignPKCS1v15(nil, keys.MerchantKey, crypto.SHA256, sum[:])
	fmt.Println(len(sig), bytes.Equal(sig, want))
	// Output: 256 true
}
