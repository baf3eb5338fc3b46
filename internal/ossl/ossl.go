//go:build openssl && cgo

package ossl

/*
#cgo LDFLAGS: -lcrypto
#include <openssl/opensslv.h>
#if OPENSSL_VERSION_MAJOR < 3
#error "package ossl needs OpenSSL 3 (Debian: libssl-dev)"
#endif
#include <stdlib.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

// wx_err returns the oldest error on this thread's queue (0 if none) and
// empties the queue, so nothing is left for the next user of the thread.
static unsigned long wx_err(void) {
	unsigned long e = ERR_peek_error();
	ERR_clear_error();
	return e;
}

// wx_params_clear_free clears the parameters' values, which hold the secret
// numbers, and frees them (OSSL_PARAM_clear_free is OpenSSL 3.2 and later).
static void wx_params_clear_free(OSSL_PARAM *params) {
	OSSL_PARAM *p;
	for (p = params; p != NULL && p->key != NULL; p++) {
		OPENSSL_cleanse(p->data, p->data_size);
	}
	OSSL_PARAM_free(params);
}

// wx_bn is one big-endian number for wx_rsa_new.
typedef struct { const unsigned char *b; size_t n; } wx_bn;

// wx_rsa_new builds an RSA private key EVP_PKEY from its 8 numbers: n, e,
// d, p, q, dP, dQ and qInv. The BIGNUMs, the parameter builder and the
// parameters are freed (the secret ones cleared) before it returns.
static EVP_PKEY *wx_rsa_new(const wx_bn *v, int count, unsigned long *err) {
	static const char *const names[8] = {
		OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
		OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
		OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
		OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	BIGNUM *bn[8] = {0};
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	int i, ok = 0;

	if (count != 8) {
		goto done;
	}
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL) {
		goto done;
	}
	for (i = 0; i < count; i++) {
		bn[i] = BN_bin2bn(v[i].b, (int)v[i].n, NULL);
		if (bn[i] == NULL || !OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i])) {
			goto done;
		}
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	if (params == NULL) {
		goto done;
	}
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) <= 0) {
		goto done;
	}
	ok = 1;
done:
	*err = ok ? 0 : wx_err();
	if (!ok && *err == 0) {
		*err = 1; // a failure that left no error code, e.g. a bad count
	}
	EVP_PKEY_CTX_free(ctx);
	wx_params_clear_free(params);
	OSSL_PARAM_BLD_free(bld);
	for (i = 0; i < 8; i++) {
		BN_clear_free(bn[i]); // NULL-safe; the public numbers need no clearing but it costs nothing
	}
	if (!ok) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	return pkey;
}

// wx_ctx_new returns a context for PKCS#1 v1.5 SHA-256 signing with pkey,
// initialised once so that wx_sign can use it again and again: in OpenSSL
// 3.0 making and initialising one costs several microseconds of provider
// look-ups.
static EVP_PKEY_CTX *wx_ctx_new(EVP_PKEY *pkey, unsigned long *err) {
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	if (ctx != NULL && EVP_PKEY_sign_init(ctx) > 0 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0) {
		*err = 0;
		return ctx;
	}
	*err = wx_err();
	EVP_PKEY_CTX_free(ctx);
	return NULL;
}

// wx_sign signs a SHA-256 digest into sig, whose capacity is *siglen;
// *siglen becomes the signature's length.
static int wx_sign(EVP_PKEY_CTX *ctx, const unsigned char *dgst, size_t dlen,
                   unsigned char *sig, size_t *siglen, unsigned long *err) {
	if (EVP_PKEY_sign(ctx, sig, siglen, dgst, dlen) > 0) {
		*err = 0;
		return 1;
	}
	*err = wx_err();
	return 0;
}

static char *wx_errstr(unsigned long e, char *buf, size_t n) {
	ERR_error_string_n(e, buf, n);
	return buf;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// opError describes a failed libcrypto call with OpenSSL's own reason.
func opError(op string, code C.ulong) error {
	if code == 0 || code == 1 {
		return fmt.Errorf("ossl: %s failed", op)
	}
	var buf [256]C.char
	return fmt.Errorf("ossl: %s: %s", op, C.GoString(C.wx_errstr(code, &buf[0], C.size_t(len(buf)))))
}

// newPKey converts big-endian numbers (see wx_rsa_new) into an EVP_PKEY.
func newPKey(nums [][]byte) (*C.EVP_PKEY, error) {
	// One C array of pointers into one C copy of the numbers, so no Go
	// pointer is stored in C memory (cgo's pointer rules) and the secret
	// copy can be cleared before it is freed.
	total := 0
	for _, b := range nums {
		total += len(b)
	}
	buf := C.malloc(C.size_t(total + 1))
	vec := (*[8]C.wx_bn)(C.malloc(C.size_t(unsafe.Sizeof(C.wx_bn{})) * 8))
	defer func() {
		C.OPENSSL_cleanse(buf, C.size_t(total+1))
		C.free(buf)
		C.free(unsafe.Pointer(vec))
	}()
	raw := unsafe.Slice((*byte)(buf), total+1)
	off := 0
	for i, b := range nums {
		copy(raw[off:], b)
		vec[i] = C.wx_bn{b: (*C.uchar)(unsafe.Pointer(&raw[off])), n: C.size_t(len(b))}
		off += len(b)
	}
	var code C.ulong
	p := C.wx_rsa_new(&vec[0], C.int(len(nums)), &code)
	if p == nil {
		return nil, opError("build RSA key", code)
	}
	return p, nil
}

// newCtx returns a context for signing with p.
func newCtx(p *C.EVP_PKEY) (*C.EVP_PKEY_CTX, error) {
	var code C.ulong
	ctx := C.wx_ctx_new(p, &code)
	if ctx == nil {
		return nil, opError("make a context", code)
	}
	return ctx, nil
}

// sign writes the PKCS#1 v1.5 signature of a SHA-256 digest into sig, which
// has the key's size, and returns its length.
func sign(ctx *C.EVP_PKEY_CTX, digest, sig []byte) (int, error) {
	n := C.size_t(len(sig))
	var code C.ulong
	if C.wx_sign(ctx, (*C.uchar)(&digest[0]), C.size_t(len(digest)), (*C.uchar)(&sig[0]), &n, &code) != 1 {
		return 0, opError("sign", code)
	}
	return int(n), nil
}
