package wxpay

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/seed2ac2593f/wxpay/internal/clip"
)

// certificatesAnswer is the body of GET /v3/certificates
// (https://pay.weixin.qq.com/doc/v3/merchant/4012551764).
type certificatesAnswer struct {
	Data []struct {
		SerialNo           string `json:"serial_no"`
		EffectiveTime      string `json:"effective_time"`
		ExpireTime         string `json:"expire_time"`
		EncryptCertificate struct {
			Algorithm      string `json:"algorithm"`
			Nonce          string `json:"nonce"`
			AssociatedData string `json:"associated_data"`
			Ciphertext     string `json:"ciphertext"`
		} `json:"encrypt_certificate"`
	} `json:"data"`
}

// DownloadCertificates fetches the platform certificates (下载平台证书),
// decrypts them with the APIv3 key and verifies the answer's signature with
// the certificates it carries (or a key already in the ring). The key ring is
// not changed; add the result with KeyRing().AddCertificates, or let a
// CertificateRefresher do it. A merchant onboarded with a WeChat Pay public
// key instead gets an *APIError with Code RESOURCE_NOT_EXISTS.
func (c *Client) DownloadCertificates(ctx context.Context) ([]*x509.Certificate, error) {
	if c.apiv3Key == nil {
		return nil, errors.New("wxpay: DownloadCertificates needs the APIv3 key: use WithAPIv3Key")
	}
	cl, err := c.newCall(http.MethodGet, "v3/certificates", "", nil)
	if err != nil {
		return nil, err
	}
	// Verified below, once the certificates it carries are known.
	resp, err := c.send(ctx, cl, false)
	if err != nil {
		return nil, err
	}
	var answer certificatesAnswer
	if err := json.Unmarshal(resp.Body, &answer); err != nil {
		return nil, fmt.Errorf("wxpay: /v3/certificates answer is not the expected JSON: %w", err)
	}
	if len(answer.Data) == 0 {
		return nil, errors.New("wxpay: /v3/certificates answered with no certificate")
	}
	ring := c.keys.Clone()
	certs := make([]*x509.Certificate, 0, len(answer.Data))
	for _, d := range answer.Data {
		// Nothing of this answer is verified yet: quote its text bounded.
		d.SerialNo = clip.Text(d.SerialNo, 64)
		e := d.EncryptCertificate
		if e.Algorithm != AEADAlgorithm {
			return nil, fmt.Errorf("wxpay: certificate %s: algorithm %s, want %s", d.SerialNo, clip.Quote(e.Algorithm, 32), AEADAlgorithm)
		}
		plain, err := DecryptAEAD(c.apiv3Key, e.Nonce, e.AssociatedData, e.Ciphertext)
		if err != nil {
			return nil, fmt.Errorf("wxpay: certificate %s: %w", d.SerialNo, err)
		}
		cert, err := LoadCertificate(plain)
		if err != nil {
			return nil, fmt.Errorf("wxpay: certificate %s: %w", d.SerialNo, err)
		}
		if got := CertificateSerial(cert); got != d.SerialNo {
			return nil, fmt.Errorf("wxpay: certificate listed as %s has serial %s", d.SerialNo, got)
		}
		certs = append(certs, cert)
	}
	if err := ring.AddCertificates(certs...); err != nil {
		return nil, err
	}
	v := Verifier{Keys: ring, MaxClockSkew: c.verifier.MaxClockSkew, Now: c.now}
	if _, err := v.Verify(resp.Header, resp.Body); err != nil && !c.skipVerify {
		var ve *VerificationError
		if errors.As(err, &ve) {
			ve.StatusCode, ve.RequestID = resp.StatusCode, resp.RequestID()
		}
		return nil, fmt.Errorf("wxpay: /v3/certificates: %w", err)
	}
	return certs, nil
}

// ErrRefresherStopped: the CertificateRefresher was stopped and no longer
// updates the key ring.
var ErrRefresherStopped = errors.New("wxpay: platform certificate refresher stopped")

// CertificateRefresher keeps the client's key ring up to date with the
// platform certificates WeChat Pay lists, so a rotation needs no restart.
type CertificateRefresher struct {
	cancel context.CancelFunc // ends the refresher's lifetime
	done   chan struct{}

	mu      sync.Mutex
	lastErr error
	lastOK  time.Time
	stopped bool
}

// StartCertificateRefresher downloads the platform certificates now, adds
// them to the key ring and then again every interval (WeChat Pay's own SDK
// uses 24 h) until Stop is called.
//
// ctx bounds the first download only, so a startup deadline does not end
// the refreshing; its values are kept for the later downloads, each of which
// may take at most one interval. The first download's error is returned;
// later errors are logged and kept for Err, and the keys already in the ring
// keep working.
func (c *Client) StartCertificateRefresher(ctx context.Context, interval time.Duration) (*CertificateRefresher, error) {
	if interval <= 0 {
		return nil, errors.New("wxpay: StartCertificateRefresher: interval must be positive")
	}
	r := &CertificateRefresher{done: make(chan struct{})}
	if err := r.refresh(ctx, c); err != nil {
		return nil, err
	}
	// The lifetime keeps ctx's values but not its deadline or cancellation.
	life, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel = cancel
	go func() {
		defer close(r.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-life.Done():
				return
			case <-t.C:
			}
			// Stop cancels a download in flight rather than waiting it out.
			rctx, rcancel := context.WithTimeout(life, interval)
			err := r.refresh(rctx, c)
			rcancel()
			if err != nil && life.Err() == nil {
				c.log.WarnContext(life, "wxpay: platform certificate refresh failed", "error", err)
			}
		}
	}()
	return r, nil
}

func (r *CertificateRefresher) refresh(ctx context.Context, c *Client) error {
	certs, err := c.DownloadCertificates(ctx)
	if err == nil {
		err = c.keys.AddCertificates(certs...)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return err // a download cut short by Stop is not news
	}
	r.lastErr = err
	if err == nil {
		r.lastOK = c.now()
		c.log.DebugContext(ctx, "wxpay: platform certificates refreshed", "count", len(certs))
	}
	return err
}

// Err returns the error of the latest refresh, nil after a success, and an
// error wrapping ErrRefresherStopped once Stop was called, so a health check
// sees a refresher that no longer runs.
func (r *CertificateRefresher) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.stopped && r.lastErr != nil:
		return fmt.Errorf("%w; the last refresh had failed: %w", ErrRefresherStopped, r.lastErr)
	case r.stopped:
		return ErrRefresherStopped
	}
	return r.lastErr
}

// LastSuccess returns when the certificates were last downloaded
// successfully, by the client's clock (WithClock).
func (r *CertificateRefresher) LastSuccess() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastOK
}

// Stop ends the refresher, cancelling a download in flight, and returns once
// its goroutine has: no request is sent after Stop returns. It may be called
// more than once.
func (r *CertificateRefresher) Stop() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
	r.cancel()
	<-r.done
}
